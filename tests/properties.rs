//! Properties over generated responses, with the same invariants as the fuzz targets
//! (`tests/common/invariants.rs`): every response built from the tables' own paths, codes,
//! types, statuses and phrases, and any bytes at all, meets them; text echoed from a request
//! never changes the class; unknown fields change nothing.

mod common;
#[path = "common/seeded.rs"]
mod seeded;

use common::invariants::{normalize_checked, normalizer};
use common::response::render;
use common::targets;
use common::vocab::{Node, RETRY_HEADERS, float, http_date, pick, string, table_status, vocab};
use http::{HeaderMap, StatusCode};
use llm_error_taxonomy::Style;
use proptest::prelude::*;
use seeded::config;
use strum::IntoEnumIterator;

fn styles() -> Vec<Option<Style>> {
    std::iter::once(None).chain(Style::iter().map(Some)).collect()
}

fn style() -> impl Strategy<Value = Option<Style>> {
    proptest::sample::select(styles())
}

fn status() -> impl Strategy<Value = u16> {
    prop_oneof![(any::<usize>(), any::<u16>()).prop_map(|(i, n)| table_status(i, n)), 100u16..1000]
}

/// Short text of printable characters, some of them multi-byte, with the odd control character.
fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 _.,:;'\"é€\\-\u{0}\u{7f}\u{202e}]{0,24}"
}

