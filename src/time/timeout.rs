//! `timeout` and `timeout_at`: asyncio's `wait_for` and `asyncio.timeout`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::sleep::{timeout_sleep, Sleep};
use crate::runtime::context;

/// The deadline passed before the future finished: asyncio's `TimeoutError`.
///
/// ```
/// let err = tinyloop::TimeoutError;
/// assert_eq!(
///     err.to_string(),
///     "the deadline passed before the operation finished (the operation was cancelled)"
/// );
/// ```
#[doc(alias = "asyncio.TimeoutError")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the deadline passed before the operation finished (the operation was cancelled)")]
pub struct TimeoutError;

/// Runs `fut` for at most `d`: asyncio's `wait_for(fut, timeout=d)`.
///
/// The inner future is polled first, so one that is ready at once wins even with a zero
/// deadline. On expiry the inner future is dropped (its destructors have run) before
/// `Err(TimeoutError)` is returned.
///
/// The clock for `d` starts when the timeout first waits, as asyncio's `wait_for` starts it
/// when it first runs: at its first poll, or, when that poll finds its task already woken
/// again (the inner future woke itself), at the next one, a turn later. A future that
/// finishes before the timeout ever waits costs no clock read and no timer.
///
/// ```
/// use std::time::Duration;
/// use tinyloop::{sleep, timeout, TimeoutError};
///
/// tinyloop::run(async {
///     let quick = timeout(Duration::from_secs(5), async { 42 }).await;
///     assert_eq!(quick, Ok(42));
///     let slow = timeout(Duration::from_millis(5), sleep(Duration::from_secs(3600))).await;
///     assert_eq!(slow, Err(TimeoutError)); // the sleep was dropped
/// });
/// ```
///
/// # Panics
/// When no loop is running on this thread.
#[doc(alias = "wait_for")]
#[doc(alias = "asyncio.wait_for")]
#[doc(alias = "asyncio.timeout")]
pub fn timeout<F: Future>(d: Duration, fut: F) -> Timeout<F> {
    Timeout {
        inner: Some(fut),
        // Lazy, and its clock starts when it first waits (see `Unarmed::LazyFor`).
        sleep: timeout_sleep(context::current("tinyloop::timeout"), d),
    }
}

/// [`timeout`] with an absolute deadline: asyncio's `asyncio.timeout_at`.
///
/// ```
/// use std::time::Duration;
/// use tinyloop::{now, sleep, timeout_at};
///
/// tinyloop::run(async {
///     // One deadline shared by several steps, as with `async with asyncio.timeout_at(when)`.
///     let deadline = now() + Duration::from_secs(1);
///     let first = timeout_at(deadline, async { "step 1" }).await;
///     let second = timeout_at(deadline, sleep(Duration::from_secs(60))).await;
///     assert_eq!(first, Ok("step 1"));
///     assert!(second.is_err());
/// });
/// ```
///
#[doc(alias = "asyncio.timeout_at")]
pub fn timeout_at<F: Future>(deadline: Instant, fut: F) -> Timeout<F> {
    Timeout {
        inner: Some(fut),
        sleep: Sleep::new(context::current("tinyloop::timeout_at"), deadline).lazy(),
    }
}

pin_project_lite::pin_project! {
    /// The future returned by [`timeout`] and [`timeout_at`].
    #[must_use = "futures do nothing unless awaited"]
    pub struct Timeout<F> {
        // Held inline (no allocation); set to `None` to drop it in place on expiry.
        #[pin]
        inner: Option<F>,
        sleep: Sleep,
    }
}

impl<F> Timeout<F> {
    /// When it gives up.
    pub fn deadline(&self) -> Instant {
        self.sleep.deadline()
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, TimeoutError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let Some(inner) = this.inner.as_mut().as_pin_mut() else {
            panic!("a Timeout was polled again after it completed");
        };
        if let Poll::Ready(v) = inner.poll(cx) {
            this.inner.set(None);
            return Poll::Ready(Ok(v));
        }
        match Pin::new(this.sleep).poll(cx) {
            Poll::Ready(()) => {
                // Drop the inner future first, so its destructors have run when we return.
                this.inner.set(None);
                Poll::Ready(Err(TimeoutError))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<F> std::fmt::Debug for Timeout<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Timeout")
            .field("sleep", &self.sleep)
            .field("finished", &self.inner.is_none())
            .finish()
    }
}
