//! The wire formats as real clients read them: the `openai` and `anthropic` Python packages
//! (pinned in `tests/sdks/requirements.txt`, installed from PyPI into a virtual environment
//! under the target directory on first run) call a loopback server that answers each of the
//! 12 codes in their API's format, as a whole response and as a stream's error event.
//!
//! Each code must raise the exception class a caller of that SDK expects, and the SDK must
//! retry exactly the codes that are retryable (each is called with one retry allowed and the
//! server counts the requests).

use llm_error_taxonomy::{Detail, ErrorCode, NormalizedError, WireFormat};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use strum::IntoEnumIterator;

/// The exception classes a caller expects, (OpenAI's, Anthropic's), for a whole response.
fn expected(code: ErrorCode) -> (&'static str, &'static str) {
    use ErrorCode::*;
    match code {
        InputValidationError | ContentModerationRejected | FileNotFound | FileFormatUnsupported => {
            ("BadRequestError", "BadRequestError")
        }
        // OpenAI's SDK has no class of its own for 402; what matters is that it is not retried.
        InsufficientBalance => ("APIStatusError", "PaymentRequiredError"),
        RateLimited => ("RateLimitError", "RateLimitError"),
        ModelOverloaded | ModelUnavailable | ServiceUnavailable => ("InternalServerError", "ServiceUnavailableError"),
        GenerationTimeout => ("InternalServerError", "GatewayTimeoutError"),
        GenerationFailed | InternalError => ("InternalServerError", "InternalServerError"),
    }
}

/// The error the server answers for `code`.
fn error_for(code: ErrorCode) -> NormalizedError {
    let err = NormalizedError::new(code)
        .with_message(&format!("{} from the gateway", code.as_str()))
        .with_request_id("req_1");
    if code == ErrorCode::InputValidationError {
        err.with_detail(Detail::new("INVALID_VALUE").with_field("messages"))
    } else {
        err
    }
}

fn format_of(sdk: &str) -> WireFormat {
    if sdk == "openai" { WireFormat::OpenAi } else { WireFormat::Anthropic }
}

/// One request's answer: `/SDK/CODE/MODE/...`.
fn answer(path: &str) -> Vec<u8> {
    let mut parts = path.trim_start_matches('/').split('/');
    let (sdk, code, mode) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let Ok(code) = code.parse::<ErrorCode>() else {
        return b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_vec();
    };
    let err = error_for(code);
    let format = format_of(sdk);
    if mode == "stream" {
        // A stream that has begun, then fails: the error goes out as the format's event.
        let first = if format == WireFormat::OpenAi {
            "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":0,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":null}]}\n\n"
        } else {
            "event: ping\ndata: {\"type\": \"ping\"}\n\n"
        };
        let body = format!("{first}{}", err.to_sse_event_in(format));
        return format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes();
    }
    let reply = err.to_http_response_in(format);
    let mut out = format!("HTTP/1.1 {}\r\n", reply.status()).into_bytes();
    for (name, value) in reply.headers() {
        out.extend_from_slice(format!("{name}: ").as_bytes());
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("content-length: {}\r\nconnection: close\r\n\r\n", reply.body().len()).as_bytes());
    out.extend_from_slice(reply.body());
    out
}

/// Reads one request and answers it; counts it under its path's first three segments.
fn serve(stream: TcpStream, hits: &Mutex<BTreeMap<String, usize>>) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let mut length = 0usize;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    let key: Vec<&str> = path.trim_start_matches('/').split('/').take(3).collect();
    *hits.lock().expect("lock").entry(key.join("/")).or_default() += 1;
    let mut stream = stream;
    let _ = stream.write_all(&answer(&path));
}

