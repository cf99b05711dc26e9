//! `asyncio.Queue`, `LifoQueue` and `PriorityQueue` (from `queues.py`).
//!
//! The three queues differ only in their [`Store`] (asyncio's `_put`/`_get` overrides): a
//! `VecDeque` for FIFO, a `Vec` for LIFO, a `BinaryHeap` of `Reverse` items for smallest
//! first. Everything else is one engine, [`Core`], behind a `Rc<RefCell<..>>` shared by every
//! clone of the handle, with two [`WaitList`]s: tasks blocked in `get` and tasks blocked in
//! `put`.
//!
//! # Handing over instead of waking up
//!
//! asyncio's `put_nowait` appends the item and wakes a getter, which later loops back to take
//! it, if nobody else took it first. Here a `put` that finds a getter waiting gives it the item
//! directly ([`WaitList::grant_front`]), and a `get` that frees a place in a full queue
//! *admits* the first waiting putter: that putter's item is sure to fit when it runs. So no
//! `try_get`/`try_put` can barge past a waiting task, and these invariants hold between
//! operations:
//!
//! * getters wait only while `items` is empty;
//! * putters wait only while the queue is full: `len() + admitted == maxsize`, where `len()`
//!   counts `items` plus the items `handed` to getters that have not run yet (they still
//!   occupy their place, as in asyncio, where they stay in the deque until taken), and
//!   `admitted` counts putters promised a place they have not filled yet.
//!
//! # Nothing lost to cancellation
//!
//! A `get` dropped after an item was handed to it gives the item to the next getter, or puts
//! it back at the front (where the next `get` finds it first). A `put` dropped after it was
//! admitted gives its place to the next putter; its own item is dropped with it, as asyncio's
//! cancelled `put` never enqueues its item. A `put` dropped while waiting takes its item with
//! it.
//!
//! # Counting work, and shutting down (Python 3.13)
//!
//! Every successful put increments `unfinished`; [`task_done`](Queue::task_done) decrements it,
//! and when it reaches zero the `finished` [`Event`] is set, which releases `join`, exactly as
//! asyncio does with its `_finished` event.
//!
//! [`shutdown`](Queue::shutdown) fails every later put and wakes the blocked putters with their
//! items; gets keep draining the items, then fail, and blocked getters (the queue is empty
//! when they block) fail at once. [`shutdown_immediate`](Queue::shutdown_immediate) also takes
//! out the queued items, counts them as done and returns them. Items already handed to a
//! getter stay with it.

use crate::runtime::waker::WakeRef;
use crate::runtime::{note_wait, WaitOn};
use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::fmt;
use std::future::Future;
use std::iter;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::event::Event;
use super::waiters::{Polled, Removed, WaitKey, WaitList};

/// Where a queue keeps its items: asyncio's `_init`/`_put`/`_get`/`_qsize`.
pub(crate) trait Store<T>: Default {
    fn len(&self) -> usize;
    fn push(&mut self, item: T);
    fn pop(&mut self) -> Option<T>;
    /// Puts back an item a cancelled `get` was handed, where the next `pop` finds it.
    fn push_next(&mut self, item: T);
}

impl<T> Store<T> for VecDeque<T> {
    fn len(&self) -> usize {
        VecDeque::len(self)
    }
    fn push(&mut self, item: T) {
        self.push_back(item);
    }
    fn pop(&mut self) -> Option<T> {
        self.pop_front()
    }
    fn push_next(&mut self, item: T) {
        self.push_front(item);
    }
}

impl<T> Store<T> for Vec<T> {
    fn len(&self) -> usize {
        Vec::len(self)
    }
    fn push(&mut self, item: T) {
        Vec::push(self, item);
    }
    fn pop(&mut self) -> Option<T> {
        Vec::pop(self)
    }
    fn push_next(&mut self, item: T) {
        Vec::push(self, item);
    }
}

impl<T: Ord> Store<T> for BinaryHeap<Reverse<T>> {
    fn len(&self) -> usize {
        BinaryHeap::len(self)
    }
    fn push(&mut self, item: T) {
        BinaryHeap::push(self, Reverse(item));
    }
    fn pop(&mut self) -> Option<T> {
        BinaryHeap::pop(self).map(|Reverse(item)| item)
    }
    fn push_next(&mut self, item: T) {
        // It was the smallest when it was handed out, so it is popped first again unless a
        // smaller item came in meanwhile, which should go first anyway.
        BinaryHeap::push(self, Reverse(item));
    }
}

