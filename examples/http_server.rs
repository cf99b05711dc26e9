//! # Lesson: a small HTTP/1.1 server
//!
//! Enough HTTP/1.1 for `curl` and `wrk`, built from the stream pieces asyncio users know
//! from `asyncio.start_server` + `StreamReader.readline` / `readexactly`:
//!
//! - `io::BufReader::read_line` reads the request line and headers, one line at a time,
//!   whatever way TCP cut them into packets;
//! - `Content-Length` bodies are read with `read_exact`;
//! - keep-alive: a connection serves requests until the client says `Connection: close`
//!   (or speaks HTTP/1.0 without `keep-alive`), or closes;
//! - pipelining for free: responses are collected in a buffer and written only when no
//!   further request is already waiting in the `BufReader`, so a client that sends ten
//!   requests at once gets ten responses in one `send(2)`.
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
//! serving N requests), `--self-test` (bind a free port, send keep-alive, pipelined and
//! closing requests from the same loop, check the answers, exit; this is what CI runs).
//!
//! Not a production server: each header line is bounded (`BufReader`'s 64 KiB line limit
//! turns an over-long one into a 400), but not the number of headers; no chunked request
//! bodies, no timeouts on slow clients (wrap `read_line` in `tinyloop::timeout` to add one).

use std::cell::Cell;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::rc::Rc;
use std::time::Duration;

use tinyloop::io::BufReader;
use tinyloop::net::{TcpListener, TcpStream};

const HELLO: &str = "Hello from tinyloop!\n";

/// What we need to know about one request.
struct Request {
    method: String,
    path: String,
    keep_alive: bool,
}

/// Reads one request (line, headers, body). `Ok(None)`: the client closed between requests.
async fn read_request(reader: &mut BufReader<TcpStream>) -> io::Result<Option<Request>> {
    let mut line = String::new();
    if reader.read_line(&mut line).await? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let (Some(method), Some(path), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "malformed request line",
        ));
    };
    let (method, path) = (method.to_string(), path.to_string());
    let mut keep_alive = version == "HTTP/1.1"; // 1.1 keeps alive unless told otherwise
    let mut content_length = 0;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).await? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let header = header.trim_end();
        if header.is_empty() {
            break; // the blank line ends the headers
        }
        let Some((name, value)) = header.split_once(':') else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "malformed header",
            ));
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            content_length = value
                .parse()
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad Content-Length"))?;
        } else if name.eq_ignore_ascii_case("connection") {
            if value.eq_ignore_ascii_case("close") {
                keep_alive = false;
            } else if value.eq_ignore_ascii_case("keep-alive") {
                keep_alive = true;
            }
        }
    }
    // This server ignores bodies, but must still read them off the connection.
    let mut body = vec![0; content_length];
    reader.read_exact(&mut body).await?;
    Ok(Some(Request {
        method,
        path,
        keep_alive,
    }))
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
async fn serve_connection(stream: TcpStream, served: Rc<Cell<u64>>) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut reader = BufReader::new(stream);
    let mut out = Vec::with_capacity(4096);
    loop {
        let request = match read_request(&mut reader).await {
            Ok(Some(request)) => request,
            Ok(None) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                out.extend_from_slice(
                    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
                reader.get_mut().write_all(&out).await?;
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        respond(&request, &mut out);
        served.set(served.get() + 1);
        // Another request already buffered? Answer it first and write both together.
        if reader.buffer().is_empty() || !request.keep_alive {
            reader.get_mut().write_all(&out).await?;
            out.clear();
        }
        if !request.keep_alive {
            return reader.get_mut().shutdown(Shutdown::Write).await;
        }
    }
}

/// Accepts connections until `max_requests` requests have been served.
async fn serve(listener: TcpListener, max_requests: Option<u64>) {
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
                    if let Err(e) = serve_connection(stream, served).await {
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
            "--self-test" => self_check = true,
            other => panic!("unknown argument {other:?}; try --addr, --requests, --self-test"),
        }
    }
    tinyloop::run(async move {
        if self_check {
            let listener = TcpListener::bind("127.0.0.1:0")?;
            let addr = listener.local_addr()?;
            drop(tinyloop::spawn(serve(listener, None)));
            self_test(addr).await;
            return Ok(());
        }
        let listener = TcpListener::bind(addr.as_str())?;
        println!(
            "HTTP server listening on http://{}/",
            listener.local_addr()?
        );
        serve(listener, max_requests).await;
        Ok(())
    })
}
