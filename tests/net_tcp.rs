//! TCP streams and listeners (asyncio's `test_streams.py` / `test_sock_lowlevel.py`).

use std::future::Future;
use std::io::ErrorKind;
use std::net::{Shutdown, SocketAddr};
use std::pin::{pin, Pin};
use std::task::Poll;
use std::time::Duration;

use tinyloop::net::{TcpListener, TcpStream};

/// Drives two futures in the calling task until both finish (a tiny `gather!`).
async fn join<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let (mut a, mut b) = (pin!(a), pin!(b));
    let (mut ra, mut rb) = (None, None);
    std::future::poll_fn(|cx| {
        if ra.is_none() {
            if let Poll::Ready(v) = a.as_mut().poll(cx) {
                ra = Some(v);
            }
        }
        if rb.is_none() {
            if let Poll::Ready(v) = b.as_mut().poll(cx) {
                rb = Some(v);
            }
        }
        if ra.is_some() && rb.is_some() {
            Poll::Ready((ra.take().unwrap(), rb.take().unwrap()))
        } else {
            Poll::Pending
        }
    })
    .await
}

/// An echo server on a fresh port; each connection echoes until EOF, then closes.
fn spawn_echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(tinyloop::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            drop(tinyloop::spawn(async move {
                let (mut rd, mut wr) = stream.into_split();
                let mut buf = vec![0; 64 * 1024];
                loop {
                    match rd.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if wr.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                    }
                }
            }));
        }
    }));
    addr
}

#[test]
fn echo_round_trip() {
    tinyloop::run(async {
        let addr = spawn_echo_server();
        let mut stream = TcpStream::connect(addr).await.unwrap();
        assert_eq!(stream.peer_addr().unwrap(), addr);
        stream.set_nodelay(true).unwrap();
        assert!(stream.nodelay().unwrap());
        for msg in [&b"hello"[..], b"tinyloop", b"x"] {
            stream.write_all(msg).await.unwrap();
            let mut back = vec![0; msg.len()];
            stream.read_exact(&mut back).await.unwrap();
            assert_eq!(back, msg);
        }
        stream.flush().await.unwrap();
    });
}

#[test]
fn connect_by_host_name_resolves_on_the_pool() {
    tinyloop::run(async {
        let addr = spawn_echo_server();
        let mut stream = TcpStream::connect(("localhost", addr.port()))
            .await
            .unwrap();
        stream.write_all(b"ping").await.unwrap();
        let mut back = [0; 4];
        stream.read_exact(&mut back).await.unwrap();
        assert_eq!(&back, b"ping");
        let host_port = format!("localhost:{}", addr.port());
        TcpStream::connect(host_port.as_str()).await.unwrap();
    });
}

#[test]
fn eight_mebibytes_through_partial_writes() {
    const LEN: usize = 8 << 20;
    tinyloop::run(async {
        let addr = spawn_echo_server();
        let stream = TcpStream::connect(addr).await.unwrap();
        let (mut rd, mut wr) = stream.into_split();
        let data: Vec<u8> = (0..LEN).map(|i| (i % 251) as u8).collect();
        let expected = data.clone();
        // The writer pushes 8 MiB at once: far more than the socket buffers hold, so
        // write_all goes through many partial writes and WouldBlocks, while the echo
        // comes back on the read half in this task.
        let writer = tinyloop::spawn(async move {
            wr.write_all(&data).await.unwrap();
            wr.shutdown(Shutdown::Write).await.unwrap();
        });
        let mut got = Vec::with_capacity(LEN);
        let mut buf = vec![0; 100_000];
        loop {
            let n = rd.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        writer.await.unwrap();
        assert_eq!(got.len(), LEN);
        assert!(got == expected, "the echoed bytes differ");
    });
}

#[test]
fn hundreds_of_concurrent_connections() {
    const CLIENTS: usize = 300;
    tinyloop::run(async {
        let addr = spawn_echo_server();
        let clients: Vec<_> = (0..CLIENTS)
            .map(|i| {
                tinyloop::spawn(async move {
                    let mut stream = TcpStream::connect(addr).await.unwrap();
                    let msg = format!("client {i} says hello");
                    // Every connection is open at the same time before any finishes.
                    tinyloop::sleep(Duration::from_millis(20)).await;
                    stream.write_all(msg.as_bytes()).await.unwrap();
                    let mut back = vec![0; msg.len()];
                    stream.read_exact(&mut back).await.unwrap();
                    assert_eq!(back, msg.as_bytes());
                })
            })
            .collect();
        for client in clients {
            client.await.unwrap();
        }
    });
}

#[test]
fn read_returns_zero_at_eof_and_read_exact_fails() {
    tinyloop::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let mut client = TcpStream::connect(addr).await.unwrap();
        let (mut server, peer) = listener.accept().await.unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
        client.write_all(b"abc").await.unwrap();
        client.shutdown(Shutdown::Write).await.unwrap();
        let mut buf = [0; 8];
        let mut got = Vec::new();
        loop {
            match server.read(&mut buf).await.unwrap() {
                0 => break,
                n => got.extend_from_slice(&buf[..n]),
            }
        }
        assert_eq!(got, b"abc");
        assert_eq!(server.read(&mut buf).await.unwrap(), 0, "EOF stays EOF");
        let err = server.read_exact(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnexpectedEof);
        // The other direction still works after a half close.
        server.write_all(b"bye").await.unwrap();
        let mut back = [0; 3];
        client.read_exact(&mut back).await.unwrap();
        assert_eq!(&back, b"bye");
    });
}

