//! Reading server-sent event streams for the errors they carry.
//!
//! A streamed completion answers `200 OK` before the first token, so its failures arrive inside
//! the body: an error object as a `data` event (OpenAI, OpenRouter, MoltbotDen), an `event:
//! error` frame (Anthropic), a chunk whose finish reason is `error`, or no end at all when the
//! connection drops. [`StreamReader`] takes the body's bytes in chunks as they arrive, keeps at
//! most one event in memory, and reports the first error as a [`StreamError`] that says whether
//! output had already reached the client.
//!
//! What ends a stream, where errors and output live, and which finish reasons fail are facts of
//! each style, read from the `stream` sections of the tables in `taxonomy/`: the generic
//! section applies to every style and a style's own section adds to it.

use crate::body::Captures;
use crate::code::{ErrorCode, Field};
use crate::error::{Detail, NormalizedError, Upstream};
use crate::few::Few;
use crate::normalize::Normalizer;
use crate::redact::clean;
use crate::scan::find_opening;
use crate::table::{Style, StyleTable, stream_set};
use crate::view::View;
use aho_corasick::packed::Searcher;
use http::{HeaderMap, StatusCode};
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::OnceLock;

/// A table's stream facts that are read from a parsed payload, compiled from its `stream` section.
#[derive(Debug)]
pub(crate) struct StreamSpec {
    /// Probes (indexes into `PROBES`) whose value, when not `null`, makes a payload an error.
    pub error_paths: &'static [usize],
    /// A probe and the string there that makes a payload an error.
    pub error_values: &'static [(usize, &'static str)],
    /// Probes of a chunk's finish reason.
    pub finish_reason: &'static [usize],
    pub error_finish_reasons: &'static [&'static str],
    pub done_finish_reasons: &'static [&'static str],
    /// Probes of generated output: a value there that is not empty is output.
    pub output: &'static [usize],
}

/// What a reader reads: the stream sections of its style (the generic one first), and the union
/// of their lists that any one section decides alone, compiled by the build step.
#[derive(Debug)]
pub(crate) struct StreamSet {
    pub specs: &'static [&'static StreamSpec],
    /// `data` payloads that end the stream, such as `[DONE]`.
    pub done: &'static [&'static str],
    /// Event names that end the stream, such as `message_stop`.
    pub end_events: &'static [&'static str],
    /// Event names whose data is an error.
    pub error_events: &'static [&'static str],
    /// Event names whose messages carry generated output.
    pub output_events: &'static [&'static str],
    /// SSE fields, besides `data`, whose value is an error object.
    pub error_fields: &'static [&'static str],
    /// Comment prefixes followed by the event's HTTP status (`HTTP_STATUS/`).
    pub status_comments: &'static [&'static str],
    /// Once output has been seen, a JSON payload needs reading only when a string in it begins
    /// with one of these words (the build step's `stream_triggers`, less any word another one
    /// begins), or it holds a `\u` escape.
    pub triggers: &'static [&'static str],
    /// `trigger_runs[b]..trigger_runs[b + 1]` indexes the triggers that begin with the byte `b`
    /// (every trigger is ASCII).
    pub trigger_runs: [u8; 129],
    /// The pairs of bytes the triggers begin with (a trigger of one byte, with any byte after it).
    pub trigger_starts: crate::scan::PairSet,
    /// Every JSON payload needs reading.
    pub always_read: bool,
    /// The vector search for the triggers, built the first time a payload is checked.
    pub searcher: OnceLock<Option<Searcher>>,
}

impl StreamSet {
    /// Whether `data`, trimmed of white space, is one of the `done` payloads.
    fn is_done_marker(&self, data: &[u8]) -> bool {
        let trimmed = data.trim_ascii();
        // Only a payload with Unicode white space (or a vertical tab) at an end, which
        // `trim_ascii` leaves, needs the slower trim of `str`.
        let unicode_edge = |b: Option<&u8>| b.is_some_and(|&b| !b.is_ascii() || b == 0x0B);
        if unicode_edge(trimmed.first()) || unicode_edge(trimmed.last()) {
            let text = std::str::from_utf8(data).map(str::trim);
            return text.is_ok_and(|t| self.done.contains(&t));
        }
        self.done.iter().any(|d| d.as_bytes() == trimmed)
    }

    /// Whether a JSON payload, read after output has been seen, may hold an error or the stream's
    /// end. Every key and string of a payload begins right after a quote, so one whose strings
    /// begin with none of the trigger words holds neither, unless a `\u` escape spells a word
    /// differently: a payload with one is read.
    fn may_signal(&self, data: &[u8]) -> bool {
        if self.always_read || memchr::memchr_iter(b'\\', data).any(|i| data.get(i + 1) == Some(&b'u')) {
            return true;
        }
        match self.searcher.get_or_init(|| self.build_searcher()) {
            Some(searcher) => searcher.find(data).is_some(),
            None => self.opens_a_trigger(data),
        }
    }

    /// A vector search for a quote followed by a trigger word: `None` where the machine has no
    /// vector instructions `aho-corasick` can use (SSSE3 or NEON).
    fn build_searcher(&self) -> Option<Searcher> {
        let build = |fat: Option<bool>| {
            let quoted = self.triggers.iter().map(|t| [b"\"", t.as_bytes()].concat());
            aho_corasick::packed::Config::new().only_teddy_fat(fat).builder().extend(quoted).build()
        };
        // Teddy sorts the words into buckets, 8 in its slim form and 16 in its fat one; words that
        // share a bucket let through more places that begin neither, each then compared. The fat
        // form needs AVX2: without it, `aho-corasick` picks.
        if self.triggers.len() > 8 { build(Some(true)).or_else(|| build(None)) } else { build(Some(false)) }
    }

