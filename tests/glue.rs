//! The integrations in a real gateway shape, on 127.0.0.1: an axum handler that returns the
//! error, a streaming proxy that forwards an upstream through `ForwardStream`, and reqwest's
//! failures and responses read by the crate (features `axum`, `futures`, `reqwest`).

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use futures_util::StreamExt;
use http::{HeaderMap, StatusCode};
use llm_error_taxonomy::{
    ErrorCode, ForwardStream, NormalizedError, Normalizer, StreamOutcome, TransportFailure, WireFormat, normalize,
};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// Serves `app` on a free loopback port; its base URL.
async fn serve(app: Router) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serves") });
    format!("http://{addr}")
}

const OVERLOADED: &[u8] = br#"{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}"#;

fn upstream_error() -> NormalizedError {
    normalize(None, StatusCode::from_u16(529).expect("status"), &HeaderMap::new(), OVERLOADED)
}

#[tokio::test]
async fn an_axum_handler_returns_the_error_in_each_format() {
    let app = Router::new()
        .route("/envelope", get(|| async { upstream_error() }))
        .route("/openai", get(|| async { upstream_error().in_format(WireFormat::OpenAi) }))
        .route("/anthropic", get(|| async { upstream_error().in_format(WireFormat::Anthropic) }));
    let base = serve(app).await;
    let client = reqwest::Client::new();
    let err = upstream_error();
    for (path, format) in
        [("envelope", WireFormat::ModelRoute), ("openai", WireFormat::OpenAi), ("anthropic", WireFormat::Anthropic)]
    {
        let reply = client.get(format!("{base}/{path}")).send().await.expect("a response");
        let want = err.to_http_response_in(format);
        assert_eq!(reply.status(), want.status(), "{path}");
        assert_eq!(reply.headers()["content-type"], want.headers()["content-type"], "{path}");
        assert_eq!(reply.headers()["x-should-retry"], "true", "{path}: MODEL_OVERLOADED is retryable");
        assert_eq!(reply.bytes().await.expect("body"), want.body().as_slice(), "{path}");
    }
}

/// An upstream that streams two content events, waits to be told to go on, then sends `tail`.
fn upstream(tail: &'static [u8], go_on: Arc<Notify>) -> Router {
    Router::new().route(
        "/v1/chat/completions",
        get(move || {
            let go_on = Arc::clone(&go_on);
            async move {
                let first = Bytes::from_static(b"data: {\"choices\": [{\"delta\": {\"content\": \"Hel\"}}]}\n\n");
                // The second event arrives split across two chunks.
                let second_a = Bytes::from_static(b"data: {\"choices\": [{\"delta\": {\"con");
                let second_b = Bytes::from_static(b"tent\": \"lo\"}}]}\n\n");
                let chunks = futures_util::stream::iter([first, second_a, second_b])
                    .chain(futures_util::stream::once(async move {
                        go_on.notified().await;
                        Bytes::from_static(tail)
                    }))
                    .map(Ok::<_, std::io::Error>);
                ([("content-type", "text/event-stream")], Body::from_stream(chunks))
            }
        }),
    )
}

/// A proxy in front of `upstream_base` that forwards its stream to OpenAI clients.
fn proxy(upstream_base: String, outcome: Arc<Mutex<Option<StreamOutcome>>>) -> Router {
    async fn handler(State((base, slot)): State<(String, Arc<Mutex<Option<StreamOutcome>>>)>) -> Response {
        let upstream = reqwest::get(format!("{base}/v1/chat/completions")).await.expect("upstream answers");
        let (status, headers) = (upstream.status(), upstream.headers().clone());
        let forward =
            ForwardStream::new(None, status, &headers, upstream.bytes_stream()).with_format(WireFormat::OpenAi);
        *slot.lock().expect("lock") = Some(forward.outcome());
        ([("content-type", "text/event-stream")], Body::from_stream(forward)).into_response()
    }
    Router::new().route("/v1/chat/completions", get(handler)).with_state((upstream_base, outcome))
}

