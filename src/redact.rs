//! Keeps secrets, control characters and invisible characters out of everything the crate emits.
//!
//! The secret formats live in `taxonomy/secrets.json`: a prefix (`mb_live_`, `sk-`, `AKIA`,
//! `Bearer `, `key=`, ...) at the start of a word, after a `_` or `-` in it, or right after an
//! escape, followed by enough token characters (of the classes a format needs); or, for a
//! format with no prefix, a whole run of token characters of its length and classes. The token
//! is replaced by `****` and the prefix kept, so the text stays readable:
//! `Invalid key mb_live_abc123def` becomes `Invalid key mb_live_****`. A URL's user
//! information loses its password the same way.

use crate::body::cap;
use crate::scan::ALNUM;
use crate::table::{LITERALS, SECRETS};
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

/// The shortest run of [`RUN`] bytes any whole secret of `patterns` (bits of an index into
/// `SECRETS`) makes: the part of its prefix after the prefix's last non-token byte, then its token.
const fn shortest_run(patterns: u64) -> usize {
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
        if patterns >> i & 1 == 1 && run < min {
            min = run;
        }
        i += 1;
    }
    min
}

/// The shortest run of [`RUN`] bytes any whole secret makes.
const MIN_RUN: usize = shortest_run(u64::MAX);

/// The patterns with no prefix: shapes, tried at every word start.
const SHAPES: u64 = {
    let mut set = 0;
    let mut i = 0;
    while i < SECRETS.len() {
        if SECRETS[i].prefix.is_empty() {
            set |= 1 << i;
        }
        i += 1;
    }
    set
};

/// Which bytes a shape's run may hold: ASCII letters and digits, and every shape's `extra_chars`.
const SHAPE_RUN: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = (b as u8).is_ascii_alphanumeric();
        b += 1;
    }
    let mut i = 0;
    while i < SECRETS.len() {
        let extra = SECRETS[i].extra_chars.as_bytes();
        let mut j = 0;
        while SECRETS[i].prefix.is_empty() && j < extra.len() {
            table[extra[j] as usize] = true;
            j += 1;
        }
        i += 1;
    }
    table
};

/// The fewest characters of a whole shape: the shortest run of [`SHAPE_RUN`] bytes it makes.
const MIN_SHAPE_RUN: usize = shortest_run(SHAPES);

/// Whether `b` is visible ASCII, emitted as it is: not a control character, not beyond ASCII.
const fn visible_ascii(b: u8) -> bool {
    b >= 0x20 && b < 0x7f
}

/// What [`prescan`] notes of each byte: a byte of a run, an `@`, a byte that is not visible
/// ASCII, a byte of a shape's run.
const CLASS: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = (RUN[b] as u8)
            | ((b == b'@' as usize) as u8) << 1
            | (!visible_ascii(b as u8) as u8) << 2
            | (SHAPE_RUN[b] as u8) << 3;
        b += 1;
    }
    table
};

