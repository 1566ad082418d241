//! Writing one crate into the staging tree — moved as it is when the stat cache says it is
//! unchanged, reused when its files still verify, else extracted or copied afresh — and all of
//! them on every core.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use sha2::{Digest, Sha256};

use super::extract::FileEntry;
use super::tree::{CHECKSUM, CrateRecord, Manifest};
use super::{
    Planned, extract, git::copy_git_package, sha256_file, source::read_checked, staging::move_in,
    stat::StatEntry, stat::crate_entries, stat::fingerprint, tree,
};

/// The outcome of [`vendor_one`]: the crate's record, whether it was reused, and the
/// fingerprint of its directory as written (for the stat cache; `None` if it could not be
/// read, which only costs the next run a full check).
pub(super) type Vendored = Result<VendoredCrate>;

/// A vendored crate: its record, whether it was reused, its directory's fingerprint.
pub(super) type VendoredCrate = (CrateRecord, bool, Option<String>);

/// Whether unchanged crates are moved now or left for a last pass (see [`vendor_all`]).
#[derive(Clone, Copy)]
pub(super) enum Moves<'a> {
    /// Leave crates that can be moved as they are (`None` from [`vendor_one`]): their record
    /// matches and their fingerprint is unchanged — taken from `known` (computed while cargo
    /// ran) where it is there, else now.
    Defer { known: &'a BTreeMap<String, String> },
    /// Move the crates the deferring pass left (it checked them).
    Checked,
}

/// Vendor one crate into `staging/<dir>`: reuse the current tree's copy when its record
/// matches and it still verifies, else extract (registry, after the checksum check) or copy
/// (git). Returns its manifest record and whether it was reused; `None` when it can be moved
/// as it is and `moves` defers that.
pub(super) fn vendor_one(
    p: &Planned,
    previous: Option<&CrateRecord>,
    cached: Option<&StatEntry>,
    dir: &Path,
    staging: &Path,
    moves: Moves<'_>,
) -> Result<Option<VendoredCrate>> {
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
    // (Git crates take the checked path when their checkout is known: they are few, and how
    // they are copied may change between versions of this tool. Without one — the lock-only
    // path, which this tool's version is part of — they can only be moved.)
    if let (Some(prev), Some(entry)) = (previous, cached)
        && (!p.git || p.from.is_empty())
        && entry.tree == prev.tree
        && match moves {
            Moves::Defer { known } => {
                let now = match known.get(&p.dir) {
                    Some(fp) => Some(fp.clone()),
                    None => fingerprint(&dir.join(&p.dir)).ok(),
                };
                if now.as_deref() == Some(entry.fingerprint.as_str()) {
                    return Ok(None);
                }
                false
            }
            Moves::Checked => true,
        }
    {
        // (Recorded as moved before this pass began: see `staging::record_moves`.)
        move_in(dir, staging, &p.dir)
            .with_context(|| format!("moving {} into the new tree", p.dir))?;
        return Ok(Some((prev.clone(), true, Some(entry.fingerprint.clone()))));
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
    Ok(Some((record, was_reused, fingerprint(&dest).ok())))
}

/// The files of a stub: the crate's `Cargo.toml` and an empty `src/lib.rs` (so target
/// discovery still finds a library). Listed in the checksum file like any vendored file; the
/// package checksum stays the lock's.
pub(super) fn stub_files(
    files: &BTreeMap<String, FileEntry>,
) -> Result<BTreeMap<String, FileEntry>> {
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
pub(super) fn stub_out(
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

/// What vendoring `p` from its source yields (hashes only, nothing written).
pub(super) fn expected_files(p: &Planned) -> Result<BTreeMap<String, FileEntry>> {
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
pub(super) fn reuse(
    old: &Path,
    p: &Planned,
    dest: &Path,
) -> Result<Option<BTreeMap<String, FileEntry>>> {
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

/// Vendor every crate of `plan` whose `pre` slot is empty into `staging`, on every core;
/// results in plan order. With `stop_on_error` the first failure stops the rest (a crate not
/// attempted has no result). With [`Moves::Defer`], crates that can be moved from DIR as they
/// are keep an empty slot: a second pass with [`Moves::Checked`] moves them, right before the
/// swap, so DIR shows links into the staging tree only for the moment the moves take (not
/// while the rest is extracted).
#[allow(clippy::too_many_arguments)]
pub(super) fn vendor_all(
    plan: &[Planned],
    pre: Vec<Option<Vendored>>,
    old: &Manifest,
    cached: &BTreeMap<String, StatEntry>,
    dir: &Path,
    staging: &Path,
    stop_on_error: bool,
    moves: Moves<'_>,
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
                    let res = vendor_one(
                        p,
                        old.crates.get(&p.dir),
                        cached.get(&p.dir),
                        dir,
                        staging,
                        moves,
                    );
                    if res.is_err() {
                        failed.store(true, Ordering::Relaxed);
                    }
                    let Some(res) = res.transpose() else {
                        continue; // moved in the last pass
                    };
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

/// Copy a file, directory or link (not followed) from `from` to `to`.
pub(super) fn copy_entry(from: &Path, to: &Path, depth: usize) -> Result<()> {
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
