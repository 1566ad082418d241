//! `cargo slsa vendor`: a vendor tree identical to `cargo vendor`'s, written atomically and
//! recorded in a manifest (`.slsa-vendor.json`) that `--verify` checks for tampering.
//!
//! Sources: registry crates are extracted from the `.crate` files in cargo's cache after
//! checking each file's sha256 against Cargo.lock (so a tampered cache cannot slip in); git
//! crates are copied from cargo's git checkouts. `cargo fetch --locked` runs first unless
//! `--offline`. Layout follows cargo: a crate's directory is its name, or `NAME-VERSION` when a
//! newer version of the same name is vendored too (or with `--versioned-dirs`); each holds
//! `.cargo-checksum.json` with cargo's exact bytes (`"package": null` for git crates).
//!
//! Writing: the new tree is built in a staging directory beside DIR and exchanged with DIR in
//! one step (`renameat2(RENAME_EXCHANGE)` on Linux; elsewhere two renames, and a run killed in
//! between leaves `DIR.slsa-old`, which the next run puts back). Unchanged crates whose
//! directories still look exactly as this machine wrote them (the stat cache in
//! `target/slsa/vendor-stat.json`) are moved into the staging tree rather than read and
//! re-linked; each move is marked first and leaves a link at the old path (swapped in with the
//! same one-step exchange), so DIR reads as the old tree until the swap, and an error or a
//! killed run puts the directories back.
//!
//! Pipelined: while `cargo metadata --locked` resolves (it is the authority on the lock), the
//! registry crates DIR does not hold yet are already extracted into the staging tree from the
//! Cargo.lock on disk; that work is kept only if cargo then reports the same root and the lock
//! is unchanged byte for byte, and DIR itself is never touched meanwhile (cargo may be reading
//! it through a source replacement).
//!
//! Incremental: a crate whose manifest record still matches the lock and whose files all still
//! verify is hard-linked from the current tree instead of extracted again. `--platform`: crates
//! no build for those targets can compile become stubs (their `Cargo.toml` and an empty lib), so
//! cargo still resolves the whole lock offline.
//!
//! `--write-config` merges the configuration into `.cargo/config.toml` with toml_edit.
//!
//! A git crate's `Cargo.toml` is replaced by the normalised manifest cargo vendor generates
//! (workspace inheritance resolved, targets spelled out; see [`normalize`]).

pub mod codes;
mod extract;
mod normalize;
mod tree;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use guppy::graph::PackageSource;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::Ctx;
use crate::cli::VendorArgs;
use crate::error::InputError;
use crate::report::{Change, Finding, Report};
use crate::workspace::lock::{CRATES_IO_REGISTRY, CRATES_IO_SPARSE};
use crate::workspace::{Cargo, LockState, Lockfile, SourceKind, Workspace};
use codes::VendorCode;
use extract::FileEntry;
use tree::{CHECKSUM, CrateRecord, MANIFEST, Manifest};

/// What `vendor` produced.
pub enum Output {
    /// The source-replacement configuration to print (human format, like cargo vendor).
    Config(Vec<u8>, Report),
    /// A report only (`--verify`, or machine formats).
    Report(Report),
}

/// One package to vendor.
struct Planned {
    name: String,
    version: String,
    source: String,
    checksum: Option<String>,
    dir: String,
    /// Registry: the candidate `.crate` files; git: the package directory in the checkout.
    from: Vec<PathBuf>,
    git: bool,
    /// Not needed on the `--platform`s: vendor a stub.
    stub: bool,
}

fn cargo_home() -> Result<PathBuf> {
    if let Some(h) = std::env::var_os("CARGO_HOME").filter(|h| !h.is_empty()) {
        return Ok(PathBuf::from(h));
    }
    let home =
        std::env::var_os("HOME").ok_or_else(|| anyhow!("neither CARGO_HOME nor HOME is set"))?;
    Ok(PathBuf::from(home).join(".cargo"))
}

fn sha256_file(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(hex::encode(Sha256::digest(&bytes)))
}

