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
fn secret_at(bytes: &[u8], i: usize, mut candidates: u64) -> Option<(usize, usize)> {
    while candidates != 0 {
        let p = &SECRETS[candidates.trailing_zeros() as usize];
        candidates &= candidates - 1;
        if !prefix_at(bytes, i, p) {
            continue;
        }
        let start = i + p.prefix.len();
        let end =
            bytes[start..].iter().position(|&b| !is_token_byte(b, p.extra_chars)).map_or(bytes.len(), |n| start + n);
        if end - start >= p.min_len {
            return Some((start, end));
        }
    }
    None
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
            && let Some((start, end)) = secret_at(bytes, i, candidates)
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

/// Whether `c` is stripped from emitted text: control characters and the bidirectional
/// overrides that can make a log line read differently from what it holds.
fn is_stripped(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200B}'..='\u{200F}' | '\u{FEFF}')
}

/// Emitted text: control characters become spaces, secrets are redacted, the result is cut
/// to `max` bytes on a character boundary and trimmed.
pub(crate) fn clean(text: &str, max: usize) -> String {
    let plain = text.bytes().all(|b| (0x20..0x7f).contains(&b));
    let stripped: Cow<'_, str> = if !plain && text.chars().any(is_stripped) {
        Cow::Owned(text.chars().map(|c| if is_stripped(c) { ' ' } else { c }).collect())
    } else {
        Cow::Borrowed(text)
    };
    let redacted = redact(&stripped);
    // Masked after trimming: a token that trailing spaces hid is at the end of what is emitted,
    // and reading the text again would mask it.
    let masked = mask_cut_tail(Cow::Borrowed(redacted.trim()));
    let whole: &str = &masked;
    let capped = cap(whole, max).trim_end();
    if capped.len() == whole.len() {
        return capped.to_owned();
    }
    // The cut may have split a word after a prefix: mask it now, as reading the text again
    // would, so that cleaning twice changes nothing.
    let masked = mask_cut_tail(Cow::Borrowed(capped));
    cap(&masked, max).trim_end().to_owned()
}

/// Masks a secret cut short at the end of the text. Upstream text is cut to the limits when
/// it is read, which can leave a prefix with fewer token characters than its format needs
/// (`... sk-proj-Tq`): at the very end of a text any token after a prefix is masked.
fn mask_cut_tail(text: Cow<'_, str>) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let n = bytes.len();
    let mut cut = None;
    for p in SECRETS {
        let run = bytes.iter().rev().take_while(|&&b| is_token_byte(b, p.extra_chars)).count();
        if run == 0 {
            continue;
        }
        let plen = p.prefix.len();
        // A prefix whose token (at least one character) runs to the end of the text.
        let first = (n - run).saturating_sub(plen);
        let found = (first..n.saturating_sub(plen)).find(|&i| {
            i + plen >= n - run && prefix_at(bytes, i, p) && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric())
        });
        if let Some(i) = found {
            cut = Some(cut.map_or(i + plen, |c: usize| c.min(i + plen)));
        }
    }
    match cut {
        Some(at) => Cow::Owned(format!("{}{MASK}", &text[..at])),
        None => text,
    }
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
            "Bearer",
            "risk-free ask-me",
            "Invalid bearer token",
        ] {
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