/// One quick loop over `bytes`: whether every byte is visible ASCII (`0x20..0x7f`), and the
/// patterns a whole secret in it may be of: none without a run of at least [`MIN_RUN`] token
/// bytes or an `@` (a URL's user information), and no shape without a run of
/// [`MIN_SHAPE_RUN`] [`SHAPE_RUN`] bytes (a URL's dots and colons break a shape's run, not a
/// token's). A text within `bytes` may hold only the patterns `bytes` may.
fn prescan(bytes: &[u8]) -> (bool, u64) {
    let (mut run, mut longest, mut seen) = (0usize, 0usize, 0u8);
    for &b in bytes {
        let class = CLASS[b as usize];
        seen |= class;
        run = if class & 1 == 1 { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    // A run of token bytes that long is rare; only then are the shapes' own runs counted.
    let shaped = longest >= MIN_SHAPE_RUN && {
        let mut run = 0;
        bytes.iter().any(|&b| {
            run = if CLASS[b as usize] & 8 != 0 { run + 1 } else { 0 };
            run >= MIN_SHAPE_RUN
        })
    };
    let patterns = if shaped {
        u64::MAX
    } else if longest >= MIN_RUN || seen & 2 != 0 {
        !SHAPES
    } else {
        0
    };
    (seen & 4 == 0, patterns)
}

/// For each byte, the patterns (as bits of an index into `SECRETS`) whose prefix starts with it,
/// and the patterns with no prefix, which any word may start.
const FIRST: [u64; 256] = {
    assert!(SECRETS.len() <= 64, "a pattern set is a u64");
    let mut table = [0u64; 256];
    let mut i = 0;
    while i < SECRETS.len() {
        if SECRETS[i].prefix.is_empty() {
            let mut b = 0;
            while b < 256 {
                if TOKEN[b] {
                    table[b] |= 1 << i;
                }
                b += 1;
            }
            i += 1;
            continue;
        }
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

/// For each byte, the patterns whose prefix's second byte it is (in either case, for a pattern
/// that ignores case), and the patterns with a prefix of fewer than two bytes, which any byte may
/// follow: with [`FIRST`], the patterns a word's first two bytes can begin.
const SECOND: [u64; 256] = {
    let mut table = [0u64; 256];
    let mut i = 0;
    while i < SECRETS.len() {
        let prefix = SECRETS[i].prefix.as_bytes();
        if prefix.len() < 2 {
            let mut b = 0;
            while b < 256 {
                table[b] |= 1 << i;
                b += 1;
            }
        } else if SECRETS[i].ignore_case {
            table[prefix[1].to_ascii_lowercase() as usize] |= 1 << i;
            table[prefix[1].to_ascii_uppercase() as usize] |= 1 << i;
        } else {
            table[prefix[1] as usize] |= 1 << i;
        }
        i += 1;
    }
    table
};

/// The patterns whose prefix may begin at `i`, by its first two bytes.
fn candidates_at(bytes: &[u8], i: usize) -> u64 {
    FIRST[bytes[i] as usize] & bytes.get(i + 1).map_or(u64::MAX, |&b| SECOND[b as usize])
}

/// Each pattern's first eight prefix bytes (or fewer) as a little-endian word test: the bytes,
/// lowercase where the pattern ignores case; which bytes count; and which to lowercase first
/// (`| 0x20` turns only the letter's two cases into its lowercase).
const PREFIX_WORDS: [(u64, u64, u64); SECRETS.len()] = {
    let mut out = [(0, 0, 0); SECRETS.len()];
    let mut i = 0;
    while i < SECRETS.len() {
        let pre = SECRETS[i].prefix.as_bytes();
        let (mut value, mut mask, mut fold) = (0u64, 0u64, 0u64);
        let mut j = 0;
        while j < pre.len() && j < 8 {
            let mut b = pre[j];
            if SECRETS[i].ignore_case && b.is_ascii_alphabetic() {
                b = b.to_ascii_lowercase();
                fold |= 0x20 << (8 * j);
            }
            value |= (b as u64) << (8 * j);
            mask |= 0xff << (8 * j);
            j += 1;
        }
        out[i] = (value, mask, fold);
        i += 1;
    }
    out
};

/// Whether pattern `n`'s prefix is at `i`: its first eight bytes tested as one word where eight
/// bytes remain.
fn prefix_of_at(bytes: &[u8], i: usize, n: usize) -> bool {
    let p = &SECRETS[n];
    match bytes.get(i..).and_then(<[u8]>::first_chunk::<8>) {
        Some(w) => {
            let (value, mask, fold) = PREFIX_WORDS[n];
            (u64::from_le_bytes(*w) | fold) & mask == value
                && (p.prefix.len() <= 8 || prefix_at(bytes, i + 8, &p.prefix.as_bytes()[8..], p.ignore_case))
        }
        None => prefix_at(bytes, i, p.prefix.as_bytes(), p.ignore_case),
    }
}

/// Whether the prefix `pre` is at `i`.
fn prefix_at(bytes: &[u8], i: usize, pre: &[u8], ignore_case: bool) -> bool {
    bytes.get(i..i + pre.len()).is_some_and(|w| if ignore_case { w.eq_ignore_ascii_case(pre) } else { w == pre })
}

/// Whether `token` is one or more of the formats' prefixes, one after another.
fn is_prefix_chain(token: &[u8]) -> bool {
    // Which lengths of the token's start such a chain can make.
    let mut reached = vec![false; token.len() + 1];
    reached[0] = true;
    for at in 0..token.len() {
        if !reached[at] {
            continue;
        }
        for s in SECRETS.iter().filter(|s| !s.prefix.is_empty()) {
            if prefix_at(token, at, s.prefix.as_bytes(), s.ignore_case) {
                reached[at + s.prefix.len()] = true;
            }
        }
    }
    !token.is_empty() && reached[token.len()]
}

/// Whether `token` holds the classes `needs` asks for: a digit, a lowercase letter, an
/// uppercase letter after its first character.
fn holds(token: &[u8], needs: [bool; 3]) -> bool {
    let [digit, lower, upper] = needs;
    (!digit || token.iter().any(u8::is_ascii_digit))
        && (!lower || token.iter().any(u8::is_ascii_lowercase))
        && (!upper || token.iter().skip(1).any(u8::is_ascii_uppercase))
}

/// How many of the classes digit, lowercase letter and uppercase letter `token` holds.
fn classes(token: &[u8]) -> usize {
    [u8::is_ascii_digit, u8::is_ascii_lowercase, u8::is_ascii_uppercase]
        .into_iter()
        .filter(|class| token.iter().any(class))
        .count()
}

/// The end of the token that makes a secret start at `i`, and where its mask goes, trying
/// only the patterns in `candidates`. The text before `from` is masked already: a shape does
/// not reach back into it.
fn secret_at(bytes: &[u8], i: usize, from: usize, mut candidates: u64, cut: bool) -> Option<(usize, usize)> {
    while candidates != 0 {
        let n = candidates.trailing_zeros() as usize;
        let p = &SECRETS[n];
        candidates &= candidates - 1;
        if !prefix_of_at(bytes, i, n) {
            continue;
        }
        // A shape (a format with no prefix) is a whole run of letters, digits and its extra
        // characters (not `_` and `-`), which may begin with extra ones (`/`, `+`), and not the
        // tail of a longer run. A mask ends a run: the text before `from` is masked already, so
        // what follows a masked token is read as the mask will leave it.
        let mut start = i + p.prefix.len();
        let shape = p.prefix.is_empty();
        let in_run = |b: u8| {
            if shape {
                b.is_ascii_alphanumeric() || p.extra_chars.as_bytes().contains(&b)
            } else {
                is_token_byte(b, p.extra_chars)
            }
        };
        if shape {
            while start > from && !TOKEN[bytes[start - 1] as usize] && in_run(bytes[start - 1]) {
                start -= 1;
            }
            if start > from && in_run(bytes[start - 1]) && !after_escape(bytes, start) {
                continue;
            }
        }
        let end = bytes[start..].iter().position(|&b| !in_run(b)).map_or(bytes.len(), |n| start + n);
        let token = &bytes[start..end];
        // What the inner-secret rule below leaves (`mb_live_mb_test_****`) holds formats' bare
        // prefixes before the mask, one after another: no secret, and masking them again would
        // make redaction change its own output. A prefix carries nothing secret, so nothing can
        // hide this way.
        if bytes[end..].starts_with(MASK.as_bytes()) && is_prefix_chain(token) {
            continue;
        }
        let whole = (p.min_len..=p.max_len).contains(&token.len()) && holds(token, p.needs);
        // Cut at the end of the text, a secret may be shorter than its format: a prefix is
        // enough, and for a shape two of its classes.
        let cut_short = cut && end == bytes.len() && end > start && (!p.prefix.is_empty() || classes(token) >= 2);
        if whole || cut_short {
            // A secret of its own format right after this prefix (`X-API-Key: mbd_sk_...`)
            // keeps its own prefix in the output, when it masks all this one would.
            if let Some(&b) = bytes.get(start).filter(|_| start > i)
                && let Some(inner) = secret_at(bytes, start, from, FIRST[b as usize], cut)
                && inner.1 >= end
            {
                return Some(inner);
            }
            return Some((start, end));
        }
    }
    None
}

/// How many bytes at `i` are a separator: an escape that may stand right before a secret
/// (`%3D`, `\u0022`, `\n`) counts whole, so that the secret after it starts a word.
fn separator_len(bytes: &[u8], i: usize) -> usize {
    let hex = |at: usize, n: usize| bytes.get(at..at + n).is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit));
    match (bytes[i], bytes.get(i + 1)) {
        (b'%', _) if hex(i + 1, 2) => 3,
        (b'\\', Some(b'u')) if hex(i + 2, 4) => 6,
        (b'\\', Some(b'n' | b'r' | b't' | b'b' | b'f' | b'"' | b'\\' | b'/')) => 2,
        _ => 1,
    }
}

/// Whether an escape that [`separator_len`] skips ends right before `i`.
fn after_escape(bytes: &[u8], i: usize) -> bool {
    [2, 3, 6].into_iter().any(|len| i >= len && separator_len(bytes, i - len) == len)
}

/// Where the password of a URL's user information lies, for a `:` at `i` that starts `://`:
/// `https://user:secret@host` gives the span of `secret`, `https://token@host` that of `token`.
/// With `cut`, an authority the cut ends (it may have lost its `@`) is masked whole.
fn url_credentials(bytes: &[u8], i: usize, cut: bool) -> Option<(usize, usize)> {
    if bytes.get(i..i + 3) != Some(b"://") {
        return None;
    }
    let from = i + 3;
    let end = bytes[from..]
        .iter()
        .position(|&b| matches!(b, b'/' | b'?' | b'#' | b'"' | b'\'' | b'<' | b'>' | b'\\') || b.is_ascii_whitespace());
    let authority = end.map_or(&bytes[from..], |n| &bytes[from..from + n]);
    let Some(at) = authority.iter().rposition(|&b| b == b'@') else {
        return (cut && end.is_none() && !authority.is_empty()).then_some((from, bytes.len()));
    };
    let user_info = &authority[..at];
    let start = user_info.iter().position(|&b| b == b':').map_or(from, |c| from + c + 1);
    (from + at > start).then_some((start, from + at))
}

/// Invisible characters that can hide inside a secret and split it for a reader that looks
/// for its characters: soft hyphens, zero-width characters, word joiners, bidirectional marks.
fn is_invisible(c: char) -> bool {
    // The first is U+00AD: no ASCII character is one.
    c >= '\u{AD}'
        && matches!(
            c,
            '\u{AD}'
                | '\u{61C}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206F}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
        )
}

/// `text` without its invisible characters, and its control characters as spaces: copied from
/// the first character that changes, into a string reserved to the text's length.
fn strip(text: &str) -> Cow<'_, str> {
    if text.is_ascii() {
        // No ASCII character is invisible: only the control characters change, byte for byte.
        let control = |b: &u8| *b < 0x20 || *b == 0x7f;
        if !text.as_bytes().iter().any(control) {
            return Cow::Borrowed(text);
        }
        let mut out = String::with_capacity(text.len());
        for (i, piece) in text.split(|c: char| c.is_ascii_control()).enumerate() {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(piece);
        }
        return Cow::Owned(out);
    }
    let changes = |c: char| c.is_control() || is_invisible(c);
    let Some(at) = text.char_indices().find_map(|(i, c)| changes(c).then_some(i)) else {
        return Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..at]);
    for c in text[at..].chars().filter(|&c| !is_invisible(c)) {
        out.push(if c.is_control() { ' ' } else { c });
    }
    Cow::Owned(out)
}

