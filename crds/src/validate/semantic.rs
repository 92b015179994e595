//! Checks that need more than one field: unique names, references, stakes against minimums,
//! gate dependencies, timings. Each CEL rule of the CRD has its counterpart here, so a document
//! that passes here also passes admission.

use std::collections::{BTreeMap, HashMap};

use super::names::{is_dns_label, parse_quantity, valid_chain_id, valid_method, valid_url};
use super::report::{Path, Sink};
use crate::duration::Duration;
use crate::effective::{effective_spec, EffectiveSpec};
use crate::metrics::MetricKind;
use crate::spec::{ConditionMode, Expectation, GateSpec, NetworkSpec, RelayChainSpec};

/// Shortest accepted block interval and round timeout.
const MIN_TIMEOUT: Duration = Duration::from_millis(10);
/// Longest accepted block interval and round timeout.
const MAX_TIMEOUT: Duration = Duration::from_secs(600);

/// Runs every semantic check of `spec`, written at `spec` in the document behind `sink`.
pub fn check(spec: &NetworkSpec, sink: &mut Sink<'_>) {
    let base = Path::root().key("spec");
    let eff = effective_spec(spec);
    check_identity(spec, &base, sink);
    check_consensus(&eff, spec, &base, sink);
    let chain_ids = check_relay_chains(spec, &base, sink);
    check_validators(spec, &eff, &base, sink);
    check_servicers_and_fishermen(spec, &eff, &chain_ids, &base, sink);
    check_applications(spec, &eff, &chain_ids, &base, sink);
    check_gates(spec, &base, sink);
    check_kubernetes(spec, &base, sink);
}

fn check_identity(spec: &NetworkSpec, base: &Path, sink: &mut Sink<'_>) {
    if !spec.chain_id.is_empty() && !valid_chain_id(&spec.chain_id) {
        sink.error(
            &base.key("chainId"),
            format!(
                "invalid chain id {:?}: use letters, digits, '-', '_' and '.'",
                spec.chain_id
            ),
        );
    }
    if let Some(image) = &spec.image {
        if image.chars().any(char::is_whitespace) {
            sink.error(
                &base.key("image"),
                "an image reference cannot contain whitespace",
            );
        }
    }
}

fn check_consensus(eff: &EffectiveSpec, spec: &NetworkSpec, base: &Path, sink: &mut Sink<'_>) {
    let consensus = base.key("consensus");
    let timeouts = consensus.key("timeouts");
    let c = &eff.consensus;
    let declared = spec.consensus.as_ref();
    let declared_timeouts = declared.and_then(|d| d.timeouts.as_ref());
    let mut bounded = |path: Path, value: Duration, present: bool, min: Duration| {
        if present && (value < min || value > MAX_TIMEOUT) {
            sink.error(
                &path,
                format!("{value} is outside the sensible range {min} to {MAX_TIMEOUT}"),
            );
        }
    };
    bounded(
        consensus.key("blockInterval"),
        c.block_interval,
        declared.is_some_and(|d| d.block_interval.is_some()),
        MIN_TIMEOUT,
    );
    bounded(
        timeouts.key("propose"),
        c.propose,
        declared_timeouts.is_some_and(|t| t.propose.is_some()),
        MIN_TIMEOUT,
    );
    bounded(
        timeouts.key("prevote"),
        c.prevote,
        declared_timeouts.is_some_and(|t| t.prevote.is_some()),
        MIN_TIMEOUT,
    );
    bounded(
        timeouts.key("precommit"),
        c.precommit,
        declared_timeouts.is_some_and(|t| t.precommit.is_some()),
        MIN_TIMEOUT,
    );
    bounded(
        timeouts.key("commit"),
        c.commit,
        declared_timeouts.is_some_and(|t| t.commit.is_some()),
        Duration::from_millis(0),
    );
    if c.propose < c.prevote {
        sink.warn(
            &timeouts.key("propose"),
            format!(
                "propose timeout {} is shorter than the prevote timeout {}: proposals from slower validators will be skipped",
                c.propose, c.prevote
            ),
        );
    }
}