/// The state one queue's handles share; see the [module docs](self).
pub(crate) struct Core<T, S> {
    items: S,
    maxsize: usize,
    /// Items given to a waiting getter that has not run yet.
    handed: usize,
    /// The sequence number of the next item handed to a getter. Each handed item carries
    /// its number: when a getter holding one is dropped, its item passes to the getter
    /// handed the next one, and so on, and the last one displaced goes back to the front of
    /// the store, so that cancellation never changes the order in which items come out.
    handed_seq: u64,
    /// Putters promised a place that have not run yet.
    admitted: usize,
    unfinished: usize,
    /// Set while `unfinished == 0`: what `join` waits for.
    finished: Event,
    shut_down: bool,
    getters: WaitList<GetGrant<T>>,
    putters: WaitList<PutGrant>,
}

enum GetGrant<T> {
    /// An item, and its number in the order items were handed to getters.
    Item(T, u64),
    ShutDown,
}

enum PutGrant {
    /// A place is kept for this putter's item.
    Admitted,
    ShutDown,
}

impl<T, S: Store<T>> Core<T, S> {
    fn new(maxsize: usize) -> Self {
        let finished = Event::new();
        finished.set();
        Core {
            items: S::default(),
            maxsize,
            handed: 0,
            handed_seq: 0,
            admitted: 0,
            unfinished: 0,
            finished,
            shut_down: false,
            getters: WaitList::new(),
            putters: WaitList::new(),
        }
    }

    fn len(&self) -> usize {
        self.items.len() + self.handed
    }

    fn is_full(&self) -> bool {
        self.maxsize > 0 && self.len() + self.admitted >= self.maxsize
    }

    /// asyncio's `put_nowait`: to the longest-waiting getter if there is one (returning its
    /// waker), else into the store.
    #[inline]
    fn try_put(&mut self, item: T) -> Result<Option<WakeRef>, TryPutError<T>> {
        if self.shut_down {
            return Err(TryPutError::ShutDown(item));
        }
        if self.is_full() {
            return Err(TryPutError::Full(item));
        }
        Ok(self.put_now(item))
    }

    /// [`try_put`](Core::try_put) once the item is known to fit.
    #[inline]
    fn put_now(&mut self, item: T) -> Option<WakeRef> {
        if self.unfinished == 0 {
            self.finished.clear();
        }
        self.unfinished += 1;
        if self.getters.is_empty() {
            self.items.push(item);
            return None;
        }
        self.handed += 1;
        self.hand_to_getter(item)
    }

    /// Gives `item` to the longest-waiting getter, which must exist.
    #[inline]
    fn hand_to_getter(&mut self, item: T) -> Option<WakeRef> {
        let seq = self.handed_seq;
        self.handed_seq += 1;
        self.getters.grant_front(GetGrant::Item(item, seq)).ok()
    }

    /// asyncio's `get_nowait`. Taking an item frees a place, which may admit a putter, whose
    /// waker comes back with the item.
    #[inline]
    fn try_get(&mut self) -> Result<(T, Option<WakeRef>), TryGetError> {
        match self.items.pop() {
            Some(item) => Ok((item, self.admit_putter())),
            None if self.shut_down => Err(TryGetError::ShutDown),
            None => Err(TryGetError::Empty),
        }
    }

    /// Called whenever a place frees up: keeps it for the longest-waiting putter, if any.
    #[inline]
    fn admit_putter(&mut self) -> Option<WakeRef> {
        if self.is_full() {
            return None;
        }
        let waker = self.putters.grant_front(PutGrant::Admitted).ok()?;
        self.admitted += 1;
        Some(waker)
    }

    /// Takes back an item (handed out as number `seq`) from a getter dropped before it ran.
    /// Items handed out later move up one getter each, so each gets the item it would have
    /// got had the dropped getter never waited; the last one left over goes to the next
    /// waiting getter or back to the front of the store. (Cancellation is rare: the scan of
    /// the granted getters costs nothing on the common path.)
    fn unget(&mut self, mut item: T, seq: u64) -> Option<WakeRef> {
        let mut later: Vec<(u64, &mut T)> = self
            .getters
            .granted_iter_mut()
            .filter_map(|grant| match grant {
                GetGrant::Item(theirs, s) if *s > seq => Some((*s, theirs)),
                _ => None,
            })
            .collect();
        later.sort_unstable_by_key(|&(s, _)| s);
        for (_, theirs) in later {
            std::mem::swap(theirs, &mut item);
        }
        if self.getters.is_empty() {
            self.handed -= 1;
            self.items.push_next(item);
            return None;
        }
        self.hand_to_getter(item)
    }

