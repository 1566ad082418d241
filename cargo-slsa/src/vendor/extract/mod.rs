//! Safe, streaming extraction of a `.crate` archive (gzip'd tar) into a directory, hashing
//! every file — the tree `cargo vendor` (1.95) writes from the same archive:
//!
//! - files keep the archive's permission bits (`mode & 0o777`, then the umask, as cargo's own
//!   extraction and copy leave them: a `0640` file stays `0640`, set-id bits are dropped);
//! - a symbolic link to a file inside the crate stays a link with the archive's target text,
//!   its checksum that of the file it points at; a hard link becomes a copy of its target;
//! - git's files (`.git/` at any depth, `.gitignore`, `.gitattributes`), cargo's `.cargo-ok`
//!   and a shipped `.cargo-checksum.json` are left out.
//!
//! Refused, naming the archive and the entry, before anything of that entry is written: an
//! absolute path, `..`, a path outside `NAME-VERSION/`, a name that is not UTF-8, device files
//! and FIFOs, a path that appears twice or is both a file and a directory, a link that leaves
//! the crate, points at a directory or at nothing (cargo vendor cannot vendor those either),
//! more than [`MAX_ENTRIES`] entries, one file over [`MAX_FILE`] or a total over [`MAX_TOTAL`]
//! (sizes are checked from the headers before a byte is written). Files are copied through a
//! fixed buffer: memory does not grow with entry size. Links are created last, so no entry is
//! ever written through one. Nothing is written outside `dest`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use sha2::{Digest, Sha256};

/// Largest total of file sizes accepted from one archive.
pub const MAX_TOTAL: u64 = 1 << 30;
/// Largest single file accepted.
pub const MAX_FILE: u64 = 512 << 20;
/// Most entries accepted from one archive.
pub const MAX_ENTRIES: usize = 100_000;

/// One extracted file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    pub sha256: String,
    pub executable: bool,
    /// Permission bits to create the file with (the umask then applies, as for cargo).
    pub mode: u32,
    /// A symbolic link: its target as the archive gives it.
    pub link: Option<String>,
}

impl FileEntry {
    /// A regular file with the mode git would give it (0644, or 0755 when executable).
    pub fn plain(sha256: String, executable: bool) -> FileEntry {
        FileEntry {
            sha256,
            executable,
            mode: if executable { 0o755 } else { 0o644 },
            link: None,
        }
    }
}

/// Files cargo vendor leaves out (paths relative to the crate root): git's files at any depth
/// (`.git` as a file or a directory, `.gitignore`, `.gitattributes`), cargo's extraction
/// marker, and a checksum file the crate ships itself (the vendored one is written in its
/// place).
pub fn skipped(relative: &str) -> bool {
    let name = relative.rsplit('/').next().unwrap_or(relative);
    matches!(name, ".gitattributes" | ".gitignore")
        || relative.split('/').any(|c| c == ".git")
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

/// The process's umask, read without changing it (`/proc/self/status`); 022 where it cannot
/// be read.
pub fn umask() -> u32 {
    static UMASK: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *UMASK.get_or_init(|| {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("Umask:"))
                    .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
            })
            .unwrap_or(0o022)
    })
}

/// A link found in the archive, created once every file is in place.
struct PendingLink {
    rel: String,
    /// The target as written in the archive (symlinks), for the link itself.
    text: String,
    /// The target, relative to the crate root.
    target: String,
    hard: bool,
    shown: String,
}

/// Copy `from` to `to` (when given) through a fixed buffer, returning the sha256 and the byte
/// count; at most `limit` bytes are accepted.
fn stream(
    mut from: impl Read,
    mut to: Option<&mut std::fs::File>,
    limit: u64,
) -> std::io::Result<(String, u64)> {
    let mut buf = vec![0u8; 64 << 10];
    let mut hash = Sha256::new();
    let mut n: u64 = 0;
    loop {
        let got = from.read(&mut buf)?;
        if got == 0 {
            break;
        }
        n += got as u64;
        if n > limit {
            return Err(std::io::Error::other(format!("more than {limit} bytes")));
        }
        hash.update(&buf[..got]);
        if let Some(f) = to.as_deref_mut() {
            f.write_all(&buf[..got])?;
        }
    }
    Ok((hex::encode(hash.finalize()), n))
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
    extract_limited(data, archive, prefix, dest, Limits::DEFAULT)
}

/// What one archive may hold.
#[derive(Debug, Clone, Copy)]
struct Limits {
    entries: usize,
    file: u64,
    total: u64,
}

impl Limits {
    const DEFAULT: Limits = Limits {
        entries: MAX_ENTRIES,
        file: MAX_FILE,
        total: MAX_TOTAL,
    };
}

