//! `netwright-node loadgen`: offers signed transfers at a fixed rate over RPC endpoints and
//! reports offered, accepted and committed tx/s and commit latency.
//!
//! Fresh sender accounts are funded first from funded node accounts (`--key-home`), so that
//! load is spread over many nonce sequences; each sender is bound to one endpoint and sends its
//! nonces in order, one request at a time. Commits are tracked by reading every new block from
//! the first endpoint and matching transaction hashes.

pub mod http;
pub mod report;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use netwright_ledger::{Address, PublicKey, TxBody, TxPayload};
use serde_json::{json, Value};

use crate::keys::NodeKey;
use http::{Client, HttpError};
pub use report::{Report, RunFigures};

/// Amount each fresh sender receives from its funder.
const FUNDING: u64 = 10_000_000;
/// Longest wait for the funding transfers to commit.
const FUNDING_WAIT: Duration = Duration::from_secs(60);
/// Longest wait, after the load window, for admitted transactions to commit.
const DRAIN_WAIT: Duration = Duration::from_secs(15);

/// What to run.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    /// RPC endpoints (`http://host:port` or `host:port`).
    pub rpc: Vec<String>,
    /// Offered transactions per second.
    pub rate: f64,
    /// Length of the load window.
    pub duration: Duration,
    /// Node homes whose `node_key.json` accounts fund the senders.
    pub key_homes: Vec<PathBuf>,
    /// Number of fresh sender accounts.
    pub accounts: usize,
}

/// Why a load run could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A flag has an unusable value.
    #[error("{flag}: value `{value}`: {reason}")]
    BadFlag {
        /// The flag.
        flag: &'static str,
        /// The value given.
        value: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// An endpoint is unreachable or answered wrongly.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// An endpoint answered with something unexpected.
    #[error("rpc {endpoint}{path}: unexpected answer {status}: {body}")]
    Unexpected {
        /// The endpoint.
        endpoint: String,
        /// The path.
        path: String,
        /// HTTP status.
        status: u16,
        /// The body.
        body: Value,
    },
    /// A funding key could not be loaded.
    #[error("--key-home {home}: {reason}")]
    Key {
        /// The home.
        home: String,
        /// The cause.
        reason: String,
    },
    /// The funding transfers did not commit in time.
    #[error("funding the senders: {0}")]
    Funding(String),
}

/// Parses a duration such as `10s`, `500ms`, `2m` or a bare number of seconds.
pub fn parse_duration(raw: &str) -> Result<Duration, LoadError> {
    let bad = |reason| LoadError::BadFlag {
        flag: "--duration",
        value: raw.to_string(),
        reason,
    };
    let s = raw.trim();
    let (num, unit) = match s.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| bad("expected a number with unit ms, s or m"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        _ => return Err(bad("unit must be ms, s or m")),
    };
    if !(secs > 0.0 && secs <= 86_400.0) {
        return Err(bad("must be greater than 0 and at most 24h"));
    }
    Ok(Duration::from_secs_f64(secs))
}

impl LoadSpec {
    fn check(&self) -> Result<Vec<String>, LoadError> {
        let bad = |flag, value: String, reason| LoadError::BadFlag {
            flag,
            value,
            reason,
        };
        if self.rpc.is_empty() {
            return Err(bad(
                "--rpc",
                String::new(),
                "at least one endpoint is required",
            ));
        }
        if !(self.rate > 0.0 && self.rate.is_finite() && self.rate <= 1_000_000.0) {
            return Err(bad(
                "--rate",
                self.rate.to_string(),
                "must be in (0, 1000000]",
            ));
        }
        if self.accounts == 0 || self.accounts > 100_000 {
            return Err(bad(
                "--accounts",
                self.accounts.to_string(),
                "must be in 1..=100000",
            ));
        }
        if self.key_homes.is_empty() {
            return Err(bad(
                "--key-home",
                String::new(),
                "at least one funded node home is required to fund the senders",
            ));
        }
        self.rpc
            .iter()
            .map(|r| http::parse_endpoint(r).map_err(LoadError::from))
            .collect()
    }
}

async fn expect_ok(client: &mut Client, path: &str) -> Result<Value, LoadError> {
    let (status, body) = client.get(path).await?;
    if status != 200 {
        return Err(LoadError::Unexpected {
            endpoint: client.endpoint().to_string(),
            path: path.to_string(),
            status,
            body,
        });
    }
    Ok(body)
}

