//! # Lesson: a small HTTP/1.1 server that survives its clients
//!
//! Enough HTTP/1.1 for `curl` and `wrk`, built from the stream pieces asyncio users know
//! from `asyncio.start_server` + `StreamReader.readuntil` / `readexactly`:
//!
//! - the request line and headers are read one line at a time from an `io::BufReader`,
//!   whatever way TCP cut them into packets;
//! - `Content-Length` bodies are read with `read_exact`;
//! - keep-alive: a connection serves requests until the client says `Connection: close`
//!   (or speaks HTTP/1.0 without `keep-alive`), or closes;
//! - pipelining for free: responses are collected in a buffer and written only when no
//!   further request is already waiting in the `BufReader`, so a client that sends ten
//!   requests at once gets ten responses in one `send(2)`.
//!
//! And it survives hostile clients: every number a client controls is capped, every wait
//! has a deadline. Each limit is a few lines in [`read_request`] or [`serve_connection`]:
//!
//! | client does                                  | server answers                       |
//! |----------------------------------------------|--------------------------------------|
//! | a request line longer than 8 KiB             | 414 URI Too Long, close              |
//! | more than 100 headers, or 16 KiB of them     | 431 Request Header Fields Too Large  |
//! | `Content-Length` over 1 MiB (or absurd)      | 413 Content Too Large, close         |
//! | `Transfer-Encoding: chunked` / other coding  | 411 Length Required / 501, close     |
//! | garbage, bad `Content-Length`                | 400 Bad Request, close               |
//! | headers trickling in (slowloris)             | 408 after `--header-timeout-ms`      |
//! | an idle keep-alive connection                | closed after `--idle-timeout-ms`     |
//!
//! Run it and ask it something:
//!
//! ```text
//! cargo run --release --example http_server -- --addr 127.0.0.1:8080
//! curl -v http://127.0.0.1:8080/
//! wrk -t1 -c100 -d10s http://127.0.0.1:8080/
//! ```
//!
//! Options: `--addr HOST:PORT` (default `127.0.0.1:8080`), `--requests N` (exit after
//! serving N requests), `--header-timeout-ms N` (default 10000: the whole head of a request
//! must arrive within it, and so must its body), `--idle-timeout-ms N` (default 60000: how
//! long a keep-alive connection may sit between requests), `--self-test` (bind a free port,
//! send keep-alive, pipelined and closing requests from the same loop, check the answers,
//! exit; this is what CI runs). `tests/examples.rs` attacks it from outside.

use std::cell::Cell;
use std::future::poll_fn;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::pin::Pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;

use futures_io::AsyncBufRead;
use tinyloop::io::BufReader;
use tinyloop::net::{TcpListener, TcpStream};

const HELLO: &str = "Hello from tinyloop!\n";

/// Longest request line: the URL is in it, and nobody needs an 8 KiB URL (nginx: 8 KiB too).
const MAX_REQUEST_LINE: usize = 8 * 1024;
/// Header lines and their total size: without a cap a client can send headers for ever.
const MAX_HEADERS: usize = 100;
const MAX_HEADER_BYTES: usize = 16 * 1024;
/// Largest body we read (and throw away): a length is only a number the client typed.
const MAX_BODY: u64 = 1024 * 1024;

/// The deadlines a connection lives by (flags, so a test can make them short).
#[derive(Clone, Copy)]
struct Timeouts {
    /// From the first byte of a request to its last header line, and again for its body.
    header: Duration,
    /// Between requests on a keep-alive connection.
    idle: Duration,
}

/// What we need to know about one request.
struct Request {
    method: String,
    path: String,
    keep_alive: bool,
}

