//! Tidy checks run as tests: every Rust file says what it owns, no `todo!` is left, no product
//! source file is over 650 lines, no two top-level modules import each other (around any loop),
//! the README lists every subcommand `--help` lists, docs/ documents every finding code,
//! relative links in the README and docs/ resolve, and finding codes are unique.

use std::path::{Path, PathBuf};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("crate sits in the repository")
        .to_path_buf()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let name = e.file_name();
        if name == "target" || name == ".git" {
            continue;
        }
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn no_product_source_file_is_over_650_lines() {
    let mut files = Vec::new();
    for dir in ["cargo-slsa/src", "action/src"] {
        rust_files(&repo_root().join(dir), &mut files);
    }
    assert!(files.len() > 10, "found only {files:?}");
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let n = std::fs::read_to_string(f).ok()?.lines().count();
            (n > 650).then(|| format!("{} ({n} lines)", f.display()))
        })
        .collect();
    assert!(
        long.is_empty(),
        "split these by concern (one concern a file, at most 650 lines): {long:?}"
    );
}

#[test]
fn every_rust_file_has_a_module_doc_and_no_todo() {
    let mut files = Vec::new();
    for dir in ["cargo-slsa", "tests", "xtask", "action"] {
        rust_files(&repo_root().join(dir), &mut files);
    }
    assert!(files.len() > 10, "found only {files:?}");
    let todo = ["todo", "!("].concat();
    let unimplemented = ["unimplemented", "!("].concat();
    for f in files {
        let src = std::fs::read_to_string(&f).expect("read source");
        assert!(
            src.trim_start().starts_with("//!"),
            "{} lacks a `//!` module doc",
            f.display()
        );
        assert!(
            !src.contains(&todo) && !src.contains(&unimplemented),
            "{} has a todo/unimplemented",
            f.display()
        );
    }
}

#[test]
fn readme_documents_every_subcommand_and_the_test_command() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("README.md");
    let help = slsa_tests::run({
        let mut c = std::process::Command::new(crate::bin());
        c.arg("--help");
        c
    })
    .assert_success();
    let commands: Vec<&str> = help
        .stdout
        .split("Commands:")
        .nth(1)
        .expect("help lists commands")
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .take_while(|w| !w.ends_with(':'))
        .filter(|w| *w != "help")
        .collect();
    assert!(!commands.is_empty());
    for c in commands {
        assert!(
            readme.contains(&format!("cargo slsa {c}")),
            "README.md does not document `cargo slsa {c}`"
        );
    }
    assert!(
        readme.contains("cargo xtask ci"),
        "README.md must give the test command"
    );
    let ci = std::fs::read_to_string(repo_root().join(".ci/run")).expect(".ci/run");
    assert!(
        ci.contains("cargo xtask ci"),
        ".ci/run must run the README's test command"
    );
}

#[test]
fn finding_codes_are_unique_kebab_case_and_described() {
    // Documented in the manual: every page of docs/ read as one.
    let mut readme = String::new();
    for e in std::fs::read_dir(repo_root().join("docs"))
        .expect("docs/")
        .flatten()
    {
        if e.path().extension().is_some_and(|x| x == "md") {
            readme.push_str(&std::fs::read_to_string(e.path()).expect("read a page"));
        }
    }
    let rules = [
        cargo_slsa::pin::codes::PinCode::rules(),
        cargo_slsa::audit::codes::AuditCode::rules(),
        cargo_slsa::harden::codes::HardenCode::rules(),
        cargo_slsa::vendor::codes::VendorCode::rules(),
        cargo_slsa::attest::AttestCode::rules(),
        cargo_slsa::verify::VerifyCode::rules(),
        cargo_slsa::update::UpdateCode::rules(),
        cargo_slsa::review::codes::ReviewCode::rules(),
        vec![
            cargo_slsa::report::INPUT_ERROR,
            cargo_slsa::report::config_ignore::IGNORE_EXPIRED,
            cargo_slsa::report::config_ignore::IGNORE_UNUSED,
        ],
    ]
    .concat();
    let mut seen = std::collections::BTreeSet::new();
    for r in rules {
        assert!(seen.insert(r.code), "duplicate code {}", r.code);
        assert!(
            readme.contains(&format!("`{}`", r.code)),
            "docs/ does not document the finding code `{}`",
            r.code
        );
        assert!(
            r.code.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
            "{} is not kebab-case",
            r.code
        );
        assert!(
            r.description.ends_with('.'),
            "{}: describe it in a sentence",
            r.code
        );
    }
}

#[test]
fn relative_links_in_the_readme_and_the_manual_resolve() {
    let root = repo_root();
    let mut pages = vec![root.join("README.md"), root.join("CONTRIBUTING.md")];
    let mut stack = vec![root.join("docs")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("docs/").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "md") {
                pages.push(p);
            }
        }
    }
    let mut broken = Vec::new();
    for page in &pages {
        let text = std::fs::read_to_string(page).expect("read a page");
        for (i, _) in text.match_indices("](") {
            let rest = &text[i + 2..];
            let Some(end) = rest.find(')') else { continue };
            let target = rest[..end].split('#').next().unwrap_or_default();
            if target.is_empty()
                || target.contains("://")
                || target.starts_with("mailto:")
                || target.contains(char::is_whitespace)
            {
                continue;
            }
            let dir = page.parent().expect("a page has a directory");
            if !dir.join(target).exists() {
                broken.push(format!("{}: {target}", page.display()));
            }
        }
    }
    assert!(broken.is_empty(), "broken links: {broken:#?}");
}