/// Checks relay chains; returns the declared ids.
fn check_relay_chains(spec: &NetworkSpec, base: &Path, sink: &mut Sink<'_>) -> Vec<String> {
    let list = base.key("relayChains");
    let chains = spec.relay_chains.as_deref().unwrap_or_default();
    unique(
        sink,
        chains
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id.as_str(), list.index(i).key("id"))),
        "relay chain id",
    );
    for (i, chain) in chains.iter().enumerate() {
        check_relay_chain(chain, &list.index(i), sink);
    }
    chains.iter().map(|c| c.id.clone()).collect()
}

fn check_relay_chain(chain: &RelayChainSpec, path: &Path, sink: &mut Sink<'_>) {
    if chain.id.len() == 4 && !chain.id.chars().all(|c| c.is_ascii_hexdigit()) {
        sink.error(
            &path.key("id"),
            format!(
                "relay chain id {:?} must be four hexadecimal digits, such as \"0021\"",
                chain.id
            ),
        );
    }
    match (&chain.endpoint, &chain.managed) {
        (Some(_), Some(_)) => sink.error(path, "set exactly one of endpoint or managed, not both"),
        (None, None) => sink.error(path, "set exactly one of endpoint or managed"),
        (Some(endpoint), None) => {
            if let Err(reason) = valid_url(&endpoint.url) {
                sink.error(
                    &path.key("endpoint").key("url"),
                    format!("invalid URL {:?}: {reason}", endpoint.url),
                );
            }
        }
        (None, Some(_)) => {}
    }
    let methods = path.key("allowedMethods");
    unique(
        sink,
        chain
            .allowed_methods
            .iter()
            .enumerate()
            .map(|(i, m)| (m.as_str(), methods.index(i))),
        "method",
    );
    for (i, method) in chain.allowed_methods.iter().enumerate() {
        if !valid_method(method) {
            sink.error(
                &methods.index(i),
                format!("{method:?} is not a JSON-RPC method name (letters, digits and '_')"),
            );
        }
    }
}

fn check_validators(spec: &NetworkSpec, eff: &EffectiveSpec, base: &Path, sink: &mut Sink<'_>) {
    let path = base.key("validators");
    let min = eff.economics.min_stake_validator;
    if let Some(v) = &spec.validators {
        match (v.replicas, &v.members) {
            (Some(_), Some(_)) => {
                sink.error(&path, "set exactly one of replicas or members, not both")
            }
            (None, None) => sink.error(&path, "set exactly one of replicas or members"),
            _ => {}
        }
        if let Some(stake) = v.stake {
            below_minimum(sink, &path.key("stake"), stake, min, "validator");
        }
        let members = path.key("members");
        for (i, member) in v.members.iter().flatten().enumerate() {
            let at = members.index(i);
            dns_label(sink, &at.key("name"), &member.name);
            if let Some(stake) = member.stake {
                below_minimum(sink, &at.key("stake"), stake, min, "validator");
            }
        }
        unique(
            sink,
            v.members
                .iter()
                .flatten()
                .enumerate()
                .map(|(i, m)| (m.name.as_str(), members.index(i).key("name"))),
            "validator name",
        );
    }
    let count = eff.validators.len();
    if count > 0 && count < 4 {
        sink.warn(
            &path,
            format!(
                "{count} validator(s) cannot tolerate a faulty validator: BFT consensus needs at least 4"
            ),
        );
    }
    let total: u128 = eff.validators.iter().map(|v| u128::from(v.stake)).sum();
    if count >= 4 && total > 0 {
        for (i, member) in eff.validators.iter().enumerate() {
            if u128::from(member.stake) * 3 >= total {
                let at = if spec
                    .validators
                    .as_ref()
                    .is_some_and(|v| v.members.is_some())
                {
                    path.key("members").index(i).key("stake")
                } else {
                    path.clone()
                };
                sink.warn(
                    &at,
                    format!(
                        "validator {:?} holds at least a third of the stake: on its own it can halt the chain",
                        member.name
                    ),
                );
            }
        }
    }
}

