//! # The showcase: the tutorial's `AsyncAPIClient`, and its speed-up table, measured
//!
//! Retells section 6 of the tutorial, "Practice: wrapping async HTTP requests" (6.1 "A basic
//! async request", 6.2 "A complete AI API client"), and measures the table of section 1.2,
//! "Quantifying the gains".
//!
//! ```text
//! cargo run --release --example api_client --features hyper
//! cargo run --release --example api_client --features hyper -- --latency-ms 400 --error-rate 0.3
//! OPENAI_API_KEY=sk-... cargo run --release --example api_client --features hyper -- \
//!     --url https://api.openai.com/v1 --model gpt-4o-mini
//! ```
//!
//! Flags: `--latency-ms N` the mock LLM's reply time (default 100, standing for the tutorial's
//! 2 s; every other duration keeps its proportion to it), `--scale F` multiplies every
//! duration (default 1.0), `--requests N` the size of the big batch (default 20),
//! `--error-rate F` the share of attempts the flaky server answers with HTTP 500 (default
//! 0.2), `--slow-rate F` the share it answers too slowly (default 0.1), `--batch N` the
//! number of prompts sent to it (default 10). `--url URL` talks to a real OpenAI-compatible
//! API instead (`https://...`, or `http://...` for a local server), with the key from
//! `OPENAI_API_KEY` and `--model NAME` (default `gpt-4o-mini`).
//!
//! Without `--url`, everything runs in one process and one thread, on one tinyloop loop,
//! with no network and no key:
//!
//! * **The client** (part 1), shaped like the tutorial's: a `Semaphore` caps requests in
//!   flight (`async with self._semaphore`), each attempt runs under `tinyloop::timeout`
//!   (httpx's `timeout=`), 429s, 5xx answers and timeouts are retried after 1, 2 s
//!   (`2 ** attempt`), at most 3 attempts, and `batch_completion` is `gather` over
//!   `Result`s, i.e. `return_exceptions=True`. HTTP is hyper's, TLS is rustls's (through
//!   `futures-rustls`), JSON is serde_json's; `tinyloop::compat` is the glue between hyper
//!   and the loop. Connections are kept alive in a small pool, as httpx does.
//! * **A mock "chat completions" server** (part 2): hyper's server, over TLS with a
//!   certificate made at startup (rcgen) that the client is told to trust, so the mock
//!   exercises the same path as a real API: name resolution, TLS, HTTP/1.1, JSON. It answers
//!   `/v1/chat/completions` (2 s for `gpt-4`, 1.5 s for `gpt-4o-mini`, in the tutorial's
//!   seconds), `/v1/retrieve` (100 ms) and `/v1/tools/call` (500 ms). A second, flaky
//!   instance also fails some attempts with HTTP 500 and answers some too late. Which
//!   attempts fail is decided by a hash of the prompt and the attempt number, so every run
//!   prints the same story.
//! * **The table** (part 3): 1, 5 and 20 calls made one after another and then all at once,
//!   and an agent pipeline of retrieval, LLM, tools and summary, with measured times.
//!
//! What a timeout does here is worth a look: `tinyloop::timeout` drops the request future,
//! and with it the connection it was using, so an abandoned request can never leave a
//! half-read response on a pooled connection. For what an HTTP client does inside, written
//! by hand, see `examples/http_client_lesson.rs`.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::io;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use futures_rustls::{rustls, TlsAcceptor, TlsConnector};
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::SendRequest;
use hyper::{header, Request, Response, StatusCode, Uri};
use serde_json::{json, Value};
use tinyloop::compat::{HyperIo, HyperTimer};
use tinyloop::net::{TcpListener, TcpStream};
use tinyloop::{gather, Semaphore, TimeoutError};

// =============================================================================================
// Part 1: the client
// =============================================================================================

/// One chat message: `{"role": "user", "content": "..."}`.
#[derive(Debug, Clone)]
struct Message {
    role: &'static str,
    content: String,
}

fn user(content: impl Into<String>) -> Message {
    Message {
        role: "user",
        content: content.into(),
    }
}

/// What the assistant said, with the story of how it was obtained.
#[derive(Debug)]
struct Completion {
    content: String,
    /// One entry per attempt: "200", "500", "timeout".
    attempts: Vec<String>,
}

