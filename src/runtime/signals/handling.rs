//! The loop's side of Ctrl-C: the `Core`'s methods for it, and the waker that brings a SIGINT
//! in. They name `Core` (and the running loop, `context.rs`), so they sit above `core.rs`,
//! while the state the loop holds, `SignalState`, stays below it in
//! `signals.rs` (see that file for the whole story).

use std::io;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Wake, Waker};

use signal_hook::consts::SIGINT;
use signal_hook_mio::v1_0::Signals;

use super::global;
use crate::runtime::context;
use crate::runtime::core::{Core, Stop};

/// The waker the reactor hands back when the self-pipe becomes readable.
pub(crate) fn sigint_waker() -> Waker {
    Waker::from(Arc::new(SigintWake))
}

struct SigintWake;

impl Wake for SigintWake {
    fn wake(self: Arc<Self>) {
        // The core wakes I/O wakers on its own thread, with itself installed.
        context::try_with_core(|core| core.sigint_arrived());
    }
}

impl Core {
    /// Registers this loop's SIGINT source, once.
    pub(crate) fn listen_for_sigint(&self) -> io::Result<()> {
        let state = &self.signals;
        if state.source.borrow().is_some() {
            return Ok(());
        }
        let global = global()?;
        let mut signals = Signals::new([SIGINT])?;
        self.reactor
            .borrow_mut()
            .register_signals(&mut signals, sigint_waker())?;
        // After the self-pipe's action, so that the pipe holds a byte once the flag is up.
        let raiser = signal_hook::flag::register(SIGINT, Arc::clone(&state.raised))?;
        state.raiser.set(Some(raiser));
        *state.source.borrow_mut() = Some(signals);
        global.listener_joined();
        Ok(())
    }

    /// `run`'s Ctrl-C handling: a SIGINT nobody awaits cancels the main future.
    pub(crate) fn interrupt_main_on_sigint(&self) -> io::Result<()> {
        self.listen_for_sigint()?;
        self.signals.interrupt_main.set(true);
        Ok(())
    }

    /// `ctrl_c()` futures alive (they count as something that can still wake the loop).
    pub(crate) fn signal_waiters(&self) -> usize {
        self.signals.alive.get()
    }

    /// How many SIGINT deliveries this loop has taken in so far.
    pub(crate) fn sigints_received(&self) -> u64 {
        self.signals.received.get()
    }

    /// A `ctrl_c()` future was made (`true`) or dropped (`false`).
    pub(crate) fn count_ctrl_c(&self, made: bool) {
        let alive = &self.signals.alive;
        alive.set(if made {
            alive.get() + 1
        } else {
            alive.get() - 1
        });
    }

    /// Parks a `ctrl_c()` future until the next SIGINT; returns its ticket.
    pub(crate) fn park_ctrl_c(&self, ticket: Option<u64>, waker: &Waker) -> u64 {
        let state = &self.signals;
        let mut waiters = state.waiters.borrow_mut();
        if let Some(t) = ticket {
            if let Some((_, w)) = waiters.iter_mut().find(|(id, _)| *id == t) {
                if !w.will_wake(waker) {
                    w.clone_from(waker);
                }
                return t;
            }
        }
        let t = state.next_ticket.get() + 1;
        state.next_ticket.set(t);
        waiters.push((t, waker.clone()));
        t
    }

    /// A `ctrl_c()` future went away: take its waker back.
    pub(crate) fn unpark_ctrl_c(&self, ticket: u64) {
        let removed = {
            let mut waiters = self.signals.waiters.borrow_mut();
            waiters
                .iter()
                .position(|(id, _)| *id == ticket)
                .map(|i| waiters.swap_remove(i))
        };
        drop(removed);
    }

    /// The self-pipe became readable: take the SIGINT in (see "Who gets a Ctrl-C").
    fn sigint_arrived(&self) {
        let state = &self.signals;
        let got = match state.source.borrow_mut().as_mut() {
            Some(signals) => signals.pending().next().is_some(),
            None => false,
        };
        if !got {
            return;
        }
        if let Ok(global) = global() {
            global.unhandled.store(false, Ordering::SeqCst);
        }
        state.received.set(state.received.get() + 1);
        if state.alive.get() > 0 {
            let waiters = std::mem::take(&mut *state.waiters.borrow_mut());
            for (_, waker) in waiters {
                waker.wake();
            }
        } else if state.interrupt_main.get() {
            self.stop.set(Stop::Interrupted);
        } else {
            // Nobody on this loop asked for Ctrl-C: do what SIGINT does by default.
            let _ = signal_hook::low_level::emulate_default_handler(SIGINT);
        }
    }
}
