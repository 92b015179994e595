//! The field reference (`docs/spec.md`), generated from the CRD schema, the profile defaults
//! and the metric list, so that it cannot drift from the code.

use std::fmt::Write as _;

use serde_json::Value as J;

use crate::crd::{openapi_schema, CrdError};
use crate::defaults::{anvil, defaults, Defaults, DEFAULT_IMAGE};
use crate::metrics::{GateMetric, MetricKind};
use crate::profile::Profile;

/// Renders `docs/spec.md`.
pub fn render() -> Result<String, CrdError> {
    let schema = openapi_schema()?;
    let spec = schema
        .pointer("/properties/spec")
        .ok_or(CrdError::NoSchema)?;
    let mut out = String::new();
    out.push_str(INTRO);
    out.push_str("## Fields\n\n");
    out.push_str("| Field | Type | Required | Constraints | Description |\n");
    out.push_str("| --- | --- | --- | --- | --- |\n");
    let mut rules = Vec::new();
    fields(spec, "spec", &mut out, &mut rules);
    out.push_str("\n## Rules checked at admission (CEL)\n\n");
    out.push_str("The API server enforces these `x-kubernetes-validations`; `netwright validate` runs the same checks in Rust, plus those listed under [Semantic checks](#semantic-checks).\n\n");
    out.push_str("| Field | Rule | Message |\n| --- | --- | --- |\n");
    for (path, rule, message) in &rules {
        let _ = writeln!(out, "| `{path}` | `{}` | {} |", cell(rule), cell(message));
    }
    out.push_str(&profiles_table());
    out.push_str(&metrics_table());
    out.push_str(SEMANTIC);
    Ok(out)
}

const INTRO: &str = "<!-- Generated from the Rust types by `NETWRIGHT_BLESS=1 cargo test -p netwright-crds --test reference`. Do not edit by hand. -->\n\
# The `Network` spec\n\n\
A network is one YAML document:\n\n\
```yaml\n\
apiVersion: netwright.dev/v1alpha1\n\
kind: Network\n\
metadata:\n  name: localnet          # a DNS label\n\
spec:\n  chainId: netwright-localnet-1\n  profile: localnet\n  # ... the fields below\n\
```\n\n\
Resource: group `netwright.dev`, version `v1alpha1`, kind `Network`, namespaced, short name `net`, \
with the status subresource and the scale subresource on `spec.validators.replicas`.\n\n\
Conventions:\n\n\
- Field names are camelCase; unknown fields are errors.\n\
- Stakes and rewards are unsigned integers in the smallest unit of the token.\n\
- Durations are strings of `<number><unit>` groups with units `ms`, `s`, `m`, `h` (`\"500ms\"`, `\"30s\"`, `\"1m30s\"`); no fractions, no spaces, at most 30 days.\n\
- A field left out takes the default of the `profile` (see [Defaults per profile](#defaults-per-profile)); `profile` changes nothing else.\n\
- In paths, `[]` stands for every item of a list.\n\n";

fn fields(schema: &J, path: &str, out: &mut String, rules: &mut Vec<(String, String, String)>) {
    collect_rules(schema, path, rules);
    let Some(props) = schema.get("properties").and_then(J::as_object) else {
        return;
    };
    let required: Vec<&str> = schema
        .get("required")
        .and_then(J::as_array)
        .map(|r| r.iter().filter_map(J::as_str).collect())
        .unwrap_or_default();
    for (name, sub) in props {
        let child = format!("{path}.{name}");
        let _ = writeln!(
            out,
            "| `{child}` | {} | {} | {} | {} |",
            type_of(sub),
            if required.contains(&name.as_str()) {
                "yes"
            } else {
                ""
            },
            cell(&constraints(sub)),
            cell(
                sub.get("description")
                    .and_then(J::as_str)
                    .unwrap_or_default()
            ),
        );
        match sub.get("type").and_then(J::as_str) {
            Some("object") => fields(sub, &child, out, rules),
            Some("array") => {
                collect_rules(sub, &child, rules);
                if let Some(items) = sub.get("items") {
                    fields(items, &format!("{child}[]"), out, rules);
                }
            }
            _ => collect_rules(sub, &child, rules),
        }
    }
}

fn collect_rules(schema: &J, path: &str, rules: &mut Vec<(String, String, String)>) {
    for rule in schema
        .get("x-kubernetes-validations")
        .and_then(J::as_array)
        .into_iter()
        .flatten()
    {
        let text = rule.get("rule").and_then(J::as_str).unwrap_or_default();
        let message = rule.get("message").and_then(J::as_str).unwrap_or_default();
        let entry = (path.to_owned(), text.to_owned(), message.to_owned());
        if !rules.contains(&entry) {
            rules.push(entry);
        }
    }
}