/// Why a call failed, after whatever retrying made sense. Each says what happened.
#[derive(Debug)]
enum ApiError {
    /// A 4xx answer other than 429: retrying will not help (the tutorial's `raise`).
    Rejected {
        status: u16,
        message: String,
        attempts: Vec<String>,
    },
    /// Every attempt got a 429 or a 5xx, or timed out.
    GaveUp { attempts: Vec<String> },
    /// No TCP connection (name resolution or connect failed).
    Connect { host: String, error: io::Error },
    /// The TLS handshake failed (an untrusted certificate, a name mismatch, ...).
    Tls { host: String, error: io::Error },
    /// The HTTP exchange broke off (the server closed, sent garbage, ...).
    Http(hyper::Error),
    /// The server's answer made no sense (not JSON, a field missing, too large).
    BadReply(String),
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::Rejected {
                status, message, ..
            } => write!(
                f,
                "the API refused the request with HTTP {status}: {message}"
            ),
            ApiError::GaveUp { attempts } => write!(
                f,
                "the API did not answer after {} attempts ({})",
                attempts.len(),
                attempts.join(", ")
            ),
            ApiError::Connect { host, error } => write!(f, "could not connect to {host}: {error}"),
            ApiError::Tls { host, error } => {
                write!(f, "the TLS handshake with {host} failed: {error}")
            }
            ApiError::Http(e) => write!(f, "the HTTP exchange failed: {e}"),
            ApiError::BadReply(why) => write!(f, "the API's reply made no sense: {why}"),
        }
    }
}

impl std::error::Error for ApiError {}

impl ApiError {
    fn attempts(&self) -> &[String] {
        match self {
            ApiError::Rejected { attempts, .. } | ApiError::GaveUp { attempts } => attempts,
            _ => &[],
        }
    }
}

/// The tutorial's retry policy: 3 attempts in all.
const ATTEMPTS: u32 = 3;

/// A reply larger than this is refused rather than buffered (a chat reply is kilobytes).
const MAX_REPLY: usize = 8 * 1024 * 1024;

/// Where the API lives: `https://api.openai.com/v1` or `http://localhost:11434/v1`.
#[derive(Debug, Clone)]
struct Endpoint {
    tls: bool,
    host: String,
    port: u16,
    /// The path the API's routes hang from, without a trailing `/`: `/v1`.
    base_path: String,
}

impl Endpoint {
    fn parse(url: &str) -> Result<Endpoint, String> {
        let uri: Uri = url
            .parse()
            .map_err(|e| format!("{url:?} is not a URL: {e}"))?;
        let tls = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(format!("{url:?} should start with https:// or http://")),
        };
        let host = uri
            .host()
            .ok_or_else(|| format!("{url:?} has no host name"))?
            .to_string();
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let base_path = uri.path().trim_end_matches('/').to_string();
        Ok(Endpoint {
            tls,
            host,
            port,
            base_path,
        })
    }

    /// The `Host` header: the port only when it is not the scheme's own.
    fn authority(&self) -> String {
        match (self.tls, self.port) {
            (true, 443) | (false, 80) => self.host.clone(),
            _ => format!("{}:{}", self.host, self.port),
        }
    }
}

/// The tutorial's `AsyncAPIClient`.
///
/// Where Python needs `async with AsyncAPIClient(...) as client:` to open and close the
/// HTTP client, here the pool of connections closes when the client is dropped.
struct AsyncApiClient {
    endpoint: Endpoint,
    api_key: Option<String>,
    tls: TlsConnector,
    semaphore: Semaphore,
    timeout: Duration,
    /// One second of the tutorial's time: the unit of the backoff sleeps.
    second: Duration,
    /// Idle keep-alive connections (httpx keeps such a pool too). A hyper `SendRequest` is
    /// one HTTP/1.1 connection; its I/O runs in a task of its own (see `connect`).
    idle: RefCell<Vec<SendRequest<Full<Bytes>>>>,
    connections_opened: Cell<usize>,
    in_flight: Cell<usize>,
    max_in_flight: Cell<usize>,
}

impl AsyncApiClient {
    fn new(
        endpoint: Endpoint,
        api_key: Option<String>,
        tls: TlsConnector,
        max_concurrent: usize,
        timeout: Duration,
    ) -> Self {
        AsyncApiClient {
            endpoint,
            api_key,
            tls,
            semaphore: Semaphore::new(max_concurrent),
            timeout,
            second: Duration::from_secs(1),
            idle: RefCell::new(Vec::new()),
            connections_opened: Cell::new(0),
            in_flight: Cell::new(0),
            max_in_flight: Cell::new(0),
        }
    }

    /// Sets how long "one second" of backoff is (so the demo can run fast).
    fn with_backoff_unit(mut self, second: Duration) -> Self {
        self.second = second;
        self
    }

    /// `chat_completion(messages, model)`: POST /chat/completions.
    async fn chat_completion(
        &self,
        messages: &[Message],
        model: &str,
    ) -> Result<Completion, ApiError> {
        let messages: Vec<Value> = messages
            .iter()
            .map(|m| json!({"role": m.role, "content": m.content}))
            .collect();
        let body = json!({"model": model, "messages": messages});
        let (reply, attempts) = self.post_json("/chat/completions", &body).await?;
        let content = reply["choices"][0]["message"]["content"]
            .as_str()
            .ok_or_else(|| ApiError::BadReply(format!("no choices[0].message.content in {reply}")))?
            .to_string();
        Ok(Completion { content, attempts })
    }

