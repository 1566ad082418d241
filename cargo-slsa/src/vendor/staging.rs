//! The staging directory beside DIR, the moves of unchanged crates into it, the swap, and
//! the repair of whatever a killed run left behind; and which destinations are refused.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};

use crate::error::InputError;

use super::tree::{CHECKSUM, MANIFEST};

/// Inside a staging directory: the names of the crate directories moved there from the current
/// tree, one per line, written before the first move. (Earlier versions wrote a directory of
/// empty marker files, one per crate; it is still read.)
pub(super) const MOVED: &str = ".slsa-moved";

/// The crate directories a run recorded as moved into `staging`.
pub(super) fn moved_names(staging: &Path) -> Vec<std::ffi::OsString> {
    let path = staging.join(MOVED);
    match std::fs::symlink_metadata(&path) {
        Ok(m) if m.is_dir() => std::fs::read_dir(&path)
            .map(|d| d.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default(),
        Ok(m) if m.is_file() => std::fs::read_to_string(&path)
            .map(|t| {
                t.lines()
                    .filter(|l| !l.is_empty() && !l.contains('/') && *l != "." && *l != "..")
                    .map(std::ffi::OsString::from)
                    .collect()
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// Record the crate directories about to be moved into `staging` (before the first move).
pub(super) fn record_moves(staging: &Path, names: &[&str]) -> Result<()> {
    if names.is_empty() {
        return Ok(());
    }
    let mut list = names.join("\n");
    list.push('\n');
    crate::fsx::write_atomic(&staging.join(MOVED), list.as_bytes())
}

/// Remove the record of moved crates from `dir` (the tree just swapped in).
pub(super) fn remove_moved_record(dir: &Path) {
    let path = dir.join(MOVED);
    match std::fs::symlink_metadata(&path) {
        Ok(m) if m.is_dir() => {
            let _ = std::fs::remove_dir_all(&path);
        }
        Ok(_) => {
            let _ = std::fs::remove_file(&path);
        }
        Err(_) => {}
    }
}

/// Puts moved crate directories back when dropped armed (every error path before the swap).
pub(super) struct PutBackGuard {
    pub(super) staging: PathBuf,
    pub(super) dir: PathBuf,
    pub(super) armed: bool,
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
pub(super) fn put_back(staging: &Path, dir: &Path) -> Result<usize> {
    let mut n = 0;
    let mut failed: Option<anyhow::Error> = None;
    for name in moved_names(staging) {
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
pub(super) fn move_in(dir: &Path, staging: &Path, name: &str) -> Result<()> {
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

/// Refuse a destination that is not a vendor directory: a symlink, a file, the workspace or an
/// ancestor of it, a workspace or path package, or an existing directory holding anything but
/// vendored crates — replacing it would delete someone's work.
pub(super) fn check_destination(dir: &Path, root: &Path, manifests: &[PathBuf]) -> Result<()> {
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
    {
        use std::os::unix::fs::MetadataExt;
        if let Some(parent) = canon.parent()
            && let Ok(up) = std::fs::metadata(parent)
            && up.dev() != meta.dev()
        {
            return Err(refuse(
                "it is a mount point: the new tree is built beside it and swapped in, which \
                 cannot cross filesystems (vendor into a directory inside it instead)",
            ));
        }
    }
    let root = std::fs::canonicalize(root)?;
    if root.starts_with(&canon) {
        return Err(refuse("it contains the workspace"));
    }
    for m in manifests {
        if let Some(pkg) = m.parent().and_then(|p| std::fs::canonicalize(p).ok())
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
pub(super) fn is_vendor_tree(dir: &Path) -> bool {
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
pub(super) fn staging_prefix(dir: &Path) -> String {
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("vendor");
    format!(".{name}.slsa-staging-")
}

/// The staging directories beside DIR (of this run, or left by interrupted ones); `None` if
/// DIR's parent cannot be read.
pub(super) fn staging_siblings(dir: &Path) -> Option<Vec<PathBuf>> {
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
pub(super) fn needs_recovery(dir: &Path) -> bool {
    staging_siblings(dir).is_none_or(|s| !s.is_empty())
        || std::fs::symlink_metadata(sibling(dir, "slsa-old")).is_ok()
        || std::fs::symlink_metadata(dir.join(MOVED)).is_ok()
}

/// Put back a tree left by a run killed between the two renames of the swap, and remove
/// staging directories of runs killed earlier.
pub(super) fn recover(dir: &Path) -> Result<bool> {
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
    remove_moved_record(dir);
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

pub(super) fn sibling(dir: &Path, suffix: &str) -> PathBuf {
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("vendor");
    dir.with_file_name(format!("{name}.{suffix}"))
}

/// A staging directory beside DIR, with its put-back guard.
pub(super) fn new_staging(dir: &Path, root: &Path) -> Result<(tempfile::TempDir, PutBackGuard)> {
    let parent = dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| root.to_path_buf());
    let staging = std::fs::create_dir_all(&parent).and_then(|()| {
        tempfile::Builder::new()
            .prefix(&staging_prefix(dir))
            .tempdir_in(&parent)
    });
    let staging = match staging {
        Ok(s) => s,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
            ) =>
        {
            return Err(InputError::at(
                dir,
                None,
                None,
                format!(
                    "refusing to vendor here: the new tree is built beside it and swapped in, \
                     and {} cannot be written ({e}); pick a directory whose parent is writable",
                    parent.display()
                ),
            )
            .into());
        }
        Err(e) => {
            return Err(anyhow::Error::new(e).context(format!(
                "creating a staging directory in {}",
                parent.display()
            )));
        }
    };
    let guard = PutBackGuard {
        staging: staging.path().to_path_buf(),
        dir: dir.to_path_buf(),
        armed: true,
    };
    Ok((staging, guard))
}
