//! The stat cache (`target/slsa/vendor-stat.json`, never in the committed tree: inodes and
//! times are this machine's): how each crate directory looked when this machine wrote it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use sha2::{Digest, Sha256};

use super::tree::CHECKSUM;

/// A crate's entry in the stat cache: its tree digest and the fingerprint of its directory.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(super) struct StatEntry {
    pub(super) tree: String,
    pub(super) fingerprint: String,
}

/// The stat cache (in the target directory, never in the committed tree: inodes and times are
/// this machine's): vendor directory → crate directory → entry.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct StatCache {
    pub(super) dirs: BTreeMap<String, BTreeMap<String, StatEntry>>,
    /// Vendor directory → what its last run vendored from (see [`super::record`]).
    #[serde(default)]
    pub(super) runs: BTreeMap<String, super::record::RunRecord>,
}

pub(super) fn stat_cache_path(root: &Path) -> PathBuf {
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
pub(super) fn fingerprint(crate_dir: &Path) -> Result<String> {
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

/// The fingerprints of `names` under `dir`, on every core (a crate that cannot be read is
/// left out).
pub(super) fn fingerprints(dir: &Path, names: &[&str]) -> BTreeMap<String, String> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(8);
    let next = AtomicUsize::new(0);
    let out = Mutex::new(BTreeMap::new());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                let mut mine = Vec::new();
                while let Some(name) = names.get(next.fetch_add(1, Ordering::Relaxed)) {
                    if let Ok(fp) = fingerprint(&dir.join(name)) {
                        mine.push((name.to_string(), fp));
                    }
                }
                if let Ok(mut o) = out.lock() {
                    o.extend(mine);
                }
            });
        }
    });
    out.into_inner().unwrap_or_default()
}

/// Every non-directory entry under a vendored crate's directory except its checksum file, as
/// (`/`-separated relative path, path, metadata with links not followed) — the one walk both
/// `--verify` and re-vendoring make. Bounded in directories visited.
pub(super) fn crate_entries(dir: &Path) -> Result<Vec<(String, PathBuf, std::fs::Metadata)>> {
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
