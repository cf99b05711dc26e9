//! The tokio twin of `examples/http_server.rs`, for `bench/http-wrk.sh`.
//!
//! Same HTTP/1.1 subset, same parsing (`BufReader::read_line` for the request line and the
//! headers, `read_exact` for a `Content-Length` body), same keep-alive rules, same response
//! bytes, same pipelining trick (write only when nothing more is buffered). It runs on
//! tokio's current-thread runtime inside a `LocalSet`, one `spawn_local` task per connection,
//! so both servers use one thread and one task per connection.
//!
//! `cargo run --release -p tinyloop-bench --bin tokio_http -- --addr 127.0.0.1:8081`

use std::io;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// The tinyloop server's body, byte for byte, so both send the same response.
const HELLO: &str = "Hello from tinyloop!\n";

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
    let mut keep_alive = version == "HTTP/1.1";
    let mut content_length = 0;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).await? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
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

/// Serves one connection until it closes.
async fn serve_connection(stream: TcpStream) -> io::Result<()> {
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
        if reader.buffer().is_empty() || !request.keep_alive {
            reader.get_mut().write_all(&out).await?;
            out.clear();
        }
        if !request.keep_alive {
            return reader.get_mut().shutdown().await;
        }
    }
}

async fn serve(listener: TcpListener) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                tokio::task::spawn_local(async move {
                    if let Err(e) = serve_connection(stream).await {
                        eprintln!("{peer}: {e}");
                    }
                });
            }
            Err(e) => {
                eprintln!("accept failed: {e}; retrying shortly");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}

fn main() -> io::Result<()> {
    let mut addr = "127.0.0.1:8080".to_string();
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
        serve(listener).await;
        Ok(())
    })
}
