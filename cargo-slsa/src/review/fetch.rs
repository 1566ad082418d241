//! Where the compared bytes come from: the base Cargo.lock out of git, each `.crate` from
//! cargo's cache or this tool's (`target/slsa/review/`) or else downloaded once from the
//! registry its lock entry names — every one checked against the sha256 the lockfile records
//! before a byte of it is read — and the registry web API's publisher of a version.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use sha2::{Digest, Sha256};
use tame_index::external::{reqwest, tokio};

use crate::error::InputError;
use crate::workspace::Lockfile;

/// The lock at `rev` of the repository holding `lock_path` (empty when `rev` has none: every
/// crate is then new).
pub fn base_lock(lock_path: &Path, rev: &str) -> Result<Lockfile> {
    let dir = lock_path.parent().unwrap_or(Path::new("."));
    let git = |args: &[&str]| -> Result<std::process::Output> {
        Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .output()
            .context("running git (needed for --base; or give --base-lock FILE)")
    };
    let top = git(&["rev-parse", "--show-toplevel"])?;
    if !top.status.success() {
        return Err(InputError::at(
            lock_path,
            None,
            None,
            format!("not in a git repository, so there is no --base {rev}: give --base-lock FILE"),
        )
        .into());
    }
    let top = PathBuf::from(String::from_utf8_lossy(&top.stdout).trim());
    let canon = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let rel = canon
        .join("Cargo.lock")
        .strip_prefix(&top)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "Cargo.lock".into());
    let commit = git(&[
        "rev-parse",
        "--verify",
        "--quiet",
        &format!("{rev}^{{commit}}"),
    ])?;
    if !commit.status.success() {
        return Err(InputError::at(
            lock_path,
            None,
            None,
            format!("--base {rev}: no such commit in this repository"),
        )
        .into());
    }
    let shown = git(&["show", &format!("{rev}:{rel}")])?;
    let text = if shown.status.success() {
        String::from_utf8(shown.stdout).map_err(|_| anyhow!("{rev}:{rel} is not UTF-8"))?
    } else {
        String::new() // no Cargo.lock at the base
    };
    Lockfile::parse(&PathBuf::from(format!("{rev}:{rel}")), text)
}

/// In a pull request (`GITHUB_BASE_REF` set, as GitHub Actions sets it for `pull_request`
/// events): `origin/<base>` when the checkout has it, else the base commit the event names
/// (`pull_request.base.sha` in `GITHUB_EVENT_PATH`) when the checkout has that, else
/// `origin/<base>` fetched at depth 1 (unless offline). `None` outside pull requests;
/// `Some(Err)` when the base cannot be had.
pub fn pull_request_base(manifest: &Path, offline: bool) -> Option<Result<String>> {
    let base = std::env::var("GITHUB_BASE_REF")
        .ok()
        .filter(|b| !b.trim().is_empty())?;
    let dir = manifest.parent().unwrap_or(Path::new("."));
    let rev = format!("origin/{base}");
    let has = |rev: &str| {
        Command::new("git")
            .arg("-C")
            .arg(dir)
            .args([
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("{rev}^{{commit}}"),
            ])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if has(&rev) {
        return Some(Ok(rev));
    }
    // The base commit the event names: a pull request's merge commit has it as first parent,
    // so a checkout with `fetch-depth: 2` holds it without any fetch.
    let event_base = std::env::var_os("GITHUB_EVENT_PATH")
        .and_then(|p| std::fs::read(p).ok())
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| {
            v["pull_request"]["base"]["sha"]
                .as_str()
                .map(str::to_string)
        })
        .filter(|sha| sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit()));
    if let Some(sha) = &event_base
        && has(sha)
    {
        return Some(Ok(sha.clone()));
    }
    if offline {
        return Some(Err(anyhow!(
            "the pull request's base {rev} is not in this checkout (--offline: not fetched)"
        )));
    }
    let fetched = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["fetch", "--quiet", "--no-tags", "--depth=1", "origin"])
        .arg(format!("+refs/heads/{base}:refs/remotes/origin/{base}"))
        .output();
    match fetched {
        Ok(o) if o.status.success() && has(&rev) => Some(Ok(rev)),
        Ok(o) => Some(Err(anyhow!(
            "the pull request's base {rev} is not in this checkout and could not be fetched              ({}); check out with `fetch-depth: 2` (a pull request's merge commit and its base)",
            String::from_utf8_lossy(&o.stderr).trim()
        ))),
        Err(e) => Some(Err(anyhow!("running git fetch: {e}"))),
    }
}

