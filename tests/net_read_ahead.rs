//! Reading one byte ahead (`net/stream.rs`): a stream read asks the kernel for one byte more
//! than its buffer holds, keeps that byte for the next read, and so learns without a second
//! system call whether the socket is empty. These tests check that no byte is lost,
//! duplicated or reordered by it, in whatever mix of reads, and that end of stream and errors
//! still come after the data, as the kernel reported them.

use std::future::{poll_fn, Future};
use std::net::Shutdown;
use std::pin::{pin, Pin};
use std::task::Poll;

use futures_io::AsyncRead;
use proptest::prelude::*;
use tinyloop::net::{OwnedReadHalf, OwnedWriteHalf, TcpListener, TcpStream, UnixStream};

/// One read of the model test, of `len` bytes (at least 1).
#[derive(Debug, Clone, Copy)]
enum Read {
    /// The inherent `read`.
    Some(usize),
    /// `read_exact`, when at least `len` bytes are still to come (else a plain `read`).
    Exact(usize),
    /// `AsyncRead::poll_read`, as `futures` and `hyper` call it.
    Poll(usize),
    /// `read` through the borrowed read half.
    Half(usize),
    /// A `read` polled once and dropped if it had to wait: cancelling loses nothing.
    Cancelled(usize),
}

fn read() -> impl Strategy<Value = Read> {
    let len = 1..20usize;
    prop_oneof![
        len.clone().prop_map(Read::Some),
        len.clone().prop_map(Read::Exact),
        len.clone().prop_map(Read::Poll),
        len.clone().prop_map(Read::Half),
        len.prop_map(Read::Cancelled),
    ]
}

/// The bytes the writer sends: a counting pattern whose period (251) matches no buffer size.
fn pattern(total: usize) -> Vec<u8> {
    (0..total).map(|i| (i % 251) as u8).collect()
}

/// Reads from `stream` with the plan's reads, over and over, until end of stream; returns
/// every byte received. `total` is how many the writer sends.
async fn read_all(stream: &mut UnixStream, plan: &[Read], total: usize) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 20];
    for step in plan.iter().cycle() {
        let n = match *step {
            Read::Some(len) => stream.read(&mut buf[..len]).await.unwrap(),
            Read::Exact(len) if total - got.len() >= len => {
                stream.read_exact(&mut buf[..len]).await.unwrap();
                len
            }
            Read::Exact(len) => stream.read(&mut buf[..len]).await.unwrap(),
            Read::Poll(len) => {
                let mut s = Pin::new(&mut *stream);
                poll_fn(|cx| s.as_mut().poll_read(cx, &mut buf[..len]))
                    .await
                    .unwrap()
            }
            Read::Half(len) => {
                let (mut half, _) = stream.split();
                half.read(&mut buf[..len]).await.unwrap()
            }
            Read::Cancelled(len) => {
                let mut once = pin!(stream.read(&mut buf[..len]));
                match poll_fn(|cx| Poll::Ready(once.as_mut().poll(cx))).await {
                    Poll::Ready(n) => n.unwrap(),
                    Poll::Pending => {
                        tinyloop::yield_now().await;
                        continue; // dropped while waiting: nothing was taken
                    }
                }
            }
        };
        if n == 0 {
            return got;
        }
        got.extend_from_slice(&buf[..n]);
    }
    unreachable!("the plan is not empty")
}

proptest! {
    /// Whatever the chunks written and the mix of reads, the reader gets exactly the bytes
    /// written, in order, then end of stream.
    #[test]
    fn reads_of_any_size_lose_and_reorder_nothing(
        chunks in prop::collection::vec((1..40usize, any::<bool>()), 1..20),
        plan in prop::collection::vec(read(), 1..12),
    ) {
        let total: usize = chunks.iter().map(|&(len, _)| len).sum();
        let sent = pattern(total);
        let got = tinyloop::run(async {
            let (mut writer, mut reader) = UnixStream::pair().unwrap();
            let to_send = sent.clone();
            let writing = tinyloop::spawn(async move {
                let mut rest = &to_send[..];
                for (len, pause) in chunks {
                    let (chunk, tail) = rest.split_at(len);
                    writer.write_all(chunk).await.unwrap();
                    rest = tail;
                    if pause {
                        tinyloop::yield_now().await; // let the reader drain the socket
                    }
                }
                writer.shutdown(Shutdown::Write).await.unwrap();
                writer // kept open until the reader is done
            });
            let got = read_all(&mut reader, &plan, total).await;
            let mut buf = [0u8; 4];
            assert_eq!(reader.read(&mut buf).await.unwrap(), 0, "end of stream is lasting");
            drop(writing.await.unwrap());
            got
        });
        prop_assert_eq!(got, sent);
    }
}

