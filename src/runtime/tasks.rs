//! The task slab: where every task's future, state and result live.
//!
//! asyncio makes each `Task` an object on the heap that schedules its own `__step`. Here the
//! loop owns all tasks in one `Vec` of slots, and a task is named by a [`TaskKey`]: the slot
//! index in the low 32 bits and the slot's generation in the high 32. The ready queue holds
//! keys, wakers hold keys, `Task<T>` handles hold keys. When a slot is freed its generation
//! goes up, so a stale key (a waker that outlived its task) finds nothing and does nothing.
//!
//! Every method here is small and never calls user code: the loop takes a future *out* of its
//! slot before polling or dropping it, so user code that spawns, wakes or cancels while it runs
//! never finds the slab borrowed.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

pub(crate) use super::task_key::TaskKey;
use super::waker::{OwnKey, TaskWaker, WakeRef, NO_TAG};

use super::join_error::JoinError;

/// A task's future and, once it finished, its output, in one allocation, with both types
/// erased. The slab sees only this trait; `Task<T>` gets its `T` back through `Any`.
pub(crate) trait TaskCell {
    /// Polls the future. On `Ready` the future is dropped and the output kept: in this cell
    /// (`Ready(None)`), or in the box returned (`Ready(Some)`), which takes this cell's place;
    /// the loop then drops this one ([`Bare`]).
    fn poll_task(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<BoxedCell>>;
    /// Moves the output into `out`, which must be an `Option<T>` of the task's output type.
    fn take_output(self: Pin<Box<Self>>, out: &mut dyn Any);
    /// The output (a `T`), if the task has finished and it was not taken yet.
    fn output(&self) -> Option<&dyn Any>;
    /// Why the task failed, if this cell holds a failure ([`failed`]) instead.
    fn failure(&self) -> Option<&JoinError> {
        None
    }
    /// Takes that failure out.
    fn take_failure(self: Pin<&mut Self>) -> Option<JoinError> {
        None
    }
}

/// A boxed [`TaskCell`]: what the slab holds for every task, first the future, then (the same
/// box, after `Pin::set`, or the box a [`Bare`] cell hands over) its output. Not a
/// `BoxFuture`: once finished it holds no future.
pub(crate) type BoxedCell = Pin<Box<dyn TaskCell>>;

pin_project_lite::pin_project! {
    /// The cell of a task whose output has a size: the future while it runs, its output
    /// afterwards, in the same box. Going from one to the other is `Pin::set`, which drops
    /// the future in place.
    #[project = CellProj]
    #[project_ref = CellRef]
    pub(crate) enum Cell<F, T> {
        Running { #[pin] future: F },
        Finished { output: Option<T> },
    }
}

pin_project_lite::pin_project! {
    /// The cell of a task whose output has no size (`()`, most tasks): the future alone,
    /// without `Cell`'s tag, 8 bytes less per task (often a smaller malloc size class: the
    /// idle sleeping task of DESIGN.md, "Memory per task"). It cannot hold the output after
    /// the future, so its finishing poll hands back a [`Done`] box to take its place: a box
    /// of a zero-sized value, which allocates nothing.
    pub(crate) struct Bare<F> {
        #[pin]
        future: F,
    }
}

/// A finished [`Bare`] task's output (zero-sized).
pub(crate) struct Done<T>(T);

// `Done` never pins its value (it is only ever moved out whole), so it may move when pinned.
impl<T> Unpin for Done<T> {}

/// The cell of a task that failed (panicked or was cancelled): the same box a finished task's
/// output lives in, so that a slot needs one field for either.
struct Failed(Option<JoinError>);

impl TaskCell for Failed {
    fn poll_task(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<BoxedCell>> {
        Poll::Ready(None)
    }

    fn take_output(self: Pin<Box<Self>>, _: &mut dyn Any) {}

    fn output(&self) -> Option<&dyn Any> {
        None
    }

    fn failure(&self) -> Option<&JoinError> {
        self.0.as_ref()
    }

    fn take_failure(self: Pin<&mut Self>) -> Option<JoinError> {
        self.get_mut().0.take()
    }
}

#[cold]
#[inline(never)]
fn drop_cold(cell: BoxedCell) {
    drop(cell);
}

/// Wraps a future for the slab: in a [`Bare`] cell when its output has no size, else in a
/// [`Cell`]. (The test is on a constant: each `F` compiles to one of the two.)
pub(crate) fn erase<F>(future: F) -> BoxedCell
where
    F: Future + 'static,
    F::Output: 'static,
{
    if std::mem::size_of::<F::Output>() == 0 {
        Box::pin(Bare { future })
    } else {
        Box::pin(Cell::Running { future })
    }
}

impl<F: Future> TaskCell for Cell<F, F::Output>
where
    F::Output: 'static,
{
    fn poll_task(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<BoxedCell>> {
        let output = match self.as_mut().project() {
            CellProj::Running { future } => std::task::ready!(future.poll(cx)),
            CellProj::Finished { .. } => return Poll::Ready(None),
        };
        self.set(Cell::Finished {
            output: Some(output),
        });
        Poll::Ready(None)
    }

    fn take_output(mut self: Pin<Box<Self>>, out: &mut dyn Any) {
        if let CellProj::Finished { output } = self.as_mut().project() {
            if let Some(slot) = out.downcast_mut::<Option<F::Output>>() {
                *slot = output.take();
            }
        }
    }

    fn output(&self) -> Option<&dyn Any> {
        match self {
            Cell::Finished { output: Some(v) } => Some(v),
            _ => None,
        }
    }
}

impl<F: Future> TaskCell for Bare<F>
where
    F::Output: 'static,
{
    fn poll_task(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<BoxedCell>> {
        let output = std::task::ready!(self.project().future.poll(cx));
        Poll::Ready(Some(Box::pin(Done(output))))
    }

    fn take_output(self: Pin<Box<Self>>, _: &mut dyn Any) {}

    fn output(&self) -> Option<&dyn Any> {
        None
    }
}

impl<T: 'static> TaskCell for Done<T> {
    fn poll_task(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<BoxedCell>> {
        Poll::Ready(None)
    }

    fn take_output(self: Pin<Box<Self>>, out: &mut dyn Any) {
        let Done(output) = *Pin::into_inner(self);
        if let Some(slot) = out.downcast_mut::<Option<T>>() {
            *slot = Some(output);
        }
    }

    fn output(&self) -> Option<&dyn Any> {
        Some(&self.0)
    }
}

/// Where a task is in its life. Every transition happens in `runtime/core.rs`, on the loop's
/// thread, while the slab is borrowed and no user code runs:
///
/// ```text
///   spawn() ──(1)──> Scheduled ──(2)──> Running ──(4)──> Done ──(6)──> freed
///                      ^  ^               │  │            ^
///                      │  └─────(3b)──────┘  │(3a)        │(5)
///                      │                     v            │
///                      └───────(3c)──────  Idle ──────────┘
///
///   (1)  Core::spawn       boxed (no waker yet), pushed on the ready queue
///   (2)  Core::run_task    popped in step 5 of a turn; the future (and the task's own waker,
///                          if it has one) leave the slot; polled with the spare otherwise
///   (3a) poll -> Pending   no wake-up arrived during the poll: wait
///   (3b) poll -> Pending   woken during its own poll (RunningWoken): back on the queue
///   (3c) Core::schedule    a waker fired: pushed once (a second wake does nothing)
///   (4)  Core::finish      poll -> Ready, a caught panic, or a cancellation carried out
///   (5)  Core::cancel      marks `cancel_requested` and schedules: (3c), (2), then (4)
///   (6)  Task handle       takes the result, or is dropped (a detached task is freed at 4)
/// ```
///
/// DESIGN.md, "The task life cycle", tells the same story at more length.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum State {
    /// In the ready queue exactly once, waiting for its turn. Entered from `Idle` by a wake
    /// (3c), from `RunningWoken` when its poll returns (3b), or at birth (1). A wake while
    /// `Scheduled` does nothing: that is what keeps a task from being queued twice.
    Scheduled,
    /// Being polled right now: its future (and its own waker, if it has one) is out of the
    /// slot, held by `run_task` (2). A wake now cannot push it (it is not in the queue and must not be
    /// polled twice at once), so it becomes `RunningWoken` instead.
    Running,
    /// Being polled, and woken during that poll: when the poll returns `Pending` it goes
    /// straight back to the ready queue as `Scheduled` (3b), for the next turn.
    RunningWoken,
    /// Waiting for a wake-up; nothing of it is in the ready queue. The loop's own structures
    /// it waits in (a timer, a queue, a lock) hold its key; if something else ever kept a
    /// clone of its waker (a socket, a thread, another crate), the task owns that waker's
    /// `Arc`, in its slot (`runtime/waker.rs`).
    Idle,
    /// Finished (4): its result waits in the slot's `body` until its `Task` handle takes it
    /// (6), or the slot was freed already if the task was detached. Wakes and cancels of a
    /// `Done` task do nothing. Terminal: a slot leaves `Done` only by being freed.
    Done,
}

/// Where a new task comes from, as `Core::spawn` knows it: its spawn number and the line
/// that spawned it. The slab keeps it packed ([`Meta`]).
#[derive(Debug)]
pub(crate) struct Origin {
    pub(crate) number: u64,
    pub(crate) spawned_at: &'static Location<'static>,
}

/// Where a task came from, in 8 bytes (every task carries it): the spawn number in the high
/// 48 bits, and in the low 16 the spawn site's index in the slab's table of sites
/// ([`Sites`]): a program has a few dozen `spawn` lines, so a task need not carry an
/// 8-byte pointer to its own. Its name, which only tasks spawned with one have, also lives
/// beside the slots ([`TaskSlab`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Meta(u64);

impl Meta {
    /// Spawn numbers past 2^48 (9 years of a million spawns a second) all read as the last.
    const MAX_NUMBER: u64 = (1 << 48) - 1;

    fn pack(number: u64, site: u16) -> Meta {
        Meta((number.min(Self::MAX_NUMBER) << 16) | u64::from(site))
    }

    /// The task's spawn number: 1 for the first task of the loop, then counting up.
    #[inline]
    pub(crate) fn number(self) -> u64 {
        self.0 >> 16
    }

    fn site(self) -> u16 {
        self.0 as u16
    }
}

/// The spawn sites of a loop's tasks, each stored once: a task's [`Meta`] holds an index.
/// Past 65,535 distinct sites (more `spawn` lines than a program has), a task's site is
/// kept by its slot index instead, as names are.
#[derive(Debug, Default)]
struct Sites {
    list: Vec<&'static Location<'static>>,
    by_address: HashMap<usize, u16>,
    /// The last site added: a loop that spawns many tasks spawns them from one line.
    last: Option<(&'static Location<'static>, u16)>,
    /// Sites of tasks spawned after the table filled up, by slot index.
    overflow: HashMap<u32, &'static Location<'static>>,
}

impl Sites {
    /// The index that says "look in `overflow`".
    const FULL: u16 = u16::MAX;

    /// Keeps `site` for the task in slot `slot_index`; returns the index its `Meta` holds.
    #[inline]
    fn add(&mut self, site: &'static Location<'static>, slot_index: u32) -> u16 {
        let index = self.index_of(site);
        if index == Self::FULL {
            self.overflow.insert(slot_index, site);
        }
        index
    }

    /// Lets go of the site of the task that was in slot `slot_index`.
    #[inline]
    fn remove(&mut self, meta: Meta, slot_index: u32) {
        if meta.site() == Self::FULL {
            self.overflow.remove(&slot_index);
        }
    }

    #[inline]
    fn index_of(&mut self, site: &'static Location<'static>) -> u16 {
        match self.last {
            Some((last, index)) if std::ptr::eq(last, site) => index,
            _ => self.index_of_slow(site),
        }
    }

    fn index_of_slow(&mut self, site: &'static Location<'static>) -> u16 {
        // By address: `#[track_caller]` gives one `Location` per call site.
        let address = site as *const Location<'static> as usize;
        let index = match self.by_address.get(&address) {
            Some(&index) => index,
            None => match u16::try_from(self.list.len()) {
                Ok(index) if index < Self::FULL => {
                    self.list.push(site);
                    self.by_address.insert(address, index);
                    index
                }
                _ => return Self::FULL,
            },
        };
        self.last = Some((site, index));
        index
    }

    fn get(&self, meta: Meta, slot_index: u32) -> &'static Location<'static> {
        match meta.site() {
            Self::FULL => self.overflow[&slot_index],
            index => self.list[usize::from(index)],
        }
    }
}

/// What a task is called and where it came from, as [`TaskSlab::meta`] shows it.
#[derive(Debug)]
pub(crate) struct MetaView<'a> {
    pub(crate) number: u64,
    pub(crate) name: Option<&'a str>,
    pub(crate) spawned_at: &'static Location<'static>,
}

/// A task's one box: its future while it runs, then its result (the finished cell with the
/// output, or a [`Failed`] cell) until its handle takes it; empty while the loop polls the
/// future and after the result was taken. The slot's `State` says which: `Done` means a
/// result. One field of 16 bytes, where an enum with a variant for each would take 24.
pub(crate) struct Body(Option<BoxedCell>);

impl Body {
    pub(crate) fn future(cell: BoxedCell) -> Body {
        Body(Some(cell))
    }

    /// Puts the future back after a poll, into the body `take` emptied. (Written so that
    /// the usual case compiles to one test: the drop of a replaced box is out of line.)
    #[inline]
    pub(crate) fn put_back(&mut self, cell: BoxedCell) {
        if let Some(old) = self.0.replace(cell) {
            drop_cold(old);
        }
    }

    /// Takes the box out (the future, to poll or drop it), leaving the body empty.
    pub(crate) fn take(&mut self) -> Option<BoxedCell> {
        self.0.take()
    }

    /// Takes the result out of a finished task's body.
    pub(crate) fn take_result(&mut self) -> Option<Result<BoxedCell, JoinError>> {
        let mut cell = self.0.take()?;
        Some(match cell.as_mut().take_failure() {
            Some(e) => Err(e),
            None => Ok(cell),
        })
    }

    /// A finished task's result, without taking it.
    pub(crate) fn result(&self) -> Option<Result<&dyn Any, &JoinError>> {
        let cell = self.0.as_ref()?;
        match cell.failure() {
            Some(e) => Some(Err(e)),
            None => cell.output().map(Ok),
        }
    }

    pub(crate) fn from_result(result: Result<BoxedCell, JoinError>) -> Body {
        Body(Some(match result {
            Ok(cell) => cell,
            Err(e) => Box::pin(Failed(Some(e))),
        }))
    }
}

/// One task, in 56 bytes (`a_slot_stays_small`; DESIGN.md, "Memory per task"). The fields
/// are ordered so that the small ones share 16 bytes.
pub(crate) struct Slot {
    generation: u32,
    /// Polls so far (saturating).
    pub(crate) polls: u32,
    /// What the task said it waits on in its latest poll, packed (`runtime/observe/mod.rs`,
    /// `Note`): a kind and an argument. Cleared when a poll starts, set when it ends (the
    /// loop holds the note during the poll).
    pub(crate) wait_arg: u32,
    pub(crate) wait_kind: u8,
    pub(crate) state: State,
    pub(crate) cancel_requested: bool,
    /// Whether a `Task<T>` handle still refers to this slot.
    pub(crate) has_handle: bool,
    pub(crate) meta: Meta,
    pub(crate) body: Body,
    /// The task's own waker, from the first poll after which someone held a clone of it
    /// (`runtime/waker.rs`: most tasks have none and are polled with the loop's spare). Out of the slot while
    /// the task is polled. The loop polls through `futures_task::waker_ref`, so this is the
    /// only strong reference the loop holds (`runtime/observe/deadlock.rs`).
    pub(crate) waker: Option<Arc<TaskWaker>>,
    /// Who awaits this task's result (`Task<T>`'s poll), packed: see [`TaskSlab::take_join_waiter`].
    join_waiter: JoinWaiter,
}

/// Who awaits a task's result, in 8 bytes where a [`WakeRef`] takes 16: nobody
/// ([`OwnKey::NOBODY`]); a task of this loop, by its [`OwnKey`], as it is; or, for a waker of
/// another kind (a combinator's child waker, another crate's), the index of its place in the
/// slab's [`ForeignJoiners`], marked by the loop tag [`NO_TAG`], which no `OwnKey` a loop
/// hands out carries. (The timer wheel packs its entries the same way: `runtime/timers.rs`.)
///
/// Only a `Task` handle's poll sets it, so a task without a handle has nobody here
/// (`Core::release_handle` takes the waiter out when the handle goes).
#[derive(Clone, Copy, Debug)]
pub(crate) struct JoinWaiter(OwnKey);

impl JoinWaiter {
    const NOBODY: JoinWaiter = JoinWaiter(OwnKey::NOBODY);

    #[inline]
    fn is_nobody(self) -> bool {
        self.0 == OwnKey::NOBODY
    }
}

/// The join waiters that are not a task of this loop ([`JoinWaiter`]): a slab of wakers
/// whose vacant places are listed in `free`, so that a grown table never allocates again.
#[derive(Debug, Default)]
struct ForeignJoiners {
    places: Vec<Option<Waker>>,
    free: Vec<u32>,
}

impl ForeignJoiners {
    /// Packs `waiter`: an own key as it is, any other waker into a place of its own.
    #[inline]
    fn pack(&mut self, waiter: WakeRef) -> JoinWaiter {
        match waiter {
            // (`WakeRef::NOBODY`, the one own key with `NO_TAG`, packs as itself: nobody.)
            WakeRef::Own(own) => JoinWaiter(own),
            WakeRef::Other(waker) => self.put(waker),
        }
    }

    fn put(&mut self, waker: Waker) -> JoinWaiter {
        let index = match self.free.pop() {
            Some(index) => {
                self.places[index as usize] = Some(waker);
                index
            }
            None => {
                let index = u32::try_from(self.places.len())
                    .ok()
                    .filter(|&index| index != u32::MAX)
                    .expect("more than 4 294 967 294 tasks are awaited from outside the loop");
                self.places.push(Some(waker));
                index
            }
        };
        JoinWaiter(OwnKey::new(NO_TAG, TaskKey::new(index, 0)))
    }

    /// The waiter `packed` stands for, taken out of its place if it has one.
    #[inline]
    fn unpack(&mut self, packed: JoinWaiter) -> Option<WakeRef> {
        match packed.0 {
            own if own.tag() != NO_TAG => Some(WakeRef::Own(own)),
            _ if packed.is_nobody() => None,
            marked => Some(self.take(marked.index())),
        }
    }

    fn take(&mut self, index: u32) -> WakeRef {
        let waker = self.places[index as usize].take();
        self.free.push(index);
        WakeRef::Other(waker.expect("a join waiter's place holds its waker"))
    }
}

impl std::fmt::Debug for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slot")
            .field("state", &self.state)
            .field("meta", &self.meta)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Default)]
pub(crate) struct TaskSlab {
    slots: Vec<Entry>,
    free: Vec<u32>,
    live: usize,
    /// The names of the live tasks spawned with one, by slot index: only they pay for it.
    names: HashMap<u32, Box<str>>,
    sites: Sites,
    foreign_joiners: ForeignJoiners,
}

#[derive(Debug)]
enum Entry {
    Occupied(Slot),
    Vacant { generation: u32 },
}

fn split(key: TaskKey) -> (usize, u32) {
    (key.index() as usize, key.generation())
}

impl TaskSlab {
    /// The key the next `insert` will use.
    pub(crate) fn next_key(&self) -> TaskKey {
        match self.free.last() {
            Some(&index) => match self.slots[index as usize] {
                Entry::Vacant { generation } => TaskKey::new(index, generation),
                Entry::Occupied(_) => unreachable!("free list points at an occupied slot"),
            },
            None => {
                // The two highest keys are the ready queue's markers; stay well below them.
                let index = u32::try_from(self.slots.len())
                    .ok()
                    .filter(|&i| i < u32::MAX - 1)
                    .expect("more than 4 billion live tasks on one loop");
                TaskKey::new(index, 0)
            }
        }
    }