/// Why a request is refused: the status line to answer with before closing, or
/// [`GONE`] when the connection itself failed and there is no one to answer.
#[derive(PartialEq, Eq)]
struct Refuse(&'static str);

const GONE: Refuse = Refuse("");

impl From<io::Error> for Refuse {
    fn from(_: io::Error) -> Refuse {
        GONE
    }
}

/// Reads one line ending in `\n` into `line` (without it), failing with `too_long` once the
/// line passes `max` bytes. `BufReader::read_line` would grow its `String` without bound.
async fn read_line_capped(
    reader: &mut BufReader<TcpStream>,
    line: &mut Vec<u8>,
    max: usize,
    too_long: &'static str,
) -> Result<(), Refuse> {
    line.clear();
    poll_fn(|cx| loop {
        let mut reader = Pin::new(&mut *reader);
        let available = match reader.as_mut().poll_fill_buf(cx) {
            Poll::Ready(Ok(buf)) => buf,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e.into())),
            Poll::Pending => return Poll::Pending,
        };
        if available.is_empty() {
            return Poll::Ready(Err(GONE)); // end of stream mid-request
        }
        let (used, done) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (available.len(), false),
        };
        line.extend_from_slice(&available[..used]);
        reader.consume(used);
        if line.len() > max {
            return Poll::Ready(Err(Refuse(too_long)));
        }
        if done {
            line.pop(); // '\n'
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            return Poll::Ready(Ok(()));
        }
    })
    .await
}

/// Reads one request's head and body. The caller has seen its first byte arrive.
async fn read_request(
    reader: &mut BufReader<TcpStream>,
    line: &mut Vec<u8>,
    timeouts: Timeouts,
) -> Result<Request, Refuse> {
    // Slowloris: a client may send one byte a second for ever. The whole head gets a deadline.
    let head = tinyloop::timeout(timeouts.header, read_head(reader, line)).await;
    let (request, content_length) = head.map_err(|_| Refuse("408 Request Timeout"))??;
    if content_length == 0 {
        return Ok(request);
    }
    // This server ignores bodies, but must still read them off the connection (capped above),
    // under a deadline of their own.
    let body = async {
        let mut left = content_length;
        let mut chunk = [0; 4096];
        while left > 0 {
            let n = left.min(chunk.len() as u64) as usize;
            reader.read_exact(&mut chunk[..n]).await?;
            left -= n as u64;
        }
        Ok::<_, Refuse>(())
    };
    tinyloop::timeout(timeouts.header, body)
        .await
        .map_err(|_| Refuse("408 Request Timeout"))??;
    Ok(request)
}

/// The request line and headers: `(request, Content-Length)`.
async fn read_head(
    reader: &mut BufReader<TcpStream>,
    line: &mut Vec<u8>,
) -> Result<(Request, u64), Refuse> {
    const BAD: Refuse = Refuse("400 Bad Request");
    read_line_capped(reader, line, MAX_REQUEST_LINE, "414 URI Too Long").await?;
    let request_line = std::str::from_utf8(line).map_err(|_| BAD)?;
    let mut parts = request_line.split(' ');
    let (Some(method), Some(path), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(BAD);
    };
    let mut keep_alive = match version {
        "HTTP/1.1" => true, // 1.1 keeps alive unless told otherwise
        "HTTP/1.0" => false,
        _ => return Err(BAD),
    };
    let (method, path) = (method.to_string(), path.to_string());
    let mut content_length: Option<u64> = None;
    let (mut headers, mut header_bytes) = (0, 0);
    loop {
        read_line_capped(
            reader,
            line,
            MAX_HEADER_BYTES,
            "431 Request Header Fields Too Large",
        )
        .await?;
        if line.is_empty() {
            break; // the blank line ends the headers
        }
        headers += 1;
        header_bytes += line.len();
        if headers > MAX_HEADERS || header_bytes > MAX_HEADER_BYTES {
            return Err(Refuse("431 Request Header Fields Too Large"));
        }
        let header = std::str::from_utf8(line).map_err(|_| BAD)?;
        let (name, value) = header.split_once(':').ok_or(BAD)?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            // Digits only ("+5", " 5 5" are smuggling tricks); two different values: refuse.
            let len: u64 = value
                .bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| value.parse().ok())
                .flatten()
                .ok_or(BAD)?;
            if content_length.is_some_and(|old| old != len) {
                return Err(BAD);
            }
            if len > MAX_BODY {
                return Err(Refuse("413 Content Too Large"));
            }
            content_length = Some(len);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            // We do not read chunked bodies: ask for a length instead (RFC 9112, 6.3).
            return Err(if value.eq_ignore_ascii_case("chunked") {
                Refuse("411 Length Required")
            } else {
                Refuse("501 Not Implemented")
            });
        } else if name.eq_ignore_ascii_case("connection") {
            if value.eq_ignore_ascii_case("close") {
                keep_alive = false;
            } else if value.eq_ignore_ascii_case("keep-alive") {
                keep_alive = true;
            }
        }
    }
    let request = Request {
        method,
        path,
        keep_alive,
    };
    Ok((request, content_length.unwrap_or(0)))
}

