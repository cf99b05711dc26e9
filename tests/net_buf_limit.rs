//! `io::BufReader`'s line limit (asyncio's `StreamReader(limit=...)`): an over-long line is
//! an `InvalidData` error naming the limit, it is discarded up to its delimiter, the reader
//! stays usable, and an endless line cannot grow the buffer.
//!
//! Most tests read from `Script`, an in-memory reader that hands out scripted chunks and can
//! say `Pending` at chosen points, so where each request stops is exact; the endless-line
//! tests use a real socket and a peer that never stops sending.

use std::cell::Cell;
use std::collections::VecDeque;
use std::future::{poll_fn, Future};
use std::io::{self, ErrorKind};
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_io::AsyncRead;
use tinyloop::io::BufReader;
use tinyloop::net::UnixStream;

mod util;

/// One step of a scripted reader.
#[derive(Debug)]
enum Step {
    /// These bytes are readable (handed out over as many reads as the caller needs).
    Data(Vec<u8>),
    /// The next poll finds nothing yet: `Pending` (the waker is called at once, so an
    /// awaiting task is polled again and moves on to the next step).
    Wait,
}

/// An `AsyncRead` that plays a script, then reports end of stream.
#[derive(Debug)]
struct Script {
    steps: VecDeque<Step>,
    /// Bytes handed out so far.
    taken: Rc<Cell<usize>>,
}

fn script(steps: Vec<Step>) -> (Script, Rc<Cell<usize>>) {
    let taken = Rc::new(Cell::new(0));
    let steps = steps.into();
    (
        Script {
            steps,
            taken: taken.clone(),
        },
        taken,
    )
}

fn data(bytes: impl AsRef<[u8]>) -> Step {
    Step::Data(bytes.as_ref().to_vec())
}

impl AsyncRead for Script {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        match self.steps.front_mut() {
            None => Poll::Ready(Ok(0)),
            Some(Step::Wait) => {
                self.steps.pop_front();
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            Some(Step::Data(bytes)) => {
                let n = bytes.len().min(out.len());
                out[..n].copy_from_slice(&bytes[..n]);
                bytes.drain(..n);
                if bytes.is_empty() {
                    self.steps.pop_front();
                }
                self.taken.set(self.taken.get() + n);
                Poll::Ready(Ok(n))
            }
        }
    }
}

/// Polls `fut` exactly once, then drops it (a cancellation if it was pending).
async fn poll_once<F: Future>(fut: F) -> Poll<F::Output> {
    let mut fut = pin!(fut);
    poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx))).await
}

/// The buffer size, from the reader's Debug output (`capacity: N`).
fn capacity<R: std::fmt::Debug>(reader: &BufReader<R>) -> usize {
    let text = format!("{reader:?}");
    let rest = text
        .split("capacity: ")
        .nth(1)
        .unwrap_or_else(|| panic!("no `capacity:` in {text}"));
    rest.split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[track_caller]
fn assert_over_limit(result: io::Result<usize>, limit: usize) {
    let err = result.expect_err("an over-long line is an error");
    assert_eq!(err.kind(), ErrorKind::InvalidData, "{err}");
    let text = err.to_string();
    assert!(text.contains(&format!("limit of {limit} bytes")), "{text}");
    assert!(text.contains("BufReader::with_limit"), "{text}");
}

#[test]
fn an_over_long_line_is_invalid_data_naming_the_limit_and_the_next_line_reads() {
    tinyloop::run(async {
        let long = "x".repeat(40);
        let (src, _) = script(vec![data(format!("ok\n{long}\nnext\n"))]);
        let mut reader = BufReader::with_limit(16, src);
        let mut line = String::new();
        reader.read_line(&mut line).await.unwrap();
        assert_eq!(line, "ok\n");
        line.clear();
        assert_over_limit(reader.read_line(&mut line).await, 16);
        assert_eq!(line, "", "nothing of the over-long line is handed out");
        assert_eq!(reader.read_line(&mut line).await.unwrap(), 5);
        assert_eq!(line, "next\n");
        line.clear();
        assert_eq!(
            reader.read_line(&mut line).await.unwrap(),
            0,
            "end of stream"
        );
    });
}

#[test]
fn the_error_reads_as_a_sentence() {
    tinyloop::run(async {
        let (src, _) = script(vec![data("0123456789\n")]);
        let mut reader = BufReader::with_limit(4, src);
        let err = reader.read_line(&mut String::new()).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "a line longer than this BufReader's limit of 4 bytes was discarded up to its \
             delimiter (b'\\n'); to accept longer lines, create the reader with \
             BufReader::with_limit(limit, reader)"
        );
    });
}

