//! `docs/spec.md` is generated from the schema and must match it.

mod common;

#[test]
fn spec_reference_is_current() {
    let generated = netwright_crds::reference::render().expect("reference renders");
    common::check_generated("docs/spec.md", &generated);
}

#[test]
fn reference_documents_every_field_and_metric() {
    let text = netwright_crds::reference::render().expect("reference renders");
    for field in [
        "`spec.chainId`",
        "`spec.validators.members[].stake`",
        "`spec.relayChains[].managed.anvil.blockTime`",
        "`spec.gates[].conditions[].metric`",
        "`spec.kubernetes.podAnnotations`",
        "`spec.paused`",
    ] {
        assert!(text.contains(field), "missing {field}");
    }
    for metric in netwright_crds::GateMetric::ALL {
        assert!(
            text.contains(&format!("| `{}` |", metric.name())),
            "missing metric {metric}"
        );
    }
}
