//! Keeps `docs/security.md` (the RFC 9700 / MCP security checklist) honest: every test it names
//! exists, every RFC 9700 §4 section in it has a proof, and every line of its tables has a proof
//! or says why the item does not apply.
use std::path::Path;

/// The sections the checklist must keep (a heading `### <number> …`). The RFC 9700 §4 ones must
/// each name at least one test.
const SECTIONS: &[&str] = &[
    "2.1", "2.1.1", "2.1.2", "2.2.1", "2.2.2", "2.3", "2.4", "2.5", "2.6", "4.1", "4.2", "4.3",
    "4.4", "4.5", "4.6", "4.7", "4.8", "4.9", "4.10", "4.11", "4.12", "4.13", "4.14", "4.15",
    "4.16", "4.17", "MCP 3.1", "MCP 3.2", "MCP 3.3", "MCP 3.4", "MCP 3.5", "MCP 3.6", "MCP 3.7",
];

/// A reference to a test: `` `tests/api/file.rs::name` `` (or under `src/`, `verify/`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Reference {
    path: String,
    function: String,
}

/// The references in `text`: backticked spans of the form `(tests|src|verify)/….rs::ident`.
/// (Every piece between backticks is looked at, so a stray backtick elsewhere can't hide one.)
fn references(text: &str) -> Vec<Reference> {
    text.split('`')
        .filter_map(|span| {
            let (path, function) = span.split_once(".rs::")?;
            let path_ok = ["tests/", "src/", "verify/"]
                .iter()
                .any(|root| path.starts_with(root))
                && path
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-/.".contains(c));
            let mut chars = function.chars();
            let ident_ok = chars
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
            (path_ok && ident_ok).then(|| Reference {
                path: format!("{path}.rs"),
                function: function.to_string(),
            })
        })
        .collect()
}

/// Whether `source` defines a function `name` (`fn name(` or `async fn name(`, or generic).
fn defines(source: &str, name: &str) -> bool {
    let needle = format!("fn {name}");
    source.match_indices(&needle).any(|(i, _)| {
        let before_ok = source[..i]
            .chars()
            .next_back()
            .is_none_or(char::is_whitespace);
        let after = source[i + needle.len()..].trim_start();
        before_ok && (after.starts_with('(') || after.starts_with('<'))
    })
}

/// The heading's section number: `### 4.11 Open redirection` → `4.11`; `### MCP 3.2 …` →
/// `MCP 3.2`.
fn section_of(heading: &str) -> Option<String> {
    let rest = heading.strip_prefix("### ")?;
    let (prefix, rest) = match rest.strip_prefix("MCP ") {
        Some(r) => ("MCP ", r),
        None => ("", rest),
    };
    let number: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let number = number.trim_end_matches('.');
    (!number.is_empty()).then(|| format!("{prefix}{number}"))
}

/// Everything wrong with the checklist `doc`, whose paths are relative to `root`.
fn problems(doc: &str, root: &Path) -> Vec<String> {
    let mut problems = Vec::new();

    // 1. Every named test exists.
    for r in references(doc) {
        let file = root.join(&r.path);
        match std::fs::read_to_string(&file) {
            Err(_) => problems.push(format!("`{}::{}`: no file {}", r.path, r.function, r.path)),
            Ok(source) if !defines(&source, &r.function) => problems.push(format!(
                "`{}::{}`: {} defines no fn {}",
                r.path, r.function, r.path, r.function
            )),
            Ok(_) => {}
        }
    }

    // 2. The sections, each §4 one with a proof; 3. every table line proved or not applicable.
    let mut sections: Vec<(String, String)> = Vec::new();
    for line in doc.lines() {
        if line.starts_with("### ") {
            match section_of(line) {
                Some(s) => sections.push((s, String::new())),
                None => problems.push(format!("a heading without a section number: {line}")),
            }
        } else if let Some((_, body)) = sections.last_mut() {
            body.push_str(line);
            body.push('\n');
        }
        let row = line.trim();
        let is_row =
            row.starts_with('|') && !row.starts_with("|---") && !row.starts_with("| Requirement");
        if is_row && references(row).is_empty() && !row.to_lowercase().contains("does not apply") {
            problems.push(format!(
                "a line with neither a test nor \"does not apply\": {row}"
            ));
        }
    }
    for wanted in SECTIONS {
        let found: Vec<_> = sections.iter().filter(|(s, _)| s == wanted).collect();
        match found.as_slice() {
            [] => problems.push(format!("section {wanted} is missing")),
            [(_, body)] => {
                if wanted.starts_with("4.") && references(body).is_empty() {
                    problems.push(format!("section {wanted} names no test"));
                }
            }
            _ => problems.push(format!("section {wanted} appears more than once")),
        }
    }
    problems
}

#[test]
fn the_security_checklist_names_only_tests_that_exist() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/security.md")).unwrap();
    assert!(
        references(&doc).len() >= SECTIONS.len(),
        "the checklist names hardly any tests"
    );
    let problems = problems(&doc, root);
    assert!(
        problems.is_empty(),
        "docs/security.md:\n  {}",
        problems.join("\n  ")
    );
}

/// The checker itself: a missing file, a missing function, a §4 section without a proof and an
/// unproved line are all reported, together.
#[test]
fn the_security_checklist_check_reports_every_problem() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut doc = String::new();
    for s in SECTIONS {
        doc.push_str(&format!(
            "### {s} Section\n| x | y | `tests/api/security_checklist.rs::references` |\n"
        ));
    }
    assert_eq!(problems(&doc, root), Vec::<String>::new());

    let broken = doc
        .replacen(
            "### 4.3 Section\n| x | y | `tests/api/security_checklist.rs::references` |",
            "### 4.3 Section\n| x | y | does not apply: no such flow |",
            1,
        )
        .replacen(
            "### 4.5 Section\n| x | y | `tests/api/security_checklist.rs::references` |",
            "### 4.5 Section\n| x | y | `tests/api/security_checklist.rs::no_such_test` |",
            1,
        )
        .replacen(
            "### 4.7 Section\n| x | y | `tests/api/security_checklist.rs::references` |",
            "### 4.7 Section\n| x | y | `tests/api/no_such_file.rs::references` |",
            1,
        )
        .replacen(
            "### 2.4 Section\n| x | y | `tests/api/security_checklist.rs::references` |",
            "### 2.4 Section\n| x | y | trust me |",
            1,
        )
        .replacen("### 4.9 Section", "### 4.9.9 Section", 1);
    let found = problems(&broken, root);
    for expected in [
        "security_checklist.rs defines no fn no_such_test",
        "no file tests/api/no_such_file.rs",
        "section 4.3 names no test",
        "neither a test nor \"does not apply\": | x | y | trust me |",
        "section 4.9 is missing",
    ] {
        assert!(
            found.iter().any(|p| p.contains(expected)),
            "{expected:?} not in {found:#?}"
        );
    }
    assert_eq!(found.len(), 5, "{found:#?}");
}
