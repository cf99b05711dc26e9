//! Unix domain stream sockets (asyncio's `test_unix_events.py` stream cases).

use std::net::Shutdown;
use std::path::PathBuf;

use tinyloop::net::{UnixListener, UnixStream};

/// A fresh socket path, removed again when dropped.
struct TempPath(PathBuf);

impl TempPath {
    fn new(name: &str) -> TempPath {
        let path =
            std::env::temp_dir().join(format!("tinyloop-{name}-{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        TempPath(path)
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn unix_echo_round_trip() {
    let path = TempPath::new("echo");
    tinyloop::run(async {
        let listener = UnixListener::bind(&path.0).unwrap();
        assert_eq!(
            listener.local_addr().unwrap().as_pathname(),
            Some(path.0.as_path())
        );
        let server = tinyloop::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut buf = [0; 64];
            loop {
                match stream.read(&mut buf).await.unwrap() {
                    0 => break,
                    n => stream.write_all(&buf[..n]).await.unwrap(),
                }
            }
        });
        let mut client = UnixStream::connect(&path.0).await.unwrap();
        client.write_all(b"over the file system").await.unwrap();
        let mut back = [0; 20];
        client.read_exact(&mut back).await.unwrap();
        assert_eq!(&back, b"over the file system");
        client.shutdown(Shutdown::Write).await.unwrap();
        server.await.unwrap();
        let mut buf = [0; 1];
        assert_eq!(client.read(&mut buf).await.unwrap(), 0);
    });
}

#[test]
fn connecting_to_a_missing_path_is_an_error() {
    let path = TempPath::new("missing");
    tinyloop::run(async {
        let err = UnixStream::connect(&path.0).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound, "{err}");
    });
}

#[test]
fn unix_pair_split_halves_in_two_tasks() {
    tinyloop::run(async {
        let (a, mut b) = UnixStream::pair().unwrap();
        let (mut rd, mut wr) = a.into_split();
        let writer = tinyloop::spawn(async move {
            for i in 0..50u8 {
                wr.write_all(&[i; 100]).await.unwrap();
            }
            // Dropping the owned write half shuts down the sending side.
        });
        let reader = tinyloop::spawn(async move {
            let mut buf = [0; 8];
            rd.read(&mut buf).await.unwrap()
        });
        let mut got = Vec::new();
        let mut buf = [0; 333];
        loop {
            match b.read(&mut buf).await.unwrap() {
                0 => break,
                n => got.extend_from_slice(&buf[..n]),
            }
        }
        writer.await.unwrap();
        let expected: Vec<u8> = (0..50u8).flat_map(|i| [i; 100]).collect();
        assert_eq!(got, expected);
        b.write_all(b"reply").await.unwrap();
        assert_eq!(reader.await.unwrap(), 5);
    });
}

/// A split half waits through the shared `dyn` engine, and the dump still names its type.
#[test]
fn the_task_dump_names_a_unix_split_half_wait() {
    tinyloop::run(async {
        let (a, _b) = UnixStream::pair().unwrap();
        let (mut rd, _wr) = a.into_split();
        let reader = tinyloop::spawn_named("half-reader", async move {
            let mut buf = [0; 8];
            rd.read(&mut buf).await
        });
        tinyloop::yield_now().await; // the reader runs first (FIFO) and parks on its read
        let dump = tinyloop::dump_tasks();
        assert!(dump.contains("UnixStream read"), "{dump}");
        assert!(!dump.contains("TcpStream"), "{dump}");
        reader.cancel();
    });
}