    #[inline]
    pub(crate) fn insert(&mut self, make: impl FnOnce(TaskKey) -> SlotInit) -> TaskKey {
        let key = self.next_key();
        let (index, generation) = split(key);
        let init = make(key);
        let site = self.sites.add(init.origin.spawned_at, index as u32);
        let slot = Slot {
            generation,
            state: init.state,
            polls: 0,
            cancel_requested: false,
            has_handle: true,
            wait_kind: 0,
            wait_arg: 0,
            body: init.body,
            waker: init.waker,
            join_waiter: JoinWaiter::NOBODY,
            meta: Meta::pack(init.origin.number, site),
        };
        if let Some(name) = init.name {
            self.names.insert(index as u32, name);
        }
        if index == self.slots.len() {
            self.slots.push(Entry::Occupied(slot));
        } else {
            self.free.pop();
            self.slots[index] = Entry::Occupied(slot);
        }
        self.live += 1;
        key
    }

    pub(crate) fn get(&self, key: TaskKey) -> Option<&Slot> {
        let (index, generation) = split(key);
        match self.slots.get(index) {
            Some(Entry::Occupied(slot)) if slot.generation == generation => Some(slot),
            _ => None,
        }
    }

    /// The key of the task in slot `index`, if one lives there.
    pub(crate) fn key_at(&self, index: u32) -> Option<TaskKey> {
        match self.slots.get(index as usize) {
            Some(Entry::Occupied(slot)) => Some(TaskKey::new(index, slot.generation)),
            _ => None,
        }
    }

