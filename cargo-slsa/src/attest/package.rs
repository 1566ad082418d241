//! `attest --lambda`: each binary packaged as its function's deterministic `bootstrap.zip`
//! ([`crate::lambda::package`]), and the units (one attestation per function) with the zip's
//! subject beside the binary's. Nothing is written here: the zips go out with the
//! attestations, all at once.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use serde_json::{Value, json};

use super::Subject;
use super::output::{self, OutFile, Unit};
use crate::build;
use crate::lambda::{self, Arch};

/// What packaging made.
pub(super) struct Packages {
    /// One unit per function: the binary and its zip.
    pub units: Vec<Unit>,
    /// The zips, to write with the attestations.
    pub zips: Vec<OutFile>,
    /// `externalParameters.lambda`.
    pub record: Value,
    /// One summary row per function (`function`, `zip`, `sha256`, `codeSha256`, …).
    pub rows: Vec<Value>,
}

/// Package every binary in `subjects` for `arch` (built for `target`), entries dated `epoch`,
/// zips under `tdir/lambda/`.
pub(super) fn package(
    subjects: &[Subject],
    includes: &[PathBuf],
    arch: Arch,
    target: Option<&str>,
    epoch: Option<i64>,
    tdir: &Path,
    root: &Path,
) -> Result<Packages> {
    let mut units = Vec::new();
    let mut zips = Vec::new();
    let mut rows = Vec::new();
    let mut include_record = Vec::new();
    for s in subjects {
        let entries = lambda::package::entries(&s.path, includes)?;
        if include_record.is_empty() {
            for e in entries.iter().skip(1) {
                include_record.push(json!({
                    "name": e.name,
                    "mode": format!("{:o}", e.mode),
                    "sha256": build::sha256_file(&e.source)?,
                }));
            }
        }
        let bytes = lambda::package::write_zip(&entries, epoch)?;
        let sha = hex::encode(aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA256,
            &bytes,
        ));
        let bin = output::function_name(&s.path).unwrap_or_else(|| s.name.clone());
        output::check_name(&bin)?;
        let zip_path = lambda::zip_path(tdir, &bin);
        let zip_name = zip_path
            .strip_prefix(root)
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .unwrap_or_else(|_| format!("target/lambda/{bin}/bootstrap.zip"));
        let code = lambda::code_sha256(&sha).unwrap_or_default();
        rows.push(json!({
            "function": bin,
            "zip": zip_path,
            "sha256": sha,
            "codeSha256": code,
            "architecture": arch.aws_name(),
        }));
        zips.push((
            zip_path.clone(),
            bytes,
            format!(
                "Lambda package of {bin} ({}; CodeSha256 {code})",
                arch.aws_name()
            ),
        ));
        units.push(Unit {
            name: bin,
            subjects: vec![
                s.clone(),
                Subject {
                    name: zip_name,
                    path: zip_path,
                    sha256: sha,
                },
            ],
        });
    }
    // Two binaries for one function would replace each other's zip and attestation.
    let mut seen = std::collections::BTreeSet::new();
    for u in &units {
        if !seen.insert(u.name.as_str()) {
            bail!(
                "two binaries would both be the Lambda function `{}` (one zip, one \
                 attestation): attest them in separate runs or rename one",
                u.name
            );
        }
    }
    Ok(Packages {
        units,
        zips,
        record: json!({
            "architecture": arch.aws_name(),
            "target": target,
            "include": include_record,
            "zip": {"entryTime": "SOURCE_DATE_EPOCH", "deflateLevel": lambda::package::DEFLATE_LEVEL},
        }),
        rows,
    })
}