#[test]
fn refused_connect_is_an_error() {
    tinyloop::run(async {
        // Bind then drop a listener: its port is (almost surely) closed now.
        let addr = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap()
        };
        let err = TcpStream::connect(addr).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
        // Every address is tried in turn; the last error is reported.
        let err = TcpStream::connect(&[addr, addr][..]).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
    });
}

#[test]
fn accept_under_a_timeout_then_accept_again() {
    tinyloop::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let timed_out = tinyloop::timeout(Duration::from_millis(20), listener.accept()).await;
        assert!(
            timed_out.is_err(),
            "nobody connected, the accept must time out"
        );
        let (client, accepted) = join(TcpStream::connect(addr), listener.accept()).await;
        let (client, (server, peer)) = (client.unwrap(), accepted.unwrap());
        assert_eq!(peer, client.local_addr().unwrap());
        assert_eq!(server.local_addr().unwrap(), addr);
    });
}

#[test]
fn borrowed_split_halves_work_at_the_same_time() {
    const LEN: usize = 1 << 20;
    tinyloop::run(async {
        let addr = spawn_echo_server();
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let (mut rd, mut wr) = stream.split();
        let send = async {
            let data = vec![7u8; LEN];
            wr.write_all(&data).await.unwrap();
            wr.shutdown(Shutdown::Write).await.unwrap();
        };
        let recv = async {
            let mut total = 0;
            let mut buf = [0; 4096];
            loop {
                match rd.read(&mut buf).await.unwrap() {
                    0 => break total,
                    n => {
                        assert!(buf[..n].iter().all(|&b| b == 7));
                        total += n;
                    }
                }
            }
        };
        let ((), total) = join(send, recv).await;
        assert_eq!(total, LEN);
    });
}

#[test]
fn owned_halves_in_two_tasks() {
    tinyloop::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let client = tinyloop::spawn(async move {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            for i in 0..100u32 {
                stream.write_all(&i.to_be_bytes()).await.unwrap();
            }
            stream.shutdown(Shutdown::Write).await.unwrap();
            let mut echoed = Vec::new();
            let mut buf = [0; 64];
            loop {
                match stream.read(&mut buf).await.unwrap() {
                    0 => break echoed,
                    n => echoed.extend_from_slice(&buf[..n]),
                }
            }
        });
        let (server, _) = listener.accept().await.unwrap();
        let (mut rd, mut wr) = server.into_split();
        let chunks = std::rc::Rc::new(std::cell::RefCell::new(std::collections::VecDeque::new()));
        let done = std::rc::Rc::new(std::cell::Cell::new(false));
        let reader = tinyloop::spawn({
            let (chunks, done) = (chunks.clone(), done.clone());
            async move {
                let mut buf = [0; 7]; // odd size: chunks straddle the 4-byte numbers
                loop {
                    match rd.read(&mut buf).await.unwrap() {
                        0 => break done.set(true),
                        n => chunks.borrow_mut().push_back(buf[..n].to_vec()),
                    }
                }
            }
        });
        let writer = tinyloop::spawn(async move {
            loop {
                let chunk = chunks.borrow_mut().pop_front();
                match chunk {
                    Some(chunk) => wr.write_all(&chunk).await.unwrap(),
                    // Dropping `wr` shuts down the write side: the client sees EOF.
                    None if done.get() => break,
                    None => tinyloop::yield_now().await,
                }
            }
        });
        reader.await.unwrap();
        writer.await.unwrap();
        let echoed = client.await.unwrap();
        let expected: Vec<u8> = (0..100u32).flat_map(|i| i.to_be_bytes()).collect();
        assert_eq!(echoed, expected);
    });
}