/// What a registry's `config.json` says.
#[derive(Debug, Clone, Default)]
pub struct RegistryConfig {
    pub dl: Option<String>,
    pub api: Option<String>,
}

/// Fetching `.crate` files and asking the web API, over one runtime and client.
pub struct Fetcher {
    offline: bool,
    cargo_cache: PathBuf,
    own_cache: PathBuf,
    runtime: Option<tokio::runtime::Runtime>,
    client: Option<reqwest::Client>,
    configs: BTreeMap<String, RegistryConfig>,
    /// Downloads made (for the summary and the benchmark).
    pub downloads: usize,
    last_api_call: Option<std::time::Instant>,
}

impl Fetcher {
    pub fn new(root: &Path, offline: bool) -> Result<Fetcher> {
        let home = crate::build::cargo_home()
            .ok_or_else(|| anyhow!("neither CARGO_HOME nor HOME is set"))?;
        Ok(Fetcher {
            offline,
            cargo_cache: home.join("registry").join("cache"),
            own_cache: root.join("target").join("slsa").join("review"),
            runtime: None,
            client: None,
            configs: BTreeMap::new(),
            downloads: 0,
            last_api_call: None,
        })
    }

    fn http(&mut self) -> Result<(&tokio::runtime::Runtime, &reqwest::Client)> {
        if self.runtime.is_none() {
            self.runtime = Some(
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?,
            );
            self.client = Some(crate::registry::http_client()?);
        }
        match (&self.runtime, &self.client) {
            (Some(r), Some(c)) => Ok((r, c)),
            _ => bail!("no HTTP client"),
        }
    }

    fn get(&mut self, url: &str) -> Result<Vec<u8>> {
        let (rt, client) = self.http()?;
        rt.block_on(async {
            let r = client
                .get(url)
                .send()
                .await
                .with_context(|| format!("GET {url}"))?;
            let status = r.status();
            if !status.is_success() {
                bail!("GET {url}: {status}");
            }
            Ok(r.bytes()
                .await
                .with_context(|| format!("GET {url}"))?
                .to_vec())
        })
    }

    /// `config.json` of the sparse index at `index` (`sparse+…/`).
    pub fn config(&mut self, index: &str) -> RegistryConfig {
        if let Some(c) = self.configs.get(index) {
            return c.clone();
        }
        let base = index.strip_prefix("sparse+").unwrap_or(index);
        let url = format!("{}/config.json", base.trim_end_matches('/'));
        let config = if self.offline {
            RegistryConfig::default()
        } else {
            self.get(&url)
                .ok()
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                .map(|v| RegistryConfig {
                    dl: v["dl"].as_str().map(str::to_string),
                    api: v["api"]
                        .as_str()
                        .map(|s| s.trim_end_matches('/').to_string()),
                })
                .unwrap_or_default()
        };
        self.configs.insert(index.to_string(), config.clone());
        config
    }

