//! OS errors on sockets come back as `io::Error`s and the loop keeps going: a peer that
//! resets mid-write (no SIGPIPE death), a listener out of file descriptors (EMFILE).
//!
//! Both tests change process-wide state (the SIGPIPE disposition, RLIMIT_NOFILE), so each
//! runs its body in a child process: the test re-runs this test binary with a filter for
//! itself and `TINYLOOP_NET_CHILD` set, and checks that the child succeeded.

use std::io::ErrorKind;
use std::net::Shutdown;
use std::process::Command;
use std::time::Duration;

use tinyloop::net::{TcpListener, TcpStream, UnixListener, UnixStream};

const CHILD: &str = "TINYLOOP_NET_CHILD";

/// In the parent: runs `test` in a child process and asserts that it passed. In the child:
/// returns `true` so the caller runs the body.
fn in_child(test: &str) -> bool {
    if std::env::var_os(CHILD).is_some() {
        return true;
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "child {test} failed ({}):\n{text}",
        out.status
    );
    assert!(text.contains("1 passed"), "the child ran no test:\n{text}");
    false
}

/// Restores the default SIGPIPE action (terminate), which Rust's runtime replaces with
/// "ignore": a write that raised SIGPIPE would now kill the process.
fn default_sigpipe() {
    // SAFETY: `signal` with a valid signal number and SIG_DFL has no memory effects; the
    // child process runs only this test, on one thread.
    let previous = unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    assert_ne!(previous, libc::SIG_ERR);
}

/// Writes 64 KiB chunks with `$stream.write_all` until it fails; evaluates to the error.
macro_rules! write_until_error {
    ($stream:expr) => {{
        let chunk = vec![1u8; 64 * 1024];
        let mut outcome = None;
        for _ in 0..10_000 {
            if let Err(e) = $stream.write_all(&chunk).await {
                outcome = Some(e);
                break;
            }
            tinyloop::sleep(Duration::from_millis(1)).await;
        }
        outcome.expect("writing to a reset peer never failed")
    }};
}

#[test]
fn writing_to_a_reset_tcp_peer_is_an_error_not_sigpipe() {
    if !in_child("writing_to_a_reset_tcp_peer_is_an_error_not_sigpipe") {
        return;
    }
    default_sigpipe();
    tinyloop::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let mut client = client;
        // Closing a socket with unread data makes the kernel send RST instead of FIN.
        client.write_all(b"unread").await.unwrap();
        tinyloop::sleep(Duration::from_millis(10)).await;
        drop(server);
        let err = write_until_error!(client);
        assert!(
            matches!(
                err.kind(),
                ErrorKind::BrokenPipe | ErrorKind::ConnectionReset
            ),
            "{err:?}"
        );
        // Reading now reports the reset (or EOF), and nothing panics.
        let mut buf = [0; 8];
        let _ = client.read(&mut buf).await;
        let _ = client.shutdown(Shutdown::Both).await;
    });
}

#[test]
fn writing_to_a_closed_unix_peer_is_an_error_not_sigpipe() {
    if !in_child("writing_to_a_closed_unix_peer_is_an_error_not_sigpipe") {
        return;
    }
    default_sigpipe();
    tinyloop::run(async {
        let (mut a, b) = UnixStream::pair().unwrap();
        drop(b);
        let err = write_until_error!(a);
        assert_eq!(err.kind(), ErrorKind::BrokenPipe, "{err:?}");
    });
}

#[test]
fn a_listener_out_of_fds_reports_emfile_and_recovers() {
    if !in_child("a_listener_out_of_fds_reports_emfile_and_recovers") {
        return;
    }
    tinyloop::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        // Two connections wait in the backlog (std's blocking connect completes the
        // handshake without an accept).
        let clients: Vec<_> = (0..2)
            .map(|_| std::net::TcpStream::connect(addr).unwrap())
            .collect();

        // Lower the fd limit, then use up every remaining descriptor.
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit/setrlimit write/read the plain struct we pass.
        assert_eq!(
            unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) },
            0
        );
        limit.rlim_cur = 256;
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) }, 0);
        let mut hogs = Vec::new();
        loop {
            match std::fs::File::open("/dev/null") {
                Ok(file) => hogs.push(file),
                Err(e) if e.raw_os_error() == Some(libc::EMFILE) => break,
                Err(e) => panic!("unexpected error while using up fds: {e}"),
            }
        }

        let err = listener.accept().await.unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EMFILE), "{err:?}");
        // Still out of fds: the same error again, not a hang.
        let err = listener.accept().await.unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EMFILE), "{err:?}");

        // Free some descriptors: the pending connections are accepted and served.
        hogs.truncate(hogs.len() - 8);
        for client in &clients {
            let (mut stream, peer) = tinyloop::timeout(Duration::from_secs(5), listener.accept())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(peer, client.local_addr().unwrap());
            stream.write_all(b"served").await.unwrap();
        }
        for mut client in clients {
            let mut buf = [0; 6];
            std::io::Read::read_exact(&mut client, &mut buf).unwrap();
            assert_eq!(&buf, b"served");
        }
    });
}

#[test]
fn unix_listener_reports_emfile_too() {
    if !in_child("unix_listener_reports_emfile_too") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("tinyloop-emfile-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("sock");
    tinyloop::run(async {
        let listener = UnixListener::bind(&path).unwrap();
        let _client = std::os::unix::net::UnixStream::connect(&path).unwrap();
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: as above.
        assert_eq!(
            unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) },
            0
        );
        limit.rlim_cur = 256;
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) }, 0);
        let mut hogs = Vec::new();
        while let Ok(file) = std::fs::File::open("/dev/null") {
            hogs.push(file);
        }
        let err = listener.accept().await.unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EMFILE), "{err:?}");
        hogs.pop();
        listener.accept().await.unwrap();
    });
    std::fs::remove_dir_all(&dir).unwrap();
}