    /// The task in slot `index`, with its key, if one lives there.
    pub(crate) fn slot_at_mut(&mut self, index: u32) -> Option<(TaskKey, &mut Slot)> {
        match self.slots.get_mut(index as usize) {
            Some(Entry::Occupied(slot)) => Some((TaskKey::new(index, slot.generation), slot)),
            _ => None,
        }
    }

    pub(crate) fn get_mut(&mut self, key: TaskKey) -> Option<&mut Slot> {
        let (index, generation) = split(key);
        match self.slots.get_mut(index) {
            Some(Entry::Occupied(slot)) if slot.generation == generation => Some(slot),
            _ => None,
        }
    }

    /// Frees the slot and hands its contents back, to be dropped after the borrow ends.
    #[inline]
    pub(crate) fn remove(&mut self, key: TaskKey) -> Option<Slot> {
        let (index, generation) = split(key);
        match self.slots.get(index) {
            Some(Entry::Occupied(slot)) if slot.generation == generation => {}
            _ => return None,
        }
        let next = Entry::Vacant {
            generation: generation.wrapping_add(1),
        };
        let Entry::Occupied(slot) = std::mem::replace(&mut self.slots[index], next) else {
            unreachable!()
        };
        self.free.push(index as u32);
        self.live -= 1;
        if !self.names.is_empty() {
            self.names.remove(&(index as u32));
        }
        self.sites.remove(slot.meta, index as u32);
        // Nobody waits on a task without a handle, the only kind that is freed unfinished;
        // should a waker be left, its place is freed with the slot.
        if !slot.join_waiter.is_nobody() {
            debug_assert!(false, "a freed task still had a join waiter");
            drop(self.foreign_joiners.unpack(slot.join_waiter));
        }
        Some(slot)
    }

