//! The thin, async sampler: reads every node's RPC and `/metrics` into a [`Sample`].
//!
//! Per node, all at once and each node bounded by one deadline (a node that does not answer in
//! time, or at all, is in the sample with no metric):
//!
//! - `GET /status`: `height`;
//! - `GET /validators`: `validators_active` (the size of the active set);
//! - `GET /blocks/{height}`: `validators_signing_ratio`, the stake of the active validators
//!   whose precommits are in the commit certificate of the node's latest block over the stake
//!   of the whole active set;
//! - `GET /metrics`: `txs_committed` (`netwright_txs_committed_total`);
//! - `GET /blocks/{height}/txs` of the latest 101 blocks (each read once per run by a
//!   [`Sampler`]): `block_interval_p50_ms`, the lower median of the intervals between their
//!   header times.
//!
//! `relays_served`, `relay_success_ratio`, `slashes_applied` and
//! `servicers_active` are not reported yet (the nodes do not expose them); a gate's `missing`
//! policy decides what that means.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::future::join_all;
use netwright_crds::GateMetric;
use netwright_node_api::client::RpcClient;
use netwright_node_api::rpc::ValidatorView;

use super::sample::{NodeSample, Sample};

/// The Prometheus series of the transactions a node committed.
pub const TXS_COMMITTED_SERIES: &str = "netwright_txs_committed_total";

/// One node to sample: where its RPC listens and what the sample says about it.
#[derive(Debug, Clone)]
pub struct NodeEndpoint {
    /// The node's name.
    pub name: String,
    /// Whether it is a validator.
    pub validator: bool,
    /// Its restart epoch (see [`NodeSample::epoch`]).
    pub epoch: u64,
    /// A client for its RPC.
    pub client: RpcClient,
}

/// How many block intervals `block_interval_p50_ms` is the median of.
pub const BLOCK_INTERVALS: u64 = 100;

/// The header times (milliseconds since the Unix epoch) of a node's latest blocks, by height.
pub type BlockTimes = BTreeMap<u64, u64>;

/// Samples the nodes of one run. It remembers each node's latest block times, so that a
/// sample reads only the blocks committed since the previous one.
#[derive(Debug, Clone, Default)]
pub struct Sampler {
    blocks: BTreeMap<String, BlockTimes>,
}

impl Sampler {
    /// A sampler that has read nothing yet.
    pub fn new() -> Self {
        Sampler::default()
    }

    /// Samples every node in `nodes` at once, each bounded by `deadline`, into a sample taken
    /// `at_ms` into the run. Never fails: what a node does not answer is not reported.
    pub async fn sample(
        &mut self,
        nodes: &[NodeEndpoint],
        at_ms: u64,
        deadline: Duration,
    ) -> Sample {
        let mut times: Vec<BlockTimes> = nodes
            .iter()
            .map(|n| self.blocks.remove(&n.name).unwrap_or_default())
            .collect();
        let reads = nodes
            .iter()
            .zip(times.iter_mut())
            .map(|(node, times)| async move {
                let mut metrics = BTreeMap::new();
                // On timeout, what was read so far stays in `metrics` and `times`.
                let _ =
                    tokio::time::timeout(deadline, read_node(&node.client, &mut metrics, times))
                        .await;
                let sample = NodeSample {
                    validator: node.validator,
                    epoch: node.epoch,
                    metrics,
                };
                (node.name.clone(), sample)
            });
        let mut out = Sample::new(at_ms);
        for (name, node) in join_all(reads).await {
            out.nodes.insert(name, node);
        }
        for (node, times) in nodes.iter().zip(times) {
            self.blocks.insert(node.name.clone(), times);
        }
        out
    }
}

/// Samples every node in `nodes` once (see [`Sampler::sample`]; `block_interval_p50_ms` then
/// needs every block time to be read in this one call).
pub async fn sample(nodes: &[NodeEndpoint], at_ms: u64, deadline: Duration) -> Sample {
    Sampler::new().sample(nodes, at_ms, deadline).await
}

