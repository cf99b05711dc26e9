//! # The showcase: the tutorial's `AsyncAPIClient`, and its speed-up table, measured
//!
//! Retells section 6 of the tutorial, "Practice: wrapping async HTTP requests" (6.1 "A basic
//! async request", 6.2 "A complete AI API client"), and measures the table of section 1.2,
//! "Quantifying the gains".
//!
//! ```text
//! cargo run --release --example api_client
//! cargo run --release --example api_client -- --latency-ms 400 --requests 50 --error-rate 0.3
//! ```
//!
//! Flags: `--latency-ms N` the mock LLM's reply time (default 100, standing for the tutorial's
//! 2 s; every other duration keeps its proportion to it), `--scale F` multiplies every
//! duration (default 1.0), `--requests N` the size of the big batch (default 20),
//! `--error-rate F` the share of attempts the flaky server answers with HTTP 500 (default
//! 0.2), `--slow-rate F` the share it answers too slowly (default 0.1), `--batch N` the
//! number of prompts sent to it (default 10).
//!
//! Everything runs in one process and one thread, on one tinyloop loop, with no network:
//!
//! * **A mock "chat completions" server** (part 2): a task accepting connections on
//!   `127.0.0.1:0` and a task per connection, speaking just enough HTTP/1.1 with keep-alive.
//!   It answers `/v1/chat/completions` (2 s for `gpt-4`, 1.5 s for `gpt-4o-mini`, in the
//!   tutorial's seconds), `/v1/retrieve` (100 ms) and `/v1/tools/call` (500 ms). A second,
//!   flaky instance also fails some attempts with HTTP 500 and answers some too late. Which
//!   attempts fail is decided by a hash of the prompt and the attempt number, so every run
//!   prints the same story.
//! * **The client** (part 1), shaped like the tutorial's: a `Semaphore` caps requests in
//!   flight (`async with self._semaphore`), each attempt runs under `tinyloop::timeout`
//!   (httpx's `timeout=`), 5xx answers are retried after 1, 2 s (`2 ** attempt`), timeouts
//!   after 1 s, at most 3 attempts, and `batch_completion` is `gather` over
//!   `Result`s, i.e. `return_exceptions=True`. Connections are kept alive in a small pool, as
//!   httpx does. The HTTP is hand-written, a hundred lines over `tinyloop::net::TcpStream`
//!   and `tinyloop::io::BufReader` (asyncio's `open_connection` and `StreamReader`); the
//!   JSON is written and picked apart by hand, enough for this exchange and no more.
//! * **The table** (part 3): 1, 5 and 20 calls made one after another and then all at once,
//!   and an agent pipeline of retrieval, LLM, tools and summary, with measured times.
//!
//! What a timeout does here is worth a look: `tinyloop::timeout` drops the request future,
//! and with it the TCP connection it was using, so an abandoned request can never leave a
//! half-read response on a pooled connection.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use tinyloop::io::BufReader;
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

/// A successful reply, with the story of how it was obtained.
#[derive(Debug)]
struct Reply {
    /// The JSON body.
    body: String,
    /// One entry per attempt: "200", "500", "timeout".
    attempts: Vec<String>,
}

/// What the assistant said, from a chat completion reply.
#[derive(Debug)]
struct Completion {
    content: String,
    attempts: Vec<String>,
}

/// Why a call failed, after whatever retrying made sense.
#[derive(Debug)]
enum ApiError {
    /// A 4xx answer: retrying will not help (the tutorial's `raise`).
    Rejected {
        status: u16,
        message: String,
        attempts: Vec<String>,
    },
    /// Every attempt got a 5xx or timed out.
    GaveUp { attempts: Vec<String> },
    /// The connection failed.
    Io(io::Error),
    /// The server's answer made no sense.
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
            ApiError::Io(e) => write!(f, "the connection failed: {e}"),
            ApiError::BadReply(why) => write!(f, "the API's reply made no sense: {why}"),
        }
    }
}

impl ApiError {
    fn attempts(&self) -> &[String] {
        match self {
            ApiError::Rejected { attempts, .. } | ApiError::GaveUp { attempts } => attempts,
            ApiError::Io(_) | ApiError::BadReply(_) => &[],
        }
    }
}

/// The tutorial's retry policy: 3 attempts in all.
const ATTEMPTS: u32 = 3;

