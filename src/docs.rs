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
//! The Markdown page is the crate's reference: it shows every style with its table file and the
//! seed lines its rules cite. A gateway publishes [`Page`] instead, under its own product name:
//! the same codes, sections and policy, only the providers whose documentation is public, each
//! rule linked to that documentation, and no word about the crate
//! (`llm-errors docs --product NAME [--base-url URL] [--skip SECTION]...`).
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

use strum::IntoEnumIterator as _;

include!(concat!(env!("OUT_DIR"), "/page.rs"));

/// The error page a gateway publishes for its users, under its own name.
///
/// It holds the code table and every [`Section`] the gateway does not [`skip`](Page::skip). The
/// upstream mappings list the providers whose documentation is public, each rule linking the page
/// it follows; nothing on it names the crate, its files or other gateways' products. A link to a
/// section left out becomes plain text.
///
/// ```
/// use llm_error_taxonomy::docs::{Page, Section};
///
/// let page = Page::new("Acme AI")?
///     .base_url("https://api.acme.example/v1")?
///     .skip(Section::Redaction)
///     .render();
/// assert!(page.starts_with("# Acme AI error codes\n"));
/// assert!(page.contains("<https://api.acme.example/v1>"));
/// assert!(page.contains("## Classification policy") && !page.contains("## Redaction"));
/// assert!(page.contains("<https://docs.anthropic.com/en/api/errors>"));
/// # Ok::<(), llm_error_taxonomy::docs::PageError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    product: String,
    base_url: Option<String>,
    skip: Vec<Section>,
}

/// Why a [`Page`] cannot be made with a name or URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PageError {
    /// The product name is empty or only white space.
    #[error("the product name is empty")]
    EmptyProduct,
    /// The product name holds a control character, a line break among them.
    #[error("the product name holds a control character")]
    ControlInProduct,
    /// The base URL is not an absolute `http` or `https` URL with a host, or holds white space,
    /// a control character, `<` or `>`.
    #[error("the base URL {0:?} is not an http:// or https:// URL")]
    BaseUrl(String),
}

impl Page {
    /// A page for `product`, with every section. The name is shown as written, Markdown's
    /// special characters escaped.
    pub fn new(product: &str) -> Result<Page, PageError> {
        let product = product.trim();
        if product.is_empty() {
            return Err(PageError::EmptyProduct);
        }
        if product.chars().any(char::is_control) {
            return Err(PageError::ControlInProduct);
        }
        Ok(Page { product: product.to_owned(), base_url: None, skip: Vec::new() })
    }

    /// Names the API's base URL in the introduction.
    ///
    /// ```
    /// use llm_error_taxonomy::docs::{Page, PageError};
    ///
    /// assert!(Page::new("Acme")?.base_url("https://api.acme.example").is_ok());
    /// assert_eq!(
    ///     Page::new("Acme")?.base_url("api.acme.example"),
    ///     Err(PageError::BaseUrl("api.acme.example".into()))
    /// );
    /// # Ok::<(), PageError>(())
    /// ```
    pub fn base_url(mut self, url: &str) -> Result<Page, PageError> {
        let host = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
        let bad = |c: char| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>');
        match host {
            Some(rest) if !rest.is_empty() && !rest.starts_with('/') && !url.contains(bad) => {
                self.base_url = Some(url.to_owned());
                Ok(self)
            }
            _ => Err(PageError::BaseUrl(url.to_owned())),
        }
    }

    /// Leaves `section` out.
    pub fn skip(mut self, section: Section) -> Page {
        if !self.skip.contains(&section) {
            self.skip.push(section);
        }
        self
    }

    /// The page, as Markdown ending with a newline. The same options give the same bytes.
    pub fn render(&self) -> String {
        let product = escape_markdown(&self.product);
        let mut intro = INTRO;
        let last = intro.trim_end().rfind("\n\n").map_or(intro.len(), |i| i + 1);
        if self.base_url.is_none() {
            intro = &intro[..last];
        }
        let mut page = intro.to_owned();
        page.push('\n');
        let sections: Vec<Section> = Section::iter().filter(|s| !self.skip.contains(s)).collect();
        page.push_str("- [The codes](#the-codes)\n");
        for s in &sections {
            page.push_str(&format!("- [{}](#{})\n", s.heading(), slug(s.heading())));
        }
        page.push('\n');
        page.push_str(CODES);
        for s in &sections {
            page.push_str(s.text());
        }
        // The gateway's name and URL go in last, so that nothing in them is read as a link.
        unlink_missing(&page).replace(PRODUCT, &product).replace(BASE_URL, self.base_url.as_deref().unwrap_or(""))
    }
}

/// `text` with Markdown's special characters escaped by a backslash.
fn escape_markdown(text: &str) -> String {
    let mut o = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|' | '~' | '!' | '&') {
            o.push('\\');
        }
        o.push(c);
    }
    o
}

/// The anchor a Markdown renderer gives a heading (GitHub's rule): lowercase, punctuation other
/// than `-` and `_` removed, spaces as `-`.
fn slug(heading: &str) -> String {
    heading
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

/// The anchors `page` defines: its headings' and its `<a id="...">` elements'.
fn anchors(page: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in page.lines() {
        if let Some(heading) = line.strip_prefix('#') {
            found.push(slug(heading.trim_start_matches('#').trim()));
        }
    }
    let mut rest = page;
    while let Some(i) = rest.find("<a id=\"") {
        rest = &rest[i + 7..];
        if let Some(end) = rest.find('"') {
            found.push(rest[..end].to_owned());
        }
    }
    found.sort_unstable();
    found
}

/// `page` with every link to an anchor it does not define, `[text](#anchor)`, made plain text.
fn unlink_missing(page: &str) -> String {
    let defined = anchors(page);
    let mut out = String::with_capacity(page.len());
    let mut rest = page;
    while let Some(i) = rest.find("](#") {
        let after = &rest[i + 3..];
        let Some(end) = after.find(')') else { break };
        let head = &rest[..i];
        match head.rfind('[') {
            Some(open) if defined.binary_search_by(|a| a.as_str().cmp(&after[..end])).is_err() => {
                out.push_str(&head[..open]);
                out.push_str(&head[open + 1..]);
            }
            _ => out.push_str(&rest[..i + 3 + end + 1]),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}
