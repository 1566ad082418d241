//! `cargo slsa sbom`: a CycloneDX 1.6/1.5 or SPDX 2.3 JSON SBOM of the workspace.
//!
//! Content comes from [`model`] (the resolved graph, filtered by platform and dependency kind,
//! with checksums from Cargo.lock); the two format modules only lay it out. Output is
//! deterministic: components and edges are sorted, keys are ordered, the serial number (and the
//! SPDX namespace) is derived from a hash of the content, and the timestamp is
//! `SOURCE_DATE_EPOCH` when set — so the same inputs give the same bytes and SBOMs can be
//! reproduced and diffed.

pub mod cyclonedx;
pub mod model;
pub mod spdx;

use std::path::PathBuf;

use anyhow::{Result, anyhow};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::Ctx;
use crate::cli::{SbomArgs, SbomFormat};
use crate::fsx;
use crate::report::{Change, Report};
use crate::workspace::{Cargo, Workspace, graph};

/// The SBOM bytes and, when written to a file, the report saying so.
pub enum Output {
    /// `--output` not given: print the document itself.
    Document(Vec<u8>),
    /// Written to a file.
    Written(Report),
}

/// Run `cargo slsa sbom`.
pub fn run(ctx: &Ctx, args: &SbomArgs) -> Result<Output> {
    let cx_version = match (args.sbom_format, args.spec_version.as_deref()) {
        (SbomFormat::CyclonedxJson, None | Some("1.6")) => Some(cyclonedx::Version::V1_6),
        (SbomFormat::CyclonedxJson, Some("1.5")) => Some(cyclonedx::Version::V1_5),
        (SbomFormat::SpdxJson, None | Some("2.3")) => None,
        (f, Some(v)) => {
            let supported = match f {
                SbomFormat::CyclonedxJson => "1.6 or 1.5",
                SbomFormat::SpdxJson => "2.3",
            };
            return Err(anyhow!(
                "--spec-version {v} is not supported for this format (use {supported})"
            ));
        }
    };
    let platform = args.target.as_deref().map(graph::platform).transpose()?;
    let epoch = crate::timefmt::source_date_epoch_or_now()?;

    let cargo = Cargo::new(ctx.offline, ctx.progress());
    let ws = Workspace::load(ctx, &cargo)?;
    let lock = ws.fresh_lock("the SBOM would not describe a locked build")?;
    let graph = ws
        .graph()?
        .ok_or_else(|| anyhow!("cargo metadata gave no dependency graph"))?;
    let workspace_name = ws
        .root
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("workspace")
        .to_string();
    let sbom = model::build(
        graph,
        lock,
        &model::Selection {
            package: args.package.as_deref(),
            platform,
            include_dev: args.include_dev,
            workspace_name,
        },
    )?;

    let mut doc = match cx_version {
        Some(v) => cyclonedx::document(&sbom, v),
        None => spdx::document(&sbom),
    };
    let uuid = content_uuid(&doc)?;
    let timestamp = crate::timefmt::rfc3339(epoch);
    match cx_version {
        Some(_) => {
            insert(
                &mut doc,
                &["serialNumber"],
                json!(format!("urn:uuid:{uuid}")),
            );
            insert(&mut doc, &["metadata", "timestamp"], json!(timestamp));
        }
        None => {
            // The name goes into a URI: keep it to unreserved characters.
            let name: String = doc["name"]
                .as_str()
                .unwrap_or("sbom")
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || "-._~".contains(c) {
                        c
                    } else {
                        '-'
                    }
                })
                .collect();
            insert(
                &mut doc,
                &["documentNamespace"],
                json!(format!("https://spdx.org/spdxdocs/{name}-{uuid}")),
            );
            insert(&mut doc, &["creationInfo", "created"], json!(timestamp));
        }
    }
    let mut bytes = serde_json::to_vec_pretty(&doc)?;
    bytes.push(b'\n');

    let Some(path) = &args.output else {
        return Ok(Output::Document(bytes));
    };
    let path: PathBuf = if path.is_absolute() {
        path.clone()
    } else {
        ctx.cwd.join(path)
    };
    // A device or pipe (`-o /dev/stdout`, a FIFO) is written to directly: renaming a temporary
    // file over it would replace the device node instead of writing through it.
    let special = std::fs::metadata(&path).is_ok_and(|m| !m.is_file() && !m.is_dir());
    let changed = if special {
        std::fs::write(&path, &bytes).map_err(|e| anyhow!("writing {}: {e}", path.display()))?;
        true
    } else {
        fsx::write_if_changed(&path, &bytes)?
    };
    let mut report = Report::new("sbom", Vec::new());
    let format = match cx_version {
        Some(v) => format!("CycloneDX {} JSON", v.as_str()),
        None => "SPDX 2.3 JSON".to_string(),
    };
    let description = format!(
        "{format}: {} components, {} dependency edges",
        sbom.components.len(),
        sbom.dependencies.values().map(|d| d.len()).sum::<usize>()
    );
    if changed {
        report.changes.push(Change {
            file: path.clone(),
            description: description.clone(),
        });
    } else {
        report.notes.push(format!(
            "{} is already up to date ({description})",
            path.display()
        ));
    }
    report.summary.insert("format".into(), json!(format));
    report.summary.insert("output".into(), json!(path));
    report
        .summary
        .insert("components".into(), json!(sbom.components.len()));
    report.summary.insert("serial".into(), json!(uuid));
    Ok(Output::Written(report))
}

