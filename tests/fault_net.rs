//! Network faults that must not take the loop down or hang it: a peer that stops reading
//! while the loop keeps serving another client (asyncio: `test_streams.py`'s flow control).
//! A peer that resets mid-write and EMFILE on accept are in `net_errors.rs`.

mod util;

use std::cell::Cell;
use std::io::{self, Read};
use std::net::SocketAddr;
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;

use tinyloop::net::{TcpListener, TcpStream};
use tinyloop::{sleep, spawn, Loop};
use util::within;

const LIMIT: Duration = Duration::from_secs(30);

/// A local listener and its address.
fn listener() -> (TcpListener, SocketAddr) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a local port");
    let addr = l.local_addr().unwrap();
    (l, addr)
}

/// Polls `fut` exactly once, then drops it (a cancellation if it was pending).
async fn poll_once<F: std::future::Future>(fut: F) -> std::task::Poll<F::Output> {
    let mut fut = std::pin::pin!(fut);
    std::future::poll_fn(|cx| std::task::Poll::Ready(fut.as_mut().poll(cx))).await
}

/// Nothing here depends on how much the kernel buffers, or on how fast the machine is: the
/// socket counts as backed up when a write finds it full (the kernel said `WouldBlock`), the
/// writer counts the bytes each `write` took, and the slow peer's thread reads until end of
/// stream and is joined through `to_thread`, never by blocking the loop's thread.
#[test]
fn a_peer_that_stops_reading_backs_up_writes_while_the_loop_serves_others() {
    within(LIMIT, || {
        Loop::new().block_on(async {
            let (l, addr) = listener();
            // The slow peer connects and reads nothing until step 3.
            let slow_peer = std::net::TcpStream::connect(addr).unwrap();
            let (mut to_slow, _) = l.accept().await.unwrap();
            // 1. Fill every buffer between us and the slow peer: write until a write waits.
            let chunk = vec![1u8; 64 * 1024];
            let mut filled = 0usize;
            while let Poll::Ready(n) = poll_once(to_slow.write(&chunk)).await {
                filled += n.unwrap();
            }
            assert!(filled > 0);
            // A writer task goes on writing: it must wait for room, not fail.
            let sent = Rc::new(Cell::new(filled));
            let s = Rc::clone(&sent);
            let writer = spawn(async move {
                loop {
                    let n = to_slow.write(&chunk).await?;
                    s.set(s.get() + n);
                }
                #[allow(unreachable_code)]
                Ok::<(), io::Error>(())
            });
            // 2. Meanwhile the loop serves an echo to another client, many times over.
            let echo = spawn(async move {
                let (mut s, _) = l.accept().await.unwrap();
                let mut buf = [0u8; 5];
                for _ in 0..100 {
                    s.read_exact(&mut buf).await.unwrap();
                    s.write_all(&buf).await.unwrap();
                }
            });
            let mut c = TcpStream::connect(addr).await.unwrap();
            for i in 0..100u8 {
                let msg = [i; 5];
                c.write_all(&msg).await.unwrap();
                let mut back = [0u8; 5];
                c.read_exact(&mut back).await.unwrap();
                assert_eq!(back, msg);
            }
            echo.await.unwrap();
            assert!(
                !writer.is_done(),
                "the writer waits for room, it does not fail"
            );
            // 3. Once the slow peer reads, the writer moves again.
            let before = sent.get();
            let reader = std::thread::spawn(move || {
                let mut s = slow_peer;
                let mut buf = vec![0u8; 1 << 20];
                let mut total = 0usize;
                loop {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => return total,
                        Ok(n) => total += n,
                    }
                }
            });
            while sent.get() == before {
                sleep(Duration::from_millis(5)).await;
            }
            // Dropping the writer closes the socket: the peer reads every byte sent, then
            // end of stream, and its thread ends. Joined off the loop's thread.
            writer.cancel();
            let _ = writer.await;
            let read = tinyloop::to_thread(move || reader.join().expect("the reader thread"))
                .await
                .unwrap();
            assert_eq!(
                read,
                sent.get(),
                "every byte the kernel took reached the peer"
            );
        });
    });
}
