//! # mini_loop: an event loop in one file, with nothing but std
//!
//! Retells section 2.2 of the tutorial, "The core principle: the event loop", by building one.
//! No tinyloop here at all: read it top to bottom, then open the real module each part points
//! to, which does the same job properly (and fast).
//!
//! ```text
//! cargo run --example mini_loop
//! cargo run --example mini_loop -- --scale 0.05   # every delay x 0.05
//! ```
//!
//! The parts, in the order they appear:
//!
//! 1. **The ready queue and the waker.** A task is a boxed future with a number. When
//!    something a task waits for happens (a timer fires, a sibling finishes), the task's
//!    `Waker` pushes its number onto the ready queue. That is the whole contract of
//!    `std::task::Waker`: "poll me again".
//! 2. **The timer heap.** `sleep` puts (deadline, waker) on a min-heap; the loop pops what is
//!    due and calls the wakers. asyncio keeps exactly such a heap (`_scheduled`).
//! 3. **The loop turn and `block_on`.** Each turn: sleep until the next timer if there is
//!    nothing to do, move due timers to the ready queue, poll every task that was ready.
//!    Repeat until the main future is done.
//! 4. **`spawn` and its join handle.** A task stores its output where the handle can find it
//!    and wakes whoever awaits the handle.
//! 5. **The demo.** The tutorial's three one-second tasks, done in one second, with every turn
//!    of the loop printed so you can watch it work.

use std::cell::{Cell, RefCell};
use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, VecDeque};
use std::future::Future;
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

// =============================================================================================
// Part 1: the ready queue and the waker
//
// Real thing: `src/runtime/waker.rs` (one waker per task, made once, with a fast path for
// same-thread wake-ups and a channel + `mio::Waker` for other threads) and the ready queue in
// `src/runtime/core.rs`.
// =============================================================================================

/// A task's number. The main future (the one given to `block_on`) is not in the task list, so
/// it gets a number of its own, as `MAIN_KEY` does in `src/runtime/core.rs`.
type TaskId = usize;
const MAIN: TaskId = usize::MAX;

/// Numbers of tasks to poll. `std::task::Waker` must be `Send + Sync` (any thread may call
/// `wake`), hence the `Mutex`; tinyloop skips the lock for wake-ups on the loop's own thread.
struct ReadyQueue {
    ids: Mutex<VecDeque<TaskId>>,
    /// The loop's thread, to unpark it if it is asleep waiting for work.
    loop_thread: Thread,
}

impl ReadyQueue {
    fn push(&self, id: TaskId) {
        self.ids.lock().unwrap().push_back(id);
        self.loop_thread.unpark();
    }

    fn is_empty(&self) -> bool {
        self.ids.lock().unwrap().is_empty()
    }

    /// Everything queued so far. Tasks woken *while these run* wait for the next turn, so a
    /// task that keeps waking itself cannot starve the timers (asyncio: `ntodo = len(ready)`).
    fn take_all(&self) -> VecDeque<TaskId> {
        std::mem::take(&mut *self.ids.lock().unwrap())
    }
}

/// The waker: "poll task `id` again". It never holds the future itself, so waking from any
/// thread is safe: only the loop's thread ever touches a future.
struct TaskWaker {
    id: TaskId,
    ready: Arc<ReadyQueue>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Waking twice queues twice; the second poll is just a spurious one. tinyloop remembers
        // that a task is already scheduled and queues it once (`src/runtime/tasks.rs`, `State`).
        self.ready.push(self.id);
    }
}

// =============================================================================================
// Part 2: the timer heap
//
// Real thing: `src/runtime/wheel/` (a hierarchical timer wheel: O(1) to arm and to cancel,
// where a heap pays O(log n)) and `src/time/sleep.rs` (a sleep arms one timer entry and only
// updates its waker on later polls, where this one pushes a new entry per poll).
// =============================================================================================

/// One armed timer. Ordered by deadline, then by arming order, so equal deadlines fire FIFO.
struct Timer {
    deadline: Instant,
    seq: u64,
    waker: Waker,
}

impl PartialEq for Timer {
    fn eq(&self, other: &Self) -> bool {
        (self.deadline, self.seq) == (other.deadline, other.seq)
    }
}
impl Eq for Timer {}
impl PartialOrd for Timer {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Timer {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.deadline, self.seq).cmp(&(other.deadline, other.seq))
    }
}

/// `sleep(d)`: ready once the deadline has passed; until then, leaves a timer behind.
struct Sleep {
    deadline: Instant,
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= self.deadline {
            return Poll::Ready(());
        }
        // Not yet: ask the loop to call our waker at the deadline, then say "not ready".
        current().add_timer(self.deadline, cx.waker().clone());
        Poll::Pending
    }
}

