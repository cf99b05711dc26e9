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
    use super::stream::ByteStream;
    use crate::runtime::reactor::Direction;

    fn size_of_val<T>(_: &T) -> usize {
        std::mem::size_of::<T>()
    }
    crate::run(async {
        let core = context::current("test");
        let (a, _b) = mio::net::UnixStream::pair().unwrap();
        let io = Registered::new(&core, a, mio::Interest::READABLE).unwrap();
        let mut one = [0u8; 8];
        let mut two = [0u8; 8];
        let (one, two): (&mut [u8], &mut [u8]) = (&mut one, &mut two);
        let bare = io.transfer(Direction::Read, 8, move |s| s.read_some(one));
        let wrapped = io.read(two);
        assert_eq!(size_of_val(&wrapped), size_of_val(&bare));
    });
}
