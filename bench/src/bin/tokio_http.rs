//! The tokio twin of `examples/http_server.rs`, for `bench/http-wrk.sh`.
//!
//! Same HTTP/1.1 subset, same parsing (a capped line reader over `poll_fill_buf` for the
//! request line and the headers, the same limits and refusals, a deadline on the head and
//! the body, an idle timeout between requests), same keep-alive rules, same response bytes,
//! same pipelining trick (write only when nothing more is buffered). It runs on tokio's
//! current-thread runtime inside a `LocalSet`, one `spawn_local` task per connection, so
//! both servers use one thread and one task per connection.
//!
//! `cargo run --release -p tinyloop-bench --bin tokio_http -- --addr 127.0.0.1:8081`

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use tokio::io::{AsyncBufRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// The tinyloop server's body, byte for byte, so both send the same response.
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
    let head = tokio::time::timeout(timeouts.header, read_head(reader, line)).await;
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
    tokio::time::timeout(timeouts.header, body)
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

/// Serves one connection until it closes.
async fn serve_connection(stream: TcpStream, timeouts: Timeouts) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut reader = BufReader::new(stream);
    let mut out = Vec::with_capacity(4096);
    let mut line = Vec::with_capacity(256);
    loop {
        // Idle keep-alive: wait for the next request's first byte, but not for ever.
        if reader.buffer().is_empty() {
            let first = poll_fn(|cx| Pin::new(&mut reader).poll_fill_buf(cx).map_ok(|b| b.len()));
            match tokio::time::timeout(timeouts.idle, first).await {
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
        // Another request already buffered? Answer it first and write both together, but
        // not without bound: a client that pipelines for ever and never reads would grow
        // `out` for ever, so past 64 KiB write anyway (and wait for the client to read).
        if reader.buffer().is_empty() || !request.keep_alive || out.len() >= 64 * 1024 {
            reader.get_mut().write_all(&out).await?;
            out.clear();
        }
        if !request.keep_alive {
            return reader.get_mut().shutdown().await;
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
    reader.get_mut().shutdown().await?;
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
    let _ = tokio::time::timeout(Duration::from_secs(1), drain).await;
    Ok(())
}

async fn serve(listener: TcpListener, timeouts: Timeouts) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                tokio::task::spawn_local(async move {
                    if let Err(e) = serve_connection(stream, timeouts).await {
                        eprintln!("{peer}: {e}");
                    }
                });
            }
            Err(e) => {
                eprintln!("accept failed: {e}; retrying shortly");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

fn main() -> io::Result<()> {
    let mut addr = "127.0.0.1:8080".to_string();
    // The tinyloop server's defaults.
    let timeouts = Timeouts {
        header: Duration::from_secs(10),
        idle: Duration::from_secs(60),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => addr = args.next().expect("--addr needs HOST:PORT"),
            other => panic!("unknown argument {other:?}; try --addr HOST:PORT"),
        }
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async move {
        let listener = TcpListener::bind(addr.as_str()).await?;
        println!(
            "HTTP server listening on http://{}/",
            listener.local_addr()?
        );
        serve(listener, timeouts).await;
        Ok(())
    })
}