fn sleep(d: Duration) -> Sleep {
    Sleep {
        deadline: Instant::now() + d,
    }
}

// =============================================================================================
// Part 3: the loop, one turn at a time, and `block_on`
//
// Real thing: `src/runtime/core.rs` (`run_once`, narrated step by step, with I/O polling via
// mio between "wait" and "timers"), `src/runtime/tasks.rs` (the task slab: slots are reused,
// and a generation number keeps stale wakers from waking a stranger), `src/base_events.rs`
// (`block_on` and `run`), `src/runtime/context.rs` (the thread-local "running loop").
// =============================================================================================

type BoxFuture = Pin<Box<dyn Future<Output = ()>>>;

struct Runtime {
    /// Task number -> its future; `None` once it has finished. (Slots are never reused here.)
    tasks: RefCell<Vec<Option<BoxFuture>>>,
    ready: Arc<ReadyQueue>,
    timers: RefCell<BinaryHeap<Reverse<Timer>>>,
    next_seq: Cell<u64>,
}

thread_local! {
    /// The loop running on this thread, so `spawn` and `sleep` can find it (asyncio's
    /// `get_running_loop()`).
    static CURRENT: RefCell<Option<Rc<Runtime>>> = const { RefCell::new(None) };
}

fn current() -> Rc<Runtime> {
    CURRENT
        .with(|c| c.borrow().clone())
        .expect("spawn and sleep only work inside block_on")
}

impl Runtime {
    fn waker(&self, id: TaskId) -> Waker {
        Waker::from(Arc::new(TaskWaker {
            id,
            ready: Arc::clone(&self.ready),
        }))
    }

    fn add_timer(&self, deadline: Instant, waker: Waker) {
        let seq = self.next_seq.get();
        self.next_seq.set(seq + 1);
        self.timers.borrow_mut().push(Reverse(Timer {
            deadline,
            seq,
            waker,
        }));
    }

    fn add_task(&self, fut: BoxFuture) {
        let mut tasks = self.tasks.borrow_mut();
        tasks.push(Some(fut));
        self.ready.push(tasks.len() - 1); // a new task is ready at once: its first poll
    }

    /// Step 1: if nothing is ready, sleep until the next timer is due (or until a waker on
    /// another thread unparks us). The real loop blocks in `epoll_wait` here instead, so that
    /// a socket becoming readable wakes it too.
    fn wait_for_work(&self) {
        // `park` may return early (an `unpark` left over from a wake-up we already handled, or
        // a spurious return), so check again every time it does.
        while self.ready.is_empty() {
            let next = self.timers.borrow().peek().map(|t| t.0.deadline);
            match next {
                Some(deadline) => {
                    let now = Instant::now();
                    if deadline <= now {
                        return;
                    }
                    thread::park_timeout(deadline - now);
                }
                // No timers, nothing ready: only another thread can wake us now. With no
                // other thread that is a deadlock, and we hang, as asyncio would; tinyloop
                // notices and reports it instead (`src/runtime/deadlock.rs`).
                None => thread::park(),
            }
        }
    }

    /// Step 2: every timer that is due wakes its task.
    fn fire_timers(&self) -> usize {
        let now = Instant::now();
        let mut due = Vec::new();
        {
            let mut timers = self.timers.borrow_mut();
            while timers.peek().is_some_and(|t| t.0.deadline <= now) {
                due.push(timers.pop().unwrap().0.waker);
            }
        }
        // Wake outside the borrow: a waker may run code that arms another timer.
        let fired = due.len();
        for waker in due {
            waker.wake();
        }
        fired
    }

    /// Step 3, for one task: take its future out, poll it, put it back if it is not done.
    /// Taken *out*, so that the task may call `spawn` (which needs `tasks`) while it runs.
    fn poll_task(&self, id: TaskId) {
        let Some(mut fut) = self.tasks.borrow_mut()[id].take() else {
            return; // already finished: a late or duplicate wake-up
        };
        let waker = self.waker(id);
        if fut
            .as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_pending()
        {
            self.tasks.borrow_mut()[id] = Some(fut);
        }
    }
}