/// The `.crate` files in cargo's cache named for `name` `version` (one per registry cache).
fn cached_crates(home: &Path, name: &str, version: &str) -> Result<Vec<PathBuf>> {
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
fn read_checked(
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
fn dir_names(
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

/// Copy a git package's files into `dest`, or with `dest` `None` only hash them. The files
/// are the ones cargo lists for a package in a checkout: everything but `.git`, nested
/// packages and cargo's own marker files, filtered by `package.include` / `package.exclude`
/// with cargo's gitignore rules. `Cargo.toml` is replaced by the normalised manifest cargo
/// vendor generates (see [`normalize`]). Links are followed as cargo follows them (a linked
/// file is copied as a file, a linked directory walked) when they stay inside the repository;
/// a link leading out of it is refused.
fn copy_git_package(src: &Path, dest: Option<&Path>) -> Result<BTreeMap<String, FileEntry>> {
    type Keep<'a> = dyn Fn(&Path) -> bool + 'a;
    struct Walk<'a> {
        root: &'a Path,
        /// Links are followed only to what lies inside this (the canonical checkout).
        bound: &'a Path,
        keep: &'a Keep<'a>,
        skip_root_target: bool,
    }
    fn walk(
        w: &Walk,
        dir: &Path,
        out: &mut Vec<(String, PathBuf, bool)>,
        depth: usize,
    ) -> Result<()> {
        if depth > 64 {
            bail!("{}: directory nesting too deep", dir.display());
        }
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .flatten()
            .map(|e| e.path())
            .collect();
        entries.sort();
        for p in entries {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name == ".git" {
                continue;
            }
            let rel = p.strip_prefix(w.root).unwrap_or(&p);
            let rel_s = rel
                .to_str()
                .ok_or_else(|| anyhow!("non-UTF-8 path {}", p.display()))?
                .replace('\\', "/");
            let lmeta = std::fs::symlink_metadata(&p)?;
            let meta = if lmeta.file_type().is_symlink() {
                // Followed like cargo does (a linked file is copied as a file, a linked
                // directory walked), but only to what the repository itself holds.
                let target = std::fs::canonicalize(&p)
                    .with_context(|| format!("{}: dangling link", p.display()))?;
                if !target.starts_with(w.bound) {
                    bail!(
                        "{}: a link to {}, outside the repository (vendoring copies only the repository's own files)",
                        p.display(),
                        target.display()
                    );
                }
                std::fs::metadata(&target)?
            } else {
                lmeta
            };
            if meta.is_dir() {
                if p.join("Cargo.toml").is_file()
                    || (w.skip_root_target && depth == 0 && name == "target")
                {
                    continue; // another package (or build output), not part of this one
                }
                walk(w, &p, out, depth + 1)?;
            } else if meta.is_file() && (w.keep)(rel) {
                out.push((rel_s, p, extract::is_executable(&meta)));
            }
        }
        Ok(())
    }
    let checkout = src
        .ancestors()
        .find(|d| d.join(".git").exists())
        .unwrap_or(src);
    let bound = std::fs::canonicalize(checkout)
        .with_context(|| format!("resolving {}", checkout.display()))?;
    // cargo looks for the workspace root up to CARGO_HOME (checkouts live inside it).
    let search_bound = cargo_home()
        .ok()
        .filter(|h| src.starts_with(h))
        .unwrap_or_else(|| checkout.to_path_buf());
    let manifest = normalize::Normalized::load(src, &search_bound)?;
    let (include, exclude) = manifest.include_exclude();
    let rules = |lines: &[String]| -> Result<ignore::gitignore::Gitignore> {
        let mut b = ignore::gitignore::GitignoreBuilder::new(src);
        for line in lines {
            b.add_line(None, line)
                .with_context(|| format!("{}: bad include/exclude rule {line:?}", src.display()))?;
        }
        Ok(b.build()?)
    };
    let (include_rules, exclude_rules) = (rules(include)?, rules(exclude)?);
    let has_include = !include.is_empty();
    // As cargo lists a package's files: `include` and `exclude` are exclusive, and each file is
    // matched on its own path (so a `!` rule can keep a file inside an excluded directory).
    // Without `include`, cargo lists the repository's files, tracked ones in `target/` too.
    let keep = |rel: &Path| -> bool {
        if rel == Path::new("Cargo.toml") || rel == Path::new("Cargo.lock") {
            return true;
        }
        if has_include {
            include_rules
                .matched_path_or_any_parents(rel, false)
                .is_ignore()
        } else {
            !exclude_rules
                .matched_path_or_any_parents(rel, false)
                .is_ignore()
        }
    };
    let w = Walk {
        root: src,
        bound: &bound,
        keep: &keep,
        skip_root_target: has_include,
    };
    let mut listed = Vec::new();
    walk(&w, src, &mut listed, 0)?;
    let packaged: Vec<PathBuf> = listed
        .iter()
        .map(|(rel, _, _)| PathBuf::from(rel))
        .collect();
    let mut files = BTreeMap::new();
    if let Some(d) = dest {
        std::fs::create_dir_all(d)?;
    }
    for (rel, path, executable) in listed {
        if extract::skipped(&rel) {
            continue;
        }
        let (bytes, executable) = if rel == "Cargo.toml" {
            (manifest.vendored(&packaged)?.into_bytes(), false)
        } else {
            (std::fs::read(&path)?, executable)
        };
        if let Some(dest) = dest {
            let target = dest.join(&rel);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)?;
            }
            extract::write_file(&target, &bytes, executable)?;
        }
        files.insert(
            rel,
            FileEntry::plain(hex::encode(Sha256::digest(&bytes)), executable),
        );
    }
    Ok(files)
}

/// The outcome of [`vendor_one`]: the crate's record, whether it was reused, and the
/// fingerprint of its directory as written (for the stat cache; `None` if it could not be
/// read, which only costs the next run a full check).
type Vendored = Result<VendoredCrate>;

/// A vendored crate: its record, whether it was reused, its directory's fingerprint.
type VendoredCrate = (CrateRecord, bool, Option<String>);

/// Vendor one crate into `staging/<dir>`: reuse the current tree's copy when its record
/// matches and it still verifies, else extract (registry, after the checksum check) or copy
/// (git). Returns its manifest record and whether it was reused.
fn vendor_one(
    p: &Planned,
    previous: Option<&CrateRecord>,
    cached: Option<&StatEntry>,
    dir: &Path,
    staging: &Path,
) -> Vendored {
    let dest = staging.join(&p.dir);
    let previous = previous.filter(|r| {
        r.name == p.name
            && r.version == p.version
            && r.source == p.source
            && r.package == p.checksum
            && r.stub == p.stub
    });
    // Unchanged since this machine wrote it (same files, sizes, times, inodes, modes): move the
    // crate's directory into the new tree as it is, without reading it. A marker first, so an
    // interrupted run can put it back (see `put_back`).
    // (Git crates always take the checked path: they are few, and how they are copied may
    // change between versions of this tool.)
    if let (Some(prev), Some(entry)) = (previous, cached)
        && !p.git
        && entry.tree == prev.tree
        && fingerprint(&dir.join(&p.dir)).ok().as_deref() == Some(entry.fingerprint.as_str())
    {
        let markers = staging.join(MOVED);
        std::fs::create_dir_all(&markers)?;
        std::fs::write(markers.join(&p.dir), b"")?;
        move_in(dir, staging, &p.dir)
            .with_context(|| format!("moving {} into the new tree", p.dir))?;
        return Ok((prev.clone(), true, Some(entry.fingerprint.clone())));
    }
    let reused = match previous {
        Some(_) => reuse(&dir.join(&p.dir), p, &dest)?,
        None => None,
    };
    let was_reused = reused.is_some();
    let files = match reused {
        Some(files) => files,
        None => {
            let mut files = if p.git {
                let src = p
                    .from
                    .first()
                    .ok_or_else(|| anyhow!("{}: no checkout", p.name))?;
                copy_git_package(src, Some(&dest))?
            } else {
                let sum = p.checksum.as_deref().unwrap_or_default();
                let (path, bytes) = read_checked(&p.from, &p.name, &p.version, sum)?;
                extract::extract_bytes(
                    &bytes,
                    &path,
                    &format!("{}-{}", p.name, p.version),
                    Some(&dest),
                )?
            };
            if p.stub {
                files = stub_out(&dest, files)?;
            }
            std::fs::write(
                dest.join(CHECKSUM),
                tree::cargo_checksum_json(&files, p.checksum.as_deref()),
            )?;
            files
        }
    };
    let record = CrateRecord {
        name: p.name.clone(),
        version: p.version.clone(),
        source: p.source.clone(),
        package: p.checksum.clone(),
        executables: files
            .iter()
            .filter(|(_, f)| f.executable)
            .map(|(k, _)| k.clone())
            .collect(),
        links: files
            .iter()
            .filter_map(|(k, f)| Some((k.clone(), f.link.clone()?)))
            .collect(),
        tree: tree::tree_digest(&files),
        stub: p.stub,
    };
    // Taken here, on this crate's worker, rather than over the whole tree after the swap: the
    // swap renames only the staging directory, so nothing fingerprinted changes.
    Ok((record, was_reused, fingerprint(&dest).ok()))
}

