//! The normalized error and its JSON envelope.

use crate::code::ErrorCode;
use crate::few::Few;
use crate::limits::Limits;
use crate::redact::clean;
use crate::table::{Rule, Style};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::time::Duration;

/// An upstream error in the taxonomy: one of the 12 codes with its fixed status and
/// retryable flag, a message, field-level details, retry-after, request id and what upstream
/// said.
///
/// Its status and retryable flag are always the code's own. It serializes to the envelope
/// `{"error": {"code", "message", "retryable", "status", "details", "retry_after",
/// "request_id", "upstream"}}` (absent parts are left out) and parses back to an equal value.
///
/// ```
/// use llm_error_taxonomy::{normalize, ErrorCode, Style};
/// use http::{HeaderMap, StatusCode};
///
/// let body = br#"{"error": {"message": "Spending limit reached for this API key",
///                  "type": "rate_limit_error", "code": "spending_limit_exceeded"}}"#;
/// let err = normalize(Some(Style::ModelBridge), StatusCode::TOO_MANY_REQUESTS, &HeaderMap::new(), body);
/// assert_eq!(err.code(), ErrorCode::InsufficientBalance);
/// assert_eq!(err.status(), StatusCode::PAYMENT_REQUIRED);
/// assert!(!err.is_retryable());
/// assert_eq!(err.reason(), Some("SPENDING_LIMIT_EXCEEDED"));
///
/// let json = serde_json::to_string(&err).unwrap();
/// assert_eq!(serde_json::from_str::<llm_error_taxonomy::NormalizedError>(&json).unwrap(), err);
/// ```
#[derive(Clone, thiserror::Error)]
pub struct NormalizedError {
    pub(crate) code: ErrorCode,
    /// The message, then the request id when there is one: one allocation for both.
    text: String,
    /// Where the request id begins in `text`.
    id_at: Option<usize>,
    /// The first held in place: the usual error, with one detail, allocates no list for it.
    pub(crate) details: Few<Detail>,
    pub(crate) retry_after: Option<u64>,
    pub(crate) upstream: Upstream,
    /// The table rule that decided the code: not part of the envelope, nor of equality.
    pub(crate) rule: Option<&'static Rule>,
}

/// Two errors are equal when their envelopes are: the rule that decided one is left out, so
/// an error parsed back from its JSON equals the error it was written from.
impl PartialEq for NormalizedError {
    fn eq(&self, other: &Self) -> bool {
        self.code == other.code
            && self.message() == other.message()
            && self.details == other.details
            && self.retry_after == other.retry_after
            && self.request_id() == other.request_id()
            && self.upstream == other.upstream
    }
}

impl std::fmt::Display for NormalizedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message())
    }
}

impl std::fmt::Debug for NormalizedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NormalizedError")
            .field("code", &self.code)
            .field("message", &self.message())
            .field("details", &self.details)
            .field("retry_after", &self.retry_after)
            .field("request_id", &self.request_id())
            .field("upstream", &self.upstream)
            .field("rule", &self.rule.map(|r| format!("{}/{}", r.table, r.name)))
            .finish()
    }
}

/// One field-level detail: which request field is at fault, why, and any figures.
///
/// The field and the code are most often the tables' own words, held as `&'static str`
/// (`Cow::Borrowed`) without a copy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Detail {
    /// The request field, such as `model` or `messages`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<Cow<'static, str>>,
    /// Why, such as `CONTEXT_LENGTH_EXCEEDED` or `OUT_OF_RANGE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<Cow<'static, str>>,
    /// A human-readable explanation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Figures such as `model_max_tokens`, `request_tokens` or `balance`.
    #[serde(flatten)]
    pub figures: BTreeMap<String, serde_json::Value>,
}

impl Detail {
    /// A detail with the given code.
    pub fn new(code: impl Into<Cow<'static, str>>) -> Self {
        Detail { code: Some(code.into()), ..Detail::default() }
    }

    /// Names the request field at fault.
    #[must_use]
    pub fn with_field(mut self, field: impl Into<Cow<'static, str>>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// Sets the explanation.
    #[must_use]
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }

