//! `llm-errors`: normalize upstream LLM error responses from the command line.

use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use llm_error_taxonomy::docs::{self, Format};
use llm_error_taxonomy::{ErrorCode, NormalizedError, Normalizer, Style, redact};
use std::io::{self, BufRead, Write};
use std::process::ExitCode;
use std::str::FromStr;
use strum::IntoEnumIterator;

const USAGE: &str = "\
llm-errors: normalize upstream LLM error responses into 12 deterministic codes

usage:
  llm-errors normalize [--style S] [--status N] [--header 'Name: value']... [--pretty] [FILE|-]
  llm-errors normalize --jsonl [--pretty] [FILE|-]
  llm-errors codes [--json]
  llm-errors docs [--format markdown|json|openapi] [--out PATH]
  llm-errors --help | --version

normalize    reads one upstream response body from FILE (or standard input) and prints
             the normalized JSON envelope, or null when the response is no failure.
             --status is the upstream HTTP status (required); --style is a style from
             `llm-errors docs --format json` (openai, anthropic, bedrock, gemini, ...),
             detected from the response when absent. A stream (server-sent events,
             newline-delimited JSON or Amazon's binary event stream, known by its
             content-type or first bytes) is read event by event: its first error is
             printed, a stream that ends without its terminator is GENERATION_FAILED
             (STREAM_DROPPED), and one that completed prints null. A 2xx body prints
             null unless it reports a failure (a blocked prompt, an error envelope).
             Input is read in pieces: a stream up to its first error, a body no further
             than 1 MiB and a byte (past which it is classified by its status).
--jsonl      reads one case per line, {\"style\": S, \"status\": N, \"headers\": {..},
             \"body\": \"<raw text>\"} or \"body_base64\" for a binary body (style and
             headers optional), and prints one result per line; a bad line (one over
             4 MiB and 64 KiB among them) is reported on standard error and the rest
             still run.
codes        prints the 12-code table.
docs         prints the error documentation rendered from the tables: the Markdown page
             (docs/errors.md, the default), the whole taxonomy as JSON, or OpenAPI 3.1
             components; --out PATH writes it to PATH instead.

exit status: 0 on success, 1 when an input could not be read or a --jsonl line was bad,
2 on bad arguments.";

/// A problem worth one line on standard error, with its exit status.
struct Failure {
    message: String,
    status: u8,
}

impl Failure {
    fn usage(message: impl Into<String>) -> Self {
        Failure { message: message.into(), status: 2 }
    }

    fn input(message: impl Into<String>) -> Self {
        Failure { message: message.into(), status: 1 }
    }
}

/// A complaint for standard error, which may quote its input and so a key, in Rust's debug
/// escapes (`\u{ad}` inside it, `\\u0022` before it): invisible characters are dropped and
/// doubled backslashes made single, so that `redact` sees the key whole.
fn for_stderr(message: &str) -> String {
    let mut plain = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find('\\') {
        plain.push_str(&rest[..at]);
        let tail = &rest[at..];
        let escaped = tail.strip_prefix("\\u{").and_then(|t| {
            let (hex, _) = t.split_once('}')?;
            let c = char::from_u32(u32::from_str_radix(hex, 16).ok()?)?;
            Some((c, 4 + hex.len()))
        });
        match escaped {
            // An invisible character, written out: dropped, as emitted text drops it.
            Some((c, len)) if !c.is_control() && redact(&c.to_string()).is_empty() => rest = &tail[len..],
            _ if tail.starts_with("\\\\") => {
                plain.push('\\');
                rest = &tail[2..];
            }
            _ => {
                plain.push('\\');
                rest = &tail[1..];
            }
        }
    }
    plain.push_str(rest);
    redact(&plain).into_owned()
}

fn main() -> ExitCode {
    let args: Result<Vec<String>, Failure> = std::env::args_os()
        .skip(1)
        .map(|a| {
            a.into_string()
                .map_err(|a| Failure::usage(format!("argument {:?} is not valid UTF-8", a.to_string_lossy())))
        })
        .collect();
    match args.and_then(|args| run(&args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("llm-errors: {}", for_stderr(&f.message));
            ExitCode::from(f.status)
        }
    }
}