/// `text` without its invisible characters.
fn visible(text: &str) -> Cow<'_, str> {
    if text.is_ascii() || !text.chars().any(is_invisible) {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.chars().filter(|&c| !is_invisible(c)).collect())
    }
}

/// Replaces every secret in `text` with its prefix and `****`.
///
/// A secret is a prefix from `taxonomy/secrets.json` at the start of a word (or after a `_` or
/// `-` inside one, or right after an escape such as `%3D` or `\u0022`) followed by its format's
/// token characters; some formats are a shape alone (an AWS secret access key). The password
/// of a URL's user information (`https://user:****@host`) is masked too. Invisible characters
/// (soft hyphens, zero-width characters) are removed first: they cannot split a secret.
///
/// ```
/// use llm_error_taxonomy::redact;
/// assert_eq!(redact("bad key sk-abcdefghijklmnop."), "bad key sk-****.");
/// assert_eq!(redact("bad key sk-abcd\u{AD}efghijklmnop."), "bad key sk-****.");
/// assert_eq!(redact("GET https://user:hunter2@api.example.com/v1"), "GET https://user:****@api.example.com/v1");
/// assert_eq!(redact("no secrets here"), "no secrets here");
/// ```
pub fn redact(text: &str) -> Cow<'_, str> {
    match visible(text) {
        Cow::Borrowed(text) => redact_with(text, false, prescan(text.as_bytes()).1),
        Cow::Owned(text) => Cow::Owned(redact_with(&text, false, prescan(text.as_bytes()).1).into_owned()),
    }
}

