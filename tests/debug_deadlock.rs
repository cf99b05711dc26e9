//! Deadlock detection: a main future that waits on something nothing can ever do is caught
//! and reported (Go's "all goroutines are asleep"), in real and virtual time, and nothing
//! that can still wake the loop is mistaken for a deadlock.

use std::cell::RefCell;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use tinyloop::{Event, Lock, Loop, OnDeadlock, Queue, Task};

fn loop_with(virtual_time: bool) -> Loop {
    Loop::builder().virtual_time(virtual_time).build().unwrap()
}

/// Awaits a task that awaits an `Event` nobody sets: the classic stuck program.
async fn stuck_program() {
    let event = Event::new();
    let worker = tinyloop::spawn_named("worker", async move {
        event.wait().await;
    });
    worker.await.unwrap();
}

#[test]
fn a_stuck_program_is_caught_in_real_time() {
    let err = loop_with(false).try_block_on(stuck_program()).unwrap_err();
    let report = err.report();
    assert!(
        report.starts_with("deadlock: the main future is waiting and nothing can ever wake it"),
        "{report}"
    );
    assert!(
        report.contains("The main future waits on task #1 'worker'"),
        "{report}"
    );
    assert!(
        report.contains("worker"),
        "the dump lists the worker:\n{report}"
    );
    assert!(report.contains("0 timers armed"), "{report}");
    assert!(
        report.contains("which waits on Event::wait"),
        "the chain ends at the event:\n{report}"
    );
}

#[test]
fn a_stuck_program_is_caught_in_virtual_time() {
    let lp = loop_with(true);
    let err = lp
        .try_block_on(async {
            // Timers that do fire do not hide the deadlock that follows them.
            tinyloop::sleep(Duration::from_secs(10)).await;
            stuck_program().await;
        })
        .unwrap_err();
    assert!(err.to_string().starts_with("deadlock:"), "{err}");
}

#[test]
fn block_on_and_run_panic_with_the_report() {
    let panic = catch_unwind(AssertUnwindSafe(|| {
        loop_with(true).block_on(stuck_program());
    }))
    .unwrap_err();
    let message = panic.downcast_ref::<String>().unwrap();
    assert!(message.starts_with("deadlock:"), "{message}");

    let panic = catch_unwind(|| tinyloop::run(std::future::pending::<()>())).unwrap_err();
    let message = panic.downcast_ref::<String>().unwrap();
    assert!(message.starts_with("deadlock:"), "{message}");
    assert!(
        message.contains("something that is not a tinyloop primitive"),
        "{message}"
    );
}

#[test]
fn tasks_awaiting_each_other_show_in_the_report() {
    let err = loop_with(true)
        .try_block_on(async {
            // `a` awaits `b` and `b` awaits `a`: each holds the other's handle.
            let b_handle: Rc<RefCell<Option<Task<()>>>> = Rc::default();
            let for_a = Rc::clone(&b_handle);
            let a = tinyloop::spawn_named("a", async move {
                tinyloop::yield_now().await;
                let b = for_a.borrow_mut().take().unwrap();
                b.await.unwrap();
            });
            let b = tinyloop::spawn_named("b", async move {
                a.await.unwrap();
            });
            *b_handle.borrow_mut() = Some(b);
            std::future::pending::<()>().await;
        })
        .unwrap_err();
    let report = err.report();
    let line = |name: &str| {
        report
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(name))
            .unwrap_or_else(|| panic!("no line for {name}:\n{report}"))
    };
    assert!(line("a").contains("task #2 'b'"), "{report}");
    assert!(line("b").contains("task #1 'a'"), "{report}");
}

#[test]
fn a_thread_holding_a_loop_handle_is_not_a_deadlock() {
    let lp = loop_with(false);
    let handle = lp.handle();
    let waker_slot: Arc<Mutex<Option<Waker>>> = Arc::default();
    let theirs = Arc::clone(&waker_slot);
    let thread = std::thread::spawn(move || {
        let _handle = handle; // held while this thread may wake the loop
        std::thread::sleep(Duration::from_millis(120));
        if let Some(w) = theirs.lock().unwrap().take() {
            w.wake();
        }
    });
    let mut woken = false;
    lp.try_block_on(std::future::poll_fn(|cx| {
        if woken {
            return Poll::Ready(());
        }
        woken = true;
        *waker_slot.lock().unwrap() = Some(cx.waker().clone());
        Poll::Pending
    }))
    .expect("a thread holding a LoopHandle can still wake the loop");
    thread.join().unwrap();
}

