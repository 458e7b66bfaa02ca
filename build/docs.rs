//! Renders the error documentation from the loaded tables.
//!
//! One renderer for every output, so they cannot disagree: the Markdown page
//! (`docs/errors.md`), the code table of the crate root's rustdoc, the whole taxonomy as JSON and
//! OpenAPI 3.1 components. Each code's text is [`code_doc`], the same text the `ErrorCode`
//! variant's rustdoc carries. Output is deterministic: tables in their file order (styles sorted by
//! wire name), maps sorted, no timestamps, no paths outside the crate.

use super::{CodeRow, FIELDS, RuleRow, StatusPattern, StyleFile, Taxonomy, camel, code_doc, condition_text};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// The command that regenerates `docs/errors.md`.
pub const REFRESH: &str = "cargo run --bin llm-errors -- docs --out docs/errors.md";

/// The heading of the section of `taxonomy/README.md` that the page quotes as its policy.
pub const POLICY_HEADING: &str = "## Classification policy";

/// The generated files, by name in `OUT_DIR`.
pub fn render_all(t: &Taxonomy, readme: &str) -> Result<Vec<(&'static str, String)>, String> {
    let policy = policy(readme).ok_or_else(|| format!("taxonomy/README.md: no {POLICY_HEADING:?} section"))?;
    Ok(vec![
        ("errors.md", markdown(t, &policy)),
        ("crate_codes.md", crate_codes(t)),
        ("taxonomy.json", json_text(t)),
        ("openapi.json", openapi_text(t)),
    ])
}

/// The body of the policy section of `taxonomy/README.md`, without its heading.
pub fn policy(readme: &str) -> Option<String> {
    let mut lines = readme.lines().skip_while(|l| l.trim_end() != POLICY_HEADING);
    lines.next()?;
    let mut fenced = false;
    let mut body = Vec::new();
    for line in lines {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        }
        if !fenced && (line.starts_with("# ") || line.starts_with("## ")) {
            break;
        }
        body.push(line.trim_end());
    }
    let text = body.join("\n").trim().to_owned();
    (!text.is_empty()).then_some(text)
}

/// A code's text, exactly as the `ErrorCode` variant's rustdoc shows it.
pub fn code_text(t: &Taxonomy, c: &CodeRow) -> String {
    code_doc(t, c)
}

// ---------------------------------------------------------------------------------------------
// Shared pieces.
// ---------------------------------------------------------------------------------------------

fn all_styles(t: &Taxonomy) -> impl Iterator<Item = &StyleFile> {
    t.styles.iter().chain(std::iter::once(&t.generic))
}

/// Whether a rule decides by HTTP status alone.
fn by_status(r: &RuleRow) -> bool {
    r.when.is_status_only()
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn anchor(code: &str) -> String {
    code.to_ascii_lowercase()
}

fn code_link(code: &str) -> String {
    format!("[`{code}`](#{})", anchor(code))
}

fn field_doc(name: &str) -> &'static str {
    FIELDS.iter().find(|(n, _)| *n == name).map_or("", |(_, d)| *d)
}

/// The distinct statuses of the codes, ascending.
fn statuses(t: &Taxonomy) -> Vec<u16> {
    t.codes.iter().map(|c| c.status).collect::<BTreeSet<_>>().into_iter().collect()
}

/// Every reason a rule gives, sorted.
fn reasons(t: &Taxonomy) -> Vec<String> {
    all_styles(t)
        .flat_map(|s| &s.rules)
        .filter_map(|r| r.then.reason.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// The 12-code table; `link` renders the code cell.
fn codes_table(t: &Taxonomy, link: &dyn Fn(&CodeRow) -> String) -> String {
    let mut o = String::from("| code | HTTP status | retryable | what happened |\n|---|---|---|---|\n");
    for c in &t.codes {
        let _ = writeln!(o, "| {} | {} | {} | {} |", link(c), c.status, yes_no(c.retryable), cell(&c.description));
    }
    o
}

/// How a rule's source reads on the page: a link for URLs and policy anchors, else the seed line.
fn source_text(s: &str, policy: &str) -> String {
    if s.starts_with("https://") || s.starts_with("http://") {
        format!("<{s}>")
    } else if let Some((file, frag)) = s.split_once('#') {
        if file == "taxonomy/README.md" && policy.contains(&format!("id=\"{frag}\"")) {
            format!("[{}](#{frag})", frag.replace('-', " "))
        } else {
            format!("[`{s}`](../{file}#{frag})")
        }
    } else {
        format!("`{s}`")
    }
}

// ---------------------------------------------------------------------------------------------
// Example bodies.
// ---------------------------------------------------------------------------------------------

/// The envelope, in the field order `NormalizedError` serializes.
#[derive(Serialize)]
struct Envelope<'a> {
    error: Body<'a>,
}

#[derive(Serialize)]
struct Body<'a> {
    code: &'a str,
    message: &'a str,
    retryable: bool,
    status: u16,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    details: Vec<ExampleDetail<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<&'a str>,
}

