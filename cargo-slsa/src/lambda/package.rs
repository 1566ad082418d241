//! Deterministic `bootstrap.zip` packages and reading them back.
//!
//! A package is the layout the `provided.al2023` / `provided.al2` runtimes (and cargo-lambda)
//! use: an entry `bootstrap` (the executable, mode 0755) plus any extra files. The same inputs
//! give the same bytes on any machine, path or clock:
//! - every entry's time is `SOURCE_DATE_EPOCH` (the commit time), clamped to the range a DOS
//!   timestamp can hold (1980-01-01 to 2107-12-31) and rounded down to even seconds;
//! - entries are sorted by name, `bootstrap` first; modes are 0755 for executables and 0644
//!   otherwise (the two modes git records, so a checkout's umask does not leak in);
//! - deflate at level 9 through flate2 (zlib-rs, pinned in Cargo.lock); no extra fields, no
//!   comments, no directory entries, no data descriptors.
//!
//! Why the `zip` crate (zip-rs/zip2): the maintained Rust zip implementation; it lets us fix
//! every header field that would otherwise vary, and it reads archives for `verify`.

use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipArchive, ZipWriter};

use crate::error::InputError;

/// The entry the Lambda custom runtimes execute.
pub const BOOTSTRAP: &str = "bootstrap";
/// The compression level every package uses (part of what makes the bytes reproducible).
pub const DEFLATE_LEVEL: i64 = 9;
/// Lambda refuses packages that unzip to more than 250 MB; reading a zip stops well past that,
/// so a hostile archive (a zip bomb) cannot make `verify` inflate without end.
pub const MAX_UNZIPPED: u64 = 1 << 30;

/// One file in a package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The name inside the zip (`bootstrap`, `config/app.json`).
    pub name: String,
    /// Where the bytes come from.
    pub source: PathBuf,
    /// 0o755 or 0o644.
    pub mode: u32,
}

/// The DOS timestamp for `epoch` (Unix seconds): clamped to 1980-01-01 00:00:00 ..
/// 2107-12-31 23:59:58, seconds rounded down to even. `None` (no commit time) is the DOS epoch.
pub fn dos_time(epoch: Option<i64>) -> DateTime {
    const MIN: i64 = 315_532_800; // 1980-01-01T00:00:00Z
    const MAX: i64 = 4_354_819_198; // 2107-12-31T23:59:58Z
    let Some(e) = epoch else {
        return DateTime::DEFAULT;
    };
    let e = e.clamp(MIN, MAX);
    let d = crate::timefmt::Date::from_unix(e);
    let s = e.rem_euclid(86_400);
    let (h, m, sec) = (s / 3600, (s % 3600) / 60, s % 60);
    DateTime::from_date_and_time(
        u16::try_from(d.y).unwrap_or(1980),
        u8::try_from(d.m).unwrap_or(1),
        u8::try_from(d.d).unwrap_or(1),
        u8::try_from(h).unwrap_or(0),
        u8::try_from(m).unwrap_or(0),
        u8::try_from(sec - sec % 2).unwrap_or(0),
    )
    .unwrap_or(DateTime::DEFAULT)
}

/// The mode recorded for a file: 0755 when any execute bit is set, else 0644.
pub fn normalized_mode(path: &Path) -> Result<u32> {
    let meta = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        Ok(if meta.permissions().mode() & 0o111 != 0 {
            0o755
        } else {
            0o644
        })
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        Ok(0o644)
    }
}

/// The entries of a package: `bootstrap` from `binary`, then every `--lambda-include` path (a
/// file as its file name; a directory as its name and everything below it), sorted by name.
/// Clashing names, a second `bootstrap`, links to directories and non-UTF-8 names are input
/// errors naming the path.
pub fn entries(binary: &Path, includes: &[PathBuf]) -> Result<Vec<Entry>> {
    let mut out = vec![Entry {
        name: BOOTSTRAP.to_string(),
        source: binary.to_path_buf(),
        mode: 0o755,
    }];
    for inc in includes {
        let meta = std::fs::metadata(inc).map_err(|e| {
            InputError::at(
                inc,
                None,
                None,
                format!("--lambda-include: cannot read: {e}"),
            )
        })?;
        let base = inc
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| {
                InputError::at(inc, None, None, "--lambda-include: the name is not UTF-8")
            })?
            .to_string();
        if meta.is_dir() {
            walk(inc, &base, &mut out)?;
        } else {
            out.push(Entry {
                name: base,
                mode: normalized_mode(inc)?,
                source: inc.clone(),
            });
        }
    }
    let mut seen = std::collections::BTreeMap::new();
    for e in &out {
        if let Some(prev) = seen.insert(e.name.clone(), e.source.clone()) {
            return Err(InputError::at(
                &e.source,
                None,
                None,
                format!(
                    "--lambda-include: two files would be `{}` in the zip (also {})",
                    e.name,
                    prev.display()
                ),
            )
            .into());
        }
    }
    out[1..].sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