/// Runs `fut` to completion on a new loop and returns its output (asyncio's `run`).
fn block_on<F: Future>(fut: F) -> F::Output {
    let rt = Rc::new(Runtime {
        tasks: RefCell::new(Vec::new()),
        ready: Arc::new(ReadyQueue {
            ids: Mutex::new(VecDeque::new()),
            loop_thread: thread::current(),
        }),
        timers: RefCell::new(BinaryHeap::new()),
        next_seq: Cell::new(0),
    });
    CURRENT.with(|c| *c.borrow_mut() = Some(Rc::clone(&rt)));

    let mut main = pin!(fut);
    let main_waker = rt.waker(MAIN);
    rt.ready.push(MAIN);
    let started = Instant::now();
    let mut turn = 0;
    let output = loop {
        turn += 1;
        rt.wait_for_work(); // 1. wait
        let fired = rt.fire_timers(); // 2. due timers -> ready
        let batch = rt.ready.take_all(); // 3. run what is ready, and only that
        trace(turn, started, fired, &batch, rt.timers.borrow().len());
        let mut output = None;
        for id in batch {
            if id == MAIN {
                if let Poll::Ready(v) = main.as_mut().poll(&mut Context::from_waker(&main_waker)) {
                    output = Some(v);
                }
            } else {
                rt.poll_task(id);
            }
        }
        if let Some(v) = output {
            break v;
        }
    };

    // The main future is done: tasks still alive are dropped, which cancels them.
    CURRENT.with(|c| c.borrow_mut().take());
    rt.tasks.borrow_mut().clear();
    output
}

/// Prints one line per turn: what woke up and what ran.
fn trace(turn: u32, started: Instant, fired: usize, batch: &VecDeque<TaskId>, armed: usize) {
    let names: Vec<String> = batch
        .iter()
        .map(|&id| match id {
            MAIN => "main".to_string(),
            id => format!("task {id}"),
        })
        .collect();
    println!(
        "  turn {turn} at {:.3} s: {fired} timer(s) fired; polling [{}]; {armed} still armed",
        started.elapsed().as_secs_f64(),
        names.join(", ")
    );
}

// =============================================================================================
// Part 4: `spawn` and the handle that waits for a task's result
//
// Real thing: `src/task/mod.rs` (`Task<T>`: cancel, names, `JoinError` for panics and
// cancellation) over `src/runtime/tasks.rs`, where the result waits in the task's slot.
// =============================================================================================

/// Where a finished task leaves its output, and who to wake when it does.
struct JoinState<T> {
    output: Option<T>,
    waiter: Option<Waker>,
}

/// Awaiting it gives the task's output (asyncio's `await task`).
struct JoinHandle<T> {
    state: Rc<RefCell<JoinState<T>>>,
}

fn spawn<F>(fut: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let state = Rc::new(RefCell::new(JoinState {
        output: None,
        waiter: None,
    }));
    let theirs = Rc::clone(&state);
    current().add_task(Box::pin(async move {
        let output = fut.await;
        let waiter = {
            let mut s = theirs.borrow_mut();
            s.output = Some(output);
            s.waiter.take()
        };
        if let Some(w) = waiter {
            w.wake();
        }
    }));
    JoinHandle { state }
}

impl<T> Future for JoinHandle<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut s = self.state.borrow_mut();
        match s.output.take() {
            Some(v) => Poll::Ready(v),
            None => {
                s.waiter = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

// =============================================================================================
// Part 5: the tutorial's demo, on our own loop
// =============================================================================================

async fn async_task(name: &'static str, delay: Duration, started: Instant) -> String {
    println!("[{:.3} s] {name} started", started.elapsed().as_secs_f64());
    sleep(delay).await;
    println!("[{:.3} s] {name} finished", started.elapsed().as_secs_f64());
    format!("{name} result")
}

fn main() {
    let started = Instant::now();
    let results = block_on(async move {
        let a = spawn(async_task("Task A", secs(1.0), started));
        let b = spawn(async_task("Task B", secs(1.0), started));
        let c = spawn(async_task("Task C", secs(1.0), started));
        vec![a.await, b.await, c.await]
    });
    println!("results: {results:?}");
    println!(
        "mini_loop total: {:.3} s for three 1 s tasks (scaled)",
        started.elapsed().as_secs_f64()
    );
}

// ---------- flags ----------

/// `--scale F` multiplies every delay (default 1.0; the tests run with 0.05).
fn scale() -> f64 {
    static SCALE: OnceLock<f64> = OnceLock::new();
    *SCALE.get_or_init(|| {
        let args: Vec<String> = std::env::args().collect();
        match args.iter().position(|a| a == "--scale") {
            Some(i) => args
                .get(i + 1)
                .and_then(|v| v.parse().ok())
                .expect("--scale takes a number, e.g. --scale 0.05"),
            None => 1.0,
        }
    })
}

/// `s` seconds, times `--scale`.
fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s * scale())
}
