//! The node's ed25519 identity key: created once by `init`, loaded by `run`, never overwritten.
//!
//! On disk the key is a small JSON document (`node_key.json`) holding the 32-byte ed25519 secret
//! seed and the public key, both hex encoded. The file is created with mode 0600 and is refused
//! if it already exists, so an identity is never silently regenerated.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use libp2p::identity::{ed25519, DecodingError, Keypair, PeerId};
use serde::{Deserialize, Serialize};

/// File name of the node key inside the node home.
pub const NODE_KEY_FILE: &str = "node_key.json";

/// Errors from creating or loading the node key.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key file already exists; identities are never overwritten.
    #[error("{path}: node key already exists; refusing to overwrite an identity")]
    AlreadyExists {
        /// Path of the existing key file.
        path: PathBuf,
    },
    /// The key file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// Path of the key file.
        path: PathBuf,
        /// Underlying I/O error.
        source: std::io::Error,
    },
    /// The key file is not a valid node key document.
    #[error("{path}: field `{field}`: {reason}")]
    Invalid {
        /// Path of the key file.
        path: PathBuf,
        /// Field that is wrong.
        field: &'static str,
        /// Why it is wrong.
        reason: String,
    },
    /// The key file is readable by group or others.
    #[error("{path}: permissions are {mode:o}; the node key must not be readable by group or others (chmod 600)")]
    InsecurePermissions {
        /// Path of the key file.
        path: PathBuf,
        /// Observed permission bits.
        mode: u32,
    },
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    #[serde(rename = "type")]
    kind: String,
    secret: String,
    public: String,
}

/// The node's ed25519 identity: signs p2p handshakes and gossip, and names the node (peer id).
#[derive(Clone)]
pub struct NodeKey {
    keypair: ed25519::Keypair,
}

impl std::fmt::Debug for NodeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeKey")
            .field("public", &self.public_hex())
            .finish_non_exhaustive()
    }
}

impl NodeKey {
    /// Generates a fresh random key.
    pub fn generate() -> Self {
        Self {
            keypair: ed25519::Keypair::generate(),
        }
    }

    /// Builds a key from a 32-byte secret seed.
    pub fn from_secret(mut seed: [u8; 32]) -> Result<Self, DecodingError> {
        let secret = ed25519::SecretKey::try_from_bytes(&mut seed)?;
        Ok(Self {
            keypair: ed25519::Keypair::from(secret),
        })
    }

    /// The 32-byte secret seed (the standard ed25519 private key).
    pub fn secret_bytes(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(self.keypair.secret().as_ref());
        out
    }

    /// The 32-byte public key.
    pub fn public_bytes(&self) -> [u8; 32] {
        self.keypair.public().to_bytes()
    }

    /// The public key, hex encoded.
    pub fn public_hex(&self) -> String {
        hex::encode(self.public_bytes())
    }

    /// The libp2p keypair for this identity.
    pub fn libp2p_keypair(&self) -> Keypair {
        Keypair::from(self.keypair.clone())
    }

    /// The libp2p peer id derived from the public key.
    pub fn peer_id(&self) -> PeerId {
        self.libp2p_keypair().public().to_peer_id()
    }

    /// Writes the key to `path` with mode 0600; fails if the file exists.
    pub fn write_new(&self, path: &Path) -> Result<(), KeyError> {
        let doc = KeyFile {
            kind: "ed25519".to_string(),
            secret: hex::encode(self.secret_bytes()),
            public: self.public_hex(),
        };
        let mut text = serde_json::to_string_pretty(&doc).map_err(|e| KeyError::Invalid {
            path: path.to_path_buf(),
            field: "secret",
            reason: e.to_string(),
        })?;
        text.push('\n');
        let io = |source| KeyError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                KeyError::AlreadyExists {
                    path: path.to_path_buf(),
                }
            } else {
                io(e)
            }
        })?;
        file.write_all(text.as_bytes()).map_err(io)?;
        file.sync_all().map_err(io)?;
        Ok(())
    }

    /// Loads a key written by [`NodeKey::write_new`], checking its permissions and consistency.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let io = |source| KeyError::Io {
            path: path.to_path_buf(),
            source,
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path).map_err(io)?.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(KeyError::InsecurePermissions {
                    path: path.to_path_buf(),
                    mode,
                });
            }
        }
        let text = std::fs::read_to_string(path).map_err(io)?;
        let invalid = |field, reason: String| KeyError::Invalid {
            path: path.to_path_buf(),
            field,
            reason,
        };
        let doc: KeyFile =
            serde_json::from_str(&text).map_err(|e| invalid("(document)", e.to_string()))?;
        if doc.kind != "ed25519" {
            return Err(invalid(
                "type",
                format!("`{}` is not supported; expected `ed25519`", doc.kind),
            ));
        }
        let seed = decode_32(&doc.secret).map_err(|r| invalid("secret", r))?;
        let key = Self::from_secret(seed).map_err(|e| invalid("secret", e.to_string()))?;
        let public = decode_32(&doc.public).map_err(|r| invalid("public", r))?;
        if public != key.public_bytes() {
            return Err(invalid(
                "public",
                "does not match the public key derived from `secret`".to_string(),
            ));
        }
        Ok(key)
    }
}

fn decode_32(text: &str) -> Result<[u8; 32], String> {
    let bytes = hex::decode(text).map_err(|e| format!("not hex: {e}"))?;
    <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| format!("expected 32 bytes, found {}", bytes.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_then_load_round_trips_and_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(NODE_KEY_FILE);
        let key = NodeKey::generate();
        key.write_new(&path).unwrap();
        let loaded = NodeKey::load(&path).unwrap();
        assert_eq!(loaded.secret_bytes(), key.secret_bytes());
        assert_eq!(loaded.peer_id(), key.peer_id());
        let err = NodeKey::generate().write_new(&path).unwrap_err();
        assert!(matches!(err, KeyError::AlreadyExists { .. }), "{err}");
        assert_eq!(
            NodeKey::load(&path).unwrap().secret_bytes(),
            key.secret_bytes()
        );
    }

    #[cfg(unix)]
    #[test]
    fn key_file_is_private_and_loose_permissions_are_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(NODE_KEY_FILE);
        NodeKey::generate().write_new(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = NodeKey::load(&path).unwrap_err();
        assert!(
            matches!(err, KeyError::InsecurePermissions { mode: 0o644, .. }),
            "{err}"
        );
    }

    #[test]
    fn mismatched_public_key_is_reported_by_field() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(NODE_KEY_FILE);
        let a = NodeKey::generate();
        let b = NodeKey::generate();
        let text = format!(
            "{{\"type\":\"ed25519\",\"secret\":\"{}\",\"public\":\"{}\"}}",
            hex::encode(a.secret_bytes()),
            b.public_hex()
        );
        std::fs::write(&path, text).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let err = NodeKey::load(&path).unwrap_err();
        assert!(
            matches!(
                err,
                KeyError::Invalid {
                    field: "public",
                    ..
                }
            ),
            "{err}"
        );
    }
}
