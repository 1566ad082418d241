//! The plan — which crate goes into which directory, from where: the `.crate` files in
//! cargo's cache (each checked against Cargo.lock's checksum before a byte is used) or cargo's
//! git checkouts, under the directory names cargo vendor gives them.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use guppy::graph::PackageSource;
use sha2::{Digest, Sha256};

use crate::cli::VendorArgs;
use crate::error::InputError;
use crate::workspace::Lockfile;

use super::{Planned, cargo_home};

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

/// The plan from `cargo metadata`'s graph: every locked package that is not a path package, as
/// cargo vendor takes them; git crates from their checkouts; with `--platform`, stubs for what
/// no build for those targets (or its tests) can compile.
pub(super) fn plan_from_graph(
    lock: &Lockfile,
    graph: &guppy::graph::PackageGraph,
    args: &VendorArgs,
) -> Result<Vec<Planned>> {
    let home = cargo_home()?;
    let mut git_dirs: HashMap<(String, String, String), PathBuf> = HashMap::new();
    for p in graph.packages() {
        if let PackageSource::External(s) = p.source()
            && s.starts_with("git+")
        {
            let dir = p
                .manifest_path()
                .parent()
                .map(|d| d.as_std_path().to_path_buf())
                .unwrap_or_default();
            git_dirs.insert(
                (p.name().to_string(), p.version().to_string(), s.to_string()),
                dir,
            );
        }
    }
    let needed: Option<BTreeSet<(String, String, String)>> = if args.platform.is_empty() {
        None
    } else {
        let platforms = args
            .platform
            .iter()
            .map(|t| crate::workspace::graph::platform(t))
            .collect::<Result<Vec<_>>>()?;
        let ids = crate::workspace::graph::reachable_with_host(
            graph,
            &platforms,
            crate::workspace::graph::Kinds::ALL,
        )?;
        Some(
            ids.into_iter()
                .filter_map(|id| graph.metadata(id).ok())
                .filter_map(|p| match p.source() {
                    PackageSource::External(s) => {
                        Some((p.name().to_string(), p.version().to_string(), s.to_string()))
                    }
                    _ => None,
                })
                .collect(),
        )
    };
    plan(lock, args.versioned_dirs, |key, name, version| {
        let stub = needed.as_ref().is_some_and(|n| !n.contains(key));
        let from = if key.2.starts_with("git+") {
            vec![git_dirs.get(key).cloned().ok_or_else(|| {
                anyhow!(
                    "{name} {version} ({}) is not in cargo's git checkouts: run `cargo fetch --locked`",
                    key.2
                )
            })?]
        } else {
            cached_crates(&home, name, version)?
        };
        Ok((from, stub))
    })
}

/// The plan from the lock alone (the lock-only path, see [`super::record`]): registry crates
/// from cargo's cache; git crates with no checkout (only moved as they are, unchanged).
pub(super) fn plan_from_lock(lock: &Lockfile, versioned: bool) -> Result<Vec<Planned>> {
    let home = cargo_home()?;
    plan(lock, versioned, |key, name, version| {
        if key.2.starts_with("git+") {
            Ok((Vec::new(), false))
        } else {
            Ok((cached_crates(&home, name, version)?, false))
        }
    })
}

type Key = (String, String, String);

fn plan(
    lock: &Lockfile,
    versioned: bool,
    mut from_and_stub: impl FnMut(&Key, &str, &str) -> Result<(Vec<PathBuf>, bool)>,
) -> Result<Vec<Planned>> {
    let names = dir_names(lock, versioned)?;
    let mut plan = Vec::new();
    for p in lock.packages.iter().filter(|p| p.source.is_some()) {
        let source = p.source.clone().unwrap_or_default();
        let key = (p.name.clone(), p.version.clone(), source.clone());
        let dir_name = names.get(&key).cloned().unwrap_or_else(|| p.name.clone());
        let git = source.starts_with("git+");
        if !git && p.checksum.is_none() {
            return Err(InputError::at(
                &lock.path,
                Some(p.line),
                None,
                format!("{} {} has no checksum in Cargo.lock", p.name, p.version),
            )
            .into());
        }
        let (from, stub) = from_and_stub(&key, &p.name, &p.version)?;
        plan.push(Planned {
            stub,
            name: p.name.clone(),
            version: p.version.clone(),
            source,
            checksum: if git { None } else { p.checksum.clone() },
            dir: dir_name,
            from,
            git,
        });
    }
    Ok(plan)
}
