//! Arbitrary bytes as one log line: parsing must never panic, and whatever parses
//! must be canonical: re-encoding the envelope gives the same bytes back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netwright_receipts::envelope::encode_envelope;
use netwright_receipts::jcs::to_canonical;
use netwright_receipts::open_line;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = open_line(data) {
        assert_eq!(encode_envelope(&r.payload, &r.keyid, &r.signature), data);
        assert_eq!(
            to_canonical(&r.receipt.to_value()).ok().as_deref(),
            Some(&r.payload[..])
        );
    }
});
