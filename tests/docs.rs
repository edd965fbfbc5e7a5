//! What docs/ says agrees with what gohang prints: every verdict kind has its section in
//! docs/verdicts.md, and every remedy text is quoted there verbatim (rendered with the
//! example values of `remedy::catalog`).

use gohang::classify::remedy;
use gohang::verdict::VerdictKind;
use std::path::Path;

fn doc(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("docs")
            .join(name),
    )
    .unwrap()
}

#[test]
fn every_verdict_kind_has_a_section() {
    let text = doc("verdicts.md");
    for k in VerdictKind::ALL {
        assert!(
            text.contains(&format!("## `{}`", k.as_str())),
            "docs/verdicts.md has no section for {k}"
        );
    }
}

#[test]
fn remedies_in_the_docs_match_the_code() {
    let text = doc("verdicts.md");
    let mut wrong = Vec::new();
    for (name, kind, rendered) in remedy::catalog() {
        let marker = format!("<!-- remedy:{name} -->");
        let Some(at) = text.find(&marker) else {
            wrong.push(format!(
                "{name}: no {marker} in docs/verdicts.md; it should quote:\n{rendered}\n"
            ));
            continue;
        };
        // The remedy sits in the section of its kind, in a fenced block after the marker.
        let section_start = text[..at].rfind("\n## `").unwrap_or(0);
        if !text[section_start..at].starts_with(&format!("\n## `{}`", kind.as_str())) {
            wrong.push(format!("{name}: quoted outside the `{kind}` section"));
        }
        let after = &text[at + marker.len()..];
        let block = after
            .split("```")
            .nth(1)
            .map(|b| b.trim_start_matches("text").trim())
            .unwrap_or("");
        if block != rendered.trim() {
            wrong.push(format!(
                "{name}: docs say\n{block}\nbut the code prints\n{rendered}\n"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