fn extract_limited(
    data: &[u8],
    archive: &Path,
    prefix: &str,
    dest: Option<&Path>,
    limits: Limits,
) -> Result<BTreeMap<String, FileEntry>> {
    let Limits {
        entries: max_entries,
        file: max_file,
        total: max_total,
    } = limits;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(data));
    if let Some(d) = dest {
        std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
    }
    let mut made: BTreeSet<PathBuf> = BTreeSet::new();
    let mut dirs: BTreeSet<String> = BTreeSet::new();
    let mut files: BTreeMap<String, FileEntry> = BTreeMap::new();
    let mut links: Vec<PendingLink> = Vec::new();
    let mut total: u64 = 0;
    let mut count = 0usize;
    let bad = |what: String| anyhow!("{}: {what}", archive.display());
    for entry in tar
        .entries()
        .map_err(|e| bad(format!("not a tar.gz archive: {e}")))?
    {
        let mut entry = entry.map_err(|e| bad(format!("corrupt archive: {e}")))?;
        count += 1;
        if count > max_entries {
            bail!(bad(format!("more than {max_entries} entries")));
        }
        let shown = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let raw = entry
            .path()
            .map_err(|e| bad(format!("entry `{shown}`: bad path: {e}")))?
            .into_owned();
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
        let Some(rel_s) = rel.to_str().map(|s| s.replace('\\', "/")) else {
            bail!(bad(format!(
                "entry `{shown}` has a name that is not UTF-8 (cargo vendor cannot vendor it either)"
            )));
        };
        if skipped(&rel_s) {
            continue;
        }
        let at = |what: &str| format!("{}: entry `{shown}`: {what}", archive.display());
        if kind.is_dir() {
            if files.contains_key(&rel_s) || links.iter().any(|l| l.rel == rel_s) {
                bail!(bad(format!(
                    "entry `{shown}` is both a file and a directory"
                )));
            }
            dirs.insert(rel_s);
            if let Some(d) = dest
                && made.insert(rel.clone())
            {
                std::fs::create_dir_all(d.join(&rel))
                    .with_context(|| at("creating the directory"))?;
            }
            continue;
        }
        if files.contains_key(&rel_s) || links.iter().any(|l| l.rel == rel_s) {
            bail!(bad(format!("entry `{shown}` appears twice")));
        }
        // Its directories are directories: neither it nor any of them may also be a file.
        let ancestors: Vec<&str> = rel_s.match_indices('/').map(|(i, _)| &rel_s[..i]).collect();
        if dirs.contains(&rel_s)
            || ancestors
                .iter()
                .any(|a| files.contains_key(*a) || links.iter().any(|l| l.rel == *a))
        {
            bail!(bad(format!(
                "entry `{shown}` is both a file and a directory"
            )));
        }
        for a in ancestors {
            dirs.insert(a.to_string());
        }
        if kind.is_file() || kind == tar::EntryType::Continuous {
            // The size the tar reader will deliver (PAX headers included): checked before a
            // byte is written.
            let size = entry.size();
            if size > max_file {
                bail!(bad(format!(
                    "entry `{shown}` is larger than {max_file} bytes"
                )));
            }
            total = total.saturating_add(size);
            if total > max_total {
                bail!(bad(format!(
                    "archive inflates past {max_total} bytes (at entry `{shown}`)"
                )));
            }
            let mode = entry.header().mode().map(|m| m & 0o777).unwrap_or(0o644);
            let mut out = match dest {
                Some(d) => {
                    if let Some(parent) = rel.parent()
                        && made.insert(parent.to_path_buf())
                    {
                        std::fs::create_dir_all(d.join(parent))
                            .with_context(|| at("creating its directory"))?;
                    }
                    Some(
                        create_file(&d.join(&rel), mode)
                            .with_context(|| at("creating the file"))?,
                    )
                }
                None => None,
            };
            let (sha256, _) = stream(&mut entry, out.as_mut(), size)
                .map_err(|e| bad(format!("entry `{shown}`: {e}")))?;
            files.insert(
                rel_s,
                FileEntry {
                    sha256,
                    executable: mode & 0o111 != 0,
                    mode,
                    link: None,
                },
            );
        } else if kind.is_symlink() || kind.is_hard_link() {
            let link = entry
                .link_name()
                .map_err(|e| bad(format!("bad link in `{shown}`: {e}")))?
                .ok_or_else(|| bad(format!("link `{shown}` has no target")))?
                .into_owned();
            // A symlink is relative to its directory; a hard link to the archive root.
            let resolved = if kind.is_symlink() {
                if link.is_absolute() {
                    None
                } else {
                    let base = raw.parent().map(Path::to_path_buf).unwrap_or_default();
                    normalize(&base.join(&link))
                }
            } else {
                normalize(&link)
            };
            let target = resolved
                .as_deref()
                .and_then(|r| inside(prefix, r))
                .and_then(|r| r.to_str().map(|s| s.replace('\\', "/")))
                .filter(|t| !t.is_empty())
                .ok_or_else(|| {
                    bad(format!(
                        "link `{shown}` points outside the crate (`{}`)",
                        link.display()
                    ))
                })?;
            let text = link
                .to_str()
                .ok_or_else(|| bad(format!("link `{shown}` has a target that is not UTF-8")))?
                .to_string();
            links.push(PendingLink {
                rel: rel_s,
                text,
                target,
                hard: kind.is_hard_link(),
                shown,
            });
        } else {
            bail!(bad(format!(
                "entry `{shown}` is a device, FIFO or other special file"
            )));
        }
    }
    resolve_links(links, &dirs, &mut files, dest, archive)?;
    Ok(files)
}

