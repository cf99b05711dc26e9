//! `tinyloop::compat` (cargo feature `hyper`): hyper 1.x clients and servers on the loop,
//! plain and over TLS (futures-rustls, a certificate made here with rcgen), hyper's timer
//! (virtual time, cancellation on drop from any thread) and its executor (HTTP/2).
//!
//! Run with `cargo test --features hyper --test compat_hyper` (CI: `cargo test --all-features`).
//! Everything is offline: servers listen on 127.0.0.1 inside the test.

#![cfg(feature = "hyper")]

mod util;

use std::cell::Cell;
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use futures_rustls::rustls;
use futures_rustls::{TlsAcceptor, TlsConnector};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::rt::Timer;
use hyper::{Request, Response};
use tinyloop::compat::{HyperExecutor, HyperIo, HyperTimer};
use tinyloop::{spawn, to_thread, TcpListener, TcpStream};
use util::{ms, vrun};

fn assert_send_sync<T: Send + Sync>(_: &T) {}

/// A service that answers `<method> <path> <body>`, counting its calls in an `Rc` (so the
/// service, and hyper's connection future holding it, is `!Send`: the loop never moves it).
fn echo_service(
    calls: Rc<Cell<usize>>,
) -> impl hyper::service::Service<
    Request<Incoming>,
    Response = Response<Full<Bytes>>,
    Error = hyper::Error,
    Future = impl Future<Output = Result<Response<Full<Bytes>>, hyper::Error>>,
> {
    hyper::service::service_fn(move |req: Request<Incoming>| {
        let calls = Rc::clone(&calls);
        async move {
            calls.set(calls.get() + 1);
            let head = format!("{} {} ", req.method(), req.uri().path());
            let body = req.into_body().collect().await?.to_bytes();
            let mut reply = head.into_bytes();
            reply.extend_from_slice(&body);
            Ok(Response::new(Full::new(Bytes::from(reply))))
        }
    })
}

async fn body_text(resp: Response<Incoming>) -> String {
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

fn post(path: &str, body: &str) -> Request<Full<Bytes>> {
    Request::post(path)
        .header("host", "localhost")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

#[test]
fn http1_client_and_server_talk_over_tinyloop_tcp_with_keep_alive() {
    tinyloop::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let calls = Rc::new(Cell::new(0));
        let server_calls = Rc::clone(&calls);
        let server = spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            hyper::server::conn::http1::Builder::new()
                .timer(HyperTimer::new())
                .serve_connection(HyperIo::new(tcp), echo_service(server_calls))
                .await
        });

        let tcp = TcpStream::connect(addr).await.unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(HyperIo::new(tcp))
            .await
            .unwrap();
        let conn = spawn(conn);
        // Three requests on one connection (keep-alive), one of them with a 100 KB body.
        let big = "x".repeat(100_000);
        for (path, body) in [("/a", "hello"), ("/b", big.as_str()), ("/c", "")] {
            let resp = sender.send_request(post(path, body)).await.unwrap();
            assert_eq!(resp.status(), 200);
            assert_eq!(body_text(resp).await, format!("POST {path} {body}"));
        }
        assert_eq!(calls.get(), 3, "all three on the one connection");
        drop(sender); // the client is done: its connection closes, then the server's ends
        conn.await.unwrap().unwrap();
        server.await.unwrap().unwrap();
    });
}

#[test]
fn http2_client_and_server_run_their_background_tasks_on_the_hyper_executor() {
    tinyloop::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let calls = Rc::new(Cell::new(0));
        let server_calls = Rc::clone(&calls);
        let _detached = spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            hyper::server::conn::http2::Builder::new(HyperExecutor::new())
                .timer(HyperTimer::new())
                .serve_connection(HyperIo::new(tcp), echo_service(server_calls))
                .await
                .unwrap();
        });

        let tcp = TcpStream::connect(addr).await.unwrap();
        let (sender, conn) = hyper::client::conn::http2::Builder::new(HyperExecutor::new())
            .timer(HyperTimer::new())
            .handshake(HyperIo::new(tcp))
            .await
            .unwrap();
        drop(spawn(conn)); // detached: it runs until the connection closes
                           // Ten requests at once, multiplexed on the one connection.
        let replies = tinyloop::gather((0..10).map(|i| {
            let mut sender = sender.clone();
            async move {
                let resp = sender
                    .send_request(post(&format!("/{i}"), "h2"))
                    .await
                    .unwrap();
                assert_eq!(resp.version(), hyper::Version::HTTP_2);
                body_text(resp).await
            }
        }))
        .await;
        for (i, reply) in replies.iter().enumerate() {
            assert_eq!(reply, &format!("POST /{i} h2"));
        }
        assert_eq!(calls.get(), 10);
    });
}

