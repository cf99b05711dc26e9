//! UDP sockets (asyncio's `test_udp` cases in `test_events.py`).

use std::rc::Rc;
use std::time::Duration;

use tinyloop::net::UdpSocket;

#[test]
fn send_to_and_recv_from_round_trip() {
    tinyloop::run(async {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        let (a_addr, b_addr) = (a.local_addr().unwrap(), b.local_addr().unwrap());
        assert_eq!(a.send_to(b"ping", b_addr).await.unwrap(), 4);
        let mut buf = [0; 64];
        let (n, from) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!((&buf[..n], from), (&b"ping"[..], a_addr));
        // Each datagram is its own message: two sends are two receives.
        b.send_to(b"po", from).await.unwrap();
        b.send_to(b"ng", from).await.unwrap();
        let (n, _) = a.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"po");
        let (n, _) = a.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"ng");
    });
}

#[test]
fn send_to_a_host_and_port_pair() {
    tinyloop::run(async {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = b.local_addr().unwrap().port();
        a.send_to(b"hi", ("127.0.0.1", port)).await.unwrap();
        let mut buf = [0; 8];
        let (n, _) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"hi");
    });
}

#[test]
fn connected_sockets_send_and_recv() {
    tinyloop::run(async {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        a.connect(b.local_addr().unwrap()).await.unwrap();
        b.connect(a.local_addr().unwrap()).await.unwrap();
        assert_eq!(a.peer_addr().unwrap(), b.local_addr().unwrap());
        a.send(b"one").await.unwrap();
        let mut buf = [0; 8];
        let n = b.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"one");
    });
}

#[test]
fn a_receiver_task_wakes_when_a_datagram_arrives() {
    tinyloop::run(async {
        let server = Rc::new(UdpSocket::bind("127.0.0.1:0").unwrap());
        let addr = server.local_addr().unwrap();
        let receiver = tinyloop::spawn({
            let server = server.clone();
            async move {
                let mut got = Vec::new();
                let mut buf = [0; 16];
                while got.len() < 3 {
                    let (n, _) = server.recv_from(&mut buf).await.unwrap();
                    got.push(buf[..n].to_vec());
                }
                got
            }
        });
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        for msg in [&b"a"[..], b"bb", b"ccc"] {
            tinyloop::sleep(Duration::from_millis(2)).await;
            client.send_to(msg, addr).await.unwrap();
        }
        let got = receiver.await.unwrap();
        assert_eq!(got, vec![b"a".to_vec(), b"bb".to_vec(), b"ccc".to_vec()]);
    });
}

#[test]
fn a_timed_out_recv_loses_no_datagram() {
    tinyloop::run(async {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut buf = [0; 8];
        let res = tinyloop::timeout(Duration::from_millis(5), b.recv_from(&mut buf)).await;
        assert!(res.is_err());
        a.send_to(b"late", b.local_addr().unwrap()).await.unwrap();
        let (n, _) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"late");
    });
}

#[test]
fn a_timed_out_recv_does_not_hold_back_virtual_time() {
    let lp = tinyloop::Loop::builder()
        .virtual_time(true)
        .build()
        .unwrap();
    lp.block_on(async {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut buf = [0; 8];
        let res = tinyloop::timeout(Duration::from_millis(10), socket.recv_from(&mut buf)).await;
        assert!(res.is_err());
        // No task waits on I/O any more, so the clock may jump straight to the timer. If the
        // dropped recv had left its waker parked, the loop would sleep for real instead.
        let started = std::time::Instant::now();
        let before = tinyloop::now();
        tinyloop::sleep(Duration::from_secs(120)).await;
        assert!(tinyloop::now() - before >= Duration::from_secs(120));
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the loop slept for real"
        );
    });
}
