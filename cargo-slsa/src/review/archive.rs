//! A `.crate` read into memory for comparison: every regular file under `NAME-VERSION/` with
//! its bytes and whether it is executable. Nothing is written to disk and nothing is run.
//! Limits are checked from the headers before an entry is read: at most 20,000 entries,
//! 64 MiB per file and 256 MiB in all (a crate that large is refused, not reviewed partly).

use std::collections::BTreeMap;
use std::io::Read;

use anyhow::{Result, bail};

const MAX_ENTRIES: usize = 20_000;
const MAX_FILE: u64 = 64 << 20;
const MAX_TOTAL: u64 = 256 << 20;

/// One file of a crate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    pub bytes: Vec<u8>,
    pub executable: bool,
}

/// A crate's files by path relative to its root (`src/lib.rs`).
pub type Files = BTreeMap<String, File>;

/// Read the gzip'd tar `bytes` of `name`-`version`.
pub fn read(bytes: &[u8], name: &str, version: &str) -> Result<Files> {
    let prefix = format!("{name}-{version}/");
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    let mut files = Files::new();
    let mut total = 0u64;
    for (n, entry) in archive.entries()?.enumerate() {
        if n >= MAX_ENTRIES {
            bail!("{name} {version}: more than {MAX_ENTRIES} entries");
        }
        let mut entry = entry?;
        let kind = entry.header().entry_type();
        if !kind.is_file() {
            continue; // links and directories carry no code of their own
        }
        let path = entry.path()?.to_string_lossy().into_owned();
        let Some(rel) = path.strip_prefix(&prefix) else {
            bail!("{name} {version}: entry `{path}` is outside `{prefix}`");
        };
        let size = entry.header().size()?;
        if size > MAX_FILE {
            bail!("{name} {version}: `{rel}` is {size} bytes (the limit is {MAX_FILE})");
        }
        total += size;
        if total > MAX_TOTAL {
            bail!("{name} {version}: more than {MAX_TOTAL} bytes in all");
        }
        let executable = entry.header().mode().is_ok_and(|m| m & 0o111 != 0);
        let mut buf = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        (&mut entry).take(size).read_to_end(&mut buf)?;
        files.insert(
            rel.to_string(),
            File {
                bytes: buf,
                executable,
            },
        );
    }
    Ok(files)
}
