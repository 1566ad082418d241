//! Atomic file writes: the one helper every writer in cargo-slsa goes through.
//!
//! A write goes to a temporary file in the destination's directory, is fsynced, renamed over the
//! destination, and the directory is fsynced, so a killed run leaves the old bytes or the new ones,
//! never half. Files that another program (cargo) rewrites in place are protected by a journal:
//! [`ExternalWrite`] keeps the original beside the file until the program has finished, and
//! [`recover`] puts it back if a run died in between.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// Swap two existing directory entries in one step (Linux `renameat2` with
/// `RENAME_EXCHANGE`): no moment in which either path is missing. Fails with
/// [`std::io::ErrorKind::Unsupported`] elsewhere, or where the filesystem refuses, so callers
/// can fall back to plain renames.
pub fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{CWD, RenameFlags, renameat_with};
        renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE).map_err(|e| {
            if e == rustix::io::Errno::INVAL || e == rustix::io::Errno::NOSYS {
                std::io::Error::new(std::io::ErrorKind::Unsupported, e)
            } else {
                std::io::Error::from(e)
            }
        })
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (a, b);
        Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "atomic exchange is only available on Linux",
        ))
    }
}

/// Write `bytes` to `path` atomically, keeping the existing file's permissions.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_all_atomic(&[(path, bytes)])
}

/// Write `path` atomically. A `secret` gets mode 0600 from the start (and keeps it, whatever
/// the file it replaces had); otherwise the usual 0644. Without `replace`, an existing file is
/// never overwritten, even one created by a concurrent run (the rename is no-clobber).
pub fn write_new_or_replace(path: &Path, bytes: &[u8], secret: bool, replace: bool) -> Result<()> {
    let dir = parent_dir(path);
    let mut tmp = tempfile::Builder::new()
        .prefix(".slsa-tmp-")
        .tempfile_in(&dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    if !secret {
        set_default_mode(tmp.path())?;
    }
    tmp.write_all(bytes)
        .with_context(|| format!("writing {}", tmp.path().display()))?;
    tmp.as_file()
        .sync_all()
        .with_context(|| format!("syncing {}", tmp.path().display()))?;
    if replace {
        tmp.persist(path).map_err(|e| e.error)
    } else {
        tmp.persist_noclobber(path).map_err(|e| e.error)
    }
    .with_context(|| format!("writing {}", path.display()))?;
    sync_dir(&dir);
    Ok(())
}

/// Write several files so that none is replaced unless all could be written: every file goes
/// to a temporary file beside its destination first; then each existing destination is kept
/// as a hard-linked backup, and all are renamed into place. If a rename fails, the files
/// already replaced get their backups back, so the set stays old. (A crash during the renames
/// can still leave some old and some new: each file is whole, old or new.)
pub fn write_all_atomic(files: &[(&Path, &[u8])]) -> Result<()> {
    let mut staged = Vec::new();
    let mut unique = std::collections::HashSet::new();
    for (path, _) in files {
        if !unique.insert(*path) {
            anyhow::bail!("{} would be written twice in one run", path.display());
        }
    }
    for (path, bytes) in files {
        if path.is_dir() {
            anyhow::bail!(
                "{} is a directory, not a file that can be replaced",
                path.display()
            );
        }
        let dir = parent_dir(path);
        let mut tmp = tempfile::Builder::new()
            .prefix(".slsa-tmp-")
            .tempfile_in(&dir)
            .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
        tmp.write_all(bytes)
            .with_context(|| format!("writing {}", tmp.path().display()))?;
        match fs::metadata(path) {
            Ok(meta) => fs::set_permissions(tmp.path(), meta.permissions())
                .with_context(|| format!("copying permissions of {}", path.display()))?,
            // tempfile creates 0600; a new project file gets the usual 0644.
            Err(_) => set_default_mode(tmp.path())?,
        }
        tmp.as_file()
            .sync_all()
            .with_context(|| format!("syncing {}", tmp.path().display()))?;
        staged.push((tmp, *path, dir));
    }
    // Backups of what will be replaced (a link costs no copy), so a failed rename can be undone.
    let mut backups: Vec<(PathBuf, &Path)> = Vec::new();
    let cleanup = |backups: &[(PathBuf, &Path)]| {
        for (b, _) in backups {
            let _ = fs::remove_file(b);
        }
    };
    for (_, path, dir) in &staged {
        let Ok(meta) = fs::symlink_metadata(path) else {
            continue;
        };
        let backup = dir.join(format!(
            ".slsa-bak-{}-{}",
            std::process::id(),
            backups.len()
        ));
        let _ = fs::remove_file(&backup);
        // A hard link costs nothing; where the filesystem has none, a copy; a symbolic link is
        // kept as a link.
        let kept = if meta.file_type().is_symlink() {
            fs::read_link(path).and_then(|target| {
                #[cfg(unix)]
                {
                    std::os::unix::fs::symlink(target, &backup)
                }
                #[cfg(not(unix))]
                {
                    let _ = target;
                    Err(std::io::Error::other("links are not kept here"))
                }
            })
        } else if meta.is_file() {
            fs::hard_link(path, &backup).or_else(|_| fs::copy(path, &backup).map(|_| ()))
        } else {
            continue;
        };
        match kept {
            Ok(()) => backups.push((backup, path)),
            Err(e) => {
                cleanup(&backups);
                return Err(anyhow::anyhow!(
                    "cannot keep a backup of {} before replacing it: {e}",
                    path.display()
                ));
            }
        }
    }
    let mut replaced: Vec<&Path> = Vec::new();
    for (tmp, path, dir) in staged {
        if let Err(e) = tmp.persist(path) {
            // Put back what this call already replaced; remove what it created.
            for done in &replaced {
                match backups.iter().find(|(_, p)| p == done) {
                    Some((b, _)) => {
                        let _ = fs::rename(b, done);
                    }
                    None => {
                        let _ = fs::remove_file(done);
                    }
                }
            }
            cleanup(&backups);
            return Err(e.error).with_context(|| format!("replacing {}", path.display()));
        }
        replaced.push(path);
        sync_dir(&dir);
    }
    cleanup(&backups);
    Ok(())
}

/// Write only when the content differs; returns whether the file changed.
pub fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<bool> {
    match fs::read(path) {
        Ok(old) if old == bytes => Ok(false),
        _ => write_atomic(path, bytes).map(|()| true),
    }
}

#[cfg(unix)]
fn set_default_mode(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o644))
        .with_context(|| format!("setting permissions of {}", path.display()))
}

