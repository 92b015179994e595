//! Loopback port allocation: once per node or relay chain, below Linux's ephemeral range, checked
//! free by binding, recorded in `state.json` and reused forever after.

use std::net::{Ipv4Addr, TcpListener};

use crate::backend::BackendError;

/// Lowest port handed out.
pub const PORT_MIN: u16 = 20_000;
/// One above the highest port handed out (Linux's ephemeral range starts at 32768).
pub const PORT_END: u16 = 32_768;

/// Whether `port` can be bound on 127.0.0.1 right now.
pub fn is_free(port: u16) -> bool {
    TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok()
}

/// `count` distinct free ports in `[PORT_MIN, PORT_END)`, none of them in `used`. The search
/// starts at a point that differs per process and per call, so that networks created at the
/// same time rarely race for the same ports.
pub fn allocate(count: usize, used: &[u16]) -> Result<Vec<u16>, BackendError> {
    allocate_with(count, used, start_point(), is_free)
}

/// [`allocate`] with the starting offset and the freeness check given.
pub fn allocate_with(
    count: usize,
    used: &[u16],
    start: u32,
    free: impl Fn(u16) -> bool,
) -> Result<Vec<u16>, BackendError> {
    let span = u32::from(PORT_END - PORT_MIN);
    let mut out = Vec::with_capacity(count);
    for i in 0..span {
        if out.len() == count {
            break;
        }
        let offset = (start.wrapping_add(i)) % span;
        let port = PORT_MIN + u16::try_from(offset).unwrap_or(0);
        if used.contains(&port) || out.contains(&port) || !free(port) {
            continue;
        }
        out.push(port);
    }
    if out.len() < count {
        return Err(BackendError::new(format!(
            "no {count} free loopback ports between {PORT_MIN} and {}",
            PORT_END - 1
        )));
    }
    Ok(out)
}

fn start_point() -> u32 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let seed = format!("{}-{nanos}", std::process::id());
    let hash = blake3::hash(seed.as_bytes());
    let b = hash.as_bytes();
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocation_skips_used_and_busy_ports_and_stays_in_range() {
        let ports = allocate_with(3, &[PORT_MIN + 1], 0, |p| p != PORT_MIN + 2).unwrap();
        assert_eq!(ports, vec![PORT_MIN, PORT_MIN + 3, PORT_MIN + 4]);
        let wrapped = allocate_with(2, &[], u32::from(PORT_END - PORT_MIN) - 1, |_| true).unwrap();
        assert_eq!(wrapped, vec![PORT_END - 1, PORT_MIN]);
    }

    #[test]
    fn allocation_fails_clearly_when_nothing_is_free() {
        let err = allocate_with(1, &[], 7, |_| false).unwrap_err().to_string();
        assert!(err.contains("no 1 free loopback ports"), "{err}");
    }

    #[test]
    fn real_allocation_gives_bindable_distinct_ports() {
        let ports = allocate(4, &[]).unwrap();
        for p in &ports {
            assert!((PORT_MIN..PORT_END).contains(p));
        }
        let mut sorted = ports.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 4);
    }
}