    /// asyncio's `task_done`. Returns the `finished` event to set (after the borrow ends:
    /// setting it wakes the joiners) when this was the last unfinished item.
    fn task_done(&mut self) -> Result<Option<Event>, TaskDoneError> {
        self.unfinished = self.unfinished.checked_sub(1).ok_or(TaskDoneError)?;
        Ok((self.unfinished == 0).then(|| self.finished.clone()))
    }

    /// asyncio's `shutdown(immediate)`: marks the queue shut down and fails every blocked put
    /// and get. Immediate, it also takes out the queued items and counts them as done.
    /// Returns the items, the wakers, and the `finished` event if it is to be set.
    fn shutdown(&mut self, immediate: bool) -> (Vec<T>, Vec<WakeRef>, Option<Event>) {
        self.shut_down = true;
        // Getters block only on an empty queue, so they all fail.
        let mut wakers = self.getters.grant_all(|| GetGrant::ShutDown);
        wakers.extend(self.putters.grant_all(|| PutGrant::ShutDown));
        if !immediate {
            return (Vec::new(), wakers, None);
        }
        let items: Vec<T> = iter::from_fn(|| self.items.pop()).collect();
        // task_done may have been called for some of them already (asyncio allows that).
        self.unfinished = self.unfinished.saturating_sub(items.len());
        let finished = (self.unfinished == 0).then(|| self.finished.clone());
        (items, wakers, finished)
    }
}

/// Wakes the wakers an operation collected; call it only after the borrow of the core ends.
fn wake(wakers: impl IntoIterator<Item = WakeRef>) {
    wakers.into_iter().for_each(WakeRef::wake);
}

/// The `get` future of all three queues.
struct Get<'a, T, S: Store<T>> {
    core: &'a RefCell<Core<T, S>>,
    key: Option<WaitKey>,
}

impl<T, S: Store<T>> Future for Get<'_, T, S> {
    type Output = Result<T, QueueShutDown>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if !crate::runtime::coop::proceed(cx) {
            return Poll::Pending; // budget spent: nothing taken, the task is woken (coop.rs)
        }
        let this = self.get_mut();
        let mut core = this.core.borrow_mut();
        let Some(key) = this.key.take() else {
            return match core.try_get() {
                Ok((item, putter)) => {
                    drop(core);
                    wake(putter);
                    Poll::Ready(Ok(item))
                }
                Err(TryGetError::ShutDown) => Poll::Ready(Err(QueueShutDown(()))),
                Err(TryGetError::Empty) => {
                    this.key = Some(core.getters.push_back(cx.waker()));
                    note_wait(WaitOn::Label("Queue::get"));
                    Poll::Pending
                }
            };
        };
        match core.getters.poll(key, cx.waker()) {
            Polled::Granted(GetGrant::Item(item, _)) => {
                core.handed -= 1;
                let putter = core.admit_putter();
                drop(core);
                wake(putter);
                Poll::Ready(Ok(item))
            }
            Polled::Granted(GetGrant::ShutDown) => Poll::Ready(Err(QueueShutDown(()))),
            Polled::Waiting(key, stale) => {
                this.key = Some(key);
                drop(core);
                drop(stale);
                note_wait(WaitOn::Label("Queue::get"));
                Poll::Pending
            }
        }
    }
}

impl<T, S: Store<T>> Drop for Get<'_, T, S> {
    // Inlined, with the cancellation out of line: a get that completed holds no key, and
    // its drop is then one test.
    #[inline]
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.cancel(key);
        }
    }
}

impl<T, S: Store<T>> Get<'_, T, S> {
    /// Dropped while waiting (cancelled, timed out): gives back the slot, and the item if
    /// one was handed to it.
    #[inline(never)]
    fn cancel(&mut self, key: WaitKey) {
        let mut core = self.core.borrow_mut();
        let (stale, next) = match core.getters.remove(key) {
            Removed::Waiting(waker) => (Some(waker), None),
            Removed::Granted(GetGrant::Item(item, seq)) => (None, core.unget(item, seq)),
            Removed::Granted(GetGrant::ShutDown) => (None, None),
        };
        drop(core);
        drop(stale);
        wake(next);
    }
}

