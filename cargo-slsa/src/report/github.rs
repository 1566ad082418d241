//! GitHub Actions output: `::error file=…,line=…,title=…::message` workflow commands on stdout,
//! and a markdown table appended to `$GITHUB_STEP_SUMMARY` when the variable is set.

use std::io::Write;

use super::{PathStyle, Report, Severity};

fn command(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "notice",
    }
}

/// Escape a workflow-command message (the runner's `escapeData`).
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escape a workflow-command property value (the runner's `escapeProperty`).
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// Escape text for a markdown table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', "<br>")
}

pub(super) fn annotations(report: &Report, paths: &PathStyle<'_>) -> String {
    let mut out = String::new();
    for f in &report.findings {
        let mut props = Vec::new();
        if let Some(file) = &f.file {
            props.push(format!("file={}", escape_property(&paths.show(file))));
        }
        if let Some(line) = f.line {
            props.push(format!("line={line}"));
        }
        props.push(format!(
            "title={}",
            escape_property(&format!("cargo slsa {}: {}", report.command, f.code))
        ));
        let mut msg = f.message.clone();
        if let Some(fix) = &f.fix {
            msg.push_str("\nFix: ");
            msg.push_str(fix);
        }
        out.push_str(&format!(
            "::{} {}::{}\n",
            command(f.severity),
            props.join(","),
            escape_data(&msg)
        ));
    }
    for n in &report.notes {
        out.push_str(&format!("::notice::{}\n", escape_data(n)));
    }
    out
}

pub(super) fn summary_markdown(report: &Report, paths: &PathStyle<'_>) -> String {
    let mut md = format!("## cargo slsa {}\n\n", report.command);
    let verdict = if report.failed() {
        "❌ failed"
    } else {
        "✅ passed"
    };
    md.push_str(&format!(
        "{verdict}: {} errors, {} warnings, {} notes, {} changes\n\n",
        report.count(Severity::Error),
        report.count(Severity::Warning),
        report.count(Severity::Note),
        report.changes.len()
    ));
    if !report.findings.is_empty() {
        md.push_str("| Severity | Code | Location | Message |\n|---|---|---|---|\n");
        for f in &report.findings {
            let loc = match (&f.file, f.line) {
                (Some(file), Some(line)) => format!("`{}:{line}`", paths.show(file)),
                (Some(file), None) => format!("`{}`", paths.show(file)),
                _ => String::new(),
            };
            md.push_str(&format!(
                "| {} | `{}` | {} | {} |\n",
                f.severity.as_str(),
                f.code,
                loc,
                cell(&f.message)
            ));
        }
        md.push('\n');
    }
    if !report.changes.is_empty() {
        md.push_str("Changes:\n\n");
        for c in &report.changes {
            md.push_str(&format!(
                "- `{}`: {}\n",
                paths.show(&c.file),
                cell(&c.description)
            ));
        }
        md.push('\n');
    }
    md
}

pub(super) fn render(
    report: &Report,
    paths: &PathStyle<'_>,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    out.write_all(annotations(report, paths).as_bytes())?;
    if let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) {
        // The runner collects this file after the step; appending is its protocol.
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| {
                anyhow::anyhow!(
                    "cannot append to GITHUB_STEP_SUMMARY ({}): {e}",
                    std::path::Path::new(&path).display()
                )
            })?;
        f.write_all(summary_markdown(report, paths).as_bytes())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn annotations_escape_and_locate() {
        let cwd = Path::new("/w");
        let r = crate::report::tests::sample(cwd);
        insta::assert_snapshot!(annotations(&r, &PathStyle { cwd }));
    }

    #[test]
    fn summary_table() {
        let cwd = Path::new("/w");
        let r = crate::report::tests::sample(cwd);
        insta::assert_snapshot!(summary_markdown(&r, &PathStyle { cwd }));
    }
}
