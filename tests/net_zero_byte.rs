//! Reads and writes of zero bytes complete at once with `Ok(0)`, as std's do, on every
//! stream type and half, through the inherent methods and through `futures_io`.
//!
//! Before the fix, a zero-byte read waited for the socket to become readable (the peer to
//! send) and then returned `Ok(0)`, which callers take for end of stream. In these tests no
//! peer sends while the zero-byte calls are made, so each call is polled exactly once and
//! must be `Ready` on that poll: the old behaviour fails the assertion instead of hanging.

use std::future::{poll_fn, Future};
use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::task::Poll;
use std::time::Duration;

use futures_io::{AsyncRead, AsyncWrite};
use tinyloop::net::{TcpListener, TcpStream, UdpSocket, UnixStream};

/// Polls `fut` exactly once (dropping it afterwards, which cancels a pending operation).
async fn poll_once<F: Future>(fut: F) -> Poll<F::Output> {
    let mut fut = pin!(fut);
    poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx))).await
}

#[track_caller]
fn assert_zero(polled: Poll<std::io::Result<usize>>, what: &str) {
    match polled {
        Poll::Ready(Ok(0)) => {}
        Poll::Ready(other) => panic!("{what}: expected Ok(0) at once, got {other:?}"),
        Poll::Pending => panic!("{what}: waited for the peer instead of completing at once"),
    }
}

async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let client = TcpStream::connect(addr).await.unwrap();
    let (server, _) = listener.accept().await.unwrap();
    (client, server)
}

/// Runs the same checks on a connected pair of any stream type (TCP or Unix).
macro_rules! zero_byte_checks {
    ($pair:expr) => {{
        let (mut a, mut b) = $pair;
        // Make `a` observe an empty socket: the short read proves the socket drained and
        // clears its readable bit, so a read that consulted readiness would now wait.
        b.write_all(b"hi").await.unwrap();
        let mut buf = [0u8; 16];
        let mut got = 0;
        while got < 2 {
            got += a.read(&mut buf[got..]).await.unwrap();
        }
        assert_zero(poll_once(a.read(&mut [])).await, "read(&mut [])");
        assert_zero(
            poll_once(poll_fn(|cx| Pin::new(&mut a).poll_read(cx, &mut []))).await,
            "AsyncRead::poll_read with an empty buffer",
        );
        {
            let (mut rd, _wr) = a.split();
            assert_zero(poll_once(rd.read(&mut [])).await, "ReadHalf::read(&mut [])");
            assert_zero(
                poll_once(poll_fn(|cx| Pin::new(&mut rd).poll_read(cx, &mut []))).await,
                "ReadHalf's AsyncRead with an empty buffer",
            );
        }

        // Fill `a`'s send buffer (`b` reads nothing) until a write would wait; however
        // large the kernel's buffers are, this stops at the first `Pending`.
        let chunk = vec![7u8; 64 * 1024];
        let mut sent = 0usize;
        while let Poll::Ready(n) = poll_once(a.write(&chunk)).await {
            sent += n.unwrap();
        }
        assert!(sent > 0, "the first write into an empty send buffer waited");
        assert_zero(poll_once(a.write(&[])).await, "write(&[]) on a full socket");
        assert_zero(
            poll_once(poll_fn(|cx| Pin::new(&mut a).poll_write(cx, &[]))).await,
            "AsyncWrite::poll_write with an empty buffer",
        );
        let (mut rd, mut wr) = a.into_split();
        assert_zero(poll_once(wr.write(&[])).await, "OwnedWriteHalf::write(&[])");
        assert_zero(
            poll_once(poll_fn(|cx| Pin::new(&mut wr).poll_write(cx, &[]))).await,
            "OwnedWriteHalf's AsyncWrite with an empty buffer",
        );
        assert_zero(
            poll_once(rd.read(&mut [])).await,
            "OwnedReadHalf::read(&mut [])",
        );
        assert_zero(
            poll_once(poll_fn(|cx| Pin::new(&mut rd).poll_read(cx, &mut []))).await,
            "OwnedReadHalf's AsyncRead with an empty buffer",
        );

        // Nothing was taken or sent by the empty calls: the stream goes on as before.
        b.write_all(b"after").await.unwrap();
        let mut after = [0u8; 5];
        rd.read_exact(&mut after).await.unwrap();
        assert_eq!(&after, b"after");
        let mut drained = 0usize;
        let mut sink = vec![0u8; 64 * 1024];
        while drained < sent {
            drained += b.read(&mut sink).await.unwrap();
        }
        assert_eq!(drained, sent, "the empty writes sent nothing");
    }};
}

#[test]
fn zero_byte_reads_and_writes_complete_at_once_on_tcp() {
    tinyloop::run(async { zero_byte_checks!(tcp_pair().await) });
}

#[test]
fn zero_byte_reads_and_writes_complete_at_once_on_unix() {
    tinyloop::run(async { zero_byte_checks!(UnixStream::pair().unwrap()) });
}

#[test]
fn zero_byte_read_on_a_closed_stream_is_still_zero() {
    tinyloop::run(async {
        let (mut a, b) = tcp_pair().await;
        drop(b);
        assert_zero(poll_once(a.read(&mut [])).await, "read(&mut []) after FIN");
        let mut buf = [0u8; 4];
        assert_eq!(a.read(&mut buf).await.unwrap(), 0, "end of stream");
    });
}

/// UDP keeps the OS's datagram meaning, as std does: an empty `send` sends an empty
/// datagram (a valid one), and a receive into an empty buffer waits for the next datagram
/// and takes it (its bytes do not fit and are discarded), returning 0.
#[test]
fn udp_empty_buffers_send_and_take_whole_datagrams() {
    tinyloop::run(async {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b_addr = b.local_addr().unwrap();
        assert_eq!(a.send_to(&[], b_addr).await.unwrap(), 0);
        a.send_to(b"dropped", b_addr).await.unwrap();
        a.send_to(b"kept", b_addr).await.unwrap();

        let limit = Duration::from_secs(30); // only reached if a datagram went missing
        let (n, from) = tinyloop::timeout(limit, b.recv_from(&mut [0u8; 16]))
            .await
            .expect("the empty datagram arrives")
            .unwrap();
        assert_eq!((n, from), (0, a.local_addr().unwrap()));
        let (n, _) = tinyloop::timeout(limit, b.recv_from(&mut []))
            .await
            .expect("the second datagram arrives")
            .unwrap();
        assert_eq!(
            n, 0,
            "a datagram received into no room reports 0 bytes taken"
        );
        let mut buf = [0u8; 16];
        let (n, _) = tinyloop::timeout(limit, b.recv_from(&mut buf))
            .await
            .expect("the third datagram arrives")
            .unwrap();
        assert_eq!(
            &buf[..n],
            b"kept",
            "the empty receive took exactly one datagram"
        );
    });
}
