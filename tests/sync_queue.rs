//! Queue, LifoQueue and PriorityQueue: CPython's `test_asyncio/test_queues.py`, plus two
//! model-based property tests.

#[path = "util/sync.rs"]
mod sync_util;
mod util;

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::future::Future;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::task::Poll;

use proptest::prelude::*;
use sync_util::{reentrant_waker, run_virtual, waiting, Manual};
use tinyloop::{
    spawn, yield_now, LifoQueue, PriorityQueue, Queue, QueueShutDown, TaskDoneError, TryGetError,
    TryPutError,
};
use util::ms;

// ---------------------------------------------------------------- order and size

#[test]
fn the_three_queues_differ_only_in_order() {
    let fifo = Queue::unbounded();
    let lifo = LifoQueue::unbounded();
    let prio = PriorityQueue::unbounded();
    for n in [3, 1, 2] {
        fifo.try_put(n).unwrap();
        lifo.try_put(n).unwrap();
        prio.try_put(n).unwrap();
    }
    let drain = |get: &dyn Fn() -> Result<i32, TryGetError>| -> Vec<i32> {
        std::iter::from_fn(|| get().ok()).collect()
    };
    assert_eq!(drain(&|| fifo.try_get()), [3, 1, 2]);
    assert_eq!(drain(&|| lifo.try_get()), [2, 1, 3]);
    assert_eq!(drain(&|| prio.try_get()), [1, 2, 3]);
}

#[test]
fn maxsize_zero_is_unbounded_and_sizes_are_reported() {
    let queue = Queue::new(0);
    for n in 0..1000 {
        queue.try_put(n).unwrap();
    }
    assert!(!queue.is_full());
    assert_eq!((queue.len(), queue.maxsize()), (1000, 0));

    let queue = Queue::new(2);
    assert!(queue.is_empty());
    queue.try_put('a').unwrap();
    queue.try_put('b').unwrap();
    assert!(queue.is_full());
    assert_eq!(queue.try_put('c'), Err(TryPutError::Full('c')));
    assert_eq!(queue.try_get(), Ok('a'));
    assert!(!queue.is_full());
    assert_eq!(Queue::<u8>::default().maxsize(), 0);
}

#[test]
fn debug_shows_state_like_asyncio_repr() {
    let queue = Queue::new(10);
    for n in 0..10 {
        queue.try_put(n).unwrap();
    }
    let _putter = waiting(queue.put(10));
    queue.try_get().unwrap(); // admits the putter, which has not run
    assert_eq!(
        format!("{queue:?}"),
        "Queue { len: 9, maxsize: 10, getters: 0, putters: 0, unfinished: 10 }"
    );
    let lifo = LifoQueue::<u8>::new(1);
    let _getter = waiting(lifo.get());
    lifo.shutdown();
    assert_eq!(
        format!("{lifo:?}"),
        "LifoQueue { len: 0, maxsize: 1, getters: 0, putters: 0, unfinished: 0, shut_down: true }"
    );
    let prio = PriorityQueue::new(3);
    let _getters = (waiting(prio.get()), waiting(prio.get()));
    prio.try_put(1).unwrap();
    assert_eq!(
        format!("{prio:?}"),
        "PriorityQueue { len: 1, maxsize: 3, getters: 1, putters: 0, unfinished: 1 }"
    );
}

// ---------------------------------------------------------------- waiting and fairness

#[test]
fn blocked_getters_are_served_in_order() {
    run_virtual(async {
        let queue = Queue::unbounded();
        let got = Rc::new(RefCell::new(Vec::new()));
        let getters: Vec<_> = (0..3)
            .map(|i| {
                let (queue, got) = (queue.clone(), got.clone());
                spawn(async move {
                    let item = queue.get().await.unwrap();
                    got.borrow_mut().push((i, item));
                })
            })
            .collect();
        yield_now().await;
        for item in ["x", "y", "z"] {
            queue.put(item).await.unwrap();
        }
        for getter in getters {
            getter.await.unwrap();
        }
        assert_eq!(*got.borrow(), [(0, "x"), (1, "y"), (2, "z")]);
    });
}

#[test]
fn blocked_putters_are_served_in_order() {
    run_virtual(async {
        let queue = Queue::new(1);
        queue.put(0).await.unwrap();
        let putters: Vec<_> = (1..=3)
            .map(|i| {
                let queue = queue.clone();
                spawn(async move { queue.put(i).await.unwrap() })
            })
            .collect();
        yield_now().await;
        assert_eq!(
            format!("{queue:?}"),
            "Queue { len: 1, maxsize: 1, getters: 0, putters: 3, unfinished: 1 }"
        );
        let mut got = Vec::new();
        for _ in 0..4 {
            got.push(queue.get().await.unwrap());
        }
        for putter in putters {
            putter.await.unwrap();
        }
        assert_eq!(got, [0, 1, 2, 3]);
    });
}

