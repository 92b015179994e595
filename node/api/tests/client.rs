//! The RPC client against loopback servers that answer well, refuse, or answer with hostile or
//! broken HTTP: every failure is an error naming the URL, none panics, none reads without bound.

use std::net::SocketAddr;
use std::time::Duration;

use netwright_node_api::client::{ClientError, RpcClient};
use netwright_node_api::rpc::StatusView;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// Body limit of the clients under test.
const LIMIT: usize = 64 * 1024;

/// What the loopback server does with the one request it gets.
enum Script {
    /// Writes these bytes, then keeps the connection open until the client closes it.
    Answer(Vec<u8>),
    /// Writes the head, then repeats the piece until the client closes the connection.
    Endless { head: Vec<u8>, piece: Vec<u8> },
    /// Reads the request and never answers.
    Silent,
    /// Reads the request and closes the connection.
    Hangup,
}

/// Starts a server for one connection; the receiver gets the request head it read.
async fn serve(script: Script) -> (SocketAddr, oneshot::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (head_tx, head_rx) = oneshot::channel();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let head = read_head(&mut stream).await;
        let _ = head_tx.send(head);
        match script {
            Script::Answer(bytes) => {
                if stream.write_all(&bytes).await.is_ok() {
                    drain_until_closed(&mut stream).await;
                }
            }
            Script::Endless { head, piece } => {
                if stream.write_all(&head).await.is_ok() {
                    while stream.write_all(&piece).await.is_ok() {}
                }
            }
            Script::Silent => drain_until_closed(&mut stream).await,
            Script::Hangup => drop(stream),
        }
    });
    (addr, head_rx)
}

async fn read_head(stream: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

async fn drain_until_closed(stream: &mut TcpStream) {
    let mut buf = [0u8; 1024];
    while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
}

fn client(addr: SocketAddr) -> RpcClient {
    RpcClient::new(&format!("http://{addr}"))
        .unwrap()
        .with_timeout(Duration::from_secs(10))
        .with_max_body_bytes(LIMIT)
}

fn answer(head: &str, body: &[u8]) -> Vec<u8> {
    let mut bytes = head.as_bytes().to_vec();
    bytes.extend_from_slice(body);
    bytes
}

#[tokio::test]
async fn status_is_decoded_from_the_answer() {
    let body = br#"{"moniker":"n0","chain_id":"c","peer_id":"p","height":42,"latest_hash":"",
        "latest_time":"","round":0,"catching_up":false,"peers":3,"validator":null,"consensus":true}"#;
    let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
    let (addr, request) = serve(Script::Answer(answer(&head, body))).await;
    let status: StatusView = client(addr).status().await.unwrap();
    assert_eq!((status.height, status.peers), (42, 3));
    let request = request.await.unwrap();
    assert!(request.starts_with("GET /status HTTP/1.1\r\n"), "{request}");
}