#[test]
fn header_read_timeout_closes_a_client_that_sends_its_headers_too_slowly() {
    // Real time: a socket waiting for input keeps the loop from jumping its virtual clock,
    // so this uses a short real timeout. The checks are one-sided: never closed early.
    const LIMIT: Duration = Duration::from_millis(200);
    tinyloop::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            hyper::server::conn::http1::Builder::new()
                .timer(HyperTimer::new())
                .header_read_timeout(LIMIT)
                .serve_connection(HyperIo::new(tcp), echo_service(Rc::default()))
                .await
        });

        let mut client = TcpStream::connect(addr).await.unwrap();
        let start = Instant::now();
        client
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap(); // never finishes
        let mut buf = [0u8; 1024];
        let mut got = Vec::new();
        loop {
            match client.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
        assert!(
            start.elapsed() >= LIMIT,
            "closed after {:?}, before the {LIMIT:?} limit",
            start.elapsed()
        );
        let text = String::from_utf8_lossy(&got);
        assert!(
            got.is_empty() || text.starts_with("HTTP/1.1 408"),
            "either a bare close or a 408, got {text:?}"
        );
        let err = server.await.unwrap().unwrap_err();
        assert!(
            err.is_timeout(),
            "the server's connection ends in a timeout: {err}"
        );
    });
}

/// One direction of an in-memory pipe: bytes, whether the writer closed, the parked reader.
#[derive(Default)]
struct PipeState {
    bytes: std::collections::VecDeque<u8>,
    closed: bool,
    reader: Option<Waker>,
}

/// One end of an in-memory duplex stream: no socket, so a virtual-time loop can jump its
/// clock while hyper waits on it.
struct PipeEnd {
    read: Rc<std::cell::RefCell<PipeState>>,
    write: Rc<std::cell::RefCell<PipeState>>,
}

impl Drop for PipeEnd {
    fn drop(&mut self) {
        let mut w = self.write.borrow_mut();
        w.closed = true;
        if let Some(r) = w.reader.take() {
            r.wake();
        }
    }
}

fn pipe() -> (PipeEnd, PipeEnd) {
    let (a, b) = (Rc::default(), Rc::default());
    (
        PipeEnd {
            read: Rc::clone(&a),
            write: Rc::clone(&b),
        },
        PipeEnd { read: b, write: a },
    )
}

impl futures_io::AsyncRead for PipeEnd {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<std::io::Result<usize>> {
        let mut r = self.read.borrow_mut();
        if r.bytes.is_empty() && !r.closed {
            r.reader = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let n = buf.len().min(r.bytes.len());
        for (slot, byte) in buf.iter_mut().zip(r.bytes.drain(..n)) {
            *slot = byte;
        }
        Poll::Ready(Ok(n))
    }
}

impl futures_io::AsyncWrite for PipeEnd {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let mut w = self.write.borrow_mut();
        w.bytes.extend(buf);
        if let Some(r) = w.reader.take() {
            r.wake();
        }
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_close(
        self: std::pin::Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<std::io::Result<()>> {
        let mut w = self.write.borrow_mut();
        w.closed = true;
        if let Some(r) = w.reader.take() {
            r.wake();
        }
        Poll::Ready(Ok(()))
    }
}

#[test]
fn header_read_timeout_runs_on_virtual_time() {
    // Over an in-memory pipe nothing waits on the OS, so the loop jumps to hyper's deadline:
    // a 30 s header timeout passes at once, and exactly 30 s of loop time go by.
    vrun(async {
        let (server_end, mut client) = pipe();
        let server = spawn(async move {
            hyper::server::conn::http1::Builder::new()
                .timer(HyperTimer::new())
                .header_read_timeout(Duration::from_secs(30))
                .serve_connection(HyperIo::new(server_end), echo_service(Rc::default()))
                .await
        });
        let start = tinyloop::now();
        let partial = b"GET / HTTP/1.1\r\nHost: x\r\n";
        std::future::poll_fn(|cx| {
            futures_io::AsyncWrite::poll_write(std::pin::Pin::new(&mut client), cx, partial)
        })
        .await
        .unwrap();
        let err = server.await.unwrap().unwrap_err();
        assert!(err.is_timeout(), "the connection ends in a timeout: {err}");
        let waited = util::since(start);
        assert!(
            waited >= Duration::from_secs(30) && waited < Duration::from_secs(31),
            "the header timeout fired after {waited:?} of loop time"
        );
    });
}

#[test]
fn hyper_timer_sleeps_on_the_loops_virtual_clock() {
    vrun(async {
        let timer = HyperTimer::new();
        let start = tinyloop::now();
        assert_eq!(timer.now(), start, "hyper reads the loop's clock");
        let hour = timer.sleep(Duration::from_secs(3600));
        assert_send_sync(&hour);
        hour.await;
        assert_eq!(util::since(start), Duration::from_secs(3600));
        timer.sleep_until(start + Duration::from_secs(3601)).await;
        assert_eq!(util::since(start), Duration::from_secs(3601));
        // `reset` moves a pending sleep.
        let mut s = timer.sleep(Duration::from_secs(100));
        timer.reset(&mut s, tinyloop::now() + Duration::from_secs(5));
        s.await;
        assert_eq!(util::since(start), Duration::from_secs(3606));
    });
}

/// The number of tasks alive on the loop (each armed hyper sleep keeps one).
fn tasks() -> usize {
    tinyloop::all_tasks().len()
}

#[test]
fn a_dropped_hyper_sleep_disarms_its_timer() {
    vrun(async {
        let timer = HyperTimer::new();
        let base = tasks();
        let sleep = timer.sleep(Duration::from_secs(3600));
        assert_eq!(tasks(), base + 1, "the loop side of the sleep is a task");
        tinyloop::yield_now().await; // let it arm its timer and park
        drop(sleep);
        tinyloop::yield_now().await;
        tinyloop::yield_now().await;
        assert_eq!(tasks(), base, "dropping the sleep ended its task");
        // Nothing is left to wait for: the clock did not jump to the hour.
        let start = tinyloop::now();
        tinyloop::sleep(ms(1)).await;
        assert_eq!(util::since(start), ms(1));
    });
}

#[test]
fn a_hyper_sleep_dropped_on_another_thread_is_cancelled_on_the_loop() {
    tinyloop::run(async {
        let base = tasks();
        let sleep = HyperTimer::new().sleep(Duration::from_secs(3600));
        assert_eq!(tasks(), base + 1);
        tinyloop::yield_now().await; // let it arm its timer and park
        to_thread(move || drop(sleep)).await.unwrap();
        // The drop woke the loop-side task from the worker thread; give it its turns.
        for _ in 0..100 {
            if tasks() == base {
                break;
            }
            tinyloop::sleep(ms(1)).await;
        }
        assert_eq!(
            tasks(),
            base,
            "the timer task ended after a drop on another thread"
        );
    });
}

/// A minimal `block_on` for a plain thread: parks until woken.
fn block_on_thread<F: Future>(fut: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut fut = pin!(fut);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}

#[test]
fn a_hyper_sleep_awaited_on_another_thread_fires_there() {
    tinyloop::run(async {
        let sleep = HyperTimer::new().sleep(ms(20));
        let start = Instant::now();
        // The worker thread polls it; the loop keeps the timer and wakes that thread.
        let waited = to_thread(move || {
            block_on_thread(sleep);
            start.elapsed()
        })
        .await
        .unwrap();
        assert!(waited >= ms(20), "fired after {waited:?}, before 20 ms");
    });
}

/// A self-signed certificate for `localhost`, made fresh for this test run.
fn tls_pair() -> (TlsAcceptor, TlsConnector) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert: CertificateDer<'static> = made.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(made.key_pair.serialize_der()));
    let mut server = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone()], key)
        .unwrap();
    server.alpn_protocols = vec![b"http/1.1".to_vec()];
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).unwrap();
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    (
        TlsAcceptor::from(Arc::new(server)),
        TlsConnector::from(Arc::new(client)),
    )
}

