//! # Lesson: what an HTTP client does inside
//!
//! The showcase (`examples/api_client.rs`) lets hyper speak HTTP. This lesson speaks it by
//! hand, over `tinyloop::net::TcpStream` and `tinyloop::io::BufReader` (asyncio's
//! `open_connection` and `StreamReader`), to show what such a client must get right. Each of
//! the four cases below once broke a hand-written client in this repository, and each is
//! run against a local server that answers the way real servers do:
//!
//! 1. **Chunked replies.** A reply without `Content-Length` but with `Transfer-Encoding:
//!    chunked` comes in pieces, each prefixed by its size in hex, ended by a `0` chunk and
//!    optional trailers. Reading it as "no body" leaves the chunks on the connection, and the
//!    next request on that pooled connection reads them as its reply (a desync).
//! 2. **Other HTTP versions.** `HTTP/1.0 500 ...` is a 500. A parser that only knows the
//!    `HTTP/1.1 ` prefix reads status 0, and a client that retries on `>= 500` and succeeds on
//!    `< 300` counts it as success. A status line that does not parse is an error.
//! 3. **JSON escapes beyond the Basic Multilingual Plane.** An emoji is escaped as a UTF-16
//!    surrogate pair, `\ud83d\ude00`; either half alone is not a `char`, so decoding the
//!    escapes one at a time loses the whole reply. The pair must be combined.
//! 4. **Lengths from the network are not to be trusted.** `Content-Length: 1000000000000`
//!    with `vec![0; len]` asks for a terabyte and aborts the process. Cap it; the cap is an
//!    error for that request, not for the program.
//!
//! ```text
//! cargo run --example http_client_lesson
//! ```
//!
//! It prints one line per case and `self-test passed` (CI checks those lines). Not covered
//! here: a limit on the length of header lines (see `examples/http_server.rs`, which reads
//! lines with a cap), redirects, and TLS (the showcase has those through hyper and rustls).

use std::io;
use std::net::SocketAddr;

use tinyloop::io::BufReader;
use tinyloop::net::{TcpListener, TcpStream};

/// The largest body we accept; anything larger is an error for that request (case 4).
const MAX_BODY: u64 = 8 * 1024 * 1024;

/// A response, read whole.
#[derive(Debug)]
struct Response {
    status: u16,
    body: Vec<u8>,
    /// Whether the connection may carry another request.
    reusable: bool,
}

fn invalid(what: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.into())
}

/// Reads one response from `conn`: status line, headers, then a body framed by
/// `Content-Length`, by chunks, or by the end of the connection.
async fn read_response(conn: &mut BufReader<TcpStream>) -> io::Result<Response> {
    let mut line = String::new();
    if conn.read_line(&mut line).await? == 0 {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    // Case 2: "HTTP/1.0 500 Internal Server Error" and "HTTP/1.1 200 OK" alike.
    let mut parts = line.trim_end().splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    let http10 = match version {
        "HTTP/1.1" => false,
        "HTTP/1.0" => true,
        other => return Err(invalid(format!("not an HTTP/1.x response: {other:?}"))),
    };
    let status: u16 = parts
        .next()
        .filter(|code| code.len() == 3)
        .and_then(|code| code.parse().ok())
        .filter(|code| (100..600).contains(code))
        .ok_or_else(|| invalid(format!("bad status line {:?}", line.trim_end())))?;

    let mut content_length = None;
    let mut chunked = false;
    let mut keep_alive = !http10; // HTTP/1.0 closes unless told otherwise
    loop {
        line.clear();
        if conn.read_line(&mut line).await? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header
            .split_once(':')
            .ok_or_else(|| invalid(format!("malformed header {header:?}")))?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            let len: u64 = value
                .parse()
                .map_err(|_| invalid(format!("bad Content-Length {value:?}")))?;
            content_length = Some(len);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.to_ascii_lowercase().ends_with("chunked");
        } else if name.eq_ignore_ascii_case("connection") {
            keep_alive = if value.eq_ignore_ascii_case("close") {
                false
            } else {
                keep_alive || value.eq_ignore_ascii_case("keep-alive")
            };
        }
    }

    let no_body = status < 200 || status == 204 || status == 304;
    let (body, framed) = if no_body {
        (Vec::new(), true)
    } else if chunked {
        // Case 1: chunked wins over Content-Length (RFC 9112, 6.3).
        (read_chunked(conn).await?, true)
    } else if let Some(len) = content_length {
        (read_exactly(conn, len).await?, true)
    } else {
        // No framing at all: the body runs to the end of the connection.
        (read_to_end(conn).await?, false)
    };
    Ok(Response {
        status,
        body,
        reusable: keep_alive && framed,
    })
}

