//! Sigstore trust material, got the way Sigstore clients get it: the trusted root (which Fulcio
//! CAs, CT logs, Rekor logs and timestamp authorities to believe) and the signing config (which
//! Fulcio, Rekor — v1 or v2 — and timestamp authorities to use), delivered through TUF.
//!
//! The TUF client is sigstore-rust's (`sigstore-trust-root` over `sigstore-tuf`): it walks root →
//! timestamp → snapshot → targets from a trusted bootstrap root (the public-good one is built
//! in; a private instance gives `--tuf-root`), checks signature thresholds, versions, expiry and
//! the targets' lengths and hashes, and caches what it verified under
//! `$XDG_CACHE_HOME/cargo-slsa/tuf/` (re-verified on every use; `--tuf-offline` uses only it).
//! `--trusted-root FILE` and `--signing-config FILE` replace either piece for offline use or an
//! instance without a TUF repository; whatever is not given by a file comes from TUF.

use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow};
use sigstore_trust_root::{SigningConfig, TrustedRoot, TufBootstrap, TufConfig};

use crate::cli::TrustArgs;
use crate::ctx::Ctx;
use crate::error::InputError;

/// What a command trusts and, when signing, which services it uses.
pub struct Material {
    pub root: TrustedRoot,
    pub signing_config: Option<SigningConfig>,
    /// Where the material came from, for the report (`TUF https://…`, a file path…).
    pub origin: String,
}

/// A trusted root from a file (exit 2 with the file when it is not one).
pub fn root_from_file(path: &Path) -> Result<TrustedRoot> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        InputError::at(
            path,
            None,
            None,
            format!("cannot read the trusted root: {e}"),
        )
    })?;
    TrustedRoot::from_json(&text).map_err(|e| {
        InputError::at(
            path,
            None,
            None,
            format!("not a Sigstore trusted root: {e}"),
        )
        .into()
    })
}

fn config_from_file(path: &Path) -> Result<SigningConfig> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        InputError::at(
            path,
            None,
            None,
            format!("cannot read the signing config: {e}"),
        )
    })?;
    SigningConfig::from_json(&text).map_err(|e| {
        InputError::at(
            path,
            None,
            None,
            format!("not a Sigstore signing config (v0.2): {e}"),
        )
        .into()
    })
}

/// Where verified TUF metadata and targets are kept between runs.
fn cache_dir(url: &str) -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    let name: String = url
        .trim_end_matches('/')
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    Some(base.join("cargo-slsa").join("tuf").join(name))
}

/// The TUF client's configuration from the flags.
fn tuf_config(ctx: &Ctx, args: &TrustArgs) -> Result<(TufConfig, String)> {
    let (url, config) = match (&args.tuf_url, &args.tuf_root) {
        (Some(url), Some(root)) => {
            let path = ctx.abs(root);
            let bytes = std::fs::read(&path).map_err(|e| {
                InputError::at(&path, None, None, format!("cannot read the TUF root: {e}"))
            })?;
            (
                url.clone(),
                TufConfig::custom(url.clone(), TufBootstrap::trusted(bytes)),
            )
        }
        (Some(_), None) => {
            return Err(anyhow!(
                "--tuf-url needs --tuf-root FILE: the root.json trusted to bootstrap that \
                 repository"
            ));
        }
        (None, _) => {
            let instance = sigstore_trust_root::SigstoreInstance::PublicGood;
            (
                instance.tuf_url().to_string(),
                TufConfig::for_instance(instance),
            )
        }
    };
    let config = match cache_dir(&url) {
        Some(dir) => config.with_cache_dir(dir),
        None if args.tuf_offline => {
            return Err(anyhow!(
                "--tuf-offline needs a cache directory: set XDG_CACHE_HOME or HOME"
            ));
        }
        None => config.without_cache(),
    };
    let config = if args.tuf_offline {
        config.offline()
    } else {
        config
    };
    Ok((config, url))
}

/// Load the trusted root, and the signing config when `want_config`: from the files given,
/// the rest through TUF.
pub fn load(
    ctx: &Ctx,
    args: &TrustArgs,
    signing_config: Option<&Path>,
    want_config: bool,
) -> Result<Material> {
    let file_root = match &args.trusted_root {
        Some(p) => Some((root_from_file(&ctx.abs(p))?, ctx.abs(p))),
        None => None,
    };
    let file_config = match signing_config {
        Some(p) => Some((config_from_file(&ctx.abs(p))?, ctx.abs(p))),
        None => None,
    };
    let need_root = file_root.is_none();
    let need_config = want_config && file_config.is_none();
    let mut origin: Vec<String> = Vec::new();
    if let Some((_, p)) = &file_root {
        origin.push(format!("trusted root {}", p.display()));
    }
    if let Some((_, p)) = &file_config {
        origin.push(format!("signing config {}", p.display()));
    }
    let (tuf_root, tuf_config_doc) = if need_root || need_config {
        let (config, url) = tuf_config(ctx, args)?;
        let rt = crate::async_runtime()?;
        let fail = |e: sigstore_trust_root::Error| {
            anyhow!(
                "the Sigstore trust material from the TUF repository {url} cannot be used: {e}\n\
                 (nothing was signed or written; a repository whose metadata expired or does \
                 not verify is refused — pass --trusted-root/--signing-config files to work \
                 offline or against a private instance)"
            )
        };
        let got = rt.block_on(async {
            match (need_root, need_config) {
                (true, true) => sigstore_trust_root::fetch_trust_material(config)
                    .await
                    .map(|(r, c)| (Some(r), Some(c))),
                (true, false) => TrustedRoot::from_tuf(config).await.map(|r| (Some(r), None)),
                (false, _) => SigningConfig::from_tuf(config)
                    .await
                    .map(|c| (None, Some(c))),
            }
        });
        let (r, c) = got.map_err(fail)?;
        origin.push(format!(
            "{} from TUF {url}",
            match (need_root, need_config) {
                (true, true) => "trusted root and signing config",
                (true, false) => "trusted root",
                _ => "signing config",
            }
        ));
        (r, c)
    } else {
        (None, None)
    };
    let root = file_root
        .map(|(r, _)| r)
        .or(tuf_root)
        .ok_or_else(|| anyhow!("no trusted root"))?;
    let signing_config = file_config.map(|(c, _)| c).or(tuf_config_doc);
    Ok(Material {
        root,
        signing_config,
        origin: origin.join(", "),
    })
}
