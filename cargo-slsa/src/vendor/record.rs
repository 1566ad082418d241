//! What the last run vendored from, so a re-vendor costs what changed.
//!
//! After every successful run the stat cache gets a [`RunRecord`] for DIR: the digest of
//! Cargo.lock, of the manifest written into DIR, and of every other input that decides the tree
//! — each workspace and path-package manifest cargo read, the listings of the directories
//! `workspace.members` globs search, every cargo configuration file cargo would read (from the
//! working directory and the root upwards, and `CARGO_HOME`), rust-toolchain files, `CARGO*`
//! and `RUSTUP_TOOLCHAIN` variables, this tool's version and the arguments. The next run
//! computes the same digests before it runs cargo:
//!
//! - **nothing changed** (inputs and lock equal, DIR's manifest the one written, DIR holding
//!   exactly its crates, each crate directory's `lstat` fingerprint unchanged): the tree is
//!   already what a full run would write; cargo is not run and nothing is written.
//! - **only Cargo.lock changed** (`cargo update -p`, a Dependabot bump): cargo stays the
//!   authority on the lock, through its lock check alone — `cargo update --workspace --locked
//!   --offline` (`cargo fetch --locked` when online, which downloads too) — instead of `cargo
//!   metadata`, which also loads every package's manifest. Needs no `--platform` (that needs the
//!   graph) and no git crate that changed (its checkout is found through `cargo metadata`).
//! - anything else: the full run, `cargo metadata` first.
//!
//! The record is written only when the inputs digested after the run are the ones digested
//! before cargo ran (a manifest edited meanwhile leaves no record, so the next run is full),
//! apart from the configuration file `--write-config` itself writes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Result;
use sha2::{Digest, Sha256};

use crate::Ctx;
use crate::cli::VendorArgs;
use crate::report::Report;
use crate::workspace::{Cargo, Lockfile, Workspace};

use super::apply::{Outcome, finish, load_stat_cache, prepare_config};
use super::codes::VendorCode;
use super::prefetch::{Prefetch, prefetch};
use super::staging::{check_destination, needs_recovery};
use super::stat::{StatEntry, fingerprint};
use super::tree::{MANIFEST, Manifest};
use super::{Input, Output, cargo_home, read_manifest, source, vendor_dir};

/// How the lock was checked when it is the one cargo checked in the last run.
const UNCHANGED: &str = "unchanged since the last run (cargo not run)";

/// What is known before cargo runs: the manifest the run starts from, the workspace root it
/// names (guessed as cargo finds it), DIR, the lock's digest, and the last run's record.
pub(super) struct Start {
    pub(super) root: PathBuf,
    pub(super) dir: PathBuf,
    pub(super) lock: Option<String>,
    record: Option<RunRecord>,
    stats: BTreeMap<String, StatEntry>,
}

impl Start {
    /// `None` when the manifest cannot be found or read: the full run reports that.
    pub(super) fn read(ctx: &Ctx, args: &VendorArgs) -> Option<Start> {
        let entry = Workspace::locate(ctx).ok()?;
        let manifest = crate::workspace::Manifest::load(&entry).ok()?;
        let root = crate::workspace::guess_root(&manifest).ok()?;
        let dir = vendor_dir(&root, &ctx.cwd, args);
        let mut cache = load_stat_cache(&root);
        let key = dir.display().to_string();
        let record = cache.runs.remove(&key).filter(|r| r.root == root);
        let stats = cache.dirs.remove(&key).unwrap_or_default();
        Some(Start {
            lock: lock_digest(&root),
            root,
            dir,
            record,
            stats,
        })
    }
}

