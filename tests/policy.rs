//! One test per numbered line of the classification policy in `taxonomy/README.md`, each
//! checked against real normalization across every style the line applies to.

use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use llm_error_taxonomy::table::{Condition, Location, Op, Rule, StyleTable, Subject};
use llm_error_taxonomy::{ErrorCode, Field, Limits, NormalizedError, Normalizer, Style, normalize};
use serde_json::{Value, json};
use strum::IntoEnumIterator;

// ---------------------------------------------------------------------------------------------
// Helpers.
// ---------------------------------------------------------------------------------------------

/// Every reading whose envelope these tests can build: the generic one (`None`) and each style
/// that reads its message and code from plain body paths (Bedrock names its exception in a
/// header; `tests/corpus.rs` covers it with real responses).
fn readings() -> Vec<Option<Style>> {
    std::iter::once(None)
        .chain(Style::iter().map(Some))
        .filter(|s| path_of(*s, Field::Message).is_some() && path_of(*s, Field::Code).is_some())
        .collect()
}

/// The fallback by status of a reading: its first status-only rule for `status`.
fn fallback(style: Option<Style>, status: u16) -> ErrorCode {
    table(style)
        .rules
        .iter()
        .find(|r| r.when.is_status_only() && status_matches(r.when.status(), status))
        .map_or(ErrorCode::InternalError, |r| r.then.code)
}

fn table(style: Option<Style>) -> &'static StyleTable {
    style.map_or(StyleTable::generic(), Style::table)
}

fn label(style: Option<Style>) -> &'static str {
    table(style).wire
}

/// The first body path where `style` reads `field`.
fn path_of(style: Option<Style>, field: Field) -> Option<String> {
    table(style).locations(field).iter().find(|l| matches!(l, Location::Body { then: [], .. })).map(|l| l.path())
}

/// A body in `style`'s own envelope, each field at the first body path the table reads it from.
fn envelope(style: Option<Style>, fields: &[(Field, Value)]) -> Vec<u8> {
    let mut root = json!({});
    for (field, value) in fields {
        let path = path_of(style, *field).unwrap_or_else(|| panic!("{} reads no {field:?}", label(style)));
        let mut node = &mut root;
        let segs: Vec<&str> = path.split('.').collect();
        for seg in &segs[..segs.len() - 1] {
            node = node.as_object_mut().expect("an object").entry(seg.to_string()).or_insert_with(|| json!({}));
        }
        node.as_object_mut().expect("an object").insert(segs[segs.len() - 1].to_owned(), value.clone());
    }
    serde_json::to_vec(&root).expect("json")
}

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    pairs
        .iter()
        .map(|(k, v)| (HeaderName::from_bytes(k.as_bytes()).expect("name"), HeaderValue::from_str(v).expect("value")))
        .collect()
}

fn run(style: Option<Style>, status: u16, hs: &[(&str, &str)], body: &[u8]) -> NormalizedError {
    normalize(style, StatusCode::from_u16(status).expect("a status"), &headers(hs), body)
}

/// A body with `message` and, when given, `code` in the style's envelope.
fn msg_body(style: Option<Style>, code: Option<&str>, message: &str) -> Vec<u8> {
    let mut fields = vec![(Field::Message, json!(message))];
    if let Some(c) = code {
        fields.push((Field::Code, json!(c)));
    }
    envelope(style, &fields)
}

/// Fields of a body, each placed at the style's own path by [`envelope`].
type Fields = Vec<(Field, Value)>;

/// A code no table knows, so that only the status and message decide.
const UNLISTED: &str = "unlisted_error";

#[track_caller]
fn expect_code(err: &NormalizedError, want: ErrorCode, what: &str) {
    assert_eq!(err.code(), want, "{what}: got {}", err.to_json());
}

#[track_caller]
fn expect(err: &NormalizedError, want: ErrorCode, reason: Option<&str>, what: &str) {
    assert_eq!((err.code(), err.reason()), (want, reason), "{what}: got {}", err.to_json());
}

/// Whether `status` matches any status pattern of a rule.
fn status_matches(pats: &[llm_error_taxonomy::table::StatusPattern], status: u16) -> bool {
    pats.iter().any(|p| p.matches(status))
}

/// The no-usable-body table of the policy (line 7), written out as the README gives it.
fn no_usable_body(status: u16) -> ErrorCode {
    match status {
        401 | 403 | 404 => ErrorCode::InternalError,
        402 => ErrorCode::InsufficientBalance,
        408 | 504 => ErrorCode::GenerationTimeout,
        429 => ErrorCode::RateLimited,
        424 | 499 | 500 | 520 => ErrorCode::GenerationFailed,
        502 | 503 | 521..=523 | 525 | 526 | 530 => ErrorCode::ModelUnavailable,
        524 => ErrorCode::GenerationTimeout,
        529 => ErrorCode::ModelOverloaded,
        400..=499 => ErrorCode::InputValidationError,
        _ => ErrorCode::InternalError,
    }
}

// ---------------------------------------------------------------------------------------------
// 1. Structured fields decide first.
// ---------------------------------------------------------------------------------------------