#[derive(Serialize)]
struct ExampleDetail<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    code: &'a str,
}

/// The rule whose details an example shows: the first that names a field, else the first with a
/// reason, preferring rules on the body's content to the fallbacks by status.
fn representative<'t>(t: &'t Taxonomy, c: &CodeRow) -> Option<&'t RuleRow> {
    let rules: Vec<&RuleRow> = all_styles(t)
        .flat_map(|s| &s.rules)
        .filter(|r| r.then.code == c.code && r.deprecated.is_none() && r.then.reason.is_some())
        .collect();
    let pick = |specific: bool, field: bool| {
        rules.iter().copied().find(|r| by_status(r) != specific && (!field || r.then.field.is_some()))
    };
    pick(true, true).or_else(|| pick(true, false)).or_else(|| pick(false, true)).or_else(|| pick(false, false))
}

fn example<'t>(t: &'t Taxonomy, c: &'t CodeRow) -> Envelope<'t> {
    let details = representative(t, c)
        .and_then(|r| Some(ExampleDetail { field: r.then.field.as_deref(), code: r.then.reason.as_deref()? }))
        .into_iter()
        .collect();
    Envelope {
        error: Body {
            code: &c.code,
            message: &c.message,
            retryable: c.retryable,
            status: c.status,
            details,
            retry_after: None,
            request_id: None,
        },
    }
}

/// A code's example body as pretty JSON, in the order the crate writes its fields.
pub fn example_json(t: &Taxonomy, c: &CodeRow) -> String {
    serde_json::to_string_pretty(&example(t, c)).unwrap_or_default()
}

fn example_value(t: &Taxonomy, c: &CodeRow) -> Value {
    serde_json::to_value(example(t, c)).unwrap_or(Value::Null)
}

// ---------------------------------------------------------------------------------------------
// Markdown.
// ---------------------------------------------------------------------------------------------

/// The code table of the crate root's rustdoc, linking each code to its `ErrorCode` variant.
pub fn crate_codes(t: &Taxonomy) -> String {
    let mut o = String::from("\n# The codes\n\n");
    o.push_str(&codes_table(t, &|c| format!("[`{}`](crate::ErrorCode::{})", c.code, camel(&c.code))));
    o.push_str(
        "\nEach variant of [`ErrorCode`](crate::ErrorCode) documents what to do and which upstream errors map \
         to it. The same text, with every style's mapping table, the classification policy and retry \
         guidance, is the page `docs/errors.md`, which `docs::render` returns (feature `docs`).\n",
    );
    o
}