#[test]
fn lines_of_exactly_the_limit_pass_and_one_byte_more_fails() {
    tinyloop::run(async {
        let limit = 16;
        let exact = "e".repeat(limit);
        let over = "o".repeat(limit + 1);
        // Fed a byte at a time, in one piece, and split around the limit: same answers.
        let text = format!("{exact}\n{over}\n{exact}\n{over}");
        let feeds: Vec<Vec<Step>> = vec![
            vec![data(&text)],
            text.bytes().map(|b| data([b])).collect(),
            vec![data(&text[..limit]), Step::Wait, data(&text[limit..])],
        ];
        for steps in feeds {
            let (src, _) = script(steps);
            let mut reader = BufReader::with_limit(limit, src);
            let mut line = String::new();
            reader.read_line(&mut line).await.unwrap();
            assert_eq!(
                line,
                format!("{exact}\n"),
                "exactly the limit, plus the delimiter"
            );
            line.clear();
            assert_over_limit(reader.read_line(&mut line).await, limit);
            reader.read_line(&mut line).await.unwrap();
            assert_eq!(line, format!("{exact}\n"));
            line.clear();
            // The last line, without a delimiter, is held to the same limit.
            assert_over_limit(reader.read_line(&mut line).await, limit);
            assert_eq!(reader.read_line(&mut line).await.unwrap(), 0);
            assert_eq!(line, "");
        }
    });
}

#[test]
fn the_default_limit_is_64_kib() {
    tinyloop::run(async {
        let max = 64 * 1024;
        let text = format!("{}\n{}\nend\n", "a".repeat(max), "b".repeat(max + 1));
        let (src, _) = script(vec![data(text)]);
        let mut reader = BufReader::new(src);
        let mut line = String::new();
        assert_eq!(reader.read_line(&mut line).await.unwrap(), max + 1);
        assert_over_limit(reader.read_line(&mut String::new()).await, max);
        line.clear();
        reader.read_line(&mut line).await.unwrap();
        assert_eq!(line, "end\n");
        assert!(capacity(&reader) <= max + 1, "{}", capacity(&reader));
    });
}

#[test]
fn read_until_obeys_the_limit_with_its_own_delimiter() {
    tinyloop::run(async {
        let (src, _) = script(vec![data("0123456789;ab;\n"), Step::Wait, data("c;")]);
        let mut reader = BufReader::with_limit(8, src);
        let mut out = Vec::new();
        let err = reader.read_until(b';', &mut out).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidData);
        assert!(err.to_string().contains("(b';')"), "{err}");
        assert!(out.is_empty());
        assert_eq!(reader.read_until(b';', &mut out).await.unwrap(), 3);
        assert_eq!(out, b"ab;");
        out.clear();
        // A '\n' is just another byte to read_until(b';').
        reader.read_until(b';', &mut out).await.unwrap();
        assert_eq!(out, b"\nc;");
    });
}

/// The error comes as soon as the line passes the limit, before its end has arrived (as
/// asyncio raises); the rest of the line is skipped by the next read as it arrives.
#[test]
fn the_error_does_not_wait_for_the_end_of_the_line_and_the_rest_is_skipped() {
    tinyloop::run(async {
        let (src, taken) = script(vec![
            data("y".repeat(10)),
            Step::Wait,
            data("y".repeat(10)),
            Step::Wait,
            Step::Wait, // the line's end has not arrived when the error must be reported
            data("yyy\nnext\n"),
        ]);
        let mut reader = BufReader::with_limit(16, src);
        let mut line = String::new();
        assert_over_limit(reader.read_line(&mut line).await, 16);
        assert_eq!(
            taken.get(),
            20,
            "the error came before the end of the line arrived"
        );
        reader.read_line(&mut line).await.unwrap();
        assert_eq!(line, "next\n");
    });
}