/// A UUID (version 5 layout, SHA-256 based) from the canonical bytes of the document.
fn content_uuid(doc: &Value) -> Result<String> {
    let digest = Sha256::digest(serde_json::to_vec(doc)?);
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}

fn insert(doc: &mut Value, path: &[&str], value: Value) {
    let mut cur = doc;
    for (i, key) in path.iter().enumerate() {
        let Some(obj) = cur.as_object_mut() else {
            return;
        };
        if i + 1 == path.len() {
            obj.insert((*key).to_string(), value);
            return;
        }
        cur = obj.entry((*key).to_string()).or_insert_with(|| json!({}));
    }
}

/// The in-toto Statement v1 carrying a CycloneDX SBOM as its predicate, over `subjects`
/// (`(name, sha256 hex)`): what `attest --sbom` signs next to the provenance, so the SBOM is
/// bound to the same artifacts.
pub fn in_toto_statement(subjects: &[(String, String)], cyclonedx: &Value) -> Value {
    let subject: Vec<Value> = subjects
        .iter()
        .map(|(name, sha256)| json!({"name": name, "digest": {"sha256": sha256}}))
        .collect();
    json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": subject,
        "predicateType": "https://cyclonedx.org/bom",
        "predicate": cyclonedx,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_uuids_are_version_5_layout_and_stable() -> Result<()> {
        let a = content_uuid(&json!({"a": 1}))?;
        assert_eq!(a, content_uuid(&json!({"a": 1}))?);
        assert_ne!(a, content_uuid(&json!({"a": 2}))?);
        let parts: Vec<&str> = a.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('5'));
        assert!(parts[3].starts_with(['8', '9', 'a', 'b']));
        Ok(())
    }

    #[test]
    fn sbom_statements_bind_the_bom_to_the_subjects() {
        let bom = json!({"bomFormat": "CycloneDX", "specVersion": "1.6"});
        let st = in_toto_statement(&[("app".into(), "ab".repeat(32))], &bom);
        assert_eq!(st["_type"], "https://in-toto.io/Statement/v1");
        assert_eq!(st["predicateType"], "https://cyclonedx.org/bom");
        assert_eq!(st["subject"][0]["digest"]["sha256"], "ab".repeat(32));
        assert_eq!(st["predicate"], bom);
    }
}
