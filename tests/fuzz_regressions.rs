//! Replays on stable every input a fuzz target ever failed on, kept under
//! `tests/fuzz_regressions/<target>/`, through the same code the target runs
//! (`tests/common/targets.rs`); and keeps the fuzz dictionary in step with the tables.

mod common;

use common::response::{Response, render};
use common::targets;
use http::StatusCode;
use llm_error_taxonomy::table::{self, Location, Op, StatusPattern};
use llm_error_taxonomy::{ErrorCode, Field, Style};
use std::collections::BTreeSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use strum::IntoEnumIterator;

/// What a fuzz target runs on one input.
type Target = fn(&[u8]);

/// Each target's folder and the code it runs. `normalize_structured` keeps its inputs rendered
/// in the raw format (its `FUZZ_RENDER_TO` output), which is what it checks.
const TARGETS: [(&str, Target); 7] = [
    ("normalize_raw", targets::normalize_raw),
    ("normalize_structured", targets::normalize_raw),
    ("roundtrip", targets::roundtrip),
    ("stream", targets::stream),
    ("eventstream", targets::eventstream),
    ("paths", targets::paths),
    ("nested", targets::nested),
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// The saved inputs of `target`, sorted; none when it never failed.
fn inputs(target: &str) -> Vec<PathBuf> {
    let dir = root().join("tests/fuzz_regressions").join(target);
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries.map(|e| e.expect("a readable folder").path()).filter(|p| p.is_file()).collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    files
}

fn replay(target: &str) -> usize {
    let run = TARGETS.iter().find(|(name, _)| *name == target).expect("a known target").1;
    let files = inputs(target);
    for path in &files {
        let data = std::fs::read(path).expect("a readable input");
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| run(&data))) {
            let why = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            panic!("{} fails again: {why}", path.display());
        }
    }
    files.len()
}

#[test]
fn normalize_raw_regressions_pass() {
    replay("normalize_raw");
}

#[test]
fn normalize_structured_regressions_pass() {
    replay("normalize_structured");
}

#[test]
fn roundtrip_regressions_pass() {
    replay("roundtrip");
}

#[test]
fn stream_regressions_pass() {
    replay("stream");
}

#[test]
fn eventstream_regressions_pass() {
    replay("eventstream");
}

#[test]
fn paths_regressions_pass() {
    replay("paths");
}

#[test]
fn nested_regressions_pass() {
    replay("nested");
}

/// The three newest targets also run, on stable, on every real response of `tests/cases/` and
/// `tests/corpus/`: the event-stream cases as raw bytes, and every body through the path
/// language's placements, and every eighth wrapped as the error inside gateways' errors.
#[test]
fn eventstream_and_paths_hold_on_the_real_cases() {
    let mut files = vec![root().join("tests/corpus/v1.jsonl")];
    files.extend(
        std::fs::read_dir(root().join("tests/cases"))
            .expect("tests/cases")
            .map(|e| e.expect("an entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "jsonl")),
    );
    let mut ran = (0, 0);
    for file in files {
        for line in std::fs::read_to_string(&file).expect("readable").lines().filter(|l| !l.trim().is_empty()) {
            let case: serde_json::Value = serde_json::from_str(line).expect("a case");
            if let Some(b64) = case["body_base64"].as_str() {
                let mut data = vec![0u8];
                data.extend(common::wire::decode_base64(b64));
                targets::eventstream(&data);
                ran.0 += 1;
            }
            let body = case["body"].as_str().unwrap_or_default();
            let status = case["status"].as_u64().unwrap_or(200);
            targets::paths(format!("\n{status}\n\n{body}").as_bytes());
            // Nested wrapping reads each body 64 ways: every eighth case keeps this test quick.
            if ran.1 % 8 == 0 {
                targets::nested(format!("\n{status}\n\n{body}").as_bytes());
            }
            ran.1 += 1;
        }
    }
    assert!(ran.0 >= 3 && ran.1 >= 240, "ran {ran:?}");
}

#[test]
fn every_regression_folder_is_a_target() {
    let dir = root().join("tests/fuzz_regressions");
    for entry in std::fs::read_dir(&dir).expect("tests/fuzz_regressions exists") {
        let path = entry.expect("a readable folder").path();
        if path.is_dir() {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            assert!(TARGETS.iter().any(|(t, _)| *t == name), "{} is no fuzz target's folder", path.display());
            assert!(!inputs(name).is_empty(), "{} is empty", path.display());
        }
    }
}

#[test]
fn the_raw_format_reads_what_it_writes() {
    let headers = vec![("retry-after".to_owned(), "12".to_owned()), ("x-request-id".to_owned(), "r1".to_owned())];
    let raw = render(Some(Style::ModelBridge), 429, &headers, b"{\"a\":\n\n1}");
    let r = Response::parse(&raw);
    assert_eq!(r.style, Some(Style::ModelBridge));
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers.get("retry-after").map(|v| v.as_bytes()), Some(&b"12"[..]));
    assert_eq!(r.headers.len(), 2);
    assert_eq!(r.body, b"{\"a\":\n\n1}");
}

#[test]
fn the_raw_format_reads_any_bytes() {
    let r = Response::parse(b"\xff\nnope\n\x00: bad\r\nok: yes");
    assert_eq!((r.style, r.status, r.headers.len(), r.body), (None, StatusCode::OK, 1, &b""[..]));
    let r = Response::parse(b"");
    assert_eq!((r.style, r.status, r.headers.len(), r.body), (None, StatusCode::OK, 0, &b""[..]));
}

// The dictionary.

/// In `tests/`, so that the packaged crate, which has no `fuzz/`, checks it too.
const DICT: &str = "tests/fuzz.dict";

/// A libFuzzer dictionary entry: the value quoted, with `\`, `"` and non-printable bytes escaped.
fn entry(value: &str) -> String {
    let mut out = String::from("\"");
    for b in value.bytes() {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\x{b:02X}")),
        }
    }
    out.push('"');
    out
}

