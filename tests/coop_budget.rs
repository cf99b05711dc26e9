//! The cooperative budget (issue 10, "nobody starved"): a task whose socket or primitive is
//! always ready still lets the other tasks and the timers run. The claims count turns and
//! check orderings, never wall-clock time.

use std::cell::Cell;
use std::future::Future;
use std::io::Write;
use std::rc::Rc;
use std::time::Duration;

use tinyloop::{spawn, Event, Lock, Loop, Queue, Semaphore, TcpStream};

/// How many ready operations `op` may complete in a row before a task spawned after it runs.
/// Without a budget that is every one of `limit`.
fn ops_before_a_sibling_runs<F, Fut>(limit: u64, mut op: F) -> u64
where
    F: FnMut() -> Fut + 'static,
    Fut: Future<Output = ()>,
{
    Loop::new().block_on(async move {
        let done = Rc::new(Cell::new(0u64));
        let sibling_saw = Rc::new(Cell::new(None));
        let (d, s) = (Rc::clone(&done), Rc::clone(&sibling_saw));
        let busy = spawn(async move {
            for _ in 0..limit {
                op().await;
                d.set(d.get() + 1);
                if s.get().is_some() {
                    break;
                }
            }
        });
        let (d, s) = (Rc::clone(&done), Rc::clone(&sibling_saw));
        let sibling = spawn(async move { s.set(Some(d.get())) });
        busy.await.unwrap();
        sibling.await.unwrap();
        sibling_saw.get().expect("the sibling ran")
    })
}

const LIMIT: u64 = 200_000;

#[test]
fn a_task_cycling_items_through_a_never_empty_queue_lets_others_run() {
    let queue = Queue::unbounded();
    queue.try_put(0u64).unwrap();
    let ops = ops_before_a_sibling_runs(LIMIT, move || {
        let queue = queue.clone();
        async move {
            let item = queue.get().await.unwrap();
            queue.put(item + 1).await.unwrap();
        }
    });
    // Two operations per cycle; the budget is 128 operations per poll.
    assert!(ops <= 64, "the sibling ran only after {ops} cycles");
}

#[test]
fn always_ready_sync_primitives_let_others_run() {
    let event = Event::new();
    event.set();
    let ops = ops_before_a_sibling_runs(LIMIT, move || {
        let event = event.clone();
        async move { event.wait().await }
    });
    assert!(ops <= 128, "Event::wait: {ops}");

    let lock = Rc::new(Lock::new(0));
    let ops = ops_before_a_sibling_runs(LIMIT, move || {
        let lock = Rc::clone(&lock);
        async move {
            *lock.lock().await += 1;
        }
    });
    assert!(ops <= 128, "Lock::lock: {ops}");

    let sem = Rc::new(Semaphore::new(1));
    let ops = ops_before_a_sibling_runs(LIMIT, move || {
        let sem = Rc::clone(&sem);
        async move {
            let _permit = sem.acquire().await;
        }
    });
    assert!(ops <= 128, "Semaphore::acquire: {ops}");
}

#[test]
fn a_budget_spent_mid_get_loses_no_item() {
    // Every item put is got exactly once, in order, though many gets hit a spent budget.
    let got = Loop::new().block_on(async {
        let queue = Queue::unbounded();
        for n in 0..1000u32 {
            queue.try_put(n).unwrap();
        }
        let mut got = Vec::new();
        while let Ok(n) = queue.try_get() {
            queue.put(n).await.unwrap(); // back in, behind the rest, through the budget
            got.push(queue.get().await.unwrap());
            if got.len() == 1000 {
                break;
            }
        }
        got
    });
    assert_eq!(got.len(), 1000);
    let mut sorted = got.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), 1000, "no item lost or doubled");
}

#[test]
fn a_reader_of_a_flooded_socket_lets_a_sleeper_finish_while_it_reads() {
    const TOTAL: usize = 64 << 20;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let flooder = std::thread::spawn(move || {
        let (mut peer, _) = listener.accept().unwrap();
        // Big writes, small reads: the reader's socket never runs dry.
        let chunk = vec![7u8; 64 << 10];
        for _ in 0..TOTAL / chunk.len() {
            if peer.write_all(&chunk).is_err() {
                break; // the reader has seen enough and hung up
            }
        }
    });
    let (slept_while_reading, total) = Loop::new().block_on(async move {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let slept = Rc::new(Cell::new(false));
        let s = Rc::clone(&slept);
        let sleeper = spawn(async move {
            tinyloop::sleep(Duration::from_millis(2)).await;
            s.set(true);
        });
        let mut buf = [0u8; 512];
        let mut total = 0;
        loop {
            let n = stream.read(&mut buf).await.unwrap();
            total += n;
            if n == 0 || slept.get() {
                break;
            }
        }
        let slept_while_reading = slept.get() && total < TOTAL;
        drop(stream);
        sleeper.await.unwrap();
        (slept_while_reading, total)
    });
    flooder.join().unwrap();
    assert!(
        slept_while_reading,
        "the 2 ms sleep finished only after the reader had read all {total} bytes"
    );
}
