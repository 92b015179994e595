//! Signing keys, key ids, trusted key sets and the key file format.
//!
//! Key files are one line of text: `ed25519-private <64 hex>` (the 32-byte seed,
//! mode 0600) and `ed25519-public <64 hex>` (the 32-byte public key). A key id is
//! the lowercase hex SHA-256 of the 32 public key bytes.

use std::collections::HashMap;
use std::fmt;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use std::sync::Arc;

use ed25519_dalek::hazmat::{raw_sign, ExpandedSecretKey};
use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
use sha2::Sha512;

use crate::format::digest::{parse_hex32, sha256};

const PRIVATE_PREFIX: &str = "ed25519-private ";
const PUBLIC_PREFIX: &str = "ed25519-public ";

/// The id of a public key: SHA-256 of its 32 raw bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub [u8; 32]);

impl KeyId {
    /// The id of `key`.
    pub fn of(key: &VerifyingKey) -> Self {
        Self(sha256(key.as_bytes()))
    }

    /// Parses the 64-character lowercase hex form.
    pub fn parse(text: &str) -> Option<Self> {
        parse_hex32(text).map(Self)
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

/// An ed25519 signing key together with its key id.
#[derive(Clone)]
pub struct Signer {
    key: SigningKey,
    /// The RFC 8032 expansion of the seed (scalar and nonce prefix), derived once
    /// instead of on every signature.
    expanded: Arc<ExpandedSecretKey>,
    public: VerifyingKey,
    id: KeyId,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signer({})", self.id)
    }
}

impl Signer {
    /// A signer from a 32-byte RFC 8032 seed.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self::from_key(SigningKey::from_bytes(seed))
    }

    /// A fresh signer from the operating system's random source.
    pub fn generate() -> Self {
        Self::from_key(SigningKey::generate(&mut rand::rngs::OsRng))
    }

    fn from_key(key: SigningKey) -> Self {
        let expanded = Arc::new(ExpandedSecretKey::from(key.as_bytes()));
        let public = key.verifying_key();
        Self {
            id: KeyId::of(&public),
            key,
            expanded,
            public,
        }
    }

    /// The key id.
    pub fn id(&self) -> KeyId {
        self.id
    }

    /// The public half.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.public
    }

    /// Signs `message` (RFC 8032 Ed25519, pure).
    pub fn sign(&self, message: &[u8]) -> Signature {
        raw_sign::<Sha512>(&self.expanded, message, &self.public)
    }

    fn seed(&self) -> [u8; 32] {
        self.key.to_bytes()
    }
}

/// The public keys a verifier accepts, by key id.
#[derive(Debug, Clone, Default)]
pub struct TrustedKeys {
    keys: HashMap<KeyId, VerifyingKey>,
}

impl TrustedKeys {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `key`; returns its id.
    pub fn insert(&mut self, key: VerifyingKey) -> KeyId {
        let id = KeyId::of(&key);
        self.keys.insert(id, key);
        id
    }

    /// The key with id `id`, if trusted.
    pub fn get(&self, id: &KeyId) -> Option<&VerifyingKey> {
        self.keys.get(id)
    }

    /// All trusted keys.
    pub fn iter(&self) -> impl Iterator<Item = (&KeyId, &VerifyingKey)> {
        self.keys.iter()
    }

    /// Whether no key is trusted.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// A key file could not be created, read or understood.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A key file is already there; keys are never overwritten.
    #[error("{path} already exists; refusing to overwrite a key")]
    Exists {
        /// The existing file.
        path: PathBuf,
    },
    /// The file content is not a key of the expected kind.
    #[error("{path}: {reason}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A private key file is readable by others.
    #[error(
        "{path} has mode {mode:04o}; a private key must be readable by its owner only (chmod 600)"
    )]
    Permissions {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
}

/// Paths and id of a freshly generated key pair.
#[derive(Debug, Clone)]
pub struct GeneratedKey {
    /// The private key file (`NAME.key`, mode 0600).
    pub private: PathBuf,
    /// The public key file (`NAME.pub`).
    pub public: PathBuf,
    /// The key id.
    pub id: KeyId,
}

/// The content of a public key file for `key` (one line, as [`generate_key_files`] writes it
/// and [`load_verifying_key`] reads it).
pub fn public_key_text(key: &VerifyingKey) -> String {
    format!("{PUBLIC_PREFIX}{}\n", hex::encode(key.as_bytes()))
}

/// Generates a key pair into `dir/NAME.key` and `dir/NAME.pub`; never overwrites.
pub fn generate_key_files(dir: &Path, name: &str) -> Result<GeneratedKey, KeyFileError> {
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(KeyFileError::Format {
            path: dir.join(name),
            reason: format!(
                "key name {name:?} must be non-empty ASCII letters, digits, '-' or '_'"
            ),
        });
    }
    std::fs::create_dir_all(dir).map_err(|source| KeyFileError::Io {
        path: dir.to_owned(),
        source,
    })?;
    let private = dir.join(format!("{name}.key"));
    let public = dir.join(format!("{name}.pub"));
    for path in [&private, &public] {
        if path.exists() {
            return Err(KeyFileError::Exists { path: path.clone() });
        }
    }
    let signer = Signer::generate();
    write_new(
        &private,
        format!("{PRIVATE_PREFIX}{}\n", hex::encode(signer.seed())).as_bytes(),
        0o600,
    )?;
    write_new(
        &public,
        public_key_text(&signer.verifying_key()).as_bytes(),
        0o644,
    )?;
    Ok(GeneratedKey {
        private,
        public,
        id: signer.id(),
    })
}