    /// `batch_completion(prompts, model)`: every prompt at once, one `Result` per prompt, in
    /// prompt order. `gather` over `Result`s is asyncio's `gather(..., return_exceptions=True)`:
    /// one failure does not disturb the others. The semaphore inside `post_json` keeps the
    /// number actually in flight at `max_concurrent`.
    async fn batch_completion(
        &self,
        prompts: &[Vec<Message>],
        model: &str,
    ) -> Vec<Result<Completion, ApiError>> {
        gather(
            prompts
                .iter()
                .map(|messages| self.chat_completion(messages, model)),
        )
        .await
    }

    /// A vector search in one knowledge base: POST /retrieve (the mock's).
    async fn retrieve(&self, knowledge_base: &str, query: &str) -> Result<String, ApiError> {
        let body = json!({"knowledge_base": knowledge_base, "query": query});
        let (reply, _) = self.post_json("/retrieve", &body).await?;
        reply["document"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| ApiError::BadReply(format!("no document in {reply}")))
    }

    /// A tool call: POST /tools/call (the mock's).
    async fn call_tool(&self, tool: &str, arguments: &str) -> Result<String, ApiError> {
        let body = json!({"tool": tool, "arguments": arguments});
        let (reply, _) = self.post_json("/tools/call", &body).await?;
        reply["result"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| ApiError::BadReply(format!("no tool result in {reply}")))
    }

    /// The heart of the tutorial's `chat_completion`: concurrency limit, timeout, retries.
    async fn post_json(&self, path: &str, body: &Value) -> Result<(Value, Vec<String>), ApiError> {
        // `async with self._semaphore:`. Held across the retries and their backoff sleeps,
        // as in the tutorial, so a struggling server is not hit by more than the limit.
        let _permit = self.semaphore.acquire().await;
        let body = Bytes::from(body.to_string());
        let mut attempts = Vec::new();
        for attempt in 0..ATTEMPTS {
            let last = attempt + 1 == ATTEMPTS;
            // Exponential backoff: 1, 2, 4 ... seconds (the tutorial's `2 ** attempt`).
            let mut backoff = self.second * 2u32.pow(attempt);
            let _counted = InFlight::enter(self);
            match tinyloop::timeout(self.timeout, self.send(path, body.clone())).await {
                Ok(Ok((status, _, reply))) if status.is_success() => {
                    attempts.push(status.as_u16().to_string());
                    let json = serde_json::from_slice(&reply).map_err(|e| {
                        ApiError::BadReply(format!(
                            "HTTP {status} with a body that is not JSON: {e}"
                        ))
                    })?;
                    return Ok((json, attempts));
                }
                Ok(Ok((status, headers, _)))
                    if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() =>
                {
                    // Rate-limited or a server error: wait and try again. A 429 may say how
                    // long to wait (`Retry-After: <seconds>`); never wait less than that.
                    attempts.push(status.as_u16().to_string());
                    if let Some(secs) = headers
                        .get(header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
                    {
                        backoff = backoff.max(Duration::from_secs(secs.min(60)));
                    }
                }
                Ok(Ok((status, _, reply))) => {
                    attempts.push(status.as_u16().to_string());
                    // OpenAI's error shape: {"error": {"message": "..."}}.
                    let message = serde_json::from_slice::<Value>(&reply)
                        .ok()
                        .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
                        .unwrap_or_else(|| String::from_utf8_lossy(&reply).into_owned());
                    return Err(ApiError::Rejected {
                        status: status.as_u16(),
                        message,
                        attempts,
                    });
                }
                Ok(Err(e)) => return Err(e),
                Err(TimeoutError) => {
                    // The request future, and its connection, were dropped by `timeout`.
                    attempts.push("timeout".to_string());
                }
            }
            // The tutorial also sleeps after the last attempt; that wait helps nobody.
            if !last {
                tinyloop::sleep(backoff).await;
            }
        }
        Err(ApiError::GaveUp { attempts })
    }

    /// One HTTP exchange on a pooled (or new) keep-alive connection.
    async fn send(
        &self,
        path: &str,
        body: Bytes,
    ) -> Result<(StatusCode, header::HeaderMap, Bytes), ApiError> {
        let pooled = self.idle.borrow_mut().pop();
        let mut sender = match pooled {
            // A pooled connection the server has closed meanwhile: open a fresh one instead.
            Some(mut sender) => match sender.ready().await {
                Ok(()) => sender,
                Err(_) => self.connect().await?,
            },
            None => self.connect().await?,
        };
        sender.ready().await.map_err(ApiError::Http)?;
        let mut request = Request::post(format!("{}{path}", self.endpoint.base_path))
            .header(header::HOST, self.endpoint.authority())
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(key) = &self.api_key {
            request = request.header(header::AUTHORIZATION, format!("Bearer {key}"));
        }
        let request = request
            .body(Full::new(body))
            .map_err(|e| ApiError::BadReply(format!("could not build the request: {e}")))?;
        let response = sender.send_request(request).await.map_err(ApiError::Http)?;
        let (head, body) = response.into_parts();
        // `Limited`: a server that sends gigabytes gets an error, not our memory.
        let body = Limited::new(body, MAX_REPLY)
            .collect()
            .await
            .map_err(|e| ApiError::BadReply(format!("reading the reply failed: {e}")))?
            .to_bytes();
        self.idle.borrow_mut().push(sender); // whole response read: safe to reuse
        Ok((head.status, head.headers, body))
    }

    /// Opens a connection: resolve and connect (TCP), TLS handshake (SNI = the host name),
    /// HTTP/1.1 handshake. hyper hands back the sending half and a future that does the
    /// connection's I/O; that future runs as a task, and ends when the sender is dropped.
    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, ApiError> {
        let Endpoint { host, port, .. } = &self.endpoint;
        let connect_error = |error| ApiError::Connect {
            host: format!("{host}:{port}"),
            error,
        };
        let tcp = TcpStream::connect((host.as_str(), *port))
            .await
            .map_err(connect_error)?;
        tcp.set_nodelay(true).map_err(connect_error)?;
        self.connections_opened
            .set(self.connections_opened.get() + 1);
        let handshake = |error: hyper::Error| ApiError::Http(error);
        if !self.endpoint.tls {
            let (sender, conn) = hyper::client::conn::http1::handshake(HyperIo::new(tcp))
                .await
                .map_err(handshake)?;
            drop(tinyloop::spawn(conn));
            return Ok(sender);
        }
        let tls_error = |error| ApiError::Tls {
            host: host.clone(),
            error,
        };
        let name = ServerName::try_from(host.clone())
            .map_err(|e| tls_error(io::Error::new(io::ErrorKind::InvalidInput, e)))?;
        let tls = self.tls.connect(name, tcp).await.map_err(tls_error)?;
        let (sender, conn) = hyper::client::conn::http1::handshake(HyperIo::new(tls))
            .await
            .map_err(handshake)?;
        drop(tinyloop::spawn(conn));
        Ok(sender)
    }
}

/// Counts a request as in flight until dropped, also when `timeout` cancels it.
struct InFlight<'a>(&'a AsyncApiClient);

