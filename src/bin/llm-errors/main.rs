//! `llm-errors`: normalize upstream LLM error responses from the command line.

use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use llm_error_taxonomy::docs::{self, Format, Page, Section};
use llm_error_taxonomy::{ErrorCode, NormalizedError, Normalizer, Style, WireFormat, redact};
use serde::Serialize;
use std::io::{self, BufRead, Write};
use std::process::ExitCode;
use std::str::FromStr;
use strum::IntoEnumIterator;

mod args;
mod stats;

use args::{Arg, Args};

const USAGE: &str = "\
llm-errors: normalize upstream LLM error responses into 12 deterministic codes

usage: llm-errors COMMAND [OPTIONS]

commands:
  normalize    normalize one upstream response, or a JSONL log of them
  stats        count a JSONL log's errors by style and code
  codes        print the 12-code table
  styles       print the upstream error styles the tables know
  docs         print the error documentation rendered from the tables
  help         print a command's help (also: llm-errors COMMAND --help)

Options take their value as the next argument or after '=' (--status=429).
exit status: 0 on success, 1 when an input could not be read or a line was bad,
2 on bad arguments.";

const NORMALIZE_HELP: &str = "\
usage:
  llm-errors normalize --status N [--style S] [--header 'Name: value']... [OUTPUT] [FILE|-]
  llm-errors normalize --jsonl [OUTPUT] [FILE|-]
OUTPUT: [--format modelroute|openai|anthropic|gemini|problem] [--explain] [--pretty]

normalize    reads one upstream response body from FILE (or standard input) and prints
             the normalized JSON envelope, or null when the response is no failure.
             --status is the upstream HTTP status (required); --style is a style from
             `llm-errors styles` (openai, anthropic, bedrock, gemini, ...),
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
             headers optional), and prints exactly one line per input line: the result,
             or {\"problem\": {\"line\": N, \"message\": ..}} for a bad line (one over
             4 MiB and 64 KiB among them, an empty one), whose message also goes to
             standard error; the rest still run.
--format     the body a client of that API would get: the crate's envelope (modelroute,
             the default), OpenAI's error object, Anthropic's, Google's google.rpc status
             (gemini) or RFC 9457 problem details.
--explain    adds \"explain\": the style and whether it was detected, the rule that decided
             the code, its table and its source, and the status the client gets.
--pretty     prints indented JSON (not with --jsonl, whose results are one line each).";

const STATS_HELP: &str = "\
usage: llm-errors stats [--json] [FILE|-]

Reads a JSONL log, FILE or standard input, and prints how many errors of each code each
style had and the share of them that are retryable. A line is a case as `llm-errors
normalize --jsonl` reads it (normalized first) or a line that command printed (an
envelope, null for no failure, a problem). --json prints the same as one JSON object.";

const CODES_HELP: &str = "\
usage: llm-errors codes [--json]

Prints the 12 codes with each one's HTTP status, whether it is retryable and what it
means; --json prints them as a JSON array with what the client should do.";

const STYLES_HELP: &str = "\
usage: llm-errors styles [--json]

Prints the upstream error styles the tables know: the name --style takes, the
provider or gateway, the style it builds on and its description; --json prints them as
a JSON array.";

const DOCS_HELP: &str = "\
usage: llm-errors docs [--format markdown|json|openapi] [--out PATH]
       llm-errors docs --product NAME [--base-url URL] [--skip SECTION]... [--out PATH]

Prints the error documentation rendered from the tables: the crate's reference page
(docs/errors.md, the default), the whole taxonomy as JSON, or OpenAPI 3.1 components;
--out PATH writes it to PATH instead.

With --product, prints the page a gateway publishes for its users under that name: the
same codes and policy, the providers whose documentation is public with each rule linked
to it, and nothing about this tool. --base-url names the API's base URL in the
introduction. --skip leaves a section out (repeat it, or list sections with commas): body,
retrying, each-code, upstream, transport, policy, redaction, formats.";

/// The help of a command, by its name.
fn help_of(command: &str) -> Option<&'static str> {
    Some(match command {
        "normalize" => NORMALIZE_HELP,
        "stats" => STATS_HELP,
        "codes" => CODES_HELP,
        "styles" => STYLES_HELP,
        "docs" => DOCS_HELP,
        "help" => USAGE,
        _ => return None,
    })
}