    /// The bytes of `name`-`version`'s `.crate`, whose sha256 must be `checksum`; from cargo's
    /// cache, ours, or the registry at `index` (then kept in ours).
    pub fn krate(
        &mut self,
        index: &str,
        name: &str,
        version: &str,
        checksum: &str,
    ) -> Result<Vec<u8>> {
        // All three come from a lockfile: only what a registry can publish goes into a path
        // or a URL.
        if checksum.len() != 64 || !checksum.bytes().all(|b| b.is_ascii_hexdigit()) {
            bail!("{name} {version}: the lockfile's checksum is not a sha256");
        }
        let plain = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.+".contains(&b))
        };
        if !plain(name) || !plain(version) {
            bail!("`{name}` `{version}` is not a crate name and version a registry serves");
        }
        let file = format!("{name}-{version}.crate");
        let matches = |bytes: &[u8]| hex::encode(Sha256::digest(bytes)) == checksum;
        let mut candidates: Vec<PathBuf> = std::fs::read_dir(&self.cargo_cache)
            .into_iter()
            .flatten()
            .flatten()
            .map(|d| d.path().join(&file))
            .collect();
        let own = self.own_cache.join(format!(
            "{name}-{version}-{}.crate",
            checksum.get(..16).unwrap_or(checksum)
        ));
        candidates.push(own.clone());
        for c in &candidates {
            if let Ok(bytes) = std::fs::read(c)
                && matches(&bytes)
            {
                return Ok(bytes);
            }
        }
        if self.offline {
            bail!("{name} {version} is not in cargo's cache (--offline: not downloaded)");
        }
        let dl = self
            .config(index)
            .dl
            .ok_or_else(|| anyhow!("{index} gave no download URL (config.json `dl`)"))?;
        let url = download_url(&dl, name, version, checksum);
        let bytes = self.get(&url)?;
        self.downloads += 1;
        if !matches(&bytes) {
            bail!(
                "{url}: the download's sha256 differs from the lockfile's checksum for {name} {version}"
            );
        }
        if std::fs::create_dir_all(&self.own_cache).is_ok() {
            let _ = crate::fsx::write_atomic(&own, &bytes);
        }
        Ok(bytes)
    }

    /// Who published `name` `version`, from the registry web API (`None` when it does not
    /// say). crates.io's crawler policy asks for one request per second: kept for crates.io.
    pub fn publisher(&mut self, api: &str, name: &str, version: &str) -> Result<Option<String>> {
        if api.starts_with("https://crates.io")
            && let Some(t) = self.last_api_call
        {
            std::thread::sleep(Duration::from_secs(1).saturating_sub(t.elapsed()));
        }
        self.last_api_call = Some(std::time::Instant::now());
        let bytes = self.get(&format!("{api}/api/v1/crates/{name}/{version}"))?;
        let v: serde_json::Value = serde_json::from_slice(&bytes)
            .with_context(|| format!("{api}: the answer for {name} {version} is not JSON"))?;
        Ok(v["version"]["published_by"]["login"]
            .as_str()
            .map(str::to_string))
    }
}

/// A download URL from `dl` (crates.io's `config.json` rules: markers, else `/{crate}/{version}/download` appended).
pub fn download_url(dl: &str, name: &str, version: &str, checksum: &str) -> String {
    let markers = [
        "{crate}",
        "{version}",
        "{prefix}",
        "{lowerprefix}",
        "{sha256-checksum}",
    ];
    if !markers.iter().any(|m| dl.contains(m)) {
        return format!("{}/{name}/{version}/download", dl.trim_end_matches('/'));
    }
    // (Names are ASCII: checked by the caller.)
    let part = |r: std::ops::Range<usize>| name.get(r).unwrap_or_default();
    let prefix = match name.len() {
        1 => "1".to_string(),
        2 => "2".to_string(),
        3 => format!("3/{}", part(0..1)),
        _ => format!("{}/{}", part(0..2), part(2..4)),
    };
    dl.replace("{crate}", name)
        .replace("{version}", version)
        .replace("{lowerprefix}", &prefix.to_lowercase())
        .replace("{prefix}", &prefix)
        .replace("{sha256-checksum}", checksum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn download_urls_follow_the_registry_rules() {
        assert_eq!(
            download_url("https://static.crates.io/crates", "serde", "1.0.0", "ab"),
            "https://static.crates.io/crates/serde/1.0.0/download"
        );
        assert_eq!(
            download_url(
                "http://h/dl/{crate}/{version}/download",
                "ab",
                "0.1.0",
                "ab"
            ),
            "http://h/dl/ab/0.1.0/download"
        );
        assert_eq!(
            download_url(
                "http://h/{prefix}/{lowerprefix}/{crate}-{sha256-checksum}",
                "Serde",
                "1.0.0",
                "ff"
            ),
            "http://h/Se/rd/se/rd/Serde-ff"
        );
        assert_eq!(
            download_url("http://h/{prefix}/{crate}", "abc", "1.0.0", "x"),
            "http://h/3/a/abc"
        );
    }
}
