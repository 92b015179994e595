//! The node's ed25519 identity key file, `node_key.json`: created once, loaded by whoever needs
//! the identity, never overwritten.
//!
//! On disk the key is a small JSON document holding the 32-byte ed25519 secret seed and the public
//! key, both hex encoded. The file is created with mode 0600 and is refused if it already exists,
//! so an identity is never silently regenerated. A loaded key is refused when the file is
//! readable by group or others, or when its public key does not match its secret.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};

/// File name of the node key inside the node home.
pub const NODE_KEY_FILE: &str = "node_key.json";

/// Multihash code of the identity hash, which libp2p uses for keys of at most 42 bytes.
const IDENTITY_MULTIHASH: u8 = 0x00;

/// The protobuf `PublicKey { Type = Ed25519; Data = 32 bytes }` prefix libp2p hashes into a
/// peer id: field 1 (key type, varint 1), then field 2 (bytes, length 32).
const ED25519_PUBLIC_KEY_PROTOBUF_PREFIX: [u8; 4] = [0x08, 0x01, 0x12, 0x20];

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

/// The node's ed25519 identity: names the node (its peer id) and signs as it.
#[derive(Clone)]
pub struct NodeKey {
    signing: SigningKey,
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
            signing: SigningKey::generate(&mut rand::rngs::OsRng),
        }
    }

    /// Builds a key from a 32-byte secret seed (every seed is a valid key).
    pub fn from_secret(seed: [u8; 32]) -> Self {
        Self {
            signing: SigningKey::from_bytes(&seed),
        }
    }

    /// The 32-byte secret seed (the standard ed25519 private key).
    pub fn secret_bytes(&self) -> [u8; 32] {
        self.signing.to_bytes()
    }

    /// The 32-byte public key.
    pub fn public_bytes(&self) -> [u8; 32] {
        self.signing.verifying_key().to_bytes()
    }

    /// The public key, hex encoded.
    pub fn public_hex(&self) -> String {
        hex::encode(self.public_bytes())
    }

    /// The libp2p peer id of this identity, as text (`12D3KooW…`): base58 of the identity
    /// multihash of the protobuf-encoded public key, exactly what libp2p derives.
    pub fn peer_id(&self) -> String {
        let mut encoded = Vec::with_capacity(2 + ED25519_PUBLIC_KEY_PROTOBUF_PREFIX.len() + 32);
        encoded.push(IDENTITY_MULTIHASH);
        encoded.push((ED25519_PUBLIC_KEY_PROTOBUF_PREFIX.len() + 32) as u8);
        encoded.extend_from_slice(&ED25519_PUBLIC_KEY_PROTOBUF_PREFIX);
        encoded.extend_from_slice(&self.public_bytes());
        bs58::encode(encoded).into_string()
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
        let key = Self::from_secret(seed);
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
    fn peer_id_is_the_libp2p_text_form() {
        let key = NodeKey::from_secret([7; 32]);
        let id = key.peer_id();
        assert!(id.starts_with("12D3KooW"), "{id}");
        let raw = bs58::decode(&id).into_vec().unwrap();
        assert_eq!(raw[..6], [0x00, 36, 0x08, 0x01, 0x12, 0x20]);
        assert_eq!(raw[6..], key.public_bytes());
        assert_ne!(NodeKey::from_secret([8; 32]).peer_id(), id);
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
