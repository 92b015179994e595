//! Arbitrary bytes as a whole log: the verifier must never panic, and a report
//! without findings must only happen for logs whose every line reads back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netwright_receipts::{open_line, verify_bytes, Signer, TrustedKeys, VerifyOptions};

fuzz_target!(|data: &[u8]| {
    let mut trusted = TrustedKeys::new();
    trusted.insert(Signer::from_seed(&[42; 32]).verifying_key());
    let mut options = VerifyOptions::new(&trusted);
    options.threads = 1;
    let report = verify_bytes(data, &options);
    if report.is_ok() {
        for line in data.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            assert!(open_line(line).is_ok());
        }
    }
    for finding in &report.findings {
        let _ = finding.to_string();
    }
});