    /// [`may_signal`](Self::may_signal)'s search eight bytes at a time, for a machine without a
    /// vector search: each quote followed by a pair of bytes a trigger begins with is compared
    /// with those triggers.
    fn opens_a_trigger(&self, data: &[u8]) -> bool {
        // An escaped quote counts as a quote: that only reads a payload more often.
        let mut from = 0;
        while let Some(i) = find_opening(data, from, &self.trigger_starts) {
            from = i + 1;
            let after = &data[i + 1..];
            if data[i] == b'\\' {
                return true;
            }
            let first = usize::from(after[0]);
            let Some(run) = self.trigger_runs.get(first..=first + 1) else { continue };
            let words = self.triggers.get(usize::from(run[0])..usize::from(run[1])).unwrap_or_default();
            // Byte by byte: a slice comparison would call `memcmp`, and the words are short.
            if words.iter().any(|t| t.len() <= after.len() && t.bytes().zip(after).all(|(a, &b)| a == b)) {
                return true;
            }
        }
        false
    }
}

/// What one event tells a reader: an error, or whether it ended the stream or carried output.
#[derive(Default)]
struct Read {
    error: Option<NormalizedError>,
    done: bool,
    output: bool,
}

impl Read {
    fn error(error: NormalizedError) -> Self {
        Read { error: Some(error), ..Read::default() }
    }
}

/// The reason of a stream that ended without its terminator.
pub(crate) const STREAM_DROPPED: &str = "STREAM_DROPPED";
/// The detail code added to an error found inside a stream.
pub(crate) const STREAM_ERROR: &str = "STREAM_ERROR";
/// The reason of a stream whose framing is broken (a checksum that does not match).
pub(crate) const STREAM_CORRUPT: &str = "STREAM_CORRUPT";

/// Where in a stream an error happened.
///
/// Retrying is safe only [before the first token](StreamPhase::BeforeFirstToken): once output
/// has reached the client, a retry would send it again, so the client must resume instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum StreamPhase {
    /// No output had been delivered yet: the request can be retried or sent to another model.
    BeforeFirstToken,
    /// Output had already been delivered: a retry would repeat it.
    MidStream,
}

impl StreamPhase {
    /// The wire form: `"before_first_token"` or `"mid_stream"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            StreamPhase::BeforeFirstToken => "before_first_token",
            StreamPhase::MidStream => "mid_stream",
        }
    }

    fn from_str(s: &str) -> Option<Self> {
        match s {
            "before_first_token" => Some(StreamPhase::BeforeFirstToken),
            "mid_stream" => Some(StreamPhase::MidStream),
            _ => None,
        }
    }
}

impl fmt::Display for StreamPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error found in a stream: the normalized error and where in the stream it happened.
///
/// The phase is also recorded in the error's details (a `STREAM_DROPPED` or `STREAM_ERROR`
/// entry with `phase` and `partial_output`), so it survives the JSON envelope and
/// [`RetryPolicy::advise`](crate::RetryPolicy::advise) sees it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{error} ({phase})")]
pub struct StreamError {
    error: NormalizedError,
    phase: StreamPhase,
    events: u64,
}

impl StreamError {
    pub(crate) fn new(error: NormalizedError, phase: StreamPhase, events: u64) -> Self {
        StreamError { error, phase, events }
    }

    /// The normalized error.
    pub fn error(&self) -> &NormalizedError {
        &self.error
    }

    /// The normalized error, by value.
    pub fn into_error(self) -> NormalizedError {
        self.error
    }

    /// Before the first token, or mid-stream.
    pub fn phase(&self) -> StreamPhase {
        self.phase
    }

    /// Whether output had already been delivered when the stream failed.
    pub fn partial_output(&self) -> bool {
        self.phase == StreamPhase::MidStream
    }

    /// Whether the request can be retried without repeating output: a retryable code, before
    /// the first token.
    pub fn is_retry_safe(&self) -> bool {
        !self.partial_output() && self.error.is_retryable()
    }

    /// How many events the stream delivered before the error.
    pub fn events_before(&self) -> u64 {
        self.events
    }
}

impl NormalizedError {
    /// For an error read from a stream, where in the stream it happened.
    ///
    /// ```
    /// use llm_error_taxonomy::{ErrorCode, StreamPhase, StreamReader};
    /// use http::{HeaderMap, StatusCode};
    ///
    /// let mut reader = StreamReader::new(None, StatusCode::OK, &HeaderMap::new());
    /// assert!(reader.push(b"data: {\"choices\": [{\"delta\": {\"content\": \"Hel\"}}]}\n\n").is_none());
    /// let err = reader.finish().expect("the stream ended without [DONE]").into_error();
    /// assert_eq!(err.code(), ErrorCode::GenerationFailed);
    /// assert_eq!(err.reason(), Some("STREAM_DROPPED"));
    /// assert_eq!(err.stream_phase(), Some(StreamPhase::MidStream));
    /// assert!(err.partial_output());
    /// ```
    pub fn stream_phase(&self) -> Option<StreamPhase> {
        self.stream_detail()?.figures.get("phase")?.as_str().and_then(StreamPhase::from_str)
    }

    /// Whether output had already reached the client when the stream carrying this error
    /// failed; `false` for errors not read from a stream.
    pub fn partial_output(&self) -> bool {
        self.stream_detail().and_then(|d| d.figures.get("partial_output")?.as_bool()).unwrap_or(false)
    }

    fn stream_detail(&self) -> Option<&Detail> {
        // The crate's own entries: a stream's (`STREAM_DROPPED`, ...) or a transport failure's.
        self.details
            .iter()
            .rev()
            .find(|d| d.code.is_some() && d.figures.contains_key("phase") && d.figures.contains_key("partial_output"))
    }
}

/// Whether a response is a server-sent event stream: its `content-type` is
/// `text/event-stream`, or its body opens like one (a `data:`, `event:`, `id:` or `retry:`
/// field, or a `:` comment).
///
/// ```
/// use llm_error_taxonomy::is_event_stream;
/// use http::HeaderMap;
///
/// assert!(is_event_stream(&HeaderMap::new(), b"data: {\"choices\": []}\n\n"));
/// assert!(!is_event_stream(&HeaderMap::new(), br#"{"error": {"message": "no"}}"#));
/// ```
pub fn is_event_stream(headers: &HeaderMap, body: &[u8]) -> bool {
    match Framing::of(headers) {
        Some(_) => true,
        None => Framing::sniff(body).is_some(),
    }
}