#[test]
fn try_get_does_not_take_an_item_promised_to_a_waiting_getter() {
    let queue = Queue::unbounded();
    let mut getter = waiting(queue.get());
    queue.try_put(1).unwrap(); // handed straight to the getter
    assert_eq!(
        queue.len(),
        1,
        "the item counts until the getter takes it, as in asyncio"
    );
    assert_eq!(queue.try_get(), Err(TryGetError::Empty));
    assert_eq!(getter.wakes(), 1);
    assert_eq!(getter.ready(), Ok(1));
    assert!(queue.is_empty());
}

#[test]
fn try_put_does_not_take_a_place_promised_to_a_waiting_putter() {
    let queue = Queue::new(1);
    queue.try_put(1).unwrap();
    let mut putter = waiting(queue.put(2));
    assert_eq!(queue.try_get(), Ok(1)); // the freed place is kept for the putter
    assert!(queue.is_full());
    assert_eq!(queue.try_put(3), Err(TryPutError::Full(3)));
    assert_eq!(putter.wakes(), 1);
    assert_eq!(putter.ready(), Ok(()));
    assert_eq!(queue.try_get(), Ok(2));
}

#[test]
fn pingpong_through_two_queues_of_one() {
    run_virtual(async {
        let (ping, pong) = (Queue::new(1), Queue::new(1));
        let echo = spawn({
            let (ping, pong) = (ping.clone(), pong.clone());
            async move {
                while let Ok(n) = ping.get().await {
                    pong.put(n + 1).await.unwrap();
                }
            }
        });
        let mut n = 0;
        for _ in 0..1000 {
            ping.put(n).await.unwrap();
            n = pong.get().await.unwrap();
        }
        assert_eq!(n, 1000);
        ping.shutdown();
        echo.await.unwrap();
    });
}

// ---------------------------------------------------------------- cancellation

#[test]
fn getter_dropped_after_an_item_was_handed_to_it_passes_it_to_the_next_getter() {
    let queue = Queue::unbounded();
    let first = waiting(queue.get());
    let mut second = waiting(queue.get());
    queue.try_put("item").unwrap(); // handed to first...
    drop(first); // ...which is cancelled before it runs
    assert_eq!(second.wakes(), 1);
    assert_eq!(second.ready(), Ok("item"));
    assert!(queue.is_empty());
}

#[test]
fn getter_dropped_after_an_item_was_handed_to_it_puts_it_back_in_front() {
    let fifo = Queue::unbounded();
    let getter = waiting(fifo.get());
    fifo.try_put(1).unwrap(); // handed to the getter
    fifo.try_put(2).unwrap(); // queued
    drop(getter);
    assert_eq!(
        (fifo.try_get(), fifo.try_get()),
        (Ok(1), Ok(2)),
        "1 went back to the front"
    );

    let lifo = LifoQueue::unbounded();
    let getter = waiting(lifo.get());
    lifo.try_put(1).unwrap();
    lifo.try_put(2).unwrap();
    drop(getter);
    assert_eq!(
        (lifo.try_get(), lifo.try_get()),
        (Ok(1), Ok(2)),
        "1 is next off the stack"
    );

    let prio = PriorityQueue::unbounded();
    let getter = waiting(prio.get());
    prio.try_put(5).unwrap();
    prio.try_put(7).unwrap();
    drop(getter);
    assert_eq!((prio.try_get(), prio.try_get()), (Ok(5), Ok(7)));
}

#[test]
fn getter_task_cancelled_after_an_item_was_handed_to_it() {
    run_virtual(async {
        let queue = Queue::unbounded();
        let spawn_getter = || {
            let queue = queue.clone();
            spawn(async move { queue.get().await.unwrap() })
        };
        let (a, b) = (spawn_getter(), spawn_getter());
        yield_now().await;
        queue.put("first").await.unwrap(); // handed to a...
        a.cancel(); // ...which is cancelled in the same turn
        assert!(a.await.unwrap_err().is_cancelled());
        queue.put("second").await.unwrap();
        assert_eq!(b.await.unwrap(), "first", "a passed its item on to b");
        assert_eq!(queue.get().await, Ok("second"));
    });
}

#[test]
fn putter_dropped_after_it_was_admitted_gives_its_place_to_the_next_putter() {
    let queue = Queue::new(1);
    queue.try_put(0).unwrap();
    let first = waiting(queue.put(1));
    let mut second = waiting(queue.put(2));
    assert_eq!(queue.try_get(), Ok(0)); // admits first...
    drop(first); // ...which is cancelled before it runs: its item is not put
    assert_eq!(second.wakes(), 1);
    assert_eq!(second.ready(), Ok(()));
    assert_eq!(queue.try_get(), Ok(2));
    assert_eq!(queue.try_get(), Err(TryGetError::Empty));

    // With nobody behind it, the place is simply free again.
    queue.try_put(0).unwrap();
    let only = waiting(queue.put(1));
    queue.try_get().unwrap();
    drop(only);
    assert!(!queue.is_full());
    queue.try_put(3).unwrap();
}