#[cfg(not(unix))]
fn set_default_mode(_path: &Path) -> Result<()> {
    Ok(())
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Make a rename durable. Best effort: some filesystems refuse to open directories for sync.
fn sync_dir(dir: &Path) {
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

const JOURNAL_PRESENT: &[u8] = b"cargo-slsa journal v1: present\n";
const JOURNAL_ABSENT: &[u8] = b"cargo-slsa journal v1: absent\n";

fn journal_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".slsa-journal");
    path.with_file_name(name)
}

/// A file that an external program is about to rewrite in place (cargo and `Cargo.lock`).
///
/// Creating it saves the original next to the file; [`ExternalWrite::commit`] drops the copy once
/// the program succeeded, [`ExternalWrite::rollback`] (also run on drop) restores it atomically.
#[must_use = "commit or roll back the external write"]
pub struct ExternalWrite {
    path: PathBuf,
    journal: PathBuf,
    original: Option<Vec<u8>>,
    done: bool,
}

impl ExternalWrite {
    /// Journal the current content of `path` (or its absence).
    pub fn begin(path: &Path) -> Result<Self> {
        let original = match fs::read(path) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let journal = journal_path(path);
        let mut content = Vec::new();
        match &original {
            Some(bytes) => {
                content.extend_from_slice(JOURNAL_PRESENT);
                content.extend_from_slice(bytes);
            }
            None => content.extend_from_slice(JOURNAL_ABSENT),
        }
        write_atomic(&journal, &content)?;
        Ok(ExternalWrite {
            path: path.to_path_buf(),
            journal,
            original,
            done: false,
        })
    }