impl<'a> InFlight<'a> {
    fn enter(client: &'a AsyncApiClient) -> Self {
        client.in_flight.set(client.in_flight.get() + 1);
        client
            .max_in_flight
            .set(client.max_in_flight.get().max(client.in_flight.get()));
        InFlight(client)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.set(self.0.in_flight.get() - 1);
    }
}

/// The ring crypto provider: pure Rust and C, no cmake (aws-lc-rs, rustls' default, needs it).
fn crypto() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A TLS client that trusts `root` only (the mock's certificate), or, given `None`, the
/// public web's roots (Mozilla's list, compiled in by `webpki-roots`).
fn tls_connector(root: Option<CertificateDer<'static>>) -> TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    match root {
        Some(cert) => roots
            .add(cert)
            .expect("a certificate rcgen just made parses"),
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let mut config = rustls::ClientConfig::builder_with_provider(crypto())
        .with_safe_default_protocol_versions()
        .expect("ring supports TLS 1.2 and 1.3")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    TlsConnector::from(Arc::new(config))
}

// =============================================================================================
// Part 2: the mock server
// =============================================================================================

/// How the mock server behaves. Durations are in the tutorial's seconds times `second`.
#[derive(Debug, Clone, Copy)]
struct MockConfig {
    /// One second of the tutorial's time.
    second: Duration,
    /// Share of attempts answered with HTTP 500.
    error_rate: f64,
    /// Share of attempts answered only after `SLOW_REPLY` seconds.
    slow_rate: f64,
}

/// How long a slow reply takes, in tutorial seconds (longer than the client's timeout).
const SLOW_REPLY: f64 = 10.0;

/// The mock's TLS identity: a certificate for `localhost`, made at startup.
struct MockTls {
    acceptor: TlsAcceptor,
    certificate: CertificateDer<'static>,
}

fn mock_tls() -> MockTls {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_string()])
        .expect("rcgen makes a certificate");
    let certificate = made.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(made.key_pair.serialize_der()));
    let mut config = rustls::ServerConfig::builder_with_provider(crypto())
        .with_safe_default_protocol_versions()
        .expect("ring supports TLS 1.2 and 1.3")
        .with_no_client_auth()
        .with_single_cert(vec![certificate.clone()], key)
        .expect("the key matches the certificate");
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    MockTls {
        acceptor: TlsAcceptor::from(Arc::new(config)),
        certificate,
    }
}

