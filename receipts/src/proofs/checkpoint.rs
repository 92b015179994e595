//! Signed checkpoints: `origin`, tree size and root hash in signed-note text form.
//!
//! ```text
//! <origin>\n
//! <size in decimal>\n
//! <base64 root hash>\n
//! \n
//! — <origin> <base64(key hash (4 bytes) || ed25519 signature (64 bytes))>\n
//! ```
//! The signature covers the first three lines including their newlines. The key
//! hash is the first 4 bytes of `SHA-256(origin || "\n" || 0x01 || public key)`.

use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use ed25519_dalek::VerifyingKey;
use sha2::{Digest, Sha256};

use crate::format::keys::{KeyId, Signer, TrustedKeys};
use crate::format::signature;
use crate::proofs::merkle::Hash;

/// The signature line prefix: EM DASH (U+2014) and a space.
const DASH: &str = "\u{2014} ";

/// A tree head: which log, how many leaves, and the root over them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Identity of the log: printable ASCII without spaces or '+', 1 to 255 bytes.
    pub origin: String,
    /// Number of receipts covered.
    pub size: u64,
    /// RFC 9162 root hash over the first `size` lines.
    pub root: Hash,
}

/// A checkpoint text could not be parsed or verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// The text does not follow the checkpoint format.
    #[error("checkpoint line {line}: {reason}")]
    Format {
        /// 1-based line number in the note.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// No trusted key matches the signature's key name and key hash.
    #[error("checkpoint is signed by an unknown key (name {name:?}, key hash {key_hash})")]
    UnknownKey {
        /// Key name on the signature line.
        name: String,
        /// Hex of the 4-byte key hash.
        key_hash: String,
    },
    /// The signature does not verify under the matching trusted key.
    #[error("checkpoint signature does not verify under key {key}")]
    BadSignature {
        /// Key id of the key tried.
        key: KeyId,
    },
}

/// Validates an origin: 1 to 255 bytes of printable ASCII without space or '+'.
pub fn check_origin(origin: &str) -> Result<(), String> {
    let ok = !origin.is_empty()
        && origin.len() <= 255
        && origin.bytes().all(|b| b.is_ascii_graphic() && b != b'+');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "origin {origin:?} must be 1 to 255 printable ASCII characters without space or '+'"
        ))
    }
}

/// The origin of a network's log checkpoints: `netwright/<network>`.
pub fn origin_for(network: &str) -> String {
    format!("netwright/{network}")
}

/// First 4 bytes of `SHA-256(name || "\n" || 0x01 || public key)`.
pub fn key_hash(name: &str, key: &VerifyingKey) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([0x01]);
    h.update(key.as_bytes());
    let d: [u8; 32] = h.finalize().into();
    [d[0], d[1], d[2], d[3]]
}

impl Checkpoint {
    /// The signed text: three lines, each ending in a newline.
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            STANDARD.encode(self.root)
        )
    }

    /// The full signed note.
    pub fn sign(&self, signer: &Signer) -> String {
        let body = self.body();
        let sig = signer.sign(body.as_bytes());
        let mut blob = Vec::with_capacity(68);
        blob.extend_from_slice(&key_hash(&self.origin, &signer.verifying_key()));
        blob.extend_from_slice(&sig.to_bytes());
        format!("{body}\n{DASH}{} {}\n", self.origin, STANDARD.encode(blob))
    }

    /// Parses the text lines of a note without checking its signature. Use only
    /// where the signature is checked elsewhere; [`Checkpoint::verify`] checks it.
    pub fn parse_unverified(text: &str) -> Result<Checkpoint, CheckpointError> {
        Ok(Self::split(text)?.0)
    }

    fn split(text: &str) -> Result<(Checkpoint, &str, &str), CheckpointError> {
        let fail = |line: usize, reason: String| CheckpointError::Format { line, reason };
        let Some((body, signatures)) = text.split_once("\n\n") else {
            return Err(fail(
                1,
                "no blank line separating text and signature".into(),
            ));
        };
        let lines: Vec<&str> = body.split('\n').collect();
        if lines.len() != 3 {
            return Err(fail(
                lines.len().min(4),
                format!(
                    "expected exactly 3 text lines (origin, size, root), found {}",
                    lines.len()
                ),
            ));
        }
        check_origin(lines[0]).map_err(|r| fail(1, r))?;
        let size_ok = !lines[1].is_empty()
            && lines[1].bytes().all(|b| b.is_ascii_digit())
            && (lines[1] == "0" || !lines[1].starts_with('0'));
        let size = lines[1]
            .parse::<u64>()
            .ok()
            .filter(|_| size_ok)
            .ok_or_else(|| fail(2, format!("size {:?} is not a decimal integer", lines[1])))?;
        let root: Hash = STANDARD
            .decode(lines[2])
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| fail(3, format!("root {:?} is not base64 of 32 bytes", lines[2])))?;
        let checkpoint = Checkpoint {
            origin: lines[0].to_owned(),
            size,
            root,
        };
        Ok((checkpoint, body, signatures))
    }

    /// Parses and verifies a signed note against the trusted keys.
    pub fn verify(text: &str, trusted: &TrustedKeys) -> Result<Checkpoint, CheckpointError> {
        let fail = |line: usize, reason: String| CheckpointError::Format { line, reason };
        let (checkpoint, body, signatures) = Self::split(text)?;
        let Some(sig_line) = signatures.strip_suffix('\n') else {
            return Err(fail(5, "signature line must end with a newline".into()));
        };
        if sig_line.contains('\n') {
            return Err(fail(6, "exactly one signature line is allowed".into()));
        }
        let rest = sig_line
            .strip_prefix(DASH)
            .ok_or_else(|| fail(5, "signature line must start with \"\u{2014} \"".into()))?;
        let (name, blob_b64) = rest
            .split_once(' ')
            .ok_or_else(|| fail(5, "signature line must be \"\u{2014} NAME BASE64\"".into()))?;
        if name != checkpoint.origin {
            return Err(fail(5, format!("key name {name:?} must equal the origin")));
        }
        let blob = STANDARD
            .decode(blob_b64)
            .ok()
            .filter(|b| b.len() == 68)
            .ok_or_else(|| fail(5, "signature must be base64 of 4 + 64 bytes".into()))?;
        let (hash, sig) = blob.split_at(4);
        let sig_bytes: [u8; 64] = sig
            .try_into()
            .map_err(|_| fail(5, "signature must be 64 bytes".into()))?;
        let Some((id, key)) = trusted.iter().find(|(_, key)| key_hash(name, key) == hash) else {
            return Err(CheckpointError::UnknownKey {
                name: name.to_owned(),
                key_hash: hex::encode(hash),
            });
        };
        if !signature::verify(key.as_bytes(), checkpoint.body().as_bytes(), &sig_bytes) {
            return Err(CheckpointError::BadSignature { key: *id });
        }
        if checkpoint.body() != format!("{body}\n") {
            return Err(fail(1, "text is not in canonical form".into()));
        }
        Ok(checkpoint)
    }
}

