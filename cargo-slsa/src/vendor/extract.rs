//! Safe extraction of a `.crate` archive (gzip'd tar) into a directory, hashing every file.
//!
//! Only what `cargo package` produces is accepted: regular files and directories under
//! `NAME-VERSION/`. Rejected, with the entry named: absolute paths, `..`, paths outside the
//! prefix, device files and FIFOs, duplicate paths, links pointing outside the crate, and
//! archives that inflate past [`MAX_TOTAL`] (or one file past [`MAX_FILE`]). Links inside the
//! crate are materialised as copies of their target. Files get mode 0644, or 0755 when the
//! archive marks them executable — what cargo's own extraction yields under the usual umask.
//! Nothing is written outside `dest`.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use sha2::{Digest, Sha256};

/// Largest total of file sizes accepted from one archive.
pub const MAX_TOTAL: u64 = 1 << 30;
/// Largest single file accepted.
pub const MAX_FILE: u64 = 512 << 20;

/// One extracted file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    pub sha256: String,
    pub executable: bool,
}

/// Files cargo vendor leaves out (paths relative to the crate root): git's files at any depth,
/// cargo's extraction marker, and a checksum file the crate ships itself (the vendored one is
/// written in its place).
pub fn skipped(relative: &str) -> bool {
    let name = relative.rsplit('/').next().unwrap_or(relative);
    matches!(name, ".gitattributes" | ".gitignore" | ".git")
        || relative == ".cargo-ok"
        || relative == ".cargo-checksum.json"
}