    /// Who waits for the result of the task at `key`, taken out: nobody waits afterwards.
    #[inline]
    pub(crate) fn take_join_waiter(&mut self, key: TaskKey) -> Option<WakeRef> {
        let slot = self.get_mut(key)?;
        let packed = std::mem::replace(&mut slot.join_waiter, JoinWaiter::NOBODY);
        self.foreign_joiners.unpack(packed)
    }

    /// Makes `waiter` the one who waits for the result of the task at `key` (which is live,
    /// and which [`TaskSlab::take_join_waiter`] left with nobody).
    #[inline]
    pub(crate) fn put_join_waiter(&mut self, key: TaskKey, waiter: WakeRef) {
        let packed = self.foreign_joiners.pack(waiter);
        let slot = self
            .get_mut(key)
            .expect("a join waiter is put on a live task");
        debug_assert!(
            slot.join_waiter.is_nobody(),
            "a join waiter was overwritten"
        );
        slot.join_waiter = packed;
    }

    /// What the task `key` names is called and where it came from.
    pub(crate) fn meta(&self, key: TaskKey) -> Option<MetaView<'_>> {
        let slot = self.get(key)?;
        let name = match self.names.is_empty() {
            true => None,
            false => self.names.get(&key.index()).map(|n| &**n),
        };
        Some(MetaView {
            number: slot.meta.number(),
            name,
            spawned_at: self.sites.get(slot.meta, key.index()),
        })
    }

