//! Tests that look inside the reactor: registrations and parked wakers are cleaned up.

use std::time::Duration;

use super::{TcpListener, TcpStream, UdpSocket};
use crate::runtime::context;

fn sources() -> usize {
    context::with_core("test", |core| core.reactor.borrow().len())
}

fn has_waiters() -> bool {
    context::with_core("test", |core| core.reactor.borrow().has_waiters())
}

#[test]
fn dropped_reader_task_leaves_no_registration() {
    crate::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        assert_eq!(sources(), 1);
        let client = TcpStream::connect(addr).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        assert_eq!(sources(), 3);

        // A task parked in `read` on the accepted stream, then cancelled.
        let reader = crate::spawn(async move {
            let mut server = server;
            let mut buf = [0; 16];
            server.read(&mut buf).await
        });
        crate::sleep(Duration::from_millis(10)).await;
        assert!(has_waiters(), "the reader should be parked in the reactor");
        assert!(reader.cancel());
        crate::yield_now().await;
        crate::yield_now().await;
        assert!(!has_waiters(), "the cancelled reader's waker must be gone");
        assert_eq!(
            sources(),
            2,
            "the cancelled task's stream must be deregistered"
        );

        drop(client);
        assert_eq!(sources(), 1);
        drop(listener);
        assert_eq!(sources(), 0);
    });
}

#[test]
fn timed_out_read_takes_its_waker_back() {
    crate::run(async {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut buf = [0; 16];
        let res = crate::timeout(Duration::from_millis(5), socket.recv_from(&mut buf)).await;
        assert!(res.is_err());
        assert!(!has_waiters(), "the dropped recv must not stay parked");
        assert_eq!(sources(), 1);
    });
}

#[test]
fn many_accepters_on_one_listener_all_get_connections() {
    crate::run(async {
        let listener = std::rc::Rc::new(TcpListener::bind("127.0.0.1:0").unwrap());
        let addr = listener.local_addr().unwrap();
        let accepters: Vec<_> = (0..4)
            .map(|_| {
                let listener = listener.clone();
                crate::spawn(async move { listener.accept().await.map(|_| ()) })
            })
            .collect();
        crate::sleep(Duration::from_millis(5)).await;
        let mut clients = Vec::new();
        for _ in 0..4 {
            clients.push(TcpStream::connect(addr).await.unwrap());
        }
        for accepter in accepters {
            crate::timeout(Duration::from_secs(5), accepter)
                .await
                .expect("every accepter must be woken")
                .unwrap()
                .unwrap();
        }
        assert!(!has_waiters());
    });
}

/// A read or write of zero bytes completes at once; the `Option` that decides it must not
/// make every pending read larger (it lives in each idle connection's task).
#[test]
fn the_zero_byte_shortcut_costs_a_pending_read_no_space() {
    use super::registered::Registered;
    use super::stream::Stream;
    use crate::runtime::reactor::Direction;

    fn size_of_val<T>(_: &T) -> usize {
        std::mem::size_of::<T>()
    }
    crate::run(async {
        let core = context::current("test");
        let (a, _b) = mio::net::UnixStream::pair().unwrap();
        let io = Registered::new(&core, Stream::new(a), mio::Interest::READABLE).unwrap();
        let mut one = [0u8; 8];
        let mut two = [0u8; 8];
        let (one, two): (&mut [u8], &mut [u8]) = (&mut one, &mut two);
        let bare = io.transfer(Direction::Read, move |s| s.read_some(one));
        let wrapped = io.read(two);
        assert_eq!(size_of_val(&wrapped), size_of_val(&bare));
    });
}

/// A Unix stream that counts the reads it makes of the kernel.
struct Counting {
    sock: mio::net::UnixStream,
    reads: std::rc::Rc<std::cell::Cell<usize>>,
}