/// Every crate directory of `manifest` in DIR unchanged since this machine wrote it (its stat
/// cache entry's tree is the manifest's, its fingerprint the same), on every core.
fn all_unchanged<'a>(
    dir: &Path,
    crates: impl Iterator<Item = (&'a String, &'a super::tree::CrateRecord)>,
    stats: &BTreeMap<String, StatEntry>,
) -> bool {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let work: Vec<(&String, &super::tree::CrateRecord)> = crates.collect();
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(8);
    let next = AtomicUsize::new(0);
    let ok = AtomicBool::new(true);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                while ok.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((name, record)) = work.get(i) else {
                        break;
                    };
                    let same = stats.get(*name).is_some_and(|e| {
                        e.tree == record.tree
                            && fingerprint(&dir.join(name)).ok().as_deref()
                                == Some(e.fingerprint.as_str())
                    });
                    if !same {
                        ok.store(false, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    ok.load(Ordering::Relaxed)
}

/// Nothing changed since the last run (see the module documentation): the output of a full run,
/// without running cargo or writing anything (but the configuration, should it differ).
pub(super) fn unchanged(ctx: &Ctx, args: &VendorArgs, start: &Start) -> Result<Option<Output>> {
    let Some(rec) = &start.record else {
        return Ok(None);
    };
    if start.lock.as_deref() != Some(rec.lock.as_str()) || needs_recovery(&start.dir) {
        return Ok(None);
    }
    let now = inputs(
        ctx,
        args,
        &start.root,
        &start.dir,
        &rec.manifests,
        &rec.listed,
    );
    if now != rec.inputs {
        return Ok(None);
    }
    let Ok(bytes) = std::fs::read(start.dir.join(MANIFEST)) else {
        return Ok(None);
    };
    if sha256(&bytes) != rec.tree {
        return Ok(None);
    }
    let Ok(manifest) = serde_json::from_slice::<Manifest>(&bytes) else {
        return Ok(None);
    };
    // DIR holds exactly the manifest's crates (dot entries are kept by every run).
    let Ok(entries) = std::fs::read_dir(&start.dir) else {
        return Ok(None);
    };
    let mut names = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.starts_with('.') {
            names.push(name);
        }
    }
    if names.len() != manifest.crates.len()
        || !names.iter().all(|n| manifest.crates.contains_key(n))
        || !all_unchanged(&start.dir, manifest.crates.iter(), &start.stats)
    {
        return Ok(None);
    }
    let sources = sources_of(&manifest);
    let (config, merged) = prepare_config(args, &start.root, &start.dir, &sources)?;
    let n = manifest.crates.len();
    let out = finish(
        Report::new("vendor", VendorCode::rules()),
        Outcome {
            dir: &start.dir,
            crates: n,
            reused: n,
            prefetched: 0,
            stubs: manifest.crates.values().filter(|r| r.stub).count(),
            resolution: UNCHANGED,
        },
        config,
        merged,
    )?;
    Ok(Some(out))
}

/// Only Cargo.lock changed since the last run (see the module documentation): cargo's lock
/// check, with the crates DIR does not hold yet vendored meanwhile. `Err(why)` when the run has
/// to be full, with `earlier` holding whatever was prefetched for it.
pub(super) fn lock_only(
    ctx: &Ctx,
    args: &VendorArgs,
    cargo: &Cargo,
    start: &Start,
    earlier: &mut Option<Prefetch>,
) -> Result<std::result::Result<Input, String>> {
    let Some(rec) = &start.record else {
        return Ok(Err("no record of an earlier run".into()));
    };
    if !args.platform.is_empty() {
        return Ok(Err("--platform needs the dependency graph".into()));
    }
    let now = inputs(
        ctx,
        args,
        &start.root,
        &start.dir,
        &rec.manifests,
        &rec.listed,
    );
    if let Some(what) = first_difference(&now, &rec.inputs) {
        return Ok(Err(format!("changed since the last run: {what}")));
    }
    let lock_path = start.root.join("Cargo.lock");
    let Ok(bytes) = std::fs::read(&lock_path) else {
        return Ok(Err("Cargo.lock cannot be read".into()));
    };
    let lock_digest = sha256(&bytes);
    let Ok(text) = String::from_utf8(bytes) else {
        return Ok(Err("Cargo.lock is not UTF-8".into()));
    };
    let Ok(lock) = Lockfile::parse(&lock_path, text) else {
        return Ok(Err("Cargo.lock does not parse".into()));
    };
    let old = read_manifest(&start.dir);
    if !git_unchanged(&lock, &old)
        || !all_unchanged(
            &start.dir,
            old.crates
                .iter()
                .filter(|(_, r)| r.source.starts_with("git+")),
            &start.stats,
        )
    {
        return Ok(Err(
            "a git crate changed: its checkout comes from cargo metadata".into(),
        ));
    }
    let entry = Workspace::locate(ctx)?;
    let (checked, pre) = std::thread::scope(|scope| {
        let side = scope.spawn(|| prefetch(&start.root, &ctx.cwd, args));
        let checked = if rec.lock == lock_digest {
            // The very lock cargo checked last time, against the same manifests.
            Ok(Ok(()))
        } else {
            cargo.lock_check(&entry)
        };
        (checked, side.join().ok().flatten())
    });
    *earlier = pre;
    match checked {
        Ok(Ok(())) => {}
        Ok(Err(_)) => return Ok(Err("cargo's lock check failed".into())),
        Err(e) => return Ok(Err(format!("cargo's lock check did not run: {e:#}"))),
    }
    check_destination(&start.dir, &start.root, &rec.manifests)?;
    let plan = match source::plan_from_lock(&lock, args.versioned_dirs) {
        Ok(plan) => plan,
        Err(e) => return Ok(Err(format!("{e:#}"))),
    };
    let resolution = if rec.lock == lock_digest {
        UNCHANGED
    } else if ctx.offline {
        "cargo update --workspace --locked --offline"
    } else {
        "cargo fetch --locked"
    };
    Ok(Ok(Input {
        root: start.root.clone(),
        dir: start.dir.clone(),
        lock,
        plan,
        prefetched: earlier.take(),
        manifests: rec.manifests.clone(),
        listed: rec.listed.clone(),
        checked: Some((now, lock_digest)),
        resolution,
        why_full: None,
    }))
}

/// What a successful run vendored from (see the module documentation).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(super) struct RunRecord {
    /// The workspace root the run found.
    pub(super) root: PathBuf,
    /// sha256 of Cargo.lock.
    pub(super) lock: String,
    /// sha256 of DIR's `.slsa-vendor.json` as written.
    pub(super) tree: String,
    /// Every workspace and path-package manifest cargo read (the root's too).
    pub(super) manifests: Vec<PathBuf>,
    /// Directories whose listing decides workspace membership.
    pub(super) listed: Vec<PathBuf>,
    /// Input → digest (see [`inputs`]).
    pub(super) inputs: BTreeMap<String, String>,
}