/// The kept byte comes before end of stream: nine bytes then FIN, read eight at a time.
#[test]
fn a_kept_byte_comes_before_end_of_stream() {
    tinyloop::run(async {
        let (mut writer, mut reader) = UnixStream::pair().unwrap();
        writer.write_all(b"123456789").await.unwrap();
        writer.shutdown(Shutdown::Write).await.unwrap();
        let mut buf = [0; 8];
        assert_eq!(reader.read(&mut buf).await.unwrap(), 8);
        assert_eq!(&buf, b"12345678");
        assert_eq!(reader.read(&mut buf).await.unwrap(), 1);
        assert_eq!(buf[0], b'9');
        assert_eq!(reader.read(&mut buf).await.unwrap(), 0);
    });
}

/// The kept byte comes before the error that followed it, and the error comes out as the
/// kernel gave it. A Unix socket closed with unread data in its own receive queue resets
/// its peer: the peer reads what was sent, then `ECONNRESET`.
#[test]
fn a_kept_byte_comes_before_the_error_that_followed_it() {
    tinyloop::run(async {
        let (mut closer, mut reader) = UnixStream::pair().unwrap();
        reader.write_all(b"never read").await.unwrap();
        closer.write_all(b"123456789").await.unwrap();
        drop(closer);
        let mut buf = [0; 8];
        assert_eq!(reader.read(&mut buf).await.unwrap(), 8);
        assert_eq!(reader.read(&mut buf).await.unwrap(), 1, "the ninth byte");
        assert_eq!(buf[0], b'9');
        let err = reader.read(&mut buf).await.unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ECONNRESET), "{err}");
    });
}

/// Length-prefixed messages over TCP, each read with two exact reads (header, body), in
/// both directions at once: the pattern that reads each buffer full, so each message
/// leaves the socket empty and the reader waits for the next one on the strength of the
/// read that asked for one byte more.
#[test]
fn exact_reads_of_framed_messages_over_tcp() {
    const MESSAGES: usize = 200;

    /// Message `i` from the side numbered `side`: a length byte, then the body.
    fn message(i: usize, side: u8) -> Vec<u8> {
        let len = 1 + (i * 7 + usize::from(side)) % 50;
        let body = (0..len).map(|j| (i + j) as u8 ^ side);
        std::iter::once(len as u8).chain(body).collect()
    }

    /// Sends every message of side `side`.
    async fn send(mut write: OwnedWriteHalf, side: u8) {
        for i in 0..MESSAGES {
            write.write_all(&message(i, side)).await.unwrap();
        }
    }

    /// Receives every message of side `side` with two exact reads each, and checks it.
    async fn receive(mut read: OwnedReadHalf, side: u8) {
        for i in 0..MESSAGES {
            let mut frame = vec![0; 1];
            read.read_exact(&mut frame).await.unwrap();
            frame.resize(1 + usize::from(frame[0]), 0);
            read.read_exact(&mut frame[1..]).await.unwrap();
            assert_eq!(frame, message(i, side), "message {i} from side {side}");
        }
    }

    tinyloop::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let client = TcpStream::connect(addr).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let ((client_read, client_write), (server_read, server_write)) =
            (client.into_split(), server.into_split());
        let tasks = [
            tinyloop::spawn(send(client_write, 1)),
            tinyloop::spawn(receive(server_read, 1)),
            tinyloop::spawn(send(server_write, 2)),
            tinyloop::spawn(receive(client_read, 2)),
        ];
        for task in tasks {
            task.await.unwrap();
        }
    });
}
