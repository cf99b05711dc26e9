//! Helpers for the `sync_*` tests, on top of the shared `util` module (which the including
//! test file declares too): polling futures by hand (to stage a race at an exact point,
//! without a loop), wakers that count, wakers that call back into a primitive, and a seeded
//! random number generator.
#![allow(dead_code)]

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

/// Polls `fut` once with `waker`.
pub fn poll_with<F: Future + ?Sized>(fut: Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(waker))
}

/// A boxed future polled by hand, with a waker that counts its wake-ups.
pub struct Manual<'a, T> {
    fut: Pin<Box<dyn Future<Output = T> + 'a>>,
    wakes: Arc<Counter>,
}

impl<'a, T> Manual<'a, T> {
    pub fn new(fut: impl Future<Output = T> + 'a) -> Self {
        Manual {
            fut: Box::pin(fut),
            wakes: Arc::new(Counter::default()),
        }
    }

    /// Polls once.
    pub fn poll(&mut self) -> Poll<T> {
        let waker = Waker::from(self.wakes.clone());
        poll_with(self.fut.as_mut(), &waker)
    }

    /// Polls once, and panics unless the future completes.
    #[track_caller]
    pub fn ready(&mut self) -> T {
        match self.poll() {
            Poll::Ready(out) => out,
            Poll::Pending => panic!("expected the future to be ready"),
        }
    }

    /// Polls once, and panics if the future completes.
    #[track_caller]
    pub fn pending(&mut self) {
        assert!(
            self.poll().is_pending(),
            "expected the future to be pending"
        );
    }

    /// How many times the future's waker was woken.
    pub fn wakes(&self) -> usize {
        self.wakes.0.load(Ordering::SeqCst)
    }
}

/// Starts a future by hand: polls it once, expecting it to wait.
#[track_caller]
pub fn waiting<'a, T>(fut: impl Future<Output = T> + 'a) -> Manual<'a, T> {
    let mut manual = Manual::new(fut);
    manual.pending();
    manual
}

#[derive(Default)]
struct Counter(AtomicUsize);

impl Wake for Counter {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

thread_local! {
    static CALLBACKS: RefCell<HashMap<usize, Box<dyn Fn()>>> = RefCell::new(HashMap::new());
}
static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

/// A waker that runs `f` (on this thread) when it is woken and again when its last clone is
/// dropped. `f` usually calls back into the primitive the waker is queued on: a waker may do
/// that, so the primitive must not hold its own borrow while it wakes or drops wakers.
/// Returns the waker and a counter of how many times `f` ran.
pub fn reentrant_waker(f: impl Fn() + 'static) -> (Waker, Arc<AtomicUsize>) {
    let id = NEXT_ID.fetch_add(1, Ordering::SeqCst);
    CALLBACKS.with(|callbacks| callbacks.borrow_mut().insert(id, Box::new(f)));
    let calls = Arc::new(AtomicUsize::new(0));
    (
        Waker::from(Arc::new(Reentrant {
            id,
            calls: calls.clone(),
        })),
        calls,
    )
}

struct Reentrant {
    id: usize,
    calls: Arc<AtomicUsize>,
}

impl Reentrant {
    fn call(&self) {
        self.calls.fetch_add(1, Ordering::SeqCst);
        // Take the callback out while it runs, so it may itself drop wakers of this kind.
        let f = CALLBACKS.with(|callbacks| callbacks.borrow_mut().remove(&self.id));
        if let Some(f) = f {
            f();
            CALLBACKS.with(|callbacks| callbacks.borrow_mut().insert(self.id, f));
        }
    }
}

impl Wake for Reentrant {
    fn wake(self: Arc<Self>) {
        self.call();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.call();
    }
}

impl Drop for Reentrant {
    fn drop(&mut self) {
        self.call();
        CALLBACKS.with(|callbacks| callbacks.borrow_mut().remove(&self.id));
    }
}

/// [`vrun`](crate::util::vrun) (a virtual-time loop), but a test that deadlocks (a lost
/// permit, item or wake-up) fails after a virtual hour instead of hanging: with nothing else
/// to do, the virtual clock jumps straight to the deadline.
pub fn run_virtual<F: Future>(fut: F) -> F::Output {
    let deadlock = Duration::from_secs(3600);
    crate::util::vrun(async move { tinyloop::timeout(deadlock, fut).await })
        .expect("deadlock: the test was still waiting after a virtual hour")
}

/// A small deterministic random number generator (xorshift64*), so stress tests replay
/// exactly from their seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}