/// Give each link the file it points at (following links to links), then create it: a hard
/// link as a copy of its target, a symbolic link as a link with the archive's text.
fn resolve_links(
    links: Vec<PendingLink>,
    dirs: &BTreeSet<String>,
    files: &mut BTreeMap<String, FileEntry>,
    dest: Option<&Path>,
    archive: &Path,
) -> Result<()> {
    let by_rel: BTreeMap<&str, &PendingLink> = links.iter().map(|l| (l.rel.as_str(), l)).collect();
    let is_dir =
        |t: &str| dirs.contains(t) || files.keys().any(|f| f.starts_with(&format!("{t}/")));
    let mut resolved: Vec<(&PendingLink, FileEntry, String)> = Vec::new();
    for l in &links {
        let bad = |what: String| anyhow!("{}: link `{}` {what}", archive.display(), l.shown);
        let mut target = l.target.clone();
        let mut hops = 0;
        let file = loop {
            if let Some(f) = files.get(&target) {
                break f.clone();
            }
            match by_rel.get(target.as_str()) {
                Some(next) if hops < 16 => {
                    hops += 1;
                    target = next.target.clone();
                }
                Some(_) => bail!(bad("goes through too many links".into())),
                None if is_dir(&target) => bail!(bad(format!(
                    "points at the directory `{target}` (cargo vendor cannot vendor a link to a directory either)"
                ))),
                None => bail!(bad(format!(
                    "points at `{target}`, which the crate does not have (cargo vendor cannot vendor it either)"
                ))),
            }
        };
        resolved.push((l, file, target));
    }
    for (l, file, target) in resolved {
        let at = || format!("{}: entry `{}`", archive.display(), l.shown);
        if let Some(d) = dest {
            let path = d.join(&l.rel);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).with_context(at)?;
            }
            if l.hard {
                std::fs::copy(d.join(&target), &path).with_context(at)?;
            } else {
                #[cfg(unix)]
                std::os::unix::fs::symlink(&l.text, &path).with_context(at)?;
                #[cfg(not(unix))]
                std::fs::copy(d.join(&target), &path).with_context(at)?;
            }
        }
        let entry = FileEntry {
            link: (!l.hard).then(|| l.text.clone()),
            ..file
        };
        files.insert(l.rel.clone(), entry);
    }
    Ok(())
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

/// Create a new file with permission bits `mode` (the umask applies, as it does to cargo's own
/// extraction).
fn create_file(path: &Path, mode: u32) -> std::io::Result<std::fs::File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    opts.open(path)
}

/// Write a new file with the vendored mode (0644, or 0755 when executable; the umask applies,
/// as it does to cargo's own copy).
pub fn write_file(path: &Path, bytes: &[u8], executable: bool) -> Result<()> {
    write_file_mode(path, bytes, if executable { 0o755 } else { 0o644 })
}

/// Write a new file with permission bits `mode` (the umask applies).
pub fn write_file_mode(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let mut f = create_file(path, mode).with_context(|| format!("creating {}", path.display()))?;
    f.write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))
}

/// Whether the entry on disk is what vendoring `want` on this machine writes: the same kind
/// (file or link), the link's target text, and — for a file — exactly the permission bits
/// `want.mode` under the current umask.
pub fn written_as(meta: &std::fs::Metadata, path: &Path, want: &FileEntry) -> bool {
    match &want.link {
        Some(text) => {
            meta.file_type().is_symlink()
                && std::fs::read_link(path).is_ok_and(|t| t.as_os_str() == text.as_str())
        }
        None => {
            if !meta.is_file() {
                return false;
            }
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                meta.permissions().mode() & 0o7777 == want.mode & 0o777 & !umask()
            }
            #[cfg(not(unix))]
            true
        }
    }
}

/// Whether a vendored file's mode is one a checkout of the vendored tree can have: no set-id or
/// sticky bits, not writable by others, executable exactly when it was vendored executable
/// (git keeps only that bit; always true off Unix).
pub fn has_vendored_mode(meta: &std::fs::Metadata, executable: bool) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let m = meta.permissions().mode() & 0o7777;
        m & 0o7000 == 0 && m & 0o002 == 0 && (m & 0o111 != 0) == executable
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
mod tests;
