//! Arbitrary text as a checkpoint note: parsing and verifying must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netwright_receipts::{Checkpoint, Signer, TrustedKeys};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut trusted = TrustedKeys::new();
    trusted.insert(Signer::from_seed(&[42; 32]).verifying_key());
    if let Ok(cp) = Checkpoint::parse_unverified(text) {
        assert!(text.starts_with(&cp.body()));
    }
    let _ = Checkpoint::verify(text, &trusted);
});
