//! Turning an upstream response into a [`NormalizedError`].

use crate::body::{CLASSIFY_BYTES, Captures, RawDetail, Value, cap};
use crate::code::{ErrorCode, Field};
use crate::error::{Detail, NormalizedError, Upstream};
use crate::few::Few;
use crate::limits::Limits;
use crate::redact::{clean, clean_into, clean_word};
use crate::retry_after::{self, Clock};
use crate::table::{Location, Style, StyleTable, Subject};
use crate::view::{Facts, Reads, View, first_match, flag, longest_delay};
use http::{HeaderMap, StatusCode};
use std::borrow::Cow;

/// Normalizes with the default [`Normalizer`]: default limits, the system clock.
///
/// `style` is the upstream's style when the caller knows it; with `None` the style is
/// [detected](crate::detect) from the body's shape, and a body of no known style is read
/// generically (OpenAI-shaped). Total: every input yields one of the 12 codes, without panicking.
///
/// ```
/// use llm_error_taxonomy::{normalize, ErrorCode};
/// use http::{HeaderMap, StatusCode};
///
/// let body = br#"{"error": {"code": "provider_error", "message": "The upstream provider (anthropic) returned an error.",
///                  "status": 500, "provider": "anthropic", "upstream_status": 529}}"#;
/// let err = normalize(None, StatusCode::INTERNAL_SERVER_ERROR, &HeaderMap::new(), body);
/// assert_eq!(err.code(), ErrorCode::ModelOverloaded);
/// assert_eq!(err.upstream().provider.as_deref(), Some("anthropic"));
/// ```
pub fn normalize(style: Option<Style>, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> NormalizedError {
    Normalizer::DEFAULT.normalize(style, status, headers, body)
}

/// Normalizes upstream responses with configurable limits and clock.
///
/// ```
/// use llm_error_taxonomy::{Clock, Limits, Normalizer, Style, ErrorCode};
/// use http::{HeaderMap, StatusCode};
/// use std::time::{Duration, UNIX_EPOCH};
///
/// let mut limits = Limits::default();
/// limits.max_body_bytes = 16 * 1024;
/// let normalizer = Normalizer::new().with_limits(limits).with_clock(Clock::Fixed(UNIX_EPOCH + Duration::from_secs(1_700_000_000)));
/// let err = normalizer.normalize(Some(Style::ModelRoute), StatusCode::SERVICE_UNAVAILABLE, &HeaderMap::new(), b"");
/// assert_eq!(err.code(), ErrorCode::ServiceUnavailable);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Normalizer {
    limits: Limits,
    clock: Clock,
    overrides: Vec<Override>,
    /// Secret formats a gateway added at run time: a prefix and the fewest token characters.
    secrets: Vec<(String, usize)>,
}

/// A run-time remapping to another code, set with [`Normalizer::remap_reason`] or
/// [`Normalizer::remap_upstream_code`].
#[derive(Debug, Clone, PartialEq, Eq)]
struct Override {
    when: OverrideWhen,
    to: ErrorCode,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum OverrideWhen {
    Reason(String),
    UpstreamCode(Option<Style>, String),
}

impl Override {
    fn matches(&self, style: Option<Style>, reason: Option<&str>, upstream_code: Option<&str>) -> bool {
        match &self.when {
            OverrideWhen::Reason(r) => reason == Some(r.as_str()),
            OverrideWhen::UpstreamCode(s, c) => s.is_none_or(|s| style == Some(s)) && upstream_code == Some(c.as_str()),
        }
    }
}

fn figure(v: &Value<'_>) -> Option<serde_json::Value> {
    match v {
        Value::Str(s) => Some(serde_json::Value::String(s.to_string())),
        Value::Int(i) => Some((*i).into()),
        Value::Float(f) => serde_json::Number::from_f64(*f).map(serde_json::Value::Number),
        Value::Bool(b) => Some((*b).into()),
        Value::Details(_) => None,
    }
}

fn raw_detail(d: &RawDetail<'_>, limits: &Limits) -> Detail {
    let short = |s: &Option<Cow<'_, str>>| {
        s.as_deref().map(|s| clean_word(s, limits.max_field_bytes)).filter(|s| !s.is_empty())
    };
    Detail {
        field: short(&d.field),
        code: short(&d.code),
        message: d.message.as_deref().map(|m| clean(m, limits.max_message_bytes)).filter(|s| !s.is_empty()),
        figures: d
            .figures
            .iter()
            .filter_map(|(k, v)| Some((clean(k, limits.max_field_bytes), figure(v)?)))
            .filter(|(k, _)| crate::error::is_figure_name(k))
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => (k, serde_json::Value::String(clean(&s, limits.max_field_bytes))),
                v => (k, v),
            })
            .collect(),
    }
}

