//! Phrase matching: a text is searched once for every phrase of the tables' `contains` tests.

use crate::scan::ALNUM;
use crate::table::{PHRASE_STARTS, PHRASES};

const WORDS: usize = PHRASES.len().div_ceil(64);

/// Each phrase's second byte (0 for a phrase of one byte), for the scan of a group of phrases
/// that begin with the same byte, which are sorted by it.
static SECONDS: [u8; PHRASES.len()] = {
    let mut t = [0u8; PHRASES.len()];
    let mut i = 0;
    while i < PHRASES.len() {
        let p = PHRASES[i].as_bytes();
        if p.len() > 1 {
            t[i] = p[1];
        }
        i += 1;
    }
    t
};

/// The bytes a phrase begins with, in either case.
static BEGINS: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let lower = (b as u8).to_ascii_lowercase() as usize;
        t[b] = PHRASE_STARTS[lower] < PHRASE_STARTS[lower + 1];
        b += 1;
    }
    t
};

/// How many bytes of a word the prefix filter reads: the shortest phrase's length, at most 4.
const PREFIX: usize = {
    let mut k = 4;
    let mut i = 0;
    while i < PHRASES.len() {
        if PHRASES[i].len() < k {
            k = PHRASES[i].len();
        }
        i += 1;
    }
    k
};

/// The bit of a text's first [`PREFIX`] bytes, lowercased and padded with zeros, in [`PREFIXES`].
const fn prefix_bit(bytes: [u8; 4]) -> usize {
    (u32::from_le_bytes(bytes).wrapping_mul(0x9E37_79B1) >> 20) as usize
}

/// Whether a phrase may begin at `i` of `text`, by its first [`PREFIX`] bytes, lowercased and
/// padded with zeros, in [`PREFIXES`]; never where the text ends sooner, where no phrase fits.
#[inline]
fn may_begin_phrase(text: &[u8], i: usize) -> bool {
    let mut bytes = [0; 4];
    let Some(first) = text.get(i..i + PREFIX) else { return false };
    for (o, b) in bytes.iter_mut().zip(first) {
        *o = b.to_ascii_lowercase();
    }
    let bit = prefix_bit(bytes);
    PREFIXES[bit / 64] >> (bit % 64) & 1 == 1
}

/// The phrases' first [`PREFIX`] bytes, as a set of 4,096 bits: a word whose first bytes are not
/// in it begins no phrase (bytes that share a bit cannot be told apart, so one that is in it may
/// still begin none).
static PREFIXES: [u64; 64] = {
    let mut set = [0u64; 64];
    let mut i = 0;
    while i < PHRASES.len() {
        let p = PHRASES[i].as_bytes();
        let mut bytes = [0u8; 4];
        let mut k = 0;
        while k < PREFIX {
            bytes[k] = p[k].to_ascii_lowercase();
            k += 1;
        }
        let bit = prefix_bit(bytes);
        set[bit / 64] |= 1 << (bit % 64);
        i += 1;
    }
    set
};

/// The phrases of `PHRASES` that a text contains on word boundaries, ignoring ASCII case: where
/// a phrase begins or ends with a letter or digit, the text must not go on with one there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Found([u64; WORDS]);

impl Found {
    /// The phrases `text` contains, found in one pass: a word is looked at only where it begins
    /// (a phrase that begins with a letter or digit begins where a word does) and only when its
    /// first bytes are in [`PREFIXES`]; there only the phrases that begin with its byte are
    /// compared (the phrases are lowercase ASCII, sorted, so those that also share its second
    /// byte are neighbours).
    pub(crate) fn in_text(text: &str) -> Found {
        let m = text.as_bytes();
        let mut found = Found::default();
        let mut i = 0;
        while i < m.len() {
            let b = m[i];
            if BEGINS[usize::from(b)] && may_begin_phrase(m, i) {
                found.at(m, i);
            }
            i += 1;
            if ALNUM[usize::from(b)] {
                // The rest of the word: no phrase begins inside one.
                while i < m.len() && ALNUM[usize::from(m[i])] {
                    i += 1;
                }
            }
        }
        found
    }