#[test]
fn a_raw_waker_woken_later_is_not_a_deadlock() {
    for virtual_time in [false, true] {
        let lp = loop_with(virtual_time);
        let mut started = false;
        let mut thread = None;
        lp.try_block_on(std::future::poll_fn(|cx| {
            if started {
                return Poll::Ready(());
            }
            started = true;
            let waker = cx.waker().clone();
            thread = Some(std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                waker.wake();
            }));
            Poll::Pending
        }))
        .expect("a thread holds the waker: the loop may not call it a deadlock");
        thread.unwrap().join().unwrap();
    }
}

#[test]
fn work_in_flight_is_not_a_deadlock() {
    loop_with(true).block_on(async {
        let n = tinyloop::to_thread(|| {
            std::thread::sleep(Duration::from_millis(80));
            7
        })
        .await
        .unwrap();
        assert_eq!(n, 7);
        // A sleep alone is a timer armed, not a deadlock.
        tinyloop::sleep(Duration::from_secs(3600)).await;
    });
}

#[test]
fn ignore_keeps_waiting_for_a_late_raw_wake() {
    let lp = Loop::builder()
        .on_deadlock(OnDeadlock::Ignore)
        .build()
        .unwrap();
    let mut started = false;
    let mut thread = None;
    lp.try_block_on(std::future::poll_fn(|cx| {
        if started {
            return Poll::Ready(());
        }
        started = true;
        let waker = cx.waker().clone();
        thread = Some(std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(150));
            waker.wake();
        }));
        Poll::Pending
    }))
    .expect("OnDeadlock::Ignore never reports");
    thread.unwrap().join().unwrap();
}

#[test]
fn after_a_deadlock_the_loop_can_run_again() {
    let lp = loop_with(true);
    assert!(lp.try_block_on(stuck_program()).is_err());
    assert_eq!(lp.block_on(async { 5 }), 5);
}

// ----- foreign wakers: a thread, a channel or a timer from another crate may wake a task at
// any time, so the loop must never call it a deadlock, however late the wake comes. -------

/// How long the foreign wakers below wait before they fire: far past any grace period the
/// old check used (50 ms, 1 s).
const LATE: Duration = Duration::from_secs(3);

#[test]
fn a_futures_oneshot_fed_by_a_thread_3s_later_is_not_a_deadlock() {
    for virtual_time in [false, true] {
        let (tx, rx) = futures_channel::oneshot::channel::<u32>();
        let thread = std::thread::spawn(move || {
            std::thread::sleep(LATE);
            tx.send(7).unwrap();
        });
        let got = loop_with(virtual_time)
            .try_block_on(async { rx.await.unwrap() })
            .expect("the thread holds the receiver's waker");
        assert_eq!(got, 7);
        thread.join().unwrap();
    }
}

#[test]
fn an_async_channel_fed_by_a_thread_3s_later_is_not_a_deadlock() {
    let (tx, rx) = async_channel::bounded::<u32>(1);
    let thread = std::thread::spawn(move || {
        std::thread::sleep(LATE);
        tx.send_blocking(8).unwrap();
    });
    let got = loop_with(false)
        .try_block_on(async move {
            // In a task, not the main future: any waiting task counts, not only main's chain.
            tinyloop::spawn(async move { rx.recv().await.unwrap() })
                .await
                .unwrap()
        })
        .expect("the channel holds the task's waker");
    assert_eq!(got, 8);
    thread.join().unwrap();
}

#[test]
fn a_futures_timer_delay_is_not_a_deadlock() {
    let started = Instant::now();
    loop_with(false)
        .try_block_on(futures_timer::Delay::new(LATE))
        .expect("the futures-timer thread holds the waker");
    assert!(started.elapsed() >= LATE);
}

#[test]
fn a_thread_feeding_a_task_that_forwards_into_a_queue_is_not_a_deadlock() {
    // thread -> async_channel -> forwarding task -> tinyloop Queue / Event -> main. Main's own
    // chain ends at `Queue::get`, a loop-local primitive; what keeps the program alive is the
    // forwarding task's waker, held by the channel.
    let (tx, rx) = async_channel::unbounded::<u32>();
    let thread = std::thread::spawn(move || {
        std::thread::sleep(LATE);
        tx.send_blocking(1).unwrap();
        tx.send_blocking(2).unwrap();
    });
    let got = loop_with(false)
        .try_block_on(async move {
            let queue = Queue::<u32>::unbounded();
            let done = Event::new();
            let (q, d) = (queue.clone(), done.clone());
            let _forward = tinyloop::spawn(async move {
                while let Ok(item) = rx.recv().await {
                    q.put(item).await.unwrap();
                    if item == 2 {
                        d.set();
                    }
                }
            });
            let first = queue.get().await.unwrap();
            done.wait().await;
            (first, queue.get().await.unwrap())
        })
        .expect("a thread still feeds the forwarding task");
    assert_eq!(got, (1, 2));
    thread.join().unwrap();
}