/// Inside a staging directory: one empty file per crate directory moved there from the current
/// tree, written before the move.
const MOVED: &str = ".slsa-moved";

/// A crate's entry in the stat cache: its tree digest and the fingerprint of its directory.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct StatEntry {
    tree: String,
    fingerprint: String,
}

/// The stat cache (in the target directory, never in the committed tree: inodes and times are
/// this machine's): vendor directory → crate directory → entry.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct StatCache {
    dirs: BTreeMap<String, BTreeMap<String, StatEntry>>,
}

fn stat_cache_path(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .map(|t| if t.is_absolute() { t } else { root.join(t) })
        .unwrap_or_else(|| root.join("target"))
        .join("slsa")
        .join("vendor-stat.json")
}

/// What `lstat` says about every entry of a crate directory (path, size, modification time,
/// inode, mode), hashed: equal fingerprints mean nothing was rewritten, replaced or re-timed
/// since. Only re-vendoring trusts it; `--verify` always reads every byte.
fn fingerprint(crate_dir: &Path) -> Result<String> {
    #[cfg(unix)]
    use std::os::unix::fs::MetadataExt;
    let mut lines: Vec<String> = crate_entries(crate_dir)?
        .into_iter()
        .map(|(rel, _, m)| (rel, m))
        .chain(
            std::fs::symlink_metadata(crate_dir.join(CHECKSUM))
                .ok()
                .map(|m| (CHECKSUM.to_string(), m)),
        )
        .map(|(rel, m)| {
            #[cfg(unix)]
            let id = format!("{} {} {} {}", m.mtime(), m.mtime_nsec(), m.ino(), m.mode());
            #[cfg(not(unix))]
            let id = format!("{:?}", m.modified().ok());
            format!("{rel}\0{}\0{id}", m.len())
        })
        .collect();
    lines.sort();
    Ok(hex::encode(Sha256::digest(lines.join("\n").as_bytes())))
}

/// Puts moved crate directories back when dropped armed (every error path before the swap).
struct PutBackGuard {
    staging: PathBuf,
    dir: PathBuf,
    armed: bool,
}

impl Drop for PutBackGuard {
    fn drop(&mut self) {
        if self.armed && put_back(&self.staging, &self.dir).is_err() {
            // Crates could not all go back: the staging tree (and what it still holds) is kept
            // out of its owner's cleanup under a name the next run's `recover` still finds.
            let mut kept = self.staging.clone().into_os_string();
            kept.push("-kept");
            let _ = std::fs::rename(&self.staging, kept);
        }
    }
}

/// Move crate directories an interrupted or failed run had moved into `staging` back to `dir`
/// (those with a marker whose directory is not in `dir`).
fn put_back(staging: &Path, dir: &Path) -> Result<usize> {
    let Ok(markers) = std::fs::read_dir(staging.join(MOVED)) else {
        return Ok(0);
    };
    let mut n = 0;
    let mut failed: Option<anyhow::Error> = None;
    for m in markers.flatten() {
        let name = m.file_name();
        let (from, to) = (staging.join(&name), dir.join(&name));
        if !std::fs::symlink_metadata(&from).is_ok_and(|m| m.is_dir()) {
            continue;
        }
        let back = || -> std::io::Result<()> {
            match std::fs::symlink_metadata(&to) {
                Err(_) => std::fs::rename(&from, &to),
                // The link `move_in` left: swapped back in one step where possible.
                Ok(m) if m.file_type().is_symlink() => {
                    if crate::fsx::exchange(&from, &to).is_ok() {
                        std::fs::remove_file(&from)
                    } else {
                        std::fs::remove_file(&to)?;
                        std::fs::rename(&from, &to)
                    }
                }
                Ok(_) => Ok(()), // DIR has its own copy again; the staging one goes with it
            }
        };
        // Every crate is tried, whatever happened to the others.
        match back() {
            Ok(()) => n += 1,
            Err(e) => {
                failed.get_or_insert_with(|| {
                    anyhow::Error::new(e).context(format!("putting {} back", to.display()))
                });
            }
        }
    }
    match failed {
        Some(e) => Err(e),
        None => Ok(n),
    }
}

/// Move the crate directory `dir/name` into `staging/name`, leaving at `dir/name` a link to it.
/// Where the system can swap two entries atomically (Linux) the link is made first and swapped
/// with the directory, so at every moment each crate of DIR is readable at its path: a run
/// killed before its swap leaves the old tree as readers see it (the next run puts the moved
/// directories back). Elsewhere the move and the link are two steps.
fn move_in(dir: &Path, staging: &Path, name: &str) -> Result<()> {
    let (from, to) = (dir.join(name), staging.join(name));
    let staging_name = staging
        .file_name()
        .ok_or_else(|| anyhow!("{}: no directory name", staging.display()))?;
    // Relative to DIR: staging is DIR's sibling.
    let link = Path::new("..").join(staging_name).join(name);
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(&link, &to)?;
        if crate::fsx::exchange(&from, &to).is_ok() {
            return Ok(());
        }
        std::fs::remove_file(&to)?;
    }
    std::fs::rename(&from, &to)?;
    #[cfg(unix)]
    std::os::unix::fs::symlink(&link, &from)?;
    #[cfg(not(unix))]
    let _ = link;
    Ok(())
}

/// The files of a stub: the crate's `Cargo.toml` and an empty `src/lib.rs` (so target
/// discovery still finds a library). Listed in the checksum file like any vendored file; the
/// package checksum stays the lock's.
fn stub_files(files: &BTreeMap<String, FileEntry>) -> Result<BTreeMap<String, FileEntry>> {
    let manifest = files
        .get("Cargo.toml")
        .cloned()
        .ok_or_else(|| anyhow!("the crate has no Cargo.toml"))?;
    let mut out = BTreeMap::new();
    out.insert("Cargo.toml".to_string(), manifest);
    out.insert(
        "src/lib.rs".to_string(),
        FileEntry::plain(hex::encode(Sha256::digest(b"")), false),
    );
    Ok(out)
}

