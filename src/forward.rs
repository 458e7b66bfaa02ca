//! Forwarding an upstream stream to the client, up to its first error (feature `futures`).
//!
//! A gateway that forwards an upstream's chunks as they arrive cannot wait for
//! [`StreamReader::push`] to report an error after the chunk holding it: the client would get
//! the provider's raw error frame and then the gateway's. [`ForwardStream`] holds back only the
//! event that is still arriving: each event goes out once it is complete and the reader found no
//! error in it. The event that carries an error is never forwarded; the stream ends with the
//! crate's own error event instead, in the [`WireFormat`] the client speaks, and
//! [`StreamOutcome`] tells the gateway what happened and whether output had already gone out.

use crate::code::TransportFailure;
use crate::normalize::Normalizer;
use crate::stream::{Framing, StreamError, StreamReader};
use crate::table::Style;
use crate::wire::WireFormat;
use bytes::Bytes;
use futures_core::Stream;
use http::{HeaderMap, StatusCode};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

/// What became of a forwarded stream, readable while and after it runs.
#[derive(Debug, Clone, Default)]
pub struct StreamOutcome(Arc<Mutex<OutcomeState>>);

#[derive(Debug, Default)]
struct OutcomeState {
    error: Option<StreamError>,
    forwarded: u64,
    finished: bool,
}

impl StreamOutcome {
    fn state(&self) -> MutexGuard<'_, OutcomeState> {
        // The state is plain data: a panic elsewhere leaves it whole.
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The error the stream ended with: the upstream's first, a drop, or the upstream's body
    /// failing; `None` while it runs and for a stream that completed.
    pub fn error(&self) -> Option<StreamError> {
        self.state().error.clone()
    }

    /// How many bytes of the upstream's own output went out to the client.
    pub fn forwarded_bytes(&self) -> u64 {
        self.state().forwarded
    }

    /// Whether the stream has ended, with an error or not.
    pub fn is_finished(&self) -> bool {
        self.state().finished
    }
}

/// An upstream body, `Stream<Item = Result<Bytes, E>>`, forwarded event by event up to its
/// first error, which is replaced by the crate's own error event.
///
/// Its items are `Result<Bytes, Infallible>`, what `axum::body::Body::from_stream` and hyper
/// bodies take: the upstream's failure is reported in the stream, as the error event, not as
/// an item error.
///
/// ```
/// use bytes::Bytes;
/// use futures_util::StreamExt;
/// use llm_error_taxonomy::{ForwardStream, WireFormat};
/// use http::{HeaderMap, StatusCode};
///
/// let upstream = futures_util::stream::iter([
///     Ok::<_, std::io::Error>(Bytes::from_static(b"data: {\"choices\": [{\"delta\": {\"content\": \"Hi\"}}]}\n\n")),
///     Ok(Bytes::from_static(b"data: {\"error\": {\"message\": \"Overloaded\", \"type\": \"server_error\"}}\n\n")),
/// ]);
/// let mut headers = HeaderMap::new();
/// headers.insert("content-type", "text/event-stream".parse().unwrap());
/// let forward = ForwardStream::new(None, StatusCode::OK, &headers, upstream).with_format(WireFormat::OpenAi);
/// let outcome = forward.outcome();
/// let sent: Vec<Bytes> = futures_executor::block_on(forward.map(|c| c.unwrap()).collect());
/// let sent = String::from_utf8(sent.concat()).unwrap();
/// assert!(sent.starts_with("data: {\"choices\""));
/// assert!(!sent.contains("\"type\": \"server_error\""), "the upstream's error frame is not forwarded");
/// assert!(sent.ends_with("\n\n") && sent.contains("\"type\":\"server_error\""), "the crate's frame ends it");
/// assert!(outcome.error().unwrap().partial_output());
/// ```
pub struct ForwardStream<S> {
    upstream: Pin<Box<S>>,
    reader: Option<StreamReader>,
    normalizer: Normalizer,
    style: Option<Style>,
    format: WireFormat,
    framing: Option<Framing>,
    /// Bytes of the event still arriving, held back.
    held: Vec<u8>,
    /// Where the scan for an event's end goes on in `held`.
    scanned: usize,
    /// Whether the last byte scanned ended a line, and was a CR.
    line_start: bool,
    after_cr: bool,
    ready: VecDeque<Bytes>,
    outcome: StreamOutcome,
    ended: bool,
}

