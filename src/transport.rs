//! Failures with no upstream response, or with one cut short.
//!
//! Timeouts, refused connections, unresolved names, failed TLS handshakes and resets are the
//! most common upstream failures, and they have no status or body to normalize. Each
//! [`TransportFailure`] becomes the error `taxonomy/transport.json` gives it: a code, a reason
//! in the first details entry (with the phase and the failure's name), and a message.

use crate::code::TransportFailure;
use crate::error::{NormalizedError, Upstream};
use crate::normalize::Normalizer;
use crate::stream::{StreamError, StreamPhase, phase_detail};
use crate::table::Style;

impl Normalizer {
    /// The error for a failure with no usable upstream response, with its stream phase.
    ///
    /// `style` is the upstream's style when the gateway knows it (it is kept in the upstream
    /// facts). `output_delivered` says whether any of the upstream's output had already been
    /// forwarded to the client: the failure is then [mid-stream](StreamPhase::MidStream) and
    /// a retry would repeat that output. It matters only for failures
    /// [after the headers](TransportFailure::after_headers); one before them is always before
    /// the first token.
    ///
    /// ```
    /// use llm_error_taxonomy::{ErrorCode, Normalizer, StreamPhase, TransportFailure};
    ///
    /// let failed = Normalizer::new().transport_failure(None, TransportFailure::ConnectTimeout, false);
    /// assert_eq!(failed.error().code(), ErrorCode::ServiceUnavailable);
    /// assert_eq!(failed.error().reason(), Some("CONNECT_TIMEOUT"));
    /// assert!(failed.is_retry_safe());
    ///
    /// let cut = Normalizer::new().transport_failure(None, TransportFailure::ResetAfterHeaders, true);
    /// assert_eq!(cut.error().code(), ErrorCode::GenerationFailed);
    /// assert_eq!(cut.phase(), StreamPhase::MidStream);
    /// assert!(!cut.is_retry_safe(), "the client already has part of the output");
    /// ```
    pub fn transport_failure(
        &self,
        style: Option<Style>,
        failure: TransportFailure,
        output_delivered: bool,
    ) -> StreamError {
        let phase = if failure.after_headers() && output_delivered {
            StreamPhase::MidStream
        } else {
            StreamPhase::BeforeFirstToken
        };
        let detail = phase_detail(failure.reason(), phase).with_figure("failure", failure.as_str());
        let mut error = NormalizedError::new(failure.code());
        error.set_message(failure.message());
        error.details.push(detail);
        error.upstream = Upstream { style, ..Upstream::default() };
        self.apply_overrides(&mut error);
        StreamError::new(error, phase, 0)
    }
}

/// The same as [`Normalizer::transport_failure`] with the default normalizer.
///
/// ```
/// use llm_error_taxonomy::{transport_failure, ErrorCode, TransportFailure};
/// use strum::IntoEnumIterator;
///
/// for failure in TransportFailure::iter() {
///     let failed = transport_failure(failure, false);
///     assert_eq!(failed.error().code(), failure.code());
///     assert_eq!(failed.error().reason(), Some(failure.reason()));
/// }
/// assert_eq!(transport_failure(TransportFailure::TimeoutBeforeHeaders, false).error().code(), ErrorCode::GenerationTimeout);
/// ```
pub fn transport_failure(failure: TransportFailure, output_delivered: bool) -> StreamError {
    Normalizer::DEFAULT.transport_failure(None, failure, output_delivered)
}
