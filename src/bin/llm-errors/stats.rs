//! `llm-errors stats`: a JSONL log's errors counted by style and code.

use crate::args::{Arg, Args};
use crate::{Failure, each_line, file_operand, for_stderr, parse_case, write_out};
use llm_error_taxonomy::{ErrorCode, NormalizedError, Normalizer, Style};
use serde::Serialize;
use std::collections::BTreeMap;

/// What one log line holds.
enum Entry {
    Error(Box<NormalizedError>),
    /// `null`: a response that was no failure.
    NoFailure,
    /// A line `normalize --jsonl` could not read.
    Problem,
}

/// A line as `normalize --jsonl` prints it (an envelope, `null`, a problem) or reads it (a
/// case, normalized here).
fn read_entry(normalizer: &Normalizer, text: &str) -> Result<Entry, String> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    match &value {
        serde_json::Value::Null => Ok(Entry::NoFailure),
        serde_json::Value::Object(o) if o.contains_key("error") => serde_json::from_value(value)
            .map(|e| Entry::Error(Box::new(e)))
            .map_err(|e| format!("not an envelope: {e}")),
        serde_json::Value::Object(o) if o.contains_key("problem") => Ok(Entry::Problem),
        _ => {
            let (style, status, headers, body) = parse_case(text)?;
            Ok(normalizer
                .inspect(style, status, &headers, &body)
                .map_or(Entry::NoFailure, |e| Entry::Error(Box::new(e))))
        }
    }
}

/// The counts of one style (or of all).
#[derive(Default, Serialize)]
struct Counts {
    errors: usize,
    retryable: usize,
    codes: BTreeMap<ErrorCode, usize>,
}

impl Counts {
    fn add(&mut self, code: ErrorCode) {
        self.errors += 1;
        self.retryable += usize::from(code.is_retryable());
        *self.codes.entry(code).or_default() += 1;
    }

    /// The retryable share, in whole percent rounded to the nearest.
    fn share(&self) -> usize {
        (self.retryable * 200 + self.errors) / (2 * self.errors.max(1))
    }
}

#[derive(Default, Serialize)]
struct Tally {
    /// By style's wire name; `-` for errors no style read.
    styles: BTreeMap<&'static str, Counts>,
    all: Counts,
    no_failure: usize,
    problems: usize,
    bad_lines: usize,
}

impl Tally {
    fn add(&mut self, style: Option<Style>, code: ErrorCode) {
        self.styles.entry(style.map_or("-", Style::as_str)).or_default().add(code);
        self.all.add(code);
    }

    fn table(&self) -> String {
        let style_w = self.styles.keys().map(|s| s.len()).max().unwrap_or(0).max("STYLE".len());
        let code_w = ErrorCode::RateLimited
            .as_str()
            .len()
            .max(self.styles.values().flat_map(|c| c.codes.keys()).map(|c| c.as_str().len()).max().unwrap_or(0));
        let mut text = format!("{:style_w$}  {:code_w$}  {:>6}  RETRYABLE\n", "STYLE", "CODE", "COUNT");
        let mut row = |style: &str, code: &str, count: usize, retryable: String| {
            text.push_str(&format!("{style:style_w$}  {code:code_w$}  {count:>6}  {retryable}\n"));
        };
        for (style, counts) in &self.styles {
            for (code, n) in &counts.codes {
                row(style, code.as_str(), *n, (if code.is_retryable() { "yes" } else { "no" }).to_owned());
            }
            row(style, "all", counts.errors, format!("{}%", counts.share()));
        }
        row("all", "all", self.all.errors, format!("{}%", self.all.share()));
        text.push_str(&format!(
            "\n{} error(s), {} response(s) with no failure, {} problem line(s), {} bad line(s)",
            self.all.errors, self.no_failure, self.problems, self.bad_lines
        ));
        text
    }
}

pub fn command(args: &[String]) -> Result<(), Failure> {
    let mut json = false;
    let mut file = None;
    let mut it = Args::new(args);
    while let Some(arg) = it.next()? {
        match arg {
            Arg::Flag("--json") => json = true,
            Arg::Flag(other) => return Err(Failure::usage(format!("unknown option {other:?} for stats"))),
            Arg::Operand(path) => file_operand(&mut file, path)?,
        }
    }
    let normalizer = Normalizer::new();
    let mut tally = Tally::default();
    each_line(&normalizer, file, |line_no, text| {
        match text.and_then(|t| read_entry(&normalizer, t)) {
            Ok(Entry::Error(e)) => tally.add(e.style(), e.code()),
            Ok(Entry::NoFailure) => tally.no_failure += 1,
            Ok(Entry::Problem) => tally.problems += 1,
            Err(message) => {
                eprintln!("llm-errors: line {line_no}: {}", for_stderr(&message));
                tally.bad_lines += 1;
            }
        }
        Ok(())
    })?;
    let text = if json { serde_json::to_string_pretty(&tally).unwrap_or_default() } else { tally.table() };
    write_out(&text)?;
    match tally.bad_lines {
        0 => Ok(()),
        n => Err(Failure::input(format!("{n} bad line(s)"))),
    }
}