/// The directory holding a log's checkpoint notes: `<log>.checkpoints`.
pub fn checkpoints_dir(log: &Path) -> PathBuf {
    let mut name = log.as_os_str().to_owned();
    name.push(".checkpoints");
    PathBuf::from(name)
}

/// File name of the note for a tree of `size` leaves.
pub fn note_file_name(size: u64) -> String {
    format!("{size:020}.note")
}

/// The newest note in `dir` (largest size), if any: (path, text).
pub fn latest_note(dir: &Path) -> std::io::Result<Option<(PathBuf, String)>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut best: Option<(u64, PathBuf)> = None;
    for entry in entries {
        let path = entry?.path();
        let Some(size) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".note"))
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        if best.as_ref().is_none_or(|(b, _)| size > *b) {
            best = Some((size, path));
        }
    }
    match best {
        None => Ok(None),
        Some((_, path)) => {
            let text = std::fs::read_to_string(&path)?;
            Ok(Some((path, text)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (Signer, TrustedKeys, Checkpoint) {
        let signer = Signer::from_seed(&[3; 32]);
        let mut trusted = TrustedKeys::new();
        trusted.insert(signer.verifying_key());
        let cp = Checkpoint {
            origin: "netwright/localnet".into(),
            size: 42,
            root: [5; 32],
        };
        (signer, trusted, cp)
    }

    #[test]
    fn sign_then_verify() {
        let (signer, trusted, cp) = setup();
        let note = cp.sign(&signer);
        assert!(note.starts_with("netwright/localnet\n42\n"));
        assert_eq!(Checkpoint::verify(&note, &trusted).unwrap(), cp);
    }

    #[test]
    fn tampered_size_fails_signature() {
        let (signer, trusted, cp) = setup();
        let note = cp.sign(&signer).replacen("\n42\n", "\n43\n", 1);
        assert!(matches!(
            Checkpoint::verify(&note, &trusted),
            Err(CheckpointError::BadSignature { .. })
        ));
    }

    #[test]
    fn unknown_key_is_named() {
        let (_, trusted, cp) = setup();
        let note = cp.sign(&Signer::from_seed(&[4; 32]));
        assert!(matches!(
            Checkpoint::verify(&note, &trusted),
            Err(CheckpointError::UnknownKey { .. })
        ));
    }

    #[test]
    fn malformed_lines_are_located() {
        let (_, trusted, _) = setup();
        let e = Checkpoint::verify("o\n01\nAA==\n\n\u{2014} o AA==\n", &trusted).unwrap_err();
        assert!(matches!(e, CheckpointError::Format { line: 2, .. }), "{e}");
        let e = Checkpoint::verify("o\n1\n", &trusted).unwrap_err();
        assert!(matches!(e, CheckpointError::Format { .. }), "{e}");
    }
}