/// Normalise a path inside the archive; `None` if it escapes.
fn inside(prefix: &str, raw: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    let mut comps = raw.components();
    match comps.next()? {
        Component::Normal(first) if first == prefix => {}
        _ => return None,
    }
    for c in comps {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(out)
}

fn relative_str(p: &Path) -> Result<String> {
    p.to_str()
        .map(|s| s.replace('\\', "/"))
        .ok_or_else(|| anyhow!("non-UTF-8 path {}", p.display()))
}

/// Extract the `.crate` bytes `data` (for crate `NAME-VERSION`, read from `archive`, which
/// only names it in messages) into `dest` (created), returning each file's hash keyed by its
/// `/`-separated relative path. With `dest` `None` nothing is written: the hashes are what an
/// extraction would produce (used to check a kept copy against its source).
pub fn extract_bytes(
    data: &[u8],
    archive: &Path,
    prefix: &str,
    dest: Option<&Path>,
) -> Result<BTreeMap<String, FileEntry>> {
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(data));
    if let Some(d) = dest {
        std::fs::create_dir_all(d)?;
    }
    let mut made: std::collections::HashSet<PathBuf> = std::collections::HashSet::new();
    let mut files: BTreeMap<String, FileEntry> = BTreeMap::new();
    let mut total: u64 = 0;
    let bad = |what: String| anyhow!("{}: {what}", archive.display());
    for entry in tar
        .entries()
        .map_err(|e| bad(format!("not a tar.gz archive: {e}")))?
    {
        let mut entry = entry.map_err(|e| bad(format!("corrupt archive: {e}")))?;
        let raw = entry
            .path()
            .map_err(|e| bad(format!("bad entry path: {e}")))?
            .into_owned();
        let shown = raw.display().to_string();
        if raw.is_absolute() {
            bail!(bad(format!("entry `{shown}` has an absolute path")));
        }
        let Some(rel) = inside(prefix, &raw) else {
            bail!(bad(format!("entry `{shown}` is outside `{prefix}/`")));
        };
        let kind = entry.header().entry_type();
        if rel.as_os_str().is_empty() {
            if kind.is_dir() {
                continue;
            }
            bail!(bad(format!("entry `{shown}` is not a file")));
        }
        let rel_s = relative_str(&rel)?;
        if kind.is_dir() {
            if let Some(d) = dest
                && made.insert(rel.clone())
            {
                std::fs::create_dir_all(d.join(&rel))?;
            }
            continue;
        }
        // (bytes to write, their hash, executable); links reuse their target's.
        let (bytes, sha256, executable) = if kind.is_file() || kind == tar::EntryType::Continuous {
            // The size the tar reader will deliver (PAX headers included), not the raw field.
            let size = entry.size();
            if size > MAX_FILE {
                bail!(bad(format!(
                    "entry `{shown}` is larger than {MAX_FILE} bytes"
                )));
            }
            total = total.saturating_add(size);
            if total > MAX_TOTAL {
                bail!(bad(format!("archive inflates past {MAX_TOTAL} bytes")));
            }
            let mut buf = Vec::with_capacity(size as usize);
            (&mut entry)
                .take(MAX_FILE + 1)
                .read_to_end(&mut buf)
                .map_err(|e| bad(format!("reading `{shown}`: {e}")))?;
            if buf.len() as u64 > MAX_FILE {
                bail!(bad(format!(
                    "entry `{shown}` is larger than {MAX_FILE} bytes"
                )));
            }
            let executable = entry
                .header()
                .mode()
                .map(|m| m & 0o111 != 0)
                .unwrap_or(false);
            let sha = hex::encode(Sha256::digest(&buf));
            (Some(buf), sha, executable)
        } else if kind.is_symlink() || kind.is_hard_link() {
            let link = entry
                .link_name()
                .map_err(|e| bad(format!("bad link in `{shown}`: {e}")))?
                .ok_or_else(|| bad(format!("link `{shown}` has no target")))?
                .into_owned();
            // A symlink is relative to its directory; a hard link to the archive root.
            let resolved = if kind.is_symlink() {
                let base = raw.parent().map(Path::to_path_buf).unwrap_or_default();
                normalize(&base.join(&link))
            } else {
                normalize(&link)
            };
            let rel_target = resolved
                .as_deref()
                .and_then(|r| inside(prefix, r))
                .ok_or_else(|| {
                    bad(format!(
                        "link `{shown}` points outside the crate (`{}`)",
                        link.display()
                    ))
                })?;
            let key = relative_str(&rel_target)?;
            let Some(target) = files.get(&key).cloned() else {
                bail!(bad(format!(
                    "link `{shown}` points at `{key}`, which is not a file before it"
                )));
            };
            let bytes = match dest {
                Some(d) => Some(std::fs::read(d.join(&rel_target))?),
                None => None,
            };
            (bytes, target.sha256, target.executable)
        } else {
            bail!(bad(format!(
                "entry `{shown}` is a device, FIFO or other special file"
            )));
        };
        if skipped(&rel_s) {
            continue;
        }
        if files.contains_key(&rel_s) {
            bail!(bad(format!("entry `{shown}` appears twice")));
        }
        if let (Some(d), Some(bytes)) = (dest, &bytes) {
            let target = d.join(&rel);
            if let Some(parent) = rel.parent()
                && made.insert(parent.to_path_buf())
            {
                std::fs::create_dir_all(d.join(parent))?;
            }
            write_file(&target, bytes, executable)?;
        }
        files.insert(rel_s, FileEntry { sha256, executable });
    }
    Ok(files)
}

/// Resolve `.` and `..` lexically; `None` if it climbs above the start.
fn normalize(p: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(x) => out.push(x),
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            _ => return None,
        }
    }
    Some(out)
}

/// Write a new file with the vendored mode (0644, or 0755 when executable; the umask applies,
/// as it does to cargo's own extraction).
pub fn write_file(path: &Path, bytes: &[u8], executable: bool) -> Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(if executable { 0o755 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = executable;
    let mut f = opts
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))
}

/// Whether a file on disk has a mode vendoring can give it: 0644 or 0755 as the umask leaves
/// them — no setuid/setgid/sticky bits, not writable by others, the owner's execute bit exactly
/// when the file is executable (always true off Unix).
pub fn has_vendored_mode(meta: &std::fs::Metadata, executable: bool) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let m = meta.permissions().mode() & 0o7777;
        m & 0o7000 == 0 && m & 0o002 == 0 && (m & 0o100 != 0) == executable && m & 0o600 == 0o600
    }
    #[cfg(not(unix))]
    {
        let _ = (meta, executable);
        true
    }
}