/// Starts the server on a free port of 127.0.0.1 and returns its URL. The server is a
/// task; it stops when the loop does.
fn start_mock_server(config: MockConfig, acceptor: TlsAcceptor) -> io::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let url = format!("https://localhost:{}/v1", listener.local_addr()?.port());
    // How many times each prompt has been seen, so a retry can get a different answer.
    let seen: Rc<RefCell<HashMap<String, u32>>> = Rc::default();
    drop(tinyloop::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, _peer)) => {
                    let (seen, acceptor) = (Rc::clone(&seen), acceptor.clone());
                    // Errors only mean the client went away (e.g. after its timeout).
                    drop(tinyloop::spawn(async move {
                        let _ = stream.set_nodelay(true);
                        let Ok(tls) = acceptor.accept(stream).await else {
                            return;
                        };
                        let service = hyper::service::service_fn(move |request| {
                            handle(request, config, Rc::clone(&seen))
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .timer(HyperTimer::new())
                            .header_read_timeout(Duration::from_secs(30))
                            .serve_connection(HyperIo::new(tls), service)
                            .await;
                    }));
                }
                Err(e) => {
                    eprintln!("mock server: accept failed: {e}");
                    tinyloop::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    }));
    Ok(url)
}

/// One request to the mock: read the JSON, decide, wait, answer.
async fn handle(
    request: Request<hyper::body::Incoming>,
    config: MockConfig,
    seen: Rc<RefCell<HashMap<String, u32>>>,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let path = request.uri().path().to_string();
    let body = request.into_body().collect().await?.to_bytes();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let (status, reply) = answer(&path, &body, config, &seen).await;
    Ok(Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(reply.to_string())))
        .expect("a valid response"))
}

/// Decides, waits, answers: `(status, JSON body)`.
async fn answer(
    path: &str,
    body: &Value,
    config: MockConfig,
    seen: &RefCell<HashMap<String, u32>>,
) -> (u16, Value) {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let (work, key, reply) = match path {
        "/v1/chat/completions" => {
            let model = text(&body["model"]);
            let prompt = body["messages"]
                .as_array()
                .and_then(|m| m.last())
                .map(|m| text(&m["content"]))
                .unwrap_or_default();
            let work = match model.as_str() {
                "gpt-4" => 2.0,
                "gpt-4o-mini" => 1.5,
                other => return error(404, &format!("the model `{other}` does not exist")),
            };
            if prompt.trim().is_empty() {
                return error(400, "the last message must not be empty");
            }
            let reply = json!({
                "object": "chat.completion",
                "model": model,
                "choices": [{
                    "index": 0,
                    "message": {"role": "assistant", "content": format!("Answer to: {prompt}")},
                    "finish_reason": "stop"
                }]
            });
            (work, prompt, reply)
        }
        "/v1/retrieve" => {
            let (kb, query) = (text(&body["knowledge_base"]), text(&body["query"]));
            let reply = json!({"document": format!("{kb}: notes on {query}")});
            (0.1, format!("{kb}/{query}"), reply)
        }
        "/v1/tools/call" => {
            let tool = text(&body["tool"]);
            let reply = json!({"result": format!("{tool}: done")});
            (0.5, tool, reply)
        }
        _ => return error(404, &format!("no route for {path}")),
    };

    // Fault injection, the same for every run: a hash of (prompt, attempt number).
    let attempt = {
        let mut seen = seen.borrow_mut();
        let n = seen.entry(key.clone()).or_insert(0);
        *n += 1;
        *n
    };
    let roll = |salt: &str| unit_hash(&format!("{salt}/{key}/{attempt}"));
    if roll("overloaded") < config.error_rate {
        tinyloop::sleep(config.second.mul_f64(work / 2.0)).await;
        return error(500, "the model is overloaded (injected failure)");
    }
    let work = if roll("late") < config.slow_rate {
        SLOW_REPLY
    } else {
        work
    };
    tinyloop::sleep(config.second.mul_f64(work)).await;
    (200, reply)
}

fn error(status: u16, message: &str) -> (u16, Value) {
    (status, json!({"error": {"message": message}}))
}

/// A hash of `s` mapped to [0, 1), good enough to pick which attempts fail: FNV-1a over the
/// bytes, then splitmix64's finaliser so that "question 1" and "question 2" land far apart.
fn unit_hash(s: &str) -> f64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^= h >> 31;
    (h >> 11) as f64 / (1u64 << 53) as f64
}

// =============================================================================================
// Part 3: the scenarios of the tutorial's table (section 1.2)
// =============================================================================================

const KNOWLEDGE_BASES: [&str; 3] = ["docs", "wiki", "tickets"];
const TOOLS: [&str; 3] = ["weather", "news", "stocks"];