fn check_servicers_and_fishermen(
    spec: &NetworkSpec,
    eff: &EffectiveSpec,
    chain_ids: &[String],
    base: &Path,
    sink: &mut Sink<'_>,
) {
    let path = base.key("servicers");
    if let Some(s) = &spec.servicers {
        if let Some(stake) = s.stake {
            below_minimum(
                sink,
                &path.key("stake"),
                stake,
                eff.economics.min_stake_servicer,
                "servicer",
            );
        }
        if let Some(chains) = &s.chains {
            references(sink, &path.key("chains"), chains, chain_ids);
        }
    }
    if eff.servicers.replicas > 0 && eff.servicers.chains.is_empty() {
        sink.error(
            &path,
            "servicers need at least one relay chain: declare spec.relayChains",
        );
    }
    if eff.servicers.replicas > 0 {
        for (i, id) in chain_ids.iter().enumerate() {
            if !eff.servicers.chains.contains(id) {
                sink.warn(
                    &base.key("relayChains").index(i).key("id"),
                    format!("no servicer relays chain {id:?}"),
                );
            }
        }
    } else if !chain_ids.is_empty() {
        sink.warn(
            &base.key("relayChains"),
            "relay chains are declared but there are no servicers",
        );
    }
    if let Some(stake) = spec.fishermen.as_ref().and_then(|f| f.stake) {
        below_minimum(
            sink,
            &base.key("fishermen").key("stake"),
            stake,
            eff.economics.min_stake_fisherman,
            "fisherman",
        );
    }
}

fn check_applications(
    spec: &NetworkSpec,
    eff: &EffectiveSpec,
    chain_ids: &[String],
    base: &Path,
    sink: &mut Sink<'_>,
) {
    let list = base.key("applications");
    let apps = spec.applications.as_deref().unwrap_or_default();
    for (i, app) in apps.iter().enumerate() {
        let at = list.index(i);
        dns_label(sink, &at.key("name"), &app.name);
        if let Some(stake) = app.stake {
            below_minimum(
                sink,
                &at.key("stake"),
                stake,
                eff.economics.min_stake_application,
                "application",
            );
        }
        if let Some(chains) = &app.chains {
            references(sink, &at.key("chains"), chains, chain_ids);
        } else if chain_ids.is_empty() {
            sink.error(
                &at,
                "the application has no relay chain to use: declare spec.relayChains",
            );
        }
    }
    unique(
        sink,
        apps.iter()
            .enumerate()
            .map(|(i, a)| (a.name.as_str(), list.index(i).key("name"))),
        "application name",
    );
}

fn check_gates(spec: &NetworkSpec, base: &Path, sink: &mut Sink<'_>) {
    let list = base.key("gates");
    let gates = spec.gates.as_deref().unwrap_or_default();
    unique(
        sink,
        gates
            .iter()
            .enumerate()
            .map(|(i, g)| (g.name.as_str(), list.index(i).key("name"))),
        "gate name",
    );
    let names: Vec<String> = gates.iter().map(|g| g.name.clone()).collect();
    for (i, gate) in gates.iter().enumerate() {
        check_gate(gate, &names, &list.index(i), sink);
    }
    if let Some(cycle) = find_cycle(gates) {
        let first = cycle.first().copied().unwrap_or(0);
        let names: Vec<&str> = cycle.iter().map(|&i| gates[i].name.as_str()).collect();
        sink.error(
            &list.index(first).key("after"),
            format!("gate dependencies form a cycle: {}", names.join(" -> ")),
        );
    }
}

