//! Loading a Network document: read, validate (every diagnostic with its line and column),
//! require exactly one document with a name, and apply the defaults.

use std::path::{Path, PathBuf};

use netwright_crds::validate::{validate_bytes, Diagnostic, DocumentReport, Severity};
use netwright_crds::{effective_spec, EffectiveSpec};

/// A validated Network document, ready to plan.
#[derive(Debug)]
pub struct LoadedSpec {
    /// The file it was read from.
    pub path: PathBuf,
    /// Its bytes (what receipts digest).
    pub bytes: Vec<u8>,
    /// `metadata.name`: the network's name and directory.
    pub name: String,
    /// The spec with defaults applied.
    pub spec: EffectiveSpec,
    /// Warnings the validation reported (the document is valid despite them).
    pub warnings: Vec<Diagnostic>,
}

/// Why a file is not a usable Network document. Nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    /// The file could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The reason.
        source: std::io::Error,
    },
    /// The file holds invalid documents; `documents` has every diagnostic.
    #[error("{}: invalid Network document", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The validation report of each document.
        documents: Vec<DocumentReport>,
    },
    /// The file holds no document or more than one.
    #[error("{}: holds {count} Network documents; give one document per file", path.display())]
    NotOneDocument {
        /// The file.
        path: PathBuf,
        /// How many it holds.
        count: usize,
    },
    /// The document validated but could not be read as a Network.
    #[error("{}: the document could not be read as a Network", path.display())]
    NotANetwork {
        /// The file.
        path: PathBuf,
    },
    /// `metadata.name` is missing.
    #[error("{}: metadata.name: missing; it names the network", path.display())]
    NoName {
        /// The file.
        path: PathBuf,
    },
}

/// Reads and validates the Network document in `path`.
pub fn load_document(path: &Path) -> Result<LoadedSpec, DocumentError> {
    let bytes = std::fs::read(path).map_err(|source| DocumentError::Read {
        path: path.to_owned(),
        source,
    })?;
    load_bytes(path, bytes)
}

/// Validates `bytes`, the content of the file `path` (named in errors).
pub fn load_bytes(path: &Path, bytes: Vec<u8>) -> Result<LoadedSpec, DocumentError> {
    let path = path.to_owned();
    let documents = match validate_bytes(&bytes) {
        Ok(documents) => documents,
        Err(error) => {
            return Err(DocumentError::Read {
                path,
                source: std::io::Error::new(std::io::ErrorKind::InvalidData, error.to_string()),
            })
        }
    };
    if !documents.iter().all(|d| d.valid) {
        return Err(DocumentError::Invalid { path, documents });
    }
    if documents.len() != 1 {
        return Err(DocumentError::NotOneDocument {
            path,
            count: documents.len(),
        });
    }
    let Some(document) = documents.into_iter().next() else {
        return Err(DocumentError::NotOneDocument { path, count: 0 });
    };
    let warnings = document
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .cloned()
        .collect();
    let Some(network) = document.network else {
        return Err(DocumentError::NotANetwork { path });
    };
    let Some(name) = network.metadata.name.clone() else {
        return Err(DocumentError::NoName { path });
    };
    Ok(LoadedSpec {
        path,
        bytes,
        name,
        spec: effective_spec(&network.spec),
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "apiVersion: netwright.dev/v1alpha1\nkind: Network\nmetadata:\n  name: testnet\nspec:\n  chainId: netwright-test-1\n  validators:\n    replicas: 4\n    stake: 2000000\n";

    #[test]
    fn a_valid_document_loads_with_its_name_and_defaults() {
        let loaded = load_bytes(Path::new("n.yaml"), VALID.as_bytes().to_vec()).unwrap();
        assert_eq!(loaded.name, "testnet");
        assert_eq!(loaded.spec.validators.len(), 4);
    }

    #[test]
    fn invalid_several_and_unnamed_documents_are_refused_with_the_reason() {
        let invalid = VALID.replace("replicas: 4", "replicas: -4");
        match load_bytes(Path::new("n.yaml"), invalid.into_bytes()) {
            Err(DocumentError::Invalid { documents, .. }) => {
                assert!(documents.iter().any(|d| !d.diagnostics.is_empty()))
            }
            other => panic!("expected Invalid, got {other:?}"),
        }
        let two = format!("{VALID}---\n{VALID}");
        let e = load_bytes(Path::new("n.yaml"), two.into_bytes()).unwrap_err();
        assert!(e.to_string().contains("holds 2 Network documents"), "{e}");
        let unnamed = VALID.replace("  name: testnet\n", "  labels: {}\n");
        let e = load_bytes(Path::new("n.yaml"), unnamed.into_bytes()).unwrap_err();
        assert!(
            matches!(
                e,
                DocumentError::NoName { .. } | DocumentError::Invalid { .. }
            ),
            "{e}"
        );
        let e = load_document(Path::new("/nonexistent/n.yaml")).unwrap_err();
        assert!(e.to_string().contains("cannot read"), "{e}");
    }
}
