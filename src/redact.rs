//! Keeps secrets and control characters out of everything the crate emits.
//!
//! The secret formats live in `taxonomy/secrets.json`: a prefix (`mb_live_`, `sk-`, `AKIA`,
//! `Bearer `, ...) at the start of a word, or after a `_` or `-` in it, followed by enough
//! token characters. The token is
//! replaced by `****` and the prefix kept, so the text stays readable:
//! `Invalid key mb_live_abc123def` becomes `Invalid key mb_live_****`.

use crate::body::cap;
use crate::table::{SECRETS, SecretPattern};
use std::borrow::Cow;

const MASK: &str = "****";

fn is_token_byte(b: u8, extra: &str) -> bool {
    TOKEN[b as usize] || extra.as_bytes().contains(&b)
}

/// Which bytes a token is made of, before a pattern's `extra_chars`: ASCII letters, digits, `_`, `-`.
const TOKEN: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || c == b'_' || c == b'-';
        b += 1;
    }
    table
};

/// Which bytes any secret's token may hold: [`TOKEN`] and every pattern's `extra_chars`.
const RUN: [bool; 256] = {
    let mut table = TOKEN;
    let mut i = 0;
    while i < SECRETS.len() {
        let extra = SECRETS[i].extra_chars.as_bytes();
        let mut j = 0;
        while j < extra.len() {
            table[extra[j] as usize] = true;
            j += 1;
        }
        i += 1;
    }
    table
};

/// The shortest run of [`RUN`] bytes any whole secret makes: the part of its prefix after the
/// prefix's last non-token byte, then its token.
const MIN_RUN: usize = {
    let mut min = usize::MAX;
    let mut i = 0;
    while i < SECRETS.len() {
        let prefix = SECRETS[i].prefix.as_bytes();
        let mut tail = 0;
        let mut j = 0;
        while j < prefix.len() {
            tail = if RUN[prefix[j] as usize] { tail + 1 } else { 0 };
            j += 1;
        }
        let run = tail + SECRETS[i].min_len;
        if run < min {
            min = run;
        }
        i += 1;
    }
    min
};

/// Whether `bytes` holds a run of at least [`MIN_RUN`] token bytes; without one no whole
/// secret can be there, and the text is passed over in one quick loop.
fn has_long_run(bytes: &[u8]) -> bool {
    let mut run = 0usize;
    for &b in bytes {
        run = if RUN[b as usize] { run + 1 } else { 0 };
        if run >= MIN_RUN {
            return true;
        }
    }
    false
}

/// For each byte, the patterns (as bits of an index into `SECRETS`) whose prefix starts with it.
const FIRST: [u64; 256] = {
    assert!(SECRETS.len() <= 64, "a pattern set is a u64");
    let mut table = [0u64; 256];
    let mut i = 0;
    while i < SECRETS.len() {
        let b = SECRETS[i].prefix.as_bytes()[0];
        assert!(TOKEN[b as usize], "a secret prefix starts with a letter, digit, `_` or `-`");
        if SECRETS[i].ignore_case {
            table[b.to_ascii_lowercase() as usize] |= 1 << i;
            table[b.to_ascii_uppercase() as usize] |= 1 << i;
        } else {
            table[b as usize] |= 1 << i;
        }
        i += 1;
    }
    table
};

fn prefix_at(bytes: &[u8], i: usize, p: &SecretPattern) -> bool {
    let pre = p.prefix.as_bytes();
    bytes.get(i..i + pre.len()).is_some_and(|w| if p.ignore_case { w.eq_ignore_ascii_case(pre) } else { w == pre })
}

/// The end of the token that makes a secret start at `i`, and where its mask goes, trying
/// only the patterns in `candidates`.
fn secret_at(bytes: &[u8], i: usize, mut candidates: u64, cut: bool) -> Option<(usize, usize)> {
    while candidates != 0 {
        let p = &SECRETS[candidates.trailing_zeros() as usize];
        candidates &= candidates - 1;
        if !prefix_at(bytes, i, p) {
            continue;
        }
        let start = i + p.prefix.len();
        let end =
            bytes[start..].iter().position(|&b| !is_token_byte(b, p.extra_chars)).map_or(bytes.len(), |n| start + n);
        if end - start >= p.min_len || (cut && end == bytes.len() && end > start) {
            return Some((start, end));
        }
    }
    None
}

/// Replaces every secret in `text` with its prefix and `****`.
///
/// A secret is a prefix from `taxonomy/secrets.json` at the start of a word (or after a `_` or
/// `-` inside one) followed by at least its format's number of token characters.
///
/// ```
/// use llm_error_taxonomy::redact;
/// assert_eq!(redact("bad key sk-abcdefghijklmnop."), "bad key sk-****.");
/// assert_eq!(redact("no secrets here"), "no secrets here");
/// ```
pub fn redact(text: &str) -> Cow<'_, str> {
    redact_with(text, false)
}

