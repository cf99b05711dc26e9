//! tcp-echo: 50 connections, each making `n` round trips (2,000 at full scale) of a 64-byte
//! message to an echo server, over loopback with `TCP_NODELAY`; client and server run on the
//! same loop.
//!
//! Measures the reactor: each round trip is two writes, two reads and two readiness events
//! per side. Figure: wall ns per round trip (all connections run at once, so this is
//! throughput, not latency).

use std::net::SocketAddr;

use crate::measure::{ns_per, Stopwatch};
use crate::runtimes::{on_smol, on_tokio, smol_spawn};
use crate::workloads::Sample;

/// Connections open at once.
pub const CONNECTIONS: usize = 50;
/// Bytes per message.
pub const MESSAGE: usize = 64;

const LOOPBACK: &str = "127.0.0.1:0";

#[cfg(feature = "net")]
pub fn tinyloop(round_trips: usize) -> Sample {
    use crate::runtimes::on_tinyloop;
    use tinyloop::{TcpListener, TcpStream};

    on_tinyloop(async move {
        let listener = TcpListener::bind(LOOPBACK).unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        drop(tinyloop::spawn(async move {
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                stream.set_nodelay(true).unwrap();
                drop(tinyloop::spawn(async move {
                    let mut buf = [0; MESSAGE];
                    while stream.read_exact(&mut buf).await.is_ok() {
                        stream.write_all(&buf).await.unwrap();
                    }
                }));
            }
        }));

        let clock = Stopwatch::start();
        let clients: Vec<_> = (0..CONNECTIONS)
            .map(|_| {
                tinyloop::spawn(async move {
                    let mut stream = TcpStream::connect(addr).await.unwrap();
                    stream.set_nodelay(true).unwrap();
                    let mut buf = [7; MESSAGE];
                    for _ in 0..round_trips {
                        stream.write_all(&buf).await.unwrap();
                        stream.read_exact(&mut buf).await.unwrap();
                    }
                })
            })
            .collect();
        for client in clients {
            client.await.unwrap();
        }
        vec![ns_per(clock.wall(), CONNECTIONS * round_trips)]
    })
}
#[cfg(not(feature = "net"))]
pub use super::not_built as tinyloop;

pub fn tokio(round_trips: usize) -> Sample {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    on_tokio(async move {
        let listener = TcpListener::bind(LOOPBACK).await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        drop(tokio::task::spawn_local(async move {
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                stream.set_nodelay(true).unwrap();
                drop(tokio::task::spawn_local(async move {
                    let mut buf = [0; MESSAGE];
                    while stream.read_exact(&mut buf).await.is_ok() {
                        stream.write_all(&buf).await.unwrap();
                    }
                }));
            }
        }));

        let clock = Stopwatch::start();
        let clients: Vec<_> = (0..CONNECTIONS)
            .map(|_| {
                tokio::task::spawn_local(async move {
                    let mut stream = TcpStream::connect(addr).await.unwrap();
                    stream.set_nodelay(true).unwrap();
                    let mut buf = [7; MESSAGE];
                    for _ in 0..round_trips {
                        stream.write_all(&buf).await.unwrap();
                        stream.read_exact(&mut buf).await.unwrap();
                    }
                })
            })
            .collect();
        for client in clients {
            client.await.unwrap();
        }
        vec![ns_per(clock.wall(), CONNECTIONS * round_trips)]
    })
}

pub fn smol(round_trips: usize) -> Sample {
    use async_io::Async;
    use futures_lite::{AsyncReadExt, AsyncWriteExt};
    use std::net::{TcpListener, TcpStream};

    on_smol(async move {
        let listener = Async::<TcpListener>::bind(loopback()).unwrap();
        let addr: SocketAddr = listener.get_ref().local_addr().unwrap();
        smol_spawn(async move {
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                stream.get_ref().set_nodelay(true).unwrap();
                smol_spawn(async move {
                    let mut buf = [0; MESSAGE];
                    while stream.read_exact(&mut buf).await.is_ok() {
                        stream.write_all(&buf).await.unwrap();
                    }
                })
                .detach();
            }
        })
        .detach();

        let clock = Stopwatch::start();
        let clients: Vec<_> = (0..CONNECTIONS)
            .map(|_| {
                smol_spawn(async move {
                    let mut stream = Async::<TcpStream>::connect(addr).await.unwrap();
                    stream.get_ref().set_nodelay(true).unwrap();
                    let mut buf = [7; MESSAGE];
                    for _ in 0..round_trips {
                        stream.write_all(&buf).await.unwrap();
                        stream.read_exact(&mut buf).await.unwrap();
                    }
                })
            })
            .collect();
        for client in clients {
            client.await;
        }
        vec![ns_per(clock.wall(), CONNECTIONS * round_trips)]
    })
}

/// async-io binds a `SocketAddr`, not a string.
fn loopback() -> SocketAddr {
    LOOPBACK.parse().expect("a valid socket address")
}