/// The most figures kept per declared details entry.
const MAX_DETAIL_FIGURES: usize = 8;

/// The details a table declares (`DetailsSpec`), read from the captured JSON.
fn declared_details(view: &View<'_, '_>, limits: &Limits, out: &mut Few<Detail>) {
    use serde_json::Value as J;
    let Some(caps) = view.caps else { return };
    for spec in view.table.details {
        if out.len() >= limits.max_details {
            return;
        }
        let value = match spec.at {
            Location::Deep { anchor, rest, .. } => {
                caps.anchor_value(anchor).and_then(|v| crate::body::deep_ref(v, rest))
            }
            _ => None,
        };
        let entries: Vec<(Option<&str>, &serde_json::Map<String, J>)> = match (value, spec.keyed) {
            (Some(J::Array(a)), false) => a.iter().filter_map(|e| Some((None, e.as_object()?))).collect(),
            (Some(J::Object(m)), true) => {
                m.iter().filter_map(|(k, e)| Some((Some(k.as_str()), e.as_object()?))).collect()
            }
            _ => continue,
        };
        for (key, entry) in entries {
            if out.len() >= limits.max_details {
                return;
            }
            if spec.only_if.is_some_and(|m| entry.get(m) != Some(&J::Bool(true))) {
                continue;
            }
            let member = |m: Option<&str>| m.and_then(|m| entry.get(m)?.as_str());
            let short = |s: Option<&str>| {
                s.map(|s| clean_word(cap(s, CLASSIFY_BYTES), limits.max_field_bytes)).filter(|s| !s.is_empty())
            };
            let mut d = Detail {
                field: short(member(spec.field)),
                code: short(key.or(member(spec.code))),
                message: member(spec.message)
                    .map(|m| clean(cap(m, CLASSIFY_BYTES), limits.max_message_bytes))
                    .filter(|s| !s.is_empty()),
                ..Detail::default()
            };
            let named = [spec.field, spec.code, spec.message, spec.only_if];
            for (k, v) in entry.iter().filter(|(k, _)| !named.contains(&Some(k.as_str()))) {
                if d.figures.len() >= MAX_DETAIL_FIGURES {
                    break;
                }
                let k = clean(cap(k, CLASSIFY_BYTES), limits.max_field_bytes);
                let v = match v {
                    J::String(s) => J::String(clean(cap(s, CLASSIFY_BYTES), limits.max_field_bytes)),
                    J::Number(_) | J::Bool(_) => v.clone(),
                    _ => continue,
                };
                if crate::error::is_figure_name(&k) && !k.is_empty() {
                    d.figures.insert(k, v);
                }
            }
            out.push(d);
        }
    }
}

impl Normalizer {
    /// The default normalizer, usable in `const` context.
    pub const DEFAULT: Normalizer =
        Normalizer { limits: Limits::DEFAULT, clock: Clock::System, overrides: Vec::new(), secrets: Vec::new() };

    /// A normalizer with default limits and the system clock.
    pub fn new() -> Self {
        Normalizer::DEFAULT
    }