/// Case 4: check the length against the cap before allocating anything.
async fn read_exactly(conn: &mut BufReader<TcpStream>, len: u64) -> io::Result<Vec<u8>> {
    if len > MAX_BODY {
        return Err(invalid(format!(
            "the reply's Content-Length is {len} bytes, over this client's limit of {MAX_BODY}"
        )));
    }
    let mut body = vec![0; len as usize];
    conn.read_exact(&mut body).await?;
    Ok(body)
}

/// Case 1: `<hex size>[;extensions]\r\n<data>\r\n` ... `0\r\n<trailers>\r\n`.
async fn read_chunked(conn: &mut BufReader<TcpStream>) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        conn.read_line(&mut line).await?;
        let size = line.trim_end().split(';').next().unwrap_or_default().trim();
        let size = u64::from_str_radix(size, 16)
            .map_err(|_| invalid(format!("bad chunk size line {:?}", line.trim_end())))?;
        if size == 0 {
            break;
        }
        if body.len() as u64 + size > MAX_BODY {
            return Err(invalid(format!(
                "the chunked reply grows past this client's limit of {MAX_BODY} bytes"
            )));
        }
        let start = body.len();
        body.resize(start + size as usize, 0);
        conn.read_exact(&mut body[start..]).await?;
        let mut crlf = [0; 2];
        conn.read_exact(&mut crlf).await?;
        if &crlf != b"\r\n" {
            return Err(invalid("a chunk is not followed by CRLF"));
        }
    }
    // Trailers (usually none), up to the blank line that ends the message.
    loop {
        line.clear();
        if conn.read_line(&mut line).await? == 0 || line.trim_end().is_empty() {
            return Ok(body);
        }
    }
}

async fn read_to_end(conn: &mut BufReader<TcpStream>) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    let mut buf = [0; 4096];
    loop {
        let n = futures_read(conn, &mut buf).await?;
        if n == 0 {
            return Ok(body);
        }
        if body.len() + n > MAX_BODY as usize {
            return Err(invalid("the reply runs past this client's body limit"));
        }
        body.extend_from_slice(&buf[..n]);
    }
}

/// `read` on a `BufReader`: what it has buffered first, then the socket.
async fn futures_read(conn: &mut BufReader<TcpStream>, buf: &mut [u8]) -> io::Result<usize> {
    std::future::poll_fn(|cx| {
        futures_io::AsyncRead::poll_read(std::pin::Pin::new(&mut *conn), cx, buf)
    })
    .await
}

/// A keep-alive HTTP/1.1 client with a pool of one connection.
struct Client {
    addr: SocketAddr,
    idle: Option<BufReader<TcpStream>>,
    connections_opened: usize,
}

impl Client {
    async fn post(&mut self, path: &str, body: &str) -> io::Result<Response> {
        let mut conn = match self.idle.take() {
            Some(conn) => conn,
            None => {
                self.connections_opened += 1;
                BufReader::new(TcpStream::connect(self.addr).await?)
            }
        };
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        conn.get_mut().write_all(request.as_bytes()).await?;
        let response = read_response(&mut conn).await?;
        // Back to the pool only if the whole response was read off the connection.
        if response.reusable {
            self.idle = Some(conn);
        }
        Ok(response)
    }
}