/// The tutorial's `AsyncAPIClient`.
///
/// Where Python needs `async with AsyncAPIClient(...) as client:` to open and close the
/// HTTP client, here the pool of connections closes when the client is dropped.
struct AsyncApiClient {
    addr: SocketAddr,
    api_key: String,
    semaphore: Semaphore,
    timeout: Duration,
    /// One second of the tutorial's time: the unit of the backoff sleeps.
    second: Duration,
    /// Idle keep-alive connections (httpx keeps such a pool too).
    idle: RefCell<Vec<BufReader<TcpStream>>>,
    connections_opened: Cell<usize>,
    in_flight: Cell<usize>,
    max_in_flight: Cell<usize>,
}

impl AsyncApiClient {
    fn new(addr: SocketAddr, api_key: &str, max_concurrent: usize, timeout: Duration) -> Self {
        AsyncApiClient {
            addr,
            api_key: api_key.to_string(),
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

    /// `chat_completion(messages, model)`: POST /v1/chat/completions.
    async fn chat_completion(
        &self,
        messages: &[Message],
        model: &str,
    ) -> Result<Completion, ApiError> {
        let messages: Vec<String> = messages
            .iter()
            .map(|m| {
                format!(
                    r#"{{"role":"{}","content":"{}"}}"#,
                    m.role,
                    json_escape(&m.content)
                )
            })
            .collect();
        let body = format!(
            r#"{{"model":"{}","messages":[{}]}}"#,
            json_escape(model),
            messages.join(",")
        );
        let reply = self.post_json("/v1/chat/completions", &body).await?;
        let content = json_string_field(&reply.body, "content", Last)
            .ok_or_else(|| ApiError::BadReply("no message content".into()))?;
        Ok(Completion {
            content,
            attempts: reply.attempts,
        })
    }

    /// `batch_completion(prompts, model)`: every prompt at once, one `Result` per prompt, in
    /// prompt order. `gather` over `Result`s is asyncio's `gather(..., return_exceptions=True)`:
    /// one failure does not disturb the others. The semaphore inside `chat_completion` keeps
    /// the number actually in flight at `max_concurrent`.
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

    /// A vector search in one knowledge base: POST /v1/retrieve.
    async fn retrieve(&self, knowledge_base: &str, query: &str) -> Result<String, ApiError> {
        let body = format!(
            r#"{{"knowledge_base":"{}","query":"{}"}}"#,
            json_escape(knowledge_base),
            json_escape(query)
        );
        let reply = self.post_json("/v1/retrieve", &body).await?;
        json_string_field(&reply.body, "document", First)
            .ok_or_else(|| ApiError::BadReply("no document".into()))
    }

    /// A tool call: POST /v1/tools/call.
    async fn call_tool(&self, tool: &str, arguments: &str) -> Result<String, ApiError> {
        let body = format!(
            r#"{{"tool":"{}","arguments":"{}"}}"#,
            json_escape(tool),
            json_escape(arguments)
        );
        let reply = self.post_json("/v1/tools/call", &body).await?;
        json_string_field(&reply.body, "result", First)
            .ok_or_else(|| ApiError::BadReply("no tool result".into()))
    }

    /// The heart of the tutorial's `chat_completion`: concurrency limit, timeout, retries.
    async fn post_json(&self, path: &str, body: &str) -> Result<Reply, ApiError> {
        // `async with self._semaphore:`. Held across the retries and their backoff sleeps,
        // as in the tutorial, so a struggling server is not hit by more than the limit.
        let _permit = self.semaphore.acquire().await;
        let mut attempts = Vec::new();
        for attempt in 0..ATTEMPTS {
            let last = attempt + 1 == ATTEMPTS;
            let _counted = InFlight::enter(self);
            match tinyloop::timeout(self.timeout, self.send(path, body)).await {
                Ok(Ok(response)) if response.status < 300 => {
                    attempts.push(response.status.to_string());
                    return Ok(Reply {
                        body: response.body,
                        attempts,
                    });
                }
                Ok(Ok(response)) if response.status >= 500 => {
                    // Server error: back off exponentially (1 s, 2 s, ...) and try again. The
                    // tutorial also sleeps after the last attempt; that wait helps nobody.
                    attempts.push(response.status.to_string());
                    if !last {
                        tinyloop::sleep(self.second * 2u32.pow(attempt)).await;
                    }
                }
                Ok(Ok(response)) => {
                    attempts.push(response.status.to_string());
                    let message = json_string_field(&response.body, "message", First)
                        .unwrap_or(response.body);
                    return Err(ApiError::Rejected {
                        status: response.status,
                        message,
                        attempts,
                    });
                }
                Ok(Err(e)) => return Err(ApiError::Io(e)),
                Err(TimeoutError) => {
                    // The request future, and its connection, were dropped by `timeout`.
                    attempts.push("timeout".to_string());
                    if !last {
                        tinyloop::sleep(self.second).await;
                    }
                }
            }
        }
        Err(ApiError::GaveUp { attempts })
    }

    /// One HTTP exchange on a pooled (or new) keep-alive connection.
    async fn send(&self, path: &str, body: &str) -> io::Result<HttpMessage> {
        let pooled = self.idle.borrow_mut().pop();
        let mut conn = match pooled {
            Some(conn) => conn,
            None => {
                let stream = TcpStream::connect(self.addr).await?;
                stream.set_nodelay(true)?;
                self.connections_opened
                    .set(self.connections_opened.get() + 1);
                BufReader::new(stream)
            }
        };
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.addr,
            self.api_key,
            body.len()
        );
        conn.get_mut().write_all(request.as_bytes()).await?;
        let response = read_message(&mut conn)
            .await?
            .ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))?;
        if !response.close {
            self.idle.borrow_mut().push(conn); // whole response read: safe to reuse
        }
        Ok(response)
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

// =============================================================================================
// Part 2: the mock server, and the little HTTP and JSON both sides need
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

/// Starts the server on a free port of 127.0.0.1 and returns its address. The server is a
/// task; it stops when the loop does.
fn start_mock_server(config: MockConfig) -> io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    // How many times each prompt has been seen, so a retry can get a different answer.
    let seen: Rc<RefCell<HashMap<String, u32>>> = Rc::default();
    drop(tinyloop::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, _peer)) => {
                    let seen = Rc::clone(&seen);
                    // Errors only mean the client went away (e.g. after its timeout).
                    drop(tinyloop::spawn(async move {
                        let _ = serve_connection(stream, config, seen).await;
                    }));
                }
                Err(e) => {
                    eprintln!("mock server: accept failed: {e}");
                    tinyloop::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    }));
    Ok(addr)
}