#[test]
fn putter_dropped_while_waiting_takes_its_item_away() {
    let dropped = Rc::new(Cell::new(0));
    let queue = Queue::new(1);
    queue.try_put(Tracked(dropped.clone())).unwrap();
    let putter = waiting(queue.put(Tracked(dropped.clone())));
    assert_eq!(dropped.get(), 0);
    drop(putter);
    assert_eq!(
        dropped.get(),
        1,
        "the waiting put's item was dropped with it"
    );
    assert_eq!(
        format!("{queue:?}"),
        "Queue { len: 1, maxsize: 1, getters: 0, putters: 0, unfinished: 1 }"
    );
}

#[test]
fn putter_task_cancelled_after_it_was_admitted() {
    run_virtual(async {
        let queue = Queue::new(1);
        queue.put(0).await.unwrap();
        let spawn_putter = |n| {
            let queue = queue.clone();
            spawn(async move { queue.put(n).await.unwrap() })
        };
        let (a, b) = (spawn_putter(1), spawn_putter(2));
        yield_now().await;
        assert_eq!(queue.get().await, Ok(0)); // admits a...
        a.cancel(); // ...which is cancelled in the same turn
        assert!(a.await.unwrap_err().is_cancelled());
        b.await.unwrap();
        assert_eq!(queue.get().await, Ok(2));
        assert!(queue.is_empty());
    });
}

/// Counts its drops.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Tracked(Rc<Cell<usize>>);

impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

// ---------------------------------------------------------------- task_done and join

#[test]
fn task_done_too_many_times_is_an_error_that_changes_nothing() {
    let queue = Queue::unbounded();
    assert_eq!(queue.task_done(), Err(TaskDoneError));
    queue.try_put(1).unwrap();
    queue.try_get().unwrap();
    assert_eq!(queue.task_done(), Ok(()));
    assert_eq!(queue.task_done(), Err(TaskDoneError));
    assert_eq!(
        TaskDoneError.to_string(),
        "task_done() was called more times than items were put in the queue; call it once per \
         item taken"
    );
    let mut join = Manual::new(queue.join());
    join.ready();
}

#[test]
fn join_waits_until_every_item_is_done() {
    run_virtual(async {
        let queue = Queue::unbounded();
        queue.join().await; // nothing put: at once
        let done = Rc::new(Cell::new(0));
        for n in 0..5 {
            queue.put(n).await.unwrap();
        }
        let worker = spawn({
            let (queue, done) = (queue.clone(), done.clone());
            async move {
                while let Ok(_item) = queue.get().await {
                    tinyloop::sleep(ms(1)).await;
                    done.set(done.get() + 1);
                    queue.task_done().unwrap();
                }
            }
        });
        queue.join().await;
        assert_eq!(done.get(), 5);
        queue.shutdown();
        worker.await.unwrap();
    });
}

// ---------------------------------------------------------------- shutdown

#[test]
fn shutdown_fails_puts_and_lets_gets_drain() {
    let queue = Queue::unbounded();
    queue.try_put(1).unwrap();
    queue.try_put(2).unwrap();
    queue.shutdown();
    assert!(queue.is_shut_down());
    assert_eq!(queue.try_put(3), Err(TryPutError::ShutDown(3)));
    assert_eq!(Manual::new(queue.put(4)).ready(), Err(QueueShutDown(4)));
    assert_eq!(Manual::new(queue.get()).ready(), Ok(1));
    assert_eq!(queue.try_get(), Ok(2));
    assert_eq!(queue.try_get(), Err(TryGetError::ShutDown));
    assert_eq!(Manual::new(queue.get()).ready(), Err(QueueShutDown(())));
}

#[test]
fn shutdown_wakes_blocked_putters_with_their_items_and_blocked_getters() {
    let full = Queue::new(1);
    full.try_put(0).unwrap();
    let mut putter = waiting(full.put(1));
    let empty = Queue::<u8>::new(1);
    let mut getter = waiting(empty.get());
    full.shutdown();
    empty.shutdown();
    assert_eq!((putter.wakes(), getter.wakes()), (1, 1));
    assert_eq!(putter.ready(), Err(QueueShutDown(1)), "the item comes back");
    assert_eq!(getter.ready(), Err(QueueShutDown(())));
    assert_eq!(full.try_get(), Ok(0), "what was queued can still be got");
}

#[test]
fn shutdown_keeps_items_already_handed_to_getters_and_admitted_putters_fail() {
    let queue = Queue::new(1);
    let mut getter = waiting(queue.get());
    queue.try_put(1).unwrap(); // handed to the getter
    let mut putter = waiting(queue.put(2)); // queue is full: waits
    queue.shutdown();
    assert_eq!(getter.ready(), Ok(1));
    assert_eq!(putter.ready(), Err(QueueShutDown(2)));

    let queue = Queue::new(1);
    queue.try_put(1).unwrap();
    let mut putter = waiting(queue.put(2));
    queue.try_get().unwrap(); // admits the putter
    queue.shutdown();
    assert_eq!(
        putter.ready(),
        Err(QueueShutDown(2)),
        "admitted, but shut down before it ran"
    );
}

#[test]
fn shutdown_immediate_returns_the_items_and_counts_them_done() {
    let queue = PriorityQueue::unbounded();
    for n in [3, 1, 2] {
        queue.try_put(n).unwrap();
    }
    assert_eq!(
        queue.shutdown_immediate(),
        [1, 2, 3],
        "in the order gets would have had them"
    );
    assert_eq!(queue.try_get(), Err(TryGetError::ShutDown));
    assert_eq!(queue.task_done(), Err(TaskDoneError));
    Manual::new(queue.join()).ready();
}