/// A problem worth one line on standard error, with its exit status.
pub struct Failure {
    pub message: String,
    pub status: u8,
}

impl Failure {
    pub fn usage(message: impl Into<String>) -> Self {
        Failure { message: message.into(), status: 2 }
    }

    pub fn input(message: impl Into<String>) -> Self {
        Failure { message: message.into(), status: 1 }
    }
}

/// A complaint for standard error, which may quote its input and so a key, in Rust's debug
/// escapes (`\u{ad}` inside it, `\\u0022` before it): invisible characters are dropped and
/// doubled backslashes made single, so that `redact` sees the key whole.
pub fn for_stderr(message: &str) -> String {
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
    // `COMMAND --help` anywhere before a `--`.
    if let Some(help) = help_of(command)
        && rest.iter().take_while(|a| *a != "--").any(|a| a == "--help" || a == "-h")
    {
        return write_out(help);
    }
    match command.as_str() {
        "normalize" => normalize_command(rest),
        "stats" => stats::command(rest),
        "codes" => codes_command(rest),
        "styles" => styles_command(rest),
        "docs" => docs_command(rest),
        "-h" | "--help" => write_out(USAGE),
        "help" => match rest {
            [] => write_out(USAGE),
            [name] => help_of(name).map_or_else(
                || Err(Failure::usage(format!("no command {name:?} (try 'llm-errors --help')"))),
                write_out,
            ),
            [_, extra, ..] => Err(Failure::usage(format!("unexpected argument {extra:?} for help"))),
        },
        "-V" | "--version" => write_out(&format!("llm-errors {}", env!("CARGO_PKG_VERSION"))),
        other => Err(Failure::usage(format!("unknown command {other:?} (try 'llm-errors --help')"))),
    }
}

pub fn parse_style(s: &str) -> Result<Style, Failure> {
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

/// How `normalize` prints a result.
#[derive(Clone, Copy, Default)]
struct Output {
    format: WireFormat,
    explain: bool,
    pretty: bool,
}

/// What `--explain` adds.
#[derive(Serialize)]
struct Explanation {
    /// The style that read the response.
    style: Option<&'static str>,
    /// Whether the style was detected rather than given.
    detected: bool,
    /// The rule that decided the code, the table it is written in and what it implements.
    rule: Option<&'static str>,
    table: Option<&'static str>,
    source: Option<&'static str>,
    /// The status the client gets.
    status: u16,
}

#[derive(Serialize)]
struct Explained<'a> {
    #[serde(flatten)]
    body: llm_error_taxonomy::WireBody<'a>,
    explain: Explanation,
}

impl Output {
    /// The line (or, pretty, the lines) for one result: its body, or `null` for no failure.
    fn render(self, err: Option<&NormalizedError>, style_given: bool) -> String {
        let Some(err) = err else { return "null".to_owned() };
        let body = err.as_wire(self.format);
        let text = if self.explain {
            let rule = err.rule();
            let explained = Explained {
                body,
                explain: Explanation {
                    style: err.style().map(Style::as_str),
                    detected: !style_given && err.style().is_some(),
                    rule: rule.map(|r| r.name),
                    table: rule.map(|r| r.table),
                    source: rule.map(|r| r.source),
                    status: err.status().as_u16(),
                },
            };
            if self.pretty { serde_json::to_string_pretty(&explained) } else { serde_json::to_string(&explained) }
        } else if self.pretty {
            serde_json::to_string_pretty(&body)
        } else {
            return err.to_json_in(self.format);
        };
        // Serializing cannot fail: every key is a string.
        text.unwrap_or_default()
    }
}

pub fn write_out(text: &str) -> Result<(), Failure> {
    written(writeln!(io::stdout().lock(), "{text}"))
}

/// A write's outcome: a closed pipe (`| head`) is not an error worth reporting.
fn written(result: io::Result<()>) -> Result<(), Failure> {
    match result {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other.map_err(|e| Failure::input(format!("cannot write output: {e}"))),
    }
}

