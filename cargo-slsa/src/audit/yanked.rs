//! Yanked versions: asked of each package's registry index over the sparse protocol.
//!
//! tame-index (the crate cargo-audit and cargo-deny use for this) speaks the sparse protocol and
//! resolves crates.io's source replacement from cargo's own configuration, so a mirror or a
//! private replacement is asked instead of crates.io. Requests run concurrently on a small tokio
//! runtime, each bounded by a timeout. Cargo's index cache is neither read nor written: the
//! answer is the registry's current one, and no cargo lock is taken.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::Result;
use tame_index::external::tokio;
use tame_index::index::{AsyncRemoteSparseIndex, FileLock, SparseIndex};
use tame_index::{IndexLocation, IndexUrl};

use crate::workspace::lock::{CRATES_IO_REGISTRY, CRATES_IO_SPARSE};
use crate::workspace::{LockPackage, SourceKind};

use crate::registry::TIMEOUT;

/// What the registries said.
#[derive(Debug, Default)]
pub struct Outcome {
    /// `(name, version)` of locked packages that are yanked.
    pub yanked: BTreeSet<(String, String)>,
    /// Packages asked about.
    pub checked: usize,
    /// Why some packages could not be checked (one line per cause).
    pub problems: Vec<String>,
}

/// Ask the index of every registry package in `packages` whether its locked version is yanked.
/// `root` is where cargo's configuration (source replacement) is looked up from.
pub fn check(root: &Path, packages: &[&LockPackage]) -> Result<Outcome> {
    // Group by index.
    let mut by_index: BTreeMap<String, Vec<&LockPackage>> = BTreeMap::new();
    let mut out = Outcome::default();
    let mut unsupported = BTreeSet::new();
    for p in packages {
        let Some(source) = p.source.as_deref() else {
            continue;
        };
        let key = match SourceKind::parse(source) {
            _ if source == CRATES_IO_REGISTRY || source == CRATES_IO_SPARSE => {
                "crates-io".to_string()
            }
            SourceKind::Sparse(url) => format!("sparse+{url}"),
            SourceKind::Registry(url) => {
                unsupported.insert(url.to_string());
                continue;
            }
            _ => continue,
        };
        by_index.entry(key).or_default().push(p);
    }
    for url in unsupported {
        out.problems.push(format!(
            "{url} is a git-protocol registry index; only sparse indexes are asked about yanked versions"
        ));
    }
    if by_index.is_empty() {
        return Ok(out);
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let client = crate::registry::http_client()?;
    let lock = FileLock::unlocked();

    for (key, pkgs) in by_index {
        let url = if key == "crates-io" {
            // A replaced crates.io is asked through its replacement.
            match crate::registry::crates_io_index(root) {
                Ok(u) => u,
                Err(e) => {
                    out.problems.push(format!("{e}"));
                    continue;
                }
            }
        } else {
            IndexUrl::NonCratesIo(key.clone().into())
        };
        if !url.is_sparse() {
            out.problems.push(format!(
                "crates.io is replaced by {}, which is not a sparse index; yanked versions were not checked",
                url.as_str()
            ));
            continue;
        }
        let shown = url.as_str().to_string();
        let index = match SparseIndex::new(IndexLocation::new(url)) {
            Ok(i) => i,
            Err(e) => {
                out.problems.push(format!("{shown}: {e}"));
                continue;
            }
        };
        let remote = AsyncRemoteSparseIndex::new(index, client.clone());
        let names: BTreeSet<String> = pkgs.iter().map(|p| p.name.clone()).collect();
        let results = runtime.block_on(remote.krates(names, false, Some(TIMEOUT), &lock));
        let mut failed = Vec::new();
        for p in &pkgs {
            match results.get(&p.name) {
                Some(Ok(Some(krate))) => {
                    out.checked += 1;
                    if krate
                        .versions
                        .iter()
                        .any(|v| v.version.as_str() == p.version && v.is_yanked())
                    {
                        out.yanked.insert((p.name.clone(), p.version.clone()));
                    }
                }
                Some(Ok(None)) => failed.push(format!("{} (not in the index)", p.name)),
                Some(Err(e)) => failed.push(format!("{} ({e})", p.name)),
                None => failed.push(format!("{} (no answer)", p.name)),
            }
        }
        if !failed.is_empty() {
            failed.dedup();
            let first: Vec<_> = failed.iter().take(3).cloned().collect();
            out.problems.push(format!(
                "{shown}: yanked status unknown for {} package(s): {}{}",
                failed.len(),
                first.join(", "),
                if failed.len() > 3 { ", …" } else { "" }
            ));
        }
    }
    Ok(out)
}
