//! JSON output: one object, `{"version":1,"command","findings","changes","summary"}`.

use std::io::Write;

use serde_json::{Value, json};

use super::{PathStyle, Report, Severity};

/// The JSON value of a report (also used by the SARIF and GitHub renderers' tests).
pub(super) fn to_value(report: &Report, paths: &PathStyle<'_>) -> Value {
    let findings: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let mut o = json!({
                "code": f.code,
                "severity": f.severity.as_str(),
                "file": f.file.as_deref().map(|p| paths.show(p)),
                "line": f.line,
                "message": f.message,
            });
            if let (Some(fix), Some(map)) = (&f.fix, o.as_object_mut()) {
                map.insert("fix".into(), Value::String(fix.clone()));
            }
            o
        })
        .collect();
    let changes: Vec<Value> = report
        .changes
        .iter()
        .map(|c| json!({"file": paths.show(&c.file), "description": c.description}))
        .collect();
    let mut summary = serde_json::Map::new();
    summary.insert("errors".into(), json!(report.count(Severity::Error)));
    summary.insert("warnings".into(), json!(report.count(Severity::Warning)));
    summary.insert("notes".into(), json!(report.count(Severity::Note)));
    summary.insert("failed".into(), json!(report.failed()));
    summary.insert("messages".into(), json!(report.notes));
    if !report.diff.is_empty() {
        summary.insert("diff".into(), json!(report.diff));
    }
    if !report.suppressed.is_empty() {
        summary.insert(
            "suppressed".into(),
            json!(
                report
                    .suppressed
                    .iter()
                    .map(|s| json!({
                        "code": s.finding.code,
                        "file": s.finding.file.as_ref().map(|p| paths.show(p)),
                        "line": s.finding.line,
                        "message": s.finding.message,
                        "by": if s.reason.is_some() { "configuration" } else { "comment" },
                        "reason": s.reason,
                    }))
                    .collect::<Vec<_>>()
            ),
        );
    }
    for (k, v) in &report.summary {
        summary.insert(k.clone(), v.clone());
    }
    json!({
        "version": 1,
        "command": report.command,
        "findings": findings,
        "changes": changes,
        "summary": summary,
    })
}

pub(super) fn render(
    report: &Report,
    paths: &PathStyle<'_>,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &to_value(report, paths))?;
    writeln!(out)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn json_shape() {
        let cwd = Path::new("/w");
        let r = crate::report::tests::sample(cwd);
        insta::assert_json_snapshot!(to_value(&r, &PathStyle { cwd }));
    }
}