/// How a stream's events are framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// Server-sent events (`text/event-stream`).
    Sse,
    /// One JSON value per line (`application/x-ndjson`; Ollama, Cohere v1).
    Ndjson,
    /// Amazon's binary `application/vnd.amazon.eventstream` (Bedrock).
    EventStream,
}

impl Framing {
    /// The framing a stream's `content-type` names, if it names one.
    pub(crate) fn of(headers: &HeaderMap) -> Option<Framing> {
        let ct = headers.get(http::header::CONTENT_TYPE)?.to_str().ok()?.trim_start();
        let is = |t: &str| ct.get(..t.len()).is_some_and(|p| p.eq_ignore_ascii_case(t));
        if is("text/event-stream") {
            Some(Framing::Sse)
        } else if is("application/vnd.amazon.eventstream") {
            Some(Framing::EventStream)
        } else if is("application/x-ndjson") || is("application/jsonl") || is("application/json-seq") {
            Some(Framing::Ndjson)
        } else {
            None
        }
    }

    /// The framing a whole body shows in its first bytes: an SSE field or comment, an event
    /// stream's prelude, or a JSON object on its first line followed by another line of JSON.
    fn sniff(body: &[u8]) -> Option<Framing> {
        if crate::eventstream::opens_a_stream(body, usize::MAX) {
            return Some(Framing::EventStream);
        }
        let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
        let start = body.iter().position(|b| !matches!(b, b'\r' | b'\n')).unwrap_or(body.len());
        let body = &body[start..];
        if body.first() == Some(&b':')
            || [&b"data:"[..], b"event:", b"id:", b"retry:"].iter().any(|field| body.starts_with(field))
        {
            return Some(Framing::Sse);
        }
        let mut lines = body.split(|&b| b == b'\n').map(<[u8]>::trim_ascii).filter(|l| !l.is_empty());
        let first = lines.next()?;
        let second = lines.next()?;
        (first.first() == Some(&b'{')
            && second.first() == Some(&b'{')
            && serde_json::from_slice::<IgnoredAny>(first).is_ok())
        .then_some(Framing::Ndjson)
    }

    /// The framing a chunked stream shows in its first byte, when no header named it: a
    /// prelude starts with a zero byte (no message is 16 MiB long), a JSON line with `{`.
    pub(crate) fn of_first_byte(b: u8) -> Framing {
        match b {
            0 => Framing::EventStream,
            b'{' => Framing::Ndjson,
            _ => Framing::Sse,
        }
    }
}

/// Reads a server-sent event stream chunk by chunk and reports the first error in it.
///
/// Feed it the body's bytes as they arrive with [`push`](StreamReader::push) (events may be
/// split anywhere across chunks, with CRLF, LF or CR line ends), and call
/// [`finish`](StreamReader::finish) when the body ends: a stream that ended without its
/// terminator (`[DONE]`, or an end event such as `message_stop`) is `GENERATION_FAILED` with
/// reason `STREAM_DROPPED`. The reader never holds more than one event: an event larger than
/// [`Limits::max_body_bytes`](crate::Limits::max_body_bytes) is skipped, and counted as
/// output, since it cannot be proven empty.
///
/// ```
/// use llm_error_taxonomy::{ErrorCode, StreamPhase, StreamReader, Style};
/// use http::{HeaderMap, StatusCode};
///
/// let mut reader = StreamReader::new(Some(Style::MoltbotDen), StatusCode::OK, &HeaderMap::new());
/// let chunks: [&[u8]; 3] = [
///     b"data: {\"choices\": [{\"delta\": {\"content\": \"Nash\"}}]}\r\n\r\ndata: {\"err",
///     b"or\": {\"code\": \"provider_error\", \"message\": \"The upstream provider (anthropic) returned an error.\",",
///     b" \"status\": 500, \"provider\": \"anthropic\", \"upstream_status\": 529}}\r\n\r\n",
/// ];
/// let mut found = None;
/// for chunk in chunks {
///     // forward `chunk` to the client here
///     if let Some(err) = reader.push(chunk) {
///         found = Some(err);
///         break;
///     }
/// }
/// let err = found.expect("an error event");
/// assert_eq!(err.error().code(), ErrorCode::ModelOverloaded);
/// assert_eq!(err.phase(), StreamPhase::MidStream);
/// assert!(!err.is_retry_safe()); // "Nash" was already delivered: resume, don't retry
/// ```
#[derive(Debug, Clone)]
pub struct StreamReader {
    normalizer: Normalizer,
    style: Option<Style>,
    status: StatusCode,
    headers: HeaderMap,
    set: &'static StreamSet,
    /// The current line, when it is split across chunks.
    line: Vec<u8>,
    /// Bytes of the current line were dropped (the event is oversized).
    dropped_line: bool,
    /// The previous chunk ended in CR: a leading LF of the next one ends no line.
    pending_cr: bool,
    /// The first line is still to come (a byte order mark is stripped from it).
    first_line: bool,
    /// How events are framed, once known.
    framing: Option<Framing>,
    /// The bytes of an event-stream message not yet complete.
    frames: Vec<u8>,
    event: Vec<u8>,
    data: Vec<u8>,
    has_data: bool,
    /// Lines of JSON outside any field (Google appends a bare error object to a stream).
    bare: Vec<u8>,
    /// The current event went over the limit and is skipped up to its end.
    oversized: bool,
    /// The status a comment of the current event gave (a table's `status_comments`).
    event_status: Option<StatusCode>,
    events: u64,
    output_events: u64,
    done: bool,
    failed: bool,
}