    /// Number of occupied slots (unfinished tasks and finished ones not yet joined).
    pub(crate) fn len(&self) -> usize {
        self.live
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (TaskKey, &Slot)> {
        self.slots.iter().enumerate().filter_map(|(i, e)| match e {
            Entry::Occupied(slot) => Some((TaskKey::new(i as u32, slot.generation), slot)),
            Entry::Vacant { .. } => None,
        })
    }
}

/// What a new slot starts with.
pub(crate) struct SlotInit {
    pub(crate) state: State,
    pub(crate) body: Body,
    pub(crate) waker: Option<Arc<TaskWaker>>,
    pub(crate) origin: Origin,
    pub(crate) name: Option<Box<str>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn init() -> SlotInit {
        SlotInit {
            state: State::Idle,
            body: Body(None),
            waker: None,
            origin: Origin {
                number: 1,
                spawned_at: Location::caller(),
            },
            name: None,
        }
    }

    #[test]
    fn stale_keys_find_nothing() {
        let mut slab = TaskSlab::default();
        let a = slab.insert(|_| init());
        assert!(slab.get(a).is_some());
        assert!(slab.remove(a).is_some());
        let b = slab.insert(|_| init());
        assert_ne!(a, b, "a reused slot gets a new generation");
        assert!(slab.get(a).is_none());
        assert!(slab.remove(a).is_none());
        assert_eq!(slab.len(), 1);
    }

