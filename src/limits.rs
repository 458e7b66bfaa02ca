//! Resource bounds: how much of an upstream response is read and kept.

use std::time::Duration;

/// Bounds on what [`Normalizer`](crate::Normalizer) reads and emits.
///
/// Every bound holds whatever the input: a body over `max_body_bytes` is classified by its
/// status without being parsed, strings are cut on a character boundary, details are capped
/// and `retry_after` is clamped.
///
/// What follows for a gateway that reads bytes strangers control:
///
/// - **Time is linear in the input.** The body is walked once, recursing only along the
///   tables' field paths; every other value (and a nested value where a string or number is
///   read) is skipped without being built and without recursion, however deeply it nests. A
///   stream is read line by line, each event once.
/// - **Memory is bounded by the input and the limits.** Plain strings are borrowed from the
///   body; the largest transient copy is one unescaped string or one header value, and a
///   stream holds at most one event of `max_body_bytes`. A body over `max_body_bytes` is not
///   copied at all.
/// - **What is emitted is bounded by the limits alone:** at most `max_details` details, each
///   string within `max_message_bytes` or `max_field_bytes`, and a delay within
///   `max_retry_after`, whatever the input's size. The crate's own words (reasons such as
///   `GATEWAY_LAYER`, field and style names) are not upstream text and are never cut.
///
/// `tests/bounds.rs` measures the first two by counting allocations for 1 KiB and 1 MiB
/// inputs of several shapes; `tests/adversarial.rs` and the fuzz targets in `fuzz/` check the
/// third on hostile input.
///
/// ```
/// use llm_error_taxonomy::Limits;
/// let mut limits = Limits::default();
/// limits.max_body_bytes = 64 * 1024;
/// assert_eq!(limits.max_details, 16);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Bodies larger than this are not parsed (default 1 MiB).
    pub max_body_bytes: usize,
    /// The message is cut to this many bytes, on a character boundary (default 1024).
    pub max_message_bytes: usize,
    /// Codes, types, fields, request ids and other short strings are cut to this (default 256).
    pub max_field_bytes: usize,
    /// At most this many details entries are kept (default 16).
    pub max_details: usize,
    /// `retry_after` is clamped to this (default one day).
    pub max_retry_after: Duration,
}

impl Limits {
    /// The defaults, usable in `const` context.
    pub const DEFAULT: Limits = Limits {
        max_body_bytes: 1024 * 1024,
        max_message_bytes: 1024,
        max_field_bytes: 256,
        max_details: 16,
        max_retry_after: Duration::from_secs(86_400),
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}