impl StreamReader {
    /// A reader for a stream in `style` (`None`: recognize each error's style from its shape),
    /// whose response had `status` and `headers`, with the default [`Normalizer`].
    pub fn new(style: Option<Style>, status: StatusCode, headers: &HeaderMap) -> Self {
        Normalizer::DEFAULT.stream_reader(style, status, headers)
    }

    /// A reader for the body of `response`, from its status and headers.
    ///
    /// ```
    /// use llm_error_taxonomy::StreamReader;
    ///
    /// let response = http::Response::builder().header("content-type", "text/event-stream").body(()).unwrap();
    /// let mut reader = StreamReader::for_response(None, &response);
    /// assert!(reader.push(b"data: [DONE]\n\n").is_none());
    /// assert!(reader.is_done());
    /// assert!(reader.finish().is_none());
    /// ```
    pub fn for_response<B>(style: Option<Style>, response: &http::Response<B>) -> Self {
        StreamReader::new(style, response.status(), response.headers())
    }

    fn with(normalizer: &Normalizer, style: Option<Style>, status: StatusCode, headers: &HeaderMap) -> Self {
        StreamReader {
            normalizer: normalizer.clone(),
            style,
            status,
            headers: headers.clone(),
            set: stream_set(style),
            line: Vec::new(),
            dropped_line: false,
            pending_cr: false,
            first_line: true,
            event: Vec::new(),
            framing: Framing::of(headers),
            frames: Vec::new(),
            data: Vec::new(),
            has_data: false,
            bare: Vec::new(),
            oversized: false,
            event_status: None,
            events: 0,
            output_events: 0,
            done: false,
            failed: false,
        }
    }