/// A JSON scalar drawn from the tables' words or from anywhere.
fn scalar() -> impl Strategy<Value = String> {
    let v = vocab();
    prop_oneof![
        proptest::sample::select(v.codes.clone()).prop_map(string),
        proptest::sample::select(v.types.clone()).prop_map(string),
        (proptest::sample::select(v.phrases.clone()), text(), text())
            .prop_map(|(p, a, b)| string(&format!("{a}{p}{b}"))),
        status().prop_map(|s| s.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(float),
        text().prop_map(|s| string(&s)),
        any::<bool>().prop_map(|b| b.to_string()),
        Just("null".to_owned()),
    ]
}

/// A JSON value for a located path: a scalar, a details array, an object or an array.
fn value() -> impl Strategy<Value = Node> {
    let members = || {
        let key = prop_oneof![proptest::sample::select(vocab().segments.clone()), text()];
        proptest::collection::vec((key, scalar()), 0..4)
    };
    prop_oneof![
        4 => scalar().prop_map(Node::Raw),
        1 => proptest::collection::vec(members(), 0..4).prop_map(|entries| {
            let entries: Vec<String> = entries.into_iter().map(|m| Node::object(m).to_json(false)).collect();
            Node::Raw(format!("[{}]", entries.join(",")))
        }),
        1 => members().prop_map(Node::object),
    ]
}

/// An envelope-shaped body: values at some of the tables' paths.
fn body() -> impl Strategy<Value = Node> {
    proptest::collection::vec((any::<usize>(), value()), 0..6).prop_map(|fields| {
        let mut root = Node::Object(Vec::new());
        for (i, v) in fields {
            if let Some(path) = pick(&vocab().paths, i) {
                root.insert(path, v);
            }
        }
        root
    })
}

fn headers() -> impl Strategy<Value = Vec<(String, String)>> {
    let mut names: Vec<String> = vocab().headers.iter().map(|h| (*h).to_owned()).collect();
    names.extend(RETRY_HEADERS.iter().map(|h| (*h).to_owned()));
    let value = prop_oneof![
        (0u32..100_000).prop_map(|n| n.to_string()),
        (-100_000i64..100_000_000).prop_map(|d| http_date(common::invariants::NOW as i64 + d)),
        "[a-zA-Z0-9 .:-]{0,20}",
    ];
    proptest::collection::vec((proptest::sample::select(names), value), 0..3)
}

/// A response in the raw format.
fn response() -> impl Strategy<Value = Vec<u8>> {
    (style(), status(), headers(), body(), any::<bool>()).prop_map(|(style, status, headers, body, pretty)| {
        render(style, status, &headers, body.to_json(pretty).as_bytes())
    })
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn envelopes_built_from_the_tables_meet_the_invariants(raw in response()) {
        targets::normalize_raw(&raw);
        targets::roundtrip(&raw);
    }

    #[test]
    fn any_bytes_meet_the_invariants(head in response(), tail in proptest::collection::vec(any::<u8>(), 0..64), cut in any::<usize>()) {
        // A response cut anywhere and followed by noise.
        let mut raw = head[..cut % (head.len() + 1)].to_vec();
        raw.extend_from_slice(&tail);
        targets::normalize_raw(&raw);
        targets::roundtrip(&raw);
    }

    #[test]
    fn streams_meet_the_invariants(style in style(), status in status(), events in proptest::collection::vec(body(), 0..4), done in any::<bool>()) {
        let mut sse = String::new();
        for e in events {
            sse.push_str(&format!("data: {}\n\n", e.to_json(false)));
        }
        if done {
            sse.push_str("data: [DONE]\n\n");
        }
        targets::stream(&render(style, status, &[], sse.as_bytes()));
    }
}

/// The request text a 400 may echo; none of it may change the class.
const ECHOED: [&str; 5] = ["rate limit", "429", "overloaded", "timeout", "insufficient balance"];

/// Filler that spells none of the tables' phrases.
fn filler() -> impl Strategy<Value = String> {
    "[xyz0-9 .,]{0,12}"
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn echoed_text_never_changes_the_class(
        code in proptest::option::of(proptest::sample::select(vocab().codes.clone())),
        type_ in proptest::option::of(proptest::sample::select(vocab().types.clone())),
        echoed in proptest::sample::select(ECHOED.to_vec()),
        before in filler(),
        after in filler(),
    ) {
        let envelope = |message: String| {
            let mut error = vec![("message".to_owned(), string(&message))];
            error.extend(code.map(|c| ("code".to_owned(), string(c))));
            error.extend(type_.map(|t| ("type".to_owned(), string(t))));
            Node::Object(vec![("error".to_owned(), Node::object(error))]).to_json(false)
        };
        let plain = envelope(format!("{before}{after}"));
        let echoing = envelope(format!("{before}{echoed}{after}"));
        for style in styles() {
            let n = normalizer();
            let want = normalize_checked(&n, style, StatusCode::BAD_REQUEST, &HeaderMap::new(), plain.as_bytes());
            let got = normalize_checked(&n, style, StatusCode::BAD_REQUEST, &HeaderMap::new(), echoing.as_bytes());
            prop_assert_eq!(got.code(), want.code(), "{:?}: {} vs {}", style, echoing, plain);
            prop_assert_eq!(got.style(), want.style());
        }
    }

    #[test]
    fn unknown_fields_change_nothing(
        style in style(),
        status in status(),
        body in body(),
        extra in proptest::collection::vec((any::<bool>(), "x_[a-z0-9_]{0,8}", value()), 1..4),
        in_details in proptest::collection::vec(("x_[a-z0-9_]{0,8}", scalar()), 1..3),
    ) {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
        let n = normalizer();
        let plain = body.to_json(false);
        let want = normalize_checked(&n, style, status, &HeaderMap::new(), plain.as_bytes());

        // Anywhere around the located fields: the output is the same, byte for byte.
        let mut widened = body.clone();
        // Under `error` only where it is an object (or absent): a second `error` key would
        // replace a first that is text, which is no unknown field but another body.
        let error_is_text = matches!(&body, Node::Object(m) if m.iter().any(|(k, n)| k == "error" && !matches!(n, Node::Object(_))));
        for (in_error, key, v) in &extra {
            let path: Vec<String> =
                if *in_error && !error_is_text { vec!["error".into(), key.clone()] } else { vec![key.clone()] };
            widened.insert(&path, v.clone());
        }
        let json = widened.to_json(true);
        let got = normalize_checked(&n, style, status, &HeaderMap::new(), json.as_bytes());
        prop_assert_eq!(got.to_json(), want.to_json(), "{} vs {}", json, plain);

        // In every object, details entries included (where they become figures): the class stays.
        let member = in_details.iter().map(|(k, v)| format!("{}:{v}", string(k))).collect::<Vec<_>>().join(",");
        let with_figures = in_every_object(&plain, &member);
        let got = normalize_checked(&n, style, status, &HeaderMap::new(), with_figures.as_bytes());
        prop_assert_eq!(got.code(), want.code(), "{} vs {}", with_figures, plain);
        prop_assert_eq!(got.style(), want.style());
    }
}

/// `json` with `member` added first in every object. Only the generated JSON's structure holds
/// braces: no generated string does.
fn in_every_object(json: &str, member: &str) -> String {
    let mut out = String::with_capacity(json.len() * 2);
    let mut chars = json.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '{' {
            out.push_str(member);
            if chars.peek() != Some(&'}') {
                out.push(',');
            }
        }
    }
    out
}
