//! `vendor --verify`: the tree against its manifest, its checksum files and Cargo.lock.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::Result;
use serde_json::json;

use crate::error::InputError;
use crate::report::{Finding, Report};
use crate::workspace::Lockfile;

use super::codes::VendorCode;
use super::extract::FileEntry;
use super::tree::{CHECKSUM, CrateRecord, MANIFEST, Manifest};
use super::{
    cargo_home, extract, sha256_file, source::cached_crates, source::read_checked, staging::MOVED,
    staging::sibling, staging::staging_siblings, stat::crate_entries, tree,
};

/// `vendor --verify`: the tree against its manifest, its checksum files and Cargo.lock.
pub(super) fn verify(dir: &Path, lock: &Lockfile) -> Result<Report> {
    let mut report = Report::new("vendor", VendorCode::rules());
    let manifest_path = dir.join(MANIFEST);
    if std::fs::symlink_metadata(dir).is_err()
        && std::fs::symlink_metadata(sibling(dir, "slsa-old")).is_ok()
    {
        report.findings.push(
            Finding::new(
                VendorCode::Stale.rule(),
                format!(
                    "{} is missing: a vendor run was interrupted during its swap",
                    dir.display()
                ),
            )
            .at(dir, None, None)
            .with_fix("run `cargo slsa vendor`, which restores or replaces it"),
        );
        return Ok(report);
    }
    // Crates an interrupted run moved into its staging tree are not in DIR until the next run
    // puts them back: say so, rather than only listing them as missing.
    for staging in staging_siblings(dir).unwrap_or_default() {
        if std::fs::symlink_metadata(staging.join(MOVED)).is_ok() {
            report.findings.push(
                Finding::new(
                    VendorCode::Stale.rule(),
                    format!(
                        "an interrupted vendor run left crates of {} in {}",
                        dir.display(),
                        staging.display()
                    ),
                )
                .at(dir, None, None)
                .with_fix("run `cargo slsa vendor`, which puts them back first"),
            );
        }
    }
    let manifest: Manifest = match std::fs::read_to_string(&manifest_path) {
        Ok(s) => serde_json::from_str(&s).map_err(|e| {
            InputError::at(
                &manifest_path,
                Some(e.line()),
                Some(e.column()),
                format!("not a vendor manifest: {e}"),
            )
        })?,
        Err(_) => {
            report.findings.push(
                Finding::new(
                    VendorCode::Stale.rule(),
                    format!(
                        "{} has no {MANIFEST}: it was not written by cargo slsa vendor",
                        dir.display()
                    ),
                )
                .at(dir, None, None)
                .with_fix("run `cargo slsa vendor` to vendor (and record) the locked crates"),
            );
            return Ok(report);
        }
    };
    // Lock vs manifest.
    let mut expected: BTreeSet<(String, String, String)> = BTreeSet::new();
    for p in lock.packages.iter().filter(|p| p.source.is_some()) {
        expected.insert((
            p.name.clone(),
            p.version.clone(),
            p.source.clone().unwrap_or_default(),
        ));
        let rec = manifest.crates.values().find(|r| {
            r.name == p.name && r.version == p.version && Some(&r.source) == p.source.as_ref()
        });
        match rec {
            None => report.findings.push(
                Finding::new(
                    VendorCode::Stale.rule(),
                    format!("{} {} is locked but not vendored", p.name, p.version),
                )
                .at(&lock.path, Some(p.line), None)
                .with_fix("run `cargo slsa vendor`"),
            ),
            Some(r) if !r.source.starts_with("git+") && r.package != p.checksum => {
                report.findings.push(
                    Finding::new(
                        VendorCode::Checksum.rule(),
                        format!(
                            "{} {}: the vendored package checksum differs from Cargo.lock's",
                            p.name, p.version
                        ),
                    )
                    .at(&lock.path, Some(p.line), None)
                    .with_fix("re-vendor from the locked crate: `cargo slsa vendor`"),
                )
            }
            Some(_) => {}
        }
    }
    for (d, r) in &manifest.crates {
        if !expected.contains(&(r.name.clone(), r.version.clone(), r.source.clone())) {
            report.findings.push(
                Finding::new(
                    VendorCode::Stale.rule(),
                    format!(
                        "{} {} is vendored (in {d}/) but no longer locked",
                        r.name, r.version
                    ),
                )
                .at(&dir.join(d), None, None)
                .with_fix("run `cargo slsa vendor` to drop it"),
            );
        }
    }
    // Crate directories the manifest does not know: cargo would load them too.
    if let Ok(entries) = std::fs::read_dir(dir) {
        let mut extra: Vec<PathBuf> = entries
            .flatten()
            .filter(|e| {
                let n = e.file_name();
                let n = n.to_string_lossy();
                !n.starts_with('.') && !manifest.crates.contains_key(n.as_ref())
            })
            .map(|e| e.path())
            .collect();
        extra.sort();
        for p in extra {
            report.findings.push(
                Finding::new(
                    VendorCode::Added.rule(),
                    format!(
                        "{} was not vendored (cargo would load any crate in it)",
                        p.display()
                    ),
                )
                .at(&p, None, None)
                .with_fix("remove it, or re-vendor"),
            );
        }
    }
    // Every crate's files against its checksum file, and the checksum file against the manifest.
    for (d, r) in &manifest.crates {
        let crate_dir = dir.join(d);
        // A crate directory swapped for a link (to an identical copy elsewhere, or into an
        // interrupted run's staging tree) is not the vendored tree, whatever it holds.
        if let Ok(m) = std::fs::symlink_metadata(&crate_dir)
            && m.file_type().is_symlink()
        {
            let to = std::fs::read_link(&crate_dir)
                .map(|t| t.display().to_string())
                .unwrap_or_default();
            report.findings.push(
                Finding::new(
                    VendorCode::Modified.rule(),
                    format!("{d}/ is a link to {to}, not the vendored directory"),
                )
                .at(&crate_dir, None, None)
                .with_fix("run `cargo slsa vendor` to restore the crate"),
            );
            continue;
        }
        if !crate_dir.is_dir() {
            report.findings.push(
                Finding::new(
                    VendorCode::Missing.rule(),
                    format!("{d}/ ({} {}) is missing", r.name, r.version),
                )
                .at(&crate_dir, None, None)
                .with_fix("run `cargo slsa vendor`"),
            );
            continue;
        }
        let sums_path = crate_dir.join(CHECKSUM);
        let sums: serde_json::Value = match std::fs::read_to_string(&sums_path)
            .ok()
            .and_then(|s| serde_json::from_str(&s).ok())
        {
            Some(v) => v,
            None => {
                report.findings.push(
                    Finding::new(
                        VendorCode::Missing.rule(),
                        format!("{d}/{CHECKSUM} is missing or unreadable"),
                    )
                    .at(&sums_path, None, None)
                    .with_fix("run `cargo slsa vendor`"),
                );
                continue;
            }
        };
        let mut listed: BTreeMap<String, String> = sums["files"]
            .as_object()
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        let recorded: BTreeMap<String, FileEntry> = listed
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    FileEntry {
                        link: r.links.get(k).cloned(),
                        ..FileEntry::plain(v.clone(), r.executables.contains(k))
                    },
                )
            })
            .collect();
        if tree::tree_digest(&recorded) != r.tree
            || sums["package"].as_str().map(str::to_string) != r.package
        {
            report.findings.push(
                Finding::new(
                    VendorCode::Modified.rule(),
                    format!("{d}/{CHECKSUM} was edited: it no longer matches {MANIFEST}"),
                )
                .at(&sums_path, None, None)
                .with_fix("run `cargo slsa vendor` to restore the crate"),
            );
            // The edited list cannot say which files were changed with it: the crate's archive
            // in cargo's cache (checked against the manifest's package checksum) can.
            match from_cache(r) {
                Some(files) => {
                    listed = files.into_iter().map(|(k, f)| (k, f.sha256)).collect();
                }
                None => report.notes.push(format!(
                    "{d}: {CHECKSUM} was edited and the crate's archive is not in cargo's cache, so the files changed with it cannot be named"
                )),
            }
        }
        let mut on_disk = BTreeSet::new();
        for (rel, p, meta) in crate_entries(&crate_dir)? {
            on_disk.insert(rel.clone());
            match listed.get(&rel) {
                None => report.findings.push(
                    Finding::new(
                        VendorCode::Added.rule(),
                        format!("{d}/{rel} was not vendored"),
                    )
                    .at(&p, None, None)
                    .with_fix("remove it, or re-vendor"),
                ),
                Some(want) => {
                    let intact = match r.links.get(&rel) {
                        // A link: the same target text (its file is checked on its own).
                        Some(text) => {
                            meta.file_type().is_symlink()
                                && std::fs::read_link(&p)
                                    .is_ok_and(|t| t.as_os_str() == text.as_str())
                        }
                        None => {
                            meta.is_file()
                                && &sha256_file(&p)? == want
                                && extract::has_vendored_mode(&meta, r.executables.contains(&rel))
                        }
                    };
                    if !intact {
                        report.findings.push(
                            Finding::new(
                                VendorCode::Modified.rule(),
                                format!("{d}/{rel} differs from what was vendored"),
                            )
                            .at(&p, None, None)
                            .with_fix("re-vendor (`cargo slsa vendor`) and review the difference"),
                        );
                    }
                }
            }
        }
        for rel in listed.keys().filter(|k| !on_disk.contains(*k)) {
            report.findings.push(
                Finding::new(VendorCode::Missing.rule(), format!("{d}/{rel} is missing"))
                    .at(&crate_dir.join(rel), None, None)
                    .with_fix("run `cargo slsa vendor`"),
            );
        }
    }
    report.sort();
    report
        .summary
        .insert("crates".into(), json!(manifest.crates.len()));
    report.summary.insert("directory".into(), json!(dir));
    Ok(report)
}

/// A registry crate's files as vendoring its archive from cargo's cache would write them, when
/// the archive is there and matches the recorded package checksum; `None` otherwise (git
/// crates, stubs, an empty cache).
pub(super) fn from_cache(r: &CrateRecord) -> Option<BTreeMap<String, FileEntry>> {
    let sum = r.package.as_deref()?;
    if r.stub {
        return None;
    }
    let home = cargo_home().ok()?;
    let from = cached_crates(&home, &r.name, &r.version).ok()?;
    let (path, bytes) = read_checked(&from, &r.name, &r.version, sum).ok()?;
    extract::extract_bytes(&bytes, &path, &format!("{}-{}", r.name, r.version), None).ok()
}