/// The `put` future of all three queues. The item stays here until it goes into the queue.
struct Put<'a, T, S: Store<T>> {
    core: &'a RefCell<Core<T, S>>,
    item: Option<T>,
    key: Option<WaitKey>,
}

// Nothing is ever pinned in place: the item is moved out by value.
impl<T, S: Store<T>> Unpin for Put<'_, T, S> {}

impl<T, S: Store<T>> Future for Put<'_, T, S> {
    type Output = Result<(), QueueShutDown<T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if !crate::runtime::coop::proceed(cx) {
            return Poll::Pending; // budget spent: nothing taken, the task is woken (coop.rs)
        }
        let this = self.get_mut();
        let mut core = this.core.borrow_mut();
        let item = this
            .item
            .take()
            .expect("a queue's put future was polled after it completed");
        let result = match this.key.take() {
            None => core.try_put(item),
            Some(key) => match core.putters.poll(key, cx.waker()) {
                Polled::Granted(PutGrant::Admitted) => {
                    // Our place was kept, so this fits unless the queue was shut down since.
                    core.admitted -= 1;
                    core.try_put(item)
                }
                Polled::Granted(PutGrant::ShutDown) => Err(TryPutError::ShutDown(item)),
                Polled::Waiting(key, stale) => {
                    this.key = Some(key);
                    this.item = Some(item);
                    drop(core);
                    drop(stale);
                    note_wait(WaitOn::Label("Queue::put"));
                    return Poll::Pending;
                }
            },
        };
        match result {
            Ok(getter) => {
                drop(core);
                wake(getter);
                Poll::Ready(Ok(()))
            }
            Err(TryPutError::ShutDown(item)) => Poll::Ready(Err(QueueShutDown(item))),
            Err(TryPutError::Full(item)) => {
                this.item = Some(item);
                this.key = Some(core.putters.push_back(cx.waker()));
                note_wait(WaitOn::Label("Queue::put"));
                Poll::Pending
            }
        }
    }
}

impl<T, S: Store<T>> Drop for Put<'_, T, S> {
    // As `Get`'s: the usual drop is one test.
    #[inline]
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.cancel(key);
        }
    }
}

impl<T, S: Store<T>> Put<'_, T, S> {
    /// Dropped while waiting: gives back the slot, or the place it was admitted to.
    #[inline(never)]
    fn cancel(&mut self, key: WaitKey) {
        let mut core = self.core.borrow_mut();
        let (stale, next) = match core.putters.remove(key) {
            Removed::Waiting(waker) => (Some(waker), None),
            // Admitted but never ran: give the place to the next putter.
            Removed::Granted(PutGrant::Admitted) => {
                core.admitted -= 1;
                (None, core.admit_putter())
            }
            Removed::Granted(PutGrant::ShutDown) => (None, None),
        };
        drop(core);
        drop(stale);
        wake(next);
        // The item, if still here, is dropped with the future's fields, after the borrow.
    }
}

