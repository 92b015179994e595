//! What the RPC tests and the RPC bench share: a server over a test view on loopback.

use std::net::SocketAddr;
use std::sync::Arc;

use netwright_node::rpc::{self, NodeMetrics, NodeView, RpcLimits};

/// Serves `view` with `limits` on a free loopback port, in the background until the runtime
/// stops; returns the address and the server's metrics.
pub async fn serve_on_loopback<V: NodeView>(
    view: V,
    limits: RpcLimits,
) -> (SocketAddr, Arc<NodeMetrics>) {
    let metrics = Arc::new(NodeMetrics::new());
    let router = rpc::router(Arc::new(view), metrics.clone(), limits);
    let (listener, addr) = rpc::bind("127.0.0.1:0".parse().expect("loopback address"))
        .await
        .expect("bind a loopback port");
    tokio::spawn(rpc::serve(
        listener,
        router,
        limits,
        metrics.clone(),
        std::future::pending(),
    ));
    (addr, metrics)
}