/// Whether a file on disk is executable (always false off Unix).
pub fn is_executable(meta: &std::fs::Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        false
    }
}

#[cfg(test)]
mod tests {
    use slsa_tests::{CrateBuilder, RawEntry};

    use super::*;

    fn try_extract(
        krate: CrateBuilder,
    ) -> (Result<BTreeMap<String, FileEntry>>, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("temp dir");
        let archive = dir.path().join("c.crate");
        let dest = dir.path().join("out").join("crate");
        let prefix = format!("{}-{}", krate.name(), krate.version());
        (
            extract_bytes(&krate.build(), &archive, &prefix, Some(&dest)),
            dir,
        )
    }

    fn file(bytes: &[u8]) -> RawEntry {
        RawEntry::File {
            bytes: bytes.to_vec(),
            mode: 0o644,
        }
    }

    #[test]
    fn unsafe_entries_are_rejected_and_nothing_lands_outside() {
        let cases: Vec<(CrateBuilder, &str)> = vec![
            (
                CrateBuilder::new("bad", "1.0.0")
                    .raw_entry("bad-1.0.0/../../escape.txt", file(b"x")),
                "outside",
            ),
            (
                CrateBuilder::new("bad", "1.0.0").raw_entry("/tmp/slsa-abs-test.txt", file(b"x")),
                "absolute",
            ),
            (
                CrateBuilder::new("bad", "1.0.0").raw_entry("other-1.0.0/x.txt", file(b"x")),
                "outside",
            ),
            (
                CrateBuilder::new("bad", "1.0.0").raw_entry(
                    "bad-1.0.0/link",
                    RawEntry::Symlink {
                        target: "../../../etc/passwd".into(),
                    },
                ),
                "points outside",
            ),
            (
                CrateBuilder::new("bad", "1.0.0").raw_entry(
                    "bad-1.0.0/hard",
                    RawEntry::Hardlink {
                        target: "/etc/passwd".into(),
                    },
                ),
                "points outside",
            ),
            (
                CrateBuilder::new("bad", "1.0.0").raw_entry("bad-1.0.0/dev", RawEntry::CharDevice),
                "special file",
            ),
            (
                CrateBuilder::new("bad", "1.0.0").raw_entry("bad-1.0.0/src/lib.rs", file(b"dup")),
                "twice",
            ),
        ];
        for (krate, needle) in cases {
            let (res, dir) = try_extract(krate);
            let err = res.expect_err(needle).to_string();
            assert!(err.contains(needle), "{needle}: {err}");
            assert!(!dir.path().join("escape.txt").exists());
            assert!(!dir.path().join("out").join("escape.txt").exists());
            assert!(!Path::new("/tmp/slsa-abs-test.txt").exists());
        }
    }

    #[test]
    fn links_inside_the_crate_are_copies_and_modes_are_kept() {
        let krate = CrateBuilder::new("ok", "1.0.0")
            .executable("run.sh", "#!/bin/sh\n")
            .file(".gitignore", "target\n")
            .raw_entry(
                "ok-1.0.0/alias.rs",
                RawEntry::Symlink {
                    target: "src/lib.rs".into(),
                },
            );
        let (res, dir) = try_extract(krate);
        let files = res.expect("extracts");
        assert!(files["run.sh"].executable);
        assert!(!files["Cargo.toml"].executable);
        assert!(
            !files.contains_key(".gitignore"),
            "cargo vendor leaves it out"
        );
        assert_eq!(files["alias.rs"].sha256, files["src/lib.rs"].sha256);
        let alias = dir.path().join("out/crate/alias.rs");
        assert!(
            !std::fs::symlink_metadata(&alias)
                .expect("alias")
                .file_type()
                .is_symlink()
        );
    }
}
