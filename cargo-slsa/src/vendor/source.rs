//! Where a vendored crate comes from: the `.crate` files in cargo's cache (each checked against
//! Cargo.lock's checksum before a byte is used) and the directory names cargo vendor gives them.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use sha2::{Digest, Sha256};

use crate::workspace::Lockfile;

/// The `.crate` files in cargo's cache named for `name` `version` (one per registry cache).
pub(super) fn cached_crates(home: &Path, name: &str, version: &str) -> Result<Vec<PathBuf>> {
    let cache = home.join("registry").join("cache");
    let file = format!("{name}-{version}.crate");
    let mut found = Vec::new();
    if let Ok(dirs) = std::fs::read_dir(&cache) {
        let mut dirs: Vec<PathBuf> = dirs.flatten().map(|d| d.path()).collect();
        dirs.sort();
        found.extend(
            dirs.into_iter()
                .map(|d| d.join(&file))
                .filter(|p| p.is_file()),
        );
    }
    if found.is_empty() {
        bail!(
            "{name} {version} is not in cargo's cache ({}): run `cargo fetch --locked` (or drop --offline)",
            cache.display()
        );
    }
    Ok(found)
}

/// Read the candidate whose sha256 is the lock's `checksum`; any other bytes are refused.
pub(super) fn read_checked(
    candidates: &[PathBuf],
    name: &str,
    version: &str,
    checksum: &str,
) -> Result<(PathBuf, Vec<u8>)> {
    for p in candidates {
        let bytes = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
        if hex::encode(Sha256::digest(&bytes)) == checksum {
            return Ok((p.clone(), bytes));
        }
    }
    let shown = candidates
        .first()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    bail!(
        "{shown}: sha256 differs from Cargo.lock's checksum for {name} {version}: the cached crate was altered or is not the locked one"
    )
}

/// The directory of every non-path package of `lock`, keyed by (name, version, source):
/// its name, or `NAME-VERSION` when a newer version of the name is locked too (or always with
/// `versioned`), as cargo vendor names them.
pub(super) fn dir_names(
    lock: &Lockfile,
    versioned: bool,
) -> Result<HashMap<(String, String, String), String>> {
    let packages: Vec<(String, String, String)> = lock
        .packages
        .iter()
        .filter_map(|p| Some((p.name.clone(), p.version.clone(), p.source.clone()?)))
        .collect();
    let mut by_name: BTreeMap<&str, BTreeMap<semver::Version, &str>> = BTreeMap::new();
    for (name, version, source) in &packages {
        let v: semver::Version = version
            .parse()
            .map_err(|_| anyhow!("{name} has an invalid version `{version}` in Cargo.lock"))?;
        if let Some(prev) = by_name.entry(name).or_default().insert(v, source) {
            bail!(
                "found duplicate version of package `{name} v{version}` vendored from two sources:\n\n\tsource 1: {prev}\n\tsource 2: {source}"
            );
        }
    }
    let mut out = HashMap::new();
    for (name, version, source) in &packages {
        let max = by_name
            .get(name.as_str())
            .and_then(|m| m.keys().next_back())
            .map(|v| v.to_string())
            .unwrap_or_default();
        let dir = if versioned || *version != max {
            format!("{name}-{version}")
        } else {
            name.clone()
        };
        out.insert((name.clone(), version.clone(), source.clone()), dir);
    }
    Ok(out)
}
