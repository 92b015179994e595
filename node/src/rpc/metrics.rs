//! The node's Prometheus metrics, rendered in the text exposition format by `GET /metrics`.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// Kind of consensus vote, the label of `netwright_votes_received_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VoteKind {
    /// A prevote.
    Prevote,
    /// A precommit.
    Precommit,
}

/// All metrics of one node. Cheap to share (`Arc`); every recorder is lock-free.
#[derive(Debug)]
pub struct NodeMetrics {
    registry: Registry,
    /// `netwright_height`: last committed height.
    pub height: Gauge,
    /// `netwright_rounds_per_height`: rounds needed to decide each height (1 = first round).
    pub rounds_per_height: Histogram,
    /// `netwright_block_interval_seconds`: time between consecutive commits.
    pub block_interval: Histogram,
    /// `netwright_commit_latency_seconds`: from a transaction's arrival to its commit.
    pub commit_latency: Histogram,
    /// `netwright_txs_committed_total`: transactions committed.
    pub txs_committed: Counter,
    /// `netwright_txs_gossip_already_committed_total`: peers' transactions dropped unverified
    /// because a block had already committed them.
    pub txs_gossip_already_committed: Counter,
    /// `netwright_mempool_size`: transactions in the mempool.
    pub mempool_size: Gauge,
    /// `netwright_mempool_bytes`: bytes in the mempool.
    pub mempool_bytes: Gauge,
    /// `netwright_peers`: connected peers.
    pub peers: Gauge,
    /// `netwright_votes_received_total{type}`: votes received from peers.
    pub votes_received: Family<[(&'static str, &'static str); 1], Counter>,
    /// `netwright_catching_up`: 1 while block sync is behind the network, else 0.
    pub catching_up: Gauge,
    /// `netwright_sync_target_height`: highest height seen from peers while syncing.
    pub sync_target_height: Gauge,
    /// `netwright_consensus_wired`: 1 when the consensus engine runs, 0 otherwise.
    pub consensus_wired: Gauge<u64, AtomicU64>,
    /// `netwright_rpc_connections`: RPC connections open now.
    pub rpc_connections: Gauge,
    /// `netwright_rpc_connections_refused_total`: RPC connections closed on accept because
    /// `rpc.max_connections` were open.
    pub rpc_connections_refused: Counter,
    /// `netwright_rpc_connections_timed_out_total`: RPC connections closed because a client was
    /// idle too long or too slow to send a request head.
    pub rpc_connections_timed_out: Counter,
}

impl Default for NodeMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl NodeMetrics {
    /// Creates and registers all metrics under the `netwright` prefix.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("netwright");
        let height = Gauge::default();
        registry.register("height", "Last committed block height", height.clone());
        let rounds_per_height = Histogram::new([1.0, 2.0, 3.0, 4.0, 6.0, 10.0]);
        registry.register(
            "rounds_per_height",
            "Consensus rounds needed to decide a height",
            rounds_per_height.clone(),
        );
        let block_interval = Histogram::new(exponential_buckets(0.01, 2.0, 12));
        registry.register(
            "block_interval_seconds",
            "Seconds between consecutive block commits",
            block_interval.clone(),
        );
        let commit_latency = Histogram::new(exponential_buckets(0.005, 2.0, 14));
        registry.register(
            "commit_latency_seconds",
            "Seconds from transaction arrival to its commit",
            commit_latency.clone(),
        );
        let txs_committed = Counter::default();
        registry.register(
            "txs_committed",
            "Transactions committed",
            txs_committed.clone(),
        );
        let txs_gossip_already_committed = Counter::default();
        registry.register(
            "txs_gossip_already_committed",
            "Transactions from peers dropped unverified because a block had already committed them",
            txs_gossip_already_committed.clone(),
        );
        let mempool_size = Gauge::default();
        registry.register(
            "mempool_size",
            "Transactions in the mempool",
            mempool_size.clone(),
        );
        let mempool_bytes = Gauge::default();
        registry.register(
            "mempool_bytes",
            "Bytes in the mempool",
            mempool_bytes.clone(),
        );
        let peers = Gauge::default();
        registry.register("peers", "Connected peers", peers.clone());
        let votes_received = Family::default();
        registry.register(
            "votes_received",
            "Consensus votes received from peers",
            votes_received.clone(),
        );
        let catching_up = Gauge::default();
        registry.register(
            "catching_up",
            "1 while the node syncs blocks to reach the network, else 0",
            catching_up.clone(),
        );
        let sync_target_height = Gauge::default();
        registry.register(
            "sync_target_height",
            "Highest height announced by peers while syncing",
            sync_target_height.clone(),
        );
        let consensus_wired = Gauge::<u64, AtomicU64>::default();
        registry.register(
            "consensus_wired",
            "1 when this node runs the consensus engine, 0 otherwise",
            consensus_wired.clone(),
        );
        let rpc_connections = Gauge::default();
        registry.register(
            "rpc_connections",
            "RPC connections open now",
            rpc_connections.clone(),
        );
        let rpc_connections_refused = Counter::default();
        registry.register(
            "rpc_connections_refused",
            "RPC connections closed on accept because the connection limit was reached",
            rpc_connections_refused.clone(),
        );
        let rpc_connections_timed_out = Counter::default();
        registry.register(
            "rpc_connections_timed_out",
            "RPC connections closed because the client was idle or sent its request head too slowly",
            rpc_connections_timed_out.clone(),
        );
        Self {
            registry,
            height,
            rounds_per_height,
            block_interval,
            commit_latency,
            txs_committed,
            txs_gossip_already_committed,
            mempool_size,
            mempool_bytes,
            peers,
            votes_received,
            catching_up,
            sync_target_height,
            consensus_wired,
            rpc_connections,
            rpc_connections_refused,
            rpc_connections_timed_out,
        }
    }

    /// Counts one received vote.
    pub fn vote_received(&self, kind: VoteKind) {
        let label = match kind {
            VoteKind::Prevote => "prevote",
            VoteKind::Precommit => "precommit",
        };
        self.votes_received.get_or_create(&[("type", label)]).inc();
    }

    /// Renders all metrics in the Prometheus/OpenMetrics text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_named_metrics_are_rendered_with_values() {
        let m = NodeMetrics::new();
        m.height.set(42);
        m.txs_committed.inc_by(7);
        m.vote_received(VoteKind::Precommit);
        m.block_interval.observe(0.08);
        let text = m.render();
        for name in [
            "netwright_height 42",
            "netwright_txs_committed_total 7",
            "netwright_votes_received_total{type=\"precommit\"} 1",
            "netwright_block_interval_seconds_count 1",
            "netwright_rounds_per_height_bucket",
            "netwright_commit_latency_seconds_bucket",
            "netwright_mempool_size 0",
            "netwright_txs_gossip_already_committed_total 0",
            "netwright_peers 0",
            "netwright_catching_up 0",
            "netwright_rpc_connections 0",
            "netwright_rpc_connections_refused_total 0",
            "netwright_rpc_connections_timed_out_total 0",
        ] {
            assert!(text.contains(name), "missing `{name}` in:\n{text}");
        }
        assert!(text.ends_with("# EOF\n"));
    }
}
