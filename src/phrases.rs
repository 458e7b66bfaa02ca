//! Phrase matching: a text is searched once for every phrase of the tables' `contains` tests.

use crate::table::{PHRASE_STARTS, PHRASES};

const WORDS: usize = PHRASES.len().div_ceil(64);

/// The phrases of `PHRASES` that a text contains on word boundaries, ignoring ASCII case: where
/// a phrase begins or ends with a letter or digit, the text must not go on with one there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Found([u64; WORDS]);

impl Found {
    /// The phrases `text` contains, found in one pass: at each position only the phrases that
    /// begin with its byte are compared (the phrases are lowercase ASCII).
    pub(crate) fn in_text(text: &str) -> Found {
        let m = text.as_bytes();
        let word = |b: u8| b.is_ascii_alphanumeric();
        let mut found = Found::default();
        for (i, &b) in m.iter().enumerate() {
            let b = b.to_ascii_lowercase();
            // A phrase that begins with a letter or digit begins where a word does.
            if word(b) && i > 0 && word(m[i - 1]) {
                continue;
            }
            let next = m.get(i + 1).map(u8::to_ascii_lowercase);
            let b = usize::from(b);
            // Phrases with the same first byte are sorted by the second, a phrase of one byte first.
            for id in PHRASE_STARTS[b]..PHRASE_STARTS[b + 1] {
                let p = PHRASES[usize::from(id)].as_bytes();
                if let Some(&second) = p.get(1) {
                    match next {
                        Some(n) if second < n => continue,
                        Some(n) if second == n => {}
                        _ => break,
                    }
                }
                let Some(rest) = m.get(i + 1..i + p.len()) else { continue };
                let ends = !p.last().copied().is_some_and(word) || m.get(i + p.len()).is_none_or(|&n| !word(n));
                if ends && rest.eq_ignore_ascii_case(&p[1..]) {
                    found.0[usize::from(id / 64)] |= 1 << (id % 64);
                }
            }
        }
        found
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
