//! The error page a gateway publishes (`docs::Page`): its own name and URL, the sections it
//! keeps, every link resolving whichever it leaves out, sources that are public pages, and no word
//! about the crate.
#![cfg(feature = "docs")]

#[allow(dead_code)]
#[path = "../build/codegen.rs"]
mod codegen;

use llm_error_taxonomy::docs::{Format, Page, PageError, Section, render};
use std::collections::BTreeSet;
use std::path::PathBuf;
use strum::IntoEnumIterator;

fn taxonomy() -> codegen::Taxonomy {
    codegen::load(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("taxonomy")).unwrap_or_else(|p| panic!("{p}"))
}

fn page(skip: &[Section]) -> String {
    skip.iter().fold(Page::new("Acme AI").expect("a name"), |p, s| p.skip(*s)).render()
}

/// GitHub's heading anchors: lowercase, punctuation but `-` and `_` dropped, spaces as `-`.
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

fn anchors(md: &str) -> BTreeSet<String> {
    let mut set: BTreeSet<String> =
        md.lines().filter(|l| l.starts_with('#')).map(|l| slug(l.trim_start_matches('#').trim())).collect();
    for part in md.split("<a id=\"").skip(1) {
        set.insert(part[..part.find('"').expect("a closed id")].to_owned());
    }
    set
}

/// Every Markdown link target `](target)` of `md`, and every autolink `<https://...>`.
fn links(md: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in md.split("](").skip(1) {
        out.push(part[..part.find(')').expect("a closed link")].to_owned());
    }
    for part in md.split("<http").skip(1) {
        out.push(format!("http{}", &part[..part.find('>').expect("a closed autolink")]));
    }
    out
}

#[test]
fn every_link_resolves_whichever_sections_are_left_out() {
    let all: Vec<Section> = Section::iter().collect();
    for mask in 0u32..(1 << all.len()) {
        let skip: Vec<Section> =
            all.iter().enumerate().filter(|(i, _)| mask & (1 << i) != 0).map(|(_, s)| *s).collect();
        let md = page(&skip);
        let defined = anchors(&md);
        for target in links(&md) {
            match target.strip_prefix('#') {
                Some(anchor) => {
                    assert!(defined.contains(anchor), "{skip:?}: a link to #{anchor}, which is not on the page")
                }
                None => {
                    assert!(target.starts_with("https://") || target.starts_with("http://"), "{skip:?}: link {target}")
                }
            }
        }
        for s in &all {
            let heading = format!("\n## {}\n", s.heading());
            let toc = format!("- [{}](#{})\n", s.heading(), slug(s.heading()));
            assert_eq!(md.contains(&heading), !skip.contains(s), "{skip:?}: {s}'s heading");
            assert_eq!(md.contains(&toc), !skip.contains(s), "{skip:?}: {s} in the contents");
        }
        assert!(md.contains("\n## The codes\n"), "the code table is always there");
    }
}

#[test]
fn the_page_says_nothing_about_the_crate() {
    let md = page(&[]);
    let t = taxonomy();
    let mut words: Vec<String> = [
        "crate",
        "taxonomy/",
        "tests/",
        ".rs",
        ".txt",
        "cargo",
        "llm-errors",
        "Normalizer",
        "RetryPolicy",
        "seed",
        "rustdoc",
        "build.rs",
    ]
    .iter()
    .map(|w| w.to_string())
    .collect();
    // The gateways whose documents are not public pages are not named either.
    for s in t.styles.iter().filter(|s| !s.seed.starts_with("https://")) {
        words.push(s.name.clone());
    }
    let lower = md.to_lowercase();
    for w in &words {
        assert!(!lower.contains(&w.to_lowercase()), "the page says {w:?}");
    }
    assert!(render(Format::Markdown).contains("taxonomy/providers/"), "the crate's reference keeps them");
}

