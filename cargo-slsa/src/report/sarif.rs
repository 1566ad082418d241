//! SARIF 2.1.0 output: one run, one rule per finding code, one result per finding.
//!
//! Paths are relative to the working directory (GitHub code scanning resolves them against the
//! checkout); findings without a line carry the artifact location only, as SARIF allows.

use std::io::Write;

use serde_json::{Value, json};

use super::{PathStyle, Report, Severity};

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}

pub(super) fn to_value(report: &Report, paths: &PathStyle<'_>) -> Value {
    let rules: Vec<Value> = report
        .rules
        .iter()
        .map(|r| {
            json!({
                "id": r.code,
                "name": r.code,
                "shortDescription": {"text": r.description},
                "fullDescription": {"text": r.description},
                "defaultConfiguration": {"level": level(r.severity)},
                "properties": {"tags": ["supply-chain", report.command]},
            })
        })
        .collect();
    let suppressed = report.suppressed.iter().map(|s| (&s.finding, Some(s)));
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| (f, None))
        .chain(suppressed)
        .map(|(f, suppression)| {
            let mut text = f.message.clone();
            if let Some(fix) = &f.fix {
                text.push_str("\nFix: ");
                text.push_str(fix);
            }
            let mut result = json!({
                "ruleId": f.code,
                "level": level(f.severity),
                "message": {"text": text},
            });
            if let Some(map) = result.as_object_mut() {
                match suppression.map(|s| &s.reason) {
                    None => {}
                    Some(None) => {
                        map.insert(
                            "suppressions".into(),
                            json!([{"kind": "inSource", "justification": "ignore comment"}]),
                        );
                    }
                    Some(Some(reason)) => {
                        map.insert(
                            "suppressions".into(),
                            json!([{"kind": "external", "justification": reason}]),
                        );
                    }
                }
                if let Some(i) = report.rules.iter().position(|r| r.code == f.code) {
                    map.insert("ruleIndex".into(), json!(i));
                }
                if let Some(file) = &f.file {
                    let mut physical = json!({
                        "artifactLocation": {"uri": uri(&paths.show(file))},
                    });
                    if let (Some(line), Some(p)) = (f.line, physical.as_object_mut()) {
                        p.insert("region".into(), json!({"startLine": line}));
                    }
                    map.insert("locations".into(), json!([{"physicalLocation": physical}]));
                }
            }
            result
        })
        .collect();
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "cargo-slsa",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": env!("CARGO_PKG_REPOSITORY"),
                "rules": rules,
            }},
            "automationDetails": {"id": format!("cargo-slsa/{}/", report.command)},
            "results": results,
        }],
    })
}

/// A SARIF artifact URI: relative paths stay relative (percent-encoding what URIs cannot hold),
/// absolute ones become `file://` URIs.
fn uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    if path.starts_with('/') {
        format!("file://{out}")
    } else {
        out
    }
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
    fn sarif_shape() {
        let cwd = Path::new("/w");
        let r = crate::report::tests::sample(cwd);
        let v = to_value(&r, &PathStyle { cwd });
        // The version field is the crate's and changes with releases; the rest is snapshotted.
        insta::assert_json_snapshot!(v, {".runs[0].tool.driver.version" => "[version]"});
    }

    #[test]
    fn uris_are_encoded() {
        assert_eq!(uri("sub dir/Cargo.lock"), "sub%20dir/Cargo.lock");
        assert_eq!(uri("/abs/x"), "file:///abs/x");
    }
}