impl<S, E> ForwardStream<S>
where
    S: Stream<Item = Result<Bytes, E>>,
{
    /// Forwards `upstream`, the body of a response with `status` and `headers`, read in
    /// `style` (`None`: each error's style is recognized from its shape), with the default
    /// [`Normalizer`].
    pub fn new(style: Option<Style>, status: StatusCode, headers: &HeaderMap, upstream: S) -> Self {
        Normalizer::DEFAULT.forward_stream(style, status, headers, upstream)
    }

    /// The wire format of the error event that ends a failed stream (default
    /// [`WireFormat::ModelRoute`]).
    #[must_use]
    pub fn with_format(mut self, format: WireFormat) -> Self {
        self.format = format;
        self
    }

    /// A handle on what became of the stream, to keep before the stream is handed to the body.
    pub fn outcome(&self) -> StreamOutcome {
        self.outcome.clone()
    }

    /// Ends the stream with `error`: its event goes out instead of anything held back.
    fn fail(&mut self, error: StreamError) {
        let event = match self.framing {
            Some(Framing::Sse) | None => error.error().to_sse_event_in(self.format),
            _ => error.error().to_json_in(self.format) + "\n",
        };
        self.held.clear();
        self.ready.push_back(Bytes::from(event));
        let mut state = self.outcome.state();
        state.error = Some(error);
        state.finished = true;
        drop(state);
        self.ended = true;
        self.reader = None;
    }

    fn forward(&mut self, event: Vec<u8>) {
        if event.is_empty() {
            return;
        }
        self.outcome.state().forwarded += event.len() as u64;
        self.ready.push_back(Bytes::from(event));
    }

    /// The end of the next whole event in `held`, scanning on from where the last scan ended.
    fn next_event_end(&mut self) -> Option<usize> {
        match self.framing? {
            Framing::EventStream => {
                // A message starts with its total length; anything shorter than a prelude and
                // its checksums is corrupt, and is handed whole to the reader, which says so.
                let total = u32::from_be_bytes(self.held.get(..4)?.try_into().ok()?) as usize;
                if total < 16 {
                    return Some(self.held.len());
                }
                (self.held.len() >= total).then_some(total)
            }
            framing => {
                // Lines end with LF, CRLF or CR; an SSE event with an empty line, an NDJSON
                // value with its line.
                while self.scanned < self.held.len() {
                    let at = self.scanned;
                    let b = self.held[at];
                    self.scanned += 1;
                    if b == b'\n' && self.after_cr {
                        self.after_cr = false;
                        continue;
                    }
                    self.after_cr = b == b'\r';
                    if b != b'\n' && b != b'\r' {
                        self.line_start = false;
                        continue;
                    }
                    let ends = framing == Framing::Ndjson || self.line_start;
                    self.line_start = true;
                    if ends {
                        // A CRLF's LF goes with its event.
                        if b == b'\r' && self.held.get(at + 1) == Some(&b'\n') {
                            self.scanned += 1;
                            self.after_cr = false;
                        }
                        return Some(self.scanned);
                    }
                }
                None
            }
        }
    }

    /// Takes a chunk: every event it completes goes out, unless it holds an error.
    fn take(&mut self, chunk: &[u8]) {
        self.held.extend_from_slice(chunk);
        if self.framing.is_none() {
            match self.held.iter().position(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n')) {
                Some(i) => self.framing = Some(Framing::of_first_byte(self.held[i])),
                None => return,
            }
        }
        while let Some(end) = self.next_event_end() {
            let rest = self.held.split_off(end);
            let event = std::mem::replace(&mut self.held, rest);
            self.scanned = 0;
            let found = self.reader.as_mut().and_then(|r| r.push(&event));
            match found {
                Some(error) => return self.fail(error),
                None => self.forward(event),
            }
        }
    }

    /// The upstream's body ended: what is held goes to the reader, then its end.
    fn end(&mut self) {
        let Some(mut reader) = self.reader.take() else { return };
        let tail = std::mem::take(&mut self.held);
        let found = reader.push(&tail).or_else(|| reader.finish());
        match found {
            Some(error) => self.fail(error),
            None => {
                self.forward(tail);
                self.outcome.state().finished = true;
                self.ended = true;
            }
        }
    }

    /// The upstream's body failed: the transport failure, mid-stream when output went out.
    fn broken(&mut self) {
        let delivered = self.outcome.forwarded_bytes() > 0;
        let failure = self.normalizer.transport_failure(self.style, TransportFailure::ResetAfterHeaders, delivered);
        self.fail(failure);
    }
}

impl<S, E> Stream for ForwardStream<S>
where
    S: Stream<Item = Result<Bytes, E>>,
{
    type Item = Result<Bytes, Infallible>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        // Every field is `Unpin` (the upstream is boxed).
        let this = self.get_mut();
        loop {
            if let Some(bytes) = this.ready.pop_front() {
                return Poll::Ready(Some(Ok(bytes)));
            }
            if this.ended {
                return Poll::Ready(None);
            }
            match this.upstream.as_mut().poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(chunk))) => this.take(&chunk),
                Poll::Ready(Some(Err(_))) => this.broken(),
                Poll::Ready(None) => this.end(),
            }
        }
    }
}

impl Normalizer {
    /// A [`ForwardStream`] that normalizes with this normalizer's limits, clock and overrides.
    pub fn forward_stream<S, E>(
        &self,
        style: Option<Style>,
        status: StatusCode,
        headers: &HeaderMap,
        upstream: S,
    ) -> ForwardStream<S>
    where
        S: Stream<Item = Result<Bytes, E>>,
    {
        ForwardStream {
            upstream: Box::pin(upstream),
            reader: Some(self.stream_reader(style, status, headers)),
            normalizer: self.clone(),
            style,
            format: WireFormat::default(),
            framing: Framing::of(headers),
            held: Vec::new(),
            scanned: 0,
            line_start: true,
            after_cr: false,
            ready: VecDeque::new(),
            outcome: StreamOutcome::default(),
            ended: false,
        }
    }
}