async fn account_nonce(client: &mut Client, addr: &Address) -> Result<u64, LoadError> {
    let path = format!("/accounts/{addr}");
    let body = expect_ok(client, &path).await?;
    body["nonce"].as_u64().ok_or(LoadError::Unexpected {
        endpoint: client.endpoint().to_string(),
        path,
        status: 200,
        body,
    })
}

fn transfer(chain_id: &str, key: &SigningKey, nonce: u64, to: Address, amount: u64) -> Vec<u8> {
    TxPayload {
        chain_id: chain_id.to_string(),
        signer: PublicKey::from(key.verifying_key()),
        nonce,
        fee: 1,
        body: TxBody::Transfer { to, amount },
    }
    .sign(key)
    .encode()
}

fn address(key: &SigningKey) -> Address {
    Address::from_public_key(&PublicKey::from(key.verifying_key()))
}

/// Funds every sender from the funders (sender i from funder i mod F) and waits for commit.
async fn fund(
    client: &mut Client,
    chain_id: &str,
    funders: &[SigningKey],
    senders: &[SigningKey],
) -> Result<(), LoadError> {
    let mut expected = Vec::new();
    for (f, funder) in funders.iter().enumerate() {
        let from = address(funder);
        let mut nonce = account_nonce(client, &from).await?;
        for sender in senders.iter().skip(f).step_by(funders.len()) {
            let tx = transfer(chain_id, funder, nonce, address(sender), FUNDING);
            let (status, body) = client
                .post("/txs", &json!({ "tx": hex::encode(tx) }))
                .await?;
            if status != 202 {
                return Err(LoadError::Funding(format!(
                    "transfer from {from} nonce {nonce} refused ({status}): {body}"
                )));
            }
            nonce += 1;
        }
        expected.push((from, nonce));
    }
    let deadline = Instant::now() + FUNDING_WAIT;
    for (from, nonce) in expected {
        while account_nonce(client, &from).await? < nonce {
            if Instant::now() > deadline {
                return Err(LoadError::Funding(format!(
                    "transfers from {from} not committed after {}s",
                    FUNDING_WAIT.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    Ok(())
}

/// Shared bookkeeping of the senders and the commit watcher.
#[derive(Default)]
struct Tracker {
    pending: Mutex<HashMap<[u8; 32], Instant>>,
    latencies: Mutex<Vec<Duration>>,
    last_commit: Mutex<Option<Instant>>,
    sent: AtomicU64,
    accepted: AtomicU64,
    rejected: AtomicU64,
    failed: AtomicU64,
    first_refusal: Mutex<Option<String>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Most transactions in one `POST /txs/batch` (about 650 KB of JSON, under the default body
/// limit of 1 MiB).
const MAX_BATCH: usize = 2_000;
/// Pause of an endpoint task when nothing is due yet.
const TICK: Duration = Duration::from_millis(20);

/// The pacing of one endpoint: `rate` tx/s from `start` until `end`.
#[derive(Clone, Copy)]
struct Pace {
    rate: f64,
    start: Instant,
    end: Instant,
}

/// A sender's transfers, signed before the load starts: entry `n` is nonce `n` (hex, hash).
struct Sender {
    txs: Vec<(String, [u8; 32])>,
    next: usize,
}

/// Signs `count` transfers of 1 (fee 1, nonces 0..count) for `key`.
fn presign(chain_id: &str, key: &SigningKey, count: usize) -> Sender {
    let to = Address([7; 20]);
    let txs = (0..count as u64)
        .map(|nonce| {
            let tx = transfer(chain_id, key, nonce, to, 1);
            (hex::encode(&tx), *blake3::hash(&tx).as_bytes())
        })
        .collect();
    Sender { txs, next: 0 }
}

/// One endpoint: every transaction due by the pace goes out in one `POST /txs/batch`, taken
/// round robin from the endpoint's senders, each sender's nonces in order; one request at a
/// time, so a slow node gets larger batches. A refused transaction's nonce is sent again.
async fn run_endpoint(
    mut client: Client,
    mut senders: Vec<Sender>,
    pace: Pace,
    track: Arc<Tracker>,
) {
    let Pace { rate, start, end } = pace;
    let mut issued = 0u64;
    let mut cursor = 0usize;
    loop {
        let now = Instant::now();
        if now >= end || senders.is_empty() {
            return;
        }
        let due = ((now - start).as_secs_f64() * rate) as u64;
        let n = (due.saturating_sub(issued) as usize).min(MAX_BATCH);
        if n == 0 {
            tokio::time::sleep(TICK).await;
            continue;
        }
        let mut items: Vec<(usize, usize)> = Vec::with_capacity(n);
        let mut body: Vec<&str> = Vec::with_capacity(n);
        let mut tried = 0;
        while items.len() < n && tried < senders.len() {
            let i = cursor;
            cursor = (cursor + 1) % senders.len();
            let s = &mut senders[i];
            if s.next >= s.txs.len() {
                tried += 1;
                continue;
            }
            tried = 0;
            items.push((i, s.next));
            s.next += 1;
        }
        if items.is_empty() {
            return;
        }
        issued += items.len() as u64;
        {
            let mut pending = lock(&track.pending);
            for &(i, nonce) in &items {
                pending.insert(senders[i].txs[nonce].1, now);
                body.push(&senders[i].txs[nonce].0);
            }
        }
        track.sent.fetch_add(items.len() as u64, Ordering::Relaxed);
        let answer = client.post("/txs/batch", &json!({ "txs": body })).await;
        let refuse = |senders: &mut Vec<Sender>, (i, nonce): (usize, usize), why: String| {
            let s = &mut senders[i];
            lock(&track.pending).remove(&s.txs[nonce].1);
            s.next = s.next.min(nonce);
            track.rejected.fetch_add(1, Ordering::Relaxed);
            lock(&track.first_refusal).get_or_insert(why);
        };
        match answer {
            Ok((200, answer)) => {
                let results = answer["results"].as_array().cloned().unwrap_or_default();
                for (k, item) in items.into_iter().enumerate() {
                    match results.get(k).and_then(|r| r["status"].as_u64()) {
                        Some(202) => {
                            track.accepted.fetch_add(1, Ordering::Relaxed);
                        }
                        // Already admitted by an earlier request: nothing to do.
                        Some(409) => {}
                        _ => {
                            let why = results.get(k).map_or("no result".into(), |r| r.to_string());
                            refuse(&mut senders, item, why);
                        }
                    }
                }
            }
            Ok((status, answer)) => {
                for item in items {
                    refuse(&mut senders, item, format!("{status} {answer}"));
                }
            }
            Err(e) => {
                // The node may or may not have admitted them: keep them pending and move on.
                track
                    .failed
                    .fetch_add(items.len() as u64, Ordering::Relaxed);
                lock(&track.first_refusal).get_or_insert_with(|| e.to_string());
            }
        }
    }
}

/// Reads every block after `from` on `client`'s node and marks its pending transactions
/// committed, until `stop` is set.
async fn watch_commits(
    mut client: Client,
    mut next: u64,
    track: Arc<Tracker>,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    while !*stop.borrow() {
        let tip = match expect_ok(&mut client, "/status").await {
            Ok(s) => s["height"].as_u64().unwrap_or(0),
            Err(_) => 0,
        };
        while next <= tip {
            let Ok(body) = expect_ok(&mut client, &format!("/blocks/{next}/txs")).await else {
                break;
            };
            let now = Instant::now();
            let hashes = body["tx_hashes"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            let mut pending = lock(&track.pending);
            let mut lat = lock(&track.latencies);
            for hash in hashes.iter().filter_map(Value::as_str) {
                let mut key = [0u8; 32];
                if hex::decode_to_slice(hash, &mut key).is_err() {
                    continue;
                }
                if let Some(sent) = pending.remove(&key) {
                    lat.push(now.duration_since(sent));
                    *lock(&track.last_commit) = Some(now);
                }
            }
            next += 1;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs the load and returns its report; `progress` receives one-line notes.
pub async fn run(spec: &LoadSpec, progress: &mut dyn FnMut(&str)) -> Result<Report, LoadError> {
    let endpoints = spec.check()?;
    let mut funders = Vec::new();
    for home in &spec.key_homes {
        let key = NodeKey::load(&home.join("node_key.json")).map_err(|e| LoadError::Key {
            home: home.display().to_string(),
            reason: e.to_string(),
        })?;
        funders.push(SigningKey::from_bytes(&key.secret_bytes()));
    }
    let mut chain_id = String::new();
    let mut clients = Vec::new();
    for ep in &endpoints {
        let mut c = Client::new(ep.clone());
        let status = expect_ok(&mut c, "/status").await?;
        chain_id = status["chain_id"].as_str().unwrap_or_default().to_string();
        clients.push(c);
    }
    let senders: Vec<SigningKey> = (0..spec.accounts)
        .map(|_| SigningKey::from_bytes(&rand::random::<[u8; 32]>()))
        .collect();
    progress(&format!(
        "funding {} senders from {} accounts",
        senders.len(),
        funders.len()
    ));
    fund(&mut clients[0], &chain_id, &funders, &senders).await?;
    let from_height = expect_ok(&mut clients[0], "/status").await?["height"]
        .as_u64()
        .unwrap_or(0)
        + 1;

    progress(&format!(
        "offering {} tx/s for {:.1}s over {} endpoints",
        spec.rate,
        spec.duration.as_secs_f64(),
        endpoints.len()
    ));
    let track = Arc::new(Tracker::default());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let watcher = tokio::spawn(watch_commits(
        Client::new(endpoints[0].clone()),
        from_height,
        track.clone(),
        stop_rx,
    ));
    let endpoints_n = endpoints.len();
    let per_sender =
        ((spec.rate * spec.duration.as_secs_f64()) / senders.len() as f64).ceil() as usize + 2;
    progress(&format!(
        "signing {} transfers for {} senders",
        per_sender * senders.len(),
        senders.len()
    ));
    let chain: Arc<str> = chain_id.into();
    let mut groups: Vec<Vec<Sender>> = (0..endpoints_n).map(|_| Vec::new()).collect();
    {
        let chain = chain.clone();
        let signed = tokio::task::spawn_blocking(move || {
            senders
                .iter()
                .map(|k| presign(&chain, k, per_sender))
                .collect::<Vec<Sender>>()
        })
        .await
        .map_err(|e| LoadError::Funding(format!("signing the transfers: {e}")))?;
        for (i, s) in signed.into_iter().enumerate() {
            groups[i % endpoints_n].push(s);
        }
    }
    let start = Instant::now();
    let end = start + spec.duration;
    let mut tasks = Vec::new();
    for (e, group) in groups.into_iter().enumerate() {
        tasks.push(tokio::spawn(run_endpoint(
            Client::new(endpoints[e].clone()),
            group,
            Pace {
                rate: spec.rate / endpoints_n as f64,
                start,
                end,
            },
            track.clone(),
        )));
    }
    for t in tasks {
        let _ = t.await;
    }
    let window = start.elapsed().max(spec.duration);
    let drain_deadline = Instant::now() + DRAIN_WAIT;
    while !lock(&track.pending).is_empty() && Instant::now() < drain_deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = stop_tx.send(true);
    let _ = watcher.await;
    if let Some(first) = lock(&track.first_refusal).clone() {
        progress(&format!("first refusal or failure: {first}"));
    }
    let latencies = std::mem::take(&mut *lock(&track.latencies));
    let commit_span = lock(&track.last_commit).map_or(Duration::ZERO, |t| t - start);
    Ok(Report::from_run(RunFigures {
        target_tps: spec.rate,
        window,
        commit_span,
        sent: track.sent.load(Ordering::Relaxed),
        accepted: track.accepted.load(Ordering::Relaxed),
        rejected: track.rejected.load(Ordering::Relaxed),
        failed: track.failed.load(Ordering::Relaxed),
        latencies,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_units_and_refuse_nonsense() {
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("3").unwrap(), Duration::from_secs(3));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        for bad in ["", "0", "-1s", "5h", "abc", "1e3s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn specs_name_the_bad_flag() {
        let ok = LoadSpec {
            rpc: vec!["http://127.0.0.1:1".into()],
            rate: 10.0,
            duration: Duration::from_secs(1),
            key_homes: vec!["/h".into()],
            accounts: 4,
        };
        assert!(ok.check().is_ok());
        let cases: [(LoadSpec, &str); 5] = [
            (
                LoadSpec {
                    rpc: vec![],
                    ..ok.clone()
                },
                "--rpc",
            ),
            (
                LoadSpec {
                    rate: 0.0,
                    ..ok.clone()
                },
                "--rate",
            ),
            (
                LoadSpec {
                    accounts: 0,
                    ..ok.clone()
                },
                "--accounts",
            ),
            (
                LoadSpec {
                    key_homes: vec![],
                    ..ok.clone()
                },
                "--key-home",
            ),
            (
                LoadSpec {
                    rpc: vec!["ftp://x:1".into()],
                    ..ok.clone()
                },
                "ftp://x:1",
            ),
        ];
        for (spec, needle) in cases {
            let e = spec.check().unwrap_err().to_string();
            assert!(e.contains(needle), "{e}");
        }
    }
}