fn type_of(schema: &J) -> String {
    let base = schema.get("type").and_then(J::as_str).unwrap_or("any");
    match (base, schema.get("format").and_then(J::as_str)) {
        ("string", Some("duration")) => "duration".into(),
        ("integer", Some("uint64" | "uint32")) => "unsigned integer".into(),
        ("number", _) => "number".into(),
        ("array", _) => {
            let item = schema
                .get("items")
                .map(type_of)
                .unwrap_or_else(|| "any".into());
            format!("list of {item}")
        }
        ("object", _) if schema.get("additionalProperties").is_some() => "map of string".into(),
        (other, _) => other.into(),
    }
}

fn constraints(schema: &J) -> String {
    let mut parts = Vec::new();
    let num = |key: &str| schema.get(key).and_then(J::as_f64);
    match (num("minimum"), num("maximum")) {
        (Some(lo), Some(hi)) => parts.push(format!("{} to {}", show(lo), show(hi))),
        (Some(lo), None) if lo > 0.0 => parts.push(format!(">= {}", show(lo))),
        (None, Some(hi)) => parts.push(format!("<= {}", show(hi))),
        _ => {}
    }
    match (num("minLength"), num("maxLength")) {
        (Some(lo), Some(hi)) if lo == hi => parts.push(format!("exactly {} chars", show(lo))),
        (Some(lo), Some(hi)) => parts.push(format!("{} to {} chars", show(lo), show(hi))),
        (None, Some(hi)) => parts.push(format!("at most {} chars", show(hi))),
        _ => {}
    }
    match (num("minItems"), num("maxItems")) {
        (Some(lo), Some(hi)) => parts.push(format!("{} to {} items", show(lo), show(hi))),
        (None, Some(hi)) => parts.push(format!("at most {} items", show(hi))),
        _ => {}
    }
    if let Some(values) = schema.get("enum").and_then(J::as_array) {
        let names: Vec<String> = values
            .iter()
            .filter_map(J::as_str)
            .map(|v| format!("`{v}`"))
            .collect();
        parts.push(format!("one of {}", names.join(", ")));
    }
    match schema.get("x-kubernetes-list-type").and_then(J::as_str) {
        Some("set") => parts.push("unique items".into()),
        Some("map") => {
            let keys: Vec<&str> = schema
                .get("x-kubernetes-list-map-keys")
                .and_then(J::as_array)
                .map(|k| k.iter().filter_map(J::as_str).collect())
                .unwrap_or_default();
            parts.push(format!("unique `{}`", keys.join("`, `")));
        }
        _ => {}
    }
    parts.join("; ")
}

fn show(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        let n = x as i64;
        let digits = n.abs().to_string();
        let mut grouped = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(c);
        }
        if n < 0 {
            format!("-{grouped}")
        } else {
            grouped
        }
    } else {
        x.to_string()
    }
}