#[test]
fn policy_1_structured_fields_decide_first() {
    // Text echoed from the request never changes the class of a 400, in any style, whether
    // the style is given or detected.
    let echoes = [
        "Invalid 'messages[0].content': the prompt \"why do I get rate limit errors?\" is not allowed here",
        "Unsupported value in prompt: 'HTTP 429 Too Many Requests' must not be sent as a stop sequence",
        "Bad request: 'the server is overloaded' is not a valid value for 'user'",
        "Invalid tool schema for prompt \"rate limit / 429 / overloaded / Retry after 30 seconds\"",
        "RATE LIMIT 429 OVERLOADED",
    ];
    for style in readings() {
        let benign = if style == Some(Style::ModelRoute) { "INPUT_VALIDATION_ERROR" } else { UNLISTED };
        for text in echoes {
            for code in [None, Some(benign)] {
                let body = msg_body(style, code, text);
                let what = format!("{} 400 {text:?} code {code:?}", label(style));
                let err = run(style, 400, &[("retry-after", "30")], &body);
                expect_code(&err, ErrorCode::InputValidationError, &what);
                assert_eq!(err.retry_after(), None, "{what}");
                expect_code(&run(None, 400, &[], &body), ErrorCode::InputValidationError, &format!("{what}, detected"));
            }
        }
    }

    for style in readings() {
        let t = table(style);
        // A phrase is a last resort, always paired with a status or a structured value.
        let anchored = |c: &Condition| {
            c.tests.iter().any(|t| t.subject == Subject::Status || matches!(t.op, Op::Equals(_) | Op::Status(_)))
        };
        for rule in t.rules {
            assert!(
                rule.when.phrases().next().is_none() || anchored(&rule.when),
                "{}: rule {:?} matches a phrase without a status or a structured value",
                t.wire,
                rule.name
            );
        }
        if let Some(d) = &t.detect {
            for sig in d.signatures {
                assert!(sig.when.phrases().next().is_none() || anchored(&sig.when), "{}: signature", t.wire);
            }
        }

        // Never against the status: at any status its rule does not name, a message phrase
        // classifies exactly like a neutral message (unless another phrase rule of that status
        // applies). Checked for the rules that test only the status and the message.
        let status_phrase =
            |r: &&Rule| r.when.tests.len() == 2 && !r.when.status().is_empty() && message_phrases(r).is_some();
        for rule in t.rules.iter().filter(status_phrase) {
            for phrase in message_phrases(rule).unwrap_or_default() {
                let text = format!("Upstream said: {phrase}.");
                for status in 400..=599u16 {
                    let first = t.rules.iter().filter(status_phrase).find(|r| {
                        status_matches(r.when.status(), status)
                            && message_phrases(r)
                                .unwrap_or_default()
                                .iter()
                                .any(|p| text.to_ascii_lowercase().contains(p))
                    });
                    assert!(
                        first.is_some() || !status_matches(rule.when.status(), status),
                        "{}: rule {:?} cannot match its own phrase {phrase:?}",
                        t.wire,
                        rule.name
                    );
                    let with = run(style, status, &[], &msg_body(style, Some(UNLISTED), &text));
                    let want = match first {
                        Some(r) => r.then.code,
                        None => run(style, status, &[], &msg_body(style, Some(UNLISTED), "Upstream said no.")).code(),
                    };
                    expect_code(&with, want, &format!("{} {status} {text:?} (rule {:?})", t.wire, rule.name));
                }
            }
        }

        // The body's structured fields decide before the HTTP status and before any message
        // phrase: each structured rule wins at every status, even with a message that a phrase
        // rule of that status would match.
        let phrase_rules: Vec<_> = t.rules.iter().filter(status_phrase).collect();
        for rule in t.rules {
            let Some(fields) = structured_fields(style, rule) else { continue };
            // With no style, a body another table recognizes is read with that table instead.
            if style.is_none()
                && llm_error_taxonomy::detect(StatusCode::BAD_REQUEST, &HeaderMap::new(), &envelope(style, &fields))
                    .is_some()
            {
                continue;
            }
            for status in [400, 401, 402, 403, 404, 408, 422, 429, 500, 502, 503, 504, 529] {
                let mut messages = vec!["An error occurred.".to_owned()];
                messages.extend(
                    phrase_rules
                        .iter()
                        .filter(|r| status_matches(r.when.status(), status))
                        .map(|r| format!("Upstream said: {}", message_phrases(r).unwrap_or_default()[0])),
                );
                for m in messages {
                    let mut f = fields.clone();
                    f.push((Field::Message, json!(m)));
                    let err = run(style, status, &[], &envelope(style, &f));
                    let what = format!("{} rule {:?} at {status} with {m:?}", t.wire, rule.name);
                    // An earlier rule that refines this one (the same structured tests, and a
                    // status or a phrase besides) may be more specific; nothing else may win.
                    let refinement = t.rules.iter().take_while(|r| !std::ptr::eq(*r, rule)).find(|r| {
                        rule.when.tests.iter().all(|x| r.when.tests.iter().any(|y| y.subject == x.subject))
                            && simple_holds(r, status, &f)
                    });
                    let want = refinement.unwrap_or(rule);
                    expect(&err, want.then.code, want.then.reason, &what);
                }
            }
        }
    }
}

/// Whether `rule` holds for a body of these fields at `status`, for the kinds of test that
/// [`structured_fields`] builds bodies for (statuses, exact values, message phrases).
fn simple_holds(rule: &Rule, status: u16, fields: &[(Field, Value)]) -> bool {
    rule.when.tests.iter().all(|t| match (t.subject, t.op) {
        (Subject::Status, Op::Status(p)) => status_matches(p, status),
        (Subject::Field(f), op) => {
            let Some((_, v)) = fields.iter().find(|(g, _)| *g == f) else { return false };
            match op {
                Op::Equals(e) => v.as_str().is_some_and(|v| e.contains(&v)),
                Op::Status(p) => v.as_u64().is_some_and(|n| status_matches(p, n as u16)),
                Op::Contains(p) => v.as_str().is_some_and(|v| p.iter().any(|p| v.to_ascii_lowercase().contains(p))),
                _ => false,
            }
        }
        _ => false,
    })
}

/// The message phrases a rule tests, if it tests the message.
fn message_phrases(rule: &Rule) -> Option<&'static [&'static str]> {
    rule.when.phrases().find(|(f, _)| *f == Field::Message).map(|(_, p)| p)
}