fn question(i: usize) -> Vec<Message> {
    vec![user(format!("question {i}"))]
}

/// `n` calls, each awaited before the next starts.
async fn calls_one_by_one(client: &AsyncApiClient, n: usize) -> usize {
    let mut ok = 0;
    for i in 0..n {
        ok += usize::from(client.chat_completion(&question(i), "gpt-4").await.is_ok());
    }
    ok
}

/// `n` calls at once, through `batch_completion`.
async fn calls_at_once(client: &AsyncApiClient, n: usize) -> usize {
    let prompts: Vec<_> = (0..n).map(question).collect();
    let results = client.batch_completion(&prompts, "gpt-4").await;
    results.iter().filter(|r| r.is_ok()).count()
}

/// The agent of section 1.1, one step at a time: search three knowledge bases, ask the LLM
/// (2 s), run the three tools it asks for (500 ms each), summarise (1.5 s).
async fn pipeline_one_by_one(client: &AsyncApiClient) -> usize {
    let q = "Should I take an umbrella to the shareholder meeting?";
    let mut docs = Vec::new();
    for kb in KNOWLEDGE_BASES {
        docs.push(client.retrieve(kb, q).await);
    }
    let plan = client
        .chat_completion(&[user(format!("{q} Context: {docs:?}"))], "gpt-4")
        .await;
    let mut results = Vec::new();
    for tool in TOOLS {
        results.push(client.call_tool(tool, q).await);
    }
    let summary = client
        .chat_completion(
            &[user(format!("Summarise: {plan:?} {results:?}"))],
            "gpt-4o-mini",
        )
        .await;
    docs.iter().filter(|d| d.is_ok()).count()
        + usize::from(plan.is_ok())
        + results.iter().filter(|r| r.is_ok()).count()
        + usize::from(summary.is_ok())
}

/// The same agent with the independent calls gathered. The steps still depend on each
/// other (the LLM needs the documents, the summary needs the tool results), so only the
/// fan-outs overlap: the floor is 0.1 + 2 + 0.5 + 1.5 = 4.1 s.
async fn pipeline_gathered(client: &AsyncApiClient) -> usize {
    let q = "Should I take an umbrella to the shareholder meeting?";
    let docs = gather(KNOWLEDGE_BASES.map(|kb| client.retrieve(kb, q))).await;
    let plan = client
        .chat_completion(&[user(format!("{q} Context: {docs:?}"))], "gpt-4")
        .await;
    let results = gather(TOOLS.map(|tool| client.call_tool(tool, q))).await;
    let summary = client
        .chat_completion(
            &[user(format!("Summarise: {plan:?} {results:?}"))],
            "gpt-4o-mini",
        )
        .await;
    docs.iter().filter(|d| d.is_ok()).count()
        + usize::from(plan.is_ok())
        + results.iter().filter(|r| r.is_ok()).count()
        + usize::from(summary.is_ok())
}

/// Runs `fut`, returns its output and how long it took.
async fn timed<F: Future>(fut: F) -> (F::Output, Duration) {
    let start = Instant::now();
    let out = fut.await;
    (out, start.elapsed())
}

struct Row {
    scenario: String,
    sequential: Duration,
    concurrent: Duration,
    tutorial: &'static str,
}

/// A client of the mock at `url`, trusting the mock's certificate.
fn mock_client(url: &str, tls: &TlsConnector, limit: usize, timeout: Duration) -> AsyncApiClient {
    let endpoint = Endpoint::parse(url).expect("the mock's URL parses");
    let key = Some("sk-local-mock".to_string());
    AsyncApiClient::new(endpoint, key, tls.clone(), limit, timeout)
}

async fn speed_up_table(
    url: &str,
    tls: &TlsConnector,
    second: Duration,
    requests: usize,
) -> Vec<Row> {
    // No limit that would matter here: the table compares one-by-one with all-at-once.
    let client = mock_client(url, tls, requests.max(5), second * 30).with_backoff_unit(second);
    // Open the connections the widest row needs first, so the table measures requests, not
    // TLS handshakes (a long-lived agent pays those once; httpx's pool works the same way).
    let warm_up = client
        .batch_completion(&vec![question(0); requests.max(5)], "gpt-4")
        .await;
    assert!(
        warm_up.iter().all(Result::is_ok),
        "the clean server never fails"
    );
    let mut rows = Vec::new();
    for (n, tutorial) in [
        (1, "2.0 s / 2.0 s / 1x"),
        (5, "10.0 s / 2.1 s / ~5x"),
        (requests, "40.0 s / 2.5 s / ~16x"),
    ] {
        let (ok_seq, sequential) = timed(calls_one_by_one(&client, n)).await;
        let (ok_con, concurrent) = timed(calls_at_once(&client, n)).await;
        assert_eq!((ok_seq, ok_con), (n, n), "the clean server never fails");
        rows.push(Row {
            scenario: format!("{n} API call{}", if n == 1 { "" } else { "s" }),
            sequential,
            concurrent,
            tutorial,
        });
    }
    let (ok_seq, sequential) = timed(pipeline_one_by_one(&client)).await;
    let (ok_con, concurrent) = timed(pipeline_gathered(&client)).await;
    assert_eq!((ok_seq, ok_con), (8, 8), "the clean server never fails");
    rows.push(Row {
        scenario: "mixed: 3 retrievals + LLM + 3 tools + summary".to_string(),
        sequential,
        concurrent,
        tutorial: "5.0 s / 2.3 s / ~2x",
    });
    println!(
        "  (client: {} TLS connections opened for {} requests, thanks to keep-alive)",
        client.connections_opened.get(),
        requests.max(5) + 2 * (1 + 5 + requests) + 16
    );
    rows
}