fn run(args: &[String]) -> Result<(), Failure> {
    let Some((command, rest)) = args.split_first() else {
        return Err(Failure::usage("missing command (try 'llm-errors --help')"));
    };
    match command.as_str() {
        "normalize" => normalize_command(rest),
        "codes" => codes_command(rest),
        "docs" => docs_command(rest),
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            Ok(())
        }
        "-V" | "--version" => {
            println!("llm-errors {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        other => Err(Failure::usage(format!("unknown command {other:?} (try 'llm-errors --help')"))),
    }
}

fn parse_style(s: &str) -> Result<Style, Failure> {
    Style::from_str(s).map_err(|_| {
        let names: Vec<&str> = Style::iter().map(Style::as_str).collect();
        Failure::usage(format!("unknown style {s:?}; expected one of: {}", names.join(", ")))
    })
}

fn parse_status(s: &str) -> Result<StatusCode, String> {
    s.parse::<u16>()
        .ok()
        .and_then(|n| StatusCode::from_u16(n).ok())
        .ok_or_else(|| format!("status {s:?} is not an HTTP status (100-999)"))
}

fn parse_header(s: &str) -> Result<(HeaderName, HeaderValue), String> {
    let (name, value) = s.split_once(':').ok_or_else(|| format!("header {s:?} is not 'Name: value'"))?;
    let name = HeaderName::from_bytes(name.trim().as_bytes())
        .map_err(|_| format!("header name {:?} is not valid", name.trim()))?;
    let value = HeaderValue::from_str(value.trim()).map_err(|_| format!("header value for {name} is not valid"))?;
    Ok((name, value))
}

fn value_of<'a>(flag: &str, it: &mut impl Iterator<Item = &'a String>) -> Result<&'a str, Failure> {
    it.next().map(String::as_str).ok_or_else(|| Failure::usage(format!("{flag} needs a value")))
}

/// The upstream response of `normalize`, from FILE or standard input, read in pieces (see
/// [`Normalizer::inspect_reader`]): a stream up to its first error, a body no further than the
/// library reads one, so that memory stays bounded whatever the input's size.
fn inspect_input(
    normalizer: &Normalizer,
    style: Option<Style>,
    status: StatusCode,
    headers: &HeaderMap,
    path: Option<&str>,
) -> Result<Option<NormalizedError>, Failure> {
    match path {
        None | Some("-") => normalizer
            .inspect_reader(style, status, headers, io::stdin().lock())
            .map_err(|e| Failure::input(format!("cannot read standard input: {e}"))),
        Some(p) => {
            let file = std::fs::File::open(p).map_err(|e| Failure::input(format!("cannot read {p}: {e}")))?;
            normalizer
                .inspect_reader(style, status, headers, io::BufReader::new(file))
                .map_err(|e| Failure::input(format!("cannot read {p}: {e}")))
        }
    }
}

fn to_json(err: &NormalizedError, pretty: bool) -> String {
    if pretty { serde_json::to_string_pretty(err).unwrap_or_else(|_| err.to_json()) } else { err.to_json() }
}

/// The output for one input: the envelope, or `null` for a stream that completed.
fn result_json(err: Option<NormalizedError>, pretty: bool) -> String {
    err.map_or_else(|| "null".to_owned(), |e| to_json(&e, pretty))
}

fn write_out(text: &str) -> Result<(), Failure> {
    let mut out = io::stdout().lock();
    match writeln!(out, "{text}") {
        // A closed pipe (`| head`) is not an error worth reporting.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other.map_err(|e| Failure::input(format!("cannot write output: {e}"))),
    }
}