/// The body fields that make up a rule that tests no status and no phrase, each written where
/// the table reads it from a plain body path; `None` for any other rule.
fn structured_fields(style: Option<Style>, rule: &Rule) -> Option<Vec<(Field, Value)>> {
    let mut fields = Vec::new();
    for test in rule.when.tests {
        let Subject::Field(f) = test.subject else { return None };
        path_of(style, f)?;
        // The field must be read from that body path first, so that nothing earlier shadows it.
        if !matches!(table(style).locations(f).first(), Some(Location::Body { then: [], .. })) {
            return None;
        }
        match test.op {
            Op::Equals(v) => fields.push((f, json!(v[0]))),
            Op::Status(p) => fields.push((f, json!(p[0].to_string().replace("xx", "00").parse::<u16>().ok()?))),
            _ => return None,
        }
    }
    Some(fields)
}

// ---------------------------------------------------------------------------------------------
// 2. Billing beats status.
// ---------------------------------------------------------------------------------------------

#[test]
fn policy_2_billing_beats_status() {
    let cases: Vec<(Option<Style>, u16, Fields, &str)> = vec![
        (
            Some(Style::ModelBridge),
            429,
            vec![
                (Field::Code, json!("spending_limit_exceeded")),
                (Field::Message, json!("Spending limit reached for this API key")),
                (Field::Type, json!("rate_limit_error")),
            ],
            "SPENDING_LIMIT_EXCEEDED",
        ),
        (
            Some(Style::ModelBridge),
            429,
            vec![
                (Field::Code, json!("insufficient_balance")),
                (Field::Message, json!("Insufficient balance")),
                (Field::Type, json!("rate_limit_error")),
            ],
            "INSUFFICIENT_BALANCE",
        ),
        (
            Some(Style::ModelBridge),
            429,
            vec![(Field::Code, json!(UNLISTED)), (Field::Message, json!("Spending limit reached"))],
            "SPENDING_LIMIT_EXCEEDED",
        ),
        (
            Some(Style::ModelBridge),
            429,
            vec![(Field::Message, json!("Insufficient balance on this account"))],
            "SPENDING_LIMIT_EXCEEDED",
        ),
        (
            Some(Style::ModelSwitch),
            403,
            vec![(Field::Code, json!("forbidden")), (Field::Message, json!("Insufficient balance"))],
            "INSUFFICIENT_BALANCE",
        ),
        (
            Some(Style::ModelSwitch),
            403,
            vec![(Field::Message, json!("Your balance is 0. Top up your account."))],
            "INSUFFICIENT_BALANCE",
        ),
        (Some(Style::ModelSwitch), 403, vec![(Field::Message, json!("Not enough credits"))], "INSUFFICIENT_BALANCE"),
        (
            Some(Style::ModelSwitch),
            403,
            vec![(Field::Code, json!("insufficient_balance")), (Field::Message, json!("Access denied"))],
            "INSUFFICIENT_BALANCE",
        ),
        (
            Some(Style::ModelSwitch),
            429,
            vec![(Field::Code, json!("insufficient_balance")), (Field::Message, json!("Insufficient balance"))],
            "INSUFFICIENT_BALANCE",
        ),
        (
            None,
            403,
            vec![
                (Field::Code, json!("forbidden")),
                (Field::Type, json!("invalid_request_error")),
                (Field::Message, json!("Insufficient balance")),
            ],
            "INSUFFICIENT_BALANCE",
        ),
        (
            Some(Style::MoltbotDen),
            402,
            vec![
                (Field::Code, json!("credits_exhausted")),
                (Field::Message, json!("Your USDC credit balance is 0.00.")),
                (Field::Balance, json!("0.0000")),
            ],
            "CREDITS_EXHAUSTED",
        ),
        (
            Some(Style::MoltbotDen),
            429,
            vec![(Field::Code, json!("credits_exhausted")), (Field::Message, json!("Credits exhausted"))],
            "CREDITS_EXHAUSTED",
        ),
        (
            Some(Style::MoltbotDen),
            403,
            vec![(Field::Code, json!("credits_exhausted")), (Field::Message, json!("Credits exhausted"))],
            "CREDITS_EXHAUSTED",
        ),
        (
            None,
            429,
            vec![
                (Field::Code, json!("insufficient_quota")),
                (Field::Type, json!("insufficient_quota")),
                (Field::Message, json!("You exceeded your current quota, please check your plan and billing details.")),
            ],
            "INSUFFICIENT_QUOTA",
        ),
        (
            None,
            429,
            vec![
                (Field::Code, json!("billing_hard_limit_reached")),
                (Field::Message, json!("Billing hard limit has been reached")),
            ],
            "INSUFFICIENT_QUOTA",
        ),
        (
            None,
            400,
            vec![(Field::Type, json!("billing_error")), (Field::Message, json!("Your credit balance is too low"))],
            "INSUFFICIENT_QUOTA",
        ),
        (
            None,
            429,
            vec![(
                Field::Message,
                json!("You exceeded your current quota, please check your plan and billing details."),
            )],
            "INSUFFICIENT_QUOTA",
        ),
        (
            None,
            429,
            vec![(Field::Code, json!(UNLISTED)), (Field::Message, json!("Monthly spending limit reached"))],
            "INSUFFICIENT_QUOTA",
        ),
    ];
    for (style, status, fields, reason) in cases {
        let body = envelope(style, &fields);
        let err = run(style, status, &[("retry-after", "30")], &body);
        let what = format!("{} {status} {}", label(style), String::from_utf8_lossy(&body));
        expect(&err, ErrorCode::InsufficientBalance, Some(reason), &what);
        assert_eq!(err.status(), StatusCode::PAYMENT_REQUIRED, "{what}");
        assert!(!err.is_retryable(), "{what}");
        assert_eq!(err.retry_after(), None, "{what}: no retry delay for a billing error");
        assert_eq!(err.upstream().status, Some(status), "{what}");
    }

    // ModelRoute's own INSUFFICIENT_BALANCE stays one whatever the status.
    for status in [400, 402, 403, 429, 500, 503] {
        let body = br#"{"error": {"code": "INSUFFICIENT_BALANCE", "message": "Insufficient balance for this operation", "retryable": false}}"#;
        for style in [Some(Style::ModelRoute), None] {
            expect_code(
                &run(style, status, &[], body),
                ErrorCode::InsufficientBalance,
                &format!("modelroute {status}"),
            );
        }
    }

    // A billing code decides at any status in the styles that have one.
    for (style, code) in [
        (Some(Style::ModelBridge), "spending_limit_exceeded"),
        (Some(Style::ModelSwitch), "insufficient_balance"),
        (Some(Style::MoltbotDen), "credits_exhausted"),
        (None, "insufficient_quota"),
    ] {
        for status in 400..=599 {
            let body = msg_body(style, Some(code), "Upstream said no.");
            expect_code(
                &run(style, status, &[], &body),
                ErrorCode::InsufficientBalance,
                &format!("{code} at {status}"),
            );
        }
    }

    // A 402 is a billing error in every style, with or without a usable body.
    for style in readings() {
        for body in [&b""[..], &msg_body(style, Some(UNLISTED), "Payment required")[..]] {
            expect_code(&run(style, 402, &[], body), ErrorCode::InsufficientBalance, &format!("{} 402", label(style)));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 3. What the caller can fix is INPUT_VALIDATION_ERROR.
// ---------------------------------------------------------------------------------------------

#[test]
fn policy_3_what_the_caller_can_fix_is_input_validation_error() {
    // An unknown model names `model`.
    let unknown_model: Vec<(Option<Style>, u16, Fields)> = vec![
        (
            Some(Style::ModelBridge),
            400,
            vec![(Field::Code, json!("model_not_found")), (Field::Message, json!("Model 'gpt-4' not found"))],
        ),
        (
            Some(Style::ModelSwitch),
            400,
            vec![(Field::Code, json!("model_not_found")), (Field::Message, json!("Model 'gpt-4' not found"))],
        ),
        (
            Some(Style::ModelSwitch),
            404,
            vec![(Field::Code, json!("model_not_found")), (Field::Message, json!("Model 'gpt-4' not found"))],
        ),
        (
            Some(Style::ModelSwitch),
            404,
            vec![(Field::Code, json!("not_found")), (Field::Message, json!("Model 'gpt-4' not found"))],
        ),
        (Some(Style::ModelSwitch), 404, vec![(Field::Message, json!("The model `gpt-9` does not exist"))]),
        (
            Some(Style::MoltbotDen),
            422,
            vec![
                (Field::Code, json!("invalid_model")),
                (Field::Message, json!("Model 'gpt-5-turbo-preview' is not supported.")),
            ],
        ),
        (
            None,
            400,
            vec![(Field::Code, json!("model_not_found")), (Field::Message, json!("The model `gpt-9` does not exist"))],
        ),
        (
            None,
            404,
            vec![(Field::Code, json!("model_not_found")), (Field::Message, json!("The model `gpt-9` does not exist"))],
        ),
        (None, 404, vec![(Field::Type, json!("not_found_error")), (Field::Message, json!("model: claude-9"))]),
    ];
    for (style, status, fields) in unknown_model {
        let body = envelope(style, &fields);
        let err = run(style, status, &[], &body);
        let what = format!("{} {status} {}", label(style), String::from_utf8_lossy(&body));
        expect(&err, ErrorCode::InputValidationError, Some("MODEL_NOT_FOUND"), &what);
        assert_eq!(err.details()[0].field.as_deref(), Some("model"), "{what}");
    }
    // ModelRoute's own details keep naming the field.
    let body = br#"{"error": {"code": "INPUT_VALIDATION_ERROR", "message": "Unknown model", "retryable": false,
        "details": [{"field": "model", "code": "MODEL_NOT_FOUND", "message": "model 'x' does not exist"}]}}"#;
    let err = run(Some(Style::ModelRoute), 400, &[], body);
    expect(&err, ErrorCode::InputValidationError, Some("MODEL_NOT_FOUND"), "modelroute model");
    assert_eq!(err.details()[0].field.as_deref(), Some("model"));

    // An exceeded context length names `messages`, with the figures when the body gives them.
    let m = "This model's maximum context length is 128000 tokens. Your request used 141,234 tokens.";
    let with_figures = envelope(
        Some(Style::MoltbotDen),
        &[
            (Field::Code, json!("context_length_exceeded")),
            (Field::Message, json!(m)),
            (Field::Status, json!(400)),
            (Field::ModelMaxTokens, json!(128000)),
            (Field::RequestTokens, json!(141234)),
        ],
    );
    for style in [Some(Style::MoltbotDen), None] {
        let err = run(style, 400, &[], &with_figures);
        expect(&err, ErrorCode::InputValidationError, Some("CONTEXT_LENGTH_EXCEEDED"), "moltbotden context");
        let d = &err.details()[0];
        assert_eq!(d.field.as_deref(), Some("messages"));
        assert_eq!(d.figures.get("model_max_tokens"), Some(&json!(128000)));
        assert_eq!(d.figures.get("request_tokens"), Some(&json!(141234)));
    }
    let without_figures: Vec<(Option<Style>, Fields)> = vec![
        (Some(Style::MoltbotDen), vec![(Field::Code, json!("context_length_exceeded")), (Field::Message, json!(m))]),
        (None, vec![(Field::Code, json!("context_length_exceeded")), (Field::Message, json!(m))]),
        (None, vec![(Field::Message, json!(m))]),
        (None, vec![(Field::Message, json!("prompt is too long: too many tokens"))]),
    ];
    for (style, fields) in without_figures {
        let err = run(style, 400, &[], &envelope(style, &fields));
        expect(&err, ErrorCode::InputValidationError, Some("CONTEXT_LENGTH_EXCEEDED"), &format!("{fields:?}"));
        assert_eq!(err.details()[0].field.as_deref(), Some("messages"));
        assert!(err.details()[0].figures.is_empty(), "no figures were given: {}", err.to_json());
    }

    // A malformed body is a plain INPUT_VALIDATION_ERROR: no field named, with or without a
    // usable upstream body.
    for style in readings() {
        for body in [
            msg_body(style, Some(UNLISTED), "We could not parse the JSON body of your request."),
            msg_body(style, None, "Malformed JSON"),
            Vec::new(),
            b"Bad Request".to_vec(),
        ] {
            for status in [400, 413, 422] {
                let err = run(style, status, &[], &body);
                let what = format!("{} {status} {}", label(style), String::from_utf8_lossy(&body));
                expect_code(&err, ErrorCode::InputValidationError, &what);
                assert!(err.details().iter().all(|d| d.field.is_none()), "{what}: {}", err.to_json());
                assert!(!err.is_retryable(), "{what}");
            }
        }
    }
    // A parameter the generic body names is the field at fault.
    let body =
        envelope(None, &[(Field::Message, json!("Invalid 'temperature'")), (Field::Param, json!("temperature"))]);
    assert_eq!(run(None, 400, &[], &body).details()[0].field.as_deref(), Some("temperature"));
}

// ---------------------------------------------------------------------------------------------
// 4. Rejected credentials or permissions are INTERNAL_ERROR.
// ---------------------------------------------------------------------------------------------

#[test]
fn policy_4_rejected_credentials_are_internal_error() {
    let check = |err: &NormalizedError, status: u16, reason: Option<&str>, what: &str| {
        assert_eq!(err.code(), ErrorCode::InternalError, "{what}: {}", err.to_json());
        if let Some(r) = reason {
            assert_eq!(err.reason(), Some(r), "{what}: {}", err.to_json());
        } else {
            assert!(err.reason().is_some(), "{what}: the details keep a reason: {}", err.to_json());
        }
        assert_eq!(err.upstream().status, Some(status), "{what}: the upstream status is kept");
        assert_eq!(err.status(), StatusCode::INTERNAL_SERVER_ERROR, "{what}");
        assert!(!err.is_retryable(), "{what}");
    };
    for style in readings() {
        let name = label(style);
        for body in [msg_body(style, Some(UNLISTED), "Unauthorized"), msg_body(style, None, "Unauthorized"), Vec::new()]
        {
            check(&run(style, 401, &[], &body), 401, Some("INVALID_API_KEY"), &format!("{name} 401"));
        }
        for body in [msg_body(style, Some(UNLISTED), "Forbidden"), Vec::new(), b"<h1>403 Forbidden</h1>".to_vec()] {
            check(&run(style, 403, &[], &body), 403, Some("PERMISSION_DENIED"), &format!("{name} 403"));
        }
        for body in [msg_body(style, Some(UNLISTED), "Unknown request URL: POST /v1/chat/completion"), Vec::new()] {
            check(&run(style, 404, &[], &body), 404, None, &format!("{name} 404 endpoint"));
        }
    }
    // Codes and types that reject the credentials decide at any status.
    for (style, code) in [
        (Some(Style::ModelBridge), "invalid_api_key"),
        (Some(Style::ModelSwitch), "invalid_api_key"),
        (Some(Style::MoltbotDen), "invalid_api_key"),
        (None, "invalid_api_key"),
    ] {
        for status in [400, 401, 403, 500] {
            let err = run(style, status, &[], &msg_body(style, Some(code), "Invalid API key"));
            check(&err, status, Some("INVALID_API_KEY"), &format!("{} {code} {status}", label(style)));
        }
    }
    for (ty, reason) in [
        ("authentication_error", "INVALID_API_KEY"),
        ("UNAUTHENTICATED", "INVALID_API_KEY"),
        ("permission_error", "PERMISSION_DENIED"),
        ("PERMISSION_DENIED", "PERMISSION_DENIED"),
    ] {
        let body = envelope(None, &[(Field::Type, json!(ty)), (Field::Message, json!("denied"))]);
        check(&run(None, 403, &[], &body), 403, Some(reason), &format!("generic type {ty}"));
    }
    // ModelSwitch's 403 says why.
    for (message, reason) in [
        ("This API key has been deactivated", "KEY_DEACTIVATED"),
        ("The key is inactive", "KEY_DEACTIVATED"),
        ("Key revoked", "KEY_DEACTIVATED"),
        ("Wrong key type for this endpoint", "WRONG_KEY_TYPE"),
        ("Use a proxy key (ms-) for inference endpoints", "WRONG_KEY_TYPE"),
        ("A billing key cannot call this endpoint", "WRONG_KEY_TYPE"),
        ("Access denied", "PERMISSION_DENIED"),
    ] {
        let body = msg_body(Some(Style::ModelSwitch), Some("forbidden"), message);
        check(&run(Some(Style::ModelSwitch), 403, &[], &body), 403, Some(reason), message);
    }
    // ModelBridge's 404 is an invalid endpoint path.
    let body = msg_body(Some(Style::ModelBridge), Some("not_found"), "Not found");
    check(&run(Some(Style::ModelBridge), 404, &[], &body), 404, Some("ENDPOINT_NOT_FOUND"), "modelbridge 404");
}

// ---------------------------------------------------------------------------------------------
// 5. Capacity and failures.
// ---------------------------------------------------------------------------------------------

#[test]
fn policy_5_capacity_and_failures() {
    use ErrorCode::*;
    // Request-rate limits are RATE_LIMITED, with the retry delay, in every style.
    for style in readings() {
        let benign = if style == Some(Style::ModelRoute) { "RATE_LIMITED" } else { UNLISTED };
        for body in [msg_body(style, Some(benign), "Too many requests"), Vec::new(), b"Too Many Requests".to_vec()] {
            let err = run(style, 429, &[("retry-after", "7")], &body);
            expect_code(&err, RateLimited, &format!("{} 429", label(style)));
            assert_eq!(err.retry_after(), Some(std::time::Duration::from_secs(7)), "{} 429", label(style));
        }
    }
    let body = br#"{"error": {"code": "rate_limit_exceeded", "message": "Rate limit exceeded: 60 requests per minute. Retry after 12 seconds.", "status": 429, "retry_after": 12}}"#;
    let err = run(Some(Style::MoltbotDen), 429, &[], body);
    expect(&err, RateLimited, Some("RATE_LIMIT_EXCEEDED"), "moltbotden 429");
    assert_eq!(err.retry_after(), Some(std::time::Duration::from_secs(12)));
    for fields in [
        vec![(Field::Code, json!("rate_limit_exceeded")), (Field::Message, json!("slow down"))],
        vec![(Field::Type, json!("rate_limit_error")), (Field::Message, json!("slow down"))],
        vec![(Field::Type, json!("RESOURCE_EXHAUSTED")), (Field::Message, json!("slow down"))],
    ] {
        expect_code(&run(None, 429, &[], &envelope(None, &fields)), RateLimited, &format!("generic {fields:?}"));
    }

    let provider_error = |upstream: Option<u16>, status: u16| {
        let mut f = vec![
            (Field::Code, json!("provider_error")),
            (Field::Message, json!("The upstream provider (anthropic) returned an error.")),
            (Field::Status, json!(status)),
            (Field::Provider, json!("anthropic")),
        ];
        if let Some(u) = upstream {
            f.push((Field::UpstreamStatus, json!(u)));
        }
        envelope(Some(Style::MoltbotDen), &f)
    };
    for status in [500, 502, 503] {
        for style in [Some(Style::MoltbotDen), None] {
            // An overloaded upstream.
            let err = run(style, status, &[], &provider_error(Some(529), status));
            expect(&err, ModelOverloaded, Some("UPSTREAM_OVERLOADED"), "provider_error 529");
            assert_eq!(err.upstream().upstream_status, Some(529));
            assert_eq!(err.upstream().provider.as_deref(), Some("anthropic"));
            // An error returned by the provider.
            for upstream in [None, Some(500), Some(502), Some(400)] {
                let err = run(style, status, &[], &provider_error(upstream, status));
                expect(&err, GenerationFailed, Some("PROVIDER_ERROR"), &format!("provider_error {upstream:?}"));
            }
            // A provider timeout.
            for upstream in [408, 504] {
                let err = run(style, status, &[], &provider_error(Some(upstream), status));
                expect(&err, GenerationTimeout, Some("UPSTREAM_TIMEOUT"), &format!("provider_error {upstream}"));
            }
        }
    }
    let overloaded = envelope(None, &[(Field::Type, json!("overloaded_error")), (Field::Message, json!("Overloaded"))]);
    for status in [500, 529, 503] {
        expect_code(&run(None, status, &[], &overloaded), ModelOverloaded, "anthropic overloaded_error");
    }

    // An unreachable upstream (ModelBridge 502).
    for body in [msg_body(Some(Style::ModelBridge), Some(UNLISTED), "Bad gateway"), Vec::new()] {
        expect(
            &run(Some(Style::ModelBridge), 502, &[], &body),
            ModelUnavailable,
            Some("UPSTREAM_UNREACHABLE"),
            "mb 502",
        );
    }
    // An error returned by the provider: ModelSwitch 502, ModelBridge 500.
    let body =
        msg_body(Some(Style::ModelSwitch), Some("provider_error"), "The upstream model provider returned an error.");
    expect(&run(Some(Style::ModelSwitch), 502, &[], &body), GenerationFailed, Some("PROVIDER_ERROR"), "ms 502");
    let body = msg_body(Some(Style::ModelBridge), Some("internal_error"), "Upstream provider error");
    expect(&run(Some(Style::ModelBridge), 500, &[], &body), GenerationFailed, Some("PROVIDER_ERROR"), "mb 500");

    // Timeouts.
    let body = msg_body(Some(Style::ModelBridge), Some("timeout"), "Upstream request timed out");
    for status in [500, 502, 504] {
        expect(
            &run(Some(Style::ModelBridge), status, &[], &body),
            GenerationTimeout,
            Some("UPSTREAM_TIMEOUT"),
            "mb timeout",
        );
    }
    for style in readings() {
        for status in [408, 504] {
            for body in [msg_body(style, Some(UNLISTED), "Timed out"), Vec::new()] {
                expect_code(&run(style, status, &[], &body), GenerationTimeout, &format!("{} {status}", label(style)));
            }
        }
    }
    let body =
        envelope(None, &[(Field::Type, json!("DEADLINE_EXCEEDED")), (Field::Message, json!("Deadline expired"))]);
    expect_code(&run(None, 504, &[], &body), GenerationTimeout, "gemini DEADLINE_EXCEEDED");

    // The gateway's own outage (ModelSwitch 503).
    let body = msg_body(Some(Style::ModelSwitch), Some("service_unavailable"), "Temporary outage");
    expect(&run(Some(Style::ModelSwitch), 503, &[], &body), ServiceUnavailable, Some("SERVICE_OUTAGE"), "ms 503");

    // Every such code is retryable.
    for code in
        [RateLimited, ModelOverloaded, ModelUnavailable, GenerationFailed, GenerationTimeout, ServiceUnavailable]
    {
        assert!(code.is_retryable(), "{code}");
    }
}

// ---------------------------------------------------------------------------------------------
// 6. ModelRoute bodies are already normalized.
// ---------------------------------------------------------------------------------------------

#[test]
fn policy_6_modelroute_bodies_are_already_normalized() {
    let details = json!([
        {"field": "input.width", "code": "OUT_OF_RANGE", "message": "width must be between 256 and 2048", "min": 256, "max": 2048},
        {"field": "input.height", "code": "REQUIRED"}
    ]);
    for code in ErrorCode::iter() {
        let body = serde_json::to_vec(&json!({"error": {
            "code": code.as_str(), "message": "As ModelRoute said", "retryable": !code.is_retryable(), "details": details
        }}))
        .expect("json");
        for status in [400, 401, 402, 404, 429, 500, 502, 503, 504, 529] {
            for style in [Some(Style::ModelRoute), None] {
                let err = run(style, status, &[], &body);
                let what = format!("{code} at {status} ({style:?})");
                expect_code(&err, code, &what);
                assert_eq!(err.message(), "As ModelRoute said", "{what}");
                assert_eq!(
                    serde_json::to_value(err.details()).expect("json"),
                    details,
                    "{what}: details kept as given"
                );
                assert_eq!(err.is_retryable(), code.is_retryable(), "{what}: the body's retryable is not taken");
                assert_eq!(err.upstream().code.as_deref(), Some(code.as_str()), "{what}");
            }
        }
    }
    // A code outside the 12 falls back by status, keeping the body's details after the reason.
    let route = Style::ModelRoute.table();
    for status in 400..=599u16 {
        let body = serde_json::to_vec(&json!({"error": {
            "code": "QUOTA_WINDOW_CLOSED", "message": "Request window closed", "retryable": true, "details": details
        }}))
        .expect("json");
        let rule = route
            .rules
            .iter()
            .find(|r| r.when.is_status_only() && status_matches(r.when.status(), status))
            .expect("a status fallback");
        let err = run(Some(Style::ModelRoute), status, &[], &body);
        expect(&err, rule.then.code, rule.then.reason, &format!("unlisted code at {status}"));
        let want = if status == 503 { ErrorCode::ServiceUnavailable } else { no_usable_body(status) };
        assert_eq!(err.code(), want, "{status}: the fallback agrees with the policy (its own 503 is its outage)");
        let kept = serde_json::to_value(&err.details()[1..]).expect("json");
        assert_eq!(kept, details, "{status}: the body's details are kept");
        assert_eq!(err.upstream().code.as_deref(), Some("QUOTA_WINDOW_CLOSED"));
    }
    // A lowercase or misspelled code is not one of the 12.
    let body = br#"{"error": {"code": "rate_limited", "message": "x", "retryable": true}}"#;
    expect_code(&run(Some(Style::ModelRoute), 400, &[], body), ErrorCode::InputValidationError, "lowercase code");
}

// ---------------------------------------------------------------------------------------------
// 7. No usable body.
// ---------------------------------------------------------------------------------------------

#[test]
fn policy_7_no_usable_body_is_classified_by_status_alone() {
    let html = b"<!DOCTYPE html>\n<html><head><title>Error</title></head><body><h1>Something went wrong</h1>\
        <p>rate limit overloaded insufficient balance 429</p></body></html>"
        .to_vec();
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("whitespace", b" \r\n\t ".to_vec()),
        ("plain text", b"upstream connect error or disconnect/reset before headers".to_vec()),
        ("truncated JSON", br#"{"error": {"code": "insufficient_quota", "message": "cut"#.to_vec()),
        ("HTML", html),
        ("JSON array", br#"[1, {"code": "insufficient_quota"}]"#.to_vec()),
        ("JSON string", br#""Service Unavailable""#.to_vec()),
        ("JSON null", b"null".to_vec()),
        ("no envelope", br#"{"reason": "Not Found"}"#.to_vec()),
        ("empty error", br#"{"error": {}}"#.to_vec()),
        ("null fields", br#"{"error": {"message": null, "code": null, "type": null}}"#.to_vec()),
        ("non-text fields", br#"{"error": {"message": ["x"], "code": true, "type": {"a": 1}}}"#.to_vec()),
        (
            "other shape",
            br#"{"problems": [{"message": "insufficient balance", "code": "insufficient_quota"}]}"#.to_vec(),
        ),
    ];
    for status in 400..=599u16 {
        assert_eq!(fallback(None, status), no_usable_body(status), "the generic reading's {status}");
    }
    for style in readings() {
        for status in 400..=599u16 {
            let want = fallback(style, status);
            for (what, body) in &bodies {
                let err = run(style, status, &[], body);
                let what = format!("{} {status} {what}", label(style));
                expect_code(&err, want, &what);
                assert_eq!(err.upstream().status, Some(status), "{what}");
                assert_eq!(err.upstream().code, None, "{what}");
                assert_eq!(err.message(), want.default_message(), "{what}");
            }
        }
    }

    // A flat `{"error": "text"}` or FastAPI `{"detail": "text"}` is an envelope of text only: its
    // message is kept and the status decides.
    for (body, status) in [(&br#"{"detail": "Not Found"}"#[..], 404u16), (br#"{"error": "Bad Gateway"}"#, 502)] {
        let err = run(None, status, &[], body);
        expect_code(&err, no_usable_body(status), "a text-only envelope");
        assert!(matches!(err.message(), "Not Found" | "Bad Gateway"), "{}", err.message());
    }

    // A body over the size limit is not read, however good its envelope.
    let mut limits = Limits::default();
    limits.max_body_bytes = 200;
    let small = Normalizer::new().with_limits(limits);
    for style in readings() {
        let billing = match style {
            Some(Style::ModelBridge) => "spending_limit_exceeded",
            Some(Style::ModelSwitch) => "insufficient_balance",
            Some(Style::MoltbotDen) => "credits_exhausted",
            Some(Style::ModelRoute) => "INSUFFICIENT_BALANCE",
            _ => "insufficient_quota",
        };
        let body = msg_body(style, Some(billing), &"Your balance does not cover this request. ".repeat(8));
        assert!(body.len() > 200);
        for status in 400..=599u16 {
            let st = StatusCode::from_u16(status).expect("status");
            let read = normalize(style, st, &HeaderMap::new(), &body);
            expect_code(&read, ErrorCode::InsufficientBalance, &format!("{} {status} within the limit", label(style)));
            let skipped = small.normalize(style, st, &HeaderMap::new(), &body);
            expect_code(&skipped, fallback(style, status), &format!("{} {status} over the limit", label(style)));
        }
    }
    // The default limit too.
    let mut big = br#"{"error": {"code": "insufficient_quota", "message": "quota", "pad": ""#.to_vec();
    big.resize(big.len() + Limits::DEFAULT.max_body_bytes, b'x');
    big.extend_from_slice(br#""}}"#);
    for style in readings() {
        expect_code(&run(style, 429, &[], &big), ErrorCode::RateLimited, &format!("{} oversized", label(style)));
    }
}

// ---------------------------------------------------------------------------------------------
// 8. A response whose status is not an error.
// ---------------------------------------------------------------------------------------------

#[test]
fn policy_8_non_error_status_uses_the_body_status_else_500() {
    // MoltbotDen repeats the status in the body (the upstream status makes the body
    // recognizable when no style is given).
    for repeated in [400u16, 402, 429, 500, 503, 529] {
        let body = envelope(
            Some(Style::MoltbotDen),
            &[
                (Field::Code, json!(UNLISTED)),
                (Field::Message, json!("stream error")),
                (Field::Status, json!(repeated)),
                (Field::UpstreamStatus, json!(500)),
            ],
        );
        let by_status = run(Some(Style::MoltbotDen), repeated, &[], &body).code();
        for status in [200, 201, 206, 302] {
            for style in [Some(Style::MoltbotDen), None] {
                let err = run(style, status, &[], &body);
                let what = format!("moltbotden {status} repeating {repeated}");
                expect_code(&err, by_status, &what);
                assert_eq!(err.upstream().status, Some(status), "{what}: the real status is kept");
            }
        }
    }
    // A repeated status that is not an error, or none, means 500.
    for repeated in [json!(200), json!("teapot"), json!(700), json!(99.5)] {
        let body = envelope(
            Some(Style::MoltbotDen),
            &[
                (Field::Code, json!(UNLISTED)),
                (Field::Message, json!("stream error")),
                (Field::Status, repeated.clone()),
            ],
        );
        expect_code(
            &run(Some(Style::MoltbotDen), 200, &[], &body),
            ErrorCode::GenerationFailed,
            &format!("{repeated}"),
        );
    }
    // Styles that do not repeat the status, and bodies that are not usable, are a 500.
    for style in readings() {
        let benign = if style == Some(Style::ModelRoute) { "QUOTA_WINDOW_CLOSED" } else { UNLISTED };
        for body in [msg_body(style, Some(benign), "error in stream"), Vec::new(), b"data: [DONE]".to_vec()] {
            for status in [100, 200, 204, 304, 399] {
                let err = run(style, status, &[], &body);
                let what = format!("{} {status}", label(style));
                expect_code(&err, ErrorCode::GenerationFailed, &what);
                assert_eq!(err.upstream().status, Some(status), "{what}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 9. Status and retryable are always the code's own.
// ---------------------------------------------------------------------------------------------

#[test]
fn policy_9_status_and_retryable_are_the_codes_own() {
    let mut seen = std::collections::BTreeSet::new();
    for style in readings() {
        let t = table(style);
        let mut codes: Vec<&str> = t.rules.iter().flat_map(|r| r.when.equals(Field::Code).iter().copied()).collect();
        codes.push(UNLISTED);
        for status in 400..=599u16 {
            let mut bodies = vec![Vec::new()];
            bodies.extend(codes.iter().map(|c| {
                let mut f = vec![(Field::Code, json!(c)), (Field::Message, json!("said upstream"))];
                if style == Some(Style::ModelRoute) {
                    f.push((Field::Details, json!([{"code": "X"}])));
                }
                envelope(style, &f)
            }));
            for body in &bodies {
                let err = run(style, status, &[("retry-after", "5")], body);
                let code = err.code();
                seen.insert(code);
                let what = format!("{} {status} {}", label(style), String::from_utf8_lossy(body));
                assert_eq!(err.status(), code.http_status(), "{what}");
                assert_eq!(err.is_retryable(), code.is_retryable(), "{what}");
                let v = serde_json::to_value(&err).expect("json");
                assert_eq!(v["error"]["status"], json!(code.status_u16()), "{what}");
                assert_eq!(v["error"]["retryable"], json!(code.is_retryable()), "{what}");
                assert_eq!(err.retry_after().is_some(), code.is_retryable(), "{what}: retry_after only when retryable");
                assert_eq!(v["error"].get("retry_after").is_some(), code.is_retryable(), "{what}");
            }
        }
    }
    assert_eq!(seen.len(), ErrorCode::iter().count(), "every code was produced: {seen:?}");

    // The body's own retryable flag or status never overrides the code's.
    let body = br#"{"error": {"code": "INSUFFICIENT_BALANCE", "message": "x", "retryable": true, "status": 429}}"#;
    let err = run(Some(Style::ModelRoute), 429, &[("retry-after", "5")], body);
    assert_eq!((err.status(), err.is_retryable(), err.retry_after()), (StatusCode::PAYMENT_REQUIRED, false, None));
    let body = br#"{"error": {"code": "credits_exhausted", "message": "x", "status": 429, "retry_after": 60}}"#;
    let err = run(Some(Style::MoltbotDen), 429, &[], body);
    assert_eq!((err.status(), err.is_retryable(), err.retry_after()), (StatusCode::PAYMENT_REQUIRED, false, None));
}
