//! The cooperative budget: how one task that always finds its socket or queue ready still
//! lets the others run (tokio calls it "coop"; asyncio has no such thing and starves).
//!
//! A task gives the loop back control only by returning `Pending`. A task reading a socket
//! that a fast peer keeps full, or cycling items through a queue that is never empty, never
//! has to: every operation is ready at once, so its poll never ends and nothing else on the
//! loop runs, not even an expired timer. So each poll of a task (and of the main future) gets
//! a budget of [`BUDGET`] ready operations. tinyloop's I/O (`net`) and `sync` primitives
//! spend one unit each time they are polled; once the budget is spent, the next such
//! operation wakes its own task and returns `Pending` *before it does anything* (it takes no
//! item, permit, lock or byte, so nothing can be lost), and the task goes to the back of the
//! ready queue. Its next poll gets a fresh budget.
//!
//! The budget lives in a thread-local `Cell` (a `const` one: no lazy initialisation, no
//! destructor), set when a poll starts and lifted when it ends, so the cost is one store
//! per poll and a load, a compare and a store per operation. Outside a task poll (a callback,
//! a future polled by hand in a test) the budget is unlimited.

use std::cell::Cell;
use std::task::Context;

/// Ready operations one poll of a task may do before it must yield (tokio uses 128 too).
pub(crate) const BUDGET: u32 = 128;

/// No budget: outside any task poll.
const UNLIMITED: u32 = u32::MAX;

thread_local! {
    static LEFT: Cell<u32> = const { Cell::new(UNLIMITED) };
}

/// Gives a poll that is about to start its budget; [`unlimited`] takes it away again.
#[inline]
pub(crate) fn start() {
    LEFT.with(|left| left.set(BUDGET));
}

/// Called when a poll ends: no budget applies outside task polls.
#[inline]
pub(crate) fn unlimited() {
    LEFT.with(|left| left.set(UNLIMITED));
}

/// Spends one unit of the running task's budget. `false` when it is spent: the task has
/// been woken and the operation must return `Pending` without doing anything.
#[inline]
pub(crate) fn proceed(cx: &Context<'_>) -> bool {
    let spent = LEFT.with(|left| match left.get() {
        UNLIMITED => false,
        0 => true,
        n => {
            left.set(n - 1);
            false
        }
    });
    if spent {
        cx.waker().wake_by_ref();
    }
    !spent
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_runs_out_and_wakes_the_task() {
        let waker = futures_task::noop_waker();
        let cx = Context::from_waker(&waker);
        assert!((0..1000).all(|_| proceed(&cx)), "unlimited outside a poll");
        start();
        assert!((0..BUDGET).all(|_| proceed(&cx)));
        assert!(!proceed(&cx));
        assert!(!proceed(&cx), "stays spent until the next poll");
        start();
        assert!(proceed(&cx));
        unlimited();
    }
}
