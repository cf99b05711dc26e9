//! idle-tcp: a server accepts `n` TCP connections (10,000 at full scale) over loopback and
//! runs one task per connection, each waiting to read; once every task is waiting, read how
//! much the server's resident set grew.
//!
//! Measures what an idle connection costs a server: the task with its pending read, the
//! stream object and its registration in the reactor. Kernel socket buffers are not in RSS
//! and are not counted. The client ends live in a helper process (this program again, as
//! `--hold-connections ADDR N`), so they cost the server neither memory nor file
//! descriptors: 10,000 connections with both ends in one process would need more than the
//! usual limit of 20,000 open files. Figure: bytes of server RSS per connection.

use std::cell::Cell;
use std::io::Read;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::time::Duration;

use crate::measure::{raise_open_file_limit, rss_bytes};
use crate::runtimes::{on_smol, on_tokio, smol_spawn};
use crate::workloads::Sample;

const LOOPBACK: &str = "127.0.0.1:0";
/// How often the measuring task checks whether every connection has been accepted.
const CHECK_EVERY: Duration = Duration::from_millis(1);

#[cfg(feature = "net")]
pub fn tinyloop(n: usize) -> Sample {
    use crate::runtimes::on_tinyloop;
    use tinyloop::TcpListener;

    enough_files(n);
    on_tinyloop(async move {
        let waiting = Rc::new(Cell::new(0));
        let before = rss_bytes();
        let listener = TcpListener::bind(LOOPBACK).unwrap();
        let clients = open_connections(listener.local_addr().unwrap(), n);
        let server_waiting = waiting.clone();
        drop(tinyloop::spawn(async move {
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                let waiting = server_waiting.clone();
                drop(tinyloop::spawn(async move {
                    waiting.set(waiting.get() + 1);
                    let mut buf = [0; 1];
                    let _ = stream.read(&mut buf).await;
                }));
            }
        }));
        while waiting.get() < n {
            tinyloop::sleep(CHECK_EVERY).await;
        }
        let figure = per_connection(before, n);
        close_connections(clients);
        vec![figure]
    })
}
#[cfg(not(feature = "net"))]
pub use super::not_built as tinyloop;

pub fn tokio(n: usize) -> Sample {
    use tokio::io::AsyncReadExt;
    use tokio::net::TcpListener;

    enough_files(n);
    on_tokio(async move {
        let waiting = Rc::new(Cell::new(0));
        let before = rss_bytes();
        let listener = TcpListener::bind(LOOPBACK).await.unwrap();
        let clients = open_connections(listener.local_addr().unwrap(), n);
        let server_waiting = waiting.clone();
        drop(tokio::task::spawn_local(async move {
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                let waiting = server_waiting.clone();
                drop(tokio::task::spawn_local(async move {
                    waiting.set(waiting.get() + 1);
                    let mut buf = [0; 1];
                    let _ = stream.read(&mut buf).await;
                }));
            }
        }));
        while waiting.get() < n {
            tokio::time::sleep(CHECK_EVERY).await;
        }
        let figure = per_connection(before, n);
        close_connections(clients);
        vec![figure]
    })
}

pub fn smol(n: usize) -> Sample {
    use async_io::Async;
    use futures_lite::AsyncReadExt;
    use std::net::TcpListener;

    enough_files(n);
    on_smol(async move {
        let waiting = Rc::new(Cell::new(0));
        let before = rss_bytes();
        let listener = Async::<TcpListener>::bind(loopback()).unwrap();
        let clients = open_connections(listener.get_ref().local_addr().unwrap(), n);
        let server_waiting = waiting.clone();
        smol_spawn(async move {
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                let waiting = server_waiting.clone();
                smol_spawn(async move {
                    waiting.set(waiting.get() + 1);
                    let mut buf = [0; 1];
                    let _ = stream.read(&mut buf).await;
                })
                .detach();
            }
        })
        .detach();
        while waiting.get() < n {
            async_io::Timer::after(CHECK_EVERY).await;
        }
        let figure = per_connection(before, n);
        close_connections(clients);
        vec![figure]
    })
}

/// Starts the helper process that opens `n` connections to `addr` and holds them open
/// until its standard input closes.
fn open_connections(addr: SocketAddr, n: usize) -> Child {
    let exe = std::env::current_exe().expect("finding this program to start the client helper");
    Command::new(exe)
        .args(["--hold-connections", &addr.to_string(), &n.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("starting the client helper process")
}

/// Lets the helper go: closing its standard input tells it to close its connections.
fn close_connections(mut clients: Child) {
    drop(clients.stdin.take());
    let _ = clients.wait();
}

/// The helper's side (`--hold-connections ADDR N`): open `n` blocking connections to
/// `addr`, keep them until standard input closes, then exit.
pub fn hold_connections(addr: &str, n: usize) {
    enough_files(n);
    let addr: SocketAddr = addr.parse().expect("--hold-connections needs ADDR N");
    let streams: Vec<_> = (0..n)
        .map(|i| {
            std::net::TcpStream::connect(addr)
                .unwrap_or_else(|e| panic!("client helper: connection {i} to {addr}: {e}"))
        })
        .collect();
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    drop(streams);
}

/// One descriptor per connection, plus some for the listener, the poller and stdio.
fn enough_files(n: usize) {
    let want = n as u64 + 64;
    let got = raise_open_file_limit(want);
    assert!(
        got >= want,
        "idle-tcp with {n} connections needs {want} open files but the limit is {got}: \
         raise it (ulimit -n) or pick a smaller --scale"
    );
}

fn per_connection(before: u64, n: usize) -> f64 {
    rss_bytes().saturating_sub(before) as f64 / n as f64
}

/// async-io binds a `SocketAddr`, not a string.
fn loopback() -> SocketAddr {
    LOOPBACK.parse().expect("a valid socket address")
}