#[test]
fn shutdown_immediate_wakes_every_blocked_put_get_and_join() {
    run_virtual(async {
        let full = Queue::new(1);
        full.put(0).await.unwrap();
        let empty = Queue::<i32>::unbounded();
        let putter = spawn({
            let full = full.clone();
            async move { full.put(1).await }
        });
        let getter = spawn({
            let empty = empty.clone();
            async move { empty.get().await }
        });
        let joiner = spawn({
            let full = full.clone();
            async move { full.join().await }
        });
        yield_now().await; // all three are blocked
        assert_eq!(full.shutdown_immediate(), [0]);
        empty.shutdown_immediate();
        assert_eq!(putter.await.unwrap(), Err(QueueShutDown(1)));
        assert_eq!(getter.await.unwrap(), Err(QueueShutDown(())));
        joiner.await.unwrap(); // the handed-back item counts as done
    });
}

#[test]
fn after_shutdown_immediate_join_waits_for_items_already_taken() {
    run_virtual(async {
        let queue = Queue::unbounded();
        queue.put("taken").await.unwrap();
        queue.put("queued").await.unwrap();
        let taken = queue.get().await.unwrap();
        let joiner = spawn({
            let queue = queue.clone();
            async move { queue.join().await }
        });
        yield_now().await;
        assert_eq!(queue.shutdown_immediate(), ["queued"]);
        yield_now().await;
        assert!(!joiner.is_done(), "\"{taken}\" is not done yet");
        queue.task_done().unwrap();
        joiner.await.unwrap();
    });
}

// ---------------------------------------------------------------- errors and wakers

#[test]
fn errors_read_as_sentences_and_hand_items_back() {
    struct NotDebug;
    let queue = Queue::new(1);
    queue.try_put(NotDebug).unwrap();
    let err = queue.try_put(NotDebug).unwrap_err();
    assert_eq!(format!("{err:?}"), "Full(..)");
    assert_eq!(
        err.to_string(),
        "the queue is full; wait for room with `put`, or make the queue larger"
    );
    let NotDebug = err.into_inner();
    queue.shutdown();
    let err = queue.try_put(NotDebug).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the queue was shut down, so it takes no more items"
    );
    let err = Manual::new(queue.put(NotDebug)).ready().unwrap_err();
    let QueueShutDown(NotDebug) = err;
    assert_eq!(
        QueueShutDown(()).to_string(),
        "the queue was shut down: it takes no more items, and gets fail once it is empty"
    );
    assert_eq!(
        TryGetError::Empty.to_string(),
        "the queue is empty; wait for an item with `get`"
    );
    assert_eq!(
        TryGetError::ShutDown.to_string(),
        "the queue was shut down and has no items left"
    );
    let _: &dyn std::error::Error = &QueueShutDown(NotDebug);
}

#[test]
fn reentrant_wakers_can_use_the_queue() {
    let queue = Queue::new(1);
    // A getter's waker that reads the queue and tries to take from it on wake and on drop.
    let (waker, calls) = reentrant_waker({
        let queue = queue.clone();
        move || {
            assert_eq!(
                queue.try_get(),
                Err(TryGetError::Empty),
                "promised to the getter"
            );
            let _ = format!("{queue:?}");
        }
    });
    let mut get = Box::pin(queue.get());
    assert!(sync_util::poll_with(get.as_mut(), &waker).is_pending());
    drop(waker);
    queue.try_put(1).unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 2, "woken, then dropped");
    assert_eq!(Manual::new(get).ready(), Ok(1));

    // A putter's waker that puts on wake (the place is promised, so that fails).
    queue.try_put(1).unwrap();
    let (waker, calls) = reentrant_waker({
        let queue = queue.clone();
        move || assert!(queue.try_put(9).is_err())
    });
    let mut put = Box::pin(queue.put(2));
    assert!(sync_util::poll_with(put.as_mut(), &waker).is_pending());
    drop(waker);
    assert_eq!(queue.try_get(), Ok(1));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    drop(put); // admitted, dropped: the place is free again

    // A joiner's waker that puts on wake, and waiters woken by shutdown.
    let (waker, calls) = reentrant_waker({
        let queue = queue.clone();
        move || assert!(queue.try_put(5).is_err())
    });
    queue.try_put(1).unwrap();
    let mut join = Box::pin(queue.join());
    assert!(sync_util::poll_with(join.as_mut(), &waker).is_pending());
    let mut put = Box::pin(queue.put(3));
    assert!(sync_util::poll_with(put.as_mut(), &waker).is_pending());
    drop(waker);
    queue.try_get().unwrap();
    queue.task_done().unwrap();
    queue.shutdown_immediate();
    drop((join, put));
    assert!(calls.load(Ordering::SeqCst) >= 2);
}

// ---------------------------------------------------------------- model-based tests