fn normalize_command(args: &[String]) -> Result<(), Failure> {
    let mut style = None;
    let mut status = None;
    let mut headers = HeaderMap::new();
    let mut jsonl = false;
    let mut pretty = false;
    let mut file = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--style" => style = Some(parse_style(value_of("--style", &mut it)?)?),
            "--status" => status = Some(parse_status(value_of("--status", &mut it)?).map_err(Failure::usage)?),
            "--header" | "-H" => {
                let (name, value) = parse_header(value_of("--header", &mut it)?).map_err(Failure::usage)?;
                headers.append(name, value);
            }
            "--jsonl" => jsonl = true,
            "--pretty" => pretty = true,
            "-" => file = Some("-"),
            flag if flag.starts_with('-') => return Err(Failure::usage(format!("unknown option {flag:?}"))),
            path if file.is_none() => file = Some(path),
            extra => return Err(Failure::usage(format!("unexpected argument {extra:?}: give one FILE"))),
        }
    }
    let normalizer = Normalizer::new();
    if jsonl {
        if style.is_some() || status.is_some() || !headers.is_empty() {
            return Err(Failure::usage("--jsonl takes style, status and headers from each line, not from options"));
        }
        return jsonl_command(&normalizer, file, pretty);
    }
    let status = status.ok_or_else(|| Failure::usage("missing --status N (the upstream HTTP status)"))?;
    write_out(&result_json(inspect_input(&normalizer, style, status, &headers, file)?, pretty))
}

/// One `--jsonl` case.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    #[serde(default)]
    style: Option<String>,
    status: u16,
    #[serde(default)]
    headers: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    body: Option<serde_json::Value>,
    /// A binary body (an event stream), base64-encoded.
    #[serde(default)]
    body_base64: Option<String>,
}

/// Standard or URL-safe base64, padded or not; `None` for anything else.
fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' | b'-' => Some(62),
        b'/' | b'_' => Some(63),
        _ => None,
    };
    let digits: Vec<u8> = s.trim().trim_end_matches('=').bytes().map(digit).collect::<Option<_>>()?;
    if digits.len() % 4 == 1 {
        return None;
    }
    Some(
        digits
            .chunks(4)
            .flat_map(|c| {
                let n = c.iter().fold(0u32, |n, &d| n << 6 | u32::from(d)) << (6 * (4 - c.len()));
                n.to_be_bytes()[1..c.len()].to_vec()
            })
            .collect(),
    )
}

fn parse_case(line: &str) -> Result<(Option<Style>, StatusCode, HeaderMap, Vec<u8>), String> {
    let case: Case = serde_json::from_str(line).map_err(|e| format!("not a case: {e}"))?;
    let style = case.style.as_deref().map(|s| parse_style(s).map_err(|f| f.message)).transpose()?;
    let status = StatusCode::from_u16(case.status)
        .map_err(|_| format!("status {} is not an HTTP status (100-999)", case.status))?;
    let mut headers = HeaderMap::new();
    for (name, value) in &case.headers {
        let (n, v) = parse_header(&format!("{name}: {value}"))?;
        headers.append(n, v);
    }
    let body = match (case.body, case.body_base64) {
        (Some(b), Some(_)) if !b.is_null() => return Err("give \"body\" or \"body_base64\", not both".to_owned()),
        (_, Some(b64)) => decode_base64(&b64).ok_or("\"body_base64\" is not base64")?,
        (None | Some(serde_json::Value::Null), None) => Vec::new(),
        (Some(serde_json::Value::String(s)), None) => s.into_bytes(),
        (Some(other), None) => other.to_string().into_bytes(),
    };
    Ok((style, status, headers, body))
}

/// The longest `--jsonl` line: room for a body of the library's size limit four times over
/// (escaped or base64-encoded), and its style, status and headers.
fn max_line_bytes(normalizer: &Normalizer) -> usize {
    normalizer.limits().max_body_bytes.saturating_mul(4).saturating_add(64 * 1024)
}

/// Reads the next line of `reader` (without its newline) into `line`, keeping at most `max`
/// bytes: `None` at the end of the input, else the line's whole length, which is over `max`
/// for a line that was cut (the rest of it is read and dropped).
fn read_line(reader: &mut dyn BufRead, line: &mut Vec<u8>, max: usize) -> io::Result<Option<usize>> {
    line.clear();
    let mut len = 0usize;
    let mut any = false;
    loop {
        let buf = match reader.fill_buf() {
            Ok(buf) => buf,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            return Ok(any.then_some(len));
        }
        any = true;
        let (piece, end) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (&buf[..i], Some(i + 1)),
            None => (buf, None),
        };
        let keep = piece.len().min(max.saturating_sub(line.len()));
        line.extend_from_slice(&piece[..keep]);
        len = len.saturating_add(piece.len());
        let used = end.unwrap_or(buf.len());
        reader.consume(used);
        if end.is_some() {
            return Ok(Some(len));
        }
    }
}

