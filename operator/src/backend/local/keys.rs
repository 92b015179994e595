//! Identity keys on disk (node, treasury and application keys), in the node's key format
//! (`{"type": "ed25519", "secret", "public"}`, mode 0600). Created once, durably (never seen
//! half-written); an existing key is reused and never overwritten.

use std::path::Path;

use ed25519_dalek::SigningKey;
use netwright_ledger::{Address, PublicKey};
use netwright_node_api::keys::NodeKey;

use crate::backend::BackendError;
use crate::durable::{self, DurableError};

/// Creates the key at `path` unless one exists; returns the key now at `path`.
pub fn ensure(path: &Path) -> Result<NodeKey, BackendError> {
    if path.exists() {
        return load(path);
    }
    let key = NodeKey::generate();
    match durable::create_new_atomically(path, |staged| key.write_new(staged)) {
        Ok(Ok(())) => load(path),
        Ok(Err(e)) => Err(BackendError::new(e.to_string())),
        // Another process created it first: theirs is the identity.
        Err(DurableError::AlreadyExists { .. }) => load(path),
        Err(e) => Err(e.into()),
    }
}

/// Loads the key at `path`.
pub fn load(path: &Path) -> Result<NodeKey, BackendError> {
    NodeKey::load(path).map_err(|e| BackendError::new(e.to_string()))
}

/// The key at `path` if the file exists.
pub fn load_if_present(path: &Path) -> Result<Option<NodeKey>, BackendError> {
    if path.exists() {
        load(path).map(Some)
    } else {
        Ok(None)
    }
}

/// The ledger's public key of `key`.
pub fn public_key(key: &NodeKey, path: &Path) -> Result<PublicKey, BackendError> {
    PublicKey::from_bytes(key.public_bytes()).map_err(|e| {
        BackendError::new(format!(
            "{}: not usable as a ledger key: {e}",
            path.display()
        ))
    })
}

/// The key that signs transactions for `key`'s account.
pub fn signing_key(key: &NodeKey) -> SigningKey {
    SigningKey::from_bytes(&key.secret_bytes())
}

/// The account address of `key`, as the RPC writes it.
pub fn address(public: &PublicKey) -> String {
    Address::from_public_key(public).to_string()
}
