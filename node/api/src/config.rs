//! `config.toml`: the node's settings, parsed strictly and checked field by field.
//!
//! Unknown fields are refused (a typo must not be silently ignored). Every error names the file,
//! the field and the reason. [`Config::default`] is what `netwright-node init` writes.
//!
//! [`Config::validate`] checks every rule that needs no networking library: non-empty names,
//! positive limits, ordered redial delays, the gossip size bound and the RPC socket address.
//! The node adds the checks that need its runtime's types (multiaddresses, peer ids, the log
//! filter) on top.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// File name of the configuration inside the node home.
pub const CONFIG_FILE: &str = "config.toml";

/// Errors from reading or checking `config.toml`.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// Path of the config file.
        path: PathBuf,
        /// Underlying I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or does not match the schema (unknown or mistyped field).
    #[error("{path}: {message}")]
    Parse {
        /// Path of the config file.
        path: PathBuf,
        /// Parser message, including the line, column and key.
        message: String,
    },
    /// A field has a value that is well-typed but not acceptable.
    #[error("{path}: field `{field}`: value `{value}`: {reason}")]
    Invalid {
        /// Path of the config file.
        path: PathBuf,
        /// Dotted field path, e.g. `p2p.persistent_peers[1]`.
        field: String,
        /// The offending value.
        value: String,
        /// Why it is refused.
        reason: String,
    },
}

/// The whole node configuration, as written in `config.toml`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Human-readable node name, used in logs and `/status`.
    pub moniker: String,
    /// Peer-to-peer networking.
    pub p2p: P2pSection,
    /// HTTP RPC server.
    pub rpc: RpcSection,
    /// Consensus round timeouts.
    pub consensus: ConsensusSection,
    /// Transaction pool bounds.
    pub mempool: MempoolSection,
    /// Logging.
    pub log: LogSection,
}

/// `[p2p]`: listen address, peers, message limits and peer discipline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct P2pSection {
    /// libp2p multiaddress to listen on, e.g. `/ip4/0.0.0.0/tcp/26656`.
    pub listen: String,
    /// Peers to stay connected to: multiaddresses ending in `/p2p/<peer id>`.
    pub persistent_peers: Vec<String>,
    /// Largest transaction gossip message, in bytes.
    pub max_tx_bytes: usize,
    /// Largest proposal gossip message, in bytes.
    pub max_proposal_bytes: usize,
    /// Largest vote gossip message, in bytes.
    pub max_vote_bytes: usize,
    /// Largest block-sync response, in bytes.
    pub max_sync_response_bytes: usize,
    /// Most blocks asked for or served in one sync request.
    pub max_sync_blocks: u64,
    /// First redial delay after a persistent peer drops, in milliseconds.
    pub redial_initial_ms: u64,
    /// Largest redial delay, in milliseconds.
    pub redial_max_ms: u64,
    /// How long a peer whose score fell to the ban threshold stays banned, in seconds.
    pub ban_secs: u64,
}

/// `[rpc]`: HTTP server address and limits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RpcSection {
    /// Socket address to serve HTTP on, e.g. `127.0.0.1:26657`.
    pub listen: String,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// How long `POST /txs?wait=commit` waits for the transaction to commit, in milliseconds.
    pub commit_wait_ms: u64,
    /// Longest time from a request's first byte to the end of its head, in milliseconds.
    #[serde(default = "default_rpc_header_read_timeout_ms")]
    pub header_read_timeout_ms: u64,
    /// Longest silence of a connection waiting for its next request (or of a client not reading
    /// its answer), in milliseconds.
    #[serde(default = "default_rpc_idle_timeout_ms")]
    pub idle_timeout_ms: u64,
    /// Longest time to receive a whole request body, in milliseconds.
    #[serde(default = "default_rpc_body_read_timeout_ms")]
    pub body_read_timeout_ms: u64,
    /// Most RPC connections open at once; more are closed on accept.
    #[serde(default = "default_rpc_max_connections")]
    pub max_connections: usize,
}

impl RpcSection {
    /// These settings as the RPC server's limits.
    pub fn limits(&self) -> RpcLimits {
        RpcLimits {
            max_body_bytes: self.max_body_bytes,
            commit_wait: Duration::from_millis(self.commit_wait_ms),
            header_read_timeout: Duration::from_millis(self.header_read_timeout_ms),
            idle_timeout: Duration::from_millis(self.idle_timeout_ms),
            body_read_timeout: Duration::from_millis(self.body_read_timeout_ms),
            max_connections: self.max_connections,
        }
    }
}

fn default_rpc_header_read_timeout_ms() -> u64 {
    millis(RpcLimits::default().header_read_timeout)
}