    /// The program succeeded: keep its output, drop the journal.
    pub fn commit(mut self) -> Result<()> {
        self.done = true;
        fs::remove_file(&self.journal)
            .with_context(|| format!("removing {}", self.journal.display()))?;
        sync_dir(&parent_dir(&self.path));
        Ok(())
    }

    /// The program failed: put the original back.
    pub fn rollback(mut self) -> Result<()> {
        self.done = true;
        restore(&self.path, self.original.as_deref())?;
        let _ = fs::remove_file(&self.journal);
        Ok(())
    }
}

impl Drop for ExternalWrite {
    fn drop(&mut self) {
        if !self.done {
            let _ = restore(&self.path, self.original.as_deref());
            let _ = fs::remove_file(&self.journal);
        }
    }
}

fn restore(path: &Path, original: Option<&[u8]>) -> Result<()> {
    match original {
        Some(bytes) => write_if_changed(path, bytes).map(|_| ()),
        None => match fs::remove_file(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e).with_context(|| format!("removing {}", path.display())),
        },
    }
}

/// Finish what a killed run left behind: if `path` has a journal, restore the journaled original.
/// Returns true when something was restored, so the caller can say so.
pub fn recover(path: &Path) -> Result<bool> {
    let journal = journal_path(path);
    let content = match fs::read(&journal) {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e).with_context(|| format!("reading {}", journal.display())),
    };
    let original = if let Some(rest) = content.strip_prefix(JOURNAL_PRESENT) {
        Some(rest)
    } else if content == JOURNAL_ABSENT {
        None
    } else {
        anyhow::bail!(
            "{} is not a cargo-slsa journal; move it away and run again",
            journal.display()
        );
    };
    restore(path, original)?;
    fs::remove_file(&journal).with_context(|| format!("removing {}", journal.display()))?;
    Ok(true)
}

/// `path` with `.` and `..` resolved lexically (without touching the file system): what a path
/// given relative to a working directory names, for comparison with another such path.
pub fn normalize_lexically(path: &Path) -> std::path::PathBuf {
    use std::path::Component;
    let mut out = std::path::PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_atomic_replaces_and_keeps_mode() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let p = dir.path().join("f.txt");
        write_atomic(&p, b"one")?;
        assert_eq!(fs::read(&p)?, b"one");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(fs::metadata(&p)?.permissions().mode() & 0o777, 0o644);
            fs::set_permissions(&p, fs::Permissions::from_mode(0o755))?;
        }
        assert!(write_if_changed(&p, b"two")?);
        assert!(!write_if_changed(&p, b"two")?);
        assert_eq!(fs::read(&p)?, b"two");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(fs::metadata(&p)?.permissions().mode() & 0o777, 0o755);
        }
        // No temporary files are left behind.
        let names: Vec<_> = fs::read_dir(dir.path())?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        Ok(())
    }

    #[test]
    fn external_write_rolls_back_on_drop_and_recovers_after_a_kill() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let p = dir.path().join("Cargo.lock");
        fs::write(&p, "old")?;
        {
            let _guard = ExternalWrite::begin(&p)?;
            fs::write(&p, "half-writ")?;
        }
        assert_eq!(fs::read_to_string(&p)?, "old");

        let guard = ExternalWrite::begin(&p)?;
        fs::write(&p, "new")?;
        guard.commit()?;
        assert_eq!(fs::read_to_string(&p)?, "new");
        assert!(!journal_path(&p).exists());

        // A run killed mid-write leaves the journal: recover() restores the original.
        let guard = ExternalWrite::begin(&p)?;
        fs::write(&p, "ne")?;
        std::mem::forget(guard);
        assert!(recover(&p)?);
        assert_eq!(fs::read_to_string(&p)?, "new");
        assert!(!recover(&p)?);

        // Journaled absence: the half-written file is removed.
        let q = dir.path().join("absent.lock");
        let guard = ExternalWrite::begin(&q)?;
        fs::write(&q, "partial")?;
        std::mem::forget(guard);
        assert!(recover(&q)?);
        assert!(!q.exists());
        Ok(())
    }
}
