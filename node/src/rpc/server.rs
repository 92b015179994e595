//! The accept loop: HTTP/1.1 connections served by hyper, at most `max_connections` at once,
//! each under the deadlines of a [`ConnClock`], shut down gracefully.
//!
//! A connection beyond the limit is closed as soon as it is accepted, so excess clients neither
//! hold a file descriptor nor wait in a queue; `netwright_rpc_connections_refused_total` counts
//! them. A client that half-closes its side after sending a request still gets its answer.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::response::Response;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tracing::{debug, warn};

use super::conn_clock::{ConnClock, WatchedStream};
use super::{NodeMetrics, RpcLimits};

/// Largest request head hyper itself reads, in bytes. Heads above the RPC's own limit
/// ([`super::MAX_HEAD_BYTES`]) but below this one get a JSON 431; above it hyper answers an
/// empty 431 (or 414 for a target over 65,534 bytes) and closes the connection.
pub const HTTP_MAX_HEAD_BYTES: usize = 32 * 1024;

/// Largest read or write buffer of one connection, in bytes (hyper's default is about 400 KiB).
/// Keeps an idle or slow connection's memory small; bodies are streamed through it.
const CONNECTION_BUFFER_BYTES: usize = 64 * 1024;

/// How long shutdown waits for connections with a request in progress to answer it.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Wait after an accept error that is not about one connection (e.g. out of file descriptors).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// After this many connections were open at once, freed connection memory is handed back to
/// the operating system once the number open falls to a quarter of that peak.
const TRIM_AFTER_PEAK: usize = 256;

/// Serves `router` on `listener` under `limits` until `shutdown` resolves, then stops accepting,
/// lets requests in progress answer (for at most a few seconds) and closes every connection.
/// Accept errors are logged and retried, never fatal.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: RpcLimits,
    metrics: Arc<NodeMetrics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let mut http = http1::Builder::new();
    http.half_close(true)
        .keep_alive(true)
        // Head and idle deadlines are kept by `ConnClock`, which tells them apart.
        .header_read_timeout(None)
        .max_header_size(HTTP_MAX_HEAD_BYTES)
        .max_buf_size(CONNECTION_BUFFER_BYTES);
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let occupancy = Arc::new(Occupancy::default());
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    if !is_per_connection(&e) {
                        warn!(error = %e, "rpc: accept failed");
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                    }
                    continue;
                }
            },
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            metrics.rpc_connections_refused.inc();
            debug!(limit = limits.max_connections, "rpc: connection refused");
            drop(stream);
            continue;
        };
        let clock = Arc::new(ConnClock::new(
            limits.header_read_timeout,
            limits.idle_timeout,
            Instant::now(),
        ));
        let connection = graceful.watch(http.serve_connection(
            TokioIo::new(WatchedStream::new(stream, clock.clone())),
            ClockedService {
                inner: TowerToHyperService::new(router.clone()),
                clock: clock.clone(),
            },
        ));
        let open = OpenConnection::new(metrics.clone(), occupancy.clone());
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                debug!(error = %e, "rpc: connection failed");
            }
            if clock.expired() {
                open.metrics.rpc_connections_timed_out.inc();
            }
            drop(open);
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        warn!("rpc: connections still open after the shutdown grace period");
    }
    Ok(())
}

/// Whether an accept error concerns one connection only (the next accept may succeed at once).
fn is_per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// The router as a hyper service that tells the connection's clock when a request starts and
/// when its answer is ready.
#[derive(Clone)]
struct ClockedService {
    inner: TowerToHyperService<Router>,
    clock: Arc<ConnClock>,
}

impl hyper::service::Service<Request<Incoming>> for ClockedService {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        self.clock.request_started();
        let answer = self.inner.call(request);
        let clock = self.clock.clone();
        Box::pin(async move {
            let answer = answer.await;
            clock.request_answered(Instant::now());
            answer
        })
    }
}

/// How many connections are open, and the most that were since memory was last handed back.
#[derive(Debug, Default)]
struct Occupancy {
    open: AtomicUsize,
    peak: AtomicUsize,
}

/// One open connection, counted in `netwright_rpc_connections` while it lives.
struct OpenConnection {
    metrics: Arc<NodeMetrics>,
    occupancy: Arc<Occupancy>,
}

impl OpenConnection {
    fn new(metrics: Arc<NodeMetrics>, occupancy: Arc<Occupancy>) -> Self {
        let open = occupancy.open.fetch_add(1, Ordering::Relaxed) + 1;
        occupancy.peak.fetch_max(open, Ordering::Relaxed);
        metrics.rpc_connections.inc();
        Self { metrics, occupancy }
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.metrics.rpc_connections.dec();
        let open = self.occupancy.open.fetch_sub(1, Ordering::Relaxed) - 1;
        let peak = self.occupancy.peak.load(Ordering::Relaxed);
        if peak >= TRIM_AFTER_PEAK
            && open * 4 <= peak
            && self
                .occupancy
                .peak
                .compare_exchange(peak, open, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            release_freed_memory();
        }
    }
}

/// Hands memory the allocator holds free back to the operating system. glibc's malloc keeps
/// freed small blocks in its arenas, so after a burst of connections the node's resident size
/// stays at its peak until asked to trim.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn release_freed_memory() {
    // SAFETY: `malloc_trim` only returns unused pages of the allocator's own arenas to the
    // kernel; it takes an integer, touches no memory the program owns and cannot fail unsafely.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_freed_memory() {}
