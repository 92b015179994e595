//! Arbitrary bytes as one log line: parsing must never panic, whatever parses
//! must be canonical (re-encoding the envelope gives the same bytes back), and
//! the verifier's fast reader accepts exactly what the reference reader accepts,
//! with the same values.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netwright_receipts::envelope::{encode_envelope, pae, PAYLOAD_TYPE};
use netwright_receipts::jcs::to_canonical;
use netwright_receipts::open_line;
use netwright_receipts::scan::read_line;

fuzz_target!(|data: &[u8]| {
    let reference = open_line(data);
    if let Ok(r) = &reference {
        assert_eq!(encode_envelope(&r.payload, &r.keyid, &r.signature), data);
        assert_eq!(
            to_canonical(&r.receipt.to_value()).ok().as_deref(),
            Some(&r.payload[..])
        );
    }
    let mut buffer = Vec::new();
    let fast = read_line(data, &mut buffer).map(|view| {
        let s = view.statement;
        (
            view.keyid,
            view.signature,
            view.message,
            s.seq,
            s.kind.to_owned(),
            s.time.to_owned(),
            s.network.to_owned(),
            s.actor,
            s.spec_digest,
            s.git_commit.map(str::to_owned),
            s.parent,
            serde_json::from_str::<serde_json::Value>(s.body).ok(),
        )
    });
    match (fast, reference) {
        // The fast reader follows a body as deep as the format allows, so it
        // declines nothing the reference accepts.
        (None, Ok(_)) => panic!("fast reader declined what the reference accepts"),
        (Some(_), Err(e)) => panic!("fast reader accepted what the reference rejects: {e}"),
        (Some(f), Ok(r)) => {
            assert_eq!(&buffer[f.2.clone()], &pae(PAYLOAD_TYPE, &r.payload)[..]);
            assert_eq!((f.0, f.1, f.3), (r.keyid, r.signature, r.receipt.seq));
            assert_eq!(f.4, r.receipt.kind.as_str());
            assert_eq!(f.5, r.receipt.time.as_str());
            assert_eq!(f.6, r.receipt.network);
            assert_eq!(f.7, r.receipt.actor);
            assert_eq!(f.8, r.receipt.subject.spec_digest);
            assert_eq!(f.9, r.receipt.subject.git_commit);
            assert_eq!(f.10, r.receipt.parent);
            assert_eq!(f.11, Some(serde_json::Value::Object(r.receipt.body)));
        }
        (None, Err(_)) => {}
    }
});