fn parse_format(name: &str) -> Result<WireFormat, Failure> {
    WireFormat::from_str(name).map_err(|_| {
        let names: Vec<&str> = WireFormat::iter().map(WireFormat::as_str).collect();
        Failure::usage(format!("unknown format {name:?}; expected one of: {}", names.join(", ")))
    })
}

/// The file operand of a command: at most one, `-` or none for standard input.
pub fn file_operand<'a>(file: &mut Option<&'a str>, operand: &'a str) -> Result<(), Failure> {
    match file {
        None => {
            *file = Some(operand);
            Ok(())
        }
        Some(_) => Err(Failure::usage(format!("unexpected argument {operand:?}: give one FILE"))),
    }
}

fn normalize_command(args: &[String]) -> Result<(), Failure> {
    let mut style = None;
    let mut status = None;
    let mut headers = HeaderMap::new();
    let mut jsonl = false;
    let mut output = Output::default();
    let mut file = None;
    let mut it = Args::new(args);
    while let Some(arg) = it.next()? {
        match arg {
            Arg::Flag("--style") => style = Some(parse_style(it.value("--style")?)?),
            Arg::Flag("--status") => status = Some(parse_status(it.value("--status")?).map_err(Failure::usage)?),
            Arg::Flag(flag @ ("--header" | "-H")) => {
                let (name, value) = parse_header(it.value(flag)?).map_err(Failure::usage)?;
                headers.append(name, value);
            }
            Arg::Flag("--format") => output.format = parse_format(it.value("--format")?)?,
            Arg::Flag("--jsonl") => jsonl = true,
            Arg::Flag("--explain") => output.explain = true,
            Arg::Flag("--pretty") => output.pretty = true,
            Arg::Flag(flag) => return Err(Failure::usage(format!("unknown option {flag:?} for normalize"))),
            Arg::Operand(path) => file_operand(&mut file, path)?,
        }
    }
    let normalizer = Normalizer::new();
    if jsonl {
        if style.is_some() || status.is_some() || !headers.is_empty() {
            return Err(Failure::usage("--jsonl takes style, status and headers from each line, not from options"));
        }
        if output.pretty {
            return Err(Failure::usage("--pretty cannot be used with --jsonl: each result is one line"));
        }
        return jsonl_command(&normalizer, file, output);
    }
    let status = status.ok_or_else(|| Failure::usage("missing --status N (the upstream HTTP status)"))?;
    let err = inspect_input(&normalizer, style, status, &headers, file)?;
    write_out(&output.render(err.as_ref(), style.is_some()))
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

pub fn parse_case(line: &str) -> Result<(Option<Style>, StatusCode, HeaderMap, Vec<u8>), String> {
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
pub fn max_line_bytes(normalizer: &Normalizer) -> usize {
    normalizer.limits().max_body_bytes.saturating_mul(4).saturating_add(64 * 1024)
}

/// Reads the next line of `reader` (without its newline) into `line`, keeping at most `max`
/// bytes: `None` at the end of the input, else the line's whole length, which is over `max`
/// for a line that was cut (the rest of it is read and dropped).
pub fn read_line(reader: &mut dyn BufRead, line: &mut Vec<u8>, max: usize) -> io::Result<Option<usize>> {
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

/// Standard input, or the file at `path`, read line by line.
pub fn open_lines(file: Option<&str>) -> Result<Box<dyn BufRead>, Failure> {
    Ok(Box::new(io::BufReader::with_capacity(64 * 1024, open_source(file)?)))
}

/// The bytes of FILE, or of standard input for none or `-`.
fn open_source(file: Option<&str>) -> Result<Box<dyn io::Read>, Failure> {
    Ok(match file {
        None | Some("-") => Box::new(io::stdin().lock()),
        Some(p) => Box::new(std::fs::File::open(p).map_err(|e| Failure::input(format!("cannot read {p}: {e}")))?),
    })
}

/// Standard output, buffered, shared with the input that flushes it.
type Stdout = std::rc::Rc<std::cell::RefCell<io::BufWriter<io::Stdout>>>;

/// An input that flushes the output each time it is read, before it can wait: a log read live
/// gets each result as its line is read, a file gets its results in large writes.
struct FlushingSource {
    source: Box<dyn io::Read>,
    out: Stdout,
}

impl io::Read for FlushingSource {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // A failed flush shows again at the next write, where it is reported.
        let _ = self.out.borrow_mut().flush();
        self.source.read(buf)
    }
}

/// Writes a line of output.
fn write_line(out: &Stdout, text: &str) -> Result<(), Failure> {
    written(writeln!(out.borrow_mut(), "{text}"))
}

/// Each line of a JSONL input, numbered from 1, as text, or why it is no case (over the
/// limit, not UTF-8, empty); `f` returns whether to go on.
pub fn each_line(
    normalizer: &Normalizer,
    file: Option<&str>,
    f: impl FnMut(usize, Result<&str, String>) -> Result<(), Failure>,
) -> Result<(), Failure> {
    each_line_of(normalizer, open_lines(file)?, f)
}

fn each_line_of(
    normalizer: &Normalizer,
    mut reader: Box<dyn BufRead>,
    mut f: impl FnMut(usize, Result<&str, String>) -> Result<(), Failure>,
) -> Result<(), Failure> {
    let max = max_line_bytes(normalizer);
    let mut line = Vec::new();
    for line_no in 1.. {
        let Some(len) = read_line(&mut reader, &mut line, max)
            .map_err(|e| Failure::input(format!("cannot read line {line_no}: {e}")))?
        else {
            break;
        };
        let text = if len > max {
            Err(format!("{len} bytes, over the limit of {max}"))
        } else {
            match std::str::from_utf8(&line) {
                Err(_) => Err("not UTF-8".to_owned()),
                Ok(t) if t.trim().is_empty() => Err("an empty line".to_owned()),
                Ok(t) => Ok(t),
            }
        };
        f(line_no, text)?;
    }
    Ok(())
}

/// The line for a bad input line, which names the problem; the same message goes to standard
/// error.
pub fn problem(line_no: usize, message: &str) -> String {
    let message = for_stderr(message);
    eprintln!("llm-errors: line {line_no}: {message}");
    serde_json::json!({"problem": {"line": line_no, "message": message}}).to_string()
}

fn jsonl_command(normalizer: &Normalizer, file: Option<&str>, output: Output) -> Result<(), Failure> {
    let mut bad = 0usize;
    let out = Stdout::new(std::cell::RefCell::new(io::BufWriter::with_capacity(64 * 1024, io::stdout())));
    let source = FlushingSource { source: open_source(file)?, out: out.clone() };
    let reader = Box::new(io::BufReader::with_capacity(64 * 1024, source));
    each_line_of(normalizer, reader, |line_no, text| {
        let result = text.and_then(parse_case).map(|(style, status, headers, body)| {
            let err = normalizer.inspect(style, status, &headers, &body);
            output.render(err.as_ref(), style.is_some())
        });
        let line = result.unwrap_or_else(|message| {
            bad += 1;
            problem(line_no, &message)
        });
        write_line(&out, &line)
    })?;
    written(out.borrow_mut().flush())?;
    if bad > 0 { Err(Failure::input(format!("{bad} bad line(s)"))) } else { Ok(()) }
}

/// A command's only option, `--json`.
fn json_flag(command: &str, args: &[String]) -> Result<bool, Failure> {
    let mut json = false;
    let mut it = Args::new(args);
    while let Some(arg) = it.next()? {
        match arg {
            Arg::Flag("--json") => json = true,
            Arg::Flag(other) | Arg::Operand(other) => {
                return Err(Failure::usage(format!("unexpected argument {other:?} for {command}")));
            }
        }
    }
    Ok(json)
}

fn codes_command(args: &[String]) -> Result<(), Failure> {
    let json = json_flag("codes", args)?;
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

fn styles_command(args: &[String]) -> Result<(), Failure> {
    let json = json_flag("styles", args)?;
    if json {
        let rows: Vec<serde_json::Value> = Style::iter()
            .map(|s| {
                let t = s.table();
                serde_json::json!({
                    "style": t.wire, "name": t.name, "extends": t.extends, "description": t.description,
                })
            })
            .collect();
        return write_out(&serde_json::to_string_pretty(&rows).unwrap_or_default());
    }
    let tables: Vec<_> = Style::iter().map(Style::table).collect();
    let wire = tables.iter().map(|t| t.wire.len()).max().unwrap_or(0).max("STYLE".len());
    let name = tables.iter().map(|t| t.name.len()).max().unwrap_or(0).max("NAME".len());
    let extends = tables.iter().filter_map(|t| t.extends).map(str::len).max().unwrap_or(0).max("EXTENDS".len());
    let mut text = format!("{:wire$}  {:name$}  {:extends$}  DESCRIPTION\n", "STYLE", "NAME", "EXTENDS");
    for t in tables {
        text.push_str(&format!(
            "{:wire$}  {:name$}  {:extends$}  {}\n",
            t.wire,
            t.name,
            t.extends.unwrap_or("-"),
            headline(t.description)
        ));
    }
    write_out(text.trim_end())
}

/// A description's opening words, before its first colon or semicolon, for a table row; the
/// whole text is in `styles --json`.
fn headline(description: &str) -> &str {
    const MAX: usize = 60;
    let mut code = false;
    let end = description
        .char_indices()
        .find(|&(_, c)| {
            code ^= c == '`';
            !code && matches!(c, ':' | ';')
        })
        .map_or(description.len(), |(i, _)| i);
    let head = description[..end].trim_end_matches('.');
    if head.chars().count() <= MAX {
        head
    } else {
        &head[..head.char_indices().nth(MAX).map_or(head.len(), |(i, _)| i)]
    }
}

fn docs_command(args: &[String]) -> Result<(), Failure> {
    let mut format = None;
    let mut out = None;
    let mut product = None;
    let mut base_url = None;
    let mut skip = Vec::new();
    let mut it = Args::new(args);
    while let Some(arg) = it.next()? {
        match arg {
            Arg::Flag(flag @ ("--format" | "-f")) => {
                let name = it.value(flag)?;
                format = Some(Format::from_str(name).map_err(|_| {
                    let names: Vec<&str> = Format::iter().map(Format::as_str).collect();
                    Failure::usage(format!("unknown format {name:?}; expected one of: {}", names.join(", ")))
                })?);
            }
            Arg::Flag(flag @ ("--out" | "-o")) => out = Some(it.value(flag)?),
            Arg::Flag(flag @ "--product") => product = Some(it.value(flag)?),
            Arg::Flag(flag @ "--base-url") => base_url = Some(it.value(flag)?),
            Arg::Flag(flag @ "--skip") => {
                for name in it.value(flag)?.split(',') {
                    skip.push(Section::from_str(name.trim()).map_err(|_| {
                        let names: Vec<&str> = Section::iter().map(<&str>::from).collect();
                        Failure::usage(format!("unknown section {name:?}; expected one of: {}", names.join(", ")))
                    })?);
                }
            }
            Arg::Flag(other) | Arg::Operand(other) => {
                return Err(Failure::usage(format!("unexpected argument {other:?} for docs")));
            }
        }
    }
    let page;
    let text = match product {
        Some(product) => {
            if let Some(format) = format.filter(|f| *f != Format::Markdown) {
                return Err(Failure::usage(format!(
                    "--product renders the Markdown page; --format {format} takes no --product"
                )));
            }
            let bad = |e: docs::PageError| Failure::usage(format!("{e}"));
            let mut p = Page::new(product).map_err(bad)?;
            if let Some(url) = base_url {
                p = p.base_url(url).map_err(bad)?;
            }
            page = skip.into_iter().fold(p, Page::skip).render();
            page.as_str()
        }
        None => {
            if base_url.is_some() || !skip.is_empty() {
                let flag = if base_url.is_some() { "--base-url" } else { "--skip" };
                return Err(Failure::usage(format!("{flag} shapes the published page; give it a --product NAME")));
            }
            docs::render(format.unwrap_or_default())
        }
    };
    match out {
        Some(path) => std::fs::write(path, text).map_err(|e| Failure::input(format!("cannot write {path}: {e}"))),
        None => write_out(text.strip_suffix('\n').unwrap_or(text)),
    }
}