fn write_new(path: &Path, content: &[u8], mode: u32) -> Result<(), KeyFileError> {
    let io = |source: std::io::Error| {
        if source.kind() == std::io::ErrorKind::AlreadyExists {
            KeyFileError::Exists {
                path: path.to_owned(),
            }
        } else {
            KeyFileError::Io {
                path: path.to_owned(),
                source,
            }
        }
    };
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(path).map_err(io)?;
    file.write_all(content).map_err(io)?;
    file.sync_all().map_err(io)
}

fn read_key_line(path: &Path, prefix: &str) -> Result<[u8; 32], KeyFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| KeyFileError::Io {
        path: path.to_owned(),
        source,
    })?;
    let line = text.strip_suffix('\n').unwrap_or(&text);
    let hex_part = line
        .strip_prefix(prefix)
        .ok_or_else(|| KeyFileError::Format {
            path: path.to_owned(),
            reason: format!("expected one line \"{prefix}<64 lowercase hex>\""),
        })?;
    parse_hex32(hex_part).ok_or_else(|| KeyFileError::Format {
        path: path.to_owned(),
        reason: format!("key must be 64 lowercase hex characters after \"{prefix}\""),
    })
}

/// Reads a private key file; refuses files readable by group or others.
pub fn load_signer(path: &Path) -> Result<Signer, KeyFileError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path).map_err(|source| KeyFileError::Io {
            path: path.to_owned(),
            source,
        })?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(KeyFileError::Permissions {
                path: path.to_owned(),
                mode,
            });
        }
    }
    Ok(Signer::from_seed(&read_key_line(path, PRIVATE_PREFIX)?))
}

/// Reads a public key file; rejects weak (small-order) keys.
pub fn load_verifying_key(path: &Path) -> Result<VerifyingKey, KeyFileError> {
    let bytes = read_key_line(path, PUBLIC_PREFIX)?;
    let key = VerifyingKey::from_bytes(&bytes).map_err(|e| KeyFileError::Format {
        path: path.to_owned(),
        reason: format!("not a valid ed25519 public key: {e}"),
    })?;
    if key.is_weak() {
        return Err(KeyFileError::Format {
            path: path.to_owned(),
            reason: "weak (small-order) ed25519 public key".into(),
        });
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generate_then_load_round_trips_and_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let generated = generate_key_files(dir.path(), "receipts").unwrap();
        let signer = load_signer(&generated.private).unwrap();
        let public = load_verifying_key(&generated.public).unwrap();
        assert_eq!(signer.verifying_key(), public);
        assert_eq!(signer.id(), generated.id);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&generated.private)
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let before = std::fs::read(&generated.private).unwrap();
        let err = generate_key_files(dir.path(), "receipts").unwrap_err();
        assert!(matches!(err, KeyFileError::Exists { .. }), "{err}");
        assert_eq!(std::fs::read(&generated.private).unwrap(), before);
    }

    #[cfg(unix)]
    #[test]
    fn refuses_world_readable_private_key() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let generated = generate_key_files(dir.path(), "k").unwrap();
        std::fs::set_permissions(&generated.private, std::fs::Permissions::from_mode(0o644))
            .unwrap();
        let err = load_signer(&generated.private).unwrap_err();
        assert!(err.to_string().contains("0644"), "{err}");
    }

    #[test]
    fn rejects_malformed_public_key_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.pub");
        std::fs::write(&path, "ed25519-public zz\n").unwrap();
        let err = load_verifying_key(&path).unwrap_err();
        assert!(err.to_string().contains("64 lowercase hex"), "{err}");
    }

    #[test]
    fn signs_exactly_as_the_signing_key_does() {
        use ed25519_dalek::Signer as _;
        let seed = [5u8; 32];
        let signer = Signer::from_seed(&seed);
        let key = SigningKey::from_bytes(&seed);
        for len in [0usize, 1, 63, 64, 65, 900] {
            let message = vec![len as u8; len];
            assert_eq!(signer.sign(&message), key.sign(&message));
            assert!(crate::format::signature::verify(
                signer.verifying_key().as_bytes(),
                &message,
                &signer.sign(&message).to_bytes()
            ));
        }
    }

    #[test]
    fn key_id_is_sha256_of_public_key() {
        let s = Signer::from_seed(&[7; 32]);
        assert_eq!(s.id().0, sha256(s.verifying_key().as_bytes()));
        assert_eq!(KeyId::parse(&s.id().to_string()), Some(s.id()));
    }
}
