//! The declarative `Network` API: types, defaults, semantic validation and the generated CRD.
//!
//! - [`spec`]: the resource as users write it (optional fields stay `None`);
//! - [`effective`]: the pure function that applies the profile's defaults;
//! - [`validate`]: schema, type and semantic checks reporting every error with its YAML
//!   path, line and column;
//! - [`crd`]: the CustomResourceDefinition and its JSON schema;
//! - [`emit`]: the YAML emitter the CRD is written with;
//! - [`reference`](mod@reference): the field reference (`docs/spec.md`) generated from the schema.
//!
//! # Example
//!
//! Validate a document, then read it with the profile's defaults applied; a bad value is
//! reported with its path, line and column:
//!
//! ```
//! use netwright_crds::{effective_spec, validate::validate_source};
//!
//! let yaml = "\
//! apiVersion: netwright.dev/v1alpha1
//! kind: Network
//! metadata:
//!   name: demo
//! spec:
//!   chainId: demo-1
//!   profile: localnet
//!   validators:
//!     replicas: 4
//!     stake: 1000000
//! ";
//! let reports = validate_source(yaml)?;
//! assert!(reports[0].valid, "{:#?}", reports[0].diagnostics);
//! let network = reports[0].network.as_ref().expect("a valid document is parsed");
//! let spec = effective_spec(&network.spec);
//! assert_eq!(spec.validators.len(), 4);
//! assert_eq!(spec.validators[0].name, "validator-0");
//!
//! let reports = validate_source(&yaml.replace("replicas: 4", "replicas: -1"))?;
//! assert!(!reports[0].valid);
//! let error = reports[0].diagnostics.iter().find(|d| d.path == "spec.validators.replicas");
//! assert_eq!(error.map(|d| (d.line, d.column)), Some((9, 15)), "{error:?}");
//! # Ok::<(), netwright_crds::validate::ValidateError>(())
//! ```

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
pub use metrics::{Aggregation, GateMetric, MetricKind};
pub use profile::Profile;
pub use spec::{Network, NetworkSpec};
pub use status::NetworkStatus;