/// The page `docs/errors.md`.
pub fn markdown(t: &Taxonomy, policy: &str) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "<!-- @generated by build/codegen.rs from the tables in taxonomy/. Do not edit; refresh with: {REFRESH} -->\n"
    );
    let _ = writeln!(
        o,
        "# Error codes\n\n\
         Every error an upstream LLM provider returns, in whichever provider's format, is answered with one of \
         {} codes. Each code has a fixed HTTP status and a fixed retryable flag, so a client can decide what to \
         do from the code alone.\n",
        t.codes.len()
    );
    o.push_str(
        "- [The codes](#the-codes)\n- [The error body](#the-error-body)\n- [Retrying](#retrying)\n\
         - [Each code](#each-code)\n- [What upstream errors become](#what-upstream-errors-become)\n\
         - [Transport failures](#transport-failures)\n\
         - [Classification policy](#classification-policy)\n- [Redaction](#redaction)\n\
         - [Machine-readable forms](#machine-readable-forms)\n\n",
    );

    o.push_str("## The codes\n\n");
    o.push_str(&codes_table(t, &|c| code_link(&c.code)));
    o.push('\n');

    body_section(&mut o, t);
    retry_section(&mut o, t);

    o.push_str("## Each code\n\n");
    for c in &t.codes {
        code_section(&mut o, t, c);
    }

    let generic = format!("[{}](#{})", t.generic.name, t.generic.name.to_ascii_lowercase());
    let _ = write!(
        o,
        "## What upstream errors become\n\n\
         The gateway names the upstream's style, or it is detected from the body's shape and headers (a \
         style is tried before the styles it builds on and those its table names; styles whose signatures \
         can both hold are always ordered); a body of no known style is read with the {generic} rules. A \
         style's rules are tried in order and the first that holds wins. A condition lists what the upstream \
         response carries; a list means any of its values, a message phrase is matched ignoring case, and \
         `4xx` stands for any status of that class not matched earlier. A response with no usable body is \
         classified by status alone (see [the policy](#classification-policy)). Sources name the line of \
         the style's source document, a public page, or the policy.\n\n",
    );
    for s in all_styles(t) {
        style_section(&mut o, s, policy);
    }

    transport_section(&mut o, t, policy);
    let _ = writeln!(o, "## Classification policy\n\n{policy}\n");
    redaction_section(&mut o, t);
    machine_section(&mut o, t);
    let _ = writeln!(o, "To refresh this page after changing a table: `{REFRESH}`.");
    o
}

fn body_section(o: &mut String, t: &Taxonomy) {
    o.push_str(
        "## The error body\n\n\
         Every error is answered with the code's HTTP status and this JSON body; optional parts are left out \
         when absent.\n\n\
         | field | type | present | meaning |\n|---|---|---|---|\n\
         | `code` | string | always | one of the codes above |\n\
         | `message` | string | always | upstream's message, with secrets redacted, or the code's default message |\n\
         | `retryable` | boolean | always | the code's retryable flag |\n\
         | `status` | integer | always | the code's HTTP status |\n",
    );
    let figures: Vec<String> = ["model_max_tokens", "request_tokens", "balance"]
        .iter()
        .map(|f| format!("`{f}` ({})", field_doc(f).trim_end_matches('.').to_ascii_lowercase()))
        .collect();
    let _ = writeln!(
        o,
        "| `details` | array | when known | field-level details, the first giving the reason: `field` (the request \
         field at fault), `code` (why, such as `{}`), `message`, and figures such as {} |",
        reasons(t).first().map_or("INVALID_API_KEY", String::as_str),
        figures.join(", ")
    );
    o.push_str(
        "| `retry_after` | integer | retryable codes, when upstream gives a delay | seconds to wait before retrying |\n\
         | `request_id` | string | when upstream gives one | the id to quote to support |\n\
         | `upstream` | object | when known | what upstream said: `style`, `status`, `code`, `type`, `provider`, \
         `upstream_status`, `should_retry` |\n\n",
    );
    if let Some(c) = t.codes.iter().find(|c| c.retryable) {
        let mut e = example(t, c);
        e.error.retry_after = Some(12);
        e.error.request_id = Some("req_8f2c1a");
        let _ = writeln!(
            o,
            "For example, with HTTP status {}:\n\n```json\n{}\n```\n",
            c.status,
            serde_json::to_string_pretty(&e).unwrap_or_default()
        );
    }
}