    /// Sets the resource limits.
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Sets where "now" comes from for HTTP-dates when the response has no `Date` header.
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Maps every error whose reason (its first detail's code, such as `INVALID_API_KEY`) is
    /// `reason` to `code`, at run time and without editing the tables.
    ///
    /// Overrides are tried in the order they were added; the first that matches wins. The
    /// status and retryable flag follow the new code, and a retry delay is kept only if the new
    /// code is retryable.
    ///
    /// ```
    /// use llm_error_taxonomy::{ErrorCode, Normalizer, Style};
    /// use http::{HeaderMap, StatusCode};
    ///
    /// // A client-side tool whose user supplies the key: a rejected key is the caller's input.
    /// let normalizer = Normalizer::new().remap_reason("INVALID_API_KEY", ErrorCode::InputValidationError);
    /// let body = br#"{"error": {"message": "Invalid API key", "type": "authentication_error", "code": "invalid_api_key"}}"#;
    /// let err = normalizer.normalize(Some(Style::ModelBridge), StatusCode::UNAUTHORIZED, &HeaderMap::new(), body);
    /// assert_eq!(err.code(), ErrorCode::InputValidationError);
    /// assert_eq!(err.status(), StatusCode::BAD_REQUEST);
    /// assert_eq!(err.reason(), Some("INVALID_API_KEY"));
    /// ```
    #[must_use]
    pub fn remap_reason(mut self, reason: &str, code: ErrorCode) -> Self {
        self.overrides.push(Override { when: OverrideWhen::Reason(reason.to_owned()), to: code });
        self
    }

    /// Maps every error whose upstream code (the body's own, such as `timeout`) is
    /// `upstream_code` to `code`: in one style, or in any with `None`. Tried in order with
    /// [`remap_reason`](Normalizer::remap_reason) overrides.
    ///
    /// ```
    /// use llm_error_taxonomy::{ErrorCode, Normalizer, Style};
    /// use http::{HeaderMap, StatusCode};
    ///
    /// let normalizer = Normalizer::new().remap_upstream_code(Style::ModelBridge, "timeout", ErrorCode::ModelOverloaded);
    /// let body = br#"{"error": {"message": "Upstream request timed out", "type": "server_error", "code": "timeout"}}"#;
    /// let err = normalizer.normalize(Some(Style::ModelBridge), StatusCode::GATEWAY_TIMEOUT, &HeaderMap::new(), body);
    /// assert_eq!(err.code(), ErrorCode::ModelOverloaded);
    /// assert_eq!(err.status(), StatusCode::SERVICE_UNAVAILABLE);
    /// assert!(err.is_retryable());
    /// ```
    #[must_use]
    pub fn remap_upstream_code(
        mut self,
        style: impl Into<Option<Style>>,
        upstream_code: &str,
        code: ErrorCode,
    ) -> Self {
        self.overrides
            .push(Override { when: OverrideWhen::UpstreamCode(style.into(), upstream_code.to_owned()), to: code });
        self
    }

    /// Also redacts secrets that start with `prefix` followed by at least `min_len` token
    /// characters (letters, digits, `_` and `-`), beside the formats of `taxonomy/secrets.json`:
    /// a gateway's own keys, or a provider's the tables do not list yet.
    ///
    /// ```
    /// use llm_error_taxonomy::{Normalizer, Style};
    /// use http::{HeaderMap, StatusCode};
    ///
    /// let normalizer = Normalizer::new().redact_secret_format("acme_", 16);
    /// let body = br#"{"error": {"message": "Key acme_0123456789abcdef0123 was revoked", "code": "invalid_api_key"}}"#;
    /// let err = normalizer.normalize(Some(Style::OpenAI), StatusCode::UNAUTHORIZED, &HeaderMap::new(), body);
    /// assert_eq!(err.message(), "Key acme_**** was revoked");
    /// ```
    #[must_use]
    pub fn redact_secret_format(mut self, prefix: &str, min_len: usize) -> Self {
        if !prefix.is_empty() {
            self.secrets.push((prefix.to_owned(), min_len));
        }
        self
    }

    /// Applies the run-time secret formats to everything `err` emits.
    pub(crate) fn redact_extra(&self, err: &mut NormalizedError) {
        if !self.secrets.is_empty() {
            err.map_strings(&mut |s| match crate::redact::redact_formats(s, &self.secrets) {
                Cow::Owned(o) => Some(o),
                Cow::Borrowed(_) => None,
            });
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The code an error ends with after the overrides.
    fn remapped(
        &self,
        code: ErrorCode,
        style: Option<Style>,
        reason: Option<&str>,
        upstream_code: Option<&str>,
    ) -> ErrorCode {
        self.overrides.iter().find(|o| o.matches(style, reason, upstream_code)).map_or(code, |o| o.to)
    }

    /// Applies the overrides to an error the crate made itself (such as a dropped stream).
    pub(crate) fn apply_overrides(&self, err: &mut NormalizedError) {
        if self.overrides.is_empty() {
            return;
        }
        let old = err.code;
        let new = self.remapped(old, err.upstream.style, err.reason(), err.upstream.code.as_deref());
        if new != old {
            err.code = new;
            if !new.is_retryable() {
                err.retry_after = None;
            }
            if err.message() == old.default_message() {
                err.set_message(new.default_message());
            }
        }
    }

    /// Normalizes one upstream error response; see [`normalize`].
    pub fn normalize(
        &self,
        style: Option<Style>,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> NormalizedError {
        self.normalize_event(style, status, headers, body, None)
    }

    /// Normalizes a body read inside a stream, whose event has this name.
    pub(crate) fn normalize_event(
        &self,
        style: Option<Style>,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
        event: Option<&str>,
    ) -> NormalizedError {
        self.read_layer(style, status, headers, body, event, 0).0
    }

    /// Normalizes a body that may be a gateway's error carrying the upstream's own error
    /// `depth` layers down; with whether the reading is specific (a rule that tests more than
    /// the status decided it, in this layer or one inside it).
    fn read_layer(
        &self,
        style: Option<Style>,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
        event: Option<&str>,
        depth: usize,
    ) -> (NormalizedError, bool) {
        let caps = Captures::read(body, &self.limits);
        let reads = Reads::new();
        // A response without this table's envelope is read by status alone, with the table's
        // fallbacks by status: its own, then the generic table's (the policy for "no usable body").
        let (style, view, usable) = self.read_through(style, status, caps.as_ref(), headers, event, &reads);
        if usable && let Some(err) = self.unwrap_inner(style, status, &view, &reads, depth) {
            return (err, true);
        }
        if usable {
            self.build_reading(style, status, &view, &reads, usable)
        } else {
            self.build_reading(style, status, &View::bare(view.table, headers, self.clock), &Reads::new(), usable)
        }
    }

    /// A gateway's error read by the upstream error inside it, when that one is specific (a rule
    /// that tests more than the status holds for it): the inner error's code, message and
    /// details, with the gateway's layer kept as a `GATEWAY_LAYER` detail and in the upstream
    /// facts (the gateway's style and status, the provider and its status).
    fn unwrap_inner<'x>(
        &self,
        style: Option<Style>,
        status: StatusCode,
        view: &View<'x, '_>,
        reads: &Reads<'x>,
        depth: usize,
    ) -> Option<NormalizedError> {
        /// The most layers of errors inside errors that are read.
        const MAX_LAYERS: usize = 3;
        let inner = view.table.inner.as_ref().filter(|_| depth < MAX_LAYERS)?;
        let text = view.text(inner.body)?;
        // The first JSON value in the text: a message may go on after it, and a Python bytes
        // repr (`b'{...}'`) or a class name may come before it.
        let start = text.find(['{', '['])?;
        let mut values = serde_json::Deserializer::from_str(&text[start..]).into_iter::<&serde_json::value::RawValue>();
        let raw = values.next()?.ok()?;
        let bytes = raw.get().as_bytes();
        let provider = view.text(Field::Provider);
        let named = provider.as_deref().and_then(|p| {
            let p = p.trim().to_ascii_lowercase();
            inner.styles.iter().find(|(n, _)| *n == p).map(|&(_, s)| s)
        });
        // The inner error is read with the status the gateway reports for it.
        let inner_status = StatusCode::from_u16(view.effective_status(status)).unwrap_or(status);
        let (mut err, specific) = self.read_layer(named, inner_status, &HeaderMap::new(), bytes, None, depth + 1);
        if !specific {
            return None;
        }
        let inner_style = err.upstream.style;
        let outer = self.build(style, status, view, reads);
        let limits = &self.limits;
        let mut layer = Detail::new(crate::table::reason::GATEWAY_LAYER);
        if let Some(s) = style {
            layer = layer.with_figure("gateway", s.as_str());
        }
        if let Some(s) = inner_style {
            layer = layer.with_figure("provider_style", s.as_str());
        }
        if let Some(c) = &outer.upstream.code {
            layer = layer.with_figure("gateway_code", &**c);
        }
        if let Some(t) = &outer.upstream.type_ {
            layer = layer.with_figure("gateway_type", &**t);
        }
        if outer.message() != outer.code.default_message() {
            layer.message = Some(outer.message().to_owned());
        }
        err.details.truncate(limits.max_details.saturating_sub(1));
        if limits.max_details > 0 {
            err.details.push(layer);
        }
        if let Some(id) = outer.request_id() {
            err.set_request_id(Some(id));
        }
        let inner_upstream = std::mem::take(&mut err.upstream);
        err.upstream = Upstream {
            style,
            status: outer.upstream.status,
            code: inner_upstream.code,
            type_: inner_upstream.type_,
            provider: outer.upstream.provider.or(inner_upstream.provider),
            upstream_status: inner_upstream
                .upstream_status
                .or(outer.upstream.upstream_status)
                .or((inner_status != status).then_some(inner_status.as_u16())),
            should_retry: outer.upstream.should_retry.or(inner_upstream.should_retry),
        };
        if err.code.is_retryable() {
            err.retry_after = err.retry_after.max(outer.retry_after);
        }
        Some(err)
    }

    /// Inspects any response: the failure it reports, or `None` for a real success.
    ///
    /// An error status is always a failure ([`normalize`](Normalizer::normalize)); an event
    /// stream is read to its first error ([`normalize_stream`](Normalizer::normalize_stream));
    /// and a success body (2xx) is a failure only when it says so.
    ///
    /// Some providers answer a failure with `200 OK`: a Gemini prompt blocked by its safety
    /// filters (`promptFeedback.blockReason`), a candidate stopped for `SAFETY`, a Bedrock
    /// `Output.__type` exception, an error envelope in a 200 body. The failure is any response
    /// whose body holds the style's error envelope or matches one of its rules that tests more
    /// than the status. A status that is not a success is always a failure.
    ///
    /// ```
    /// use llm_error_taxonomy::{ErrorCode, Normalizer, Style};
    /// use http::{HeaderMap, StatusCode};
    ///
    /// let blocked = br#"{"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 8}}"#;
    /// let err = Normalizer::new().inspect(Some(Style::Gemini), StatusCode::OK, &HeaderMap::new(), blocked);
    /// assert_eq!(err.map(|e| e.code()), Some(ErrorCode::ContentModerationRejected));
    ///
    /// let fine = br#"{"candidates": [{"content": {"parts": [{"text": "Hi"}]}, "finishReason": "STOP"}]}"#;
    /// assert!(Normalizer::new().inspect(Some(Style::Gemini), StatusCode::OK, &HeaderMap::new(), fine).is_none());
    /// ```
    pub fn inspect(
        &self,
        style: Option<Style>,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Option<NormalizedError> {
        if crate::stream::is_event_stream(headers, body) {
            let found = self.normalize_stream(style, status, headers, body);
            return self.stream_outcome(style, status, headers, found, body);
        }
        if !status.is_success() {
            return Some(self.normalize(style, status, headers, body));
        }
        self.inspect_body(style, status, headers, body)
    }

    /// [`inspect`](Normalizer::inspect) on a response read from `body` in pieces, in bounded
    /// memory, as a command-line tool or a blocking client reads it: the first
    /// [`max_body_bytes`](Limits::max_body_bytes) and one byte more decide whether it is a
    /// stream; a stream is read through a [`StreamReader`](crate::StreamReader) up to its first
    /// error (the rest is not read) and a body no further than the size past which it is
    /// classified by status alone. The result is [`inspect`](Normalizer::inspect)'s on the
    /// whole response, except for a newline-delimited JSON stream whose first line is over
    /// the limit, which is read as a body.
    ///
    /// ```
    /// use llm_error_taxonomy::{ErrorCode, Normalizer};
    /// use http::{HeaderMap, StatusCode};
    ///
    /// let stream = b"data: {\"choices\": [{\"delta\": {\"content\": \"Hi\"}}]}\n\ndata: {\"error\": {\"message\": \"overloaded\", \"type\": \"server_error\"}}\n\n";
    /// let err = Normalizer::new().inspect_reader(None, StatusCode::OK, &HeaderMap::new(), &stream[..])?;
    /// assert_eq!(err.map(|e| e.code()), Some(ErrorCode::ModelOverloaded));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// The first error of `body` other than [`Interrupted`](std::io::ErrorKind::Interrupted).
    pub fn inspect_reader<R: std::io::Read>(
        &self,
        style: Option<Style>,
        status: StatusCode,
        headers: &HeaderMap,
        body: R,
    ) -> std::io::Result<Option<NormalizedError>> {
        use std::io::Read;
        let mut body = body;
        let mut head = Vec::new();
        body.by_ref().take(self.limits.max_body_bytes as u64 + 1).read_to_end(&mut head)?;
        if !crate::stream::is_event_stream(headers, &head) {
            return Ok(self.inspect(style, status, headers, &head));
        }
        let mut reader = self.stream_reader(style, status, headers);
        let mut found = reader.push(&head);
        let mut chunk = vec![0u8; 64 * 1024];
        while found.is_none() {
            match body.read(&mut chunk) {
                Ok(0) => {
                    found = reader.finish();
                    break;
                }
                Ok(n) => found = reader.push(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self.stream_outcome(style, status, headers, found, &head))
    }

    /// What a stream's response reports, given its stream's first error: an error status is
    /// the error, read from `body` (the response's first bytes, or more than the limit of
    /// them), unless its stream reports a more precise one than a drop.
    pub(crate) fn stream_outcome(
        &self,
        style: Option<Style>,
        status: StatusCode,
        headers: &HeaderMap,
        found: Option<crate::StreamError>,
        body: &[u8],
    ) -> Option<NormalizedError> {
        let error_status = status.is_client_error() || status.is_server_error();
        match found.map(crate::StreamError::into_error) {
            Some(err) if !error_status || err.reason() != Some(crate::table::reason::STREAM_DROPPED) => Some(err),
            _ if error_status => Some(self.normalize(style, status, headers, body)),
            None => None,
            Some(err) => Some(err),
        }
    }

    /// A success body's failure, if it reports one (see [`Normalizer::inspect`]).
    pub(crate) fn inspect_body(
        &self,
        style: Option<Style>,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Option<NormalizedError> {
        let caps = Captures::read(body, &self.limits)?;
        let reads = Reads::new();
        let (style, view, failed) = self.read_through(style, status, Some(&caps), headers, None, &reads);
        failed.then(|| self.build(style, status, &view, &reads))
    }

    /// A response's style (`style`, else the detected one), the view of it through that
    /// style's table, and whether the body is usable: it holds the table's envelope, or a rule
    /// that tests the body holds for it.
    fn read_through<'x, 'a>(
        &self,
        style: Option<Style>,
        status: StatusCode,
        caps: Option<&'x Captures<'a>>,
        headers: &'x HeaderMap,
        event: Option<&'x str>,
        reads: &Reads<'x>,
    ) -> (Option<Style>, View<'x, 'a>, bool) {
        let mut view = View::new(StyleTable::generic(), caps, headers, event, self.clock);
        let style = style.or_else(|| crate::detect::detect_in(view, status, reads));
        view.table = style.map_or(StyleTable::generic(), Style::table);
        let usable = view.has_envelope() || view.matches_a_body_rule(status, reads);
        (style, view, usable)
    }

    /// The error a view with a usable body reads as.
    fn build<'x>(
        &self,
        style: Option<Style>,
        status: StatusCode,
        view: &View<'x, '_>,
        reads: &Reads<'x>,
    ) -> NormalizedError {
        self.build_reading(style, status, view, reads, true).0
    }

    /// The error a view reads as, and whether a rule that tests more than the status decided it.
    fn build_reading<'x>(
        &self,
        style: Option<Style>,
        status: StatusCode,
        view: &View<'x, '_>,
        reads: &Reads<'x>,
        usable: bool,
    ) -> (NormalizedError, bool) {
        let limits = &self.limits;
        let facts = Facts::new(view, status, reads);
        let rule = first_match(&facts);
        let specific = rule.is_some_and(|r| r.when.tests.iter().any(|t| matches!(t.subject, Subject::Field(_))));
        let matched = rule.map_or(ErrorCode::InternalError, |r| r.then.code);

        let mut details = Few::Zero;
        if let Some(rule) = rule
            && let Some(reason) = rule.then.reason
        {
            let field = rule
                .then
                .field
                .map(Cow::Borrowed)
                .or_else(|| view.text(Field::Param).map(|p| clean_word(&p, limits.max_field_bytes)))
                .filter(|s| !s.is_empty());
            let mut d = Detail { field, code: Some(Cow::Borrowed(reason)), ..Detail::default() };
            for &(name, f) in view.table.figures {
                if let Some(v) = facts.get(f).and_then(figure) {
                    let v = match v {
                        serde_json::Value::String(s) => serde_json::Value::String(clean(&s, limits.max_field_bytes)),
                        v => v,
                    };
                    d.figures.insert(name.to_owned(), v);
                }
            }
            details.push(d);
        }
        if let Some(list) = view.details() {
            for d in list.iter().take(limits.max_details.saturating_sub(details.len())) {
                details.push(raw_detail(d, limits));
            }
        }
        declared_details(view, limits, &mut details);

        let code_value = facts.get(Field::Code);
        let upstream_code = if usable { code_value.and_then(Value::to_text) } else { None };
        let code = if self.overrides.is_empty() {
            matched
        } else {
            let reason = details.first().and_then(|d| d.code.as_deref());
            self.remapped(matched, style, reason, upstream_code.as_deref())
        };
        let message = facts.get(Field::Message).and_then(Value::as_str);
        let retry_after = if code.is_retryable() {
            longest_delay(facts.all(Field::RetryAfter))
                .or_else(|| message.and_then(retry_after::from_message))
                .and_then(|secs| retry_after::finish(secs, limits.max_retry_after))
        } else {
            None
        };
        // The message (or the code's own) and the request id, each cleaned into one buffer.
        let request_id = view.text(Field::RequestId);
        let mut text = String::with_capacity(
            message.map_or(code.default_message().len(), |m| m.len().min(limits.max_message_bytes))
                + request_id.as_ref().map_or(0, |id| id.len().min(limits.max_field_bytes)),
        );
        if let Some(m) = message {
            clean_into(m, limits.max_message_bytes, &mut text);
        }
        if text.is_empty() {
            text.push_str(code.default_message());
        }
        let at = text.len();
        if let Some(id) = &request_id {
            clean_into(id, limits.max_field_bytes, &mut text);
        }
        let id_at = (text.len() > at).then_some(at);
        let word =
            |s: Option<Cow<'_, str>>| s.map(|s| clean_word(&s, limits.max_field_bytes)).filter(|s| !s.is_empty());
        let type_ = facts.get(Field::Type).and_then(Value::to_text);
        let mut err = NormalizedError::from_parts(code, text, id_at);
        err.details = details;
        err.retry_after = retry_after;
        err.upstream = Upstream {
            style,
            status: Some(status.as_u16()),
            code: word(upstream_code),
            type_: if usable { word(type_) } else { None },
            provider: word(view.text(Field::Provider)),
            upstream_status: facts.get(Field::UpstreamStatus).and_then(Value::as_status),
            should_retry: facts.get(Field::ShouldRetry).and_then(flag),
        };
        err.rule = rule;
        self.redact_extra(&mut err);
        (err, specific)
    }
}
