//! The node's ed25519 identity key: created once by `init`, loaded by `run`, never overwritten.
//!
//! The file (`node_key.json`, mode 0600) and its rules are [`netwright_node_api::keys`]; this
//! type adds what the runtime needs on top of them: the libp2p keypair and peer id.

use std::path::Path;

use libp2p::identity::{ed25519, DecodingError, Keypair, PeerId};
use netwright_node_api::keys::NodeKey as KeyFile;

pub use netwright_node_api::keys::{KeyError, NODE_KEY_FILE};

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
        KeyFile::from_secret(self.secret_bytes()).write_new(path)
    }

    /// Loads a key written by [`NodeKey::write_new`], checking its permissions and consistency.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let file = KeyFile::load(path)?;
        Self::from_secret(file.secret_bytes()).map_err(|e| KeyError::Invalid {
            path: path.to_path_buf(),
            field: "secret",
            reason: e.to_string(),
        })
    }
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

    #[test]
    fn the_file_format_names_the_same_identity_and_peer_id() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(NODE_KEY_FILE);
        let key = NodeKey::generate();
        key.write_new(&path).unwrap();
        let file = KeyFile::load(&path).unwrap();
        assert_eq!(file.public_bytes(), key.public_bytes());
        assert_eq!(file.peer_id(), key.peer_id().to_string());
    }
}