fn retry_section(o: &mut String, t: &Taxonomy) {
    let list = |retryable: bool| {
        let v: Vec<String> = t
            .codes
            .iter()
            .filter(|c| c.retryable == retryable)
            .map(|c| format!("{} ({})", code_link(&c.code), c.status))
            .collect();
        if v.is_empty() { "none".to_owned() } else { v.join(", ") }
    };
    let r = &t.retry;
    let secs = |ms: f64| {
        let s = ms / 1000.0;
        if s == 1.0 { "1 second".to_owned() } else { format!("{s} seconds") }
    };
    let mut waits = Vec::new();
    let mut wait = r.base_ms.value;
    while waits.len() < 3 && wait <= r.cap_ms.value {
        waits.push(secs(wait));
        wait *= r.factor.value;
    }
    let mut sources: Vec<String> = r.params().iter().map(|(_, p)| format!("`{}`", p.source)).collect();
    sources.sort();
    sources.dedup();
    let _ = writeln!(
        o,
        "## Retrying\n\n\
         Retry only when `retryable` is `true`; the flag is fixed per code, whatever the upstream status was.\n\n\
         - Retry: {}.\n\
         - Do not retry: {}. The same request fails the same way; follow the code's action instead.\n\n\
         For a retryable code:\n\n\
         1. When the body has `retry_after`, wait that many seconds before the next attempt. It is set only \
         for retryable codes, from the delay upstream gave in its headers, body or message. A `retry_after` \
         over {} is not worth waiting for: give up and report the error.\n\
         2. Otherwise back off exponentially: wait {}, multiplying the wait by {} after each failure up to \
         {}, and add up to {} of random jitter so that clients do not retry in step.\n\
         3. Give up after {} attempts in all, the first included, and report the error with its `request_id`.\n\
         4. On a stream that already delivered output, do not retry the same request: the client has seen \
         part of the answer.\n\n\
         These are the defaults of the crate's `RetryPolicy`, from `taxonomy/retry.json` ({}).\n",
        list(true),
        list(false),
        secs(r.give_up_after_ms.value),
        waits.join(", then "),
        r.factor.value,
        secs(r.cap_ms.value),
        secs(r.jitter_ms.value),
        r.max_attempts.value,
        sources.join(", ")
    );
}

fn code_section(o: &mut String, t: &Taxonomy, c: &CodeRow) {
    let _ = writeln!(o, "### `{}`\n\n{}", c.code, code_text(t, c).trim_end());
    let mut by: BTreeMap<StatusPattern, Vec<&str>> = BTreeMap::new();
    for s in all_styles(t) {
        for r in s.rules.iter().filter(|r| r.then.code == c.code && r.deprecated.is_none() && by_status(r)) {
            for p in r.when.status() {
                by.entry(*p).or_default().push(&s.name);
            }
        }
    }
    if !by.is_empty() {
        let every = t.styles.len() + 1;
        let parts: Vec<String> = by
            .iter()
            .map(|(p, names)| {
                let status = match p {
                    StatusPattern::Exact(_) => format!("`{p}`"),
                    StatusPattern::Class(_) => format!("any other `{p}`"),
                };
                if names.len() == every {
                    format!("{status} (every style)")
                } else {
                    format!("{status} ({})", names.join(", "))
                }
            })
            .collect();
        let _ = writeln!(o, "\nBy HTTP status, when no other rule applies: {}.", parts.join("; "));
    }
    let _ = writeln!(o, "\nExample body, with HTTP status {}:\n\n```json\n{}\n```\n", c.status, example_json(t, c));
}