/// [`redact`]; with `cut` the text was cut short at its end, where a token after a prefix is
/// masked whatever its length (the cut may have shortened a secret below its format's length).
fn redact_with(text: &str, cut: bool) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    if !cut && !has_long_run(bytes) {
        return Cow::Borrowed(text);
    }
    let n = bytes.len();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    // Secrets start at the beginning of a word (every prefix starts with a token byte), so
    // skip separators and the rest of each word in tight loops and test only word starts.
    loop {
        while i < n && !TOKEN[bytes[i] as usize] {
            i += 1;
        }
        if i >= n {
            break;
        }
        let candidates = FIRST[bytes[i] as usize];
        if candidates != 0
            && let Some((start, end)) = secret_at(bytes, i, candidates, cut)
        {
            let o = out.get_or_insert_with(|| String::with_capacity(text.len()));
            o.push_str(&text[copied..start]);
            o.push_str(MASK);
            copied = end;
            i = end;
            continue;
        }
        // The rest of the word; a secret may also start right after a `_` or `-` in it
        // (`OPENAI_API_KEY_sk-...`).
        while i < n && TOKEN[bytes[i] as usize] {
            i += 1;
            if !bytes[i - 1].is_ascii_alphanumeric() {
                break;
            }
        }
    }
    match out {
        Some(mut o) => {
            o.push_str(&text[copied..]);
            Cow::Owned(o)
        }
        None => Cow::Borrowed(text),
    }
}

/// Replaces every secret of the run-time `formats` (a prefix and the fewest token characters
/// after it) with its prefix and `****`, as [`redact`] does for the tables' formats.
pub(crate) fn redact_formats<'t>(text: &'t str, formats: &[(String, usize)]) -> Cow<'t, str> {
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    let (mut copied, mut i) = (0, 0);
    while i < bytes.len() {
        let at_word = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
        let hit = at_word
            .then(|| {
                formats.iter().find_map(|(prefix, min)| {
                    let start = i + prefix.len();
                    (bytes.get(i..start) == Some(prefix.as_bytes())).then(|| {
                        let end = bytes[start..]
                            .iter()
                            .position(|&b| !is_token_byte(b, ""))
                            .map_or(bytes.len(), |n| start + n);
                        (end - start >= (*min).max(1)).then_some((start, end))
                    })?
                })
            })
            .flatten();
        match hit {
            Some((start, end)) => {
                let o = out.get_or_insert_with(|| String::with_capacity(text.len()));
                o.push_str(&text[copied..start]);
                o.push_str(MASK);
                copied = end;
                i = end;
            }
            None => i += 1,
        }
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

/// Emitted text: control characters become spaces, the text is trimmed and cut to `max` bytes
/// on a character boundary, then secrets are redacted. When the text was cut, a secret the cut
/// shortened ends it, and is masked whatever its length. (The body reader keeps strings up to
/// twice the limits, so that the cut that matters is made, and seen, here.)
pub(crate) fn clean(text: &str, max: usize) -> String {
    let plain = text.bytes().all(|b| (0x20..0x7f).contains(&b));
    let stripped: Cow<'_, str> = if !plain && text.chars().any(is_stripped) {
        Cow::Owned(text.chars().map(|c| if is_stripped(c) { ' ' } else { c }).collect())
    } else {
        Cow::Borrowed(text)
    };
    let trimmed = stripped.trim();
    let capped = cap(trimmed, max).trim_end();
    let redacted = redact_with(capped, capped.len() < trimmed.len());
    if redacted.len() <= max {
        return redacted.into_owned();
    }
    // A mask longer than the cut token it replaced can push the text past the limit.
    cap(&redacted, max).trim_end().to_owned()
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
            ("Authorization: Bearer abc.def-ghi_jkl-mno/pq=", "Authorization: Bearer ****"),
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
        for text in [
            "the task-runner failed",
            "ms-based latency",
            "sk-short",
            "sk-short key",
            "Bearer",
            "risk-free ask-me",
            "Invalid bearer token",
        ] {
            assert_eq!(redact(text), text);
        }
    }

    #[test]
    fn a_secret_cut_short_by_the_limit_is_still_masked() {
        let text = "invalid key sk-proj-abcdefghijklmnopqrstuvwxyz0123456789";
        for max in 12..text.len() {
            let out = clean(text, max);
            assert!(out.len() <= max, "{max}: {out}");
            assert!(!out.contains("sk-p") && !out.contains("sk-a"), "{max}: {out}");
            assert_eq!(clean(&out, max), out, "cleaning twice changes nothing");
        }
        assert_eq!(clean("Invalid bearer token", 100), "Invalid bearer token");
    }

    #[test]
    fn clean_strips_controls_and_caps_on_a_char_boundary() {
        assert_eq!(clean("a\u{0}b\nc\u{202E}d", 100), "a b c d");
        assert_eq!(clean("ééé", 5), "éé");
        assert_eq!(clean("  padded  ", 100), "padded");
    }
}