/// Cancelling the request that is skipping the rest of an over-long line loses no
/// progress and no later bytes: the next request goes on skipping, then reads the next
/// line. Cancelled at every point where the skip waits.
#[test]
fn a_request_cancelled_while_discarding_resumes_the_skip() {
    tinyloop::run(async {
        for cancels in 1..=4 {
            let mut steps = vec![data("z".repeat(20))];
            for _ in 0..4 {
                steps.push(Step::Wait);
                steps.push(data("z".repeat(7)));
            }
            steps.push(data("z\nnext\nlast\n"));
            let (src, _) = script(steps);
            let mut reader = BufReader::with_limit(16, src);
            assert_over_limit(reader.read_line(&mut String::new()).await, 16);
            for _ in 0..cancels {
                let mut line = String::new();
                let polled = poll_once(reader.read_line(&mut line)).await;
                assert!(
                    polled.is_pending(),
                    "the skip waits for the rest of the line"
                );
                assert_eq!(line, "", "a cancelled request appends nothing");
            }
            assert_eq!(reader.buffer(), b"", "skipped bytes are not kept");
            let mut line = String::new();
            reader.read_line(&mut line).await.unwrap();
            assert_eq!(line, "next\n", "after {cancels} cancellations");
            // Other kinds of read see the stream after the skipped line too.
            let mut four = [0u8; 4];
            reader.read_exact(&mut four).await.unwrap();
            assert_eq!(&four, b"last");
        }
    });
}

/// A plain read (or `read_exact`) after the error also starts after the over-long line.
#[test]
fn every_kind_of_read_skips_the_rest_of_the_line() {
    tinyloop::run(async {
        let (src, _) = script(vec![data("w".repeat(30)), Step::Wait, data("ww\nabc")]);
        let mut reader = BufReader::with_limit(16, src);
        assert_over_limit(reader.read_line(&mut String::new()).await, 16);
        assert_eq!(
            reader.read(&mut []).await.unwrap(),
            0,
            "a zero-byte read is at once"
        );
        let mut buf = [0u8; 8];
        let n = reader.read(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"abc");
    });
}

#[test]
#[should_panic(expected = "BufReader::with_limit(0, ..)")]
fn a_zero_limit_panics_with_the_fix() {
    let _ = BufReader::with_limit(0, &b""[..]);
}

/// A peer sends one line that never ends. The first request fails once the limit is
/// passed; a second one skips for as long as it is allowed to run (a timeout cancels it).
/// The buffer, which never shrinks, is no larger at the end than the limit needs.
#[test]
fn an_endless_line_from_a_peer_does_not_grow_the_buffer() {
    tinyloop::run(async {
        let limit = 20_000;
        let (a, mut b) = UnixStream::pair().unwrap();
        let sent = Rc::new(Cell::new(0usize));
        let counter = sent.clone();
        let flood = tinyloop::spawn(async move {
            let chunk = vec![b'x'; 64 * 1024];
            while b.write_all(&chunk).await.is_ok() {
                counter.set(counter.get() + chunk.len());
            }
        });
        let mut reader = BufReader::with_limit(limit, a);
        assert_over_limit(reader.read_line(&mut String::new()).await, limit);
        let skipping = tinyloop::timeout(Duration::from_millis(100), async {
            reader.read_line(&mut String::new()).await
        });
        assert!(skipping.await.is_err(), "the endless line never ends");
        assert!(
            capacity(&reader) <= limit + 1,
            "capacity {}",
            capacity(&reader)
        );
        let total = sent.get();
        drop(reader); // the flood's write fails and it ends
        flood.await.unwrap();
        assert!(total > 0);
    });
}

/// Deterministic counterpart: a 4 MiB line, then a normal one. Every byte of the long line
/// passes through the reader, yet its buffer stays at the limit, and the next line reads.
#[test]
fn a_huge_line_is_discarded_within_the_limit_and_the_next_line_reads() {
    tinyloop::run(async {
        let limit = 1000;
        let (a, mut b) = UnixStream::pair().unwrap();
        let writer = tinyloop::spawn(async move {
            let chunk = vec![b'h'; 64 * 1024];
            for _ in 0..64 {
                b.write_all(&chunk).await.unwrap();
            }
            b.write_all(b"\nafter\n").await.unwrap();
        });
        let mut reader = BufReader::with_limit(limit, a);
        assert_over_limit(reader.read_line(&mut String::new()).await, limit);
        let mut line = String::new();
        reader.read_line(&mut line).await.unwrap();
        assert_eq!(line, "after\n");
        // The buffer starts at 8 KiB and a line search grows it only up to `limit + 1`.
        assert_eq!(capacity(&reader), 8 * 1024, "the buffer never grew");
        writer.await.unwrap();
        line.clear();
        assert_eq!(reader.read_line(&mut line).await.unwrap(), 0);
    });
}

/// `read_exact` is not bound by the line limit (nor is asyncio's `readexactly`).
#[test]
fn read_exact_may_exceed_the_limit() {
    util::vrun(async {
        let (src, _) = script(vec![data("q".repeat(100))]);
        let mut reader = BufReader::with_limit(10, src);
        let mut buf = [0u8; 100];
        reader.read_exact(&mut buf).await.unwrap();
        assert!(buf.iter().all(|&b| b == b'q'));
    });
}