/// The string value of the first `"field": "..."` in `json`, escapes decoded. Not a JSON
/// parser (the showcase uses serde_json); enough to show case 3.
fn json_string_field(json: &str, field: &str) -> Option<String> {
    let pattern = format!("\"{field}\":");
    let at = json.find(&pattern)?;
    let rest = json[at + pattern.len()..].trim_start().strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = rest.chars();
    let hex4 = |chars: &mut std::str::Chars<'_>| -> Option<u32> {
        let hex: String = chars.by_ref().take(4).collect();
        u32::from_str_radix(&hex, 16).ok()
    };
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                'b' => out.push('\u{8}'),
                'f' => out.push('\u{c}'),
                'u' => {
                    let unit = hex4(&mut chars)?;
                    // Case 3: a high surrogate must be followed by `\u` and a low one.
                    let code = if (0xD800..0xDC00).contains(&unit) {
                        if chars.next()? != '\\' || chars.next()? != 'u' {
                            return None;
                        }
                        let low = hex4(&mut chars)?;
                        if !(0xDC00..0xE000).contains(&low) {
                            return None;
                        }
                        0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                    } else {
                        unit
                    };
                    out.push(char::from_u32(code)?);
                }
                other => out.push(other), // \" \\ \/
            },
            c => out.push(c),
        }
    }
    None
}

/// A server that answers each request with the next canned response, the way real servers
/// (nginx, a proxy, an old backend) do; `\0` marks where one connection's script ends.
async fn scripted_server(listener: TcpListener, script: Vec<&'static str>) {
    let mut script = script.into_iter();
    while let Ok((stream, _)) = listener.accept().await {
        let mut conn = BufReader::new(stream);
        // Read one request (head and Content-Length body), answer, repeat.
        loop {
            let mut len = 0;
            let mut line = String::new();
            loop {
                line.clear();
                if conn.read_line(&mut line).await.unwrap_or(0) == 0 {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
                if line.trim_end().is_empty() {
                    break;
                }
            }
            let mut body = vec![0; len];
            if conn.read_exact(&mut body).await.is_err() {
                break;
            }
            let Some(reply) = script.next() else { return };
            let (reply, close) = match reply.strip_suffix('\0') {
                Some(reply) => (reply, true),
                None => (reply, false),
            };
            let _ = conn.get_mut().write_all(reply.as_bytes()).await;
            if close {
                break; // drop the connection
            }
        }
    }
}

fn main() {
    tinyloop::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let script = vec![
            // Case 1 and 3: a chunked reply (split mid-escape, with an extension and a
            // trailer) whose content is an emoji, escaped as a surrogate pair...
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n\
             15;note=x\r\n{\"content\":\"hi \\ud83d\r\n\
             a\r\n\\ude00 !\"}\r\n\
             0\r\nX-Trailer: 1\r\n\r\n",
            // ...then the next reply on the same connection, which must not be desynced.
            "HTTP/1.1 200 OK\r\nContent-Length: 19\r\n\r\n{\"content\":\"next\"}\n",
            // Case 2: an HTTP/1.0 server error, which closes the connection.
            "HTTP/1.0 500 Internal Server Error\r\n\r\n{\"error\":\"down\"}\0",
            // Case 4: a length no client should believe.
            "HTTP/1.1 200 OK\r\nContent-Length: 1000000000000\r\n\r\n{\0",
        ];
        drop(tinyloop::spawn(scripted_server(listener, script)));
        let mut client = Client {
            addr,
            idle: None,
            connections_opened: 0,
        };

        let first = client.post("/v1/chat/completions", "{}").await.unwrap();
        let content = json_string_field(&String::from_utf8_lossy(&first.body), "content");
        assert_eq!(first.status, 200);
        assert_eq!(content.as_deref(), Some("hi \u{1F600} !"), "{first:?}");
        println!("case 3: emoji escape decoded: {:?}", content.unwrap());
        let second = client.post("/v1/chat/completions", "{}").await.unwrap();
        let content = json_string_field(&String::from_utf8_lossy(&second.body), "content");
        assert_eq!(content.as_deref(), Some("next"), "{second:?}");
        assert_eq!(client.connections_opened, 1);
        println!(
            "case 1: chunked reply read whole; the next reply on the same connection is intact"
        );

        let third = client.post("/v1/chat/completions", "{}").await.unwrap();
        assert_eq!(third.status, 500, "{third:?}");
        assert!(!third.reusable);
        println!("case 2: HTTP/1.0 500 read as status 500 (a server error, retried by a client)");

        let fourth = client.post("/v1/chat/completions", "{}").await.unwrap_err();
        assert_eq!(fourth.kind(), io::ErrorKind::InvalidData);
        println!("case 4: absurd Content-Length refused: {fourth}");
        assert_eq!(client.connections_opened, 2, "the 500 closed the first one");
        println!("self-test passed: 4 cases, 2 connections");
    });
}