    /// Reads the next chunk of the body; returns the first error the stream reports.
    ///
    /// Once an error has been returned the stream is over: later chunks are ignored and
    /// [`finish`](StreamReader::finish) reports nothing more.
    pub fn push(&mut self, chunk: &[u8]) -> Option<StreamError> {
        if self.failed {
            return None;
        }
        let mut chunk = chunk;
        if self.framing.is_none() {
            // Leading whitespace is no part of any framing (blank lines end no event): it is
            // skipped, and the first byte after it shows the framing.
            let i = chunk.iter().position(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))?;
            chunk = &chunk[i..];
            self.framing = Some(Framing::of_first_byte(chunk[0]));
        }
        if self.framing == Some(Framing::EventStream) {
            return self.push_frames(chunk);
        }
        let mut rest = chunk;
        if self.pending_cr && !rest.is_empty() {
            self.pending_cr = false;
            if rest[0] == b'\n' {
                rest = &rest[1..];
            }
        }
        while !rest.is_empty() {
            let Some(i) = memchr::memchr2(b'\n', b'\r', rest) else {
                self.line_part(rest);
                break;
            };
            let step = match (rest[i], rest.get(i + 1)) {
                (b'\r', Some(b'\n')) => 2,
                (b'\r', None) => {
                    self.pending_cr = true;
                    1
                }
                _ => 1,
            };
            let line = &rest[..i];
            rest = &rest[i + step..];
            // A line that arrived whole is read where it lies; one split across chunks was kept.
            let found = if self.line.is_empty() && !self.dropped_line && !self.over_cap(line.len()) {
                match self.blank_after_lone_data(line, rest) {
                    // The commonest event, one `data` line and its blank line, is read where it
                    // lies: what `field` and `dispatch` would do, without copying its data.
                    Some(blank) => {
                        rest = &rest[blank..];
                        let value = &line[b"data:".len()..];
                        self.has_data = true;
                        let read = if self.done {
                            Read::default()
                        } else {
                            self.read_event(value.strip_prefix(b" ").unwrap_or(value))
                        };
                        self.settle(read)
                    }
                    None => self.end_whole_line(line),
                }
            } else {
                self.line_part(line);
                self.end_line()
            };
            if let Some(err) = found {
                return Some(err);
            }
        }
        None
    }

    /// The length of the blank line `rest` begins with, when `line`, a whole line of a server-sent
    /// event stream, is the `data` line of an event that holds nothing else yet, and not the
    /// stream's first line (which may begin with a byte order mark).
    fn blank_after_lone_data(&self, line: &[u8], rest: &[u8]) -> Option<usize> {
        if self.framing != Some(Framing::Sse)
            || self.first_line
            || self.oversized
            || self.has_data
            || !self.bare.is_empty()
            || !line.starts_with(b"data:")
        {
            return None;
        }
        match rest {
            [b'\n', ..] => Some(1),
            [b'\r', b'\n', ..] => Some(2),
            // A lone `\r` ends a line too; one that ends the chunk may be half of `\r\n`.
            [b'\r', _, ..] => Some(1),
            _ => None,
        }
    }

    /// Ends the stream: reports an error still pending in the last event, or a drop when the
    /// stream never reached its terminator. `None` when the stream completed, or when an error
    /// was already returned by [`push`](StreamReader::push).
    pub fn finish(mut self) -> Option<StreamError> {
        if self.failed {
            return None;
        }
        if self.framing == Some(Framing::EventStream) {
            // Messages are self-delimiting: a stream that ends on a message boundary is whole.
            if self.frames.is_empty() && self.events > 0 {
                return None;
            }
            let detail = self.stream_detail(STREAM_DROPPED);
            let err = self.crate_error("The stream ended before its end marker", detail);
            return Some(self.fail(err));
        }
        // A last event without its blank line still counts: recorded bodies often lack it.
        if (!self.line.is_empty() || self.dropped_line)
            && let Some(err) = self.end_line()
        {
            return Some(err);
        }
        if let Some(err) = self.dispatch() {
            return Some(err);
        }
        if self.done {
            return None;
        }
        let detail = self.stream_detail(STREAM_DROPPED);
        let err = self.crate_error("The stream ended before its end marker", detail);
        Some(self.fail(err))
    }

    /// Whether the stream's terminator has been read.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// How many events have been read.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Before the first token, or mid-stream, as of the events read so far.
    pub fn phase(&self) -> StreamPhase {
        if self.output_events == 0 { StreamPhase::BeforeFirstToken } else { StreamPhase::MidStream }
    }

    fn cap(&self) -> usize {
        self.normalizer.limits().max_body_bytes
    }

    /// Whether `more` bytes of line would take the current event over the limit.
    fn over_cap(&self, more: usize) -> bool {
        self.line.len() + self.data.len() + self.event.len() + self.bare.len() + more > self.cap()
    }

    /// A piece of the current line, without line ends.
    fn line_part(&mut self, part: &[u8]) {
        if part.is_empty() {
            return;
        }
        if !self.oversized && self.over_cap(part.len()) {
            self.oversized = true;
            self.line = Vec::new();
            self.data = Vec::new();
            self.bare = Vec::new();
            self.event.clear();
            self.has_data = false;
        }
        if self.oversized {
            self.dropped_line = true;
        } else {
            self.line.extend_from_slice(part);
        }
    }

    /// The current line, kept in `line` (or dropped), has ended.
    fn end_line(&mut self) -> Option<StreamError> {
        let dropped = std::mem::take(&mut self.dropped_line);
        if self.line.is_empty() && !dropped {
            self.first_line = false;
            return self.dispatch();
        }
        if self.oversized {
            self.first_line = false;
            return None;
        }
        let mut line = std::mem::take(&mut self.line);
        let found = self.content_line(&line);
        line.clear();
        self.line = line;
        found
    }

    /// A line has ended that arrived whole (nothing of it kept or dropped) and within the limit:
    /// [`end_line`](Self::end_line) without the copy.
    fn end_whole_line(&mut self, line: &[u8]) -> Option<StreamError> {
        if line.is_empty() {
            self.first_line = false;
            return self.dispatch();
        }
        if self.oversized {
            self.first_line = false;
            return None;
        }
        self.content_line(line)
    }

    /// A line of the current event that is not blank.
    fn content_line(&mut self, line: &[u8]) -> Option<StreamError> {
        if self.framing == Some(Framing::Ndjson) {
            // Each line is a whole event, read where it lies.
            self.first_line = false;
            self.has_data = true;
            let data = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
            let read = if self.done { Read::default() } else { self.read_event(data) };
            return self.settle(read);
        }
        self.field(line);
        None
    }

    /// Reads the event-stream messages that `chunk` completes.
    fn push_frames(&mut self, chunk: &[u8]) -> Option<StreamError> {
        use crate::eventstream::{PRELUDE, decode, frame_len};
        self.frames.extend_from_slice(chunk);
        let mut at = 0;
        let mut found = None;
        while self.frames.len() - at >= PRELUDE {
            let bytes = &self.frames[at..];
            let len = match frame_len(bytes, self.cap()) {
                Ok(len) => len,
                Err(e) => {
                    found = Some(self.corrupt(e.0));
                    break;
                }
            };
            if bytes.len() < len {
                break;
            }
            let frame = self.frames[at..at + len].to_vec();
            at += len;
            let msg = match decode(&frame) {
                Ok(m) => m,
                Err(e) => {
                    found = Some(self.corrupt(e.0));
                    break;
                }
            };
            if let Some(err) = self.message(&msg) {
                found = Some(err);
                break;
            }
        }
        self.frames.drain(..at);
        found.map(|e| self.fail(e))
    }

    /// One event-stream message: an exception or error is normalized with the event's name;
    /// an event counts as output when it carries generated content.
    fn message(&mut self, msg: &crate::eventstream::Message<'_>) -> Option<NormalizedError> {
        let name = msg.name.unwrap_or("");
        let err = match msg.message_type {
            Some("exception") => {
                Some(self.normalizer.normalize_event(self.style, self.status, &self.headers, msg.payload, Some(name)))
            }
            Some("error") => {
                let body = serde_json::json!({ "message": msg.error_message.unwrap_or("") }).to_string();
                Some(self.normalizer.normalize_event(
                    self.style,
                    self.status,
                    &self.headers,
                    body.as_bytes(),
                    Some(name),
                ))
            }
            _ => None,
        };
        if let Some(mut err) = err {
            self.stamp(&mut err);
            return Some(err);
        }
        self.events += 1;
        if self.done {
            return None;
        }
        if self.set.output_events.contains(&name) {
            self.output_events += 1;
        }
        if self.set.end_events.contains(&name) {
            self.done = true;
        }
        None
    }

    /// A stream whose framing is broken: the generation cannot be trusted.
    fn corrupt(&self, why: &str) -> NormalizedError {
        let detail = self.stream_detail(STREAM_CORRUPT);
        self.crate_error(&format!("The stream is corrupt: {why}"), detail)
    }

    /// One `field: value` line of the current event.
    fn field(&mut self, line: &[u8]) {
        let line = if std::mem::take(&mut self.first_line) {
            line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line)
        } else {
            line
        };
        if let Some(comment) = line.strip_prefix(b":") {
            // A comment that carries the event's status (DashScope's `:HTTP_STATUS/429`).
            let comment = comment.trim_ascii();
            for prefix in self.set.status_comments {
                if let Some(rest) = comment.strip_prefix(prefix.as_bytes())
                    && let Some(status) = std::str::from_utf8(rest).ok().and_then(|r| r.trim().parse::<u16>().ok())
                    && let Ok(status) = StatusCode::from_u16(status)
                {
                    self.event_status = Some(status);
                }
            }
            return;
        }
        let (name, value) = match line.iter().position(|&b| b == b':') {
            Some(i) => (&line[..i], line[i + 1..].strip_prefix(b" ").unwrap_or(&line[i + 1..])),
            None => (line, &b""[..]),
        };
        match name {
            b"data" => {
                if self.has_data {
                    self.data.push(b'\n');
                }
                self.data.extend_from_slice(value);
                self.has_data = true;
            }
            b"event" => {
                self.event.clear();
                self.event.extend_from_slice(value);
            }
            name if self.set.error_fields.iter().any(|f| f.as_bytes() == name) => {
                // A field the tables name as an error (llama.cpp's `error:`) holds an error object.
                self.event.clear();
                self.event.extend_from_slice(b"error");
                self.data.clear();
                self.data.extend_from_slice(value);
                self.has_data = true;
            }
            b"id" | b"retry" => {}
            _ if !self.bare.is_empty() || matches!(line.trim_ascii_start().first(), Some(b'{' | b'[')) => {
                self.bare.extend_from_slice(line);
                self.bare.push(b'\n');
            }
            _ => {}
        }
    }

    /// The current event is complete: read it, then forget it.
    fn dispatch(&mut self) -> Option<StreamError> {
        if self.oversized {
            self.oversized = false;
            self.events += 1;
            if !self.done {
                self.output_events += 1;
            }
            return None;
        }
        if !self.has_data && !self.bare.is_empty() {
            self.data = std::mem::take(&mut self.bare);
            self.has_data = true;
        }
        if !self.has_data && self.event.is_empty() {
            return None;
        }
        let read = if self.done { Read::default() } else { self.read_event(&self.data) };
        self.data.clear();
        self.settle(read)
    }

    /// Applies what the current event told, then forgets the event.
    fn settle(&mut self, read: Read) -> Option<StreamError> {
        self.done |= read.done;
        if let Some(err) = read.error {
            return Some(self.fail(err));
        }
        self.output_events += u64::from(read.output);
        self.events += 1;
        self.event.clear();
        self.has_data = false;
        self.event_status = None;
        None
    }

    /// What the current event, whose data is `data`, tells.
    fn read_event(&self, data: &[u8]) -> Read {
        let named = |names: &[&str]| names.iter().any(|n| n.as_bytes() == self.event);
        if self.set.is_done_marker(data) {
            return Read { done: true, ..Read::default() };
        }
        if named(self.set.error_events) {
            return Read::error(self.payload_error(data));
        }
        // An end event still carries what the generation ended with (Cohere's `message-end`
        // holds its error and finish reason): it is read like any other, then ends the stream.
        let done = named(self.set.end_events);
        let json = data.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
        if !json {
            // Text of no known shape: it may be output, so count it as output.
            return Read { done, output: !data.iter().all(u8::is_ascii_whitespace), error: None };
        }
        // Once output has gone out, the phase is settled: only an error or the stream's end
        // matters, and a payload that can hold neither need not be parsed.
        if self.output_events > 0 && !self.set.may_signal(data) {
            return Read { done, ..Read::default() };
        }
        let (caps, parsed) = match Captures::walk(data, self.normalizer.limits()) {
            Some((caps, parsed)) => (Some(caps), parsed),
            None => (None, false),
        };
        let found = caps.as_ref().map(|c| Found::of(c, self.set.specs)).unwrap_or_default();
        // An error in an end event still ends the stream.
        let error = |err| Read { error: Some(err), done, output: false };
        if found.error {
            return error(self.payload_error(data));
        }
        if let Some(reason) = found.finish_error {
            // The style's rules may say more about the reason (a content filter); else the
            // generation failed.
            if let Some(mut err) = self.normalizer.inspect_body(self.style, StatusCode::OK, &self.headers, data) {
                self.stamp(&mut err);
                if let Some(d) = err.details.last_mut() {
                    d.figures.insert("finish_reason".to_owned(), reason.into());
                }
                return error(err);
            }
            let detail = self.stream_detail(STREAM_ERROR).with_figure("finish_reason", reason);
            return error(self.crate_error("The upstream ended the generation with an error", detail));
        }
        Read { done: done || found.done, output: found.output || !parsed, error: None }
    }

    /// The error in the current event's data, read with the style's rules.
    fn payload_error(&self, data: &[u8]) -> NormalizedError {
        // An error status the event itself carries is the one its error is read with.
        let status = self.event_status.filter(|s| s.is_client_error() || s.is_server_error()).unwrap_or(self.status);
        let mut err = self.normalizer.normalize(self.style, status, &self.headers, data);
        let json = data.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
        if !json && let Ok(text) = std::str::from_utf8(data) {
            let message = clean(text, self.normalizer.limits().max_message_bytes);
            if !message.is_empty() {
                err.set_message(&message);
            }
        }
        self.stamp(&mut err);
        err
    }

    /// Adds the detail that records where in the stream the error happened.
    fn stamp(&self, err: &mut NormalizedError) {
        let detail = self.stream_detail(STREAM_ERROR);
        let max = self.normalizer.limits().max_details.max(1);
        err.details.truncate(max - 1);
        err.details.push(detail);
    }

    /// The detail that records where in the stream the error happened.
    fn stream_detail(&self, code: &'static str) -> Detail {
        phase_detail(code, self.phase())
    }

    /// A `GENERATION_FAILED` error the reader makes itself, with the response's request id.
    fn crate_error(&self, message: &str, detail: Detail) -> NormalizedError {
        let table = self.style.map_or(StyleTable::generic(), Style::table);
        let view = View::bare(table, &self.headers, Default::default());
        let limits = self.normalizer.limits();
        let code = ErrorCode::GenerationFailed;
        let request_id =
            view.text(Field::RequestId).map(|id| clean(&id, limits.max_field_bytes)).filter(|s| !s.is_empty());
        let mut err = NormalizedError::with_text(code, message, request_id.as_deref());
        err.details = Few::One(detail);
        err.upstream = Upstream { style: self.style, status: Some(self.status.as_u16()), ..Upstream::default() };
        self.normalizer.apply_overrides(&mut err);
        self.normalizer.redact_extra(&mut err);
        err
    }

    fn fail(&mut self, error: NormalizedError) -> StreamError {
        self.failed = true;
        self.line = Vec::new();
        self.data = Vec::new();
        StreamError { error, phase: self.phase(), events: self.events }
    }
}