/// What the property tests need from each queue type.
trait TestQueue {
    type Item;
    fn with_maxsize(maxsize: usize) -> Self;
    fn put(&self, item: Item) -> impl Future<Output = Result<(), QueueShutDown<Item>>> + '_;
    fn get(&self) -> impl Future<Output = Result<Item, QueueShutDown>> + '_;
    fn join(&self) -> impl Future<Output = ()> + '_;
    fn try_put(&self, item: Item) -> Result<(), TryPutError<Item>>;
    fn try_get(&self) -> Result<Item, TryGetError>;
    fn task_done(&self) -> Result<(), TaskDoneError>;
    fn shutdown(&self);
    fn shutdown_immediate(&self) -> Vec<Item>;
    fn len(&self) -> usize;
    fn is_full(&self) -> bool;
    fn is_shut_down(&self) -> bool;
    fn debug(&self) -> String;
}

/// A value plus a unique serial number, so every item is distinct.
type Item = (u8, u32);

macro_rules! test_queue {
    ($name:ident) => {
        impl TestQueue for $name<Item> {
            type Item = Item;
            fn with_maxsize(maxsize: usize) -> Self {
                $name::new(maxsize)
            }
            fn put(
                &self,
                item: Item,
            ) -> impl Future<Output = Result<(), QueueShutDown<Item>>> + '_ {
                $name::put(self, item)
            }
            fn get(&self) -> impl Future<Output = Result<Item, QueueShutDown>> + '_ {
                $name::get(self)
            }
            fn join(&self) -> impl Future<Output = ()> + '_ {
                $name::join(self)
            }
            fn try_put(&self, item: Item) -> Result<(), TryPutError<Item>> {
                $name::try_put(self, item)
            }
            fn try_get(&self) -> Result<Item, TryGetError> {
                $name::try_get(self)
            }
            fn task_done(&self) -> Result<(), TaskDoneError> {
                $name::task_done(self)
            }
            fn shutdown(&self) {
                $name::shutdown(self)
            }
            fn shutdown_immediate(&self) -> Vec<Item> {
                $name::shutdown_immediate(self)
            }
            fn len(&self) -> usize {
                $name::len(self)
            }
            fn is_full(&self) -> bool {
                $name::is_full(self)
            }
            fn is_shut_down(&self) -> bool {
                $name::is_shut_down(self)
            }
            fn debug(&self) -> String {
                format!("{self:?}")
            }
        }
    };
}
test_queue!(Queue);
test_queue!(LifoQueue);
test_queue!(PriorityQueue);

#[derive(Debug, Clone, Copy)]
enum Kind {
    Fifo,
    Lifo,
    Priority,
}

#[derive(Debug, Clone)]
enum Op {
    TryPut(u8),
    TryGet,
    /// Start a `put` future: poll it once, keep it if it waits.
    Put(u8),
    /// Start a `get` future.
    Get,
    /// Start a `join` future.
    Join,
    TaskDone,
    /// Drop the n-th waiting future (modulo their number): a cancellation.
    Drop(usize),
    Shutdown,
    ShutdownImmediate,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => any::<u8>().prop_map(Op::TryPut),
        3 => Just(Op::TryGet),
        4 => any::<u8>().prop_map(Op::Put),
        4 => Just(Op::Get),
        1 => Just(Op::Join),
        2 => Just(Op::TaskDone),
        2 => any::<usize>().prop_map(Op::Drop),
        1 => Just(Op::Shutdown),
        1 => Just(Op::ShutdownImmediate),
    ]
}

/// How a waiting future finished.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    Put(Result<(), Item>),
    Get(Result<Item, ()>),
    Joined,
}

/// The reference: a `Vec` used as deque, stack or heap, and two FIFOs of waiting futures, with
/// asyncio's rules applied the obvious way. Futures are named by a serial number.
struct Model {
    kind: Kind,
    items: Vec<Item>,
    maxsize: usize,
    unfinished: usize,
    shut_down: bool,
    getters: Vec<u32>,
    putters: Vec<(u32, Item)>,
    joiners: Vec<u32>,
    finished: Vec<(u32, Outcome)>,
}

impl Model {
    fn new(kind: Kind, maxsize: usize) -> Self {
        Model {
            kind,
            items: Vec::new(),
            maxsize,
            unfinished: 0,
            shut_down: false,
            getters: Vec::new(),
            putters: Vec::new(),
            joiners: Vec::new(),
            finished: Vec::new(),
        }
    }

    fn is_full(&self) -> bool {
        self.maxsize > 0 && self.items.len() >= self.maxsize
    }

    fn pop(&mut self) -> Option<Item> {
        if self.items.is_empty() {
            return None;
        }
        let index = match self.kind {
            Kind::Fifo => 0,
            Kind::Lifo => self.items.len() - 1,
            Kind::Priority => (0..self.items.len())
                .min_by_key(|&i| self.items[i])
                .unwrap(),
        };
        Some(self.items.remove(index))
    }

    /// An item enters the queue: to the first waiting getter, or into the store.
    fn deliver(&mut self, item: Item) {
        self.unfinished += 1;
        if self.getters.is_empty() {
            self.items.push(item);
        } else {
            let getter = self.getters.remove(0);
            self.finished.push((getter, Outcome::Get(Ok(item))));
        }
    }