/// Reduce an extracted crate in `dest` to its stub.
fn stub_out(
    dest: &Path,
    files: BTreeMap<String, FileEntry>,
) -> Result<BTreeMap<String, FileEntry>> {
    let stub = stub_files(&files).with_context(|| dest.display().to_string())?;
    let bytes = std::fs::read(dest.join("Cargo.toml"))?;
    std::fs::remove_dir_all(dest)?;
    std::fs::create_dir_all(dest.join("src"))?;
    extract::write_file_mode(&dest.join("Cargo.toml"), &bytes, stub["Cargo.toml"].mode)?;
    extract::write_file(&dest.join("src/lib.rs"), b"", false)?;
    Ok(stub)
}

/// Every non-directory entry under a vendored crate's directory except its checksum file, as
/// (`/`-separated relative path, path, metadata with links not followed) — the one walk both
/// `--verify` and re-vendoring make. Bounded in directories visited.
fn crate_entries(dir: &Path) -> Result<Vec<(String, PathBuf, std::fs::Metadata)>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    let mut visited = 0usize;
    while let Some(cur) = stack.pop() {
        visited += 1;
        if visited > 1_000_000 {
            bail!("{}: too many directories", dir.display());
        }
        for e in std::fs::read_dir(&cur)?.flatten() {
            let path = e.path();
            let meta = std::fs::symlink_metadata(&path)?;
            if meta.is_dir() {
                stack.push(path);
                continue;
            }
            let rel = path
                .strip_prefix(dir)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            if rel != CHECKSUM {
                out.push((rel, path, meta));
            }
        }
    }
    Ok(out)
}

/// What vendoring `p` from its source yields (hashes only, nothing written).
fn expected_files(p: &Planned) -> Result<BTreeMap<String, FileEntry>> {
    let files = if p.git {
        let src = p
            .from
            .first()
            .ok_or_else(|| anyhow!("{}: no checkout", p.name))?;
        copy_git_package(src, None)?
    } else {
        let sum = p.checksum.as_deref().unwrap_or_default();
        let (path, bytes) = read_checked(&p.from, &p.name, &p.version, sum)?;
        extract::extract_bytes(&bytes, &path, &format!("{}-{}", p.name, p.version), None)?
    };
    Ok(if p.stub { stub_files(&files)? } else { files })
}

/// Reuse `old` (the crate's directory in the current tree) for `dest` when it holds exactly
/// what vendoring `p` from its (lock-checked) source would write — every file's content and
/// mode, and cargo's checksum file — so neither the manifest nor the checksum file in the tree
/// has to be trusted. The files are hard-linked (copied where links are not possible). `None`
/// when anything differs or cannot be read: the crate is then vendored afresh.
fn reuse(old: &Path, p: &Planned, dest: &Path) -> Result<Option<BTreeMap<String, FileEntry>>> {
    let files = expected_files(p)?;
    let check = || -> Option<()> {
        let sums = std::fs::read_to_string(old.join(CHECKSUM)).ok()?;
        if sums != tree::cargo_checksum_json(&files, p.checksum.as_deref()) {
            return None;
        }
        let entries = crate_entries(old).ok()?;
        for (rel, path, meta) in &entries {
            let want = files.get(rel)?;
            if !extract::written_as(meta, path, want)
                || (want.link.is_none() && sha256_file(path).ok()? != want.sha256)
            {
                return None;
            }
        }
        (entries.len() == files.len()).then_some(())
    };
    if check().is_none() {
        return Ok(None);
    }
    for (rel, link) in files
        .iter()
        .map(|(k, f)| (k.as_str(), f.link.as_deref()))
        .chain(std::iter::once((CHECKSUM, None)))
    {
        let (from, to) = (old.join(rel), dest.join(rel));
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)?;
        }
        if let Some(text) = link {
            #[cfg(unix)]
            std::os::unix::fs::symlink(text, &to)
                .with_context(|| format!("linking {}", to.display()))?;
            #[cfg(not(unix))]
            let _ = text;
        } else if std::fs::hard_link(&from, &to).is_err() {
            std::fs::copy(&from, &to).with_context(|| format!("copying {}", from.display()))?;
        }
    }
    Ok(Some(files))
}

/// A registry crate's files as vendoring its archive from cargo's cache would write them, when
/// the archive is there and matches the recorded package checksum; `None` otherwise (git
/// crates, stubs, an empty cache).
fn from_cache(r: &CrateRecord) -> Option<BTreeMap<String, FileEntry>> {
    let sum = r.package.as_deref()?;
    if r.stub {
        return None;
    }
    let home = cargo_home().ok()?;
    let from = cached_crates(&home, &r.name, &r.version).ok()?;
    let (path, bytes) = read_checked(&from, &r.name, &r.version, sum).ok()?;
    extract::extract_bytes(&bytes, &path, &format!("{}-{}", r.name, r.version), None).ok()
}