fn walk(dir: &Path, prefix: &str, out: &mut Vec<Entry>) -> Result<()> {
    let mut children: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .collect::<std::io::Result<_>>()
        .with_context(|| format!("reading {}", dir.display()))?;
    children.sort_by_key(|e| e.file_name());
    for child in children {
        let path = child.path();
        let name = child.file_name();
        let name = name.to_str().ok_or_else(|| {
            InputError::at(&path, None, None, "--lambda-include: the name is not UTF-8")
        })?;
        let entry_name = format!("{prefix}/{name}");
        let link = child.file_type()?.is_symlink();
        let meta = std::fs::metadata(&path)
            .map_err(|e| InputError::at(&path, None, None, format!("cannot read: {e}")))?;
        if meta.is_dir() {
            if link {
                return Err(InputError::at(
                    &path,
                    None,
                    None,
                    "--lambda-include: a link to a directory is not followed (name the \
                     directory itself)",
                )
                .into());
            }
            walk(&path, &entry_name, out)?;
        } else if meta.is_file() {
            out.push(Entry {
                name: entry_name,
                mode: normalized_mode(&path)?,
                source: path,
            });
        }
    }
    Ok(())
}

/// The zip bytes of `entries` with every entry dated `epoch`.
pub fn write_zip(entries: &[Entry], epoch: Option<i64>) -> Result<Vec<u8>> {
    let time = dos_time(epoch);
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let mut buf = vec![0u8; 1 << 20];
    for e in entries {
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .compression_level(Some(DEFLATE_LEVEL))
            .last_modified_time(time)
            .unix_permissions(e.mode)
            .large_file(false);
        zip.start_file(e.name.as_str(), options)
            .map_err(|err| anyhow!("zipping {}: {err}", e.name))?;
        let mut f = std::fs::File::open(&e.source)
            .with_context(|| format!("cannot open {}", e.source.display()))?;
        loop {
            let n = f
                .read(&mut buf)
                .with_context(|| format!("cannot read {}", e.source.display()))?;
            if n == 0 {
                break;
            }
            zip.write_all(&buf[..n])
                .map_err(|err| anyhow!("zipping {}: {err}", e.name))?;
        }
    }
    let cursor = zip
        .finish()
        .map_err(|e| anyhow!("finishing the zip: {e}"))?;
    Ok(cursor.into_inner())
}

/// A file inside a zip, as `verify` sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZipEntry {
    /// Its name.
    pub name: String,
    /// Lowercase hex sha256 of its uncompressed bytes.
    pub sha256: String,
    /// Whether it is a directory entry.
    pub dir: bool,
}

/// Whether `path` starts like a zip archive.
pub fn looks_like_zip(path: &Path) -> bool {
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && magic == *b"PK\x03\x04"
}