#[test]
fn futures_io_traits_drive_the_stream() {
    use futures_io::{AsyncRead, AsyncWrite};
    tinyloop::run(async {
        let addr = spawn_echo_server();
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let n = std::future::poll_fn(|cx| Pin::new(&mut stream).poll_write(cx, b"poll"))
            .await
            .unwrap();
        assert_eq!(n, 4);
        let mut buf = [0; 4];
        let mut got = 0;
        while got < 4 {
            got += std::future::poll_fn(|cx| Pin::new(&mut stream).poll_read(cx, &mut buf[got..]))
                .await
                .unwrap();
        }
        assert_eq!(&buf, b"poll");
        std::future::poll_fn(|cx| Pin::new(&mut stream).poll_close(cx))
            .await
            .unwrap();
    });
}

#[test]
#[should_panic(expected = "TcpListener::bind")]
fn bind_outside_a_loop_panics_with_the_fix() {
    let _ = TcpListener::bind("127.0.0.1:0");
}

#[test]
fn debug_shows_addresses() {
    tinyloop::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let text = format!("{listener:?}");
        assert!(
            text.starts_with("TcpListener { local_addr: Some(127.0.0.1:"),
            "{text}"
        );
    });
}

#[test]
fn a_socket_that_outlives_its_loop_drops_harmlessly() {
    let (listener, stream) = tinyloop::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let stream = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        (listener, stream)
    });
    // The loop (and its poller) are gone: dropping must neither panic nor leak a slot.
    drop(stream);
    drop(listener);
}

#[test]
#[should_panic(expected = "used on a loop other than the one it was created on")]
fn waiting_on_a_socket_from_another_loop_panics_with_the_fix() {
    let listener = tinyloop::run(async { TcpListener::bind("127.0.0.1:0").unwrap() });
    tinyloop::run(async move {
        let _ = listener.accept().await;
    });
}

#[test]
fn data_and_fin_in_one_edge_then_eof() {
    tinyloop::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let mut client = std::net::TcpStream::connect(addr).unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        let mut buf = [0; 64];
        // Park the server's read first, so readiness is clear when the edge comes.
        let parked = tinyloop::timeout(Duration::from_millis(5), server.read(&mut buf)).await;
        assert!(parked.is_err());
        // Data and FIN leave together and arrive as one readiness event.
        std::io::Write::write_all(&mut client, b"last words").unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        tinyloop::sleep(Duration::from_millis(10)).await;
        let n = server.read(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"last words"); // a short read: 10 of 64 bytes
        let eof = tinyloop::timeout(Duration::from_secs(5), server.read(&mut buf)).await;
        assert_eq!(eof.expect("EOF must not wait for another edge").unwrap(), 0);
    });
}

#[test]
fn the_task_dump_says_what_a_socket_task_waits_on() {
    tinyloop::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let _client = TcpStream::connect(addr).await.unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        let reader = tinyloop::spawn_named("reader", async move {
            let mut buf = [0; 8];
            server.read(&mut buf).await
        });
        let accepter =
            tinyloop::spawn_named(
                "accepter",
                async move { listener.accept().await.map(|_| ()) },
            );
        tinyloop::sleep(Duration::from_millis(5)).await;
        let dump = tinyloop::dump_tasks();
        assert!(dump.contains("TcpStream read"), "{dump}");
        assert!(dump.contains("TcpListener accept"), "{dump}");
        reader.cancel();
        accepter.cancel();
    });
}