/// [`redact`] on visible text, trying the patterns `patterns` ([`prescan`]'s, of the text or of
/// a text that holds it); with `cut` the text was cut short at its end, where a token after a
/// prefix is masked whatever its length (the cut may have shortened a secret below its format's
/// length), so every pattern must be tried.
fn redact_with(text: &str, cut: bool, patterns: u64) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    if patterns == 0 {
        return Cow::Borrowed(text);
    }
    let n = bytes.len();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    let mask = |out: &mut Option<String>, copied: &mut usize, (start, end): (usize, usize)| {
        let o = out.get_or_insert_with(|| String::with_capacity(text.len()));
        // A shape's run may begin before the word start it was found at; `secret_at` keeps it
        // from reaching back into the text already copied, and this keeps the slice sound.
        let start = start.max(*copied);
        o.push_str(&text[*copied..start]);
        o.push_str(MASK);
        *copied = end;
    };
    // Secrets start at the beginning of a word (every prefix starts with a token byte), so
    // skip separators and the rest of each word in tight loops and test only word starts.
    loop {
        while i < n && !TOKEN[bytes[i] as usize] {
            match bytes[i] {
                b':' => match url_credentials(bytes, i, cut) {
                    Some(span) => {
                        mask(&mut out, &mut copied, span);
                        i = span.1;
                    }
                    None => i += 1,
                },
                // Only these begin a separator of more than one byte.
                b'%' | b'\\' => i += separator_len(bytes, i),
                _ => i += 1,
            }
        }
        if i >= n {
            break;
        }
        let candidates = candidates_at(bytes, i) & patterns;
        if candidates != 0
            && let Some(span) = secret_at(bytes, i, copied, candidates, cut)
        {
            mask(&mut out, &mut copied, span);
            i = span.1;
            continue;
        }
        // The rest of the word; a secret may also start right after a `_` or `-` in it
        // (`OPENAI_API_KEY_sk-...`).
        while i < n && ALNUM[bytes[i] as usize] {
            i += 1;
        }
        if i < n && TOKEN[bytes[i] as usize] {
            i += 1;
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

/// Emitted text: invisible characters (bidirectional overrides that make a log line read
/// differently from what it holds, zero-width characters, soft hyphens) are removed, control
/// characters become spaces, the text is trimmed and cut to `max` bytes on a character
/// boundary, then secrets are redacted. When the text was cut, a secret the cut shortened ends
/// it, and is masked whatever its length. (The body reader keeps strings up to twice the
/// limits, so that the cut that matters is made, and seen, here.)
pub(crate) fn clean(text: &str, max: usize) -> String {
    let mut out = String::new();
    clean_into(text, max, &mut out);
    out
}

/// [`clean`], written at the end of `out`.
pub(crate) fn clean_into(text: &str, max: usize, out: &mut String) {
    // The common case, visible ASCII within the limit, is scanned once for both questions:
    // whether it needs stripping, and which secrets it may hold.
    let (plain, scanned) = if text.len() <= max {
        let (plain, patterns) = prescan(text.as_bytes());
        (plain, Some(patterns))
    } else {
        (text.bytes().all(visible_ascii), None)
    };
    let stripped = if plain { Cow::Borrowed(text) } else { strip(text) };
    // Stripping ASCII only turns control characters into spaces, which end a run as they do:
    // the text's scan still holds. Removing an invisible character can join two runs.
    let runs_kept = plain || text.is_ascii();
    let trimmed = stripped.trim();
    let capped = cap(trimmed, max).trim_end();
    // Cut, every pattern is tried; else a text that lost an invisible character (which can join
    // two runs) is scanned as it now is, and any other holds no more than its scan found.
    let cut = capped.len() < trimmed.len();
    let patterns = match scanned {
        _ if cut => u64::MAX,
        Some(patterns) if runs_kept => patterns,
        _ => prescan(capped.as_bytes()).1,
    };
    let redacted = redact_with(capped, cut, patterns);
    if redacted.len() <= max {
        match redacted {
            Cow::Owned(o) if out.is_empty() => *out = o,
            r => out.push_str(&r),
        }
    } else {
        // A mask longer than the cut token it replaced can push the text past the limit.
        out.push_str(cap(&redacted, max).trim_end());
    }
}

/// A short text emitted as a word (an upstream code or type, a detail's field or code): one of
/// the tables' `equals` values is emitted as the table's own `&'static str`, which cleaning
/// leaves as it is (`every_table_literal_is_clean`); any other text is cleaned.
pub(crate) fn clean_word(text: &str, max: usize) -> Cow<'static, str> {
    match LITERALS.binary_search(&text) {
        Ok(i) if text.len() <= max => Cow::Borrowed(LITERALS[i]),
        _ => Cow::Owned(clean(text, max)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A table's word is emitted without cleaning, so cleaning must leave each as it is; and
    /// the list is sorted, as the search for a word needs.
    #[test]
    fn every_table_literal_is_clean() {
        assert!(LITERALS.len() > 100, "{} literals", LITERALS.len());
        assert!(LITERALS.windows(2).all(|w| w[0] < w[1]));
        for word in LITERALS {
            assert_eq!(clean(word, word.len()), word);
            assert!(matches!(clean_word(word, word.len()), Cow::Borrowed(w) if w == word));
            assert!(matches!(clean_word(word, word.len() - 1), Cow::Owned(_)));
        }
        let text = "sk-abcdefghijklmnop";
        assert!(LITERALS.binary_search(&text).is_err());
        assert_eq!(clean_word(text, 256), "sk-****");
    }

    /// The quick pre-scan counts a format's own extra characters as part of a run: a secret
    /// broken up by them (base64's `+`, `/` and `=`) is still scanned for, and masked.
    #[test]
    fn secrets_made_mostly_of_extra_characters_are_found() {
        let cases = [
            ("Authorization: Basic Zm+/QW+/Yk+/Xy==", "Authorization: Basic ****"),
            // No run of letters and digits here is longer than three.
            ("id: aB3+/cD4+/eF5+/gH6+/iJ7+/kL8+/mN9+/oP0+/ (bad)", "id: **** (bad)"),
        ];
        for (text, want) in cases {
            assert_ne!(prescan(text.as_bytes()).1, 0, "{text}");
            assert_eq!(redact(text), want);
        }
        // A shape is tried only where a run is long enough to hold one.
        assert_ne!(prescan(cases[1].0.as_bytes()).1 & SHAPES, 0);
        assert_eq!(prescan(cases[0].0.as_bytes()).1 & SHAPES, 0);
        // A URL is a long run of token bytes, but its dots and dashes break a shape's run.
        let url = "see https://platform.openai.com/docs/guides/rate-limits/usage-tiers?context=tier-free";
        assert_ne!(prescan(url.as_bytes()).1, 0);
        assert_eq!(prescan(url.as_bytes()).1 & SHAPES, 0);
        let key = format!("{url} wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
        assert_ne!(prescan(key.as_bytes()).1 & SHAPES, 0);
        assert_eq!(redact(&key), format!("{url} ****"));
        assert_eq!(prescan(b"no secret here"), (true, 0));
        assert_eq!(prescan("tab\there, caf\u{e9}".as_bytes()), (false, 0));
    }

    /// 20,000 texts of one to `most` of `pieces`, the same for the same `seed` (a xorshift).
    fn texts<'p>(pieces: &'p [&'p str], most: usize, seed: u64) -> impl Iterator<Item = String> + 'p {
        let mut state = seed;
        let mut next = move |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        (0..20_000).map(move |_| {
            let count = 1 + next(most);
            (0..count).map(|_| pieces[next(pieces.len())]).collect()
        })
    }

    /// The patterns the pre-scan rules out never mask anything: texts made of secrets, parts of
    /// secrets, URLs and separators redact the same with its patterns as with every pattern.
    #[test]
    fn the_prescan_rules_out_only_patterns_that_mask_nothing() {
        let pieces = [
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "wJalrXUtnFEMI",
            "/K7MDENG+",
            "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3fG5hJ7k",
            "https://platform.openai.com/docs/guides/rate-limits",
            "https://user:hunter2@api.example.com/v1",
            "sk-abcdefghijklmnop",
            "sk-",
            "Bearer ",
            "key=",
            "0123456789",
            "_",
            "-",
            ".",
            "/",
            "+",
            "=",
            " ",
            "%3D",
            "\\u0022",
            "rate_limit_exceeded",
        ];
        for text in texts(&pieces, 8, 0x2545_F491_4F6C_DD1D) {
            let (_, patterns) = prescan(text.as_bytes());
            assert_eq!(redact_with(&text, false, patterns), redact_with(&text, false, u64::MAX), "{text}");
        }
    }

    /// `clean` is its definition, step by step (strip, trim, cut, redact with every pattern),
    /// on texts made of secrets, control and invisible characters, spaces and other text, cut
    /// or not: its shortcuts (the pre-scan, a scan kept across stripping) change nothing.
    #[test]
    fn clean_is_its_definition() {
        let pieces = [
            "key:",
            "Bearer",
            " ",
            "\n",
            "\t",
            "\u{7f}",
            "\u{200b}",
            "\u{ad}",
            "é",
            "1234567890abcdef",
            "sk-abcdefghijklmnop",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "https://user:hunter2@api.example.com/v1",
            "generativelanguage.googleapis.com/generate_content_free_tier_requests",
            "Quota exceeded",
        ];
        let definition = |text: &str, max: usize| {
            let stripped: String =
                text.chars().filter(|&c| !is_invisible(c)).map(|c| if c.is_control() { ' ' } else { c }).collect();
            let trimmed = stripped.trim();
            let capped = cap(trimmed, max).trim_end();
            let redacted = redact_with(capped, capped.len() < trimmed.len(), u64::MAX);
            cap(&redacted, max).trim_end().to_owned()
        };
        for text in texts(&pieces, 10, 0x9E37_79B9_7F4A_7C15) {
            for max in [16, 64, 1024] {
                assert_eq!(clean(&text, max), definition(&text, max), "{text:?} at {max}");
            }
        }
    }

    /// The word test of a prefix agrees with comparing its bytes, at the end of a text or not,
    /// in either case, and with each byte changed.
    #[test]
    fn prefix_words_agree_with_the_prefixes() {
        let mut texts: Vec<Vec<u8>> = Vec::new();
        for p in SECRETS {
            let pre = p.prefix.as_bytes();
            for variant in [pre.to_vec(), pre.to_ascii_uppercase(), pre.to_ascii_lowercase()] {
                for tail in [&b""[..], b"x", b"abcdefghij"] {
                    texts.push([&variant[..], tail].concat());
                    for k in 0..variant.len() {
                        for delta in [1, 0x20, 0x80] {
                            let mut changed = [&variant[..], tail].concat();
                            changed[k] ^= delta;
                            texts.push(changed);
                        }
                    }
                }
            }
        }
        for text in &texts {
            for at in [0, 1] {
                let padded = [&b" "[..at], text].concat();
                for (n, p) in SECRETS.iter().enumerate() {
                    assert_eq!(
                        prefix_of_at(&padded, at, n),
                        prefix_at(&padded, at, p.prefix.as_bytes(), p.ignore_case),
                        "{:?} in {:?}",
                        p.prefix,
                        String::from_utf8_lossy(&padded)
                    );
                }
            }
        }
    }

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
            ("aws secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY.", "aws secret ****."),
            ("aws secret /JalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY.", "aws secret ****."),
            ("Authorization: Basic dXNlcm5hbWU6cGFzc3dvcmQ=", "Authorization: Basic ****"),
            ("GET /v1?api_key=8f14e45fceea167a5a36&x=1", "GET /v1?api_key=****&x=1"),
            ("api-key: 3f9a1c7e5b2d4086a9e1f3c5b7d90a2e", "api-key: ****"),
            ("login password=hunter2", "login password=****"),
            ("https://admin:hunter2@proxy.example.com/v1", "https://admin:****@proxy.example.com/v1"),
            ("https://ghp_token@github.com/x", "https://****@github.com/x"),
            ("stripe sk_live_51Hq8Rt2Ys4Ud6If8Og0", "stripe sk_live_****"),
            ("slack xoxb-17653672481-19874698323-pdFZ", "slack xoxb-****"),
            ("key%3Dsk-abcdefghijklmnop", "key%3Dsk-****"),
            ("\\u0022sk-abcdefghijklmnop\\u0022", "\\u0022sk-****\\u0022"),
            ("line\\nsk-abcdefghijklmnop", "line\\nsk-****"),
            ("sk-abcdefgh\u{AD}ijklmnop", "sk-****"),
            ("sk-abcdefgh\u{2060}ijklmnop", "sk-****"),
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
            "Basic authentication failed",
            "basic Authentication failed",
            "Missing key: messages",
            "the key=value pairs",
            "token: expected a string",
            "commit 3f786850e387550fdab836ed7e6dc881de23001b",
            "request req_011CSHoEeqs5C35K2UUqR7Fy",
            "request 05997465cd2ee4bd50b24b216c911b75",
            "mailto:ops@example.com",
            "see https://docs.example.com/errors#rate-limits",
            "user@example.com",
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
        // A prefix with nothing after it, at a cut, has nothing to mask.
        assert_eq!(clean("invalid key sk-      more", 17), "invalid key sk-");
    }

    #[test]
    fn only_a_real_escape_starts_a_word() {
        // `%` and `\u` not followed by hex digits are no escapes: `xysk-` starts no key.
        for text in ["ratio 50%xysk-abcdefghijklmnop", "a \\uzzzzsk-abcdefghijklmnop", "a \\u00zsk-abcdefghijklmnop"] {
            assert_eq!(redact(text), text);
        }
        assert_eq!(
            redact("a \\u00zzsk-abcdefghijklmnop \\u0020sk-abcdefghijklmnop"),
            "a \\u00zzsk-abcdefghijklmnop \\u0020sk-****"
        );
    }

    #[test]
    fn only_a_url_s_user_information_is_masked() {
        for text in [
            "see https://docs.example.com then write to ops@example.com",
            "see https://docs.example.com",
            "https://@host.example/v1",
            "ftp://host.example/a@b",
        ] {
            assert_eq!(redact(text), text);
        }
        assert_eq!(redact("x https://tok@h y https://u:p@h"), "x https://****@h y https://u:****@h");
        // A one-character user information, and a one-character password.
        assert_eq!(redact("x https://k@h y https://u:k@h"), "x https://****@h y https://u:****@h");
        // Cut before its `@`, an authority is masked whole, whatever its characters.
        assert_eq!(clean("go https://abcdefghijklmnopqrstuvwx@host", 20), "go https://****");
        assert_eq!(clean("go https://abcdefghijklmnopqrstuvwx", 20), "go https://****");
    }

    #[test]
    fn run_time_formats_mask_tokens_of_their_length_at_word_starts() {
        let formats = [("acme_".to_owned(), 16), ("zz-".to_owned(), 0)];
        let f = |text| redact_formats(text, &formats).into_owned();
        assert_eq!(f("key acme_0123456789abcdef was revoked"), "key acme_**** was revoked");
        // One character short of the format, inside a word, or a bare prefix: not a key.
        assert_eq!(
            f("key acme_0123456789abcde and xacme_0123456789abcdef"),
            "key acme_0123456789abcde and xacme_0123456789abcdef"
        );
        assert_eq!(f("acme_ and zz- alone"), "acme_ and zz- alone");
        // A format with no length still needs one token character.
        assert_eq!(f("zz-a,acme_0123456789abcdef0"), "zz-****,acme_****");
    }

    /// Redacting what redaction left changes nothing, also where one secret's prefix stands
    /// right before another's (a fuzz finding: the bare prefix before the mask was masked again).
    #[test]
    fn redaction_is_idempotent_around_inner_secrets() {
        for text in [
            "key mb_live_mb_test_abcdefghijklmnop",
            "x-request-id: fa(_mb_live_mb_test_led_generquery",
            "X-API-Key: mbd_sk_abcdefghijklmnop1234",
            "sk-proj-abcdefghijklmnopqrstuvwx and mb_live_sk-abcdefghijklmnopqrstuv",
            // Four prefixes deep: what is left before the mask is a chain of bare prefixes.
            "key: AIzamb_test_ghu_mb_live_-9f8e7d6c5b9a3210**** has",
            // A token's mask ends the run it was part of: the rest is a whole shape.
            "Bearer$eyJhbGciOiJIzUI0NiJ9.eyJzdWIi///888888888888888////////////////OiIxIn&.c2ln",
        ] {
            let once = redact(text).into_owned();
            assert_ne!(once, text, "{text}: a secret is masked");
            assert_eq!(redact(&once), once, "{text}");
        }
        // A secret followed by the mask is still a secret.
        assert_eq!(redact("sk-abcdefghijklmnopqrstuvwx****"), "sk-********");
        // Only bare prefixes are passed over: not a key as long as a prefix, nor one that starts
        // with prefixes and goes on.
        assert_eq!(redact("key mb_live_abc123XY**** end"), "key mb_live_******** end");
        assert_eq!(redact("key mb_live_sk-abcdefghijklmnopqrstu**** end"), "key mb_live_sk-******** end");
        assert_eq!(redact("key mb_live_mb_test_abc123**** end"), "key mb_live_mb_test_******** end");
        assert!(is_prefix_chain(b"mb_test_ghu_mb_live_") && is_prefix_chain(b"AIzamb_test_"));
        assert!(!is_prefix_chain(b"mb_test_x") && !is_prefix_chain(b"") && !is_prefix_chain(b"mb_"));
    }

    #[test]
    fn a_shape_is_a_whole_run() {
        // The 40 characters from `/` are the tail of a 44-character run: no AWS secret key.
        let tail = "see a1b2/C3d4E5f6G7h8J9k0L1m2N3o4P5q6R7s8T9u0V1w";
        assert_eq!(redact(tail), tail);
        // Whole, it is one, also when it begins with `/` or follows an escape.
        assert_eq!(redact("k /3d4E5f6G7h8J9k0L1m2N3o4P5q6R7s8T9u0V1w2"), "k ****");
        assert_eq!(redact("k %3DC3d4E5f6G7h8J9k0L1m2N3o4P5q6R7s8T9u0V1w2"), "k %3D****");
    }

    #[test]
    fn clean_strips_controls_and_caps_on_a_char_boundary() {
        assert_eq!(clean("a\u{0}b\nc\u{202E}d", 100), "a b cd");
        assert_eq!(clean("ééé", 5), "éé");
        assert_eq!(clean("  padded  ", 100), "padded");
    }
}