    #[test]
    fn a_slot_stays_small() {
        // Every live task costs one slot; keep an eye on it (see DESIGN.md, memory).
        assert!(
            std::mem::size_of::<Entry>() <= 56,
            "{}",
            std::mem::size_of::<Entry>()
        );
    }

    #[test]
    fn spawn_sites_are_kept_once_and_given_back_exactly() {
        let mut slab = TaskSlab::default();
        let here = Location::caller();
        let there = Location::caller();
        let mut at = |site| {
            slab.insert(|_| SlotInit {
                origin: Origin {
                    number: 7,
                    spawned_at: site,
                },
                ..init()
            })
        };
        let (a, b, c) = (at(here), at(there), at(here));
        for (key, site) in [(a, here), (b, there), (c, here)] {
            let meta = slab.meta(key).expect("live");
            assert_eq!((meta.number, meta.spawned_at), (7, site));
        }
        assert_eq!(slab.sites.list.len(), 2, "one entry per site, not per task");
    }

    #[test]
    fn a_full_site_table_keeps_sites_beside_the_slots() {
        let mut slab = TaskSlab::default();
        let filler = Location::caller();
        slab.sites.list = vec![filler; usize::from(Sites::FULL)];
        let late = Location::caller();
        let key = slab.insert(|_| SlotInit {
            origin: Origin {
                number: 1,
                spawned_at: late,
            },
            ..init()
        });
        assert_eq!(slab.meta(key).expect("live").spawned_at, late);
        assert_eq!(slab.sites.overflow.len(), 1);
        assert!(slab.remove(key).is_some());
        assert!(slab.sites.overflow.is_empty(), "freed with its slot");
    }

