//! The I/O poller: asyncio's `selectors` module and the event half of `selector_events.py`.
//!
//! The loop owns one `mio::Poll`. For now it carries only the loop's cross-thread waker
//! (`WAKE_TOKEN`); I/O sources register here as well (see `crate::net`).

use std::io;
use std::task::Waker;
use std::time::Duration;

use super::signals::{sigint_waker, SIGNAL_TOKEN};

/// The token of the `mio::Waker` that other threads use to interrupt a blocked poll.
pub(crate) const WAKE_TOKEN: mio::Token = mio::Token(usize::MAX);

pub(crate) struct Reactor {
    poll: mio::Poll,
    events: mio::Events,
}

impl std::fmt::Debug for Reactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reactor").finish_non_exhaustive()
    }
}

impl Reactor {
    pub(crate) fn new() -> io::Result<Reactor> {
        Ok(Reactor {
            poll: mio::Poll::new()?,
            events: mio::Events::with_capacity(1024),
        })
    }

    pub(crate) fn registry(&self) -> &mio::Registry {
        self.poll.registry()
    }

    /// One wait for readiness, at most `timeout` (`None`: until something happens). Wakers of
    /// sources that became ready are pushed onto `wakers`. Returns whether `WAKE_TOKEN` fired.
    pub(crate) fn poll(
        &mut self,
        timeout: Option<Duration>,
        wakers: &mut Vec<Waker>,
    ) -> io::Result<bool> {
        match self.poll.poll(&mut self.events, timeout) {
            Ok(()) => {}
            // A signal interrupted the wait: an empty turn, not an error.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(false),
            Err(e) => return Err(e),
        }
        let mut woken = false;
        for event in self.events.iter() {
            match event.token() {
                WAKE_TOKEN => woken = true,
                // Ctrl-C: the loop takes it in when it wakes this waker (`runtime/signals.rs`).
                SIGNAL_TOKEN => wakers.push(sigint_waker()),
                _ => {}
            }
        }
        Ok(woken)
    }

    /// Whether any task waits on I/O.
    pub(crate) fn has_waiters(&self) -> bool {
        false
    }
}
