//! The RustSec advisory database: where it is, fetching it, and loading only what a lockfile needs.
//!
//! Fetching uses the `rustsec` crate's git support (gix over HTTPS, with its own directory lock),
//! into `$CARGO_HOME/advisory-db` — the same place and the same way as cargo-audit, so the two
//! tools share one copy. Loading reads `crates/<name>/*.md` only for the crate names in the lock
//! and parses each with `rustsec::Advisory::load_file`: a lock of a few hundred crates touches a
//! few dozen advisories instead of the whole database, which is most of why `audit` is fast.

use crate::refs::is_sha;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use rustsec::Advisory;
use rustsec::repository::git::{DEFAULT_URL, Repository};

use crate::cli::AuditArgs;
use crate::error::InputError;
use crate::progress::Progress;

/// How long to wait for another process holding the database directory lock.
const LOCK_TIMEOUT: Duration = Duration::from_secs(120);

/// A located (and possibly freshly fetched) database.
#[derive(Debug, Clone)]
pub struct Db {
    /// Directory holding `crates/`.
    pub path: PathBuf,
    /// HEAD commit when the directory is a git checkout.
    pub commit: Option<String>,
    /// Whether this run fetched it.
    pub fetched: bool,
}

/// Find the database: `--db` as is; otherwise `$CARGO_HOME/advisory-db`, fetched first unless
/// `--no-fetch` or `--offline`.
pub fn locate(args: &AuditArgs, offline: bool, progress: &Progress) -> Result<Db> {
    if let Some(path) = &args.source.db {
        check_layout(path)?;
        return Ok(Db {
            path: path.clone(),
            commit: head_commit(path),
            fetched: false,
        });
    }
    let path = Repository::default_path();
    if args.source.no_fetch || offline {
        if !path.join("crates").is_dir() {
            let why = if offline { "--offline" } else { "--no-fetch" };
            return Err(InputError::at(
                &path,
                None,
                None,
                format!(
                    "no advisory database here and {why} forbids fetching it: run once without \
                     {why}, or pass --db PATH"
                ),
            )
            .into());
        }
        return Ok(Db {
            commit: head_commit(&path),
            path,
            fetched: false,
        });
    }
    let url = args.source.db_url.as_deref().unwrap_or(DEFAULT_URL);
    let spinner = progress.spinner(format!("fetching the advisory database from {url}"));
    let repo = Repository::fetch(url, &path, true, LOCK_TIMEOUT).with_context(|| {
        format!(
            "fetching the advisory database from {url} into {}",
            path.display()
        )
    })?;
    drop(spinner);
    let commit = repo.latest_commit().ok().map(|c| c.commit_id.to_string());
    Ok(Db {
        path,
        commit,
        fetched: true,
    })
}

fn check_layout(path: &Path) -> Result<()> {
    if !path.is_dir() {
        return Err(InputError::at(path, None, None, "no such advisory database directory").into());
    }
    if !path.join("crates").is_dir() {
        return Err(InputError::at(
            path,
            None,
            None,
            "not a RustSec advisory database: it has no `crates/` directory",
        )
        .into());
    }
    Ok(())
}

/// HEAD of a git checkout, read without a git library: `.git/HEAD`, then the ref it names (loose
/// or packed). `None` for a plain directory.
fn head_commit(path: &Path) -> Option<String> {
    let git = path.join(".git");
    let head = std::fs::read_to_string(git.join("HEAD")).ok()?;
    let head = head.trim();
    let Some(reference) = head.strip_prefix("ref: ") else {
        return is_sha(head).then(|| head.to_string());
    };
    if let Ok(s) = std::fs::read_to_string(git.join(reference)) {
        let s = s.trim();
        return is_sha(s).then(|| s.to_string());
    }
    let packed = std::fs::read_to_string(git.join("packed-refs")).ok()?;
    packed.lines().find_map(|l| {
        let (sha, name) = l.split_once(' ')?;
        (name == reference && is_sha(sha)).then(|| sha.to_string())
    })
}

/// Every advisory about a crate named in `names`, from `crates/<name>/`. Malformed advisories
/// are input errors naming the file.
pub fn load_for<'a>(db: &Path, names: impl IntoIterator<Item = &'a str>) -> Result<Vec<Advisory>> {
    let crates = db.join("crates");
    let mut out = Vec::new();
    for name in names {
        // Crate names are [A-Za-z0-9_-]; anything else cannot have a directory (and must not
        // be joined onto a path).
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            continue;
        }
        let dir = crates.join(name);
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension().is_some_and(|x| x == "md")
                    && !p
                        .file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with('.'))
            })
            .collect();
        files.sort();
        for file in files {
            let advisory = Advisory::load_file(&file).map_err(|e| {
                InputError::at(&file, None, None, format!("malformed advisory: {e}"))
            })?;
            out.push(advisory);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_commit_reads_loose_and_packed_refs() -> Result<()> {
        let dir = tempfile::tempdir()?;
        assert_eq!(head_commit(dir.path()), None);
        let git = dir.path().join(".git");
        std::fs::create_dir_all(git.join("refs/heads"))?;
        std::fs::write(git.join("HEAD"), "ref: refs/heads/main\n")?;
        let sha = "0123456789abcdef0123456789abcdef01234567";
        std::fs::write(
            git.join("packed-refs"),
            format!("# pack-refs\n{sha} refs/heads/main\n"),
        )?;
        assert_eq!(head_commit(dir.path()).as_deref(), Some(sha));
        let sha2 = "89abcdef0123456789abcdef0123456789abcdef";
        std::fs::write(git.join("refs/heads/main"), format!("{sha2}\n"))?;
        assert_eq!(head_commit(dir.path()).as_deref(), Some(sha2));
        Ok(())
    }
}