    /// A place freed up: the first waiting putter gets it.
    fn refill(&mut self) {
        if !self.is_full() && !self.putters.is_empty() {
            let (putter, item) = self.putters.remove(0);
            self.deliver(item);
            self.finished.push((putter, Outcome::Put(Ok(()))));
        }
    }

    fn try_put(&mut self, item: Item) -> Result<(), TryPutError<Item>> {
        if self.shut_down {
            Err(TryPutError::ShutDown(item))
        } else if self.is_full() || !self.putters.is_empty() {
            Err(TryPutError::Full(item))
        } else {
            self.deliver(item);
            Ok(())
        }
    }

    fn try_get(&mut self) -> Result<Item, TryGetError> {
        match self.pop() {
            Some(item) => {
                self.refill();
                Ok(item)
            }
            None if self.shut_down => Err(TryGetError::ShutDown),
            None => Err(TryGetError::Empty),
        }
    }

    fn put(&mut self, id: u32, item: Item) {
        match self.try_put(item) {
            Ok(()) => self.finished.push((id, Outcome::Put(Ok(())))),
            Err(TryPutError::ShutDown(item)) => self.finished.push((id, Outcome::Put(Err(item)))),
            Err(TryPutError::Full(item)) => self.putters.push((id, item)),
        }
    }

    fn get(&mut self, id: u32) {
        match self.try_get() {
            Ok(item) => self.finished.push((id, Outcome::Get(Ok(item)))),
            Err(TryGetError::ShutDown) => self.finished.push((id, Outcome::Get(Err(())))),
            Err(TryGetError::Empty) => self.getters.push(id),
        }
    }

    fn join(&mut self, id: u32) {
        if self.unfinished == 0 {
            self.finished.push((id, Outcome::Joined));
        } else {
            self.joiners.push(id);
        }
    }

    fn all_done(&mut self) {
        for joiner in self.joiners.drain(..) {
            self.finished.push((joiner, Outcome::Joined));
        }
    }

    fn task_done(&mut self) -> Result<(), TaskDoneError> {
        self.unfinished = self.unfinished.checked_sub(1).ok_or(TaskDoneError)?;
        if self.unfinished == 0 {
            self.all_done();
        }
        Ok(())
    }

    fn shutdown(&mut self, immediate: bool) -> Vec<Item> {
        self.shut_down = true;
        for getter in self.getters.drain(..) {
            self.finished.push((getter, Outcome::Get(Err(()))));
        }
        for (putter, item) in self.putters.drain(..) {
            self.finished.push((putter, Outcome::Put(Err(item))));
        }
        if !immediate {
            return Vec::new();
        }
        let items: Vec<Item> = std::iter::from_fn(|| self.pop()).collect();
        self.unfinished = self.unfinished.saturating_sub(items.len());
        if self.unfinished == 0 {
            self.all_done();
        }
        items
    }

    fn cancel(&mut self, id: u32) {
        self.getters.retain(|&g| g != id);
        self.putters.retain(|&(p, _)| p != id);
        self.joiners.retain(|&j| j != id);
    }
}