/// Defines one public queue type over [`Core`] with a given [`Store`]. The three queues share
/// every method, so they share this text too.
macro_rules! queue_type {
    (
        $(#[$attr:meta])*
        $name:ident<T $(: $bound:ident)?>, $store:ty, $asyncio:literal
    ) => {
        $(#[$attr])*
        #[doc(alias = $asyncio)]
        pub struct $name<T> {
            core: Rc<RefCell<Core<T, $store>>>,
        }

        impl<T $(: $bound)?> $name<T> {
            #[doc = concat!("Creates a queue that holds at most `maxsize` items; `0` means no ",
                            "limit, as in asyncio: `", $asyncio, "(maxsize)`.")]
            #[doc(alias = $asyncio)]
            pub fn new(maxsize: usize) -> Self {
                $name { core: Rc::new(RefCell::new(Core::new(maxsize))) }
            }

            #[doc = concat!("Creates a queue with no size limit: `", $asyncio, "()`.")]
            #[doc(alias = $asyncio)]
            pub fn unbounded() -> Self {
                Self::new(0)
            }

            /// Puts `item` in the queue, first waiting for room if it is full. asyncio:
            /// `await queue.put(item)`.
            ///
            /// Fails with the item handed back if the queue is (or, while waiting, gets) shut
            /// down. Cancel-safe: dropped while waiting it takes its item away with it;
            /// dropped after room was kept for it, it gives that room to the next put.
            #[doc(alias = "asyncio.Queue.put")]
            pub fn put(&self, item: T) -> impl Future<Output = Result<(), QueueShutDown<T>>> + '_ {
                Put { core: &self.core, item: Some(item), key: None }
            }

            /// Takes the next item, first waiting for one if the queue is empty. asyncio:
            /// `await queue.get()`.
            ///
            /// After [`shutdown`](Self::shutdown) it still returns the items left, then fails.
            /// Cancel-safe: an item handed to it before it was dropped goes to the next
            /// waiting `get`, or back to the front of the queue.
            #[doc(alias = "asyncio.Queue.get")]
            pub fn get(&self) -> impl Future<Output = Result<T, QueueShutDown>> + '_ {
                Get { core: &self.core, key: None }
            }

            /// Puts `item` in the queue if there is room, without waiting. asyncio:
            /// `queue.put_nowait(item)`. The error hands the item back.
            #[doc(alias = "asyncio.Queue.put_nowait")]
            #[doc(alias = "put_nowait")]
            pub fn try_put(&self, item: T) -> Result<(), TryPutError<T>> {
                let getter = self.core.borrow_mut().try_put(item)?;
                wake(getter);
                Ok(())
            }

            /// Takes the next item if there is one, without waiting. asyncio:
            /// `queue.get_nowait()`. Never takes an item promised to a waiting `get`.
            #[doc(alias = "asyncio.Queue.get_nowait")]
            #[doc(alias = "get_nowait")]
            pub fn try_get(&self) -> Result<T, TryGetError> {
                let (item, putter) = self.core.borrow_mut().try_get()?;
                wake(putter);
                Ok(item)
            }

            /// Says that an item taken from the queue has been dealt with; when every item put
            /// has been, [`join`](Self::join) returns. asyncio: `queue.task_done()`.
            ///
            /// Fails, changing nothing, if called more times than items were put.
            #[doc(alias = "asyncio.Queue.task_done")]
            pub fn task_done(&self) -> Result<(), TaskDoneError> {
                let finished = self.core.borrow_mut().task_done()?;
                if let Some(finished) = finished {
                    finished.set();
                }
                Ok(())
            }

            /// Waits until every item put has been marked done with
            /// [`task_done`](Self::task_done); returns at once if none is pending. asyncio:
            /// `await queue.join()`.
            #[doc(alias = "asyncio.Queue.join")]
            pub fn join(&self) -> impl Future<Output = ()> + '_ {
                let finished = self.core.borrow().finished.clone();
                async move { finished.wait().await }
            }

            /// Shuts the queue down: later puts fail, blocked puts fail and get their items
            /// back, gets return the items left and then fail. asyncio (3.13):
            /// `queue.shutdown()`.
            #[doc(alias = "asyncio.Queue.shutdown")]
            pub fn shutdown(&self) {
                let (_, wakers, _) = self.core.borrow_mut().shutdown(false);
                wake(wakers);
            }

            /// Shuts the queue down like [`shutdown`](Self::shutdown), and also takes out the
            /// items still queued and returns them, in the order gets would have. They count
            /// as done for [`join`](Self::join). asyncio (3.13): `queue.shutdown(immediate=True)`,
            /// which discards them.
            #[doc(alias = "asyncio.Queue.shutdown")]
            pub fn shutdown_immediate(&self) -> Vec<T> {
                let (items, wakers, finished) = self.core.borrow_mut().shutdown(true);
                wake(wakers);
                if let Some(finished) = finished {
                    finished.set();
                }
                items
            }

            /// Number of items in the queue, counting those already promised to a waiting
            /// `get` that has not run yet. asyncio: `queue.qsize()`.
            #[doc(alias = "asyncio.Queue.qsize")]
            #[doc(alias = "qsize")]
            pub fn len(&self) -> usize {
                self.core.borrow().len()
            }

            /// Whether [`len`](Self::len) is 0. asyncio: `queue.empty()`.
            #[doc(alias = "asyncio.Queue.empty")]
            pub fn is_empty(&self) -> bool {
                self.len() == 0
            }

            /// Whether a put would have to wait: the queue is at `maxsize`, counting room
            /// already promised to waiting puts. Never true for an unbounded queue. asyncio:
            /// `queue.full()`.
            #[doc(alias = "asyncio.Queue.full")]
            pub fn is_full(&self) -> bool {
                self.core.borrow().is_full()
            }

            /// The size limit given to `new`; 0 means unbounded. asyncio: `queue.maxsize`.
            #[doc(alias = "asyncio.Queue.maxsize")]
            pub fn maxsize(&self) -> usize {
                self.core.borrow().maxsize
            }

            /// Whether [`shutdown`](Self::shutdown) or
            /// [`shutdown_immediate`](Self::shutdown_immediate) was called. asyncio keeps this
            /// private as `queue._is_shutdown`.
            #[doc(alias = "_is_shutdown")]
            pub fn is_shut_down(&self) -> bool {
                self.core.borrow().shut_down
            }
        }

        impl<T> Clone for $name<T> {
            fn clone(&self) -> Self {
                $name { core: Rc::clone(&self.core) }
            }
        }

        impl<T $(: $bound)?> Default for $name<T> {
            /// An unbounded queue.
            fn default() -> Self {
                Self::unbounded()
            }
        }

        impl<T $(: $bound)?> fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let core = self.core.borrow();
                let mut out = f.debug_struct(stringify!($name));
                out.field("len", &core.len())
                    .field("maxsize", &core.maxsize)
                    .field("getters", &core.getters.len())
                    .field("putters", &core.putters.len())
                    .field("unfinished", &core.unfinished);
                if core.shut_down {
                    out.field("shut_down", &true);
                }
                out.finish()
            }
        }
    };
}