/// The stream facts of `taxonomy/*.json` (terminators, event names, JSON paths), which the
/// public table API does not list: every string under a table's `stream` but its sources.
fn stream_words(words: &mut BTreeSet<String>) {
    let dirs = [root().join("taxonomy"), root().join("taxonomy/providers")];
    let mut files: Vec<PathBuf> = dirs
        .iter()
        .flat_map(|d| std::fs::read_dir(d).expect("taxonomy/ is readable"))
        .map(|e| e.expect("a readable folder").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    for path in files {
        let text = std::fs::read_to_string(&path).expect("a readable table");
        let json: serde_json::Value = serde_json::from_str(&text).expect("a JSON table");
        let Some(stream) = json.get("stream").and_then(|s| s.as_object()) else { continue };
        for (key, value) in stream.iter().filter(|(k, _)| k.as_str() != "sources") {
            let strings = value.as_array().into_iter().flatten().chain(Some(value)).filter_map(|v| v.as_str());
            for s in strings {
                if key.ends_with("reason") || key.ends_with("paths") || key == "output" || key == "finish_reason" {
                    words.extend(s.split('.').filter(|seg| *seg != "*").map(|seg| format!("\"{seg}\"")));
                } else {
                    words.insert(format!("\"{s}\""));
                    words.insert(s.to_owned());
                }
            }
        }
    }
}

/// The dictionary, generated from the tables.
fn dictionary() -> String {
    let mut json_words = BTreeSet::new(); // keys, codes and types, as JSON strings
    let mut text = BTreeSet::new(); // message phrases, style names, statuses, header lines
    for style in Style::iter() {
        text.insert(format!("{}\n", style.as_str()));
    }
    for code in ErrorCode::iter() {
        json_words.insert(format!("\"{}\"", code.as_str()));
    }
    for field in Field::iter() {
        json_words.insert(format!("\"{}\"", field.as_str()));
    }
    for key in ["field", "code", "message", "details"] {
        json_words.insert(format!("\"{key}\""));
    }
    let mut location = |loc: Location, json_words: &mut BTreeSet<String>| match loc {
        Location::Body { .. } | Location::Deep { .. } => {
            let path = loc.path();
            let path = path.split('|').next().unwrap_or_default().to_owned();
            json_words.extend(
                path.split(['.', '[', ']', '='])
                    .filter(|seg| !seg.is_empty() && *seg != "*")
                    .map(|seg| format!("\"{seg}\"")),
            )
        }
        Location::Header { name, .. } => {
            text.insert(format!("{name}: "));
        }
        _ => {}
    };
    let mut conditions = Vec::new();
    for t in table::all() {
        for locs in t.fields {
            for loc in locs.iter() {
                location(*loc, &mut json_words);
            }
        }
        if let Some(detect) = &t.detect {
            for sig in detect.signatures {
                for loc in sig.present.iter().chain(sig.numeric) {
                    location(*loc, &mut json_words);
                }
                conditions.push(&sig.when);
            }
        }
        for rule in t.rules {
            conditions.push(&rule.when);
        }
    }
    let mut statuses = BTreeSet::new();
    for c in conditions {
        for test in c.tests {
            match test.op {
                Op::Equals(v) | Op::StartsWith(v) => json_words.extend(v.iter().map(|w| format!("\"{w}\""))),
                Op::Contains(v) => text.extend(v.iter().map(|m| (*m).to_owned())),
                Op::Status(p) => statuses.extend(p.iter().map(|p| match *p {
                    StatusPattern::Exact(s) => s,
                    StatusPattern::Class(c) => c * 100,
                })),
                _ => {}
            }
        }
    }
    text.extend(statuses.iter().map(|s| s.to_string()));
    stream_words(&mut json_words);

    let mut out = String::from(
        "# libFuzzer dictionary of the taxonomy tables' field names, codes, types, statuses,\n\
         # message phrases and stream facts. Generated by tests/fuzz_regressions.rs; do not edit.\n\
         # Regenerate: UPDATE_FUZZ_DICT=1 cargo test --test fuzz_regressions\n",
    );
    for word in json_words.iter().chain(&text) {
        out.push_str(&entry(word));
        out.push('\n');
    }
    out
}

#[test]
fn the_dictionary_is_generated_from_the_tables() {
    let path = root().join(DICT);
    let generated = dictionary();
    if std::env::var_os("UPDATE_FUZZ_DICT").is_some() {
        std::fs::write(&path, &generated).expect("tests/ is writable");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{DICT} is stale: regenerate it with `UPDATE_FUZZ_DICT=1 cargo test --test fuzz_regressions`"
    );
}
