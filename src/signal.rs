//! Ctrl-C: asyncio's `loop.add_signal_handler(signal.SIGINT, ...)` and the SIGINT handling
//! of `asyncio.run` (`runners.py`).
//!
//! * [`ctrl_c()`] is a future that completes at the next Ctrl-C (SIGINT).
//! * [`run`](crate::run), on the process's main thread, cancels its future at the first
//!   Ctrl-C that no `ctrl_c()` future takes, and panics with "interrupted by Ctrl-C" once
//!   every destructor has run, as asyncio's `Runner` cancels the main task and raises
//!   `KeyboardInterrupt`. A second Ctrl-C before the loop handled the first (a loop stuck in
//!   a blocking call) ends the process at once with status 130.
//! * Otherwise SIGINT keeps its default effect: a program that never asks for Ctrl-C is
//!   ended by it as usual, and so is a loop that registered for it but has no `ctrl_c()`
//!   future alive when it comes (outside `run`).
//!
//! The signal reaches the loop through its poller (signal-hook's self-pipe, registered with
//! mio), never by running code inside a signal handler: see `runtime/signals.rs`.
//!
//! ```no_run
//! tinyloop::run(async {
//!     let server = tinyloop::spawn(async { /* serve until stopped */ });
//!     tinyloop::signal::ctrl_c().await.expect("SIGINT handler installed");
//!     println!("shutting down");
//!     server.cancel();
//! });
//! ```

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use crate::runtime::context;
use crate::runtime::core::Core;
use crate::runtime::WaitOn;

/// Completes at the next Ctrl-C (SIGINT) after this call: asyncio's
/// `loop.add_signal_handler(signal.SIGINT, ...)` as a future.
///
/// The first call on a loop registers the loop for SIGINT (signal-hook's handler and a
/// self-pipe in the loop's poller). While a `CtrlC` future exists, Ctrl-C no longer ends the
/// process nor, under [`run`](crate::run), cancels the main future: it completes every
/// waiting `CtrlC` instead. `Err` if the handler or the pipe could not be set up.
///
/// ```
/// use std::time::Duration;
///
/// tinyloop::run(async {
///     // A server's main future: serve until Ctrl-C, then shut down cleanly.
///     let serving = tinyloop::spawn(tinyloop::sleep(Duration::from_secs(3600)));
///     let stop = tinyloop::signal::ctrl_c();
///     # let stop = tinyloop::timeout(Duration::from_millis(1), stop); // no Ctrl-C in doc tests
///     let _ = stop.await;
///     serving.cancel();
///     println!("shutting down");
/// });
/// ```
///
/// # Panics
/// When no loop is running on this thread.
#[doc(alias = "add_signal_handler")]
#[doc(alias = "KeyboardInterrupt")]
pub fn ctrl_c() -> CtrlC {
    let core = context::current("tinyloop::signal::ctrl_c");
    let error = core.listen_for_sigint().err();
    core.count_ctrl_c(true);
    let seen = core.sigints_received();
    CtrlC {
        core,
        seen,
        error,
        ticket: None,
    }
}

/// The future returned by [`ctrl_c`].
#[must_use = "futures do nothing unless awaited"]
pub struct CtrlC {
    core: Rc<Core>,
    /// SIGINTs the loop had taken in when this future was made.
    seen: u64,
    error: Option<io::Error>,
    /// Where its waker is parked, once it is.
    ticket: Option<u64>,
}

impl Future for CtrlC {
    type Output = io::Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if let Some(e) = this.error.take() {
            return Poll::Ready(Err(e));
        }
        if this.core.sigints_received() > this.seen {
            if let Some(ticket) = this.ticket.take() {
                this.core.unpark_ctrl_c(ticket);
            }
            return Poll::Ready(Ok(()));
        }
        this.ticket = Some(this.core.park_ctrl_c(this.ticket, cx.waker()));
        this.core.note_wait(WaitOn::Label("ctrl_c"));
        Poll::Pending
    }
}

impl Drop for CtrlC {
    fn drop(&mut self) {
        if let Some(ticket) = self.ticket.take() {
            self.core.unpark_ctrl_c(ticket);
        }
        self.core.count_ctrl_c(false);
    }
}

impl std::fmt::Debug for CtrlC {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CtrlC")
            .field("fired", &(self.core.sigints_received() > self.seen))
            .field("waiting", &self.ticket.is_some())
            .finish()
    }
}
