//! Helpers shared by the integration tests (each test file does `mod util;`).
//!
//! * [`counted`]: wraps a future and counts its polls and whether it was dropped (async-task's
//!   tests do the same).
//! * [`drop_flag`]: a guard to move into a future, and a watch that says whether it dropped.
//! * [`vloop`], [`vrun`]: a loop on virtual time, so timer tests are exact and instant
//!   (tokio's `time::pause`, CPython's `TestLoop`).
//! * [`race`]: a two-way select written by hand (the crate's own `select` is not used here).
//! * [`Gate`]: a `Send + Sync` one-shot signal, for waking a task from another thread.
//! * [`within`]: runs a test body on its own thread and fails (rather than hangs) if a lost
//!   wake-up leaves the loop blocked for ever.
//! * [`panic_text`]: runs a closure that must panic and returns the panic's message.

#![allow(dead_code)]

use std::cell::Cell;
use std::future::{poll_fn, Future};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use tinyloop::Loop;

/// Counts how many times it was dropped (share the counter among several guards).
pub struct DropCount(pub Rc<Cell<usize>>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

/// `Duration::from_millis`, shorter.
pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A loop whose clock jumps to the next timer whenever nothing else can run.
pub fn vloop() -> Loop {
    Loop::builder()
        .virtual_time(true)
        .build()
        .expect("a poller")
}

/// Runs `fut` to completion on a fresh virtual-time loop, which is then dropped.
pub fn vrun<F: Future>(fut: F) -> F::Output {
    vloop().block_on(fut)
}

/// How far the running loop's clock has moved since `start`.
pub fn since(start: Instant) -> Duration {
    tinyloop::now() - start
}

/// Guard half of [`drop_flag`]: sets the flag when dropped.
#[derive(Debug)]
pub struct DropGuard(Arc<AtomicBool>);

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Watch half of [`drop_flag`].
#[derive(Debug, Clone)]
pub struct DropWatch(Arc<AtomicBool>);

impl DropWatch {
    pub fn is_dropped(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// A guard to move into a future and a watch that tells whether the guard has dropped.
pub fn drop_flag() -> (DropGuard, DropWatch) {
    let flag = Arc::new(AtomicBool::new(false));
    (DropGuard(Arc::clone(&flag)), DropWatch(flag))
}

/// What [`counted`] reports about the future it wraps.
#[derive(Debug, Clone)]
pub struct Probe {
    polls: Rc<Cell<usize>>,
    dropped: DropWatch,
}

impl Probe {
    pub fn polls(&self) -> usize {
        self.polls.get()
    }

    pub fn is_dropped(&self) -> bool {
        self.dropped.is_dropped()
    }
}

/// A future that counts its polls and notes when it is dropped.
pub struct Counted<F> {
    inner: Pin<Box<F>>,
    polls: Rc<Cell<usize>>,
    _guard: DropGuard,
}

impl<F: Future> Future for Counted<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.polls.set(self.polls.get() + 1);
        self.inner.as_mut().poll(cx)
    }
}

/// Wraps `fut` so its polls are counted and its drop observed.
pub fn counted<F: Future>(fut: F) -> (Counted<F>, Probe) {
    let polls = Rc::new(Cell::new(0));
    let (guard, dropped) = drop_flag();
    let probe = Probe {
        polls: Rc::clone(&polls),
        dropped,
    };
    let fut = Counted {
        inner: Box::pin(fut),
        polls,
        _guard: guard,
    };
    (fut, probe)
}

/// The output of [`race`].
#[derive(Debug, PartialEq, Eq)]
pub enum Either<A, B> {
    Left(A),
    Right(B),
}

/// Polls `a` then `b` until one is ready; the other is dropped.
pub async fn race<A: Future, B: Future>(a: A, b: B) -> Either<A::Output, B::Output> {
    let mut a = pin!(a);
    let mut b = pin!(b);
    poll_fn(|cx| {
        if let Poll::Ready(v) = a.as_mut().poll(cx) {
            return Poll::Ready(Either::Left(v));
        }
        if let Poll::Ready(v) = b.as_mut().poll(cx) {
            return Poll::Ready(Either::Right(v));
        }
        Poll::Pending
    })
    .await
}

/// The waker of the task (or main future) that awaits this.
pub async fn my_waker() -> Waker {
    poll_fn(|cx| Poll::Ready(cx.waker().clone())).await
}

/// A `Send + Sync` one-shot signal: `wait()` completes once `open()` has been called, from
/// any thread.
#[derive(Clone, Default, Debug)]
pub struct Gate(Arc<GateInner>);

#[derive(Default, Debug)]
struct GateInner {
    open: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl Gate {
    pub fn new() -> Gate {
        Gate::default()
    }

    /// Completes once the gate is open.
    pub async fn wait(&self) {
        poll_fn(|cx| {
            // Store the waker before looking at the flag: `open` sets the flag before it
            // takes the waker, so one of the two always sees the other.
            *self.0.waker.lock().unwrap() = Some(cx.waker().clone());
            if self.0.open.load(Ordering::SeqCst) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await
    }

    pub fn open(&self) {
        self.0.open.store(true, Ordering::SeqCst);
        let waker = self.0.waker.lock().unwrap().take();
        if let Some(w) = waker {
            w.wake();
        }
    }

    pub fn is_open(&self) -> bool {
        self.0.open.load(Ordering::SeqCst)
    }
}

/// Runs `f` on its own thread; panics (instead of hanging the suite) if it takes longer
/// than `limit` times [`slowdown`]. A panic inside `f` is passed on.
///
/// `limit` is a hang guard, never a speed claim: pick it far above what the body needs on a
/// loaded machine (seconds for a body that needs milliseconds).
pub fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let limit = limit * slowdown();
    let (tx, rx) = mpsc::channel();
    let handle = std::thread::spawn(move || {
        let out = f();
        let _ = tx.send(());
        out
    });
    match rx.recv_timeout(limit) {
        Ok(()) => handle.join().expect("finished"),
        Err(mpsc::RecvTimeoutError::Disconnected) => match handle.join() {
            Ok(out) => out,
            Err(payload) => std::panic::resume_unwind(payload),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("the test did not finish within {limit:?}: the loop is stuck (a lost wake-up?)")
        }
    }
}

/// How many times slower than native this process runs, from `TINYLOOP_TEST_SLOWDOWN`
/// (default 1): `.ci/valgrind` sets it, since memcheck runs 20-50x slower and one thread at a
/// time. Hang guards ([`within`]) stretch by it.
pub fn slowdown() -> u32 {
    std::env::var("TINYLOOP_TEST_SLOWDOWN")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1)
}

/// Re-runs this test binary on one test with `env_key` set, so that test can play the child:
/// for checking what the loop writes on stderr. Returns (success, stdout, stderr).
pub fn run_child(test_name: &str, env_key: &str) -> (bool, String, String) {
    let out = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args([test_name, "--exact", "--nocapture", "--test-threads=1"])
        .env(env_key, "1")
        .output()
        .expect("re-run the test binary");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The value the child printed as `KEY=value` on stdout. (The harness prints
/// "test <name> ... " without a newline before the child's own output, hence the split.)
pub fn child_value(stdout: &str, key: &str) -> String {
    let key = format!("{key}=");
    stdout
        .lines()
        .find_map(|l| l.split_once(key.as_str()).map(|(_, v)| v.to_string()))
        .unwrap_or_else(|| panic!("no {key} in the child's stdout:\n{stdout}"))
}

/// Runs `f`, which must panic, and returns the panic's message.
pub fn panic_text<R>(f: impl FnOnce() -> R) -> String {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(_) => panic!("expected a panic, but the call returned"),
        Err(payload) => payload_text(&*payload),
    }
}

/// The text of a panic payload (`&str` or `String`).
pub fn payload_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".to_string()
    }
}

/// The `timers: N` count in the loop's Debug output.
pub fn timer_count(lp: &Loop) -> usize {
    let text = format!("{lp:?}");
    let rest = text
        .split("timers: ")
        .nth(1)
        .unwrap_or_else(|| panic!("no `timers:` in the loop's Debug output: {text}"));
    let digits: String = rest
        .trim_start_matches("Some(")
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("cannot read the timer count in {text}"))
}

/// Polls `fut` once with a waker that does nothing.
pub fn poll_once<F: Future + ?Sized>(fut: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(Waker::noop()))
}