    /// Adds a figure.
    #[must_use]
    pub fn with_figure(mut self, name: impl Into<String>, value: impl Into<serde_json::Value>) -> Self {
        self.figures.insert(name.into(), value.into());
        self
    }

    fn cleaned(self, limits: &Limits) -> Detail {
        let short = |s: &str| clean(s, limits.max_field_bytes);
        let figures = self
            .figures
            .into_iter()
            .take(limits.max_details)
            .map(|(k, v)| {
                let v = match v {
                    serde_json::Value::String(s) => serde_json::Value::String(short(&s)),
                    v => v,
                };
                (short(&k), v)
            })
            .filter(|(k, _)| is_figure_name(k))
            .collect();
        Detail {
            field: self.field.map(|s| Cow::Owned(short(&s))),
            code: self.code.map(|s| Cow::Owned(short(&s))),
            message: self.message.map(|m| clean(&m, limits.max_message_bytes)),
            figures,
        }
    }
}

/// Whether a cleaned key can name a figure: not one of a detail's own members, which a figure
/// of that name would repeat in the JSON (a key such as `"message\u0000"` cleans to `message`).
pub(crate) fn is_figure_name(key: &str) -> bool {
    !matches!(key, "field" | "code" | "message")
}

/// What upstream said, as received (cleaned of secrets and control characters).
///
/// A code or type that is one of the tables' words is held as the table's `&'static str`
/// (`Cow::Borrowed`), without a copy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Upstream {
    /// The style the response was read as; `None` for the generic reading.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub style: Option<Style>,
    /// The HTTP status of the response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The error code in the body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<Cow<'static, str>>,
    /// The error type in the body.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<Cow<'static, str>>,
    /// The provider behind the gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<Cow<'static, str>>,
    /// The provider's own status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_status: Option<u16>,
    /// Upstream's own word on retrying (the `x-should-retry` header): `false` stops retry
    /// advice; `true` never makes a non-retryable code retryable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub should_retry: Option<bool>,
}

impl Upstream {
    fn is_empty(&self) -> bool {
        *self == Upstream::default()
    }
}

impl NormalizedError {
    /// Replaces every string the error emits (message, details, request id, upstream facts)
    /// with what `f` gives for it, where it gives something.
    pub(crate) fn map_strings(&mut self, f: &mut dyn FnMut(&str) -> Option<String>) {
        let message = f(self.message());
        let id = self.request_id().and_then(&mut *f);
        if message.is_some() || id.is_some() {
            let message = message.unwrap_or_else(|| self.message().to_owned());
            let id = id.or_else(|| self.request_id().map(str::to_owned));
            self.set_text(&message, id.as_deref());
        }
        for d in self.details.iter_mut() {
            let owned = d.message.iter_mut().chain(d.figures.values_mut().filter_map(|v| match v {
                serde_json::Value::String(s) => Some(s),
                _ => None,
            }));
            for s in owned {
                if let Some(new) = f(s) {
                    *s = new;
                }
            }
        }
        let words = self.details.iter_mut().flat_map(|d| [&mut d.field, &mut d.code]);
        let upstream = [&mut self.upstream.code, &mut self.upstream.type_, &mut self.upstream.provider];
        for s in words.chain(upstream).flatten() {
            if let Some(new) = f(s) {
                *s = Cow::Owned(new);
            }
        }
    }

    /// An error with `code` and the code's default message, for a gateway's own failures.
    ///
    /// ```
    /// use llm_error_taxonomy::{ErrorCode, NormalizedError};
    /// let err = NormalizedError::new(ErrorCode::GenerationTimeout).with_request_id("req_1");
    /// assert_eq!(err.message(), "Generation timed out");
    /// assert!(err.is_retryable());
    /// ```
    pub fn new(code: ErrorCode) -> Self {
        NormalizedError::from_parts(code, code.default_message().to_owned(), None)
    }

    /// Sets the message, cleaned of secrets and control characters and capped.
    #[must_use]
    pub fn with_message(mut self, message: &str) -> Self {
        let cleaned = clean(message, Limits::DEFAULT.max_message_bytes);
        self.set_message(if cleaned.is_empty() { self.code.default_message() } else { &cleaned });
        self
    }

