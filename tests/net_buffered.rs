//! `io::BufReader` / `io::BufWriter` over sockets (asyncio's `StreamReader` tests in
//! `test_streams.py`: readline, readuntil, readexactly, data split across feeds).

use std::io::ErrorKind;
use std::net::Shutdown;
use std::time::Duration;

use tinyloop::io::{BufReader, BufWriter};
use tinyloop::net::{TcpListener, TcpStream, UnixStream};

/// A connected TCP pair on localhost.
async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (server, _) = listener.accept().await.unwrap();
    (client, server)
}

/// Sends `pieces` with a pause between them, so each arrives as its own packet.
fn send_in_pieces(mut stream: TcpStream, pieces: &'static [&'static [u8]]) -> tinyloop::Task<()> {
    stream.set_nodelay(true).unwrap();
    tinyloop::spawn(async move {
        for piece in pieces {
            stream.write_all(piece).await.unwrap();
            tinyloop::sleep(Duration::from_millis(3)).await;
        }
        stream.shutdown(Shutdown::Write).await.unwrap();
    })
}

#[test]
fn lines_split_across_packets() {
    tinyloop::run(async {
        let (client, server) = tcp_pair().await;
        let sender = send_in_pieces(client, &[b"hel", b"lo\nwor", b"ld\n", b"\nlast"]);
        let mut reader = BufReader::new(server);
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).await.unwrap() == 0 {
                break;
            }
            lines.push(line);
        }
        assert_eq!(lines, ["hello\n", "world\n", "\n", "last"]);
        sender.await.unwrap();
    });
}

#[test]
fn read_until_and_read_exact_share_the_buffer() {
    tinyloop::run(async {
        let (client, server) = tcp_pair().await;
        let sender = send_in_pieces(client, &[b"GET /x", b" HTTP/1.1\r\n\r\n12", b"345tail"]);
        let mut reader = BufReader::with_capacity(4, server); // forces growth
        let mut head = Vec::new();
        reader.read_until(b'\n', &mut head).await.unwrap();
        assert_eq!(head, b"GET /x HTTP/1.1\r\n");
        head.clear();
        reader.read_until(b'\n', &mut head).await.unwrap();
        assert_eq!(head, b"\r\n");
        let mut body = [0; 5];
        reader.read_exact(&mut body).await.unwrap();
        assert_eq!(&body, b"12345");
        let mut rest = [0; 10];
        let err = reader.read_exact(&mut rest).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnexpectedEof);
        assert_eq!(
            reader.buffer(),
            b"tail",
            "bytes short of a read_exact stay buffered"
        );
        let mut tail = Vec::new();
        assert_eq!(reader.read_until(b'\n', &mut tail).await.unwrap(), 4);
        assert_eq!(reader.read_until(b'\n', &mut tail).await.unwrap(), 0);
        sender.await.unwrap();
    });
}

#[test]
fn a_cancelled_read_line_loses_nothing() {
    tinyloop::run(async {
        let (mut client, server) = tcp_pair().await;
        let mut reader = BufReader::new(server);
        client.write_all(b"partial ").await.unwrap();
        let mut line = String::new();
        let res = tinyloop::timeout(Duration::from_millis(20), reader.read_line(&mut line)).await;
        assert!(res.is_err(), "no newline yet: the read must time out");
        assert!(
            line.is_empty(),
            "nothing is handed out before the line is complete"
        );
        client.write_all(b"line\n").await.unwrap();
        reader.read_line(&mut line).await.unwrap();
        assert_eq!(line, "partial line\n");
    });
}

#[test]
fn invalid_utf8_stays_buffered() {
    tinyloop::run(async {
        let (mut a, b) = UnixStream::pair().unwrap();
        a.write_all(b"\xff\xfe\n").await.unwrap();
        let mut reader = BufReader::new(b);
        let mut line = String::new();
        let err = reader.read_line(&mut line).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidData);
        let mut raw = Vec::new();
        reader.read_until(b'\n', &mut raw).await.unwrap();
        assert_eq!(raw, b"\xff\xfe\n");
    });
}

#[test]
fn buffered_writer_batches_and_flushes() {
    tinyloop::run(async {
        let (client, mut server) = tcp_pair().await;
        let mut writer = BufWriter::with_capacity(1024, client);
        for i in 0..100 {
            writer
                .write_all(format!("{i:03}\n").as_bytes())
                .await
                .unwrap();
        }
        // 400 bytes fit in the buffer: nothing has been sent yet.
        assert_eq!(writer.buffer().len(), 400);
        writer.flush().await.unwrap();
        assert!(writer.buffer().is_empty());
        // A write larger than the buffer goes straight through.
        writer.write_all(&[b'x'; 5000]).await.unwrap();
        writer.close().await.unwrap();
        let mut all = Vec::new();
        let mut buf = [0; 4096];
        loop {
            match server.read(&mut buf).await.unwrap() {
                0 => break,
                n => all.extend_from_slice(&buf[..n]),
            }
        }
        assert_eq!(all.len(), 5400);
        assert!(all.starts_with(b"000\n001\n"));
        let (stream, unsent) = writer.into_parts();
        assert!(unsent.is_empty());
        drop(stream);
    });
}

#[test]
fn reader_over_a_read_half_writer_over_a_write_half() {
    tinyloop::run(async {
        let (client, server) = tcp_pair().await;
        let (rd, wr) = server.into_split();
        let echo = tinyloop::spawn(async move {
            let mut reader = BufReader::new(rd);
            let mut writer = BufWriter::new(wr);
            let mut line = String::new();
            while reader.read_line(&mut line).await.unwrap() != 0 {
                writer
                    .write_all(line.to_uppercase().as_bytes())
                    .await
                    .unwrap();
                writer.flush().await.unwrap();
                line.clear();
            }
        });
        let mut client = BufReader::new(client);
        client.get_mut().write_all(b"one\ntwo\n").await.unwrap();
        let mut line = String::new();
        client.read_line(&mut line).await.unwrap();
        client.read_line(&mut line).await.unwrap();
        assert_eq!(line, "ONE\nTWO\n");
        client.get_mut().shutdown(Shutdown::Write).await.unwrap();
        echo.await.unwrap();
    });
}