    /// Notes the phrases that `m` holds at `i`.
    fn at(&mut self, m: &[u8], i: usize) {
        let b = usize::from(m[i].to_ascii_lowercase());
        let next = m.get(i + 1).map_or(0, u8::to_ascii_lowercase);
        let (lo, hi) = (usize::from(PHRASE_STARTS[b]), usize::from(PHRASE_STARTS[b + 1]));
        // Phrases with the same first byte are sorted by the second, a phrase of one byte first.
        for id in lo..hi {
            let second = SECONDS[id];
            if second != 0 && second < next {
                continue;
            }
            if second > next {
                break;
            }
            let p = PHRASES[id].as_bytes();
            let Some(rest) = m.get(i + 1..i + p.len()) else { continue };
            let ends = !p.last().is_some_and(|&l| ALNUM[usize::from(l)])
                || m.get(i + p.len()).is_none_or(|&n| !ALNUM[usize::from(n)]);
            if ends && rest.eq_ignore_ascii_case(&p[1..]) {
                self.0[id / 64] |= 1 << (id % 64);
            }
        }
    }

    /// Whether any of the phrases `ids` (indexes in `PHRASES`) was found.
    pub(crate) fn any(&self, ids: &[u16]) -> bool {
        ids.iter().any(|&id| self.0.get(usize::from(id / 64)).is_some_and(|w| w >> (id % 64) & 1 == 1))
    }
}

#[cfg(test)]
mod tests {
    use super::{Found, PHRASES};

    /// The definition: at any position, the phrase ignoring ASCII case, on word boundaries.
    fn plain(text: &str, phrase: &str) -> bool {
        let (m, p) = (text.as_bytes(), phrase.as_bytes());
        let (Some(&first), Some(&last)) = (p.first(), p.last()) else { return false };
        let word = |b: u8| b.is_ascii_alphanumeric();
        m.len() >= p.len()
            && (0..=m.len() - p.len()).any(|i| {
                m[i..i + p.len()].eq_ignore_ascii_case(p)
                    && (!word(first) || i == 0 || !word(m[i - 1]))
                    && (!word(last) || i + p.len() == m.len() || !word(m[i + p.len()]))
            })
    }

    fn agrees(text: &str) {
        let found = Found::in_text(text);
        for (id, p) in PHRASES.iter().enumerate() {
            let id = u16::try_from(id).expect("fewer than 65536 phrases");
            assert_eq!(found.any(&[id]), plain(text, p), "{p:?} in {text:?}");
        }
    }

    #[test]
    fn every_phrase_is_found_as_defined() {
        let texts = [
            "",
            "Rate Limit exceeded",
            "rate limited",
            "the RATE LIMIT",
            "xrate limit",
            "Server OVERLOADED.",
            "insufficient balance (1008)",
            "a",
            "invalid x-api-key header",
            "function 'f' failed",
            "Model Not Exist: gpt-9",
            "é rate limit é",
        ];
        for t in texts {
            for text in [t.to_owned(), format!("  {t}  "), t.repeat(3), format!("{t}{t}")] {
                agrees(&text);
            }
        }
        // Each phrase alone, cut short, upper-cased, inside a word and between words.
        for p in PHRASES {
            let upper = p.to_ascii_uppercase();
            for text in [
                p.to_string(),
                p[..p.len() - 1].to_owned(),
                p[1..].to_owned(),
                upper.clone(),
                format!("x{p}"),
                format!("{p}x"),
                format!("1{upper}1"),
                format!("The upstream said: {p}. Try later"),
                format!("({p})"),
                format!("{p}{p}"),
            ] {
                agrees(&text);
            }
        }
    }

    /// The prefix filter passes every phrase's own first bytes, in any case, and few others.
    #[test]
    fn the_prefix_filter_passes_every_phrase_and_few_words() {
        let passes = |text: &str| super::may_begin_phrase(text.as_bytes(), 0);
        for p in PHRASES {
            assert!(passes(p) && passes(&p.to_ascii_uppercase()), "{p}");
        }
        let set: u32 = super::PREFIXES.iter().map(|w| w.count_ones()).sum();
        assert!(set as usize <= PHRASES.len() && set < 4096 / 16, "{set} bits");
    }

    #[test]
    fn unknown_indexes_are_not_found() {
        let found = Found::in_text(PHRASES.first().copied().unwrap_or_default());
        assert!(!found.any(&[u16::MAX]));
        assert!(!found.any(&[]));
    }
}