    /// Adds a detail (cleaned like the message).
    #[must_use]
    pub fn with_detail(mut self, detail: Detail) -> Self {
        if self.details.len() < Limits::DEFAULT.max_details {
            self.details.push(detail.cleaned(&Limits::DEFAULT));
        }
        self
    }

    /// Sets the retry delay, rounded up to whole seconds and clamped; ignored for codes that
    /// are not retryable.
    #[must_use]
    pub fn with_retry_after(mut self, delay: Duration) -> Self {
        self.retry_after = crate::retry_after::finish(delay.as_secs_f64(), Limits::DEFAULT.max_retry_after)
            .filter(|_| self.code.is_retryable());
        self
    }

    /// Sets the request id.
    #[must_use]
    pub fn with_request_id(mut self, id: &str) -> Self {
        let cleaned = clean(id, Limits::DEFAULT.max_field_bytes);
        self.set_request_id((!cleaned.is_empty()).then_some(cleaned.as_str()));
        self
    }

    /// The table rule that decided the code, for logs and explanations: its name, the table it
    /// is written in and the public source it implements. `None` for an error the crate made
    /// itself (a dropped stream, [`NormalizedError::new`]) or parsed from an envelope.
    ///
    /// ```
    /// use llm_error_taxonomy::{normalize, Style};
    /// use http::{HeaderMap, StatusCode};
    ///
    /// let body = br#"{"error": {"code": "context_length_exceeded", "message": "too long", "status": 400}}"#;
    /// let err = normalize(Some(Style::MoltbotDen), StatusCode::BAD_REQUEST, &HeaderMap::new(), body);
    /// let rule = err.rule().expect("a rule decided it");
    /// assert_eq!(rule.table, "moltbotden");
    /// assert_eq!(rule.then.code, err.code());
    /// assert!(!rule.source.is_empty());
    /// ```
    pub fn rule(&self) -> Option<&'static Rule> {
        self.rule
    }

    /// The normalized code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The HTTP status for the client: always the code's own.
    pub fn status(&self) -> http::StatusCode {
        self.code.http_status()
    }

    /// Whether the client may retry: always the code's own.
    pub fn is_retryable(&self) -> bool {
        self.code.is_retryable()
    }

    /// The message: upstream's, cleaned, or the code's default.
    pub fn message(&self) -> &str {
        &self.text[..self.id_at.unwrap_or(self.text.len())]
    }

    /// Field-level details.
    pub fn details(&self) -> &[Detail] {
        &self.details
    }

    /// Why the error happened, such as `INVALID_API_KEY`: the first detail's code.
    pub fn reason(&self) -> Option<&str> {
        self.details.first()?.code.as_deref()
    }

    /// How long to wait before retrying, in whole seconds; only for retryable codes.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after.map(Duration::from_secs)
    }

    /// The request id to quote to support.
    pub fn request_id(&self) -> Option<&str> {
        self.id_at.map(|at| &self.text[at..])
    }

    /// An error with `code`, `message` and `request_id` (already cleaned), and nothing else.
    pub(crate) fn with_text(code: ErrorCode, message: &str, request_id: Option<&str>) -> Self {
        let mut err = NormalizedError::from_parts(code, String::new(), None);
        err.set_text(message, request_id);
        err
    }

    /// Sets the message and the request id (already cleaned), in one buffer.
    pub(crate) fn set_text(&mut self, message: &str, request_id: Option<&str>) {
        let mut text = String::with_capacity(message.len() + request_id.map_or(0, str::len));
        text.push_str(message);
        self.id_at = request_id.map(|id| {
            let at = text.len();
            text.push_str(id);
            at
        });
        self.text = text;
    }

    /// Sets the message (already cleaned), keeping the request id.
    pub(crate) fn set_message(&mut self, message: &str) {
        let id = self.request_id().map(str::to_owned);
        self.set_text(message, id.as_deref());
    }

    /// Sets the request id (already cleaned), keeping the message.
    pub(crate) fn set_request_id(&mut self, id: Option<&str>) {
        self.text.truncate(self.id_at.unwrap_or(self.text.len()));
        self.id_at = id.map(|id| {
            let at = self.text.len();
            self.text.push_str(id);
            at
        });
    }

    /// An error with `code` whose message and request id are `text` split at `id_at` (a
    /// character boundary within it), as [`set_text`](Self::set_text) stores them: for a builder
    /// that cleans each straight into the buffer.
    pub(crate) fn from_parts(code: ErrorCode, text: String, id_at: Option<usize>) -> Self {
        NormalizedError {
            code,
            text,
            id_at,
            details: Few::Zero,
            retry_after: None,
            upstream: Upstream::default(),
            rule: None,
        }
    }

    /// The style the response was read as.
    pub fn style(&self) -> Option<Style> {
        self.upstream.style
    }

    /// What upstream said.
    pub fn upstream(&self) -> &Upstream {
        &self.upstream
    }

    /// What `to_json` reserves: the strings' lengths, and room for the keys, the punctuation,
    /// the numbers and a few escapes (a figure's name and value may take more).
    fn envelope_len(&self) -> usize {
        const FRAME: usize = 256;
        const DETAIL_FRAME: usize = 48;
        const FIGURE: usize = 32;
        let len = |s: &Option<Cow<'_, str>>| s.as_deref().map_or(0, str::len);
        let details: usize = self
            .details
            .iter()
            .map(|d| {
                DETAIL_FRAME
                    + len(&d.field)
                    + len(&d.code)
                    + d.message.as_deref().map_or(0, str::len)
                    + d.figures.len() * FIGURE
            })
            .sum();
        let u = &self.upstream;
        FRAME + self.text.len() + details + len(&u.code) + len(&u.type_) + len(&u.provider)
    }

    /// The envelope as compact JSON.
    pub fn to_json(&self) -> String {
        // Written by hand, byte for byte what `serde_json::to_string(self)` writes: the keys are
        // known, and only the strings need escaping.
        let mut o = String::with_capacity(self.envelope_len());
        o.push_str(r#"{"error":{"code":""#);
        o.push_str(self.code.as_str());
        o.push_str(r#"","message":"#);
        json_string(&mut o, self.message());
        o.push_str(if self.code.is_retryable() { r#","retryable":true"# } else { r#","retryable":false"# });
        o.push_str(r#","status":"#);
        push_number(&mut o, u64::from(self.code.status_u16()));
        if !self.details.is_empty() {
            o.push_str(r#","details":["#);
            for (i, d) in self.details.iter().enumerate() {
                if i > 0 {
                    o.push(',');
                }
                let mut object = JsonObject::new(&mut o);
                for (key, value) in
                    [("field", d.field.as_deref()), ("code", d.code.as_deref()), ("message", d.message.as_deref())]
                {
                    if let Some(v) = value {
                        json_string(object.member(key), v);
                    }
                }
                for (key, value) in &d.figures {
                    let o = object.key(key);
                    match value {
                        serde_json::Value::String(s) => json_string(o, s),
                        serde_json::Value::Bool(b) => o.push_str(if *b { "true" } else { "false" }),
                        serde_json::Value::Number(n) if n.is_u64() => push_number(o, n.as_u64().unwrap_or(0)),
                        // A figure is a number, a string or a flag, which serializing cannot fail on.
                        _ => o.push_str(&serde_json::to_string(value).unwrap_or_default()),
                    }
                }
                object.end();
            }
            o.push(']');
        }
        if let Some(secs) = self.retry_after {
            o.push_str(r#","retry_after":"#);
            push_number(&mut o, secs);
        }
        if let Some(id) = self.request_id() {
            o.push_str(r#","request_id":"#);
            json_string(&mut o, id);
        }
        let u = &self.upstream;
        if !u.is_empty() {
            o.push_str(r#","upstream":"#);
            let mut object = JsonObject::new(&mut o);
            if let Some(style) = u.style {
                json_string(object.member("style"), style.as_str());
            }
            if let Some(status) = u.status {
                push_number(object.member("status"), u64::from(status));
            }
            for (key, value) in [("code", &u.code), ("type", &u.type_), ("provider", &u.provider)] {
                if let Some(v) = value {
                    json_string(object.member(key), v);
                }
            }
            if let Some(status) = u.upstream_status {
                push_number(object.member("upstream_status"), u64::from(status));
            }
            if let Some(flag) = u.should_retry {
                object.member("should_retry").push_str(if flag { "true" } else { "false" });
            }
            object.end();
        }
        o.push_str("}}");
        o
    }
}

/// A JSON object being written: `{`, then each member after a comma but the first.
struct JsonObject<'o> {
    out: &'o mut String,
    members: usize,
}

impl<'o> JsonObject<'o> {
    fn new(out: &'o mut String) -> Self {
        out.push('{');
        JsonObject { out, members: 0 }
    }

    /// Writes the next member's key and colon; its value is written next, into what is returned.
    fn key(&mut self, key: &str) -> &mut String {
        self.comma();
        json_string(self.out, key);
        self.out.push(':');
        self.out
    }

    /// [`key`](Self::key) for one of the envelope's own keys, which need no escaping.
    fn member(&mut self, key: &'static str) -> &mut String {
        self.comma();
        self.out.push('"');
        self.out.push_str(key);
        self.out.push_str("\":");
        self.out
    }

    fn comma(&mut self) {
        if self.members > 0 {
            self.out.push(',');
        }
        self.members += 1;
    }

    fn end(self) {
        self.out.push('}');
    }
}

fn push_number(o: &mut String, n: u64) {
    let mut buf = [0; 21];
    o.extend(crate::scan::digits(n, false, &mut buf).iter().map(|&b| char::from(b)));
}

/// `s` as a JSON string, escaped as `serde_json` escapes it: `"`, `\` and the control
/// characters below U+0020, which have short forms where JSON gives them one.
fn json_string(o: &mut String, s: &str) {
    o.push('"');
    let mut from = 0;
    while let Some(i) = crate::scan::find_escape(s.as_bytes(), from) {
        let b = s.as_bytes()[i];
        o.push_str(&s[from..i]);
        match b {
            b'"' => o.push_str("\\\""),
            b'\\' => o.push_str("\\\\"),
            b'\n' => o.push_str("\\n"),
            b'\r' => o.push_str("\\r"),
            b'\t' => o.push_str("\\t"),
            0x08 => o.push_str("\\b"),
            0x0C => o.push_str("\\f"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                o.push_str("\\u00");
                o.push(char::from(HEX[usize::from(b >> 4)]));
                o.push(char::from(HEX[usize::from(b & 0xF)]));
            }
        }
        from = i + 1;
    }
    o.push_str(&s[from..]);
    o.push('"');
}

#[derive(Serialize)]
struct EnvelopeOut<'a> {
    error: BodyOut<'a>,
}

#[derive(Serialize)]
struct BodyOut<'a> {
    code: ErrorCode,
    message: &'a str,
    retryable: bool,
    status: u16,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    details: &'a [Detail],
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Upstream::is_empty")]
    upstream: &'a Upstream,
}

impl Serialize for NormalizedError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        EnvelopeOut {
            error: BodyOut {
                code: self.code,
                message: self.message(),
                retryable: self.code.is_retryable(),
                status: self.code.status_u16(),
                details: &self.details,
                retry_after: self.retry_after,
                request_id: self.request_id(),
                upstream: &self.upstream,
            },
        }
        .serialize(s)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvelopeIn {
    error: BodyIn,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BodyIn {
    code: ErrorCode,
    message: String,
    retryable: Option<bool>,
    status: Option<u16>,
    #[serde(default)]
    details: Vec<Detail>,
    retry_after: Option<u64>,
    request_id: Option<String>,
    #[serde(default)]
    upstream: Upstream,
}

impl<'de> Deserialize<'de> for NormalizedError {
    /// Parses an envelope; a `status` or `retryable` that disagrees with the code is an error.
    /// Its text is cleaned of secrets and control characters and capped, and a `retry_after`
    /// on a code that is not retryable is dropped.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let EnvelopeIn { error: b } = EnvelopeIn::deserialize(d)?;
        if b.status.is_some_and(|s| s != b.code.status_u16()) {
            return Err(D::Error::custom(format_args!("status does not match code {}", b.code)));
        }
        if b.retryable.is_some_and(|r| r != b.code.is_retryable()) {
            return Err(D::Error::custom(format_args!("retryable does not match code {}", b.code)));
        }
        // An envelope from elsewhere (an upstream that is already normalized) is cleaned like
        // everything else the crate emits; a clean envelope parses back unchanged.
        let limits = Limits::DEFAULT;
        let short = |s: &str| Some(clean(s, limits.max_field_bytes)).filter(|s| !s.is_empty());
        let word = |s: Cow<'static, str>| short(&s).map(Cow::Owned);
        let message = clean(&b.message, limits.max_message_bytes);
        let message = if message.is_empty() { b.code.default_message() } else { &message };
        let request_id = b.request_id.as_deref().and_then(short);
        Ok(NormalizedError {
            details: b
                .details
                .into_iter()
                .take(limits.max_details)
                .map(|d| d.cleaned(&limits))
                .collect::<Vec<_>>()
                .into(),
            retry_after: b.retry_after.filter(|_| b.code.is_retryable()),
            upstream: Upstream {
                code: b.upstream.code.and_then(word),
                type_: b.upstream.type_.and_then(word),
                provider: b.upstream.provider.and_then(word),
                ..b.upstream
            },
            ..NormalizedError::with_text(b.code, message, request_id.as_deref())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{Detail, NormalizedError, Upstream};
    use crate::code::ErrorCode;
    use crate::table::Style;

    /// The message and the request id share one buffer; setting either keeps the other.
    #[test]
    fn the_message_and_the_request_id_keep_each_other() {
        let err = NormalizedError::new(ErrorCode::RateLimited).with_request_id("req_é1").with_message("slow down é");
        assert_eq!((err.message(), err.request_id()), ("slow down é", Some("req_é1")));
        let default = ErrorCode::RateLimited.default_message();
        let err = err.with_message("");
        assert_eq!((err.message(), err.request_id()), (default, Some("req_é1")));
        let err = err.with_request_id("  ");
        assert_eq!((err.message(), err.request_id()), (default, None));
        let err = err.with_request_id("req_2").with_request_id("req_3");
        assert_eq!((err.message(), err.request_id()), (default, Some("req_3")));
        let made = NormalizedError::with_text(ErrorCode::RateLimited, default, Some("req_3"));
        assert_eq!(made, err);
        assert_eq!(err.to_string(), format!("RATE_LIMITED: {default}"));
    }

    /// `to_json` writes what `serde_json` writes for the error, byte for byte, whatever its
    /// strings hold and whichever parts it has.
    #[test]
    fn to_json_writes_what_serde_writes() {
        let every: String = (0u8..0x80).map(char::from).chain("é\u{2028}\u{7f}😀".chars()).collect();
        let mut detail = Detail::new(every.clone()).with_field("a\"b\\c").with_message("\u{0}\u{1f}");
        detail = detail.with_figure("n", 8192).with_figure("x", 1.5).with_figure("s", every.clone());
        detail = detail.with_figure("flag", true).with_figure("code", "again").with_figure("", -3);
        let full = NormalizedError {
            details: vec![detail, Detail::default(), Detail::new("ONLY")].into(),
            retry_after: Some(u64::MAX),
            upstream: Upstream {
                style: Some(Style::DeepInfra),
                status: Some(429),
                code: Some(every.clone().into()),
                type_: Some("t".into()),
                provider: Some("p".into()),
                upstream_status: Some(529),
                should_retry: Some(false),
            },
            ..NormalizedError::with_text(ErrorCode::RateLimited, &every, Some("req\n1"))
        };
        let bare = NormalizedError::with_text(ErrorCode::InternalError, "", None);
        let some = NormalizedError {
            upstream: Upstream { should_retry: Some(true), ..Upstream::default() },
            ..NormalizedError::new(ErrorCode::ModelOverloaded)
        };
        for err in [full, bare, some] {
            let serde = serde_json::to_string(&err).unwrap_or_default();
            assert!(!serde.is_empty());
            assert_eq!(err.to_json(), serde);
        }
        for code in <ErrorCode as strum::IntoEnumIterator>::iter() {
            let err = NormalizedError::new(code);
            assert_eq!(err.to_json(), serde_json::to_string(&err).unwrap_or_default());
        }
    }
}
