//! Phrase matching: a text is searched once for every phrase of the tables' `contains` tests.

use crate::table::{PHRASE_STARTS, PHRASES};

const WORDS: usize = PHRASES.len().div_ceil(64);

/// The phrases of `PHRASES` that a text contains on word boundaries, ignoring ASCII case: where
/// a phrase begins or ends with a letter or digit, the text must not go on with one there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Found([u64; WORDS]);

impl Found {
    /// The phrases `text` contains, found in one pass: a word is looked at only where it begins
    /// (a phrase that begins with a letter or digit begins where a word does), and there only
    /// the phrases that begin with its first two bytes are compared (the phrases are lowercase
    /// ASCII, sorted).
    pub(crate) fn in_text(text: &str) -> Found {
        let m = text.as_bytes();
        let word = |b: u8| b.is_ascii_alphanumeric();
        let mut found = Found::default();
        let mut i = 0;
        while i < m.len() {
            let b = m[i].to_ascii_lowercase();
            let (lo, hi) = (PHRASE_STARTS[usize::from(b)], PHRASE_STARTS[usize::from(b) + 1]);
            if lo < hi {
                found.at(m, i, usize::from(lo)..usize::from(hi));
            }
            i += 1;
            if word(b) {
                // The rest of the word: no phrase begins inside one.
                while i < m.len() && word(m[i]) {
                    i += 1;
                }
            }
        }
        found
    }

    /// Notes the phrases of `group` (those that begin with `m[i]`) that `m` holds at `i`.
    fn at(&mut self, m: &[u8], i: usize, group: std::ops::Range<usize>) {
        let word = |b: u8| b.is_ascii_alphanumeric();
        let phrases = &PHRASES[group.clone()];
        // Sorted, a phrase of one byte comes first, then the phrases by their second byte.
        let from = match m.get(i + 1) {
            Some(n) => {
                let n = n.to_ascii_lowercase();
                let one = phrases.partition_point(|p| p.len() < 2);
                one + phrases[one..].partition_point(|p| p.as_bytes()[1] < n)
            }
            None => phrases.len(),
        };
        let ones = phrases.iter().take_while(|p| p.len() < 2).enumerate();
        let twos =
            phrases.iter().enumerate().skip(from).take_while(|(_, p)| {
                m.get(i + 1).is_some_and(|n| p.as_bytes().get(1) == Some(&n.to_ascii_lowercase()))
            });
        for (k, p) in ones.chain(twos) {
            let p = p.as_bytes();
            let Some(rest) = m.get(i + 1..i + p.len()) else { continue };
            let ends = !p.last().copied().is_some_and(word) || m.get(i + p.len()).is_none_or(|&n| !word(n));
            if ends && rest.eq_ignore_ascii_case(&p[1..]) {
                let id = group.start + k;
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

    #[test]
    fn unknown_indexes_are_not_found() {
        let found = Found::in_text(PHRASES.first().copied().unwrap_or_default());
        assert!(!found.any(&[u16::MAX]));
        assert!(!found.any(&[]));
    }
}