fn check_gate(gate: &GateSpec, names: &[String], path: &Path, sink: &mut Sink<'_>) {
    dns_label(sink, &path.key("name"), &gate.name);
    let after = path.key("after");
    for (i, dep) in gate.after.iter().flatten().enumerate() {
        if *dep == gate.name {
            sink.error(
                &after.index(i),
                format!("gate {dep:?} cannot come after itself"),
            );
        } else if !names.contains(dep) {
            sink.error(
                &after.index(i),
                format!("unknown gate {dep:?}{}", suggestion(dep, names)),
            );
        }
    }
    unique(
        sink,
        gate.after
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, d)| (d.as_str(), after.index(i))),
        "dependency",
    );
    if let (Some(within), Some(hold)) = (gate.within, gate.hold_for) {
        if hold > within {
            sink.error(
                &path.key("holdFor"),
                format!("soak time {hold} is longer than the deadline {within}: the gate can never pass"),
            );
        }
    }
    if gate.expect == Some(Expectation::Fail) {
        if gate.within.is_none() {
            sink.error(
                &path.key("expect"),
                "expect: fail needs a deadline (within): without one the expected failure can never be observed",
            );
        }
        if gate.on_violation.is_some() {
            sink.warn(
                &path.key("onViolation"),
                "an expected-failure gate is not watched after it passes: onViolation has no effect",
            );
        }
    }
    let conditions = path.key("conditions");
    for (i, c) in gate.conditions.iter().enumerate() {
        let at = conditions.index(i);
        match (c.gte, c.lte, c.eq) {
            (None, None, None) => sink.error(&at, "set gte, lte or eq"),
            (_, _, Some(_)) if c.gte.is_some() || c.lte.is_some() => {
                sink.error(&at.key("eq"), "eq cannot be combined with gte or lte")
            }
            (Some(lo), Some(hi), None) if lo > hi => sink.error(
                &at.key("gte"),
                format!("gte {lo} exceeds lte {hi}: the condition can never hold"),
            ),
            _ => {}
        }
        let delta = c.mode == Some(ConditionMode::Delta);
        for (key, value) in [("gte", c.gte), ("lte", c.lte), ("eq", c.eq)] {
            let Some(value) = value else { continue };
            if delta {
                // A change: it may be negative, a ratio changes by at most 1 either way.
                match c.metric.kind() {
                    MetricKind::Ratio if !(-1.0..=1.0).contains(&value) => sink.error(
                        &at.key(key),
                        format!(
                            "{} is a ratio: its change lies between -1 and 1, found {value}",
                            c.metric
                        ),
                    ),
                    MetricKind::Count if value.fract() != 0.0 => sink.error(
                        &at.key(key),
                        format!("{} changes by whole numbers, found {value}", c.metric),
                    ),
                    _ => {}
                }
                continue;
            }
            match c.metric.kind() {
                MetricKind::Ratio if !(0.0..=1.0).contains(&value) => sink.error(
                    &at.key(key),
                    format!("{} is a ratio between 0 and 1, found {value}", c.metric),
                ),
                MetricKind::Count | MetricKind::Milliseconds if value < 0.0 => sink.error(
                    &at.key(key),
                    format!("{} is never negative, found {value}", c.metric),
                ),
                MetricKind::Count if value.fract() != 0.0 => sink.error(
                    &at.key(key),
                    format!("{} is a whole number, found {value}", c.metric),
                ),
                _ => {}
            }
        }
    }
}

/// Returns the indices of gates forming a dependency cycle, in order, if any.
fn find_cycle(gates: &[GateSpec]) -> Option<Vec<usize>> {
    let index: HashMap<&str, usize> = gates
        .iter()
        .enumerate()
        .map(|(i, g)| (g.name.as_str(), i))
        .collect();
    let edges: Vec<Vec<usize>> = gates
        .iter()
        .map(|g| {
            g.after
                .iter()
                .flatten()
                .filter_map(|d| index.get(d.as_str()).copied())
                .collect()
        })
        .collect();
    // 0 = unvisited, 1 = on the current path, 2 = done. Iterative depth-first search.
    let mut state = vec![0u8; gates.len()];
    for start in 0..gates.len() {
        if state[start] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        state[start] = 1;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            if let Some(&dep) = edges[node].get(*next) {
                *next += 1;
                match state[dep] {
                    0 => {
                        state[dep] = 1;
                        stack.push((dep, 0));
                    }
                    1 => {
                        let from = stack.iter().position(|&(n, _)| n == dep).unwrap_or(0);
                        let mut cycle: Vec<usize> = stack[from..].iter().map(|&(n, _)| n).collect();
                        cycle.push(dep);
                        return Some(cycle);
                    }
                    _ => {}
                }
            } else {
                state[node] = 2;
                stack.pop();
            }
        }
    }
    None
}