/// The details entry of an error the crate makes for a broken stream or connection: `code`,
/// with the phase and whether output had gone out, which [`NormalizedError::stream_phase`] and
/// the retry advice read back.
pub(crate) fn phase_detail(code: &'static str, phase: StreamPhase) -> Detail {
    Detail::new(code)
        .with_figure("phase", phase.as_str())
        .with_figure("partial_output", phase == StreamPhase::MidStream)
}

impl Normalizer {
    /// A [`StreamReader`] that normalizes with this normalizer's limits, clock and overrides.
    pub fn stream_reader(&self, style: Option<Style>, status: StatusCode, headers: &HeaderMap) -> StreamReader {
        StreamReader::with(self, style, status, headers)
    }

    /// Reads a whole stream body as if it had arrived in chunks; the first error in it, or
    /// `None` when the stream completed.
    ///
    /// ```
    /// use llm_error_taxonomy::{ErrorCode, Normalizer, StreamPhase};
    /// use http::{HeaderMap, StatusCode};
    ///
    /// let body = b"event: message_start\ndata: {\"type\": \"message_start\"}\n\n\
    ///     event: error\ndata: {\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\", \"message\": \"Overloaded\"}}\n\n";
    /// let err = Normalizer::new().normalize_stream(None, StatusCode::OK, &HeaderMap::new(), body).unwrap();
    /// assert_eq!(err.error().code(), ErrorCode::ModelOverloaded);
    /// assert_eq!(err.phase(), StreamPhase::BeforeFirstToken);
    /// assert!(err.is_retry_safe());
    /// ```
    pub fn normalize_stream(
        &self,
        style: Option<Style>,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Option<StreamError> {
        /// The size of the pieces a whole body is fed in, as a network read might deliver it.
        const CHUNK: usize = 4096;
        let mut reader = self.stream_reader(style, status, headers);
        for chunk in body.chunks(CHUNK) {
            if let Some(err) = reader.push(chunk) {
                return Some(err);
            }
        }
        reader.finish()
    }
}

/// What one payload's probes found, by the stream sections being read.
#[derive(Debug, Default)]
struct Found {
    error: bool,
    finish_error: Option<&'static str>,
    done: bool,
    output: bool,
}

impl Found {
    fn of(caps: &Captures<'_>, specs: &[&'static StreamSpec]) -> Found {
        let mut found = Found::default();
        for spec in specs {
            let text = |i: usize| caps.probe(i).and_then(|p| p.text.as_deref());
            found.error |= spec.error_paths.iter().any(|&i| caps.probe(i).is_some_and(|p| p.seen))
                || spec.error_values.iter().any(|&(i, want)| text(i) == Some(want));
            for reason in spec.finish_reason.iter().filter_map(|&i| text(i)) {
                if found.finish_error.is_none() {
                    found.finish_error = spec.error_finish_reasons.iter().copied().find(|r| *r == reason);
                }
                found.done |= spec.done_finish_reasons.contains(&reason);
            }
            found.output |= spec.output.iter().any(|&i| caps.probe(i).is_some_and(|p| p.filled));
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader() -> StreamReader {
        StreamReader::new(None, StatusCode::OK, &HeaderMap::new())
    }

    #[test]
    fn probes_follow_array_wildcards() {
        let r = reader();
        let data = br#"{"id": "x", "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": null},
                                   {"delta": {"content": "hi"}, "finish_reason": "error"}]}"#;
        let (caps, whole) = Captures::walk(data, r.normalizer.limits()).unwrap();
        assert!(whole);
        let found = Found::of(&caps, r.set.specs);
        assert!(!found.error);
        assert!(found.output);
        assert_eq!(found.finish_error, Some("error"));
    }