#[tokio::test]
async fn a_refusal_names_the_url_the_status_and_the_reason() {
    let body = br#"{"error":"no committed block at height 9"}"#;
    let head = format!(
        "HTTP/1.1 404 Not Found\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let (addr, _) = serve(Script::Answer(answer(&head, body))).await;
    let err = client(addr).block(9).await.unwrap_err();
    assert!(
        matches!(&err, ClientError::Status { status: 404, reason, .. }
            if reason == "no committed block at height 9"),
        "{err:?}"
    );
    assert_eq!(err.status(), Some(404));
    let text = err.to_string();
    assert!(text.contains(&format!("http://{addr}/blocks/9")), "{text}");
    assert!(text.contains("404"), "{text}");
}

#[tokio::test]
async fn an_answer_that_is_not_the_expected_json_is_a_decode_error() {
    let (addr, _) = serve(Script::Answer(answer(
        "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n",
        b"not json",
    )))
    .await;
    let err = client(addr).validators().await.unwrap_err();
    assert!(
        matches!(err, ClientError::Decode { status: 200, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_chunk_size_of_all_ones_is_an_error_not_a_panic() {
    // The size does not fit a 64-bit count once the two bytes of the chunk's end are added.
    let (addr, _) = serve(Script::Endless {
        head: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n".to_vec(),
        piece: vec![b'a'; 4096],
    })
    .await;
    let err = client(addr).status().await.unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::TooLarge {
                status: 200,
                limit: LIMIT,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains(&format!("http://{addr}/status")),
        "{err}"
    );
}

#[tokio::test]
async fn a_chunk_size_beyond_64_bits_is_an_error() {
    let (addr, _) = serve(Script::Answer(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1ffffffffffffffff\r\nabc".to_vec(),
    ))
    .await;
    let err = client(addr).status().await.unwrap_err();
    assert!(matches!(err, ClientError::Transport { .. }), "{err:?}");
}

#[tokio::test]
async fn a_declared_length_above_the_limit_is_refused_before_reading() {
    let head = "HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n";
    let (addr, _) = serve(Script::Answer(answer(head, b"{"))).await;
    let err = client(addr).status().await.unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::TooLarge {
                status: 200,
                limit: LIMIT,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_declared_length_of_all_ones_is_an_error() {
    let head = "HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\n";
    let (addr, _) = serve(Script::Answer(answer(head, b"{"))).await;
    let err = client(addr).status().await.unwrap_err();
    assert!(matches!(err, ClientError::Transport { .. }), "{err:?}");
}

#[tokio::test]
async fn an_endless_chunked_body_is_cut_at_the_limit() {
    let (addr, _) = serve(Script::Endless {
        head: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec(),
        piece: b"400\r\n"
            .iter()
            .chain(&[b' '; 0x400])
            .chain(b"\r\n")
            .copied()
            .collect(),
    })
    .await;
    let err = client(addr).status().await.unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::TooLarge {
                status: 200,
                limit: LIMIT,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_endless_body_without_a_length_is_cut_at_the_limit() {
    let (addr, _) = serve(Script::Endless {
        head: b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".to_vec(),
        piece: vec![b' '; 4096],
    })
    .await;
    let err = client(addr).status().await.unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::TooLarge {
                status: 200,
                limit: LIMIT,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn no_answer_within_the_deadline_is_a_timeout() {
    let (addr, request) = serve(Script::Silent).await;
    let timeout = Duration::from_millis(300);
    let err = client(addr)
        .with_timeout(timeout)
        .status()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ClientError::Timeout { timeout: t, .. } if *t == timeout),
        "{err:?}"
    );
    assert!(request.await.unwrap().starts_with("GET /status"));
    assert!(err.to_string().contains("within 300 ms"), "{err}");
}

#[tokio::test]
async fn a_connection_closed_without_an_answer_is_a_transport_error() {
    let (addr, _) = serve(Script::Hangup).await;
    let err = client(addr).status().await.unwrap_err();
    assert!(matches!(err, ClientError::Transport { .. }), "{err:?}");
    assert_eq!(err.status(), None);
}

#[tokio::test]
async fn nothing_listening_is_a_transport_error_naming_the_url() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let err = client(addr).status().await.unwrap_err();
    assert!(matches!(err, ClientError::Transport { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&format!("http://{addr}/status")),
        "{err}"
    );
}

#[tokio::test]
async fn submit_and_wait_posts_the_transaction_as_hex() {
    let body = br#"{"hash":"ab","height":12}"#;
    let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
    let (addr, request) = serve(Script::Answer(answer(&head, body))).await;
    let outcome = client(addr)
        .submit_and_wait(&[0xde, 0xad], Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!((outcome.hash.as_str(), outcome.height), ("ab", Some(12)));
    let request = request.await.unwrap();
    assert!(
        request.starts_with("POST /txs?wait=commit HTTP/1.1\r\n"),
        "{request}"
    );
}

#[tokio::test]
async fn text_is_read_as_utf8_within_the_same_limits() {
    let body = b"netwright_txs_committed_total 7\n";
    let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
    let (addr, request) = serve(Script::Answer(answer(&head, body))).await;
    let text = client(addr).get_text("/metrics").await.unwrap();
    assert_eq!(text.as_bytes(), body);
    let request = request.await.unwrap();
    assert!(
        request.starts_with("GET /metrics HTTP/1.1\r\n"),
        "{request}"
    );

    let (addr, _) = serve(Script::Answer(answer(
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n",
        &[0xff, 0xfe],
    )))
    .await;
    let err = client(addr).get_text("/metrics").await.unwrap_err();
    assert!(
        matches!(&err, ClientError::Decode { status: 200, reason, .. } if reason.contains("UTF-8")),
        "{err:?}"
    );

    let (addr, _) = serve(Script::Endless {
        head: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec(),
        piece: b"400\r\n"
            .iter()
            .chain(&[b'#'; 0x400])
            .chain(b"\r\n")
            .copied()
            .collect(),
    })
    .await;
    let err = client(addr).get_text("/metrics").await.unwrap_err();
    assert!(
        matches!(err, ClientError::TooLarge { limit: LIMIT, .. }),
        "{err:?}"
    );
}
