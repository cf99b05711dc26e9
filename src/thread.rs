//! `to_thread`: asyncio's `asyncio.to_thread` (`threads.py`), on tinyloop's worker pool.
//!
//! The closure runs on a pool thread (`runtime/pool.rs`). Its result is stored in a small
//! shared cell and the waiting task is woken through its ordinary waker, which, from
//! another thread, takes the loop's cross-thread path (channel + `mio::Waker`).

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use crate::runtime::context;
use crate::runtime::core::panic_message;
use crate::runtime::pool;
use crate::runtime::WaitOn;
use crate::task::JoinError;

/// Runs the blocking function `f` on a worker thread and waits for its result without
/// blocking the loop: asyncio's `asyncio.to_thread(f)`.
///
/// A panic in `f` becomes `Err(JoinError::Panicked(msg))`. The work starts at once. Dropping
/// the returned future does not stop the thread (a thread cannot be interrupted); its result is
/// then discarded.
///
/// ```
/// tinyloop::run(async {
///     // A blocking call (file I/O, a C library, heavy CPU) runs off the loop's thread,
///     // while the loop goes on running other tasks.
///     let len = tinyloop::to_thread(|| std::fs::read_dir(".").map(|d| d.count()))
///         .await
///         .unwrap()?;
///     let sum = tinyloop::to_thread(|| (1..=1_000u64).sum::<u64>()).await.unwrap();
///     assert_eq!(sum, 500_500);
///     println!("{len} entries");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Panics
/// When no loop is running on this thread.
#[doc(alias = "asyncio.to_thread")]
#[doc(alias = "run_in_executor")]
pub fn to_thread<F, T>(f: F) -> ToThread<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let core = context::current("tinyloop::to_thread");
    core.schedule.note_outside_world("to_thread");
    let shared = Arc::new(Mutex::new(Exchange {
        result: None,
        waker: None,
    }));
    let theirs = Arc::clone(&shared);
    let loop_shared = Arc::clone(&core.shared);
    loop_shared.thread_work.fetch_add(1, Ordering::AcqRel);
    pool::submit(Box::new(move || {
        let result = catch_unwind(AssertUnwindSafe(f))
            .map_err(|payload| JoinError::Panicked(panic_message(&*payload)));
        let waker = {
            let mut ex = theirs.lock().unwrap_or_else(|e| e.into_inner());
            ex.result = Some(result);
            ex.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
        // Only now is the work no longer in flight: the wake-up (if any) is already on its way,
        // so a loop that sees the count drop also sees the message (see `Core::poll_timeout`).
        loop_shared.thread_work_done();
    }));
    drop(core);
    ToThread {
        shared,
        finished: false,
    }
}

struct Exchange<T> {
    result: Option<Result<T, JoinError>>,
    waker: Option<Waker>,
}

/// The future returned by [`to_thread`].
#[must_use = "the work runs anyway; await this future for its result"]
pub struct ToThread<T> {
    shared: Arc<Mutex<Exchange<T>>>,
    finished: bool,
}

impl<T> Future for ToThread<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let taken = {
            let mut ex = self.shared.lock().unwrap_or_else(|e| e.into_inner());
            match ex.result.take() {
                Some(result) => Some(result),
                None => {
                    if !ex.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                        ex.waker = Some(cx.waker().clone());
                    }
                    None
                }
            }
        };
        match taken {
            Some(result) => {
                self.finished = true;
                Poll::Ready(result)
            }
            None if self.finished => {
                panic!("a ToThread future was polled again after it completed")
            }
            None => {
                context::try_with_core(|core| core.note_wait(WaitOn::Label("to_thread")));
                Poll::Pending
            }
        }
    }
}

impl<T> std::fmt::Debug for ToThread<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToThread")
            .field("finished", &self.finished)
            .finish()
    }
}