/// What the client of the proxy gets: every chunk, the first read before the upstream goes on.
async fn through_proxy(tail: &'static [u8]) -> (String, String, StreamOutcome) {
    let go_on = Arc::new(Notify::new());
    let upstream_base = serve(upstream(tail, Arc::clone(&go_on))).await;
    let slot = Arc::new(Mutex::new(None));
    let proxy_base = serve(proxy(upstream_base, Arc::clone(&slot))).await;
    let reply = reqwest::get(format!("{proxy_base}/v1/chat/completions")).await.expect("the proxy answers");
    assert_eq!(reply.status(), 200);
    let mut body = reply.bytes_stream();
    // Output is forwarded as it arrives: the first events reach the client while the upstream
    // still waits.
    let mut early = Vec::new();
    while !early.ends_with(b"lo\"}}]}\n\n") {
        let chunk = tokio::time::timeout(Duration::from_secs(10), body.next()).await.expect("no stall");
        early.extend_from_slice(&chunk.expect("a chunk").expect("bytes"));
    }
    go_on.notify_one();
    let mut rest = Vec::new();
    while let Some(chunk) = body.next().await {
        rest.extend_from_slice(&chunk.expect("bytes"));
    }
    let outcome = slot.lock().expect("lock").clone().expect("the proxy kept the outcome");
    (String::from_utf8(early).expect("UTF-8"), String::from_utf8(rest).expect("UTF-8"), outcome)
}

#[tokio::test]
async fn a_streaming_proxy_never_forwards_the_upstreams_error_frame() {
    let upstream_frame: &'static [u8] =
        b"data: {\"error\": {\"message\": \"The server had an error while processing your request\", \"type\": \"server_error\"}}\n\n";
    let (early, rest, outcome) = through_proxy(upstream_frame).await;
    assert_eq!(
        early,
        "data: {\"choices\": [{\"delta\": {\"content\": \"Hel\"}}]}\n\ndata: {\"choices\": [{\"delta\": {\"content\": \"lo\"}}]}\n\n",
        "the upstream's events, byte for byte"
    );
    let failed = outcome.error().expect("the stream failed");
    assert_eq!(failed.error().code(), ErrorCode::GenerationFailed);
    assert!(failed.partial_output(), "output had gone out");
    assert_eq!(outcome.forwarded_bytes(), early.len() as u64);
    assert!(!rest.contains("\"type\": \"server_error\""), "not the upstream's frame: {rest}");
    assert_eq!(rest, failed.error().to_sse_event_in(WireFormat::OpenAi), "the crate's frame ends the stream");
}

#[tokio::test]
async fn a_stream_that_drops_ends_with_the_crates_frame_and_one_that_completes_does_not() {
    let (_, rest, outcome) = through_proxy(b"data: {\"choices\": [{\"delta\": {\"content\": \"!\"}}]}\n\n").await;
    let dropped = outcome.error().expect("no [DONE]: dropped");
    assert_eq!(dropped.error().reason(), Some("STREAM_DROPPED"));
    assert!(rest.starts_with("data: {\"choices\": [{\"delta\": {\"content\": \"!\"}}]}\n\n"), "{rest}");
    assert!(rest.ends_with(&dropped.error().to_sse_event_in(WireFormat::OpenAi)), "{rest}");

    let (_, rest, outcome) = through_proxy(b"data: [DONE]\n\n").await;
    assert!(outcome.error().is_none() && outcome.is_finished());
    assert_eq!(rest, "data: [DONE]\n\n");
}