/// A future under test, polled by hand, and what its output means.
enum Waiting<'a> {
    Put(Manual<'a, Result<(), QueueShutDown<Item>>>),
    Get(Manual<'a, Result<Item, QueueShutDown>>),
    Join(Manual<'a, ()>),
}

impl Waiting<'_> {
    fn poll(&mut self) -> Option<Outcome> {
        let outcome = match self {
            Waiting::Put(f) => f
                .poll()
                .map(|r| Outcome::Put(r.map_err(|QueueShutDown(i)| i))),
            Waiting::Get(f) => f.poll().map(|r| Outcome::Get(r.map_err(|_| ()))),
            Waiting::Join(f) => f.poll().map(|()| Outcome::Joined),
        };
        match outcome {
            Poll::Ready(outcome) => Some(outcome),
            Poll::Pending => None,
        }
    }
}

/// Runs `ops` against the queue and the model. After each operation every waiting future is
/// polled until none makes progress (as a loop would run every woken task), and then the
/// futures that finished, their outputs, and the queue's visible state must all agree.
fn check_against_model<Q: TestQueue<Item = Item>>(
    kind: Kind,
    maxsize: usize,
    ops: &[Op],
) -> Result<(), TestCaseError> {
    let queue = Q::with_maxsize(maxsize);
    let mut model = Model::new(kind, maxsize);
    let mut waiting: Vec<(u32, Waiting<'_>)> = Vec::new();
    let mut finished: Vec<(u32, Outcome)> = Vec::new();
    for (id, op) in (1u32..).zip(ops) {
        match *op {
            Op::TryPut(v) => {
                prop_assert_eq!(queue.try_put((v, id)), model.try_put((v, id)));
            }
            Op::TryGet => prop_assert_eq!(queue.try_get(), model.try_get()),
            Op::Put(v) => {
                waiting.push((id, Waiting::Put(Manual::new(queue.put((v, id))))));
                model.put(id, (v, id));
            }
            Op::Get => {
                waiting.push((id, Waiting::Get(Manual::new(queue.get()))));
                model.get(id);
            }
            Op::Join => {
                waiting.push((id, Waiting::Join(Manual::new(queue.join()))));
                model.join(id);
            }
            Op::TaskDone => prop_assert_eq!(queue.task_done(), model.task_done()),
            Op::Drop(n) if !waiting.is_empty() => {
                let (id, fut) = waiting.remove(n % waiting.len());
                drop(fut);
                model.cancel(id);
            }
            Op::Drop(_) => {}
            Op::Shutdown => {
                queue.shutdown();
                model.shutdown(false);
            }
            Op::ShutdownImmediate => {
                prop_assert_eq!(queue.shutdown_immediate(), model.shutdown(true));
            }
        }
        // Run everything that can run.
        loop {
            let before = waiting.len();
            let mut index = 0;
            while index < waiting.len() {
                match waiting[index].1.poll() {
                    Some(outcome) => finished.push((waiting.remove(index).0, outcome)),
                    None => index += 1,
                }
            }
            if waiting.len() == before {
                break;
            }
        }
        finished.sort();
        model.finished.sort();
        prop_assert_eq!(&finished, &model.finished, "after {:?}", op);
        prop_assert_eq!(queue.len(), model.items.len());
        prop_assert_eq!(queue.is_full(), model.is_full());
        prop_assert_eq!(queue.is_shut_down(), model.shut_down);
        let debug = queue.debug();
        let expected = format!(
            "{{ len: {}, maxsize: {}, getters: {}, putters: {}, unfinished: {}",
            model.items.len(),
            maxsize,
            model.getters.len(),
            model.putters.len(),
            model.unfinished,
        );
        prop_assert!(debug.contains(&expected), "{} lacks {}", debug, expected);
    }
    Ok(())
}

proptest! {
    #[test]
    fn queue_matches_a_vecdeque(maxsize in 0..4usize, ops in prop::collection::vec(op(), 1..80)) {
        check_against_model::<Queue<Item>>(Kind::Fifo, maxsize, &ops)?;
    }

    #[test]
    fn lifo_queue_matches_a_stack(maxsize in 0..4usize, ops in prop::collection::vec(op(), 1..80)) {
        check_against_model::<LifoQueue<Item>>(Kind::Lifo, maxsize, &ops)?;
    }

    #[test]
    fn priority_queue_matches_a_heap(maxsize in 0..4usize, ops in prop::collection::vec(op(), 1..80)) {
        check_against_model::<PriorityQueue<Item>>(Kind::Priority, maxsize, &ops)?;
    }
}

#[derive(Debug, Clone)]
enum RaceOp {
    TryPut,
    TryGet,
    Put,
    Get,
    /// Poll the n-th unfinished future.
    Poll(usize),
    /// Drop the n-th unfinished future, whatever it was granted.
    Drop(usize),
    Shutdown,
    ShutdownImmediate,
}

fn race_op() -> impl Strategy<Value = RaceOp> {
    prop_oneof![
        3 => Just(RaceOp::TryPut),
        3 => Just(RaceOp::TryGet),
        4 => Just(RaceOp::Put),
        4 => Just(RaceOp::Get),
        5 => any::<usize>().prop_map(RaceOp::Poll),
        3 => any::<usize>().prop_map(RaceOp::Drop),
        1 => Just(RaceOp::Shutdown),
        1 => Just(RaceOp::ShutdownImmediate),
    ]
}

/// Futures are polled and dropped in any order, so they are often dropped after being handed
/// an item or a place but before running. Nothing may be lost or duplicated: every item whose
/// put succeeded comes out exactly once (from a get, from `shutdown_immediate`, or from the
/// final drain), no item comes out that was not put, and the queue never exceeds `maxsize`.
fn check_nothing_lost<Q: TestQueue<Item = Item>>(
    maxsize: usize,
    ops: &[RaceOp],
) -> Result<(), TestCaseError> {
    let queue = Q::with_maxsize(maxsize);
    let mut waiting: Vec<(Option<Item>, Waiting<'_>)> = Vec::new();
    let mut accepted = BTreeSet::new();
    let mut came_out = BTreeSet::new();
    let mut take_out = |item: Item, accepted: &BTreeSet<Item>| -> Result<(), TestCaseError> {
        prop_assert!(
            accepted.contains(&item),
            "{:?} came out but was never put",
            item
        );
        prop_assert!(came_out.insert(item), "{:?} came out twice", item);
        Ok(())
    };
    for (serial, op) in (1u32..).zip(ops) {
        let item = (0, serial);
        match *op {
            RaceOp::TryPut => match queue.try_put(item) {
                Ok(()) => drop(accepted.insert(item)),
                Err(err) => prop_assert_eq!(err.into_inner(), item),
            },
            RaceOp::TryGet => {
                if let Ok(item) = queue.try_get() {
                    take_out(item, &accepted)?;
                }
            }
            RaceOp::Put => waiting.push((Some(item), Waiting::Put(Manual::new(queue.put(item))))),
            RaceOp::Get => waiting.push((None, Waiting::Get(Manual::new(queue.get())))),
            RaceOp::Poll(n) if !waiting.is_empty() => {
                let n = n % waiting.len();
                match waiting[n].1.poll() {
                    None => {}
                    Some(Outcome::Put(Ok(()))) => {
                        accepted.insert(waiting.remove(n).0.unwrap());
                    }
                    Some(Outcome::Put(Err(back))) => {
                        prop_assert_eq!(Some(back), waiting.remove(n).0);
                    }
                    Some(Outcome::Get(Ok(item))) => {
                        waiting.remove(n);
                        take_out(item, &accepted)?;
                    }
                    Some(Outcome::Get(Err(()))) | Some(Outcome::Joined) => {
                        waiting.remove(n);
                    }
                }
            }
            RaceOp::Drop(n) if !waiting.is_empty() => drop(waiting.remove(n % waiting.len())),
            RaceOp::Poll(_) | RaceOp::Drop(_) => {}
            RaceOp::Shutdown => queue.shutdown(),
            RaceOp::ShutdownImmediate => {
                for item in queue.shutdown_immediate() {
                    take_out(item, &accepted)?;
                }
            }
        }
        if maxsize > 0 {
            prop_assert!(
                queue.len() <= maxsize,
                "{} is over its maxsize",
                queue.debug()
            );
        }
    }
    drop(waiting);
    queue.shutdown();
    while let Ok(item) = queue.try_get() {
        take_out(item, &accepted)?;
    }
    prop_assert_eq!(came_out, accepted);
    Ok(())
}

proptest! {
    #[test]
    fn queue_loses_nothing_to_cancellation(maxsize in 0..4usize, ops in prop::collection::vec(race_op(), 1..120)) {
        check_nothing_lost::<Queue<Item>>(maxsize, &ops)?;
    }

    #[test]
    fn lifo_queue_loses_nothing_to_cancellation(maxsize in 0..4usize, ops in prop::collection::vec(race_op(), 1..120)) {
        check_nothing_lost::<LifoQueue<Item>>(maxsize, &ops)?;
    }

    #[test]
    fn priority_queue_loses_nothing_to_cancellation(maxsize in 0..4usize, ops in prop::collection::vec(race_op(), 1..120)) {
        check_nothing_lost::<PriorityQueue<Item>>(maxsize, &ops)?;
    }
}

#[test]
fn getter_task_cancelled_after_an_item_was_handed_to_it_and_another_put_keeps_both() {
    run_virtual(async {
        let queue = Queue::unbounded();
        let q = queue.clone();
        let a = spawn(async move { q.get().await.unwrap() });
        yield_now().await;
        queue.put(1).await.unwrap(); // handed to a...
        queue.put(2).await.unwrap(); // ...another put follows...
        a.cancel(); // ...and a is cancelled before it runs
        assert!(a.await.unwrap_err().is_cancelled());
        assert_eq!(queue.get().await, Ok(1), "1 went back to the front");
        assert_eq!(queue.get().await, Ok(2));
    });
}

/// Two getters wait, two items come (1 to the first getter, 2 to the second), and the first
/// getter is dropped before it runs: the second gets 1 and 2 goes back to the front, in every
/// queue kind, bounded or not (issue 10: nothing lost, order kept).
macro_rules! dropped_getter_keeps_order {
    ($name:ident, $queue:ident) => {
        #[test]
        fn $name() {
            for maxsize in [0, 2, 5] {
                let queue = $queue::new(maxsize);
                let first = waiting(queue.get());
                let mut second = waiting(queue.get());
                queue.try_put(1).unwrap(); // handed to first
                queue.try_put(2).unwrap(); // handed to second
                drop(first); // cancelled before it ran
                assert_eq!(second.ready(), Ok(1), "maxsize {maxsize}");
                queue.try_put(3).unwrap();
                assert_eq!(queue.len(), 2, "maxsize {maxsize}");
                let rest: Vec<i32> = std::iter::from_fn(|| queue.try_get().ok()).collect();
                match stringify!($queue) {
                    "LifoQueue" => assert_eq!(rest, [3, 2], "maxsize {maxsize}"),
                    _ => assert_eq!(rest, [2, 3], "maxsize {maxsize}"),
                }
            }
        }
    };
}

dropped_getter_keeps_order!(queue_dropped_getter_passes_its_item_on_in_order, Queue);
dropped_getter_keeps_order!(lifo_dropped_getter_passes_its_item_on_in_order, LifoQueue);
dropped_getter_keeps_order!(
    priority_dropped_getter_passes_its_item_on_in_order,
    PriorityQueue
);

#[test]
fn three_getters_the_middle_one_dropped_keeps_order() {
    let queue = Queue::unbounded();
    let mut a = waiting(queue.get());
    let b = waiting(queue.get());
    let mut c = waiting(queue.get());
    for n in 1..=3 {
        queue.try_put(n).unwrap();
    }
    drop(b);
    assert_eq!(a.ready(), Ok(1));
    assert_eq!(c.ready(), Ok(2));
    assert_eq!(queue.try_get(), Ok(3));
    assert!(queue.is_empty());
}