    #[test]
    fn spawn_numbers_past_48_bits_read_as_the_last() {
        assert_eq!(Meta::pack(5, 3).number(), 5);
        assert_eq!(Meta::pack(5, 3).site(), 3);
        assert_eq!(Meta::pack(u64::MAX, 1).number(), Meta::MAX_NUMBER);
        assert_eq!(Meta::pack(u64::MAX, 1).site(), 1);
    }

    use proptest::prelude::*;

    #[derive(Clone, Debug)]
    enum Op {
        /// A new task, as `Core::spawn` makes one.
        Spawn,
        /// A wake of the `n`-th key ever issued (maybe freed since: then a stale key).
        Schedule(prop::sample::Index),
        /// The task runs and finishes.
        Finish(prop::sample::Index),
        /// Its handle takes the result: the slot is freed.
        Free(prop::sample::Index),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => Just(Op::Spawn),
            3 => any::<prop::sample::Index>().prop_map(Op::Schedule),
            2 => any::<prop::sample::Index>().prop_map(Op::Finish),
            2 => any::<prop::sample::Index>().prop_map(Op::Free),
        ]
    }

    /// A join waiter as the model keeps it.
    #[derive(Debug)]
    enum Waiter {
        Own(OwnKey),
        Foreign(Waker),
    }

    impl Waiter {
        fn hold(&self) -> WakeRef {
            match self {
                Waiter::Own(own) => WakeRef::Own(*own),
                Waiter::Foreign(w) => WakeRef::Other(w.clone()),
            }
        }
    }

    /// Whether `got` is what the model expects.
    fn same(got: &Option<WakeRef>, expected: &Option<Waiter>) -> bool {
        match (got, expected) {
            (None, None) => true,
            (Some(WakeRef::Own(a)), Some(Waiter::Own(b))) => a == b,
            (Some(WakeRef::Other(a)), Some(Waiter::Foreign(b))) => a.will_wake(b),
            _ => false,
        }
    }