#[test]
fn every_public_rule_is_shown_with_its_public_source() {
    let md = page(&[]);
    let t = taxonomy();
    let mut shown = 0;
    for s in t.styles.iter().chain(std::iter::once(&t.generic)) {
        let head = format!("\n### {}\n", s.name);
        if !s.seed.starts_with("https://") {
            assert!(!md.contains(&head), "{} is not a public document's style", s.style);
            continue;
        }
        shown += 1;
        let start = md.find(&head).unwrap_or_else(|| panic!("no section for {}", s.name));
        let section = &md[start + head.len()..];
        let end = [section.find("\n### "), section.find("\n## ")].into_iter().flatten().min();
        let section = &section[..end.unwrap_or(section.len())];
        assert!(section.contains(&format!("Documented at <{}>.", s.seed)), "{}", s.style);
        if let Some(parent) =
            t.styles.iter().chain(std::iter::once(&t.generic)).find(|p| Some(&p.style) == s.extends.as_ref())
        {
            let link = format!("read with the rules of [{}](#{}).", parent.name, parent.name.to_ascii_lowercase());
            assert!(section.contains(&link), "{} names the rules it builds on", s.style);
        }
        let rows: Vec<&str> = section.lines().filter(|l| l.starts_with("| ") && !l.starts_with("| #")).collect();
        assert_eq!(rows.len(), s.rules.len(), "{}: one row per rule", s.style);
        for (row, rule) in rows.iter().zip(&s.rules) {
            assert!(row.contains(&format!("[`{}`]", rule.then.code)), "{}: {row}", s.style);
            if rule.source.starts_with("https://") {
                assert!(row.ends_with(&format!(" <{}> |", rule.source)), "{}: {row}", s.style);
            }
        }
    }
    assert!(shown > 30, "{shown} styles shown");
}

#[test]
fn the_name_and_url_are_the_gateways() {
    let md = Page::new("Acme *AI* [beta]").unwrap().base_url("https://api.acme.example/v1").unwrap().render();
    assert!(md.starts_with("# Acme \\*AI\\* \\[beta\\] error codes\n"), "{}", &md[..80]);
    assert!(md.contains("Every error Acme \\*AI\\* \\[beta\\] returns"));
    assert!(md.contains("Requests to <https://api.acme.example/v1> that fail"));
    // A name that looks like a link is shown as written, not read as one.
    let linky = Page::new("[x](#y)").unwrap().render();
    assert!(linky.starts_with("# \\[x\\](\\#y) error codes\n"), "{}", &linky[..40]);
    let plain = Page::new("  Acme  ").unwrap().render();
    assert!(plain.starts_with("# Acme error codes\n\nEvery error Acme returns"));
    assert!(!plain.contains("Requests to") && !plain.contains("{{"), "no base URL, no line for it");
    assert_eq!(plain, Page::new("Acme").unwrap().render(), "deterministic");
    assert_eq!(Page::new(""), Err(PageError::EmptyProduct));
    assert_eq!(Page::new("Acme\nAI"), Err(PageError::ControlInProduct));
    for bad in [
        "ftp://acme.example",
        "https://",
        "https:///v1",
        "https://acme.example/ v1",
        "https://acme.example/>x",
        "acme.example",
    ] {
        assert_eq!(Page::new("Acme").unwrap().base_url(bad), Err(PageError::BaseUrl(bad.to_owned())), "{bad}");
    }
}

#[test]
fn the_sections_are_the_reference_pages_sections() {
    let reference = render(Format::Markdown);
    let headings: Vec<&str> =
        reference.lines().filter_map(|l| l.strip_prefix("## ")).filter(|h| *h != "The codes").collect();
    let sections: Vec<&str> = Section::iter().map(Section::heading).collect();
    assert_eq!(headings, sections);
    for s in Section::iter() {
        assert_eq!(s.to_string().parse::<Section>(), Ok(s));
    }
}

#[test]
fn the_public_policy_is_the_reference_policy() {
    let md = page(&[]);
    let reference = render(Format::Markdown);
    let policy = |m: &str| {
        let start = m.find("## Classification policy").expect("a policy");
        m[start..m[start..].find("\n## Redaction").map_or(m.len(), |e| start + e)].to_owned()
    };
    assert_eq!(policy(&md), policy(reference), "one policy, quoted on both pages");
}