/// The virtual environment's Python with the pinned SDKs, made on first use.
fn sdk_python() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let requirements = std::fs::read_to_string(root.join("tests/sdks/requirements.txt")).expect("requirements");
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("sdk-venv");
    let python = venv.join("bin/python");
    let stamp = venv.join("installed.txt");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(requirements.as_str()) && python.exists() {
        return python;
    }
    let run = |cmd: &mut Command, what: &str| {
        let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(out.status.success(), "{what} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    };
    run(Command::new("python3").args(["-m", "venv", "--clear"]).arg(&venv), "python3 -m venv");
    run(
        Command::new(&python)
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r"])
            .arg(root.join("tests/sdks/requirements.txt")),
        "pip install -r tests/sdks/requirements.txt",
    );
    std::fs::write(&stamp, requirements).expect("stamp");
    python
}

#[test]
fn each_code_raises_the_class_its_clients_expect_and_is_retried_only_when_retryable() {
    let python = sdk_python();
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let port = listener.local_addr().expect("address").port();
    let hits: Arc<Mutex<BTreeMap<String, usize>>> = Arc::default();
    let counter = Arc::clone(&hits);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let counter = Arc::clone(&counter);
            std::thread::spawn(move || serve(stream, &counter));
        }
    });

    let cases: Vec<Value> = ["openai", "anthropic"]
        .iter()
        .flat_map(|sdk| {
            ErrorCode::iter().flat_map(move |code| {
                ["plain", "stream"].map(|mode| json!({"sdk": sdk, "code": code.as_str(), "mode": mode}))
            })
        })
        .collect();
    let mut child = Command::new(&python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdks/clients.py"))
        .arg(port.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python runs");
    child.stdin.take().expect("stdin").write_all(Value::from(cases.clone()).to_string().as_bytes()).expect("cases");
    let out = child.wait_with_output().expect("python finishes");
    assert!(out.status.success(), "clients.py failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let results: Vec<Value> = serde_json::from_slice(&out.stdout).expect("a JSON list");
    assert_eq!(results.len(), cases.len());

    let hits = hits.lock().expect("lock");
    for r in &results {
        let (sdk, mode) = (r["sdk"].as_str().expect("sdk"), r["mode"].as_str().expect("mode"));
        let code: ErrorCode = r["code"].as_str().expect("code").parse().expect("a code");
        let err = error_for(code);
        let raised = &r["raised"];
        let what = format!("{sdk} {code} {mode}: {raised}");
        assert!(raised.is_object(), "{what}: the SDK raised nothing");
        let requests = hits.get(&format!("{sdk}/{code}/{mode}")).copied().unwrap_or(0);
        let (openai, anthropic) = expected(code);
        match (sdk, mode) {
            ("openai", "plain") => {
                assert_eq!(raised["class"], openai, "{what}");
                assert_eq!(raised["status"], code.status_u16(), "{what}");
                // The SDK hands over `error`'s object.
                assert_eq!(raised["body"]["type"], code.openai_type(), "{what}");
                assert_eq!(raised["body"]["message"], err.message(), "{what}");
            }
            ("anthropic", "plain") => {
                assert_eq!(raised["class"], anthropic, "{what}");
                assert_eq!(raised["status"], code.status_u16(), "{what}");
                assert_eq!(raised["body"]["error"]["type"], code.anthropic_type(), "{what}");
                assert_eq!(raised["body"]["request_id"], "req_1", "{what}");
            }
            // A stream's error arrives after its 200: the SDKs raise their generic classes with
            // the format's body.
            ("openai", _) => {
                assert_eq!(raised["class"], "APIError", "{what}");
                assert_eq!(raised["body"]["code"], openai_code_of(&err), "{what}");
                assert_eq!(raised["message"], err.message(), "{what}");
            }
            _ => {
                assert_eq!(raised["class"], "APIStatusError", "{what}");
                assert_eq!(raised["body"]["error"]["type"], code.anthropic_type(), "{what}");
            }
        }
        let retried = mode == "plain" && code.is_retryable();
        assert_eq!(requests, if retried { 2 } else { 1 }, "{what}: requests made with one retry allowed");
    }
}

/// OpenAI's `code` for an error: its reason when it has one, else the code's.
fn openai_code_of(err: &NormalizedError) -> String {
    err.reason().map_or_else(|| err.code().openai_code().to_owned(), str::to_ascii_lowercase)
}