fn jsonl_command(normalizer: &Normalizer, file: Option<&str>, pretty: bool) -> Result<(), Failure> {
    let mut reader: Box<dyn BufRead> = match file {
        None | Some("-") => Box::new(io::stdin().lock()),
        Some(p) => Box::new(io::BufReader::new(
            std::fs::File::open(p).map_err(|e| Failure::input(format!("cannot read {p}: {e}")))?,
        )),
    };
    let max = max_line_bytes(normalizer);
    let mut bad = 0usize;
    let mut line = Vec::new();
    for line_no in 1.. {
        let Some(len) = read_line(&mut reader, &mut line, max)
            .map_err(|e| Failure::input(format!("cannot read line {line_no}: {e}")))?
        else {
            break;
        };
        if len > max {
            eprintln!("llm-errors: line {line_no}: {len} bytes, over the limit of {max}");
            bad += 1;
            continue;
        }
        let Ok(text) = std::str::from_utf8(&line) else {
            eprintln!("llm-errors: line {line_no}: not UTF-8");
            bad += 1;
            continue;
        };
        if text.trim().is_empty() {
            continue;
        }
        match parse_case(text) {
            Ok((style, status, headers, body)) => {
                write_out(&result_json(normalizer.inspect(style, status, &headers, &body), pretty))?
            }
            Err(problem) => {
                eprintln!("llm-errors: line {line_no}: {}", for_stderr(&problem));
                bad += 1;
            }
        }
    }
    if bad > 0 { Err(Failure::input(format!("{bad} bad line(s) skipped"))) } else { Ok(()) }
}

fn codes_command(args: &[String]) -> Result<(), Failure> {
    let json = match args {
        [] => false,
        [flag] if flag == "--json" => true,
        [other, ..] => return Err(Failure::usage(format!("unexpected argument {other:?} for codes"))),
    };
    if json {
        let rows: Vec<serde_json::Value> = ErrorCode::iter()
            .map(|c| {
                serde_json::json!({
                    "code": c.as_str(), "status": c.status_u16(), "retryable": c.is_retryable(),
                    "description": c.description(), "action": c.action(),
                })
            })
            .collect();
        return write_out(&serde_json::to_string_pretty(&rows).unwrap_or_default());
    }
    let width = ErrorCode::iter().map(|c| c.as_str().len()).max().unwrap_or(0);
    let mut text = format!("{:width$}  STATUS  RETRYABLE  DESCRIPTION\n", "CODE");
    for c in ErrorCode::iter() {
        text.push_str(&format!(
            "{:width$}  {:<6}  {:<9}  {}\n",
            c.as_str(),
            c.status_u16(),
            if c.is_retryable() { "yes" } else { "no" },
            c.description()
        ));
    }
    write_out(text.trim_end())
}

fn docs_command(args: &[String]) -> Result<(), Failure> {
    let mut format = Format::Markdown;
    let mut out = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--format" | "-f" => {
                let name = value_of("--format", &mut it)?;
                format = Format::from_str(name).map_err(|_| {
                    let names: Vec<&str> = Format::iter().map(Format::as_str).collect();
                    Failure::usage(format!("unknown format {name:?}; expected one of: {}", names.join(", ")))
                })?;
            }
            "--out" | "-o" => out = Some(value_of("--out", &mut it)?),
            other => return Err(Failure::usage(format!("unexpected argument {other:?} for docs"))),
        }
    }
    let text = docs::render(format);
    match out {
        Some(path) => std::fs::write(path, text).map_err(|e| Failure::input(format!("cannot write {path}: {e}"))),
        None => write_out(text.strip_suffix('\n').unwrap_or(text)),
    }
}