impl super::stream::ByteStream for Counting {
    fn read_vectored(&self, bufs: &mut [std::io::IoSliceMut<'_>]) -> std::io::Result<usize> {
        self.reads.set(self.reads.get() + 1);
        self.sock.read_vectored(bufs)
    }
    fn write_some(&self, buf: &[u8]) -> std::io::Result<usize> {
        self.sock.write_some(buf)
    }
    fn shutdown(&self, how: std::net::Shutdown) -> std::io::Result<()> {
        self.sock.shutdown(how)
    }
}

impl super::registered::WaitLabel for Counting {
    fn wait_label(&self, dir: crate::runtime::reactor::Direction) -> &'static str {
        self.sock.wait_label(dir)
    }
}

impl mio::event::Source for Counting {
    fn register(
        &mut self,
        r: &mio::Registry,
        t: mio::Token,
        i: mio::Interest,
    ) -> std::io::Result<()> {
        self.sock.register(r, t, i)
    }
    fn reregister(
        &mut self,
        r: &mio::Registry,
        t: mio::Token,
        i: mio::Interest,
    ) -> std::io::Result<()> {
        self.sock.reregister(r, t, i)
    }
    fn deregister(&mut self, r: &mio::Registry) -> std::io::Result<()> {
        self.sock.deregister(r)
    }
}

/// A read that fills its buffer exactly leaves the socket known empty (the kernel was asked
/// for one byte more and had none), so the next read waits without asking the kernel: one
/// system call per message instead of two. And a read that finds more than fits keeps the
/// extra byte for the next read, which takes no system call to hand it out.
#[test]
fn an_exact_read_saves_the_call_that_would_only_say_would_block() {
    use std::future::Future;
    use std::io::Write;
    use std::task::Poll;

    use super::registered::Registered;
    use super::stream::Stream;

    crate::run(async {
        let core = context::current("test");
        let (a, b) = mio::net::UnixStream::pair().unwrap();
        let reads = std::rc::Rc::new(std::cell::Cell::new(0));
        let counting = Counting {
            sock: a,
            reads: std::rc::Rc::clone(&reads),
        };
        let io = Registered::new(&core, Stream::new(counting), mio::Interest::READABLE).unwrap();
        let mut peer = b;

        peer.write_all(b"12345678").unwrap();
        let mut buf = [0; 8];
        io.read_exact(&mut buf).await.unwrap();
        assert_eq!((&buf, reads.get()), (b"12345678", 1));

        // Drained: the next read parks at once, without a read of the kernel.
        let mut eight = [0; 8];
        let n = {
            let mut next = std::pin::pin!(io.read(&mut eight));
            let polled = std::future::poll_fn(|cx| Poll::Ready(next.as_mut().poll(cx))).await;
            assert!(polled.is_pending());
            assert_eq!(reads.get(), 1, "a drained socket was read again");

            // Nine bytes for an eight-byte buffer: the ninth is kept and handed out first.
            peer.write_all(b"abcdefghi").unwrap();
            next.await.unwrap()
        };
        assert_eq!((n, &eight, reads.get()), (8, b"abcdefgh", 2));
        peer.write_all(b"jk").unwrap();
        let mut rest = [0; 8];
        let n = io.read(&mut rest).await.unwrap();
        assert_eq!(&rest[..n], b"ijk");
        assert_eq!(
            reads.get(),
            3,
            "the kept byte and the new ones came in one read"
        );
    });
}

/// A pending read is one flat future of 40 bytes: the stream, the buffer, the direction and
/// the waiter ticket. The rule that says whether a read drained the socket is code, not data.
#[test]
fn a_pending_read_is_40_bytes() {
    use super::stream::Stream;

    crate::run(async {
        let core = context::current("test");
        let (a, _b) = mio::net::UnixStream::pair().unwrap();
        let io = super::registered::Registered::new(&core, Stream::new(a), mio::Interest::READABLE)
            .unwrap();
        let mut buf = [0u8; 8];
        let read = io.read(&mut buf);
        assert_eq!(std::mem::size_of_val(&read), 40);
    });
}