/// A server that accepts connections and answers each with `answer` (or nothing), then closes.
async fn raw_server(answer: &'static [u8], hold: Duration) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request).await;
                let _ = socket.write_all(answer).await;
                tokio::time::sleep(hold).await;
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn reqwest_failures_become_transport_failures() {
    // Nothing listens on a port just given back.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
        listener.local_addr().expect("address")
    };
    let e = reqwest::get(format!("http://{closed}/")).await.expect_err("refused");
    assert_eq!(TransportFailure::from(&e), TransportFailure::ConnectionRefused, "{e:?}");

    // A server that takes the request and says nothing.
    let silent = raw_server(b"", Duration::from_secs(5)).await;
    let client = reqwest::Client::builder().timeout(Duration::from_millis(300)).build().expect("client");
    let e = client.get(&silent).send().await.expect_err("timed out");
    assert_eq!(TransportFailure::from(&e), TransportFailure::TimeoutBeforeHeaders, "{e:?}");

    // A server that closes before answering.
    let closing = raw_server(b"", Duration::ZERO).await;
    let e = reqwest::get(&closing).await.expect_err("closed");
    assert_eq!(TransportFailure::from(&e), TransportFailure::ResetBeforeHeaders, "{e:?}");

    // A body cut short of its length.
    let short = raw_server(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{\"id\": ", Duration::ZERO).await;
    let reply = reqwest::get(&short).await.expect("headers");
    let e = reply.bytes().await.expect_err("cut short");
    assert_eq!(TransportFailure::from(&e), TransportFailure::BodyCutShort, "{e:?}");
}

#[tokio::test]
async fn inspect_reqwest_reads_a_response_as_far_as_it_needs() {
    let normalizer = Normalizer::new();
    // An error body.
    let answer = b"HTTP/1.1 529 Site Overloaded\r\ncontent-type: application/json\r\ncontent-length: 81\r\n\r\n{\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\", \"message\": \"Overloaded\"}}";
    let base = raw_server(answer, Duration::ZERO).await;
    let err = normalizer.inspect_reqwest(None, reqwest::get(&base).await.expect("a response")).await;
    assert_eq!(err, Some(upstream_error()));

    // A stream whose error is read chunk by chunk, and one that completes.
    let stream = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\nevent: error\ndata: {\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\", \"message\": \"Overloaded\"}}\n\n";
    let base = raw_server(stream, Duration::ZERO).await;
    let err = normalizer.inspect_reqwest(None, reqwest::get(&base).await.expect("a response")).await;
    assert_eq!(err.map(|e| e.code()), Some(ErrorCode::ModelOverloaded));
    let done = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\ndata: {\"choices\": []}\n\ndata: [DONE]\n\n";
    let base = raw_server(done, Duration::ZERO).await;
    assert_eq!(normalizer.inspect_reqwest(None, reqwest::get(&base).await.expect("a response")).await, None);

    // A success body cut short is the transport failure.
    let short = raw_server(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{\"id\": ", Duration::ZERO).await;
    let err = normalizer.inspect_reqwest(None, reqwest::get(&short).await.expect("headers")).await;
    assert_eq!(err.as_ref().and_then(|e| e.reason()), Some("STREAM_DROPPED"), "{err:?}");

    // A 16 MiB error body is classified by its status without being read to the end.
    let app = Router::new().route(
        "/",
        get(|| async {
            let chunks =
                futures_util::stream::repeat(Bytes::from(vec![b'x'; 64 * 1024])).take(256).map(Ok::<_, std::io::Error>);
            (StatusCode::TOO_MANY_REQUESTS, Body::from_stream(chunks))
        }),
    );
    let base = serve(app).await;
    let err = normalizer.inspect_reqwest(None, reqwest::get(&base).await.expect("a response")).await;
    assert_eq!(err.map(|e| e.code()), Some(ErrorCode::RateLimited));
}

/// What a gateway holds after reading an upstream's body with reqwest: the status, the headers
/// and `Bytes`, as a triple or as an `http::Response<Bytes>`.
#[tokio::test]
async fn a_response_read_into_bytes_is_an_input() {
    let answer = b"HTTP/1.1 529 Site Overloaded\r\ncontent-type: application/json\r\ncontent-length: 81\r\n\r\n{\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\", \"message\": \"Overloaded\"}}";
    let base = raw_server(answer, Duration::ZERO).await;
    let response = reqwest::get(&base).await.expect("a response");
    let (status, headers) = (response.status(), response.headers().clone());
    let body: Bytes = response.bytes().await.expect("the body");
    let from_triple = llm_error_taxonomy::normalize_response(None, (status, &headers, &body));
    assert_eq!(from_triple, upstream_error());
    let mut whole = http::Response::new(body);
    *whole.status_mut() = status;
    *whole.headers_mut() = headers;
    assert_eq!(llm_error_taxonomy::normalize_response(None, &whole), from_triple);
}
