//! `attest --reproducible`: the same build again from the commit's own tree at another path
//! and target dir, and the comparison of every subject's sha256.

use std::path::Path;

use anyhow::{Result, anyhow};
use serde_json::{Value, json};

use super::{AttestCode, Subject};
use crate::Ctx;
use crate::build::{self, BuildSpec, Source, Toolchain};
use crate::report::{Finding, Report};

/// Compare the rebuild with the subjects; `(all matched, one row per subject)`, a finding per
/// mismatch.
pub(super) fn compare(
    subjects: &[Subject],
    rebuilt: &[(String, String)],
    report: &mut Report,
) -> (bool, Vec<Value>) {
    let mut all_match = true;
    let mut compared = Vec::new();
    for s in subjects {
        let other = rebuilt.iter().find(|(n, _)| n == &s.name).map(|(_, d)| d);
        let same = other == Some(&s.sha256);
        all_match &= same;
        compared.push(json!({"name": s.name, "sha256": s.sha256, "rebuilt": other}));
        if !same {
            report.findings.push(
                Finding::new(
                    AttestCode::NotReproducible.rule(),
                    format!(
                        "`{}` is not reproducible: sha256 {} here, {} from the commit at another \
                         path",
                        s.name,
                        s.sha256,
                        other.map(String::as_str).unwrap_or("(not built)")
                    ),
                )
                .at(&s.path, None, None)
                .with_fix(
                    "look for absolute paths (env!(\"CARGO_MANIFEST_DIR\"), build scripts \
                     embedding OUT_DIR), timestamps or randomness in the build",
                ),
            );
        }
    }
    (all_match, compared)
}

/// Rebuild at another path; `(artifact file name, sha256)` of what it built. A clean source is
/// rebuilt from the commit's own tree (so a file edited behind git's back cannot slip into both
/// builds); a dirty one (`--allow-dirty`) from a copy of the work tree.
#[allow(clippy::too_many_arguments)]
pub(super) fn rebuild(
    ctx: &Ctx,
    source: &Source,
    workspace_in_repo: &str,
    root: &Path,
    toolchain: &Toolchain,
    spec: &BuildSpec,
    epoch: Option<i64>,
    base_rustflags: &[String],
) -> Result<Vec<(String, String)>> {
    let tmp = tempfile::Builder::new()
        .prefix("cargo-slsa-rebuild-")
        .tempdir()
        .map_err(|e| anyhow!("creating a directory for the clean rebuild: {e}"))?;
    let copy_top = tmp.path().join("src");
    match (&source.toplevel, &source.commit) {
        (Some(top), Some(commit)) if !source.dirty => {
            std::fs::create_dir_all(&copy_top)?;
            build::export_commit(top, commit, &copy_top)?;
        }
        (Some(top), _) => build::copy_clean_tree(top, &copy_top, true)?,
        (None, _) => build::copy_clean_tree(root, &copy_top, false)?,
    }
    let copy_root = copy_top.join(workspace_in_repo);
    let copy_target = tmp.path().join("other-target");
    let env = build::repro_env(&copy_root, &copy_target, toolchain, epoch, base_rustflags);
    let built = build::build(
        &copy_root.join("Cargo.toml"),
        &copy_target,
        spec,
        &env,
        ctx.offline,
        ctx.quiet,
    )?;
    built
        .into_iter()
        .map(|b| Ok((b.name, build::sha256_file(&b.path)?)))
        .collect()
}