    #[test]
    fn empty_and_null_values_are_not_output() {
        let mut r = reader();
        for event in [
            &b"data: {\"choices\": [{\"delta\": {\"role\": \"assistant\", \"content\": \"\"}}]}\n\n"[..],
            b"data: {\"choices\": [{\"delta\": {\"content\": null}}]}\n\n",
            b"data: {\"choices\": [{\"delta\": {\"tool_calls\": []}}]}\n\n",
            b"event: ping\ndata: {\"type\": \"ping\"}\n\n",
            b"data: {\"error\": null, \"choices\": []}\n\n",
        ] {
            assert!(r.push(event).is_none());
        }
        assert_eq!(r.phase(), StreamPhase::BeforeFirstToken);
        assert_eq!(r.events(), 5);
    }

    const DELTA: &[u8] = b"data: {\"choices\": [{\"delta\": {\"content\": \"hi\"}, \"finish_reason\": null}]}\n\n";

    /// The first error after output has been seen, for a reader of `style`.
    fn after_output(style: Option<Style>, tail: &[u8]) -> Option<StreamError> {
        let mut r = StreamReader::new(style, StatusCode::OK, &HeaderMap::new());
        assert!(r.push(DELTA).is_none());
        assert_eq!(r.phase(), StreamPhase::MidStream);
        r.push(tail).or_else(|| r.finish())
    }