fn print_table(rows: &[Row]) {
    println!(
        "| {:<47} | {:>10} | {:>10} | {:>8} | {:<22} |",
        "scenario", "sequential", "concurrent", "speed-up", "tutorial (sync/async)"
    );
    println!(
        "|{:-<49}|{:->12}|{:->12}|{:->10}|{:-<24}|",
        "", ":", ":", ":", ""
    );
    for row in rows {
        println!(
            "| {:<47} | {:>8.3} s | {:>8.3} s | {:>7.1}x | {:<22} |",
            row.scenario,
            row.sequential.as_secs_f64(),
            row.concurrent.as_secs_f64(),
            row.sequential.as_secs_f64() / row.concurrent.as_secs_f64(),
            row.tutorial
        );
    }
}

/// The tutorial's usage example against a server that misbehaves: one request, then a batch
/// through `batch_completion` with at most 5 in flight.
async fn flaky_batch(url: &str, tls: &TlsConnector, second: Duration, batch: usize) {
    // The timeout is 3 of the tutorial's seconds rather than 30, so slow replies trip it.
    let client = mock_client(url, tls, 5, second * 3).with_backoff_unit(second);

    match client.chat_completion(&[user("Hello")], "gpt-4").await {
        Ok(reply) => println!("  single request: {:?}", reply.content),
        Err(e) => println!("  single request failed: {e}"),
    }

    let mut prompts: Vec<_> = (0..batch).map(question).collect();
    prompts.push(vec![user("")]); // a bad request: refused with 400, never retried
    let start = Instant::now();
    let results = client.batch_completion(&prompts, "gpt-4").await;
    let elapsed = start.elapsed();

    let (mut ok, mut retried) = (0, 0);
    for (messages, result) in prompts.iter().zip(&results) {
        let prompt = format!("{:?}", messages[0].content);
        let attempts = match result {
            Ok(c) => &c.attempts,
            Err(e) => e.attempts(),
        };
        let story = format!("[{}]", attempts.join(", "));
        retried += usize::from(attempts.len() > 1);
        match result {
            Ok(c) => {
                ok += 1;
                println!("  {prompt:<14} ok     {story:<26} {:?}", c.content);
            }
            Err(e) => println!("  {prompt:<14} failed {story:<26} {e}"),
        }
    }
    println!(
        "  batch: {ok} of {} ok, {} failed, {retried} needed retries, in {:.3} s; \
         at most {} requests were in flight (limit 5)",
        results.len(),
        results.len() - ok,
        elapsed.as_secs_f64(),
        client.max_in_flight.get()
    );
}

// =============================================================================================
// main and flags
// =============================================================================================

struct Flags {
    latency_ms: f64,
    scale: f64,
    requests: usize,
    batch: usize,
    error_rate: f64,
    slow_rate: f64,
    url: Option<String>,
    model: String,
}

fn flags() -> Flags {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |name: &str| -> Option<&str> {
        let i = args.iter().position(|a| a == name)?;
        Some(
            args.get(i + 1)
                .unwrap_or_else(|| panic!("{name} needs a value"))
                .as_str(),
        )
    };
    let number = |name: &str, default: f64| -> f64 {
        value(name).map_or(default, |v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name} takes a number, got {v:?}"))
        })
    };
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!(
            "usage: api_client [--latency-ms N] [--scale F] [--requests N] [--batch N] \
             [--error-rate F] [--slow-rate F] [--url URL --model NAME]\n\
             defaults: --latency-ms 100 --scale 1.0 --requests 20 --batch 10 \
             --error-rate 0.2 --slow-rate 0.1"
        );
        std::process::exit(0);
    }
    let known = [
        "--latency-ms",
        "--scale",
        "--requests",
        "--batch",
        "--error-rate",
        "--slow-rate",
        "--url",
        "--model",
    ];
    for (i, a) in args.iter().enumerate() {
        let is_value = i > 0 && known.contains(&args[i - 1].as_str());
        if !is_value && !known.contains(&a.as_str()) {
            panic!("unknown argument {a:?}; the flags are {}", known.join(", "));
        }
    }
    Flags {
        latency_ms: number("--latency-ms", 100.0),
        scale: number("--scale", 1.0),
        requests: number("--requests", 20.0) as usize,
        batch: number("--batch", 10.0) as usize,
        error_rate: number("--error-rate", 0.2),
        slow_rate: number("--slow-rate", 0.1),
        url: value("--url").map(str::to_string),
        model: value("--model").unwrap_or("gpt-4o-mini").to_string(),
    }
}