/// Everything one node reports, into `metrics`; a call that fails leaves its metrics out.
async fn read_node(
    client: &RpcClient,
    metrics: &mut BTreeMap<GateMetric, f64>,
    times: &mut BlockTimes,
) {
    let Ok(status) = client.status().await else {
        return;
    };
    metrics.insert(GateMetric::Height, status.height as f64);
    let (validators, block, text) = tokio::join!(
        client.validators(),
        async {
            if status.height == 0 {
                None
            } else {
                client.block(status.height).await.ok()
            }
        },
        metrics_text(client),
    );
    if let Ok(validators) = validators {
        metrics.insert(GateMetric::ValidatorsActive, validators.len() as f64);
        if let Some(ratio) = block
            .as_ref()
            .and_then(|b| signing_ratio(&b.signers, &validators))
        {
            metrics.insert(GateMetric::ValidatorsSigningRatio, ratio);
        }
    }
    if let Some(txs) = text
        .as_deref()
        .and_then(|t| series_value(t, TXS_COMMITTED_SERIES))
    {
        metrics.insert(GateMetric::TxsCommitted, txs);
    }
    let first = status.height.saturating_sub(BLOCK_INTERVALS).max(1);
    times.retain(|&h, _| h >= first && h <= status.height);
    let missing: Vec<u64> = (first..=status.height)
        .filter(|h| !times.contains_key(h))
        .collect();
    let read = join_all(
        missing
            .into_iter()
            .map(|h| async move { client.block_txs(h).await.ok().map(|b| (h, b.time_ms)) }),
    )
    .await;
    times.extend(read.into_iter().flatten());
    if let Some(p50) = interval_p50(times) {
        metrics.insert(GateMetric::BlockIntervalP50Ms, p50);
    }
}

/// The lower median of the intervals between consecutive heights in `times` (a missing
/// height breaks the pair), in milliseconds; `None` without a pair.
pub fn interval_p50(times: &BlockTimes) -> Option<f64> {
    let mut intervals: Vec<u64> = times
        .iter()
        .zip(times.iter().skip(1))
        .filter(|((h, _), (next, _))| **next == **h + 1)
        .map(|((_, t), (_, next))| next.saturating_sub(*t))
        .collect();
    if intervals.is_empty() {
        return None;
    }
    intervals.sort_unstable();
    Some(intervals[(intervals.len() - 1) / 2] as f64)
}

/// Most bytes of a `/metrics` answer read; a larger answer reports no metrics.
const MAX_METRICS_BYTES: usize = 1 << 20;

/// `GET /metrics` as text, within the client's deadline and [`MAX_METRICS_BYTES`]; `None`
/// unless the node answers 2xx with UTF-8 text.
async fn metrics_text(client: &RpcClient) -> Option<String> {
    client
        .clone()
        .with_max_body_bytes(MAX_METRICS_BYTES)
        .get_text("/metrics")
        .await
        .ok()
}

/// The value of the unlabelled series `name` in a Prometheus / OpenMetrics text exposition.
pub fn series_value(text: &str, name: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(name)?;
        let value = rest.strip_prefix(' ')?.split_whitespace().next()?;
        value.parse::<f64>().ok().filter(|v| v.is_finite())
    })
}