    /// Once output has been seen, payloads are parsed only when they may hold an error or the
    /// end; what can hide a trigger word (a `\u` escape) is parsed.
    #[test]
    fn after_output_errors_and_ends_are_still_found() {
        for style in [None, Some(Style::OpenAI)] {
            let err =
                after_output(style, b"data: {\"error\": {\"message\": \"boom\", \"type\": \"server_error\"}}\n\n");
            assert_eq!(err.map(|e| e.phase()), Some(StreamPhase::MidStream), "{style:?}");
            let escaped = after_output(style, b"data: {\"\\u0065rror\": {\"message\": \"boom\"}}\n\n");
            assert!(escaped.is_some(), "{style:?}: a key spelled with an escape");
            let filtered = after_output(
                style,
                b"data: {\"choices\": [{\"delta\": {}, \"finish_reason\": \"error\"}]}\n\ndata: [DONE]\n\n",
            );
            assert!(filtered.is_some(), "{style:?}: a finish reason that fails");
            // Payloads that hold neither are skipped, and the end is still seen.
            for marker in [&b"\xC2\xA0[DONE]\xC2\xA0"[..], b"[DONE]\xC2\xA0", b"\xC2\xA0[DONE]", b"\x0b[DONE]"] {
                let mut tail = DELTA.repeat(3);
                tail.extend_from_slice(&[&b"data: "[..], marker, b"\n\n"].concat());
                assert!(after_output(style, &tail).is_none(), "{style:?}: {marker:?} with white space of Unicode");
            }
            // A stream that ends without its marker is the crate's error, with the response's facts.
            let dropped = after_output(style, b"").expect("dropped");
            assert_eq!(dropped.error().reason(), Some(STREAM_DROPPED));
            assert_eq!((dropped.error().upstream().style, dropped.error().upstream().status), (style, Some(200)));
        }
        // The words a string must begin with: `error` as a key but not inside a word or a value.
        let set = stream_set(None);
        assert!(set.may_signal(br#"{"error": 1}"#) && set.may_signal(br#"{"x": "errors"}"#));
        assert!(!set.may_signal(br#"{"content": "an error", "terror": 1}"#));
        assert!(set.may_signal(br#"{"content": "\u00e9"}"#), "an escape could spell a word");
        // Every trigger of every reader's set is found, as a key and as a value, wherever the
        // scan's words of eight bytes cut it.
        for style in <Style as strum::IntoEnumIterator>::iter().map(Some).chain([None]) {
            let set = stream_set(style);
            for word in set.triggers {
                for pad in 0..9 {
                    let pad = " ".repeat(pad);
                    for payload in [format!(r#"{{{pad}"{word}": 1}}"#), format!(r#"{{"x":{pad}"{word}"}}"#)] {
                        assert!(set.may_signal(payload.as_bytes()), "{style:?}: {payload}");
                    }
                }
            }
        }
    }

    /// The vector search and the search eight bytes at a time find the same payloads: every
    /// trigger of every set after a quote or not, whole or cut short, in payloads of the bytes
    /// both turn on.
    #[test]
    fn the_vector_search_agrees_with_the_word_search() {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        for style in <Style as strum::IntoEnumIterator>::iter().map(Some).chain([None]) {
            let set = stream_set(style);
            if set.always_read {
                continue;
            }
            let searcher = set.build_searcher();
            #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
            assert!(searcher.is_some(), "{style:?}: no vector search on this machine");
            let Some(searcher) = searcher else { continue };
            let mut pieces: Vec<String> =
                ["\"", "\\", "u", "{", "}", ":", ",", " ", "x", "_", "\u{e9}"].map(String::from).to_vec();
            for word in set.triggers {
                pieces.push(word.to_string());
                pieces.push(word[..word.len() - 1].to_string());
                pieces.push(word.to_ascii_uppercase());
                pieces.push(word.to_ascii_lowercase());
            }
            let mut found = 0;
            for _ in 0..4000 {
                let payload: String = (0..1 + next(24)).map(|_| pieces[next(pieces.len())].as_str()).collect();
                let data = payload.as_bytes();
                // Both read a payload with a `\u` escape (the vector search, in `may_signal`).
                let escape = data.windows(2).any(|w| w == b"\\u");
                let vector = escape || searcher.find(data).is_some();
                assert_eq!(vector, escape || set.opens_a_trigger(data), "{style:?}: {payload}");
                found += usize::from(vector);
            }
            assert!((100..3900).contains(&found), "{style:?}: {found} of 4,000 payloads read");
        }
    }

    /// An end event that fails (Cohere's `message-end` with a finish reason that is an error)
    /// reports its error and ends the stream too.
    #[test]
    fn a_failing_end_event_ends_the_stream() {
        let headers =
            HeaderMap::from_iter([(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/event-stream"))]);
        let body = concat!(
            "event: content-delta\ndata: {\"type\":\"content-delta\",\"delta\":{\"message\":{\"content\":{\"text\":\"Hi\"}}}}\n\n",
            "event: message-end\ndata: {\"type\":\"message-end\",\"delta\":{\"finish_reason\":\"ERROR\"}}\n\n",
        );
        for style in [None, Some(Style::Cohere)] {
            let mut reader = Normalizer::new().stream_reader(style, StatusCode::OK, &headers);
            let err = reader.push(body.as_bytes()).expect("an error");
            assert_eq!(err.phase(), StreamPhase::MidStream, "{style:?}");
            assert!(reader.is_done(), "{style:?}");
        }
    }

    /// Ollama's NDJSON stream ends with a `done_reason`; an error line after output is mid-stream.
    #[test]
    fn ollama_streams_end_and_fail_mid_stream() {
        let line = b"{\"model\":\"llama3.2\",\"created_at\":\"2024-12-01T10:00:00Z\",\"message\":{\"role\":\"assistant\",\"content\":\" there\"},\"done\":false}\n";
        let last = b"{\"model\":\"llama3.2\",\"created_at\":\"2024-12-01T10:00:01Z\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done_reason\":\"stop\",\"done\":true}\n";
        let headers = HeaderMap::from_iter([(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/x-ndjson"),
        )]);
        for style in [None, Some(Style::Ollama)] {
            let n = Normalizer::new();
            let whole = [&line[..], line, last].concat();
            assert!(n.normalize_stream(style, StatusCode::OK, &headers, &whole).is_none(), "{style:?}: complete");
            let failed =
                [&line[..], b"{\"error\":\"an error was encountered while running the model: unexpected EOF\"}\n"]
                    .concat();
            let err = n.normalize_stream(style, StatusCode::OK, &headers, &failed).expect("an error");
            assert_eq!(err.phase(), StreamPhase::MidStream, "{style:?}");
            assert!(!err.is_retry_safe());
        }
    }
}