/// Runs `fut` on a fresh loop in its own thread and says whether the loop reported a
/// deadlock within `window`. A loop that rightly keeps waiting is left blocked in its
/// thread (it ends with the test process), so the test cannot hang.
fn reports_within<F>(window: Duration, virtual_time: bool, fut: F) -> Option<String>
where
    F: FnOnce() -> std::pin::Pin<Box<dyn Future<Output = ()>>> + Send + 'static,
{
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let result = loop_with(virtual_time).try_block_on(fut());
        let _ = tx.send(result.err().map(|e| e.report().to_string()));
    });
    match rx.recv_timeout(window) {
        Ok(report) => Some(report.unwrap_or_else(|| "(it finished)".to_string())),
        Err(_) => None,
    }
}

#[test]
fn sleep_duration_max_is_not_a_deadlock() {
    for virtual_time in [false, true] {
        let report = reports_within(Duration::from_millis(2500), virtual_time, || {
            Box::pin(tinyloop::sleep(Duration::MAX))
        });
        assert_eq!(report, None, "virtual_time {virtual_time}");
        // The same sleep in a task the main future awaits.
        let report = reports_within(Duration::from_millis(2500), virtual_time, || {
            Box::pin(async {
                let _ = tinyloop::spawn(tinyloop::sleep(Duration::MAX)).await;
            })
        });
        assert_eq!(report, None, "in a task, virtual_time {virtual_time}");
    }
}

#[test]
fn timeout_duration_max_on_a_pending_future_is_not_a_deadlock() {
    for virtual_time in [false, true] {
        let report = reports_within(Duration::from_millis(2500), virtual_time, || {
            Box::pin(async {
                // In a task the main future awaits: the far timer is the task's.
                let t = tinyloop::spawn(tinyloop::timeout(
                    Duration::MAX,
                    std::future::pending::<()>(),
                ));
                let _ = t.await;
            })
        });
        assert_eq!(report, None, "virtual_time {virtual_time}");
    }
}

#[test]
fn a_sleep_reset_from_duration_max_still_fires() {
    // The far sleep is counted while it waits, and a reset moves it into the wheel.
    loop_with(true).block_on(async {
        let sleep = Rc::new(RefCell::new(Box::pin(tinyloop::sleep(Duration::MAX))));
        let s = Rc::clone(&sleep);
        let waiter = tinyloop::spawn(async move {
            std::future::poll_fn(|cx| s.borrow_mut().as_mut().poll(cx)).await;
        });
        tinyloop::sleep(Duration::from_secs(1)).await;
        let deadline = tinyloop::now() + Duration::from_secs(5);
        sleep.borrow_mut().as_mut().reset(deadline);
        waiter.await.unwrap();
        assert!(tinyloop::now() >= deadline);
    });
}

#[test]
fn a_far_sleep_that_is_dropped_no_longer_counts_against_a_deadlock() {
    // Parked in the timers' far table while it waits, and out of it when dropped: the loop
    // then sees that nothing can ever wake it. (The window only guards against a hang.)
    for virtual_time in [false, true] {
        let report = reports_within(Duration::from_secs(20), virtual_time, || {
            Box::pin(async {
                let mut far = Box::pin(tinyloop::sleep(Duration::MAX));
                std::future::poll_fn(|cx| {
                    assert!(far.as_mut().poll(cx).is_pending());
                    Poll::Ready(())
                })
                .await;
                drop(far);
                std::future::pending::<()>().await;
            })
        });
        let report = report.expect("reported, not kept waiting by a dropped far sleep");
        assert!(report.starts_with("deadlock:"), "{report}");
    }
}

#[test]
fn a_waker_dropped_by_a_thread_without_waking_is_then_a_deadlock() {
    // Held outside, the waker keeps the loop quiet; once the thread drops it unused, the loop
    // looks again and reports.
    let mut thread = None;
    let err = loop_with(false)
        .try_block_on(std::future::poll_fn(|cx| {
            if thread.is_none() {
                let waker = cx.waker().clone();
                thread = Some(std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_millis(100));
                    drop(waker);
                }));
            }
            Poll::<()>::Pending
        }))
        .unwrap_err();
    assert!(err.report().starts_with("deadlock:"), "{err}");
    thread.unwrap().join().unwrap();
}