/// docs/cli.md: every command and flag as `--help` gives them, generated from the clap
/// definitions by clap-markdown. Out of date → this fails; `cargo xtask docs` (this test with
/// `SLSA_UPDATE_DOCS=1`) writes it.
#[test]
fn the_cli_reference_is_generated_from_the_clap_definitions() {
    let options = clap_markdown::MarkdownOptions::new()
        .title("Command-line reference".to_string())
        .show_footer(false)
        .show_table_of_contents(false);
    let generated = format!(
        "<!-- Generated from the clap definitions by `cargo xtask docs`; do not edit. -->\n\n{}",
        clap_markdown::help_markdown_custom::<cargo_slsa::cli::Cli>(&options)
    );
    let path = repo_root().join("docs/cli.md");
    if std::env::var_os("SLSA_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &generated).expect("write docs/cli.md");
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        current == generated,
        "docs/cli.md is out of date with the command-line definitions: run `cargo xtask docs`"
    );
}

/// The codes in a page's code tables (those whose header starts `| code |`).
fn table_codes(page: &str) -> std::collections::BTreeSet<String> {
    let text = std::fs::read_to_string(repo_root().join("docs").join(page)).expect("a page");
    let mut out = std::collections::BTreeSet::new();
    let mut in_table = false;
    for line in text.lines() {
        if line.starts_with("| code |") {
            in_table = true;
            continue;
        }
        if !line.starts_with('|') {
            in_table = false;
            continue;
        }
        if in_table
            && let Some(code) = line
                .strip_prefix("| `")
                .and_then(|r| r.split_once('`'))
                .map(|(c, _)| c.to_string())
        {
            out.insert(code);
        }
    }
    out
}

#[test]
fn each_commands_page_lists_exactly_its_finding_codes() {
    let codes = |rules: Vec<cargo_slsa::report::Rule>| -> std::collections::BTreeSet<String> {
        rules.iter().map(|r| r.code.to_string()).collect()
    };
    let pages = [
        ("pin.md", codes(cargo_slsa::pin::codes::PinCode::rules())),
        // (audit's own advisory ignores expire with the shared code.)
        (
            "audit.md",
            codes(
                [
                    cargo_slsa::audit::codes::AuditCode::rules(),
                    vec![cargo_slsa::report::config_ignore::IGNORE_EXPIRED],
                ]
                .concat(),
            ),
        ),
        (
            "harden.md",
            codes(cargo_slsa::harden::codes::HardenCode::rules()),
        ),
        (
            "vendor.md",
            codes(cargo_slsa::vendor::codes::VendorCode::rules()),
        ),
        (
            "attest.md",
            codes(
                [
                    cargo_slsa::attest::AttestCode::rules(),
                    cargo_slsa::verify::VerifyCode::rules(),
                ]
                .concat(),
            ),
        ),
        ("update.md", codes(cargo_slsa::update::UpdateCode::rules())),
        (
            "review.md",
            codes(cargo_slsa::review::codes::ReviewCode::rules()),
        ),
        (
            "output.md",
            codes(vec![
                cargo_slsa::report::config_ignore::IGNORE_EXPIRED,
                cargo_slsa::report::config_ignore::IGNORE_UNUSED,
            ]),
        ),
    ];
    for (page, expected) in pages {
        let documented = table_codes(page);
        let missing: Vec<_> = expected.difference(&documented).collect();
        let unknown: Vec<_> = documented.difference(&expected).collect();
        assert!(
            missing.is_empty() && unknown.is_empty(),
            "docs/{page}: codes the command reports but the page does not list: {missing:?}; \
             codes the page lists that the command does not report: {unknown:?}"
        );
    }
}

/// The top-level modules of cargo-slsa/src each use (`crate::<module>`, outside comments and
/// tests), to check that no two of them depend on each other, directly or around a loop.
#[test]
fn no_import_cycles_between_top_level_modules() {
    use std::collections::{BTreeMap, BTreeSet};
    let src = repo_root().join("cargo-slsa/src");
    let mut modules = BTreeSet::new();
    for e in std::fs::read_dir(&src).expect("src").flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(m) = name.strip_suffix(".rs") {
            if m != "lib" && m != "main" {
                modules.insert(m.to_string());
            }
        } else if e.path().is_dir() {
            modules.insert(name);
        }
    }
    let mut uses: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for m in &modules {
        let mut files = Vec::new();
        let dir = src.join(m);
        if dir.is_dir() {
            rust_files(&dir, &mut files);
        } else {
            files.push(src.join(format!("{m}.rs")));
        }
        for f in files {
            if f.file_name().is_some_and(|n| n == "tests.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&f).expect("read source");
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
                for (i, _) in line.match_indices("crate::") {
                    let rest = &line[i + "crate::".len()..];
                    let used: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                        .collect();
                    if used != *m && modules.contains(&used) {
                        uses.entry(m.clone()).or_default().insert(used);
                    }
                }
            }
        }
    }
    // A module that reaches itself through the others is in a cycle.
    for m in &modules {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<Vec<String>> = vec![vec![m.clone()]];
        while let Some(path) = stack.pop() {
            let last = path.last().expect("a path").clone();
            for next in uses.get(&last).into_iter().flatten() {
                assert!(next != m, "import cycle: {} -> {m}", path.join(" -> "));
                if seen.insert(next.clone()) {
                    let mut p = path.clone();
                    p.push(next.clone());
                    stack.push(p);
                }
            }
        }
    }
}
