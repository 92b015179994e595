//! Every example validates, and each declares what it says it declares.

mod common;

use netwright_crds::effective::RelaySource;
use netwright_crds::validate::validate_source;
use netwright_crds::{effective_spec, EffectiveSpec};

fn load(name: &str) -> (EffectiveSpec, usize) {
    let path = common::repo_root().join("examples").join(name);
    let text = std::fs::read_to_string(&path).expect("example exists");
    let reports = validate_source(&text).expect("validation runs");
    assert_eq!(reports.len(), 1, "{name}: one document");
    let report = &reports[0];
    assert!(report.valid, "{name}: {:#?}", report.diagnostics);
    let network = report.network.as_ref().expect("parsed network");
    (effective_spec(&network.spec), report.warnings())
}

#[test]
fn localnet_is_the_four_validator_relay_network() {
    let (eff, warnings) = load("localnet.yaml");
    assert_eq!(warnings, 0);
    assert_eq!(eff.validators.len(), 4);
    assert_eq!(eff.servicers.replicas, 2);
    assert_eq!(eff.fishermen.replicas, 1);
    assert_eq!(eff.applications.len(), 1);
    assert_eq!(eff.relay_chains.len(), 1);
    assert_eq!(eff.relay_chains[0].id, "0021");
    assert!(matches!(
        eff.relay_chains[0].source,
        RelaySource::Anvil { .. }
    ));
    let gates: Vec<(&str, &[String])> = eff
        .gates
        .iter()
        .map(|g| (g.name.as_str(), &g.after[..]))
        .collect();
    assert_eq!(gates.len(), 2);
    assert_eq!(gates[0].0, "pos");
    assert_eq!(gates[1], ("relays", &["pos".to_owned()][..]));
    assert!(
        !eff.gates[0].hold_for.is_zero(),
        "the PoS gate has a soak time"
    );
}

#[test]
fn devnet_is_valid() {
    let (eff, warnings) = load("devnet.yaml");
    assert_eq!(warnings, 0);
    assert_eq!(eff.validators.len(), 7);
}

#[test]
fn testnet_has_100_validators_and_50_servicers() {
    let (eff, warnings) = load("testnet.yaml");
    assert_eq!(warnings, 0);
    assert_eq!(eff.validators.len(), 100);
    assert_eq!(eff.servicers.replicas, 50);
}