fn style_section(o: &mut String, s: &StyleFile, policy: &str) {
    let _ = writeln!(o, "### {}\n\n{}\n", s.name, s.description);
    let file = if s.detect.is_some() {
        format!("taxonomy/providers/{}.json", s.style)
    } else {
        format!("taxonomy/{}.json", s.style)
    };
    let _ = writeln!(o, "Style `{}`, table `{file}`, from {}.\n", s.style, source_text(&s.seed, policy));
    if let Some(parent) = &s.extends {
        let _ = writeln!(
            o,
            "Builds on `{parent}`: its fields replace `{parent}`'s of the same name, and its rules below come before `{parent}`'s (first every rule that tests a structured value, then those that test only the status and a phrase), then the fallbacks by status.\n"
        );
    }
    if let Some(d) = &s.detect {
        let sigs: Vec<String> = d
            .signatures
            .iter()
            .map(|sig| {
                let mut parts: Vec<String> = sig.present.iter().map(|p| format!("the body has `{p}`")).collect();
                let cond = condition_text(&sig.when);
                if !cond.is_empty() {
                    parts.push(cond);
                }
                parts.join(" and ")
            })
            .collect();
        let before = if d.before.is_empty() {
            String::new()
        } else {
            let names: Vec<String> = d.before.iter().map(|b| format!("`{b}`")).collect();
            format!(" (tried before {})", names.join(", "))
        };
        let _ = writeln!(o, "Detected{before} when {}.\n", sigs.join("; or "));
    }
    let fields: Vec<String> = s
        .fields
        .iter()
        .map(|(name, locs)| {
            let locs: Vec<String> = locs
                .iter()
                .map(|l| match l.strip_prefix("header:") {
                    Some(h) => format!("header `{h}`"),
                    None => format!("`{l}`"),
                })
                .collect();
            format!("{name} from {}", locs.join(", "))
        })
        .collect();
    let _ = writeln!(o, "Reads {}.\n", fields.join("; "));
    o.push_str("| # | when upstream sends | code | reason | field | source |\n|---|---|---|---|---|---|\n");
    for (i, r) in s.rules.iter().enumerate() {
        let mut when = cell(&condition_text(&r.when));
        if let Some(why) = &r.deprecated {
            when = format!("~~{when}~~ (deprecated: {})", cell(why));
        }
        let reason = match &r.then.reason {
            Some(reason) => format!("`{reason}`"),
            None => "upstream's own details".to_owned(),
        };
        let field = r.then.field.as_deref().map_or(String::new(), |f| format!("`{f}`"));
        let _ = writeln!(
            o,
            "| {} | {when} | {} | {reason} | {field} | {} |",
            i + 1,
            code_link(&r.then.code),
            source_text(&r.source, policy)
        );
    }
    o.push('\n');
}

fn transport_section(o: &mut String, t: &Taxonomy, policy: &str) {
    o.push_str(
        "## Transport failures\n\n\
         A failure with no upstream response, or with one cut short, is answered with a code too. One after \
         the response's headers is mid-stream when some of the upstream's output had already been forwarded \
         to the client, and is then not retried.\n\n\
         | failure | what failed | code | reason | after the headers | source |\n|---|---|---|---|---|---|\n",
    );
    for f in &t.transport {
        let _ = writeln!(
            o,
            "| `{}` | {} | {} | `{}` | {} | {} |",
            f.failure,
            cell(&f.description),
            code_link(&f.code),
            f.reason,
            yes_no(f.after_headers),
            source_text(&f.source, policy)
        );
    }
    o.push('\n');
}

fn redaction_section(o: &mut String, t: &Taxonomy) {
    o.push_str(
        "## Redaction\n\n\
         Messages, details and request ids are cleaned before they are sent: control characters are removed \
         and every secret of these formats is replaced by its prefix and `****`",
    );
    if let Some(s) = t.secrets.first() {
        let _ = write!(o, ", so `Invalid key {}abc123def456` reads `Invalid key {}****`", s.prefix, s.prefix);
    }
    o.push_str(".\n\n| secret | starts with | source |\n|---|---|---|\n");
    for s in &t.secrets {
        let _ = writeln!(o, "| {} | `{}` | {} |", cell(&s.name), s.prefix.replace('`', ""), source_text(&s.source, ""));
    }
    o.push('\n');
}

fn machine_section(o: &mut String, t: &Taxonomy) {
    let responses: Vec<String> = statuses(t).iter().map(|s| format!("`Error{s}`")).collect();
    let _ = writeln!(
        o,
        "## Machine-readable forms\n\n\
         The same tables, for gateways in any language:\n\n\
         - `llm-errors docs --format json` prints the whole taxonomy as one JSON object: `codes` (each with \
         `code`, `status`, `retryable`, `description`, `action`, `message`, `source`), `styles` (sorted by \
         `style`; each with `style`, `name`, `description`, `seed`, `fields` mapping a field name to where it \
         is read, `detect` with `signatures` and the styles it is tried `before`, an optional `stream` section, and the ordered \
         `rules`), `detect_order` (the wire names in the order detection tries them), `generic` (the reading of bodies of no known style, shaped like a style without `detect`), \
         `secrets` (`name`, `prefix`, `min_len`, optional `extra_chars` and `ignore_case`, `source`) and \
         `retry` (the retry defaults `base_ms`, `factor`, `cap_ms`, `jitter_ms`, `max_attempts` and \
         `give_up_after_ms`, each `{{\"value\", \"source\"}}`). A rule is `{{\"name\", \"when\", \
         \"then\", \"source\"}}` with an optional `deprecated` note; `when` holds any of `status`, `code`, \
         `type`, `upstream_status` and `message`, each one value or a list of them, a status being a number \
         or a class such as `\"4xx\"`; `then` holds `code` and optional `reason` and `field`. The files in \
         `taxonomy/` and `taxonomy/schema.json` describe the same shape.\n\
         - `llm-errors docs --format openapi` prints OpenAPI 3.1 components to `$ref` from a gateway's own \
         description: the schemas `ErrorEnvelope`, `ErrorBody`, `ErrorDetail`, `Upstream` and `ErrorCode`, \
         and one response per HTTP status ({}), with an example for each code.\n",
        responses.join(", ")
    );
}

