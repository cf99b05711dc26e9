//! SIGINT through the poller: asyncio's `loop.add_signal_handler` (`unix_events.py`) and the
//! Ctrl-C handling of `asyncio.Runner` (`runners.py`).
//!
//! # How a signal reaches the loop
//!
//! A signal handler may do almost nothing: no allocation, no lock, no `RefCell`. signal-hook's
//! handler writes a byte into a socket pair (the "self-pipe trick"; asyncio does the same with
//! `signal.set_wakeup_fd`), and signal-hook-mio makes the reading end a mio source. The loop
//! registers it with its poller under `reactor::SIGNAL_TOKEN`; when it becomes readable the reactor
//! hands the loop `handling::sigint_waker`, and waking that (on the loop's thread, inside the turn,
//! where anything is allowed) runs `Core::sigint_arrived`.
//!
//! A loop registers its source lazily: the first time `ctrl_c()` is called on it, or when
//! `run` starts on the process's main thread (asyncio's `Runner` installs its handler only
//! there, too).
//!
//! # Who gets a Ctrl-C
//!
//! 1. If `ctrl_c()` futures exist on the loop, they complete. That is all.
//! 2. Otherwise, under `run`, the main future is cancelled (dropped, destructors run) and
//!    `run` panics with "interrupted by Ctrl-C" after shutting the loop down: asyncio's
//!    `Runner` cancels the main task and raises `KeyboardInterrupt`.
//! 3. Otherwise nobody asked for Ctrl-C: the default action happens (the process ends, killed
//!    by SIGINT), as if tinyloop had never touched SIGINT.
//!
//! # The process-wide actions, installed once
//!
//! A signal handler belongs to the whole process, while loops come and go, so on first use
//! tinyloop installs three actions that run, in this order, on every SIGINT:
//!
//! ```text
//!   1. no loop listens (NOBODY)                      -> the default action: the process ends
//!   2. the previous SIGINT is still unhandled        -> exit(130) at once
//!   3. mark this SIGINT unhandled (until a loop takes it in `sigint_arrived`)
//!   then every listening loop's own action writes to its self-pipe
//! ```
//!
//! Action 2 is the way out of a loop stuck in a blocking call: it never gets to handle the
//! first Ctrl-C, and the second ends the process with the shell's status for Ctrl-C (130),
//! like asyncio's second Ctrl-C raising `KeyboardInterrupt` straight away. Action 1 makes up
//! for what signal-hook cannot do, restore the default handler: with no loop listening, the
//! handler behaves exactly like the default.

/// The loop's side (`impl Core`, the SIGINT waker): above `core.rs`, since it names `Core`.
mod handling;

use std::cell::{Cell, RefCell};
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::Waker;

use signal_hook::consts::SIGINT;
use signal_hook_mio::v1_0::Signals;

/// The process-wide half (see the module docs).
struct Global {
    /// True while no loop listens: SIGINT then does what it does by default.
    nobody: Arc<AtomicBool>,
    /// Set by every SIGINT, cleared by the loop that takes it in.
    unhandled: Arc<AtomicBool>,
    /// Loops with a registered SIGINT source.
    listeners: Mutex<usize>,
}

fn global() -> io::Result<&'static Global> {
    static GLOBAL: OnceLock<Result<Global, String>> = OnceLock::new();
    let installed = GLOBAL.get_or_init(|| {
        let global = Global {
            nobody: Arc::new(AtomicBool::new(true)),
            unhandled: Arc::new(AtomicBool::new(false)),
            listeners: Mutex::new(0),
        };
        let install = || -> io::Result<()> {
            signal_hook::flag::register_conditional_default(SIGINT, Arc::clone(&global.nobody))?;
            signal_hook::flag::register_conditional_shutdown(
                SIGINT,
                130,
                Arc::clone(&global.unhandled),
            )?;
            signal_hook::flag::register(SIGINT, Arc::clone(&global.unhandled))?;
            Ok(())
        };
        install().map(|()| global).map_err(|e| e.to_string())
    });
    installed.as_ref().map_err(|e| {
        io::Error::other(format!(
            "tinyloop could not install its SIGINT handler: {e}"
        ))
    })
}

impl Global {
    fn listener_joined(&self) {
        let mut n = self.listeners.lock().unwrap_or_else(|e| e.into_inner());
        *n += 1;
        self.nobody.store(false, Ordering::SeqCst);
    }

    fn listener_left(&self) {
        let mut n = self.listeners.lock().unwrap_or_else(|e| e.into_inner());
        *n -= 1;
        if *n == 0 {
            self.nobody.store(true, Ordering::SeqCst);
        }
    }
}

/// One loop's SIGINT state.
#[derive(Default)]
pub(crate) struct SignalState {
    /// The self-pipe, once registered with this loop's poller.
    source: RefCell<Option<Signals>>,
    /// Raised by the signal handler on every SIGINT, after it wrote to the self-pipe, and
    /// lowered by the turn that sees it. A busy loop, which polls its sockets only every 61
    /// turns and otherwise not at all, polls at once when it is up: so the self-pipe costs a
    /// busy loop one load per turn instead of an `epoll_wait` every 61 turns.
    raised: Arc<AtomicBool>,
    /// The handler action that raises `raised`, to take out when the loop goes.
    raiser: Cell<Option<signal_hook::SigId>>,
    /// How many SIGINT deliveries this loop has taken in (a burst may count once).
    received: Cell<u64>,
    /// `ctrl_c()` futures alive on this loop.
    alive: Cell<usize>,
    /// Parked `ctrl_c()` futures, by ticket.
    waiters: RefCell<Vec<(u64, Waker)>>,
    next_ticket: Cell<u64>,
    /// Under `run`: a Ctrl-C that no `ctrl_c()` takes cancels the main future.
    interrupt_main: Cell<bool>,
}

impl std::fmt::Debug for SignalState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignalState")
            .field("listening", &self.source.borrow().is_some())
            .field("received", &self.received.get())
            .field("ctrl_c_futures", &self.alive.get())
            .finish()
    }
}

impl SignalState {
    /// Whether a SIGINT came since the last call (see `raised`).
    #[inline]
    pub(crate) fn take_raised(&self) -> bool {
        // A plain load first: the common answer, no, costs no atomic write.
        self.raised.load(Ordering::Relaxed) && self.raised.swap(false, Ordering::AcqRel)
    }
}

impl Drop for SignalState {
    fn drop(&mut self) {
        if let Some(id) = self.raiser.take() {
            signal_hook::low_level::unregister(id);
        }
        if self.source.get_mut().take().is_some() {
            if let Ok(global) = global() {
                global.listener_left();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::runtime::context;

    /// A loop that listened for Ctrl-C takes the handler action that raises its flag out
    /// when it goes, so loops made one after another leave no action (and no flag) behind.
    #[test]
    fn a_dropped_loop_takes_its_ctrl_c_flag_out_of_the_handler() {
        let flag = crate::run(async {
            let core = context::current("test");
            core.listen_for_sigint().unwrap(); // as `run` on the main thread, or `ctrl_c()`
            let raised = &core.signals.raised;
            assert_eq!(
                Arc::strong_count(raised),
                2,
                "the flag's action is registered"
            );
            Arc::downgrade(raised)
        });
        assert_eq!(
            flag.strong_count(),
            0,
            "the flag's action outlived its loop"
        );
    }
}
