//! Resource bounds: work and memory grow at most linearly with the input, measured without a
//! clock. This test binary counts every heap allocation of the thread that normalizes (a
//! counting global allocator), which is deterministic whatever else the machine is doing.
//!
//! For each input shape, a body of about 1 KiB and one of about 1 MiB are normalized. Three
//! counts are compared: allocations, bytes allocated, and the peak of live heap bytes. Reading
//! the body allocates only for what is kept or unescaped, so a reader that copied, re-scanned
//! or re-parsed the body per key, per event or per byte would multiply these counts by the
//! size ratio (1024) or more; a quadratic one by about a million. The test asserts that no
//! count grows faster than the input (with a factor of two of slack), that the peak stays
//! within two copies of the input, and that what is emitted stays within the [`Limits`]
//! whatever the input size.

mod common;

use common::invariants::{check, normalizer_with};
use http::{HeaderMap, HeaderValue, StatusCode};
use llm_error_taxonomy::{ErrorCode, Limits, Normalizer, Style};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Allocation counts of one thread.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Counts {
    allocations: u64,
    bytes: u64,
    live: i64,
    peak: i64,
}

thread_local! {
    static COUNTS: Cell<Counts> = const { Cell::new(Counts { allocations: 0, bytes: 0, live: 0, peak: 0 }) };
}

fn record(grow: usize, shrink: usize, new: bool) {
    // `try_with`: the thread's counts may already be gone while it exits.
    let _ = COUNTS.try_with(|c| {
        let mut n = c.get();
        n.allocations += u64::from(new);
        n.bytes += grow as u64;
        n.live += grow as i64 - shrink as i64;
        n.peak = n.peak.max(n.live);
        c.set(n);
    });
}

/// The system allocator, counting per thread.
struct Counting;

// SAFETY: every call is forwarded unchanged to the system allocator; the counting around it
// touches only a thread-local `Cell` and never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(layout.size(), 0, true);
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        record(layout.size(), 0, true);
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        record(0, layout.size(), false);
        // SAFETY: `ptr` was allocated by `System` with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record(new_size, layout.size(), true);
        // SAFETY: `ptr` was allocated by `System` with `layout`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The counts of running `f` on this thread, what it returns included.
fn measure<R>(f: impl FnOnce() -> R) -> (Counts, R) {
    COUNTS.with(|c| c.set(Counts::default()));
    let r = f();
    (COUNTS.with(Cell::get), r)
}

const KIB: usize = 1024;
const MIB: usize = 1024 * 1024;

/// An input shape: a response whose body (or header) is about `n` bytes.
struct Shape {
    name: &'static str,
    style: Option<Style>,
    status: u16,
    /// The code the body gives: proof that it was read, not classified by status.
    want: ErrorCode,
    make: fn(usize) -> (HeaderMap, Vec<u8>),
}

