//! The checked-in CRD is current, parses as a CustomResourceDefinition and carries the
//! subresources, printer columns and CEL rules.

mod common;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

const CRD_FILE: &str = "crds/networks.netwright.dev.yaml";

fn checked_in() -> CustomResourceDefinition {
    let text =
        std::fs::read_to_string(common::repo_root().join(CRD_FILE)).expect("CRD file exists");
    let stream = netwright_crds::validate::yaml::load(&text);
    assert!(
        stream.error.is_none(),
        "the CRD YAML loads: {:?}",
        stream.error
    );
    let [document] = &stream.documents[..] else {
        panic!("one document, found {}", stream.documents.len())
    };
    assert!(document.issues.is_empty(), "{:?}", document.issues);
    serde_json::from_value(document.root.to_json())
        .expect("the CRD YAML parses as a CustomResourceDefinition")
}

#[test]
fn checked_in_crd_is_current() {
    let generated = netwright_crds::crd::crd_yaml().expect("CRD renders");
    common::check_generated(CRD_FILE, &generated);
}

#[test]
fn crd_has_names_scope_and_subresources() {
    let crd = checked_in();
    assert_eq!(crd.metadata.name.as_deref(), Some("networks.netwright.dev"));
    assert_eq!(crd.spec.group, "netwright.dev");
    assert_eq!(crd.spec.scope, "Namespaced");
    assert_eq!(crd.spec.names.kind, "Network");
    assert_eq!(
        crd.spec.names.short_names.as_deref(),
        Some(&["net".to_owned()][..])
    );
    assert_eq!(crd.spec.versions.len(), 1);
    let version = &crd.spec.versions[0];
    assert_eq!(version.name, "v1alpha1");
    let sub = version.subresources.as_ref().expect("subresources");
    assert!(sub.status.is_some(), "status subresource");
    let scale = sub.scale.as_ref().expect("scale subresource");
    assert_eq!(scale.spec_replicas_path, ".spec.validators.replicas");
    assert_eq!(scale.status_replicas_path, ".status.replicas.validators");
}

#[test]
fn crd_has_printer_columns() {
    let crd = checked_in();
    let columns = crd.spec.versions[0]
        .additional_printer_columns
        .as_ref()
        .expect("printer columns");
    let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["Ready", "Height", "Validators", "Gates", "Age"]);
    assert_eq!(columns[4].json_path, ".metadata.creationTimestamp");
}

#[test]
fn crd_has_cel_rules() {
    let crd = checked_in();
    let schema = crd.spec.versions[0]
        .schema
        .as_ref()
        .and_then(|s| s.open_api_v3_schema.as_ref())
        .expect("schema");
    let spec = schema
        .properties
        .as_ref()
        .and_then(|p| p.get("spec"))
        .expect("spec schema");
    let props = spec.properties.as_ref().expect("spec properties");
    let rules = |s: &k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::JSONSchemaProps| -> Vec<String> {
        s.x_kubernetes_validations
            .iter()
            .flatten()
            .map(|r| r.rule.clone())
            .collect()
    };
    assert_eq!(rules(&props["chainId"]), ["self == oldSelf"]);
    assert_eq!(
        rules(&props["validators"]),
        ["has(self.replicas) != has(self.members)"]
    );
    let relay_item = props["relayChains"]
        .items
        .as_ref()
        .expect("relay chain items");
    let relay_item = match relay_item {
        k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::JSONSchemaPropsOrArray::Schema(s) => s,
        other => panic!("unexpected items {other:?}"),
    };
    assert_eq!(
        rules(relay_item),
        ["has(self.endpoint) != has(self.managed)"]
    );
    let spec_rules = rules(spec);
    assert!(
        spec_rules.iter().any(|r| r.contains("self.gates.all(g")),
        "{spec_rules:?}"
    );
    assert!(
        spec_rules
            .iter()
            .any(|r| r.contains("servicers.chains.all")),
        "{spec_rules:?}"
    );
    assert_eq!(
        props["gates"].x_kubernetes_list_type.as_deref(),
        Some("map")
    );
    assert_eq!(
        props["gates"].x_kubernetes_list_map_keys.as_deref(),
        Some(&["name".to_owned()][..])
    );
}