/// The TOML cargo vendor prints.
fn config_text(dir_shown: &str, sources: &BTreeSet<String>) -> String {
    let q = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
    let mut tables: BTreeMap<String, String> = BTreeMap::new();
    for s in sources {
        if s == CRATES_IO_REGISTRY || s == CRATES_IO_SPARSE {
            tables.insert(
                "crates-io".into(),
                "replace-with = \"vendored-sources\"\n".into(),
            );
            continue;
        }
        match SourceKind::parse(s) {
            SourceKind::Registry(url) | SourceKind::Sparse(url) => {
                let registry = if s.starts_with("sparse+") {
                    s.clone()
                } else {
                    url.to_string()
                };
                tables.insert(
                    url.to_string(),
                    format!(
                        "registry = {}\nreplace-with = \"vendored-sources\"\n",
                        q(&registry)
                    ),
                );
            }
            SourceKind::Git { url, reference, .. } => {
                let mut body = format!("git = {}\n", q(url));
                if let Some((k, v)) = reference.split_once('=')
                    && matches!(k, "branch" | "tag" | "rev")
                {
                    body.push_str(&format!("{k} = {}\n", q(v)));
                }
                body.push_str("replace-with = \"vendored-sources\"\n");
                // cargo names the table after the source without the locked commit.
                let key = s.split('#').next().unwrap_or(s).to_string();
                tables.insert(key, body);
            }
            SourceKind::Other(_) => {}
        }
    }
    tables.insert(
        "vendored-sources".into(),
        format!("directory = {}\n", q(dir_shown)),
    );
    let key = |k: &str| {
        if k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            k.to_string()
        } else {
            q(k)
        }
    };
    tables
        .iter()
        .map(|(k, body)| format!("[source.{}]\n{body}", key(k)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The cargo configuration at `path` (empty if missing) with the `[source.*]` tables of
/// `config` merged in, keeping every other key, comment and the layout. An existing file that
/// is not valid TOML, or whose `source` entries are not tables, is an input error.
fn merge_config(path: &Path, config: &str) -> Result<String> {
    let current = match std::fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let mut doc: toml_edit::DocumentMut = current
        .parse()
        .map_err(|e: toml_edit::TomlError| crate::error::InputError::toml(path, &current, &e))?;
    let ours: toml_edit::DocumentMut = config
        .parse()
        .map_err(|e| anyhow!("internal: the generated configuration is not TOML: {e}"))?;
    let Some(src) = ours.get("source").and_then(|s| s.as_table()) else {
        return Ok(current);
    };
    if !doc.contains_key("source") {
        let mut t = toml_edit::Table::new();
        t.set_implicit(true);
        doc.insert("source", toml_edit::Item::Table(t));
    }
    let Some(dst) = doc.get_mut("source").and_then(|s| s.as_table_like_mut()) else {
        return Err(InputError::at(path, None, None, "`source` is not a table").into());
    };
    for (name, table) in src.iter() {
        let Some(table) = table.as_table() else {
            continue;
        };
        if dst.get(name).is_none() {
            dst.insert(name, toml_edit::Item::Table(toml_edit::Table::new()));
        }
        let Some(entry) = dst.get_mut(name).and_then(|e| e.as_table_like_mut()) else {
            return Err(InputError::at(
                path,
                None,
                None,
                format!("`source.{name}` is not a table"),
            )
            .into());
        };
        // The replacement decides where the source goes: drop keys of another kind.
        for stale in [
            "registry",
            "directory",
            "git",
            "branch",
            "tag",
            "rev",
            "replace-with",
            "local-registry",
        ] {
            if !table.contains_key(stale) {
                entry.remove(stale);
            }
        }
        for (k, v) in table.iter() {
            entry.insert(k, v.clone());
        }
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    Ok(doc.to_string())
}

/// Copy a file, directory or link (not followed) from `from` to `to`.
fn copy_entry(from: &Path, to: &Path, depth: usize) -> Result<()> {
    if depth > 64 {
        bail!("{}: directory nesting too deep", from.display());
    }
    let meta = std::fs::symlink_metadata(from)?;
    if meta.file_type().is_symlink() {
        let target = std::fs::read_link(from)?;
        #[cfg(unix)]
        std::os::unix::fs::symlink(&target, to)?;
        #[cfg(not(unix))]
        let _ = target;
    } else if meta.is_dir() {
        std::fs::create_dir_all(to)?;
        for e in std::fs::read_dir(from)?.flatten() {
            copy_entry(&e.path(), &to.join(e.file_name()), depth + 1)?;
        }
    } else if meta.is_file() {
        std::fs::copy(from, to)?;
    }
    Ok(())
}

/// Refuse a destination that is not a vendor directory: a symlink, a file, the workspace or an
/// ancestor of it, a workspace or path package, or an existing directory holding anything but
/// vendored crates — replacing it would delete someone's work.
fn check_destination(dir: &Path, ws: &Workspace) -> Result<()> {
    let refuse = |why: &str| -> anyhow::Error {
        InputError::at(dir, None, None, format!("refusing to vendor here: {why}")).into()
    };
    let Ok(meta) = std::fs::symlink_metadata(dir) else {
        return Ok(()); // nothing there yet
    };
    if meta.file_type().is_symlink() {
        return Err(refuse("it is a symbolic link (give the real directory)"));
    }
    if !meta.is_dir() {
        return Err(refuse("it is not a directory"));
    }
    let canon = std::fs::canonicalize(dir)?;
    let root = std::fs::canonicalize(&ws.root)?;
    if root.starts_with(&canon) {
        return Err(refuse("it contains the workspace"));
    }
    for m in ws.manifests() {
        if let Some(pkg) = m.path.parent().and_then(|p| std::fs::canonicalize(p).ok())
            && pkg.starts_with(&canon)
        {
            return Err(refuse("it contains a workspace package"));
        }
    }
    if !is_vendor_tree(&canon) {
        return Err(refuse(
            "it exists and holds files that are not vendored crates (remove it or pick another directory)",
        ));
    }
    Ok(())
}

/// Empty, ours (has the manifest), or cargo vendor's (every non-dot entry is a directory with a
/// `.cargo-checksum.json`).
fn is_vendor_tree(dir: &Path) -> bool {
    if dir.join(MANIFEST).is_file() {
        return true;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().all(|e| {
        let name = e.file_name();
        name.to_string_lossy().starts_with('.') || e.path().join(CHECKSUM).is_file()
    })
}

/// How staging directories for DIR begin (`.vendor.slsa-staging-…` beside `vendor`).
fn staging_prefix(dir: &Path) -> String {
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("vendor");
    format!(".{name}.slsa-staging-")
}

/// The staging directories beside DIR (of this run, or left by interrupted ones); `None` if
/// DIR's parent cannot be read.
fn staging_siblings(dir: &Path) -> Option<Vec<PathBuf>> {
    let prefix = staging_prefix(dir);
    let entries = std::fs::read_dir(dir.parent()?).ok()?;
    Some(
        entries
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
            .map(|e| e.path())
            .collect(),
    )
}

/// Whether an interrupted run left anything for [`recover`] to do.
fn needs_recovery(dir: &Path) -> bool {
    staging_siblings(dir).is_none_or(|s| !s.is_empty())
        || std::fs::symlink_metadata(sibling(dir, "slsa-old")).is_ok()
        || std::fs::symlink_metadata(dir.join(MOVED)).is_ok()
}

/// Put back a tree left by a run killed between the two renames of the swap, and remove
/// staging directories of runs killed earlier.
fn recover(dir: &Path) -> Result<bool> {
    let old = sibling(dir, "slsa-old");
    for staging in staging_siblings(dir).unwrap_or_default() {
        // Crates the killed run had moved out of the old tree go back to it first
        // (to DIR, or to DIR.slsa-old when the run died inside the swap).
        if dir.is_dir() {
            put_back(&staging, dir)?;
        } else if old.is_dir() {
            put_back(&staging, &old)?;
        }
        let _ = std::fs::remove_dir_all(&staging);
    }
    let _ = std::fs::remove_dir_all(dir.join(MOVED));
    let old_exists = std::fs::symlink_metadata(&old).is_ok();
    if std::fs::symlink_metadata(dir).is_err() && old_exists {
        std::fs::rename(&old, dir).with_context(|| format!("restoring {}", dir.display()))?;
        return Ok(true);
    }
    if old_exists {
        if old.is_dir() {
            std::fs::remove_dir_all(&old)?;
        } else {
            std::fs::remove_file(&old)?;
        }
    }
    Ok(false)
}

fn sibling(dir: &Path, suffix: &str) -> PathBuf {
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("vendor");
    dir.with_file_name(format!("{name}.{suffix}"))
}

/// Run `cargo slsa vendor`.
/// DIR: the argument (default `vendor`), relative to the workspace root.
/// DIR: a relative one is taken from the working directory, as cargo vendor takes it; without
/// one, `vendor` in the workspace root.
fn vendor_dir(root: &Path, cwd: &Path, args: &VendorArgs) -> PathBuf {
    match &args.dir {
        None => root.join("vendor"),
        Some(d) if d.is_absolute() => d.clone(),
        Some(d) => cwd.join(d),
    }
}

fn read_manifest(dir: &Path) -> Manifest {
    std::fs::read_to_string(dir.join(MANIFEST))
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default()
}

/// A staging directory beside DIR, with its put-back guard.
fn new_staging(dir: &Path, root: &Path) -> Result<(tempfile::TempDir, PutBackGuard)> {
    let parent = dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| root.to_path_buf());
    std::fs::create_dir_all(&parent)?;
    let staging = tempfile::Builder::new()
        .prefix(&staging_prefix(dir))
        .tempdir_in(&parent)
        .with_context(|| format!("creating a staging directory in {}", parent.display()))?;
    let guard = PutBackGuard {
        staging: staging.path().to_path_buf(),
        dir: dir.to_path_buf(),
        armed: true,
    };
    Ok((staging, guard))
}

/// What identifies a planned crate's content.
type PlanKey = (String, String, String, Option<String>);

fn plan_key(p: &Planned) -> PlanKey {
    (
        p.name.clone(),
        p.version.clone(),
        p.source.clone(),
        p.checksum.clone(),
    )
}

/// Vendor every crate of `plan` whose `pre` slot is empty into `staging`, on every core;
/// results in plan order. With `stop_on_error` the first failure stops the rest (a crate not
/// attempted has no result).
#[allow(clippy::too_many_arguments)]
fn vendor_all(
    plan: &[Planned],
    pre: Vec<Option<Vendored>>,
    old: &Manifest,
    cached: &BTreeMap<String, StatEntry>,
    dir: &Path,
    staging: &Path,
    stop_on_error: bool,
    on_done: &(dyn Fn(&Planned) + Sync),
) -> Result<Vec<Option<Vendored>>> {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(8);
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let todo: Vec<bool> = pre.iter().map(Option::is_none).collect();
    let results = std::sync::Mutex::new(pre);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(p) = plan.get(i) else { break };
                    if stop_on_error && failed.load(Ordering::Relaxed) {
                        break;
                    }
                    if !todo.get(i).copied().unwrap_or(false) {
                        on_done(p);
                        continue;
                    }
                    let res =
                        vendor_one(p, old.crates.get(&p.dir), cached.get(&p.dir), dir, staging);
                    if res.is_err() {
                        failed.store(true, Ordering::Relaxed);
                    }
                    on_done(p);
                    if let Ok(mut r) = results.lock()
                        && let Some(slot) = r.get_mut(i)
                    {
                        *slot = Some(res);
                    }
                }
            });
        }
    });
    results
        .into_inner()
        .map_err(|_| anyhow!("a vendoring thread panicked"))
}

