//! reqwest glue (feature `reqwest`): its errors as transport failures, and a bounded read of a
//! response.

use crate::code::TransportFailure;
use crate::error::NormalizedError;
use crate::normalize::Normalizer;
use crate::table::Style;
use std::error::Error as _;

/// The transport failure a `reqwest::Error` reports: a timeout (connecting, before the
/// headers or mid-body), a connection that could not be made (refused, a name that did not
/// resolve, a TLS handshake that failed) or that broke (before the headers, or mid-body: cut
/// short or reset).
///
/// reqwest says which stage failed (`is_connect`, `is_timeout`, `is_body`); what exactly
/// failed in a connection is read from the error's sources: an I/O error's kind, and hyper's
/// own words for a name that did not resolve ("dns error") and for a TLS failure.
impl From<&reqwest::Error> for TransportFailure {
    fn from(e: &reqwest::Error) -> Self {
        let mut kinds = Vec::new();
        let mut words = String::new();
        let mut source = e.source();
        while let Some(s) = source {
            if let Some(io) = s.downcast_ref::<std::io::Error>() {
                kinds.push(io.kind());
            }
            words.push_str(&s.to_string().to_ascii_lowercase());
            words.push('\n');
            source = s.source();
        }
        let mid_body = e.is_body() || e.is_decode();
        if e.is_timeout() {
            return if e.is_connect() {
                TransportFailure::ConnectTimeout
            } else if mid_body {
                TransportFailure::TimeoutMidBody
            } else {
                TransportFailure::TimeoutBeforeHeaders
            };
        }
        if e.is_connect() {
            return if words.contains("dns error") {
                TransportFailure::Dns
            } else if ["tls", "ssl", "certificate", "handshake"].iter().any(|w| words.contains(w)) {
                TransportFailure::Tls
            } else if kinds.contains(&std::io::ErrorKind::TimedOut) {
                TransportFailure::ConnectTimeout
            } else if kinds.contains(&std::io::ErrorKind::ConnectionReset) {
                TransportFailure::ResetBeforeHeaders
            } else {
                TransportFailure::ConnectionRefused
            };
        }
        if mid_body {
            return if kinds.contains(&std::io::ErrorKind::UnexpectedEof) || words.contains("end of file") {
                TransportFailure::BodyCutShort
            } else {
                TransportFailure::ResetAfterHeaders
            };
        }
        TransportFailure::ResetBeforeHeaders
    }
}

impl Normalizer {
    /// Reads `response` as [`inspect_reader`](Normalizer::inspect_reader) reads a body: a
    /// stream chunk by chunk up to its first error, any other body no further than the
    /// limit and a byte; the failure it reports, or `None` for a real success.
    ///
    /// A body that fails half-way is read as far as it came: an error status is still the
    /// upstream's error, and a stream that breaks is the transport failure, mid-stream when
    /// output had arrived.
    pub async fn inspect_reqwest(&self, style: Option<Style>, response: reqwest::Response) -> Option<NormalizedError> {
        let mut response = response;
        let status = response.status();
        let headers = response.headers().clone();
        let limit = self.limits().max_body_bytes.saturating_add(1);
        let mut head = Vec::new();
        let mut broken = None;
        while head.len() < limit {
            match response.chunk().await {
                Ok(Some(chunk)) => head.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(e) => {
                    broken = Some(TransportFailure::from(&e));
                    break;
                }
            }
        }
        if !crate::stream::is_event_stream(&headers, &head) {
            if let Some(failure) = broken
                && status.is_success()
            {
                return Some(self.transport_failure(style, failure, false).into_error());
            }
            head.truncate(limit);
            return self.inspect(style, status, &headers, &head);
        }
        let mut reader = self.stream_reader(style, status, &headers);
        let mut found = reader.push(&head);
        while found.is_none() && broken.is_none() {
            match response.chunk().await {
                Ok(Some(chunk)) => found = reader.push(&chunk),
                Ok(None) => break,
                Err(e) => broken = Some(TransportFailure::from(&e)),
            }
        }
        let found = match (found, broken) {
            (Some(err), _) => Some(err),
            (None, Some(failure)) => {
                Some(self.transport_failure(style, failure, reader.phase() == crate::StreamPhase::MidStream))
            }
            (None, None) => reader.finish(),
        };
        self.stream_outcome(style, status, &headers, found, &head)
    }
}
