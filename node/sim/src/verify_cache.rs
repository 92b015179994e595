//! A signature verifier shared by all simulated nodes of one run.
//!
//! Every node of a real network verifies every signature itself. In the simulator the N nodes
//! would verify the same N² signatures per height; instead the first verification of a
//! (key, message, signature) triple is done with real ed25519 and its result is remembered for
//! the others. The cache is keyed by the full triple (the message by its BLAKE3 hash), so a
//! forged or altered message is never accepted because of a cached entry.

use netwright_consensus::crypto::verify_ed25519;
use netwright_consensus::{SignatureBytes, SignatureVerifier, ValidatorId};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

type Key = ([u8; 64], [u8; 32], [u8; 32]);

/// Cache statistics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Real ed25519 verifications performed.
    pub verified: u64,
    /// Answers served from the cache.
    pub hits: u64,
}

/// A cloneable handle to one run's verification cache.
#[derive(Clone, Default)]
pub struct SharedVerifier {
    inner: Rc<RefCell<(HashMap<Key, bool>, CacheStats)>>,
}

impl SharedVerifier {
    /// An empty cache.
    pub fn new() -> Self {
        SharedVerifier::default()
    }

    /// Statistics so far.
    pub fn stats(&self) -> CacheStats {
        self.inner.borrow().1
    }
}

impl SignatureVerifier for SharedVerifier {
    fn verify(&self, key: &ValidatorId, msg: &[u8], sig: &SignatureBytes) -> bool {
        let k: Key = (sig.0, key.0, *blake3::hash(msg).as_bytes());
        let mut inner = self.inner.borrow_mut();
        if let Some(ok) = inner.0.get(&k) {
            let ok = *ok;
            inner.1.hits += 1;
            return ok;
        }
        let ok = verify_ed25519(key, msg, sig);
        inner.0.insert(k, ok);
        inner.1.verified += 1;
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netwright_consensus::Signer;

    #[test]
    fn caches_real_results_per_triple() {
        let s = Signer::from_seed([3; 32]);
        let sig = s.sign(b"m");
        let v = SharedVerifier::new();
        assert!(v.verify(&s.id(), b"m", &sig));
        assert!(v.verify(&s.id(), b"m", &sig));
        assert!(!v.verify(&s.id(), b"x", &sig));
        assert_eq!(
            v.stats(),
            CacheStats {
                verified: 2,
                hits: 1
            }
        );
    }
}