fn default_rpc_idle_timeout_ms() -> u64 {
    millis(RpcLimits::default().idle_timeout)
}

fn default_rpc_body_read_timeout_ms() -> u64 {
    millis(RpcLimits::default().body_read_timeout)
}

fn default_rpc_max_connections() -> usize {
    RpcLimits::default().max_connections
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// `[consensus]`: round timeouts (round r waits `base + r * delta`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsensusSection {
    /// Propose step timeout of round 0, in milliseconds.
    pub timeout_propose_ms: u64,
    /// Extra propose timeout per round, in milliseconds.
    pub timeout_propose_delta_ms: u64,
    /// Prevote step timeout of round 0, in milliseconds.
    pub timeout_prevote_ms: u64,
    /// Extra prevote timeout per round, in milliseconds.
    pub timeout_prevote_delta_ms: u64,
    /// Precommit step timeout of round 0, in milliseconds.
    pub timeout_precommit_ms: u64,
    /// Extra precommit timeout per round, in milliseconds.
    pub timeout_precommit_delta_ms: u64,
    /// Pause after a commit before the next height starts, in milliseconds.
    pub timeout_commit_ms: u64,
    /// Target time between the starts of two heights, in milliseconds: after a commit the node
    /// also waits until this much time has passed since the committed height started. 0 (the
    /// default when absent) paces blocks by `timeout_commit_ms` alone.
    #[serde(default)]
    pub block_interval_ms: u64,
}

/// `[mempool]`: bounds of the transaction pool.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MempoolSection {
    /// Most transactions held.
    pub max_txs: usize,
    /// Most bytes held (sum of transaction sizes).
    pub max_bytes: usize,
    /// Most transactions held for one sender.
    pub max_per_sender: usize,
}

/// `[log]`: log format and filter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSection {
    /// `text` (human) or `json` (one object per line).
    pub format: LogFormat,
    /// Filter directive, e.g. `info` or `netwright_node=debug,libp2p=warn`.
    pub level: String,
}

/// Output format of logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            moniker: "node".to_string(),
            p2p: P2pSection {
                listen: "/ip4/0.0.0.0/tcp/26656".to_string(),
                persistent_peers: Vec::new(),
                max_tx_bytes: 64 * 1024,
                max_proposal_bytes: 4 * 1024 * 1024,
                max_vote_bytes: 4 * 1024,
                max_sync_response_bytes: 16 * 1024 * 1024,
                max_sync_blocks: 64,
                redial_initial_ms: 500,
                redial_max_ms: 30_000,
                ban_secs: 600,
            },
            rpc: RpcSection {
                listen: "127.0.0.1:26657".to_string(),
                max_body_bytes: RpcLimits::default().max_body_bytes,
                commit_wait_ms: millis(RpcLimits::default().commit_wait),
                header_read_timeout_ms: default_rpc_header_read_timeout_ms(),
                idle_timeout_ms: default_rpc_idle_timeout_ms(),
                body_read_timeout_ms: default_rpc_body_read_timeout_ms(),
                max_connections: default_rpc_max_connections(),
            },
            consensus: ConsensusSection {
                timeout_propose_ms: 1_000,
                timeout_propose_delta_ms: 500,
                timeout_prevote_ms: 500,
                timeout_prevote_delta_ms: 250,
                timeout_precommit_ms: 500,
                timeout_precommit_delta_ms: 250,
                timeout_commit_ms: 100,
                block_interval_ms: 0,
            },
            mempool: MempoolSection {
                max_txs: 50_000,
                max_bytes: 64 * 1024 * 1024,
                max_per_sender: 1_000,
            },
            log: LogSection {
                format: LogFormat::Text,
                level: "info".to_string(),
            },
        }
    }
}

/// RPC settings: request sizes and the deadlines that keep slow or idle clients from holding
/// connections. The defaults ([`RpcLimits::default`]) are the node's configuration defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RpcLimits {
    /// Largest accepted request body (default 1 MiB, room for a 10,000-transaction batch).
    pub max_body_bytes: usize,
    /// Longest `?wait=commit` (default 30 s).
    pub commit_wait: Duration,
    /// Longest time from the first byte of a request to the end of its head (default 10 s: a
    /// head is at most 16 KiB, which any live client sends in well under a second).
    pub header_read_timeout: Duration,
    /// Longest silence of a connection waiting for its next request, or of a client not reading
    /// its answer (default 60 s: longer than the orchestrator's polling interval, so its kept-alive
    /// connections are reused, and short enough that abandoned ones do not pile up).
    pub idle_timeout: Duration,
    /// Longest time to receive a whole request body once its head is in (default 30 s: a body of
    /// `max_body_bytes` at about 35 KB/s).
    pub body_read_timeout: Duration,
    /// Most connections open at once; more are closed as soon as they are accepted (default
    /// 1,024: far above what the orchestrator and load generators open, and with a kernel's
    /// usual 1,024 to 65,536 descriptors per process, the rest stays for storage and p2p).
    pub max_connections: usize,
}

