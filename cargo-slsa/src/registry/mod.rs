//! The registry index over the sparse protocol: every published version of a set of crates with
//! whether it is yanked, its `rust_version` and its publication time (`pubtime`).
//!
//! tame-index does the protocol: it resolves crates.io's source replacement from cargo's own
//! configuration (so a mirror or the test kit's registry is asked instead), runs the requests
//! concurrently, and keeps cargo's index cache: a cached entry's ETag goes out as
//! `If-None-Match`, a `304` answer costs nothing, and new answers are written back in cargo's
//! format under cargo's package lock — the same cache `cargo` itself reads. With `--offline`
//! only that cache is read.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use anyhow::{Result, anyhow};
use tame_index::external::{reqwest, tokio};
use tame_index::index::{AsyncRemoteSparseIndex, FileLock, SparseIndex};
use tame_index::utils::flock::LockOptions;
use tame_index::{IndexLocation, IndexUrl};

/// Per-request timeout.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// The HTTP client every registry request goes through: bounded by timeouts, and identifying
/// itself as crates.io's policy asks.
pub fn http_client() -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(TIMEOUT)
        .connect_timeout(Duration::from_secs(10))
        .user_agent(concat!(
            "cargo-slsa/",
            env!("CARGO_PKG_VERSION"),
            " (+https://github.com/cargo-slsa/cargo-slsa)"
        ))
        .build()
}

/// crates.io's index as cargo's configuration for `root` resolves it: a source replacement
/// when there is one, else the sparse index (the version argument only picks sparse over git
/// for old cargos).
pub fn crates_io_index(root: &Path) -> Result<IndexUrl<'static>> {
    let config_root = tame_index::PathBuf::from_path_buf(root.to_path_buf()).ok();
    match IndexUrl::crates_io(config_root, None, Some("1.95.0")) {
        Ok(IndexUrl::CratesIoGit) => Ok(IndexUrl::CratesIoSparse),
        Ok(u) => Ok(u),
        Err(e) => Err(anyhow!("could not read cargo's source configuration: {e}")),
    }
}

/// One published version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// The version.
    pub version: semver::Version,
    /// Yanked from the index.
    pub yanked: bool,
    /// `rust-version` it declares.
    pub rust_version: Option<String>,
    /// When it was published (Unix seconds), when the index says.
    pub pubtime: Option<i64>,
    /// The `.crate` sha256 from the index.
    pub checksum: String,
}

/// What the index said.
#[derive(Debug, Default)]
pub struct Answer {
    /// Crate name → its versions (unparsable versions left out).
    pub crates: BTreeMap<String, Vec<Published>>,
    /// Why some crates could not be asked about (one line each).
    pub problems: Vec<String>,
    /// Index URL asked.
    pub index: String,
}

/// `YYYY-MM-DDTHH:MM:SSZ` (the index's `pubtime`) as Unix seconds.
pub fn parse_pubtime(s: &str) -> Option<i64> {
    crate::timefmt::parse_rfc3339(s)
}

/// Ask the index (`index_url`, else crates.io as cargo's configuration for `root` resolves it)
/// about `names`.
pub fn fetch(
    root: &Path,
    names: &BTreeSet<String>,
    index_url: Option<&str>,
    offline: bool,
) -> Result<Answer> {
    fetch_from(root, names, index_url, None, offline)
}

