//! Torn tails: an incomplete final line left by a crash during an append, found when the
//! log is split into lines and cut only by the explicit repair.

use std::fs::OpenOptions;
use std::ops::Range;
use std::path::Path;

use super::lock::acquire_lock;
use super::{io, LogError};

/// An incomplete final line: bytes after the last newline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTail {
    /// 1-based line number of the incomplete line.
    pub line: usize,
    /// Byte offset where it starts (the log is sound up to here).
    pub offset: u64,
    /// The incomplete bytes.
    pub bytes: Vec<u8>,
}

/// Splits log bytes into complete lines (without newlines) and a torn tail, if any.
pub fn split_lines(bytes: &[u8]) -> (Vec<Range<usize>>, Option<TornTail>) {
    let mut lines = Vec::new();
    let mut start = 0;
    for i in memchr::memchr_iter(b'\n', bytes) {
        lines.push(start..i);
        start = i + 1;
    }
    let torn = (start < bytes.len()).then(|| TornTail {
        line: lines.len() + 1,
        offset: start as u64,
        bytes: bytes[start..].to_vec(),
    });
    (lines, torn)
}

/// Cuts an incomplete final line, under the writer lock, and reports what was cut.
/// Returns `None` when the log ends cleanly. Call it only after recording the event.
pub fn repair_torn_tail(path: &Path) -> Result<Option<TornTail>, LogError> {
    let _lock = acquire_lock(path)?;
    let bytes = std::fs::read(path).map_err(io(path))?;
    let (_, torn) = split_lines(&bytes);
    let Some(tail) = torn else {
        return Ok(None);
    };
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(io(path))?;
    file.set_len(tail.offset).map_err(io(path))?;
    file.sync_all().map_err(io(path))?;
    Ok(Some(tail))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_reports_torn_tail_with_offset() {
        let (lines, torn) = split_lines(b"a\nbc\nde");
        assert_eq!(lines, vec![0..1, 2..4]);
        let torn = torn.unwrap();
        assert_eq!(
            (torn.line, torn.offset, torn.bytes.as_slice()),
            (3, 5, &b"de"[..])
        );
        let (lines, torn) = split_lines(b"a\n\n");
        assert_eq!(lines, vec![0..1, 2..2]);
        assert!(torn.is_none());
    }
}