impl Default for RpcLimits {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            commit_wait: Duration::from_secs(30),
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            body_read_timeout: Duration::from_secs(30),
            max_connections: 1024,
        }
    }
}

impl Config {
    /// Renders the configuration as TOML (what `init` writes).
    pub fn to_toml(&self) -> Result<String, toml::ser::Error> {
        toml::to_string_pretty(self)
    }

    /// Parses TOML text; `path` is only used to name the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        })
    }

    /// Reads and parses `path` (without [`Config::validate`]).
    pub fn read(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Checks every field that needs no networking library; `path` names the file in errors.
    pub fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let bad = |field: &str, value: &dyn std::fmt::Display, reason: &str| {
            ConfigError::invalid(path, field, value, reason)
        };
        if self.moniker.trim().is_empty() {
            return Err(bad("moniker", &self.moniker, "must not be empty"));
        }
        for (i, peer) in self.p2p.persistent_peers.iter().enumerate() {
            if !peer.contains("/p2p/") {
                return Err(bad(
                    &format!("p2p.persistent_peers[{i}]"),
                    peer,
                    "must end with /p2p/<peer id>",
                ));
            }
        }
        let positive = [
            ("p2p.max_tx_bytes", self.p2p.max_tx_bytes as u64),
            ("p2p.max_proposal_bytes", self.p2p.max_proposal_bytes as u64),
            ("p2p.max_vote_bytes", self.p2p.max_vote_bytes as u64),
            (
                "p2p.max_sync_response_bytes",
                self.p2p.max_sync_response_bytes as u64,
            ),
            ("p2p.max_sync_blocks", self.p2p.max_sync_blocks),
            ("p2p.redial_initial_ms", self.p2p.redial_initial_ms),
            ("p2p.redial_max_ms", self.p2p.redial_max_ms),
            ("rpc.max_body_bytes", self.rpc.max_body_bytes as u64),
            ("rpc.commit_wait_ms", self.rpc.commit_wait_ms),
            (
                "rpc.header_read_timeout_ms",
                self.rpc.header_read_timeout_ms,
            ),
            ("rpc.idle_timeout_ms", self.rpc.idle_timeout_ms),
            ("rpc.body_read_timeout_ms", self.rpc.body_read_timeout_ms),
            ("rpc.max_connections", self.rpc.max_connections as u64),
            (
                "consensus.timeout_propose_ms",
                self.consensus.timeout_propose_ms,
            ),
            (
                "consensus.timeout_prevote_ms",
                self.consensus.timeout_prevote_ms,
            ),
            (
                "consensus.timeout_precommit_ms",
                self.consensus.timeout_precommit_ms,
            ),
            ("mempool.max_txs", self.mempool.max_txs as u64),
            ("mempool.max_bytes", self.mempool.max_bytes as u64),
            ("mempool.max_per_sender", self.mempool.max_per_sender as u64),
        ];
        for (field, value) in positive {
            if value == 0 {
                return Err(bad(field, &value, "must be greater than 0"));
            }
        }
        if self.p2p.redial_max_ms < self.p2p.redial_initial_ms {
            return Err(bad(
                "p2p.redial_max_ms",
                &self.p2p.redial_max_ms,
                "must be at least p2p.redial_initial_ms",
            ));
        }
        let largest_gossip = self
            .p2p
            .max_tx_bytes
            .max(self.p2p.max_proposal_bytes)
            .max(self.p2p.max_vote_bytes);
        if largest_gossip > MAX_GOSSIP_BYTES {
            return Err(bad(
                "p2p.max_proposal_bytes",
                &largest_gossip,
                &format!("gossip messages are limited to {MAX_GOSSIP_BYTES} bytes"),
            ));
        }
        self.rpc_listen(path)?;
        Ok(())
    }

    /// `rpc.listen` as a socket address; `path` names the file in the error.
    pub fn rpc_listen(&self, path: &Path) -> Result<SocketAddr, ConfigError> {
        self.rpc.listen.parse().map_err(|e| {
            ConfigError::invalid(
                path,
                "rpc.listen",
                &self.rpc.listen,
                &format!("not an ip:port socket address: {e}"),
            )
        })
    }

    /// The consensus timeouts as durations, in the order propose, prevote, precommit, commit.
    pub fn round_timeouts(&self, round: u32) -> [Duration; 4] {
        let c = &self.consensus;
        let r = u64::from(round);
        let ms = |base: u64, delta: u64| {
            Duration::from_millis(base.saturating_add(r.saturating_mul(delta)))
        };
        [
            ms(c.timeout_propose_ms, c.timeout_propose_delta_ms),
            ms(c.timeout_prevote_ms, c.timeout_prevote_delta_ms),
            ms(c.timeout_precommit_ms, c.timeout_precommit_delta_ms),
            Duration::from_millis(c.timeout_commit_ms),
        ]
    }
}

