//! Helpers shared by the operator's process tests and its LocalNet bench.

// Each user takes the helpers it needs.
#![allow(dead_code)]

use std::path::PathBuf;

use netwright_node_api::client::RpcClient;
use netwright_operator::backend::local::process;
use serde_json::Value;

/// The node binary: found as the backend finds it (`NETWRIGHT_NODE_BIN`, beside this binary or
/// one directory up, on `PATH`), else built with `cargo build --bin netwright-node` into
/// `<target>/local-backend-node/`: cargo keeps the running binary's own target directory
/// locked, so building there would wait forever.
pub fn node_bin() -> PathBuf {
    if let Ok(found) = process::find_node_bin(None) {
        return found;
    }
    let exe = std::env::current_exe().expect("test binary path");
    // <target>/<profile>/deps/<binary>
    let target = exe
        .ancestors()
        .nth(3)
        .expect("target directory")
        .to_path_buf();
    let own = target.join("local-backend-node");
    let built = own.join("debug").join("netwright-node");
    if !built.is_file() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let status = std::process::Command::new(cargo)
            .args([
                "build",
                "--bin",
                "netwright-node",
                "--locked",
                "--target-dir",
            ])
            .arg(&own)
            .current_dir(&workspace)
            .status()
            .expect("run cargo build --bin netwright-node");
        assert!(status.success(), "cargo build --bin netwright-node failed");
    }
    built
}

/// `GET` of `path` on a node RPC given as `http://127.0.0.1:PORT`, as JSON; `None` on any
/// failure (unreachable, not 200, not JSON).
pub fn get(rpc_url: &str, path: &str) -> Option<Value> {
    let client = RpcClient::new(rpc_url).ok()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    runtime.block_on(client.get_json(path)).ok()
}