fn cell(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

/// A row of the defaults table: the field and how to read its default.
type DefaultRow = (&'static str, fn(&Defaults) -> String);

fn profiles_table() -> String {
    let rows: [DefaultRow; 26] = [
        ("consensus.blockInterval", |d| d.block_interval.to_string()),
        ("consensus.timeouts.propose", |d| {
            d.timeout_propose.to_string()
        }),
        ("consensus.timeouts.prevote", |d| {
            d.timeout_prevote.to_string()
        }),
        ("consensus.timeouts.precommit", |d| {
            d.timeout_precommit.to_string()
        }),
        ("consensus.timeouts.commit", |d| {
            d.timeout_commit.to_string()
        }),
        ("consensus.maxBlockBytes", |d| {
            show(d.max_block_bytes as f64)
        }),
        ("consensus.maxTxsPerBlock", |d| {
            show(d.max_txs_per_block as f64)
        }),
        ("validators.replicas (when `validators` is left out)", |d| {
            d.validator_replicas.to_string()
        }),
        ("economics.sessionBlocks", |d| d.session_blocks.to_string()),
        ("economics.rewardPerRelay", |d| {
            show(d.reward_per_relay as f64)
        }),
        ("economics.servicersPerSession", |d| {
            d.servicers_per_session.to_string()
        }),
        ("economics.sessionGraceBlocks", |d| {
            d.session_grace_blocks.to_string()
        }),
        ("economics.relaysPerStake", |d| {
            show(d.relays_per_stake as f64)
        }),
        ("economics.jailBlocks", |d| show(d.jail_blocks as f64)),
        ("economics.maxDelegatedGateways", |d| {
            d.max_delegated_gateways.to_string()
        }),
        ("economics.slashFractions.doubleSign", |d| {
            d.slash_double_sign.to_string()
        }),
        ("economics.slashFractions.downtime", |d| {
            d.slash_downtime.to_string()
        }),
        ("economics.slashFractions.relayFault", |d| {
            d.slash_relay_fault.to_string()
        }),
        ("economics.unbondingBlocks", |d| {
            show(d.unbonding_blocks as f64)
        }),
        (
            "economics.minimumStakes.validator (and default validator stake)",
            |d| show(d.min_stake_validator as f64),
        ),
        (
            "economics.minimumStakes.servicer (and default servicer stake)",
            |d| show(d.min_stake_servicer as f64),
        ),
        (
            "economics.minimumStakes.fisherman (and default fisherman stake)",
            |d| show(d.min_stake_fisherman as f64),
        ),
        (
            "economics.minimumStakes.application (and default application stake)",
            |d| show(d.min_stake_application as f64),
        ),
        ("kubernetes.storage.size", |d| d.storage_size.to_owned()),
        ("kubernetes.resources.requests.cpu", |d| {
            d.request_cpu.to_owned()
        }),
        ("kubernetes.resources.requests.memory", |d| {
            d.request_memory.to_owned()
        }),
    ];
    let all: Vec<Defaults> = Profile::ALL.iter().map(|p| defaults(*p)).collect();
    let mut out = String::from("\n## Defaults per profile\n\n`profile` defaults to `localnet`.\n\n| Field | localnet | devnet | testnet |\n| --- | --- | --- | --- |\n");
    for (field, get) in rows {
        let cells: Vec<String> = all.iter().map(get).collect();
        let _ = writeln!(out, "| `{field}` | {} |", cells.join(" | "));
    }
    let _ = write!(
        out,
        "\nSame for every profile:\n\n\
         - `image`: `{DEFAULT_IMAGE}`;\n\
         - `paused`: false; `servicers.replicas` and `fishermen.replicas`: 0;\n\
         - `servicers.chains` and `applications[].chains`: every declared relay chain;\n\
         - `validators.members[].stake`: `validators.stake`, else the minimum validator stake;\n\
         - `gates[].holdFor`: `0s`; `gates[].within`: no deadline; `gates[].onViolation`: `halt`; `gates[].missing`: `wait`; `gates[].expect`: `pass`; `gates[].conditions[].mode`: `absolute`;\n\
         - `relayChains[].managed.anvil`: chainId {}, blockTime {}, accounts {};\n\
         - `kubernetes.resources.limits`: none; `kubernetes.storage.storageClassName`: the cluster default.\n",
        anvil::CHAIN_ID,
        anvil::BLOCK_TIME,
        anvil::ACCOUNTS
    );
    out
}

fn metrics_table() -> String {
    let mut out = String::from("\n## Gate metrics\n\nThe closed list of metrics a gate condition may name (`gates[].conditions[].metric`). Each node reports its own value; a condition tests the network's figure, made by the rule in the last column ([docs/gates.md](gates.md) explains the rules).\n\n| Metric | Kind | Meaning | Network figure |\n| --- | --- | --- | --- |\n");
    for metric in GateMetric::ALL {
        let kind = match metric.kind() {
            MetricKind::Count => "count (whole, >= 0)",
            MetricKind::Ratio => "ratio (0 to 1)",
            MetricKind::Milliseconds => "milliseconds (>= 0)",
        };
        let _ = writeln!(
            out,
            "| `{}` | {kind} | {} | {} |",
            metric.name(),
            metric.description(),
            metric.aggregation().rule()
        );
    }
    out
}

const SEMANTIC: &str = "\n## Semantic checks\n\n\
Beyond the schema, `netwright validate` checks (errors unless marked as warnings):\n\n\
- `metadata.name` (and `metadata.namespace`) are DNS labels; `apiVersion` and `kind` are exact;\n\
- `chainId` uses letters, digits, `-`, `_`, `.`; `image` has no whitespace;\n\
- block interval and round timeouts lie between 10ms and 10m (commit: 0s to 10m); warning when the propose timeout is shorter than the prevote timeout;\n\
- exactly one of `validators.replicas` and `validators.members`; validator, application and gate names are DNS labels and unique; relay chain ids are four hex digits and unique;\n\
- every stake is at least the minimum stake of its role;\n\
- warning: fewer than 4 validators (no fault tolerance); warning: one validator holding a third of the stake or more;\n\
- exactly one of `endpoint` and `managed` per relay chain; endpoint URLs are `http(s)://` with a host; allowed methods are unique JSON-RPC names;\n\
- every chain named by servicers or applications is declared; servicers exist only with at least one relay chain; warning: a chain no servicer relays, or relay chains without servicers;\n\
- gate conditions have `gte`, `lte` or `eq` (`eq` alone); `gte` <= `lte`; ratio thresholds lie in 0..1, counts are whole and non-negative; in `delta` mode thresholds are changes: ratio changes lie in -1..1, count changes are whole, either may be negative; `holdFor` <= `within`;\n\
- `expect: fail` needs `within`; warning: `onViolation` on an `expect: fail` gate (it is not watched after it passes);\n\
- gate `after` names other declared gates, without duplicates, and the dependencies are acyclic;\n\
- Kubernetes quantities parse, and requests do not exceed limits;\n\
- warning: `status` in a file is ignored.\n";