#[test]
fn a_tasks_waker_dropped_by_a_thread_without_waking_is_then_a_deadlock() {
    // The same for a task: it owns its waker while the thread holds a clone (it was polled
    // with the loop's spare), and the loop sees the clone go.
    let thread = Rc::new(RefCell::new(None));
    let slot = Rc::clone(&thread);
    let err = loop_with(false)
        .try_block_on(async move {
            let task = tinyloop::spawn(std::future::poll_fn(move |cx| {
                if slot.borrow().is_none() {
                    let waker = cx.waker().clone();
                    *slot.borrow_mut() = Some(std::thread::spawn(move || {
                        std::thread::sleep(Duration::from_millis(100));
                        drop(waker);
                    }));
                }
                Poll::<()>::Pending
            }));
            task.await.unwrap();
        })
        .unwrap_err();
    assert!(err.report().starts_with("deadlock:"), "{err}");
    let handle = thread.borrow_mut().take();
    handle.unwrap().join().unwrap();
}

// ----- true deadlocks among tinyloop's own primitives are still reported, at once ---------

/// Runs a stuck program and returns the report, checking that it came quickly (the check is
/// a proof, with no grace period; the bound is wide so that a busy machine cannot fail it).
fn stuck_report<F: Future<Output = ()>>(virtual_time: bool, fut: F) -> String {
    let started = Instant::now();
    let err = loop_with(virtual_time).try_block_on(fut).unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    err.report().to_string()
}

#[test]
fn an_event_never_set_is_reported() {
    for virtual_time in [false, true] {
        let report = stuck_report(virtual_time, async {
            Event::new().wait().await;
        });
        assert!(
            report.contains("The main future waits on Event::wait"),
            "{report}"
        );
    }
}

#[test]
fn a_lock_awaited_by_its_holder_is_reported() {
    for virtual_time in [false, true] {
        let report = stuck_report(virtual_time, async {
            let lock = Rc::new(Lock::new(0));
            let l = Rc::clone(&lock);
            let task = tinyloop::spawn_named("relocker", async move {
                let _held = l.lock().await;
                let _again = l.lock().await; // waits on itself for ever
            });
            task.await.unwrap();
        });
        assert!(report.contains("task #1 'relocker'"), "{report}");
        assert!(report.contains("which waits on Lock::lock"), "{report}");
    }
}

#[test]
fn a_get_on_an_empty_queue_with_no_producer_is_reported() {
    for virtual_time in [false, true] {
        let report = stuck_report(virtual_time, async {
            let queue = Queue::<u32>::new(4);
            let q = queue.clone();
            // A producer that gave up: it put one item, and the consumer wants two.
            tinyloop::spawn(async move { q.put(1).await.unwrap() })
                .await
                .unwrap();
            queue.get().await.unwrap();
            queue.get().await.unwrap();
        });
        assert!(
            report.contains("The main future waits on Queue::get"),
            "{report}"
        );
    }
}

#[test]
fn two_tasks_awaiting_each_other_are_reported_when_main_awaits_one() {
    let report = stuck_report(false, async {
        let b_handle: Rc<RefCell<Option<Task<()>>>> = Rc::default();
        let for_a = Rc::clone(&b_handle);
        let a = tinyloop::spawn_named("a", async move {
            tinyloop::yield_now().await;
            let b = for_a.borrow_mut().take().unwrap();
            b.await.unwrap();
        });
        let b = tinyloop::spawn_named("b", async move {
            a.await.unwrap();
        });
        *b_handle.borrow_mut() = Some(b);
        // Main waits on an event that only `a` would set, after `b`.
        Event::new().wait().await;
    });
    assert!(report.contains("Event::wait"), "{report}");
    assert!(report.contains("'a'") && report.contains("'b'"), "{report}");
}

#[test]
fn a_primitive_shared_by_two_loops_wakes_the_loop_that_waits() {
    // The waiter list holds loop a's task by key; the wake fires while loop b runs.
    let event = Event::new();
    let a = Loop::new();
    let e = event.clone();
    let waiter = a.spawn(async move {
        e.wait().await;
        5
    });
    a.block_on(async {
        tinyloop::yield_now().await;
        tinyloop::yield_now().await;
    });
    Loop::new().block_on(async { event.set() });
    assert_eq!(a.block_on(waiter).unwrap(), 5);
}

#[test]
fn a_task_group_whose_child_waits_for_ever_is_reported() {
    let report = stuck_report(true, async {
        let group = tinyloop::TaskGroup::<()>::new();
        let event = Event::new();
        let _child = group.spawn(async move {
            event.wait().await;
            Ok(())
        });
        let _ = group.join().await;
    });
    assert!(report.starts_with("deadlock:"), "{report}");
    assert!(
        report.contains("Event::wait"),
        "the dump shows the child:\n{report}"
    );
}

#[test]
fn a_select_of_two_never_set_events_is_reported() {
    // `select` polls both sides with the task's own waker: the loop sees through it.
    let report = stuck_report(true, async {
        let (a, b) = (Event::new(), Event::new());
        let _ = tinyloop::select(a.wait(), b.wait()).await;
    });
    assert!(report.contains("Event::wait"), "{report}");
}
