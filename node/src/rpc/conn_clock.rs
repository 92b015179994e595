//! Per-connection deadlines on the socket: how long a client may keep a connection open
//! without sending a request, and how long it may take to send a request's head.
//!
//! hyper's own `header_read_timeout` starts when the server begins waiting for a request, so it
//! would also cut kept-alive connections at the head deadline. Here the two are separate, as in
//! most HTTP servers:
//!
//! - **waiting** for a request (after accept, and after each answer): the connection may stay
//!   silent for the idle timeout, counted from its last byte read or written. Writing an answer
//!   to a client that does not read it counts as waiting too, so a stalled reader is cut as well;
//! - **reading a head** (from the first byte of a request until hyper hands the request to the
//!   service): the whole head must arrive within the header timeout, however slowly its bytes
//!   trickle in;
//! - **serving** (from the head until the answer is ready): no socket deadline here; the body
//!   has its own read timeout (see `guard`) and handlers bound their own waits.
//!
//! [`ConnClock`] holds the phase; [`WatchedStream`] wraps the socket, records progress and fails
//! a pending read or write with [`std::io::ErrorKind::TimedOut`] once the phase's deadline passes,
//! which makes hyper drop the connection.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// Where a connection is in its request cycle; see the module documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Waiting for the first byte of the next request, or writing an answer.
    Waiting,
    /// Between the first byte of a request and its complete head.
    ReadingHead,
    /// The service is working on a request (its body included).
    Serving,
}

#[derive(Debug)]
struct State {
    phase: Phase,
    since: Instant,
    /// Whether a deadline has passed and failed the socket.
    expired: bool,
}

/// The phase of one connection and the deadlines that follow from it.
#[derive(Debug)]
pub(crate) struct ConnClock {
    header_read_timeout: Duration,
    idle_timeout: Duration,
    state: Mutex<State>,
}

impl ConnClock {
    /// A clock for a connection accepted at `now`: waiting for its first request.
    pub(crate) fn new(header_read_timeout: Duration, idle_timeout: Duration, now: Instant) -> Self {
        Self {
            header_read_timeout,
            idle_timeout,
            state: Mutex::new(State {
                phase: Phase::Waiting,
                since: now,
                expired: false,
            }),
        }
    }

    fn with_state<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        // The state is two plain fields, valid whatever a panicking holder left in them.
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut state)
    }

    /// The service received a request: no socket deadline until it answers.
    pub(crate) fn request_started(&self) {
        self.with_state(|s| s.phase = Phase::Serving);
    }

    /// The service answered at `now`: the connection waits for the next request.
    pub(crate) fn request_answered(&self, now: Instant) {
        self.with_state(|s| {
            s.phase = Phase::Waiting;
            s.since = now;
        });
    }

    /// Bytes came in at `now`: while waiting, they begin a request head.
    fn bytes_read(&self, now: Instant) {
        self.with_state(|s| {
            if s.phase == Phase::Waiting {
                s.phase = Phase::ReadingHead;
                s.since = now;
            }
        });
    }

    /// Bytes went out at `now`: while waiting (writing an answer), the connection is not idle.
    fn bytes_written(&self, now: Instant) {
        self.with_state(|s| {
            if s.phase == Phase::Waiting {
                s.since = now;
            }
        });
    }

    /// Whether a deadline passed and the socket was failed for it.
    pub(crate) fn expired(&self) -> bool {
        self.with_state(|s| s.expired)
    }

    fn expire(&self) {
        self.with_state(|s| s.expired = true);
    }

    /// When the connection must have made progress, and what it was doing; `None` while serving.
    fn deadline(&self) -> Option<(Instant, &'static str)> {
        self.with_state(|s| match s.phase {
            Phase::Waiting => Some((s.since + self.idle_timeout, "idle timeout")),
            Phase::ReadingHead => Some((
                s.since + self.header_read_timeout,
                "request head not received in time",
            )),
            Phase::Serving => None,
        })
    }
}

/// A socket whose pending reads and writes fail with `TimedOut` once its [`ConnClock`]'s
/// deadline has passed.
pub(crate) struct WatchedStream<S> {
    inner: S,
    clock: Arc<ConnClock>,
    timer: Pin<Box<Sleep>>,
    armed_for: Option<Instant>,
}

impl<S> WatchedStream<S> {
    /// Wraps `inner`, reporting its progress to `clock`.
    pub(crate) fn new(inner: S, clock: Arc<ConnClock>) -> Self {
        Self {
            inner,
            clock,
            timer: Box::pin(tokio::time::sleep(Duration::ZERO)),
            armed_for: None,
        }
    }

    /// Called when the socket has no progress to offer: fails once the deadline has passed,
    /// else arranges to be woken at the deadline.
    fn check_deadline(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        let Some((deadline, what)) = self.clock.deadline() else {
            return Poll::Pending;
        };
        if self.armed_for != Some(deadline) {
            self.timer.as_mut().reset(deadline);
            self.armed_for = Some(deadline);
        }
        match self.timer.as_mut().poll(cx) {
            Poll::Ready(()) => {
                self.clock.expire();
                Poll::Ready(io::Error::new(io::ErrorKind::TimedOut, what))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn after_write(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        match polled {
            Poll::Ready(Ok(n)) => {
                if n > 0 {
                    self.clock.bytes_written(Instant::now());
                }
                Poll::Ready(Ok(n))
            }
            Poll::Pending => self.check_deadline(cx).map(Err),
            failed => failed,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for WatchedStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.clock.bytes_read(Instant::now());
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending => this.check_deadline(cx).map(Err),
            failed => failed,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for WatchedStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.after_write(cx, polled)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.after_write(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_flush(cx) {
            Poll::Pending => this.check_deadline(cx).map(Err),
            done => done,
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: Duration = Duration::from_secs(10);
    const IDLE: Duration = Duration::from_secs(60);

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn phases_choose_the_deadline() {
        let t0 = Instant::now();
        let clock = ConnClock::new(HEAD, IDLE, t0);
        assert_eq!(clock.deadline(), Some((t0 + IDLE, "idle timeout")));
        // The first byte starts the head deadline; later bytes of the head do not extend it.
        clock.bytes_read(t0 + secs(5));
        let head_due = Some((t0 + secs(5) + HEAD, "request head not received in time"));
        assert_eq!(clock.deadline(), head_due);
        clock.bytes_read(t0 + secs(9));
        clock.bytes_written(t0 + secs(9));
        assert_eq!(clock.deadline(), head_due);
        // While serving, no deadline, however long it takes and whatever is read.
        clock.request_started();
        clock.bytes_read(t0 + secs(50));
        assert_eq!(clock.deadline(), None);
        // Answered: idle from then on, and each byte of the answer written counts as activity.
        clock.request_answered(t0 + secs(100));
        assert_eq!(
            clock.deadline(),
            Some((t0 + secs(100) + IDLE, "idle timeout"))
        );
        clock.bytes_written(t0 + secs(130));
        assert_eq!(
            clock.deadline(),
            Some((t0 + secs(130) + IDLE, "idle timeout"))
        );
    }
}