// ---------------------------------------------------------------------------------------------
// JSON and OpenAPI.
// ---------------------------------------------------------------------------------------------

/// The whole taxonomy as JSON: the tables as written, and under `compiled` each style as the
/// crate compiles it (what it inherits applied, its rules in the order they are tried), so that
/// a reader in another language need not apply `extends` and the fallback tiers itself.
pub fn json_text(t: &Taxonomy) -> String {
    let mut v = serde_json::to_value(t).unwrap_or_default();
    let compiled: Vec<StyleFile> = t.styles.iter().chain(std::iter::once(&t.generic)).map(|s| t.effective(s)).collect();
    if let Value::Object(m) = &mut v {
        m.insert("compiled".to_owned(), serde_json::to_value(compiled).unwrap_or_default());
        let order: Vec<&str> = t.detect_order().unwrap_or_default().iter().map(|s| s.style.as_str()).collect();
        m.insert("detect_order".to_owned(), serde_json::to_value(order).unwrap_or_default());
    }
    serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"
}

/// The OpenAPI 3.1 document of the error components.
pub fn openapi(t: &Taxonomy) -> Value {
    let mut responses = serde_json::Map::new();
    for status in statuses(t) {
        let of: Vec<&CodeRow> = t.codes.iter().filter(|c| c.status == status).collect();
        let names: Vec<String> = of.iter().map(|c| format!("`{}`", c.code)).collect();
        let examples: serde_json::Map<String, Value> = of
            .iter()
            .map(|c| {
                let example = json!({
                    "summary": c.description,
                    "description": code_text(t, c),
                    "value": example_value(t, c),
                });
                (c.code.clone(), example)
            })
            .collect();
        let media = json!({
            "schema": { "$ref": "#/components/schemas/ErrorEnvelope" },
            "examples": examples,
        });
        let response = json!({
            "description": format!("An upstream error normalized to {}.", either(&names)),
            "content": { "application/json": media },
        });
        responses.insert(format!("Error{status}"), response);
    }
    let schemas = json!({
        "ErrorCode": error_code_schema(t),
        "ErrorEnvelope": {
            "type": "object",
            "description": "The body of every error response.",
            "required": ["error"],
            "properties": { "error": { "$ref": "#/components/schemas/ErrorBody" } },
            "additionalProperties": false,
        },
        "ErrorBody": error_body_schema(t),
        "ErrorDetail": error_detail_schema(t),
        "Upstream": upstream_schema(t),
    });
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "LLM error taxonomy",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Error components for an LLM gateway: every upstream error becomes one of the codes of \
                `ErrorCode`, answered with the code's HTTP status and an `ErrorEnvelope` body. Reference them from \
                a gateway's own description, such as `openapi.json#/components/responses/Error429`.",
        },
        "components": { "schemas": schemas, "responses": responses },
    })
}

/// `a`, `a or b`, `one of a, b or c`.
fn either(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => {
            let or = format!("{} or {last}", init.join(", "));
            if items.len() > 2 { format!("one of {or}") } else { or }
        }
    }
}

/// A schema of type `ty` with a description.
fn typed(ty: &str, description: &str) -> Value {
    json!({ "type": ty, "description": description })
}

