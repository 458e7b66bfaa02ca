//! Heap allocations of `normalize`, counted: deterministic for the same input, so pinned here as
//! ceilings (timings belong in the benches), and each one freed again. Alone in its binary, as
//! the count is the process's.

use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use llm_error_taxonomy::Normalizer;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use std::alloc::System;
use std::str::FromStr;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// The real JSON error responses of `tests/cases/`: status, headers and body.
fn cases() -> Vec<(String, StatusCode, HeaderMap, Vec<u8>)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut files: Vec<_> = std::fs::read_dir(dir).expect("tests/cases").flatten().map(|e| e.path()).collect();
    files.sort();
    let mut out = Vec::new();
    for file in files.iter().filter(|f| f.extension().is_some_and(|e| e == "jsonl")) {
        for line in std::fs::read_to_string(file).expect("a case file").lines() {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else { continue };
            let Some(body) = v["body"].as_str() else { continue };
            if serde_json::from_str::<serde::de::IgnoredAny>(body).is_err() {
                continue;
            }
            let mut headers = HeaderMap::new();
            for (k, val) in v["headers"].as_object().into_iter().flatten() {
                if let (Ok(k), Some(Ok(val))) = (HeaderName::from_str(k), val.as_str().map(HeaderValue::from_str)) {
                    headers.append(k, val);
                }
            }
            if headers.get("content-type").is_some_and(|c| c.as_bytes().windows(6).any(|w| w == b"stream")) {
                continue;
            }
            let status = StatusCode::from_u16(v["status"].as_u64().unwrap_or(500) as u16).unwrap_or(StatusCode::OK);
            out.push((v["id"].as_str().unwrap_or("?").to_owned(), status, headers, body.as_bytes().to_vec()));
        }
    }
    out
}

#[test]
fn normalize_allocates_within_its_ceilings() {
    let normalizer = Normalizer::new();
    let cases = cases();
    assert!(cases.len() > 300, "{} cases", cases.len());
    let mut counts: Vec<(usize, &str)> = Vec::new();
    let mut bytes = Vec::new();
    for (id, status, headers, body) in &cases {
        // Once first, so that anything made once per process is not counted.
        drop(normalizer.normalize(None, *status, headers, body));
        let region = Region::new(GLOBAL);
        let err = normalizer.normalize(None, *status, headers, body);
        let stats = region.change();
        drop(err);
        // Whatever `normalize` made is freed with the error or before: nothing leaks.
        let all = region.change();
        assert_eq!(all.allocations, all.deallocations, "{id}: {all:?}");
        counts.push((stats.allocations + stats.reallocations, id));
        bytes.push(stats.bytes_allocated);
    }
    counts.sort();
    let median = counts[counts.len() / 2].0;
    let (max, worst) = counts[counts.len() - 1];
    bytes.sort_unstable();
    eprintln!(
        "allocations per normalize over {} cases: median {median} ({} bytes), max {max} ({worst})",
        counts.len(),
        bytes[bytes.len() / 2]
    );
    assert!(median <= MEDIAN, "median {median} allocations, over the ceiling of {MEDIAN}");
    assert!(max <= MAX, "{worst}: {max} allocations, over the ceiling of {MAX}");
}

/// The ceilings: the counts when they were last lowered. Lower them as allocations go.
const MEDIAN: usize = 1;
const MAX: usize = 53;