/// The share of the active set's power among `signers` (the public keys, hex, of the
/// precommits in a block's commit certificate, as `GET /blocks/{h}` lists them); `None` when
/// the set has no power. Signers outside the set count for nothing.
pub fn signing_ratio(signers: &[String], validators: &[ValidatorView]) -> Option<f64> {
    let total: u128 = validators.iter().map(|v| u128::from(v.power)).sum();
    if total == 0 {
        return None;
    }
    let signed: u128 = validators
        .iter()
        .filter(|v| {
            signers
                .iter()
                .any(|s| s.eq_ignore_ascii_case(&v.public_key))
        })
        .map(|v| u128::from(v.power))
        .sum();
    Some(signed as f64 / total as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validator(key: u8, power: u64) -> ValidatorView {
        ValidatorView {
            address: format!("addr{key}"),
            public_key: hex::encode([key; 32]),
            stake: power,
            power,
        }
    }

    fn signers(keys: &[u8]) -> Vec<String> {
        keys.iter().map(|&k| hex::encode([k; 32])).collect()
    }

    #[test]
    fn the_signing_ratio_is_the_signed_share_of_the_active_power() {
        let set = [
            validator(1, 10),
            validator(2, 10),
            validator(3, 10),
            validator(4, 70),
        ];
        assert_eq!(signing_ratio(&signers(&[1, 2, 3, 4]), &set), Some(1.0));
        assert_eq!(signing_ratio(&signers(&[1, 2, 4]), &set), Some(0.9));
        assert_eq!(signing_ratio(&signers(&[1, 2, 3]), &set), Some(0.3));
        // A signer outside the set counts for nothing; case does not matter.
        assert_eq!(signing_ratio(&signers(&[1, 2, 3, 5]), &set), Some(0.3));
        let upper: Vec<String> = signers(&[0xab]).iter().map(|s| s.to_uppercase()).collect();
        assert_eq!(signing_ratio(&upper, &[validator(0xab, 5)]), Some(1.0));
    }

    #[test]
    fn no_ratio_from_a_powerless_set() {
        assert_eq!(signing_ratio(&signers(&[1]), &[validator(1, 0)]), None);
        assert_eq!(signing_ratio(&signers(&[1]), &[]), None);
        assert_eq!(signing_ratio(&[], &[validator(1, 10)]), Some(0.0));
    }

    #[test]
    fn the_interval_p50_is_the_lower_median_of_consecutive_heights() {
        let times: BlockTimes = [(1, 1_000), (2, 1_100), (3, 1_400), (4, 1_500), (6, 9_000)]
            .into_iter()
            .collect();
        // Intervals 100, 300, 100 (5 is missing: 4 -> 6 is no interval): lower median 100.
        assert_eq!(interval_p50(&times), Some(100.0));
        let even: BlockTimes = [(1, 0), (2, 100), (3, 400)].into_iter().collect();
        assert_eq!(interval_p50(&even), Some(100.0), "lower of 100 and 300");
        assert_eq!(interval_p50(&[(7, 5)].into_iter().collect()), None);
        assert_eq!(interval_p50(&BlockTimes::new()), None);
    }

    #[test]
    fn series_values_are_read_by_exact_name() {
        let text = "# HELP netwright_txs_committed Transactions committed\n\
                    # TYPE netwright_txs_committed counter\n\
                    netwright_txs_committed_total_other 5\n\
                    netwright_txs_committed_total 42\n\
                    netwright_height 9\n# EOF\n";
        assert_eq!(series_value(text, TXS_COMMITTED_SERIES), Some(42.0));
        assert_eq!(series_value(text, "netwright_height"), Some(9.0));
        assert_eq!(series_value(text, "netwright_peers"), None);
        assert_eq!(
            series_value("netwright_height NaN\n", "netwright_height"),
            None
        );
    }

    #[tokio::test]
    async fn a_node_that_does_not_answer_is_in_the_sample_without_metrics() {
        // A port nothing listens on: bound, then closed.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        drop(listener);
        let client = RpcClient::new(&format!("http://127.0.0.1:{port}")).expect("client");
        let nodes = [NodeEndpoint {
            name: "validator-0".into(),
            validator: true,
            epoch: 3,
            client,
        }];
        let sample = sample(&nodes, 250, Duration::from_secs(2)).await;
        assert_eq!(sample.at_ms, 250);
        let node = &sample.nodes["validator-0"];
        assert!(node.validator);
        assert_eq!(node.epoch, 3);
        assert!(node.metrics.is_empty());
    }
}