impl ConfigError {
    /// A refused value of `field` in the file at `path`.
    pub fn invalid(
        path: &Path,
        field: &str,
        value: &dyn std::fmt::Display,
        reason: &str,
    ) -> ConfigError {
        ConfigError::Invalid {
            path: path.to_path_buf(),
            field: field.to_string(),
            value: value.to_string(),
            reason: reason.to_string(),
        }
    }
}

/// Hard upper bound for any single gossip message, whatever the configuration says.
pub const MAX_GOSSIP_BYTES: usize = 16 * 1024 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("config.toml")
    }

    #[test]
    fn default_round_trips_through_toml_and_validates() {
        let config = Config::default();
        let text = config.to_toml().unwrap();
        let parsed = Config::parse(&text, p()).unwrap();
        assert_eq!(parsed, config);
        parsed.validate(p()).unwrap();
        assert_eq!(parsed.rpc_listen(p()).unwrap().port(), 26657);
    }

    #[test]
    fn rpc_connection_limits_default_when_absent_and_zero_is_refused() {
        let mut text = Config::default().to_toml().unwrap();
        for field in [
            "header_read_timeout_ms",
            "idle_timeout_ms",
            "body_read_timeout_ms",
            "max_connections",
        ] {
            let line = text
                .lines()
                .find(|l| l.starts_with(field))
                .unwrap_or_else(|| panic!("{field} not written"))
                .to_string();
            text = text.replace(&format!("{line}\n"), "");
        }
        let parsed = Config::parse(&text, p()).unwrap();
        assert_eq!(parsed.rpc.limits(), RpcLimits::default());
        let mut config = Config::default();
        config.rpc.max_connections = 0;
        let err = config.validate(p()).unwrap_err().to_string();
        assert!(
            err.contains("rpc.max_connections") && err.contains("greater than 0"),
            "{err}"
        );
    }

    #[test]
    fn unknown_field_is_named() {
        let text = Config::default()
            .to_toml()
            .unwrap()
            .replace("moniker =", "monikr =");
        let err = Config::parse(&text, p()).unwrap_err().to_string();
        assert!(
            err.contains("config.toml") && err.contains("monikr"),
            "{err}"
        );
    }

    #[test]
    fn wrong_type_is_named() {
        let text = Config::default()
            .to_toml()
            .unwrap()
            .replace("max_txs = 50000", "max_txs = \"many\"");
        let err = Config::parse(&text, p()).unwrap_err().to_string();
        assert!(err.contains("max_txs"), "{err}");
    }

    #[test]
    fn peer_without_id_is_refused_with_index() {
        let mut config = Config::default();
        config.p2p.persistent_peers = vec![
            "/ip4/127.0.0.1/tcp/1/p2p/12D3KooWAbc".to_string(),
            "/ip4/127.0.0.1/tcp/2".to_string(),
        ];
        let err = config.validate(p()).unwrap_err().to_string();
        assert!(err.contains("p2p.persistent_peers[1]"), "{err}");
        assert!(err.contains("/ip4/127.0.0.1/tcp/2"), "{err}");
        assert!(err.contains("/p2p/<peer id>"), "{err}");
    }

    #[test]
    fn bad_rpc_address_zero_limits_and_unordered_redial_are_refused() {
        let mut config = Config::default();
        config.rpc.listen = "localhost".to_string();
        let err = config.validate(p()).unwrap_err().to_string();
        assert!(
            err.contains("rpc.listen") && err.contains("localhost"),
            "{err}"
        );
        let mut config = Config::default();
        config.mempool.max_txs = 0;
        let err = config.validate(p()).unwrap_err().to_string();
        assert!(
            err.contains("mempool.max_txs") && err.contains("greater than 0"),
            "{err}"
        );
        let mut config = Config::default();
        config.p2p.redial_max_ms = config.p2p.redial_initial_ms - 1;
        let err = config.validate(p()).unwrap_err().to_string();
        assert!(err.contains("p2p.redial_max_ms"), "{err}");
    }

    #[test]
    fn round_timeouts_grow_per_round() {
        let config = Config::default();
        let [p0, ..] = config.round_timeouts(0);
        let [p2, ..] = config.round_timeouts(2);
        assert_eq!(p0, Duration::from_millis(1_000));
        assert_eq!(p2, Duration::from_millis(2_000));
    }
}