pub(super) fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn file_digest(path: &Path) -> String {
    match std::fs::read(path) {
        Ok(bytes) => sha256(&bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => "absent".into(),
        Err(e) => format!("unreadable: {}", e.kind()),
    }
}

/// sha256 of Cargo.lock as it is now (`None` when it cannot be read).
pub(super) fn lock_digest(root: &Path) -> Option<String> {
    std::fs::read(root.join("Cargo.lock"))
        .ok()
        .map(|b| sha256(&b))
}

/// The directories `workspace.members` and `workspace.exclude` globs search: for each pattern
/// with a glob character, the directory before its first globbed component.
pub(super) fn glob_dirs(root: &Path, root_manifest: &toml_edit::Document<String>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for key in ["members", "exclude"] {
        let Some(list) = root_manifest
            .get("workspace")
            .and_then(|w| w.get(key))
            .and_then(|m| m.as_array())
        else {
            continue;
        };
        for pattern in list.iter().filter_map(|v| v.as_str()) {
            if !pattern.contains(['*', '?', '[']) {
                continue;
            }
            let fixed: PathBuf = Path::new(pattern)
                .components()
                .take_while(|c| !c.as_os_str().to_string_lossy().contains(['*', '?', '[']))
                .collect();
            out.push(root.join(fixed));
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Every input besides Cargo.lock that decides the vendored tree, digested (see the module
/// documentation). `written_config` is left out: the configuration `--write-config` writes.
pub(super) fn inputs(
    ctx: &Ctx,
    args: &VendorArgs,
    root: &Path,
    dir: &Path,
    manifests: &[PathBuf],
    listed: &[PathBuf],
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    out.insert("tool".into(), env!("CARGO_PKG_VERSION").to_string());
    out.insert(
        "args".into(),
        format!(
            "dir={} versioned-dirs={} write-config={} platform={:?} manifest-path={:?}",
            dir.display(),
            args.versioned_dirs,
            args.write_config,
            args.platform,
            ctx.manifest_path
        ),
    );
    let mut env: Vec<String> = std::env::vars_os()
        .filter_map(|(k, v)| {
            let k = k.to_string_lossy().into_owned();
            ((k.starts_with("CARGO") && !k.starts_with("CARGO_TERM_")) || k == "RUSTUP_TOOLCHAIN")
                .then(|| format!("{k}={}", v.to_string_lossy()))
        })
        .collect();
    env.sort();
    out.insert("env".into(), sha256(env.join("\n").as_bytes()));
    for m in manifests {
        out.insert(format!("manifest {}", m.display()), file_digest(m));
    }
    for d in listed {
        let names = match std::fs::read_dir(d) {
            Ok(entries) => {
                let mut n: Vec<String> = entries
                    .flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect();
                n.sort();
                sha256(n.join("\n").as_bytes())
            }
            Err(_) => "absent".into(),
        };
        out.insert(format!("listing {}", d.display()), names);
    }
    // cargo reads configuration from the directory it runs in upwards and from CARGO_HOME;
    // rustup picks the toolchain from the directory upwards.
    let mut dirs: Vec<&Path> = ctx.cwd.ancestors().collect();
    dirs.extend(root.ancestors());
    dirs.sort();
    dirs.dedup();
    for d in dirs {
        for f in [
            ".cargo/config.toml",
            ".cargo/config",
            "rust-toolchain.toml",
            "rust-toolchain",
        ] {
            let p = d.join(f);
            out.insert(format!("file {}", p.display()), file_digest(&p));
        }
    }
    if let Ok(home) = cargo_home() {
        for f in ["config.toml", "config"] {
            let p = home.join(f);
            out.insert(format!("file {}", p.display()), file_digest(&p));
        }
    }
    out
}

/// The same inputs, without the configuration file the run itself wrote.
pub(super) fn without(
    mut inputs: BTreeMap<String, String>,
    written: Option<&Path>,
) -> BTreeMap<String, String> {
    if let Some(p) = written {
        inputs.remove(&format!("file {}", p.display()));
    }
    inputs
}

/// Why the record does not let this run skip cargo (for `-v`), or `None` when it does.
pub(super) fn first_difference(
    now: &BTreeMap<String, String>,
    then: &BTreeMap<String, String>,
) -> Option<String> {
    for (k, v) in now {
        if then.get(k) != Some(v) {
            return Some(k.clone());
        }
    }
    then.keys().find(|k| !now.contains_key(*k)).cloned()
}

/// The sources a vendored tree replaces (for the printed configuration).
pub(super) fn sources_of(manifest: &Manifest) -> std::collections::BTreeSet<String> {
    manifest.crates.values().map(|r| r.source.clone()).collect()
}

/// Whether every git package of `lock` is in `old` exactly as before (so no checkout is
/// needed: each is moved as it is, or the run is full).
pub(super) fn git_unchanged(lock: &Lockfile, old: &Manifest) -> bool {
    lock.packages
        .iter()
        .filter(|p| p.source.as_deref().is_some_and(|s| s.starts_with("git+")))
        .all(|p| {
            old.crates.values().any(|r| {
                r.name == p.name
                    && r.version == p.version
                    && Some(r.source.as_str()) == p.source.as_deref()
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_dirs_are_the_fixed_part_of_each_pattern() {
        let doc: toml_edit::Document<String> = toml_edit::Document::parse(
            "[workspace]\nmembers = [\"app\", \"crates/*\", \"tools/x-*/y\"]\nexclude = [\"crates/old*\"]\n"
                .to_string(),
        )
        .expect("toml");
        let got = glob_dirs(Path::new("/w"), &doc);
        assert_eq!(
            got,
            vec![PathBuf::from("/w/crates"), PathBuf::from("/w/tools")]
        );
    }

    #[test]
    fn a_difference_names_the_input() {
        let mut a = BTreeMap::new();
        a.insert("tool".to_string(), "1".to_string());
        a.insert("manifest /w/Cargo.toml".to_string(), "x".to_string());
        let mut b = a.clone();
        assert_eq!(first_difference(&a, &b), None);
        b.insert("manifest /w/Cargo.toml".to_string(), "y".to_string());
        assert_eq!(
            first_difference(&a, &b).as_deref(),
            Some("manifest /w/Cargo.toml")
        );
        b.remove("manifest /w/Cargo.toml");
        b.insert("file /w/.cargo/config.toml".into(), "z".into());
        assert!(first_difference(&a, &b).is_some());
    }
}