/// Crates vendored while `cargo metadata` was still resolving: the registry crates of the
/// Cargo.lock under the root cargo is expected to report, each checked against the lock's
/// checksum as always. The run keeps this work only when cargo reports that root and the lock
/// is byte for byte the one planned from (so the plan is the same); otherwise it is dropped,
/// which puts any crate moved out of DIR back and removes the staging tree.
struct Prefetch {
    dir: PathBuf,
    lock_bytes: Vec<u8>,
    // Declaration order is drop order: moved crates go back before the staging tree is removed.
    guard: PutBackGuard,
    staging: tempfile::TempDir,
    done: HashMap<String, (PlanKey, VendoredCrate)>,
}

/// Start vendoring from the lock on disk (see [`Prefetch`]); `None` whenever anything is not
/// plainly the usual case (verification, `--platform`, a DIR the run would refuse, no lock),
/// leaving all of it to the checked path.
fn prefetch(root: &Path, cwd: &Path, args: &VendorArgs) -> Option<Prefetch> {
    if args.verify || !args.platform.is_empty() {
        return None;
    }
    let dir = vendor_dir(root, cwd, args);
    match std::fs::symlink_metadata(&dir) {
        Err(_) => {}
        Ok(m) if m.is_dir() => {
            let canon = std::fs::canonicalize(&dir).ok()?;
            let root_c = std::fs::canonicalize(root).ok()?;
            if root_c.starts_with(&canon) || !is_vendor_tree(&canon) {
                return None;
            }
        }
        Ok(_) => return None,
    }
    if !dir.parent().is_some_and(Path::is_dir) {
        return None;
    }
    let lock_path = root.join("Cargo.lock");
    let lock_bytes = std::fs::read(&lock_path).ok()?;
    let lock = Lockfile::parse(&lock_path, String::from_utf8(lock_bytes.clone()).ok()?).ok()?;
    let names = dir_names(&lock, args.versioned_dirs).ok()?;
    let home = cargo_home().ok()?;
    let mut plan = Vec::new();
    for p in &lock.packages {
        let (Some(source), Some(checksum)) = (&p.source, &p.checksum) else {
            continue;
        };
        if source.starts_with("git+") {
            continue;
        }
        let key = (p.name.clone(), p.version.clone(), source.clone());
        let (Some(dir_name), Ok(from)) =
            (names.get(&key), cached_crates(&home, &p.name, &p.version))
        else {
            continue;
        };
        plan.push(Planned {
            name: p.name.clone(),
            version: p.version.clone(),
            source: source.clone(),
            checksum: Some(checksum.clone()),
            dir: dir_name.clone(),
            from,
            git: false,
            stub: false,
        });
    }
    // Left by an interrupted run: the checked path repairs that first.
    if needs_recovery(&dir) {
        return None;
    }
    // DIR itself is not touched: cargo may be reading it right now (a source replacement
    // pointing at it), so crates DIR already holds are left to the checked path.
    let old = read_manifest(&dir);
    plan.retain(|p| !old.crates.contains_key(&p.dir));
    let (staging, guard) = new_staging(&dir, root).ok()?;
    let pre = plan.iter().map(|_| None).collect();
    let results = vendor_all(
        &plan,
        pre,
        &Manifest::default(),
        &BTreeMap::new(),
        &dir,
        staging.path(),
        false,
        &|_| {},
    );
    let mut done = HashMap::new();
    for (p, r) in plan.iter().zip(results.ok()?) {
        match r {
            Some(Ok(v)) => {
                done.insert(p.dir.clone(), (plan_key(p), v));
            }
            // Redone by the checked path; nothing half-written may stay behind.
            _ => {
                if std::fs::remove_dir_all(staging.path().join(&p.dir)).is_err()
                    && staging.path().join(&p.dir).exists()
                {
                    return None;
                }
            }
        }
    }
    Some(Prefetch {
        dir,
        lock_bytes,
        guard,
        staging,
        done,
    })
}