    /// A foreign waker, told apart by its `Arc`.
    struct Id(#[allow(dead_code)] u32);

    impl std::task::Wake for Id {
        fn wake(self: Arc<Self>) {}
    }

    #[derive(Clone, Debug)]
    enum JoinOp {
        Spawn,
        /// A `Task` handle's poll: a new waiter (foreign or not) replaces the old.
        Join(prop::sample::Index, bool),
        /// The task finishes: its waiter is taken to be woken.
        Take(prop::sample::Index),
        /// The slot is freed.
        Free(prop::sample::Index),
    }

    fn join_op() -> impl Strategy<Value = JoinOp> {
        prop_oneof![
            2 => Just(JoinOp::Spawn),
            4 => (any::<prop::sample::Index>(), any::<bool>()).prop_map(|(i, f)| JoinOp::Join(i, f)),
            2 => any::<prop::sample::Index>().prop_map(JoinOp::Take),
            2 => any::<prop::sample::Index>().prop_map(JoinOp::Free),
        ]
    }

    proptest! {
        /// The slab against a trivially correct model: every key ever issued, and the state
        /// its task is in (`None` once freed). Stale keys must find nothing, live keys their
        /// own task, and no two live tasks may share a key.
        #[test]
        fn matches_a_vec_model(ops in prop::collection::vec(op(), 1..300)) {
            let mut slab = TaskSlab::default();
            // Three spawn sites, taken in turn: each task must get its own back.
            let sites = [Location::caller(), Location::caller(), Location::caller()];
            // Every key issued: (key, its task's state or None once freed, its number).
            let mut model: Vec<(TaskKey, Option<State>, u64)> = Vec::new();
            for op in ops {
                match op {
                    Op::Spawn => {
                        let number = model.len() as u64;
                        let site = sites[number as usize % sites.len()];
                        let predicted = slab.next_key();
                        let mut given = None;
                        let key = slab.insert(|key| {
                            given = Some(key);
                            let mut init = init();
                            init.state = State::Scheduled;
                            init.origin = Origin { number, spawned_at: site };
                            init
                        });
                        prop_assert_eq!(given, Some(key), "make sees the slot's own key");
                        prop_assert_eq!(key, predicted, "insert uses next_key");
                        model.push((key, Some(State::Scheduled), number));
                    }
                    Op::Schedule(pick) if !model.is_empty() => {
                        let n = model.len();
                        let (key, state, _) = &mut model[pick.index(n)];
                        let slot = slab.get_mut(*key);
                        prop_assert_eq!(slot.is_some(), state.is_some());
                        if let Some(slot) = slot {
                            // Idle -> Scheduled; anything else: a wake that does nothing.
                            if slot.state == State::Idle {
                                slot.state = State::Scheduled;
                            }
                            *state = Some(slot.state);
                        }
                    }
                    Op::Finish(pick) if !model.is_empty() => {
                        let n = model.len();
                        let (key, state, _) = &mut model[pick.index(n)];
                        if let Some(slot) = slab.get_mut(*key) {
                            slot.state = State::Done;
                            *state = Some(State::Done);
                        }
                    }
                    Op::Free(pick) if !model.is_empty() => {
                        let n = model.len();
                        let (key, state, number) = &mut model[pick.index(n)];
                        let removed = slab.remove(*key).map(|s| s.meta.number());
                        prop_assert_eq!(removed, state.map(|_| *number));
                        *state = None;
                    }
                    _ => {}
                }
                // After every step: the slab says what the model says.
                let live: Vec<_> = model.iter().filter(|(_, s, _)| s.is_some()).collect();
                prop_assert_eq!(slab.len(), live.len());
                for (key, state, number) in &model {
                    let found = slab.get(*key).map(|s| (s.state, s.meta.number()));
                    prop_assert_eq!(found, state.map(|s| (s, *number)), "key {:?}", key);
                    let site = slab.meta(*key).map(|m| m.spawned_at);
                    let expected = state.map(|_| sites[*number as usize % sites.len()]);
                    prop_assert_eq!(site, expected, "the spawn site of key {:?}", key);
                }
                let mut listed: Vec<TaskKey> = slab.iter().map(|(k, _)| k).collect();
                listed.sort_unstable();
                let mut expected: Vec<TaskKey> = live.iter().map(|(k, _, _)| *k).collect();
                expected.sort_unstable();
                prop_assert_eq!(listed, expected, "iter lists the live tasks, once each");
                for (key, _, _) in &live {
                    prop_assert_eq!(slab.key_at(key.index()), Some(*key));
                }
            }
        }

        /// Join waiters against a model: each live task's waiter (an own key, or a foreign
        /// waker kept beside the slots), put, replaced and taken in any order, comes back as
        /// it went in, and foreign places are used again once given back.
        #[test]
        fn join_waiters_match_a_model(ops in prop::collection::vec(join_op(), 1..300)) {
            let mut slab = TaskSlab::default();
            // Every key issued: (key, live?, who waits: an own key's index or a waker).
            let mut model: Vec<(TaskKey, bool, Option<Waiter>)> = Vec::new();
            let mut made = 0u32;
            for op in ops {
                match op {
                    JoinOp::Spawn => {
                        let key = slab.insert(|_| init());
                        model.push((key, true, None));
                    }
                    JoinOp::Join(pick, foreign) if !model.is_empty() => {
                        let n = model.len();
                        let (key, live, waiter) = &mut model[pick.index(n)];
                        if !*live {
                            continue;
                        }
                        let old = slab.take_join_waiter(*key);
                        prop_assert!(same(&old, waiter), "the waiter put last comes back");
                        made += 1;
                        let new = if foreign {
                            Waiter::Foreign(std::task::Waker::from(Arc::new(Id(made))))
                        } else {
                            Waiter::Own(OwnKey::new(1, TaskKey::new(made, 0)))
                        };
                        slab.put_join_waiter(*key, new.hold());
                        *waiter = Some(new);
                    }
                    JoinOp::Take(pick) if !model.is_empty() => {
                        let n = model.len();
                        let (key, live, waiter) = &mut model[pick.index(n)];
                        let taken = slab.take_join_waiter(*key);
                        prop_assert_eq!(taken.is_some(), *live && waiter.is_some());
                        prop_assert!(same(&taken, waiter));
                        *waiter = None;
                    }
                    JoinOp::Free(pick) if !model.is_empty() => {
                        let n = model.len();
                        let (key, live, waiter) = &mut model[pick.index(n)];
                        // As `Core` does: the waiter is taken before a slot is freed.
                        let taken = slab.take_join_waiter(*key);
                        prop_assert!(same(&taken, waiter));
                        prop_assert_eq!(slab.remove(*key).is_some(), *live);
                        *live = false;
                        *waiter = None;
                    }
                    _ => {}
                }
                let foreign = model
                    .iter()
                    .filter(|(_, live, w)| *live && matches!(w, Some(Waiter::Foreign(_))))
                    .count();
                let places = &slab.foreign_joiners;
                prop_assert_eq!(places.places.len() - places.free.len(), foreign);
                prop_assert_eq!(
                    places.places.iter().filter(|p| p.is_some()).count(),
                    foreign,
                    "a place is taken exactly while its waker waits"
                );
            }
        }
    }
}
