//! Keeps secrets and control characters out of everything the crate emits.
//!
//! The secret formats live in `taxonomy/secrets.json`: a prefix (`mb_live_`, `sk-`, `AKIA`,
//! `Bearer `, ...) at a word boundary followed by enough token characters. The token is
//! replaced by `****` and the prefix kept, so the text stays readable:
//! `Invalid key mb_live_abc123def` becomes `Invalid key mb_live_****`.

use crate::body::cap;
use crate::table::{SECRETS, SecretPattern};
use std::borrow::Cow;

const MASK: &str = "****";

fn is_token_byte(b: u8, extra: &str) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || extra.as_bytes().contains(&b)
}

fn prefix_at(bytes: &[u8], i: usize, p: &SecretPattern) -> bool {
    let pre = p.prefix.as_bytes();
    bytes.get(i..i + pre.len()).is_some_and(|w| if p.ignore_case { w.eq_ignore_ascii_case(pre) } else { w == pre })
}

/// Replaces every secret in `text` with its prefix and `****`.
///
/// ```
/// use llm_error_taxonomy::redact;
/// assert_eq!(redact("bad key sk-abcdefghijklmnop."), "bad key sk-****.");
/// assert_eq!(redact("no secrets here"), "no secrets here");
/// ```
pub fn redact(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        let boundary = i == 0 || !is_token_byte(bytes[i - 1], "");
        let mut next = i + 1;
        if boundary {
            for p in SECRETS {
                if !prefix_at(bytes, i, p) {
                    continue;
                }
                let start = i + p.prefix.len();
                let end = bytes[start..]
                    .iter()
                    .position(|&b| !is_token_byte(b, p.extra_chars))
                    .map_or(bytes.len(), |n| start + n);
                if end - start >= p.min_len {
                    let o = out.get_or_insert_with(|| String::with_capacity(text.len()));
                    o.push_str(&text[copied..start]);
                    o.push_str(MASK);
                    copied = end;
                    next = end;
                    break;
                }
            }
        }
        i = next;
    }
    match out {
        Some(mut o) => {
            o.push_str(&text[copied..]);
            Cow::Owned(o)
        }
        None => Cow::Borrowed(text),
    }
}

/// Whether `c` is stripped from emitted text: control characters and the bidirectional
/// overrides that can make a log line read differently from what it holds.
fn is_stripped(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200B}'..='\u{200F}' | '\u{FEFF}')
}

/// Emitted text: control characters become spaces, secrets are redacted, the result is cut
/// to `max` bytes on a character boundary and trimmed.
pub(crate) fn clean(text: &str, max: usize) -> String {
    let stripped: Cow<'_, str> = if text.chars().any(is_stripped) {
        Cow::Owned(text.chars().map(|c| if is_stripped(c) { ' ' } else { c }).collect())
    } else {
        Cow::Borrowed(text)
    };
    let redacted = redact(&stripped);
    cap(redacted.trim(), max).trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_each_table_format() {
        let cases = [
            ("key mb_live_abc123XYZ is invalid", "key mb_live_**** is invalid"),
            ("use ms-0123456789abcdef", "use ms-****"),
            ("billing key mk-0123456789abcdef,", "billing key mk-****,"),
            ("X-API-Key: mbd_sk_agent_9f8e7d6c", "X-API-Key: mbd_sk_****"),
            ("Authorization: Bearer abc.def-ghi_jkl", "Authorization: Bearer ****"),
            ("aws AKIAIOSFODNN7EXAMPLE here", "aws AKIA**** here"),
            ("google AIzaSyA1234567890abcdefghijklmnop", "google AIza****"),
            ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig", "jwt eyJ****"),
        ];
        for (input, want) in cases {
            assert_eq!(redact(input), want, "{input}");
        }
    }

    #[test]
    fn leaves_ordinary_words_alone() {
        for text in ["the task-runner failed", "ms-based latency", "sk-short", "Bearer", "risk-free ask-me"] {
            assert_eq!(redact(text), text);
        }
    }

    #[test]
    fn clean_strips_controls_and_caps_on_a_char_boundary() {
        assert_eq!(clean("a\u{0}b\nc\u{202E}d", 100), "a b c d");
        assert_eq!(clean("ééé", 5), "éé");
        assert_eq!(clean("  padded  ", 100), "padded");
    }
}