#[test]
fn https_client_and_server_over_futures_rustls_with_a_certificate_made_here() {
    tinyloop::run(async {
        let (acceptor, connector) = tls_pair();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let _detached = spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let tls = acceptor.accept(tcp).await.unwrap();
            hyper::server::conn::http1::Builder::new()
                .timer(HyperTimer::new())
                .serve_connection(HyperIo::new(tls), echo_service(Rc::default()))
                .await
                .unwrap();
        });

        let tcp = TcpStream::connect(addr).await.unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        let tls = connector.connect(name, tcp).await.unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(HyperIo::new(tls))
            .await
            .unwrap();
        drop(spawn(conn)); // detached: it runs until the connection closes
        let resp = sender.send_request(post("/v1/chat", "{}")).await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(body_text(resp).await, "POST /v1/chat {}");
    });
}

#[test]
fn a_tls_client_refuses_a_certificate_for_another_name() {
    tinyloop::run(async {
        let (acceptor, connector) = tls_pair();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let _detached = spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let _ = acceptor.accept(tcp).await; // fails: the client hangs up
        });
        let tcp = TcpStream::connect(addr).await.unwrap();
        let name = ServerName::try_from("example.com").unwrap();
        let err = connector.connect(name, tcp).await.unwrap_err();
        assert!(
            err.to_string().to_lowercase().contains("certificate"),
            "the error names the certificate: {err}"
        );
    });
}

#[test]
fn hyper_io_passes_futures_io_through() {
    tinyloop::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let _detached = spawn(async move {
            let (mut tcp, _) = listener.accept().await.unwrap();
            tcp.write_all(b"ping").await.unwrap();
        });
        let io = HyperIo::new(TcpStream::connect(addr).await.unwrap());
        let mut io = io;
        let mut buf = [0u8; 4];
        std::future::poll_fn(|cx| {
            futures_io::AsyncRead::poll_read(std::pin::Pin::new(&mut io), cx, &mut buf).map(|r| {
                assert_eq!(r.unwrap(), 4);
            })
        })
        .await;
        assert_eq!(&buf, b"ping");
        let _tcp: TcpStream = io.into_inner();
    });
}

#[test]
fn hyper_types_are_send_and_sync_where_hyper_needs_it() {
    assert_send_sync(&HyperTimer::new());
    assert_send_sync(&HyperExecutor::new());
}