/// Appends the response to `req` to `out`.
fn respond(req: &Request, out: &mut Vec<u8>) {
    let (status, body) = match (req.method.as_str(), req.path.as_str()) {
        ("GET" | "HEAD", "/") => ("200 OK", HELLO),
        _ => ("404 Not Found", "Not found\n"),
    };
    let connection = if req.keep_alive {
        "keep-alive"
    } else {
        "close"
    };
    out.extend_from_slice(
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
             Connection: {connection}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    if req.method != "HEAD" {
        out.extend_from_slice(body.as_bytes());
    }
}

/// Serves one connection until it closes; counts requests in `served`.
async fn serve_connection(
    stream: TcpStream,
    served: Rc<Cell<u64>>,
    timeouts: Timeouts,
) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut reader = BufReader::new(stream);
    let mut out = Vec::with_capacity(4096);
    let mut line = Vec::with_capacity(256);
    loop {
        // Idle keep-alive: wait for the next request's first byte, but not for ever.
        if reader.buffer().is_empty() {
            let first = poll_fn(|cx| Pin::new(&mut reader).poll_fill_buf(cx).map_ok(|b| b.len()));
            match tinyloop::timeout(timeouts.idle, first).await {
                Ok(Ok(0)) | Err(_) => return Ok(()), // closed by the client, or idle too long
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(e),
            }
        }
        let request = match read_request(&mut reader, &mut line, timeouts).await {
            Ok(request) => request,
            Err(GONE) => return Ok(()), // the client went away mid-request
            Err(Refuse(status)) => return refuse(reader, out, status).await,
        };
        respond(&request, &mut out);
        served.set(served.get() + 1);
        // Another request already buffered? Answer it first and write both together, but
        // not without bound: a client that pipelines for ever and never reads would grow
        // `out` for ever, so past 64 KiB write anyway (and wait for the client to read).
        if reader.buffer().is_empty() || !request.keep_alive || out.len() >= 64 * 1024 {
            reader.get_mut().write_all(&out).await?;
            out.clear();
        }
        if !request.keep_alive {
            return reader.get_mut().shutdown(Shutdown::Write).await;
        }
    }
}

/// Answers `status` (after any responses still queued in `out`) and closes.
async fn refuse(
    mut reader: BufReader<TcpStream>,
    mut out: Vec<u8>,
    status: &str,
) -> io::Result<()> {
    out.extend_from_slice(
        format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").as_bytes(),
    );
    reader.get_mut().write_all(&out).await?;
    reader.get_mut().shutdown(Shutdown::Write).await?;
    // Closing with unread input makes the kernel send a reset, which can destroy the answer
    // before the client reads it. So read and discard a little more (at most 1 MiB, at most
    // 1 s), the "lingering close" of RFC 9112, 9.6, then close.
    let drain = async {
        let mut scrap = [0; 4096];
        let mut left = 1024 * 1024;
        while left > 0 {
            match reader.get_mut().read(&mut scrap).await {
                Ok(0) | Err(_) => break,
                Ok(n) => left -= n.min(left),
            }
        }
    };
    let _ = tinyloop::timeout(Duration::from_secs(1), drain).await;
    Ok(())
}