/// As [`fetch`], from the registry cargo's configuration names `registry` (`[registries]`,
/// `CARGO_REGISTRIES_<NAME>_INDEX`) when given.
pub fn fetch_from(
    root: &Path,
    names: &BTreeSet<String>,
    index_url: Option<&str>,
    registry: Option<&str>,
    offline: bool,
) -> Result<Answer> {
    let named = match registry {
        Some(r) => {
            let config_root = tame_index::PathBuf::from_path_buf(root.to_path_buf()).ok();
            Some(
                IndexUrl::for_registry_name(config_root, None, r).map_err(|e| {
                    anyhow!(
                        "the registry `{r}` is not configured for cargo ([registries.{r}]): {e}"
                    )
                })?,
            )
        }
        None => None,
    };
    let url = match (named, index_url) {
        (Some(u), _) => u,
        (None, index_url) => match index_url {
            Some(u) => {
                let u = u.strip_prefix("sparse+").unwrap_or(u);
                IndexUrl::NonCratesIo(
                    format!("sparse+{}", u.trim_end_matches('/').to_owned() + "/").into(),
                )
            }
            None => crates_io_index(root)?,
        },
    };
    if !url.is_sparse() {
        return Err(anyhow!(
            "{} is not a sparse index; cargo slsa reads registries over the sparse protocol \
             (use --index-url sparse+https://…)",
            url.as_str()
        ));
    }
    let shown = url.as_str().to_string();
    let index = SparseIndex::new(IndexLocation::new(url)).map_err(|e| anyhow!("{shown}: {e}"))?;
    // Cargo's package lock guards its index cache; without it (another cargo holds it for too
    // long) the cache is neither read nor written.
    let lock = LockOptions::cargo_package_lock(None)
        .ok()
        .and_then(|o| o.lock(|_| Some(Duration::from_secs(30))).ok());
    let (lock, cached) = match lock {
        Some(l) => (l, true),
        None => (FileLock::unlocked(), false),
    };
    let mut answer = Answer {
        index: shown.clone(),
        ..Answer::default()
    };
    let mut record = |name: &str, krate: tame_index::IndexKrate| {
        let versions = krate
            .versions
            .iter()
            .filter_map(|v| {
                Some(Published {
                    version: semver::Version::parse(v.version.as_str()).ok()?,
                    yanked: v.is_yanked(),
                    rust_version: v.rust_version.as_ref().map(|r| r.to_string()),
                    pubtime: v.pubtime.as_deref().and_then(parse_pubtime),
                    checksum: v.checksum.to_string(),
                })
            })
            .collect();
        answer.crates.insert(name.to_string(), versions);
    };
    if offline {
        for name in names {
            let Ok(kname) = tame_index::KrateName::crates_io(name) else {
                continue;
            };
            match index.cached_krate(kname, &lock) {
                Ok(Some(k)) => record(name, k),
                _ => answer
                    .problems
                    .push(format!("{name}: not in cargo's index cache (--offline)")),
            }
        }
        return Ok(answer);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let client = http_client()?;
    let remote = AsyncRemoteSparseIndex::new(index, client);
    let results = runtime.block_on(remote.krates(names.clone(), cached, Some(TIMEOUT), &lock));
    for name in names {
        match results.get(name) {
            Some(Ok(Some(krate))) => record(name, krate.clone()),
            Some(Ok(None)) => answer.problems.push(format!("{name}: not in {shown}")),
            Some(Err(e)) => answer.problems.push(format!("{name}: {e}")),
            None => answer
                .problems
                .push(format!("{name}: no answer from {shown}")),
        }
    }
    Ok(answer)
}

/// Repository URLs of `names` from the registry's web API (`api` in the index's
/// `config.json`; crates.io's for crates.io), one request per second with an identifying
/// User-Agent, as crates.io's crawler policy asks. Best effort: a crate without an answer is
/// left out; no API, no links.
pub fn repositories(index: &str, names: &[String]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if names.is_empty() {
        return out;
    }
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return out;
    };
    let Ok(client) = http_client() else {
        return out;
    };
    let base = index.strip_prefix("sparse+").unwrap_or(index);
    let config_url = format!("{}/config.json", base.trim_end_matches('/'));
    runtime.block_on(async {
        let api = match client.get(&config_url).send().await {
            Ok(r) if r.status().is_success() => {
                r.json::<serde_json::Value>().await.ok().and_then(|v| {
                    v["api"]
                        .as_str()
                        .map(|s| s.trim_end_matches('/').to_string())
                })
            }
            _ => None,
        };
        let Some(api) = api else { return };
        for (i, name) in names.iter().enumerate() {
            if i > 0 {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            let Ok(r) = client
                .get(format!("{api}/api/v1/crates/{name}"))
                .send()
                .await
            else {
                continue;
            };
            if !r.status().is_success() {
                continue;
            }
            if let Ok(v) = r.json::<serde_json::Value>().await
                && let Some(repo) = v["crate"]["repository"].as_str()
                && (repo.starts_with("https://") || repo.starts_with("http://"))
            {
                out.insert(name.clone(), repo.trim_end_matches('/').to_string());
            }
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pubtimes_parse() {
        assert_eq!(parse_pubtime("1970-01-02T00:00:00Z"), Some(86_400));
        assert_eq!(parse_pubtime("2024-02-29T12:30:15Z"), Some(1_709_209_815));
        assert_eq!(parse_pubtime("yesterday"), None);
    }
}
