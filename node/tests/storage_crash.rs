//! Kill -9 durability: a child process commits blocks in a loop and prints each height after
//! `commit_block` returns; the parent SIGKILLs it at a random moment, reopens the database and
//! checks that every acknowledged block is there and that block, certificate, state and
//! metadata agree exactly at the last committed height (nothing torn, nothing lost).
//!
//! The child is this same test binary, re-executed with `NETWRIGHT_CRASH_CHILD` set.
//! `NETWRIGHT_CRASH_ROUNDS` sets the number of kill cycles (default 4).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use netwright_node::storage::{BlockCommit, StateWrite, Storage};

const CHILD_ENV: &str = "NETWRIGHT_CRASH_CHILD";
const KEYS: u64 = 40;

fn block_bytes(h: u64) -> Vec<u8> {
    // 1 KiB to ~40 KiB, so commits span many pages.
    let len = 1024 + (h * 7919 % 40) as usize * 1024;
    let seed = blake3::hash(&h.to_le_bytes());
    seed.as_bytes().iter().cycle().take(len).copied().collect()
}

fn cert_bytes(h: u64) -> Vec<u8> {
    blake3::hash(&block_bytes(h)).as_bytes().to_vec()
}

fn writes(h: u64) -> Vec<StateWrite> {
    vec![
        (b"latest".to_vec(), Some(h.to_le_bytes().to_vec())),
        (
            format!("k{}", h % KEYS).into_bytes(),
            Some(vec![h as u8; 200 + (h % 13) as usize * 100]),
        ),
        (format!("k{}", (h + KEYS / 2) % KEYS).into_bytes(), None),
    ]
}

fn app_hash(h: u64) -> [u8; 32] {
    *blake3::hash(format!("app-{h}").as_bytes()).as_bytes()
}

fn expected_state(up_to: u64) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut state = BTreeMap::new();
    for h in 1..=up_to {
        for (k, v) in writes(h) {
            match v {
                Some(v) => state.insert(k, v),
                None => state.remove(&k),
            };
        }
    }
    state
}

fn child(dir: &Path) {
    let storage = Storage::open(dir).expect("child: open");
    let mut h = storage.latest_height().expect("child: height").unwrap_or(0) + 1;
    loop {
        let block = block_bytes(h);
        let cert = cert_bytes(h);
        let commit = BlockCommit {
            height: h,
            hash: *blake3::hash(&block).as_bytes(),
            block: &block,
            cert: &cert,
            app_hash: app_hash(h),
        };
        storage
            .commit_block(&commit, &writes(h))
            .expect("child: commit");
        storage.append_wal(&h.to_le_bytes()).expect("child: wal");
        println!("committed {h}");
        h += 1;
    }
}

#[test]
fn kill_9_loses_no_acknowledged_block_and_tears_nothing() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        child(Path::new(&dir));
        return;
    }
    let rounds: u64 = std::env::var("NETWRIGHT_CRASH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut acknowledged = 0u64;
    for round in 0..rounds {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "kill_9_loses_no_acknowledged_block_and_tears_nothing",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        // Let it commit a varying number of blocks past the last acknowledged one, then kill it
        // in the middle of whatever it is doing.
        let target = acknowledged + 5 + (round * 7919 % 23);
        let started = Instant::now();
        while acknowledged < target {
            let line = lines.next().expect("child ended early").unwrap();
            if let Some(h) = line.strip_prefix("committed ") {
                acknowledged = h.trim().parse().unwrap();
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "child too slow"
            );
        }
        // Keep committing during a short, varying delay so the kill lands mid-transaction.
        std::thread::sleep(Duration::from_micros(300 + round * 1700));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        for line in lines.map_while(Result::ok) {
            if let Some(h) = line.strip_prefix("committed ") {
                acknowledged = h.trim().parse().unwrap();
            }
        }

        let storage = Storage::open(dir.path()).unwrap();
        let tip = storage.tip().unwrap().expect("at least one block");
        assert!(
            tip.height >= acknowledged,
            "round {round}: acknowledged height {acknowledged} but only {} is on disk",
            tip.height
        );
        // A commit may have completed after the last printed line; that block must be whole too.
        assert!(
            tip.height <= acknowledged + 1,
            "round {round}: height {} from nowhere",
            tip.height
        );
        let h = tip.height;
        assert_eq!(
            storage.block(h).unwrap(),
            Some(block_bytes(h)),
            "round {round}: block {h}"
        );
        assert_eq!(
            storage.cert(h).unwrap(),
            Some(cert_bytes(h)),
            "round {round}: cert {h}"
        );
        assert_eq!(storage.block(h + 1).unwrap(), None);
        assert_eq!(tip.app_hash, app_hash(h));
        assert_eq!(tip.block_hash, *blake3::hash(&block_bytes(h)).as_bytes());
        assert_eq!(storage.height_of(&tip.block_hash).unwrap(), Some(h));
        let state: BTreeMap<_, _> = storage.load_state().unwrap().map(Result::unwrap).collect();
        assert_eq!(
            state,
            expected_state(h),
            "round {round}: state at height {h}"
        );
        for past in [1, h / 2, h.saturating_sub(1).max(1)] {
            assert_eq!(
                storage.block(past).unwrap(),
                Some(block_bytes(past)),
                "block {past}"
            );
        }
        let wal = storage.wal_records().unwrap();
        let last_wal = wal
            .last()
            .map(|(_, r)| u64::from_le_bytes(r[..8].try_into().unwrap()));
        assert!(
            last_wal >= Some(acknowledged),
            "round {round}: acknowledged WAL record lost"
        );
        acknowledged = h;
    }
}
