//! The declarative `Network` API: types, defaults, semantic validation and the generated CRD.
//!
//! - [`spec`]: the resource as users write it (optional fields stay `None`);
//! - [`effective`]: the pure function that applies the profile's defaults;
//! - [`validate`]: schema, type and semantic checks reporting every error with its YAML
//!   path, line and column;
//! - [`crd`]: the CustomResourceDefinition and its JSON schema;
//! - [`emit`]: the YAML emitter the CRD is written with;
//! - [`reference`]: the field reference (`docs/spec.md`) generated from the schema.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod crd;
pub mod defaults;
pub mod duration;
pub mod effective;
pub mod emit;
pub mod metrics;
pub mod profile;
pub mod reference;
pub mod spec;
pub mod status;
pub mod validate;

pub use duration::Duration;
pub use effective::{effective_spec, EffectiveSpec};
pub use metrics::{GateMetric, MetricKind};
pub use profile::Profile;
pub use spec::{Network, NetworkSpec};
pub use status::NetworkStatus;