/// Every entry of the zip at `path` with the sha256 of its contents, in archive order.
///
/// Readers disagree on malformed zips (a streaming reader walks local headers; most extractors
/// read the central directory), so the archive must be laid out the one way both agree on:
/// nothing before the first entry, every local header exactly where the previous entry's data
/// (and data descriptor) ends, the central directory right after the last one — no hidden
/// entries, no gaps. Duplicate names, names that are not plain relative paths, and archives that
/// inflate past [`MAX_UNZIPPED`] are refused too. An entry counts as a directory only when its
/// name ends in `/` and it holds no data.
pub fn read_entries(path: &Path) -> Result<Vec<ZipEntry>> {
    let bad = |msg: String| anyhow::Error::from(InputError::at(path, None, None, msg));
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut archive = ZipArchive::new(std::io::BufReader::new(file))
        .map_err(|e| bad(format!("not a readable zip: {e}")))?;
    if archive.offset() != 0 {
        bail!(bad(format!(
            "{} bytes come before the first entry",
            archive.offset()
        )));
    }
    let dir_start = archive.central_directory_start();
    let mut out: Vec<ZipEntry> = Vec::with_capacity(archive.len());
    let mut names = std::collections::HashSet::new();
    let mut layout: Vec<(u64, u64, bool)> = Vec::with_capacity(archive.len());
    let mut total: u64 = 0;
    let mut buf = vec![0u8; 1 << 20];
    for i in 0..archive.len() {
        let mut f = archive
            .by_index(i)
            .map_err(|e| bad(format!("entry {i} cannot be read: {e}")))?;
        let name = f
            .name()
            .map_err(|e| bad(format!("entry {i} has an unreadable name: {e}")))?
            .to_string();
        if name.starts_with('/') || name.split(['/', '\\']).any(|c| c == "..") {
            bail!(bad(format!(
                "entry `{name}` is not a relative path inside the package"
            )));
        }
        if !names.insert(name.clone()) {
            bail!(bad(format!(
                "entry `{name}` appears twice: which one Lambda runs is not defined"
            )));
        }
        let end = f
            .data_start()
            .map(|d| d + f.compressed_size())
            .ok_or_else(|| bad(format!("entry `{name}` has no data offset")))?;
        layout.push((f.header_start(), end, f.flags().is_using_data_descriptor()));
        let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
        let mut size: u64 = 0;
        loop {
            let n = f
                .read(&mut buf)
                .map_err(|e| bad(format!("entry `{name}` cannot be inflated: {e}")))?;
            if n == 0 {
                break;
            }
            size += n as u64;
            total += n as u64;
            if total > MAX_UNZIPPED {
                bail!(bad(format!(
                    "inflates to more than {} MiB; Lambda accepts 250 MB",
                    MAX_UNZIPPED >> 20
                )));
            }
            ctx.update(&buf[..n]);
        }
        out.push(ZipEntry {
            dir: name.ends_with('/') && size == 0,
            name,
            sha256: hex::encode(ctx.finish().as_ref()),
        });
    }
    // The layout: entries back to back from offset 0, then the central directory. After an
    // entry with a data descriptor the next one may start 12 or 16 bytes later (20 or 24 in
    // zip64), depending on the descriptor's optional signature.
    layout.sort_by_key(|(start, _, _)| *start);
    let mut allowed: Vec<u64> = vec![0];
    for (start, end, descriptor) in layout {
        if !allowed.contains(&start) {
            bail!(bad(format!(
                "the entry at byte {start} does not follow the previous one (expected at {}): \
                 bytes in between belong to no entry the central directory lists, and readers \
                 would disagree on what the zip holds",
                allowed.first().copied().unwrap_or(0)
            )));
        }
        allowed = if descriptor {
            [12, 16, 20, 24].iter().map(|d| end + d).collect()
        } else {
            vec![end]
        };
    }
    if !allowed.contains(&dir_start) {
        bail!(bad(format!(
            "bytes {}..{dir_start} before the central directory belong to no entry: readers \
             would disagree on what the zip holds",
            allowed.first().copied().unwrap_or(0)
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dos_times_clamp_and_round() {
        assert_eq!(dos_time(None), DateTime::DEFAULT);
        assert_eq!(dos_time(Some(0)), DateTime::DEFAULT, "before 1980 clamps");
        let t = dos_time(Some(1_700_000_001)); // 2023-11-14T22:13:21Z
        assert_eq!(
            (
                t.year(),
                t.month(),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            ),
            (2023, 11, 14, 22, 13, 20)
        );
        let late = dos_time(Some(i64::MAX / 2));
        assert_eq!(late.year(), 2107);
    }

    #[test]
    fn the_same_input_gives_the_same_bytes_and_reads_back() {
        let dir = tempfile::tempdir().expect("tmp");
        let bin = dir.path().join("app");
        std::fs::write(&bin, b"\x7fELF pretend binary").expect("write");
        let extra = dir.path().join("conf");
        std::fs::create_dir(&extra).expect("mkdir");
        std::fs::write(extra.join("b.json"), b"{}").expect("write");
        std::fs::write(extra.join("a.txt"), b"a").expect("write");
        let e = entries(&bin, std::slice::from_ref(&extra)).expect("entries");
        let names: Vec<&str> = e.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["bootstrap", "conf/a.txt", "conf/b.json"]);
        let a = write_zip(&e, Some(1_700_000_000)).expect("zip");
        let b = write_zip(&e, Some(1_700_000_000)).expect("zip");
        assert_eq!(a, b);
        assert_ne!(a, write_zip(&e, Some(1_800_000_000)).expect("zip"));
        let z = dir.path().join("p.zip");
        std::fs::write(&z, &a).expect("write");
        assert!(looks_like_zip(&z));
        let read = read_entries(&z).expect("read");
        assert_eq!(read[0].name, "bootstrap");
        assert_eq!(
            read[0].sha256,
            hex::encode(aws_lc_rs::digest::digest(
                &aws_lc_rs::digest::SHA256,
                b"\x7fELF pretend binary"
            ))
        );
    }

    #[test]
    fn clashing_names_are_refused() {
        let dir = tempfile::tempdir().expect("tmp");
        let bin = dir.path().join("app");
        std::fs::write(&bin, b"x").expect("write");
        let other = dir.path().join("bootstrap");
        std::fs::write(&other, b"y").expect("write");
        let e = entries(&bin, &[other]).expect_err("a second bootstrap");
        assert!(e.to_string().contains("two files"), "{e}");
    }
}