/// `--url`: the same client against a real OpenAI-compatible API. This is all it takes:
/// an endpoint, a key, and the public roots for TLS.
fn real_endpoint(url: &str, model: &str, batch: usize) {
    let endpoint = Endpoint::parse(url).unwrap_or_else(|e| panic!("--url: {e}"));
    let api_key = std::env::var("OPENAI_API_KEY").ok();
    if api_key.is_none() {
        eprintln!("OPENAI_API_KEY is not set: sending no Authorization header");
    }
    let questions = [
        "In one sentence: what is an event loop?",
        "In one sentence: why do LLM clients retry on HTTP 429?",
        "In one sentence: what does a semaphore limit?",
    ];
    let prompts: Vec<Vec<Message>> = (0..batch.max(1))
        .map(|i| vec![user(questions[i % questions.len()])])
        .collect();
    tinyloop::run(async move {
        println!(
            "tinyloop api_client: {} prompts to {url} ({model}), at most 3 in flight",
            prompts.len()
        );
        let client = AsyncApiClient::new(
            endpoint,
            api_key,
            tls_connector(None),
            3,
            Duration::from_secs(60),
        );
        let start = Instant::now();
        for (messages, result) in prompts
            .iter()
            .zip(client.batch_completion(&prompts, model).await)
        {
            match result {
                Ok(c) => println!(
                    "  {:?} [{}]\n    {}",
                    messages[0].content,
                    c.attempts.join(", "),
                    c.content
                ),
                Err(e) => println!("  {:?} failed: {e}", messages[0].content),
            }
        }
        println!("finished in {:.3} s", start.elapsed().as_secs_f64());
    });
}

fn main() {
    let flags = flags();
    if let Some(url) = &flags.url {
        return real_endpoint(url, &flags.model, flags.batch.min(10));
    }
    // The LLM call is 2 s in the tutorial and `latency_ms` here: that fixes one tutorial second.
    let second = Duration::from_secs_f64(flags.latency_ms / 2.0 / 1000.0 * flags.scale);
    let started = Instant::now();
    tinyloop::run(async move {
        let MockTls {
            acceptor,
            certificate,
        } = mock_tls();
        let tls = tls_connector(Some(certificate));
        let clean_config = MockConfig {
            second,
            error_rate: 0.0,
            slow_rate: 0.0,
        };
        let clean =
            start_mock_server(clean_config, acceptor.clone()).expect("binding 127.0.0.1:0 works");
        let flaky_config = MockConfig {
            second,
            error_rate: flags.error_rate,
            slow_rate: flags.slow_rate,
        };
        let flaky = start_mock_server(flaky_config, acceptor).expect("binding 127.0.0.1:0 works");

        println!("tinyloop api_client: the tutorial's AsyncAPIClient against a local mock LLM API, over TLS");
        println!(
            "mock servers on {clean} (clean) and {flaky} (flaky); an LLM call takes {:.0} ms here \
             where the tutorial says 2 s, so 1 tutorial second = {:.1} ms",
            second.as_secs_f64() * 2000.0,
            second.as_secs_f64() * 1000.0
        );
        println!();
        println!("== section 1.2, measured: one by one vs all at once (clean server)");
        let rows = speed_up_table(&clean, &tls, second, flags.requests).await;
        println!();
        print_table(&rows);
        println!();
        println!("  The pipeline's steps depend on each other (the LLM needs the documents, the");
        println!("  summary needs the tool results): only the fan-outs overlap, so 4.1 tutorial");
        println!("  seconds is its floor however the calls are scheduled.");
        println!();
        println!(
            "== section 6.2: batch_completion against a flaky server ({:.0}% 500s, {:.0}% too slow)",
            flags.error_rate * 100.0,
            flags.slow_rate * 100.0
        );
        println!("  retries: 3 attempts; after a 429, a 5xx or a timeout wait 1, then 2 s (tutorial seconds)");
        flaky_batch(&flaky, &tls, second, flags.batch).await;
    });
    println!();
    println!("finished in {:.3} s", started.elapsed().as_secs_f64());
}
