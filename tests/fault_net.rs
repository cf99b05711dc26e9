//! Network faults that must not take the loop down or hang it: a peer that stops reading
//! while the loop keeps serving another client (asyncio: `test_streams.py`'s flow control).
//! A peer that resets mid-write and EMFILE on accept are in `net_errors.rs`.

mod util;

use std::io::{self, Read};
use std::net::SocketAddr;
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

#[test]
fn a_peer_that_stops_reading_backs_up_writes_while_the_loop_serves_others() {
    within(LIMIT, || {
        Loop::new().block_on(async {
            let (l, addr) = listener();
            // The slow peer connects and never reads; it is kept open until the end.
            let slow_peer = std::net::TcpStream::connect(addr).unwrap();
            let (mut to_slow, _) = l.accept().await.unwrap();
            let written = std::rc::Rc::new(std::cell::Cell::new(0usize));
            let w = std::rc::Rc::clone(&written);
            let writer = spawn(async move {
                let chunk = vec![1u8; 64 * 1024];
                loop {
                    to_slow.write_all(&chunk).await?;
                    w.set(w.get() + chunk.len());
                }
                #[allow(unreachable_code)]
                Ok::<(), io::Error>(())
            });
            // Let the writer fill every buffer between us and the slow peer.
            let mut last = usize::MAX;
            while written.get() != last {
                last = written.get();
                sleep(Duration::from_millis(50)).await;
            }
            assert!(
                !writer.is_done(),
                "the writer waits for room, it does not fail"
            );
            let backed_up = written.get();
            // Meanwhile the loop serves an echo to another client, many times over.
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
            assert_eq!(
                written.get(),
                backed_up,
                "the slow peer still reads nothing"
            );
            assert!(!writer.is_done());
            // Once the slow peer reads, the writer moves again.
            let reader = std::thread::spawn(move || {
                let mut s = slow_peer;
                let mut buf = vec![0u8; 1 << 20];
                let mut total = 0;
                while total < 8 << 20 {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => total += n,
                    }
                }
            });
            while written.get() <= backed_up {
                sleep(Duration::from_millis(5)).await;
            }
            reader.join().unwrap();
            writer.cancel();
            let _ = writer.await;
        });
    });
}