fn envelope(code: &str, message: &str, extra: &str) -> Vec<u8> {
    format!(r#"{{"error": {{"code": "{code}", {extra}"message": "{message}"}}}}"#).into_bytes()
}

fn shapes() -> Vec<Shape> {
    vec![
        Shape {
            name: "one long message",
            style: None,
            status: 429,
            want: ErrorCode::InsufficientBalance,
            make: |n| (HeaderMap::new(), envelope("insufficient_quota", &"a".repeat(n), "")),
        },
        Shape {
            name: "a long message full of escapes",
            style: Some(Style::ModelBridge),
            status: 429,
            want: ErrorCode::InsufficientBalance,
            make: |n| (HeaderMap::new(), envelope("spending_limit_exceeded", &"\\u00e9\\n".repeat(n / 8), "")),
        },
        Shape {
            name: "a long message full of secrets",
            style: Some(Style::ModelSwitch),
            status: 401,
            want: ErrorCode::InternalError,
            make: |n| (HeaderMap::new(), envelope("invalid_api_key", &"sk-abcdefghijklmnop ".repeat(n / 20), "")),
        },
        Shape {
            name: "many unknown keys",
            style: Some(Style::MoltbotDen),
            status: 429,
            want: ErrorCode::RateLimited,
            make: |n| {
                let keys: String = (0..n / 16).map(|i| format!(r#""k{i:08}": 1, "#)).collect();
                (HeaderMap::new(), envelope("rate_limit_exceeded", "slow down", &keys))
            },
        },
        Shape {
            name: "many details entries",
            style: Some(Style::ModelRoute),
            status: 400,
            want: ErrorCode::InputValidationError,
            make: |n| {
                let entry = r#"{"field": "messages", "code": "TOO_LONG", "message": "too long", "max": 1},"#;
                let entries = entry.repeat(n / entry.len());
                let details = format!(r#""details": [{}], "#, entries.trim_end_matches(','));
                (HeaderMap::new(), envelope("INPUT_VALIDATION_ERROR", "invalid", &details))
            },
        },
        Shape {
            name: "deep nesting in a skipped value",
            style: Some(Style::ModelBridge),
            status: 429,
            want: ErrorCode::InsufficientBalance,
            make: |n| {
                let deep = format!(r#""x": {}0{}, "#, "[".repeat(n / 2), "]".repeat(n / 2));
                (HeaderMap::new(), envelope("spending_limit_exceeded", "m", &deep))
            },
        },
        Shape {
            name: "a huge request-id header",
            style: Some(Style::ModelBridge),
            status: 429,
            want: ErrorCode::InsufficientBalance,
            make: |n| {
                let mut h = HeaderMap::new();
                h.insert("x-request-id", HeaderValue::from_str(&"r".repeat(n)).expect("a header value"));
                (h, envelope("spending_limit_exceeded", "m", ""))
            },
        },
    ]
}

fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_body_bytes = 2 * MIB;
    limits
}

/// Normalizes `shape` at size `n`: the counts, and the input size.
fn run(n: &Normalizer, shape: &Shape, size: usize) -> (Counts, usize) {
    let (headers, body) = (shape.make)(size);
    let input = body.len() + headers.iter().map(|(k, v)| k.as_str().len() + v.len()).sum::<usize>();
    let status = StatusCode::from_u16(shape.status).expect("a status");
    let (counts, err) = measure(|| n.normalize(shape.style, status, &headers, &body));
    assert_eq!(err.code(), shape.want, "{} at {size} bytes was not read", shape.name);
    check(&err, n.limits());
    let json = err.to_json();
    assert!(json.len() <= emitted_bound(n.limits()), "{}: {} bytes emitted", shape.name, json.len());
    (counts, input)
}

/// The most a normalized envelope can hold under `limits`, whatever the input: the message,
/// the capped details with their figures, and the short fields, with room for the JSON syntax
/// (each character of a string can take up to 6 bytes escaped).
fn emitted_bound(limits: &Limits) -> usize {
    let field = 6 * limits.max_field_bytes + 8;
    let detail = 6 * limits.max_message_bytes + 12 * field;
    6 * limits.max_message_bytes + limits.max_details * detail + 8 * field + 512
}

#[test]
fn work_and_memory_grow_at_most_linearly() {
    let n = normalizer_with(limits());
    let mut report = String::new();
    for shape in shapes() {
        let (small, small_len) = run(&n, &shape, KIB);
        let (big, big_len) = run(&n, &shape, MIB);
        let ratio = big_len as f64 / small_len as f64;
        report.push_str(&format!(
            "{:<34} {small_len:>8} B: {:>4} allocs {:>8} B, peak {:>8} B | {big_len:>8} B: {:>4} allocs {:>8} B, peak {:>8} B\n",
            shape.name, small.allocations, small.bytes, small.peak, big.allocations, big.bytes, big.peak
        ));
        let linear = |small: u64, big: u64, what: &str| {
            assert!(
                big as f64 <= 2.0 * ratio * (small + 1) as f64,
                "{}: {what} grew from {small} to {big} for {ratio:.0}x the input",
                shape.name
            );
        };
        linear(small.allocations, big.allocations, "allocations");
        linear(small.bytes, big.bytes, "bytes allocated");
        assert!(
            big.peak as usize <= 2 * big_len + 64 * KIB,
            "{}: a peak of {} bytes for {big_len} bytes of input",
            shape.name,
            big.peak
        );
    }
    eprintln!("{report}");
}

#[test]
fn reading_a_body_allocates_the_same_whatever_its_size_when_nothing_needs_copying() {
    // Plain strings are borrowed, skipped values are never built, details are capped: only an
    // unescaped string, the nesting of a skipped value and a copied header grow with the input.
    let n = normalizer_with(limits());
    for shape in shapes() {
        if matches!(
            shape.name,
            "a long message full of escapes" | "deep nesting in a skipped value" | "a huge request-id header"
        ) {
            continue;
        }
        // 16 KiB: enough for every cap (details, figures, message) to be reached.
        let (small, _) = run(&n, &shape, 16 * KIB);
        let (big, _) = run(&n, &shape, MIB);
        assert_eq!(big.allocations, small.allocations, "{}: allocations depend on the size", shape.name);
    }
}

#[test]
fn a_body_over_the_limit_is_not_copied_or_parsed() {
    let n = normalizer_with(Limits::default());
    let shapes = shapes();
    let shape = &shapes[0];
    let (headers, body) = (shape.make)(4 * MIB);
    assert!(body.len() > n.limits().max_body_bytes);
    let (counts, err) = measure(|| n.normalize(None, StatusCode::TOO_MANY_REQUESTS, &headers, &body));
    assert_eq!(err.code(), ErrorCode::RateLimited, "classified by status");
    assert!(counts.bytes < 4 * KIB as u64, "{} bytes allocated for a body that is not read", counts.bytes);
}

#[test]
fn a_stream_is_read_in_memory_bounded_by_one_event() {
    let n = normalizer_with(limits());
    let event = "data: {\"choices\": [{\"delta\": {\"content\": \"Hello\"}}]}\n\n";
    let body = |count: usize| {
        let mut s = event.repeat(count);
        s.push_str("data: {\"error\": {\"code\": \"provider_error\", \"message\": \"failed\", \"status\": 500}}\n\n");
        s.into_bytes()
    };
    let (small_body, big_body) = (body(KIB / event.len()), body(MIB / event.len()));
    let read = |b: &[u8]| measure(|| n.normalize_stream(None, StatusCode::OK, &HeaderMap::new(), b));
    let (small, small_err) = read(&small_body);
    let (big, big_err) = read(&big_body);
    for err in [&small_err, &big_err] {
        let err = err.as_ref().expect("the error event is found");
        assert_eq!(err.error().code(), ErrorCode::GenerationFailed);
        check(err.error(), n.limits());
    }
    let ratio = big_body.len() as f64 / small_body.len() as f64;
    assert!(big.allocations as f64 <= 2.0 * ratio * (small.allocations + 1) as f64, "{small:?} -> {big:?}");
    assert!(big.bytes as f64 <= 2.0 * ratio * (small.bytes + 1) as f64, "{small:?} -> {big:?}");
    assert!(big.peak <= small.peak + 4 * KIB as i64, "the reader holds one event at a time: {small:?} -> {big:?}");
    eprintln!("stream {} B: {small:?} | {} B: {big:?}", small_body.len(), big_body.len());
}