async fn serve_connection(
    stream: TcpStream,
    config: MockConfig,
    seen: Rc<RefCell<HashMap<String, u32>>>,
) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut conn = BufReader::new(stream);
    while let Some(request) = read_message(&mut conn).await? {
        let (status, body) = answer(&request, config, &seen).await;
        let reason = match status {
            200 => "OK",
            400 => "Bad Request",
            404 => "Not Found",
            _ => "Internal Server Error",
        };
        let response = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        conn.get_mut().write_all(response.as_bytes()).await?;
    }
    Ok(())
}

/// Decides, waits, answers: `(status, JSON body)`.
async fn answer(
    request: &HttpMessage,
    config: MockConfig,
    seen: &RefCell<HashMap<String, u32>>,
) -> (u16, String) {
    let path = request.first_line.split(' ').nth(1).unwrap_or("");
    let body = &request.body;
    let (work, key, reply) = match path {
        "/v1/chat/completions" => {
            let model = json_string_field(body, "model", First).unwrap_or_default();
            let prompt = json_string_field(body, "content", Last).unwrap_or_default();
            let work = match model.as_str() {
                "gpt-4" => 2.0,
                "gpt-4o-mini" => 1.5,
                other => return error(404, &format!("the model `{other}` does not exist")),
            };
            if prompt.trim().is_empty() {
                return error(400, "the last message must not be empty");
            }
            let reply = format!(
                r#"{{"object":"chat.completion","model":"{}","choices":[{{"index":0,"message":{{"role":"assistant","content":"{}"}},"finish_reason":"stop"}}]}}"#,
                json_escape(&model),
                json_escape(&format!("Answer to: {prompt}"))
            );
            (work, prompt, reply)
        }
        "/v1/retrieve" => {
            let kb = json_string_field(body, "knowledge_base", First).unwrap_or_default();
            let query = json_string_field(body, "query", First).unwrap_or_default();
            let reply = format!(
                r#"{{"document":"{}"}}"#,
                json_escape(&format!("{kb}: notes on {query}"))
            );
            (0.1, format!("{kb}/{query}"), reply)
        }
        "/v1/tools/call" => {
            let tool = json_string_field(body, "tool", First).unwrap_or_default();
            let reply = format!(
                r#"{{"result":"{}"}}"#,
                json_escape(&format!("{tool}: done"))
            );
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

fn error(status: u16, message: &str) -> (u16, String) {
    (
        status,
        format!(r#"{{"error":{{"message":"{}"}}}}"#, json_escape(message)),
    )
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

/// An HTTP/1.1 request or response: the first line, the body, and whether to close after.
#[derive(Debug)]
struct HttpMessage {
    first_line: String,
    /// For responses: the status code from the first line.
    status: u16,
    body: String,
    close: bool,
}

/// Reads one request or response (head, then a `Content-Length` body) from `conn`.
/// `Ok(None)`: the peer closed the connection cleanly before a new message began.
async fn read_message(conn: &mut BufReader<TcpStream>) -> io::Result<Option<HttpMessage>> {
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_string());
    let mut first_line = String::new();
    if conn.read_line(&mut first_line).await? == 0 {
        return Ok(None);
    }
    let first_line = first_line.trim_end().to_string();
    let mut content_length = 0;
    let mut close = false;
    loop {
        let mut line = String::new();
        if conn.read_line(&mut line).await? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let line = line.trim_end();
        if line.is_empty() {
            break; // a blank line ends the head
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| bad("malformed header"))?;
        if name.eq_ignore_ascii_case("content-length") {
            content_length = value
                .trim()
                .parse()
                .map_err(|_| bad("bad Content-Length"))?;
        } else if name.eq_ignore_ascii_case("connection") {
            close = value.trim().eq_ignore_ascii_case("close");
        }
    }
    let mut body = vec![0; content_length];
    conn.read_exact(&mut body).await?;
    // "HTTP/1.1 200 OK" -> 200; a request line ("POST /path HTTP/1.1") has no status.
    let status = first_line
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    Ok(Some(HttpMessage {
        first_line,
        status,
        body: String::from_utf8(body).map_err(|_| bad("body is not UTF-8"))?,
        close,
    }))
}

fn json_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Which occurrence of a field to take: `messages` holds several `content`s, the last counts.
#[derive(Clone, Copy)]
enum Occurrence {
    First,
    Last,
}
use Occurrence::{First, Last};

/// The string value of `"field": "..."` in `json`. Not a JSON parser: enough for the flat,
/// well-formed messages the two sides of this example send each other.
fn json_string_field(json: &str, field: &str, which: Occurrence) -> Option<String> {
    let pattern = format!("\"{field}\":");
    let at = match which {
        First => json.find(&pattern)?,
        Last => json.rfind(&pattern)?,
    };
    let rest = json[at + pattern.len()..].trim_start().strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                }
                other => out.push(other),
            },
            c => out.push(c),
        }
    }
    None
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

async fn speed_up_table(addr: SocketAddr, second: Duration, requests: usize) -> Vec<Row> {
    // No limit that would matter here: the table compares one-by-one with all-at-once.
    let client = AsyncApiClient::new(addr, "sk-local-mock", requests.max(5), second * 30)
        .with_backoff_unit(second);
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
        "  (client: {} connections opened for {} requests, thanks to keep-alive)",
        client.connections_opened.get(),
        2 * (1 + 5 + requests) + 16
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
async fn flaky_batch(addr: SocketAddr, second: Duration, batch: usize) {
    // The timeout is 6 of the tutorial's seconds rather than 30, so slow replies (10 s) trip
    // it, while a normal reply (2 s) has 4 s to spare even on a busy machine.
    let client =
        AsyncApiClient::new(addr, "sk-local-mock", 5, second * 6).with_backoff_unit(second);

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
             [--error-rate F] [--slow-rate F]\n\
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
    }
}

fn main() {
    let flags = flags();
    // The LLM call is 2 s in the tutorial and `latency_ms` here: that fixes one tutorial second.
    let second = Duration::from_secs_f64(flags.latency_ms / 2.0 / 1000.0 * flags.scale);
    let started = Instant::now();
    tinyloop::run(async move {
        let clean = start_mock_server(MockConfig {
            second,
            error_rate: 0.0,
            slow_rate: 0.0,
        })
        .expect("binding 127.0.0.1:0 works");
        let flaky = start_mock_server(MockConfig {
            second,
            error_rate: flags.error_rate,
            slow_rate: flags.slow_rate,
        })
        .expect("binding 127.0.0.1:0 works");

        println!("tinyloop api_client: the tutorial's AsyncAPIClient against a local mock LLM API");
        println!(
            "mock servers on {clean} (clean) and {flaky} (flaky); an LLM call takes {:.0} ms here \
             where the tutorial says 2 s, so 1 tutorial second = {:.1} ms",
            second.as_secs_f64() * 2000.0,
            second.as_secs_f64() * 1000.0
        );
        println!();
        println!("== section 1.2, measured: one by one vs all at once (clean server)");
        let rows = speed_up_table(clean, second, flags.requests).await;
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
        println!("  retries: 3 attempts; after a 500 wait 1, 2 s; after a timeout wait 1 s (tutorial seconds)");
        flaky_batch(flaky, second, flags.batch).await;
    });
    println!();
    println!("finished in {:.3} s", started.elapsed().as_secs_f64());
}
