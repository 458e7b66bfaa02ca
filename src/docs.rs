//! The error documentation, rendered from the same tables that classify.
//!
//! The build script renders three documents from `taxonomy/` (see `build/docs.rs`), so the
//! documentation cannot disagree with the behaviour:
//!
//! - [`Format::Markdown`]: the page a gateway publishes for its users, checked in as
//!   `docs/errors.md`: the code table, a section per code (what happened, what to do, an
//!   example body, the upstream errors that map to it), each style's mapping table with the
//!   source every rule cites, the classification policy and retry guidance. Each code's text
//!   is the same as the rustdoc of its [`ErrorCode`](crate::ErrorCode) variant.
//! - [`Format::Json`]: the whole taxonomy as one JSON object, for gateways not written in
//!   Rust: `codes` (each `{code, status, retryable, description, action, message, source,
//!   wire}`, `wire` naming the code in OpenAI's, Anthropic's and Google's formats),
//!   `styles` (sorted by `style`; each `{style, name, description, seed, fields, detect,
//!   rules}`), `generic` (the reading of bodies of no known style, a style without `detect`)
//!   `secrets` (each `{name, prefix, min_len, extra_chars?, ignore_case?, source}`) and
//!   `transport` (each `{failure, description, code, reason, message, after_headers, source}`). A
//!   rule is `{name, when, then, source, deprecated?}`; `when` holds any of `status`, `code`,
//!   `type`, `upstream_status` and `message`, each one value or a list of them (a status is a
//!   number or a class such as `"4xx"`); `then` is `{code, reason?, field?}`. It is the shape
//!   of the files in `taxonomy/`, described by `taxonomy/schema.json`.
//! - [`Format::OpenApi`]: an OpenAPI 3.1 document whose components a gateway's own
//!   description can `$ref`: the schemas `ErrorEnvelope`, `ErrorBody`, `ErrorDetail`,
//!   `Upstream` and `ErrorCode`, and one response per HTTP status the codes use
//!   (`Error400`, `Error429`, ...) with an example body for each code.
//!
//! Every output is deterministic: no timestamps, no paths, the same bytes for the same tables.
//! The `llm-errors docs [--format markdown|json|openapi] [--out PATH]` command prints them.
//!
//! ```
//! use llm_error_taxonomy::docs::{render, Format};
//!
//! let page = render(Format::Markdown);
//! assert!(page.contains("### `RATE_LIMITED`") && page.contains("## Classification policy"));
//!
//! let taxonomy: serde_json::Value = serde_json::from_str(render(Format::Json)).unwrap();
//! assert_eq!(taxonomy["codes"].as_array().map(Vec::len), Some(12));
//!
//! let openapi: serde_json::Value = serde_json::from_str(render(Format::OpenApi)).unwrap();
//! assert!(openapi["components"]["responses"]["Error429"].is_object());
//! ```

/// A rendering of the error documentation.
///
/// Parses from its lowercase name, as the command line takes it:
///
/// ```
/// use llm_error_taxonomy::docs::Format;
/// assert_eq!("openapi".parse::<Format>(), Ok(Format::OpenApi));
/// assert_eq!(Format::Json.as_str(), "json");
/// assert_eq!(Format::Markdown.file_name(), "errors.md");
/// ```
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Hash,
    strum::EnumString,
    strum::EnumIter,
    strum::IntoStaticStr,
    strum::Display,
)]
#[strum(serialize_all = "lowercase", ascii_case_insensitive)]
#[non_exhaustive]
pub enum Format {
    /// The Markdown page, `docs/errors.md`.
    #[default]
    Markdown,
    /// The whole taxonomy as JSON: codes, every style's fields and rules, the secret formats and the
    /// retry defaults.
    Json,
    /// OpenAPI 3.1 components: the error envelope schema, the `ErrorCode` enum and a response
    /// per HTTP status.
    OpenApi,
}

impl Format {
    /// The name the command line takes, such as `"openapi"`.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The usual file name of the rendering: `errors.md`, `taxonomy.json` or `openapi.json`.
    pub const fn file_name(self) -> &'static str {
        match self {
            Format::Markdown => "errors.md",
            Format::Json => "taxonomy.json",
            Format::OpenApi => "openapi.json",
        }
    }
}

static MARKDOWN: &str = include_str!(concat!(env!("OUT_DIR"), "/errors.md"));
static JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/taxonomy.json"));
static OPENAPI: &str = include_str!(concat!(env!("OUT_DIR"), "/openapi.json"));

/// The documentation in `format`, rendered from the tables at build time; it ends with a newline.
///
/// ```
/// use llm_error_taxonomy::docs::{render, Format};
///
/// assert!(render(Format::Markdown).starts_with("<!-- @generated"));
/// assert!(render(Format::OpenApi).ends_with('\n'));
/// ```
pub fn render(format: Format) -> &'static str {
    match format {
        Format::Markdown => MARKDOWN,
        Format::Json => JSON,
        Format::OpenApi => OPENAPI,
    }
}
