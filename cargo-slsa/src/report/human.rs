//! Human output: rustc-style findings with `file:line`, the offending line, and the fix.

use std::io::Write;

use anstyle::{AnsiColor, Effects, Style};

use super::{PathStyle, Report, Severity};

struct Paint {
    enabled: bool,
}

impl Paint {
    fn paint(&self, style: Style, text: &str) -> String {
        if self.enabled {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_string()
        }
    }
}

fn severity_style(s: Severity) -> Style {
    let color = match s {
        Severity::Error => AnsiColor::Red,
        Severity::Warning => AnsiColor::Yellow,
        Severity::Note => AnsiColor::Cyan,
    };
    Style::new()
        .fg_color(Some(color.into()))
        .effects(Effects::BOLD)
}

pub(super) fn render(
    report: &Report,
    paths: &PathStyle<'_>,
    color: bool,
    quiet: bool,
    verbose: bool,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let p = Paint { enabled: color };
    let bold = Style::new().effects(Effects::BOLD);
    let blue = Style::new()
        .fg_color(Some(AnsiColor::Blue.into()))
        .effects(Effects::BOLD);

    if !report.diff.is_empty() {
        let red = Style::new().fg_color(Some(AnsiColor::Red.into()));
        let green = Style::new().fg_color(Some(AnsiColor::Green.into()));
        for line in report.diff.lines() {
            let styled = if line.starts_with("+++") || line.starts_with("---") {
                p.paint(bold, line)
            } else if line.starts_with('+') {
                p.paint(green, line)
            } else if line.starts_with('-') {
                p.paint(red, line)
            } else if line.starts_with("@@") {
                p.paint(blue, line)
            } else {
                line.to_string()
            };
            writeln!(out, "{styled}")?;
        }
        writeln!(out)?;
    }
    for f in &report.findings {
        let head = format!("{}[{}]", f.severity.as_str(), f.code);
        writeln!(
            out,
            "{}{} {}",
            p.paint(severity_style(f.severity), &head),
            p.paint(bold, ":"),
            p.paint(bold, &f.message)
        )?;
        let gutter_width = f.line.map(|l| l.to_string().len()).unwrap_or(1);
        let pad = " ".repeat(gutter_width);
        if let Some(file) = &f.file {
            let loc = match f.line {
                Some(line) => format!("{}:{line}", paths.show(file)),
                None => paths.show(file),
            };
            writeln!(out, "{pad}{} {loc}", p.paint(blue, "-->"))?;
        }
        if let (Some(line), Some(snippet)) = (f.line, &f.snippet) {
            writeln!(out, "{pad} {}", p.paint(blue, "|"))?;
            writeln!(out, "{} {snippet}", p.paint(blue, &format!("{line} |")))?;
            writeln!(out, "{pad} {}", p.paint(blue, "|"))?;
        }
        if let Some(fix) = &f.fix {
            let mut lines = fix.lines();
            let first = lines.next().unwrap_or_default();
            writeln!(
                out,
                "{pad} {} {} {first}",
                p.paint(blue, "="),
                p.paint(bold, "fix:")
            )?;
            for l in lines {
                writeln!(out, "{pad}        {l}")?;
            }
        }
        writeln!(out)?;
    }

    let green = Style::new()
        .fg_color(Some(AnsiColor::Green.into()))
        .effects(Effects::BOLD);
    if !quiet {
        for c in &report.changes {
            writeln!(
                out,
                "{} {}: {}",
                p.paint(
                    green,
                    if report.diff.is_empty() {
                        "changed"
                    } else {
                        "would change"
                    }
                ),
                paths.show(&c.file),
                c.description
            )?;
        }
        if verbose {
            for s in &report.suppressed {
                let f = &s.finding;
                let at = match (&f.file, f.line) {
                    (Some(file), Some(line)) => format!("{}:{line}", paths.show(file)),
                    _ => String::new(),
                };
                let by = match &s.reason {
                    None => "accepted by an ignore comment".to_string(),
                    Some(r) => format!("accepted by the configuration: {r}"),
                };
                writeln!(
                    out,
                    "{} [{}] {at}: {} ({by})",
                    p.paint(severity_style(Severity::Note), "suppressed:"),
                    f.code,
                    f.message
                )?;
            }
        }
        for n in &report.notes {
            writeln!(
                out,
                "{} {n}",
                p.paint(severity_style(Severity::Note), "note:")
            )?;
        }
    }

    let errors = report.count(Severity::Error);
    let warnings = report.count(Severity::Warning);
    // The `note:` lines printed above count as notes too.
    let notes = report.count(Severity::Note) + if quiet { 0 } else { report.notes.len() };
    let verdict = if report.failed() {
        p.paint(severity_style(Severity::Error), "failed")
    } else {
        p.paint(green, "ok")
    };
    if !quiet || report.failed() {
        writeln!(
            out,
            "{}: {verdict}: {} error{}, {} warning{}, {} note{}; {} change{}{}",
            report.command,
            errors,
            plural(errors),
            warnings,
            plural(warnings),
            notes,
            plural(notes),
            report.changes.len(),
            plural(report.changes.len()),
            match report.suppressed.len() {
                0 => String::new(),
                n => format!("; {n} suppressed"),
            },
        )?;
    }
    Ok(())
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn human_output() -> std::io::Result<()> {
        let cwd = Path::new("/w");
        let r = crate::report::tests::sample(cwd);
        let mut out = Vec::new();
        render(&r, &PathStyle { cwd }, false, false, false, &mut out)?;
        insta::assert_snapshot!(String::from_utf8_lossy(&out));
        Ok(())
    }

    #[test]
    fn colour_only_when_enabled() -> std::io::Result<()> {
        let cwd = Path::new("/w");
        let r = crate::report::tests::sample(cwd);
        let mut plain = Vec::new();
        render(&r, &PathStyle { cwd }, false, false, false, &mut plain)?;
        let mut coloured = Vec::new();
        render(&r, &PathStyle { cwd }, true, false, false, &mut coloured)?;
        assert!(!plain.contains(&0x1b));
        assert!(coloured.contains(&0x1b));
        Ok(())
    }
}