/// Accepts connections until `max_requests` requests have been served.
async fn serve(listener: TcpListener, max_requests: Option<u64>, timeouts: Timeouts) {
    let served = Rc::new(Cell::new(0u64));
    while !matches!(max_requests, Some(max) if served.get() >= max) {
        // The timeout only lets the loop look at `served` now and then; accept is
        // cancel-safe, so no connection is lost when it fires.
        let Ok(accepted) = tinyloop::timeout(Duration::from_millis(50), listener.accept()).await
        else {
            continue;
        };
        match accepted {
            Ok((stream, peer)) => {
                let served = served.clone();
                drop(tinyloop::spawn(async move {
                    if let Err(e) = serve_connection(stream, served, timeouts).await {
                        eprintln!("{peer}: {e}");
                    }
                }));
            }
            Err(e) => {
                eprintln!("accept failed: {e}; retrying shortly");
                tinyloop::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Talks to the server the way curl and wrk do, and checks the answers.
async fn self_test(addr: SocketAddr) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    // Two pipelined keep-alive requests (one with a body), then one that closes.
    let requests = "GET / HTTP/1.1\r\nHost: x\r\n\r\n\
                    POST /nowhere HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello\
                    GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    stream.write_all(requests.as_bytes()).await.unwrap();
    let mut reply = Vec::new();
    let mut buf = [0; 4096];
    loop {
        match stream.read(&mut buf).await.unwrap() {
            0 => break, // the server closed after the third response
            n => reply.extend_from_slice(&buf[..n]),
        }
    }
    let reply = String::from_utf8(reply).unwrap();
    assert_eq!(reply.matches("HTTP/1.1 200 OK").count(), 2, "{reply}");
    assert_eq!(
        reply.matches("HTTP/1.1 404 Not Found").count(),
        1,
        "{reply}"
    );
    assert_eq!(reply.matches(HELLO).count(), 2, "{reply}");
    assert!(
        reply.ends_with(HELLO) && reply.contains("Connection: close"),
        "{reply}"
    );
    println!("self-test passed: 3 requests on one connection, pipelined");
}

fn main() -> io::Result<()> {
    let mut addr = "127.0.0.1:8080".to_string();
    let mut max_requests = None;
    let mut self_check = false;
    let mut timeouts = Timeouts {
        header: Duration::from_secs(10),
        idle: Duration::from_secs(60),
    };
    let millis = |flag: &str, value: Option<String>| {
        Duration::from_millis(
            value
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("{flag} needs a number of milliseconds")),
        )
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => addr = args.next().expect("--addr needs HOST:PORT"),
            "--requests" => {
                max_requests = Some(
                    args.next()
                        .and_then(|n| n.parse().ok())
                        .expect("--requests needs N"),
                )
            }
            "--header-timeout-ms" => timeouts.header = millis(&arg, args.next()),
            "--idle-timeout-ms" => timeouts.idle = millis(&arg, args.next()),
            "--self-test" => self_check = true,
            other => panic!(
                "unknown argument {other:?}; try --addr, --requests, --header-timeout-ms, \
                 --idle-timeout-ms, --self-test"
            ),
        }
    }
    tinyloop::run(async move {
        if self_check {
            let listener = TcpListener::bind("127.0.0.1:0")?;
            let addr = listener.local_addr()?;
            drop(tinyloop::spawn(serve(listener, None, timeouts)));
            self_test(addr).await;
            return Ok(());
        }
        let listener = TcpListener::bind(addr.as_str())?;
        println!(
            "HTTP server listening on http://{}/",
            listener.local_addr()?
        );
        serve(listener, max_requests, timeouts).await;
        Ok(())
    })
}
