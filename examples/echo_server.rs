//! # Lesson: an echo server
//!
//! The "hello world" of networking, in the shape of asyncio's
//! `asyncio.start_server(handle_echo, host, port)`:
//!
//! - `TcpListener::bind` + an `accept` loop (asyncio's `Server` does this loop for you);
//! - one task per connection (`tinyloop::spawn`, asyncio's `create_task` per client);
//! - `read` until it returns 0 (end of stream), `write_all` what came in;
//! - an `accept` error such as `EMFILE` (out of file descriptors) does not end the
//!   server: it is logged and the loop pauses a moment before accepting again, exactly
//!   what asyncio's `_accept_connection` does with `ACCEPT_RETRY_DELAY`.
//!
//! Run it and talk to it:
//!
//! ```text
//! cargo run --release --example echo_server -- --addr 127.0.0.1:7000
//! nc 127.0.0.1 7000            # type lines, they come back
//! ```
//!
//! Options: `--addr HOST:PORT` (default `127.0.0.1:7000`), `--exit-after N` (stop after
//! N connections have finished), `--self-test` (bind a free port, run a few clients in
//! the same loop, check their echoes, exit; this is what CI runs).

use std::cell::Cell;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use tinyloop::net::{TcpListener, TcpStream};

/// Echoes everything `stream` sends until it closes its side.
async fn echo(mut stream: TcpStream) -> io::Result<u64> {
    let mut buf = vec![0; 16 * 1024];
    let mut total = 0;
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(total); // the client closed: we close too (by dropping the stream)
        }
        stream.write_all(&buf[..n]).await?;
        total += n as u64;
    }
}

/// Accepts connections until `exit_after` of them have finished (forever if `None`).
async fn serve(listener: TcpListener, exit_after: Option<u64>) {
    let finished = Rc::new(Cell::new(0u64));
    loop {
        if exit_after.is_some_and(|n| finished.get() >= n) {
            return;
        }
        // A timeout lets the loop notice `exit_after`; `accept` is cancel-safe, so a
        // connection arriving as the timer fires is not lost, just accepted next time.
        let accepted = match tinyloop::timeout(Duration::from_millis(100), listener.accept()).await
        {
            Err(_elapsed) => continue,
            Ok(accepted) => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                let finished = finished.clone();
                // Detached: the task runs on its own; its Task handle is not needed.
                drop(tinyloop::spawn(async move {
                    match echo(stream).await {
                        Ok(bytes) => eprintln!("{peer}: echoed {bytes} bytes"),
                        Err(e) => eprintln!("{peer}: {e}"),
                    }
                    finished.set(finished.get() + 1);
                }));
            }
            Err(e) => {
                // EMFILE and friends: log, breathe, go on.
                eprintln!("accept failed: {e}; retrying shortly");
                tinyloop::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Clients in the same loop that check their echoes.
async fn self_test(addr: SocketAddr) {
    let clients: Vec<_> = (0..3)
        .map(|i| {
            tinyloop::spawn(async move {
                let mut stream = TcpStream::connect(addr).await.unwrap();
                let msg = format!("hello from client {i}\n").repeat(1000);
                stream.write_all(msg.as_bytes()).await.unwrap();
                let mut back = vec![0; msg.len()];
                stream.read_exact(&mut back).await.unwrap();
                assert_eq!(back, msg.as_bytes(), "client {i} got a wrong echo");
            })
        })
        .collect();
    for client in clients {
        client.await.unwrap();
    }
    println!("self-test passed: 3 clients echoed");
}

fn main() -> io::Result<()> {
    let mut addr = "127.0.0.1:7000".to_string();
    let mut exit_after = None;
    let mut self_check = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => addr = args.next().expect("--addr needs HOST:PORT"),
            "--exit-after" => {
                exit_after = Some(
                    args.next()
                        .and_then(|n| n.parse().ok())
                        .expect("--exit-after needs N"),
                )
            }
            "--self-test" => self_check = true,
            other => panic!("unknown argument {other:?}; try --addr, --exit-after, --self-test"),
        }
    }
    tinyloop::run(async move {
        if self_check {
            let listener = TcpListener::bind("127.0.0.1:0")?;
            let addr = listener.local_addr()?;
            drop(tinyloop::spawn(serve(listener, None)));
            self_test(addr).await;
            return Ok(());
        }
        let listener = TcpListener::bind(addr.as_str())?;
        println!("echo server listening on {}", listener.local_addr()?);
        serve(listener, exit_after).await;
        Ok(())
    })
}
