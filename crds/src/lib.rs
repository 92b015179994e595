//! The declarative `Network` API: types, defaults, semantic validation and the generated CRD.