fn check_kubernetes(spec: &NetworkSpec, base: &Path, sink: &mut Sink<'_>) {
    let Some(k) = &spec.kubernetes else { return };
    let path = base.key("kubernetes");
    let resources = path.key("resources");
    let mut parsed: BTreeMap<(&str, &str), f64> = BTreeMap::new();
    if let Some(r) = &k.resources {
        for (section, list) in [("requests", &r.requests), ("limits", &r.limits)] {
            let Some(list) = list else { continue };
            for (name, value) in [("cpu", &list.cpu), ("memory", &list.memory)] {
                let Some(value) = value else { continue };
                match parse_quantity(value) {
                    Ok(q) => {
                        parsed.insert((section, name), q);
                    }
                    Err(reason) => sink.error(
                        &resources.key(section).key(name),
                        format!("invalid quantity {value:?}: {reason}"),
                    ),
                }
            }
        }
    }
    for name in ["cpu", "memory"] {
        if let (Some(req), Some(lim)) = (
            parsed.get(&("requests", name)),
            parsed.get(&("limits", name)),
        ) {
            if req > lim {
                sink.error(
                    &resources.key("requests").key(name),
                    format!("the {name} request exceeds the {name} limit"),
                );
            }
        }
    }
    if let Some(size) = k.storage.as_ref().and_then(|s| s.size.as_ref()) {
        if let Err(reason) = parse_quantity(size) {
            sink.error(
                &path.key("storage").key("size"),
                format!("invalid quantity {size:?}: {reason}"),
            );
        }
    }
    for key in k.pod_annotations.iter().flatten().map(|(k, _)| k) {
        if key.is_empty() || key.len() > 316 || key.chars().any(|c| c.is_whitespace()) {
            sink.error(
                &path.key("podAnnotations").key(key),
                format!("invalid annotation key {key:?}"),
            );
        }
    }
}

fn below_minimum(sink: &mut Sink<'_>, path: &Path, stake: u64, min: u64, role: &str) {
    if stake < min {
        sink.error(
            path,
            format!("stake {stake} is below the minimum {role} stake {min} (economics.minimumStakes.{role})"),
        );
    }
}

fn dns_label(sink: &mut Sink<'_>, path: &Path, name: &str) {
    if !name.is_empty() && !is_dns_label(name) {
        sink.error(
            path,
            format!("{name:?} is not a DNS label: use lowercase letters, digits and '-', starting and ending with a letter or digit"),
        );
    }
}

fn references(sink: &mut Sink<'_>, path: &Path, used: &[String], declared: &[String]) {
    for (i, id) in used.iter().enumerate() {
        if !declared.contains(id) {
            sink.error(
                &path.index(i),
                format!(
                    "relay chain {id:?} is not declared in spec.relayChains{}",
                    suggestion(id, declared)
                ),
            );
        }
    }
    unique(
        sink,
        used.iter()
            .enumerate()
            .map(|(i, c)| (c.as_str(), path.index(i))),
        "chain",
    );
}

fn suggestion(word: &str, known: &[String]) -> String {
    let known: Vec<&str> = known.iter().map(String::as_str).collect();
    match super::schema::closest(word, &known) {
        Some(best) => format!("; did you mean {best:?}?"),
        None if known.is_empty() => String::new(),
        None => format!(" (declared: {})", known.join(", ")),
    }
}

fn unique<'n>(sink: &mut Sink<'_>, items: impl Iterator<Item = (&'n str, Path)>, what: &str) {
    let mut seen: HashMap<&str, Path> = HashMap::new();
    for (name, path) in items {
        match seen.get(name) {
            Some(first) => {
                let where_first = sink
                    .line_of(first)
                    .map(|l| format!(" (first at line {l})"))
                    .unwrap_or_default();
                sink.error(&path, format!("duplicate {what} {name:?}{where_first}"));
            }
            None => {
                seen.insert(name, path);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gates(edges: &[(&str, &[&str])]) -> Vec<GateSpec> {
        edges
            .iter()
            .map(|(name, after)| {
                serde_json::from_value(serde_json::json!({
                    "name": name,
                    "conditions": [{"metric": "height", "gte": 1}],
                    "after": after,
                }))
                .expect("gate deserializes")
            })
            .collect()
    }

    #[test]
    fn finds_cycles_and_accepts_dags() {
        assert_eq!(
            find_cycle(&gates(&[("a", &[]), ("b", &["a"]), ("c", &["a", "b"])])),
            None
        );
        let cycle = find_cycle(&gates(&[("a", &["c"]), ("b", &["a"]), ("c", &["b"])]))
            .expect("cycle found");
        assert_eq!(cycle.first(), cycle.last());
        assert_eq!(cycle.len(), 4);
    }
}