pub fn run(ctx: &Ctx, args: &VendorArgs) -> Result<Output> {
    let cargo = Cargo::new(ctx.offline, ctx.progress());
    // While cargo resolves, registry crates are already vendored from the lock on disk; that
    // work is kept only if cargo then agrees (see `Prefetch`).
    let (ws, prefetched) =
        Workspace::load_with(ctx, &cargo, |root| prefetch(root, &ctx.cwd, args))?;
    let prefetched = prefetched.flatten();
    let dir_arg = args.dir.clone().unwrap_or_else(|| PathBuf::from("vendor"));
    let dir = vendor_dir(&ws.root, &ctx.cwd, args);
    let lock = match (ws.lock_state, &ws.lock) {
        (LockState::Fresh, Some(l)) => l,
        _ => {
            return Err(InputError::at(
                ws.lock_path(),
                None,
                None,
                "Cargo.lock is missing or out of date: vendoring needs the locked versions (run `cargo slsa pin`)",
            )
            .into());
        }
    };
    if args.verify {
        return Ok(Output::Report(verify(&dir, lock)?));
    }

    check_destination(&dir, &ws)?;
    let mut report = Report::new("vendor", VendorCode::rules());
    let lock_bytes = std::fs::read(&lock.path).ok();
    // Dropping a prefetch that does not match puts its moved crates back and removes its tree.
    let prefetched =
        prefetched.filter(|p| p.dir == dir && lock_bytes.as_deref() == Some(&p.lock_bytes[..]));
    // (A prefetch only starts when there is nothing to recover.)
    if prefetched.is_none() && recover(&dir)? {
        report.notes.push(format!(
            "restored {} from an interrupted run",
            dir.display()
        ));
    }
    if !ctx.offline {
        let spinner = ctx
            .progress()
            .spinner("fetching locked crates (cargo fetch --locked)");
        let mut cmd = cargo.command(&["fetch", "--locked", "--manifest-path"]);
        cmd.arg(&ws.root_manifest.path);
        let out = cmd.output().context("running cargo fetch")?;
        drop(spinner);
        if !out.status.success() {
            bail!(
                "cargo fetch --locked failed:\n{}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
    }
    let graph = ws
        .graph()?
        .ok_or_else(|| anyhow!("cargo metadata gave no dependency graph"))?;
    let home = cargo_home()?;

    // Everything in the lock that is not a path package, as cargo vendor does.
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
    let locked: Vec<&crate::workspace::LockPackage> = lock
        .packages
        .iter()
        .filter(|p| p.source.is_some())
        .collect();
    let names = dir_names(lock, args.versioned_dirs)?;
    // `--platform`: what a build for those targets (or its tests) can compile.
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
    let mut plan = Vec::new();
    for p in &locked {
        let source = p.source.clone().unwrap_or_default();
        let key = (p.name.clone(), p.version.clone(), source.clone());
        let dir_name = names.get(&key).cloned().unwrap_or_else(|| p.name.clone());
        let git = source.starts_with("git+");
        let from = if git {
            vec![git_dirs.get(&key).cloned().ok_or_else(|| {
                anyhow!(
                    "{} {} ({source}) is not in cargo's git checkouts: run `cargo fetch --locked`",
                    p.name,
                    p.version
                )
            })?]
        } else {
            let sum = p.checksum.as_deref().ok_or_else(|| {
                InputError::at(
                    &lock.path,
                    Some(p.line),
                    None,
                    format!("{} {} has no checksum in Cargo.lock", p.name, p.version),
                )
            })?;
            let _ = sum;
            cached_crates(&home, &p.name, &p.version)?
        };
        let stub = needed.as_ref().is_some_and(|n| !n.contains(&key));
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

    // Build the new tree in a staging directory beside DIR (the prefetch's, when kept).
    let (staging, guard, mut done) = match prefetched {
        Some(p) => (p.staging, p.guard, p.done),
        None => {
            let (staging, guard) = new_staging(&dir, &ws.root)?;
            (staging, guard, HashMap::new())
        }
    };
    // Declared after `staging`, so it is dropped first: on any error before the swap, crate
    // directories moved into the staging tree go back to DIR before the staging tree is removed.
    let mut put_back_guard = guard;
    let mut pre: Vec<Option<Vendored>> = Vec::with_capacity(plan.len());
    for p in &plan {
        pre.push(match done.remove(&p.dir) {
            Some((key, v)) if key == plan_key(p) && !p.git && !p.stub => Some(Ok(v)),
            Some(_) => bail!("internal error: a prefetched crate does not match the plan"),
            None => None,
        });
    }
    if !done.is_empty() {
        bail!("internal error: prefetched crates that are not in the plan");
    }
    let prefetched_count = pre.iter().filter(|r| r.is_some()).count();
    let stat_path = stat_cache_path(&ws.root);
    let mut stat_cache: StatCache = std::fs::read_to_string(&stat_path)
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default();
    let dir_key = dir.display().to_string();
    let cached_stats = stat_cache.dirs.remove(&dir_key).unwrap_or_default();
    let bar = ctx
        .progress()
        .spinner(format!("vendoring {} crates", plan.len()));
    let mut manifest = Manifest {
        version: 1,
        crates: BTreeMap::new(),
    };
    let old_manifest = read_manifest(&dir);
    let mut reused_count = 0usize;
    let mut fingerprints: BTreeMap<String, String> = BTreeMap::new();
    let mut sources = BTreeSet::new();
    let done_count = std::sync::atomic::AtomicUsize::new(0);
    let results = vendor_all(
        &plan,
        pre,
        &old_manifest,
        &cached_stats,
        &dir,
        staging.path(),
        true,
        &|p: &Planned| {
            let n = done_count.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            bar.set_message(format!(
                "vendoring {n}/{}: {} {}",
                plan.len(),
                p.name,
                p.version
            ));
        },
    )?;
    for (p, res) in plan.iter().zip(results) {
        // A crate not attempted (another one failed first) has no result; the error wins.
        let Some(res) = res else { continue };
        let (record, reused, fp) = res?;
        if let Some(fp) = fp {
            fingerprints.insert(p.dir.clone(), fp);
        }
        if reused {
            reused_count += 1;
        }
        manifest.crates.insert(p.dir.clone(), record);
        sources.insert(p.source.clone());
    }
    if manifest.crates.len() != plan.len() {
        bail!("vendoring stopped before every crate was written");
    }
    drop(bar);
    // Dot entries cargo vendor keeps in an existing DIR (it never deletes them) survive too,
    // copied as they are (links stay links).
    if dir.is_dir() {
        for e in std::fs::read_dir(&dir)?.flatten() {
            let name = e.file_name();
            let n = name.to_string_lossy();
            if n.starts_with('.') && n != MANIFEST {
                copy_entry(&e.path(), &staging.path().join(&name), 0)?;
            }
        }
    }
    std::fs::write(staging.path().join(MANIFEST), manifest.to_json())?;

    // The configuration is prepared (and a bad existing config refused) before the swap.
    // Printed as given (like cargo vendor); written into the workspace's configuration
    // relative to the workspace root, which is what a relative `directory` there is read from.
    let shown = dir_arg.to_string_lossy().replace('\\', "/");
    let config = config_text(&shown, &sources);
    let config_path = ws.root.join(".cargo").join("config.toml");
    let merged = if args.write_config {
        let from_root = crate::fsx::normalize_lexically(&dir);
        let in_config = from_root
            .strip_prefix(crate::fsx::normalize_lexically(&ws.root))
            .map(Path::to_path_buf)
            .unwrap_or(from_root);
        let in_config = in_config.to_string_lossy().replace('\\', "/");
        Some(merge_config(
            &config_path,
            &config_text(&in_config, &sources),
        )?)
    } else {
        None
    };

    // Fault injection for the kill tests (like cargo's own `__CARGO_TEST_*` variables): hold
    // the run here, every crate staged and moved, so a test can kill it at this exact point.
    if let Some(ms) = std::env::var("__CARGO_SLSA_TEST_PAUSE_BEFORE_SWAP_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        std::thread::sleep(std::time::Duration::from_millis(ms.min(60_000)));
    }
    // Swap. Where the system can exchange two entries in one step, staging and DIR trade
    // places: DIR is the old tree until that instant and the new one after; the old tree, now
    // at the staging path, is removed with it. Otherwise: DIR → DIR.slsa-old, staging → DIR
    // (a run killed between the two renames leaves DIR.slsa-old, which the next run restores).
    // The staging directory stays owned by its guard until the swap succeeds, so any failure
    // removes it.
    if dir.is_dir() && crate::fsx::exchange(staging.path(), &dir).is_ok() {
        // The staging path now holds the old tree: no moved crates to put back from it.
        put_back_guard.armed = false;
        drop(put_back_guard);
        let _ = std::fs::remove_dir_all(dir.join(MOVED));
        // The run has succeeded; an old tree that cannot be removed now is removed by the next.
        let old_path = staging.path().to_path_buf();
        if let Err(e) = staging.close() {
            report.notes.push(format!(
                "could not remove the previous tree at {} ({e}); the next run removes it",
                old_path.display()
            ));
        }
    } else {
        let old = sibling(&dir, "slsa-old");
        let had_old = dir.exists();
        if had_old {
            std::fs::rename(&dir, &old)
                .with_context(|| format!("moving {} aside", dir.display()))?;
        }
        if let Err(e) = std::fs::rename(staging.path(), &dir) {
            if had_old {
                let _ = std::fs::rename(&old, &dir);
            }
            return Err(e).with_context(|| format!("moving the new tree to {}", dir.display()));
        }
        // The staged path no longer exists; the guards' cleanup finds nothing to do.
        put_back_guard.armed = false;
        drop(put_back_guard);
        drop(staging);
        let _ = std::fs::remove_dir_all(dir.join(MOVED));
        if had_old {
            std::fs::remove_dir_all(&old).with_context(|| format!("removing {}", old.display()))?;
        }
    }
    // Remember how each crate directory looks on this machine, for the next run.
    let entries = manifest
        .crates
        .iter()
        .filter_map(|(name, record)| {
            let fingerprint = fingerprints.remove(name)?;
            Some((
                name.clone(),
                StatEntry {
                    tree: record.tree.clone(),
                    fingerprint,
                },
            ))
        })
        .collect();
    stat_cache.dirs.insert(dir_key, entries);
    if let Some(parent) = stat_path.parent()
        && std::fs::create_dir_all(parent).is_ok()
        && let Ok(json) = serde_json::to_vec(&stat_cache)
    {
        // Best effort: without the cache the next run reads every crate instead.
        let _ = crate::fsx::write_atomic(&stat_path, &json);
    }
    report.changes.push(Change {
        file: dir.clone(),
        description: format!(
            "vendored {} crates ({} unchanged and verified, {} written)",
            plan.len(),
            reused_count,
            plan.len() - reused_count
        ),
    });
    report.summary.insert("crates".into(), json!(plan.len()));
    report.summary.insert("reused".into(), json!(reused_count));
    report
        .summary
        .insert("prefetched".into(), json!(prefetched_count));
    report.summary.insert(
        "stubs".into(),
        json!(plan.iter().filter(|p| p.stub).count()),
    );
    report.summary.insert("directory".into(), json!(dir));
    report.summary.insert("config".into(), json!(config));
    if let Some(text) = merged {
        if crate::fsx::write_if_changed(&config_path, text.as_bytes())? {
            report.changes.push(Change {
                file: config_path,
                description: "source replacement for the vendored crates".into(),
            });
        }
        return Ok(Output::Report(report));
    }
    Ok(Output::Config(config.into_bytes(), report))
}

/// `vendor --verify`: the tree against its manifest, its checksum files and Cargo.lock.
fn verify(dir: &Path, lock: &Lockfile) -> Result<Report> {
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
        if staging.join(MOVED).is_dir() {
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