queue_type! {
    /// A first-in, first-out queue for passing items between tasks: asyncio's `Queue`.
    ///
    /// With a `maxsize`, [`put`](Queue::put) waits while the queue is full; [`get`](Queue::get)
    /// waits while it is empty. Both serve waiting tasks in arrival order, and dropping a
    /// waiting future never loses an item. [`task_done`](Queue::task_done) and
    /// [`join`](Queue::join) track when the items have been processed. The handle is a cheap
    /// `Clone`; all clones are the same queue.
    ///
    /// ```
    /// use tinyloop::{spawn, Queue};
    ///
    /// tinyloop::run(async {
    ///     let queue = Queue::new(2);
    ///     let worker = spawn({
    ///         let queue = queue.clone();
    ///         async move {
    ///             let mut sum = 0;
    ///             while let Ok(n) = queue.get().await {
    ///                 sum += n;
    ///                 queue.task_done().unwrap();
    ///             }
    ///             sum // get fails once the queue is shut down and drained
    ///         }
    ///     });
    ///     for n in 1..=10 {
    ///         queue.put(n).await.unwrap(); // waits while two items are queued
    ///     }
    ///     queue.join().await; // every item was processed
    ///     queue.shutdown();
    ///     assert_eq!(worker.await.unwrap(), 55);
    /// });
    /// ```
    Queue<T>, VecDeque<T>, "asyncio.Queue"
}

queue_type! {
    /// A last-in, first-out queue (a stack): asyncio's `LifoQueue`. [`get`](LifoQueue::get)
    /// returns the item put most recently; otherwise it behaves as [`Queue`].
    ///
    /// ```
    /// let stack = tinyloop::LifoQueue::unbounded();
    /// for page in ["home", "search", "result"] {
    ///     stack.try_put(page).unwrap();
    /// }
    /// assert_eq!(stack.try_get(), Ok("result")); // the last one put
    /// assert_eq!(stack.try_get(), Ok("search"));
    /// ```
    ///
    LifoQueue<T>, Vec<T>, "asyncio.LifoQueue"
}

queue_type! {
    /// A queue that returns its smallest item first: asyncio's `PriorityQueue`. Items are
    /// compared with `Ord`; put `(priority, item)` tuples, or wrap items in
    /// [`Reverse`](std::cmp::Reverse) for largest first. Otherwise it behaves as [`Queue`].
    ///
    /// ```
    /// tinyloop::run(async {
    ///     let jobs = tinyloop::PriorityQueue::new(0);
    ///     jobs.put((2, "send report")).await.unwrap();
    ///     jobs.put((1, "fix outage")).await.unwrap();
    ///     assert_eq!(jobs.get().await, Ok((1, "fix outage"))); // smallest first
    /// });
    /// ```
    ///
    PriorityQueue<T: Ord>, BinaryHeap<Reverse<T>>, "asyncio.PriorityQueue"
}

