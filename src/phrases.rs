//! Phrase matching: a text is searched once for every phrase of the tables' `contains` tests.

use crate::scan::ALNUM;
use crate::table::PHRASES;

const WORDS: usize = PHRASES.len().div_ceil(64);

/// The bytes a phrase begins with, in either case.
static BEGINS: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < PHRASES.len() {
        let b = PHRASES[i].as_bytes()[0];
        t[b as usize] = true;
        t[b.to_ascii_uppercase() as usize] = true;
        i += 1;
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

/// How many buckets the phrases are sorted into by their first [`PREFIX`] bytes.
const BUCKETS: usize = 4096;

/// The bytes of a `u32` that hold a word's first [`PREFIX`] bytes.
const PREFIX_MASK: u32 = if PREFIX == 4 { u32::MAX } else { (1 << (8 * PREFIX)) - 1 };

/// The bucket of a text's first [`PREFIX`] bytes (in `bytes`, as read, little-endian): the same
/// for each case of a letter, as `| 0x20` turns both into the lowercase one.
const fn bucket(bytes: u32) -> usize {
    let folded = (bytes | 0x2020_2020) & PREFIX_MASK;
    (folded.wrapping_mul(0x9E37_79B1) >> 20) as usize
}

/// The bucket of a phrase, by its first [`PREFIX`] bytes.
const fn phrase_bucket(phrase: &str) -> usize {
    let p = phrase.as_bytes();
    let mut bytes = [0u8; 4];
    let mut k = 0;
    while k < PREFIX {
        bytes[k] = p[k];
        k += 1;
    }
    bucket(u32::from_le_bytes(bytes))
}

/// For each bucket `b`, `BUCKET_STARTS[b]..BUCKET_STARTS[b + 1]` are the places in
/// [`BUCKET_PHRASES`] of the phrases whose first bytes fall in it: a word whose first bytes fall in
/// an empty bucket begins no phrase, and one whose bucket holds phrases is compared with those.
static BUCKET_STARTS: [u16; BUCKETS + 1] = {
    let mut starts = [0u16; BUCKETS + 1];
    let mut i = 0;
    while i < PHRASES.len() {
        starts[phrase_bucket(PHRASES[i]) + 1] += 1;
        i += 1;
    }
    let mut b = 0;
    while b < BUCKETS {
        starts[b + 1] += starts[b];
        b += 1;
    }
    starts
};

/// The phrases' indexes in `PHRASES`, sorted by bucket.
static BUCKET_PHRASES: [u16; PHRASES.len()] = {
    assert!(PHRASES.len() < u16::MAX as usize, "a phrase's index is a u16");
    let mut ids = [0u16; PHRASES.len()];
    let mut next = BUCKET_STARTS;
    let mut i = 0;
    while i < PHRASES.len() {
        let b = phrase_bucket(PHRASES[i]);
        ids[next[b] as usize] = i as u16;
        next[b] += 1;
        i += 1;
    }
    ids
};

/// The phrases that may begin at `i` of `text`, by its first [`PREFIX`] bytes: places in
/// [`BUCKET_PHRASES`]; none where the text ends sooner, where no phrase fits.
#[inline]
fn candidates(text: &[u8], i: usize) -> std::ops::Range<usize> {
    let bytes = match text.get(i..).and_then(<[u8]>::first_chunk::<4>) {
        Some(four) => u32::from_le_bytes(*four),
        None => {
            let Some(first) = text.get(i..i + PREFIX) else { return 0..0 };
            let mut bytes = [0; 4];
            bytes[..PREFIX].copy_from_slice(first);
            u32::from_le_bytes(bytes)
        }
    };
    let b = bucket(bytes);
    usize::from(BUCKET_STARTS[b])..usize::from(BUCKET_STARTS[b + 1])
}

/// The phrases of `PHRASES` that a text contains on word boundaries, ignoring ASCII case: where
/// a phrase begins or ends with a letter or digit, the text must not go on with one there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Found([u64; WORDS]);

impl Found {
    /// The phrases `text` contains, found in one pass: a word is looked at only where it begins
    /// (a phrase that begins with a letter or digit begins where a word does), and there only the
    /// phrases whose first bytes share its bucket are compared.
    pub(crate) fn in_text(text: &str) -> Found {
        let m = text.as_bytes();
        let mut found = Found::default();
        let mut i = 0;
        while i < m.len() {
            let b = m[i];
            if BEGINS[usize::from(b)] {
                for &id in &BUCKET_PHRASES[candidates(m, i)] {
                    found.at(m, i, usize::from(id));
                }
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

    /// Notes phrase `id` if `m` holds it at `i`.
    fn at(&mut self, m: &[u8], i: usize, id: usize) {
        let p = PHRASES[id].as_bytes();
        let Some(here) = m.get(i..i + p.len()) else { return };
        let ends = !p.last().is_some_and(|&l| ALNUM[usize::from(l)])
            || m.get(i + p.len()).is_none_or(|&n| !ALNUM[usize::from(n)]);
        if ends && here.eq_ignore_ascii_case(p) {
            self.0[id / 64] |= 1 << (id % 64);
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

    /// Every phrase is in the bucket of its own first bytes, in any case, and the buckets hold
    /// few phrases each.
    #[test]
    fn every_phrase_is_a_candidate_where_it_begins() {
        for (id, p) in PHRASES.iter().enumerate() {
            for text in [p.to_string(), p.to_ascii_uppercase()] {
                let ids = &super::BUCKET_PHRASES[super::candidates(text.as_bytes(), 0)];
                assert!(ids.contains(&u16::try_from(id).unwrap_or(u16::MAX)), "{p}");
            }
        }
        let most = super::BUCKET_STARTS.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0);
        let used = super::BUCKET_STARTS.windows(2).filter(|w| w[1] > w[0]).count();
        assert!(most <= 16 && used < super::BUCKETS / 16, "{most} phrases in a bucket, {used} buckets used");
    }

    #[test]
    fn unknown_indexes_are_not_found() {
        let found = Found::in_text(PHRASES.first().copied().unwrap_or_default());
        assert!(!found.any(&[u16::MAX]));
        assert!(!found.any(&[]));
    }
}
