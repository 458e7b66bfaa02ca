//! `normalize` on each seed example, beside the floor of reading the same bytes once
//! (`serde_json::from_slice::<IgnoredAny>`), then a table of the ratio.
//!
//! Run with `cargo bench --bench normalize`; pass a filter as usual (`cargo bench -- moltbotden`).
//! The cases are the fixtures in `tests/fixtures/<style>/*.json` plus two large bodies.

use criterion::{Criterion, black_box};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use llm_error_taxonomy::{Normalizer, Style};
use serde::de::IgnoredAny;
use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, Instant};

struct Case {
    name: String,
    style: Option<Style>,
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

fn fixtures() -> Vec<Case> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut files = Vec::new();
    for dir in std::fs::read_dir(&root).into_iter().flatten().flatten() {
        if dir.path().is_dir() {
            files.extend(std::fs::read_dir(dir.path()).into_iter().flatten().flatten().map(|e| e.path()));
        }
    }
    files.retain(|p| p.extension().is_some_and(|e| e == "json"));
    files.sort();
    let mut cases = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).expect("fixture is readable");
        let v: serde_json::Value = serde_json::from_str(&text).expect("fixture is JSON");
        let body = match (&v["body"], &v["body_text"]) {
            (serde_json::Value::Null, serde_json::Value::String(s)) => s.clone().into_bytes(),
            (serde_json::Value::Null, _) => Vec::new(),
            (b, _) => serde_json::to_vec(b).expect("body serializes"),
        };
        let mut headers = HeaderMap::new();
        if let Some(map) = v["headers"].as_object() {
            for (k, val) in map {
                headers.append(
                    HeaderName::from_str(k).expect("header name"),
                    HeaderValue::from_str(val.as_str().unwrap_or_default()).expect("header value"),
                );
            }
        }
        let style_dir = path.parent().and_then(|p| p.file_name()).and_then(|s| s.to_str()).unwrap_or_default();
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
        cases.push(Case {
            name: format!("{style_dir}/{stem}"),
            style: v["style"].as_str().and_then(|s| Style::from_str(s).ok()),
            status: StatusCode::from_u16(v["status"].as_u64().unwrap_or(500) as u16).expect("status"),
            headers,
            body,
        });
    }
    cases
}

/// Two large bodies: an envelope after 1 MiB of unrelated data (read, then skipped), and a
/// 512 KiB message (read, then capped).
fn large() -> Vec<Case> {
    let filler: Vec<String> = (0..20_000).map(|i| format!(r#"{{"id":{i},"text":"lorem ipsum dolor"}}"#)).collect();
    let skipped = format!(
        r#"{{"trace":[{}],"error":{{"code":"rate_limit_exceeded","message":"Retry after 12 seconds.","status":429}}}}"#,
        filler.join(",")
    );
    let long = format!(
        r#"{{"error":{{"code":"context_length_exceeded","message":"{}","status":400}}}}"#,
        "x".repeat(512 * 1024)
    );
    vec![
        Case {
            name: "large/skipped-1mib".into(),
            style: Some(Style::MoltbotDen),
            status: StatusCode::TOO_MANY_REQUESTS,
            headers: HeaderMap::new(),
            body: skipped.into_bytes(),
        },
        Case {
            name: "large/message-512kib".into(),
            style: Some(Style::MoltbotDen),
            status: StatusCode::BAD_REQUEST,
            headers: HeaderMap::new(),
            body: long.into_bytes(),
        },
    ]
}

fn floor(body: &[u8]) {
    let _ = black_box(serde_json::from_slice::<IgnoredAny>(black_box(body)));
}

/// Median nanoseconds per call over `rounds` batches sized to about 20 ms each.
fn median_ns(mut f: impl FnMut(), rounds: usize) -> f64 {
    let start = Instant::now();
    let mut calls = 0u64;
    while start.elapsed() < Duration::from_millis(20) {
        f();
        calls += 1;
    }
    let batch = calls.max(1);
    let mut samples: Vec<f64> = (0..rounds)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..batch {
                f();
            }
            t.elapsed().as_nanos() as f64 / batch as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn main() {
    let mut cases = fixtures();
    cases.extend(large());
    let normalizer = Normalizer::new();
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(800))
        .sample_size(30)
        .configure_from_args();
    for case in &cases {
        let mut group = c.benchmark_group(&case.name);
        group.bench_function("floor", |b| b.iter(|| floor(&case.body)));
        group.bench_function("normalize", |b| {
            b.iter(|| black_box(normalizer.normalize(case.style, case.status, &case.headers, black_box(&case.body))))
        });
        group.finish();
    }
    c.final_summary();

    println!("\n{:<44} {:>7} {:>12} {:>14} {:>7}", "case", "bytes", "floor ns", "normalize ns", "ratio");
    let mut ratios = Vec::new();
    for case in &cases {
        let f = median_ns(|| floor(&case.body), 9);
        let n =
            median_ns(|| drop(black_box(normalizer.normalize(case.style, case.status, &case.headers, &case.body))), 9);
        let ratio = n / f.max(1.0);
        ratios.push(ratio);
        println!("{:<44} {:>7} {:>12.0} {:>14.0} {:>7.2}", case.name, case.body.len(), f, n, ratio);
    }
    ratios.sort_by(f64::total_cmp);
    if let (Some(first), Some(last)) = (ratios.first(), ratios.last()) {
        println!("ratio to the floor: median {:.2}, min {:.2}, max {:.2}", ratios[ratios.len() / 2], first, last);
    }
}