fn error_code_schema(t: &Taxonomy) -> Value {
    let codes: Vec<&str> = t.codes.iter().map(|c| c.code.as_str()).collect();
    let lines: Vec<String> = t
        .codes
        .iter()
        .map(|c| {
            let retry = if c.retryable { "retryable" } else { "not retryable" };
            format!("- `{}`: HTTP {}, {retry}. {}", c.code, c.status, c.description)
        })
        .collect();
    let description =
        format!("The normalized error code; each has a fixed HTTP status and retryable flag.\n\n{}", lines.join("\n"));
    json!({ "type": "string", "enum": codes, "description": description })
}

fn error_body_schema(t: &Taxonomy) -> Value {
    let secrets: Vec<&str> = t.secrets.iter().map(|s| s.name.as_str()).collect();
    let message = format!(
        "Upstream's message, or the code's default message. Control characters are removed and secrets are \
         redacted to their prefix and `****`: {}.",
        secrets.join(", ")
    );
    let mut status = typed("integer", "The code's HTTP status.");
    status["enum"] = json!(statuses(t));
    let mut retry_after = typed("integer", "Seconds to wait before retrying; only for retryable codes.");
    retry_after["minimum"] = json!(0);
    json!({
        "type": "object",
        "required": ["code", "message", "retryable", "status"],
        "properties": {
            "code": { "$ref": "#/components/schemas/ErrorCode" },
            "message": typed("string", &message),
            "retryable": typed("boolean", "The code's retryable flag."),
            "status": status,
            "details": {
                "type": "array",
                "items": { "$ref": "#/components/schemas/ErrorDetail" },
                "description": "Field-level details; the first gives the reason.",
            },
            "retry_after": retry_after,
            "request_id": typed("string", field_doc("request_id")),
            "upstream": { "$ref": "#/components/schemas/Upstream" },
        },
        "additionalProperties": false,
    })
}

fn error_detail_schema(t: &Taxonomy) -> Value {
    let mut code = typed("string", "Why, such as a rule's reason.");
    code["examples"] = json!(reasons(t));
    let figure = |name: &str| json!({ "description": field_doc(name) });
    json!({
        "type": "object",
        "description": "One field-level detail: which request field is at fault, why, and any figures.",
        "properties": {
            "field": typed("string", "The request field at fault, such as `model` or `messages`."),
            "code": code,
            "message": typed("string", "A human-readable explanation."),
            "model_max_tokens": figure("model_max_tokens"),
            "request_tokens": figure("request_tokens"),
            "balance": figure("balance"),
        },
        "additionalProperties": { "description": "Another figure given by upstream." },
    })
}

fn upstream_schema(t: &Taxonomy) -> Value {
    // The wire names as serde writes the `Style` variants: lowercase.
    let styles: Vec<String> = t.styles.iter().map(|s| s.name.to_ascii_lowercase()).collect();
    let mut style = typed("string", "The style the response was read as; absent for the generic reading.");
    style["enum"] = json!(styles);
    let status_in = |description: &str, max: u16| {
        let mut s = typed("integer", description);
        s["minimum"] = json!(100);
        s["maximum"] = json!(max);
        s
    };
    json!({
        "type": "object",
        "description": "What upstream said, cleaned of secrets and control characters.",
        "properties": {
            "style": style,
            "status": status_in("The HTTP status of the upstream response.", 999),
            "code": typed("string", field_doc("code")),
            "type": typed("string", field_doc("type")),
            "provider": typed("string", field_doc("provider")),
            "upstream_status": status_in(field_doc("upstream_status"), 599),
            "should_retry": typed("boolean", field_doc("should_retry")),
        },
        "additionalProperties": false,
    })
}

/// [`openapi`] as pretty JSON, its top-level members in the usual order.
pub fn openapi_text(t: &Taxonomy) -> String {
    #[derive(Serialize)]
    struct Document<'a> {
        openapi: &'a Value,
        info: &'a Value,
        components: &'a Value,
    }
    let doc = openapi(t);
    let ordered = Document { openapi: &doc["openapi"], info: &doc["info"], components: &doc["components"] };
    serde_json::to_string_pretty(&ordered).unwrap_or_default() + "\n"
}