// ----- `async for item in queue`: the queues as streams -----------------------------------

/// The stream [`Queue::stream`] returns: one `get` after another, each kept in the same box
/// (`Pin::set` swaps the finished one for the next), until a `get` fails because the queue
/// was shut down and drained. Dropping it drops the `get` in flight, whose own `Drop` hands an
/// item it was already given to the next getter or back to the front of the queue.
struct Items<F, M> {
    next_get: M,
    get: Pin<Box<F>>,
    ended: bool,
}

impl<T, F, M> futures_core::Stream for Items<F, M>
where
    F: Future<Output = Result<T, QueueShutDown>>,
    M: FnMut() -> F + Unpin,
{
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        if this.ended {
            return Poll::Ready(None);
        }
        match this.get.as_mut().poll(cx) {
            Poll::Ready(Ok(item)) => {
                this.get.set((this.next_get)());
                Poll::Ready(Some(item))
            }
            Poll::Ready(Err(QueueShutDown(()))) => {
                this.ended = true;
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Adds `stream()` to one queue type. Separate from `queue_type!` so the engine above stays
/// as it is: the stream is only `get`, over and over.
macro_rules! queue_stream {
    ($name:ident<T $(: $bound:ident)?>, $example:literal) => {
        impl<T $(: $bound)?> $name<T> {
            /// The queue as a stream of its items, for `async for item in queue`-style loops:
            /// each item comes from a [`get`](Self::get), in the same order and with the
            /// same fairness among getters, and the stream ends (yields `None`, and keeps
            /// yielding it) once the queue is [shut down](Self::shutdown) and drained.
            ///
            /// It owns a handle to the queue, so it may outlive `self` and move into a task.
            /// Cancel-safe: dropping it while it waits loses no item, as for `get`. Loop over
            /// it with `StreamExt::next` from `futures` or `futures-lite`, or with
            /// `poll_fn` as below.
            ///
            #[doc = $example]
            #[doc(alias = "__aiter__")]
            #[doc(alias = "__anext__")]
            pub fn stream(&self) -> impl futures_core::Stream<Item = T> + Unpin {
                let core = Rc::clone(&self.core);
                let next_get = move || {
                    let core = Rc::clone(&core);
                    // Not redundant: the block owns the `Rc` that the `Get` borrows.
                    #[allow(clippy::redundant_async_block)]
                    async move { Get { core: &core, key: None }.await }
                };
                Items { get: Box::pin(next_get()), next_get, ended: false }
            }
        }
    };
}

queue_stream!(
    Queue<T>,
    "```
use std::future::poll_fn;
use std::pin::Pin;
use futures_core::Stream;
use tinyloop::{spawn, Queue};

tinyloop::run(async {
    let queue = Queue::new(2);
    let producer = spawn({
        let queue = queue.clone();
        async move {
            for n in 1..=5 {
                queue.put(n).await.unwrap();
            }
            queue.shutdown(); // the stream ends once the last item is taken
        }
    });
    let mut items = queue.stream();
    let mut seen = Vec::new();
    // `while let Some(n) = items.next().await` with futures' `StreamExt`.
    while let Some(n) = poll_fn(|cx| Pin::new(&mut items).poll_next(cx)).await {
        seen.push(n);
    }
    assert_eq!(seen, [1, 2, 3, 4, 5]);
    producer.await.unwrap();
});
```"
);
queue_stream!(
    LifoQueue<T>,
    "```
use std::future::poll_fn;
use std::pin::Pin;
use futures_core::Stream;

tinyloop::run(async {
    let stack = tinyloop::LifoQueue::unbounded();
    for n in 1..=3 {
        stack.try_put(n).unwrap();
    }
    stack.shutdown();
    let mut items = stack.stream();
    let mut seen = Vec::new();
    while let Some(n) = poll_fn(|cx| Pin::new(&mut items).poll_next(cx)).await {
        seen.push(n);
    }
    assert_eq!(seen, [3, 2, 1]);
});
```"
);
queue_stream!(
    PriorityQueue<T: Ord>,
    "```
use std::future::poll_fn;
use std::pin::Pin;
use futures_core::Stream;

tinyloop::run(async {
    let jobs = tinyloop::PriorityQueue::unbounded();
    for job in [(2, \"write\"), (1, \"read\"), (3, \"close\")] {
        jobs.try_put(job).unwrap();
    }
    jobs.shutdown();
    let mut items = jobs.stream();
    let mut seen = Vec::new();
    while let Some((_, name)) = poll_fn(|cx| Pin::new(&mut items).poll_next(cx)).await {
        seen.push(name);
    }
    assert_eq!(seen, [\"read\", \"write\", \"close\"]);
});
```"
);

/// A put or get on a queue that was [shut down](Queue::shutdown): asyncio's `QueueShutDown`.
/// A failed put hands its item back in the field; for a get it is `()`.
///
/// ```
/// use tinyloop::{Queue, QueueShutDown};
///
/// tinyloop::run(async {
///     let queue = Queue::new(0);
///     queue.put("kept").await.unwrap();
///     queue.shutdown();
///     assert_eq!(queue.put("refused").await.unwrap_err().0, "refused"); // handed back
///     assert_eq!(queue.get().await, Ok("kept")); // gets drain what is left...
///     assert_eq!(queue.get().await, Err(QueueShutDown(()))); // ...then fail
/// });
/// ```
///
#[doc(alias = "asyncio.QueueShutDown")]
#[derive(thiserror::Error, Clone, Copy, PartialEq, Eq)]
#[error("the queue was shut down: it takes no more items, and gets fail once it is empty")]
pub struct QueueShutDown<T = ()>(pub T);

impl<T> fmt::Debug for QueueShutDown<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The item is not shown, so that `unwrap` works for any item type.
        f.write_str("QueueShutDown(..)")
    }
}

/// Why [`try_put`](Queue::try_put) failed; either way the item comes back. asyncio raises
///
/// ```
/// use tinyloop::{Queue, TryPutError};
///
/// let queue = Queue::new(1);
/// queue.try_put(1).unwrap();
/// match queue.try_put(2) {
///     Err(TryPutError::Full(item)) => assert_eq!(item, 2), // asyncio's QueueFull
///     other => panic!("{other:?}"),
/// }
/// ```
///
/// `QueueFull` or `QueueShutDown`.
#[doc(alias = "asyncio.QueueFull")]
#[derive(thiserror::Error, Clone, Copy, PartialEq, Eq)]
pub enum TryPutError<T> {
    /// The queue is at its `maxsize` (asyncio's `QueueFull`).
    #[doc(alias = "asyncio.QueueFull")]
    #[error("the queue is full; wait for room with `put`, or make the queue larger")]
    Full(T),
    /// The queue was shut down (asyncio's `QueueShutDown`).
    #[doc(alias = "asyncio.QueueShutDown")]
    #[error("the queue was shut down, so it takes no more items")]
    ShutDown(T),
}

impl<T> TryPutError<T> {
    /// The item that could not be put.
    pub fn into_inner(self) -> T {
        match self {
            TryPutError::Full(item) | TryPutError::ShutDown(item) => item,
        }
    }
}

impl<T> fmt::Debug for TryPutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TryPutError::Full(_) => "Full(..)",
            TryPutError::ShutDown(_) => "ShutDown(..)",
        })
    }
}

/// Why [`try_get`](Queue::try_get) failed. asyncio raises `QueueEmpty` or `QueueShutDown`.
///
/// ```
/// use tinyloop::{Queue, TryGetError};
///
/// let queue = Queue::<u8>::unbounded();
/// assert_eq!(queue.try_get(), Err(TryGetError::Empty)); // asyncio's QueueEmpty
/// queue.shutdown();
/// assert_eq!(queue.try_get(), Err(TryGetError::ShutDown));
/// ```
///
#[doc(alias = "asyncio.QueueEmpty")]
#[derive(thiserror::Error, Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryGetError {
    /// No item is ready (asyncio's `QueueEmpty`).
    #[doc(alias = "asyncio.QueueEmpty")]
    #[error("the queue is empty; wait for an item with `get`")]
    Empty,
    /// The queue was shut down and has no items left (asyncio's `QueueShutDown`).
    #[doc(alias = "asyncio.QueueShutDown")]
    #[error("the queue was shut down and has no items left")]
    ShutDown,
}

/// [`task_done`](Queue::task_done) was called more times than items were put. asyncio raises
/// `ValueError('task_done() called too many times')`.
#[doc(alias = "ValueError")]
#[derive(thiserror::Error, Debug, Clone, Copy, PartialEq, Eq)]
#[error("task_done() was called more times than items were put in the queue; call it once per item taken")]
pub struct TaskDoneError;
