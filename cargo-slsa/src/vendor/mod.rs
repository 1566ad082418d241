//! `cargo slsa vendor`: a vendor tree identical to `cargo vendor`'s, written atomically and
//! recorded in a manifest (`.slsa-vendor.json`) that `--verify` checks for tampering.
//!
//! Sources: registry crates are extracted from the `.crate` files in cargo's cache after
//! checking each file's sha256 against Cargo.lock (so a tampered cache cannot slip in); git
//! crates are copied from cargo's git checkouts. `cargo fetch --locked` runs first unless
//! `--offline`. Layout follows cargo: a crate's directory is its name, or `NAME-VERSION` when a
//! newer version of the same name is vendored too (or with `--versioned-dirs`); each holds
//! `.cargo-checksum.json` with cargo's exact bytes (`"package": null` for git crates).
//!
//! Writing: the new tree is built in a staging directory beside DIR and exchanged with DIR in
//! one step (`renameat2(RENAME_EXCHANGE)` on Linux; elsewhere two renames, and a run killed in
//! between leaves `DIR.slsa-old`, which the next run puts back). Unchanged crates whose
//! directories still look exactly as this machine wrote them (the stat cache in
//! `target/slsa/vendor-stat.json`) are moved into the staging tree rather than read and
//! re-linked; each move is marked first and leaves a link at the old path (swapped in with the
//! same one-step exchange), so DIR reads as the old tree until the swap, and an error or a
//! killed run puts the directories back.
//!
//! Pipelined: while `cargo metadata --locked` resolves (it is the authority on the lock), the
//! registry crates DIR does not hold yet are already extracted into the staging tree from the
//! Cargo.lock on disk; that work is kept only if cargo then reports the same root and the lock
//! is unchanged byte for byte, and DIR itself is never touched meanwhile (cargo may be reading
//! it through a source replacement).
//!
//! Incremental: a crate whose manifest record still matches the lock and whose files all still
//! verify is hard-linked from the current tree instead of extracted again. `--platform`: crates
//! no build for those targets can compile become stubs (their `Cargo.toml` and an empty lib), so
//! cargo still resolves the whole lock offline.
//!
//! `--write-config` merges the configuration into `.cargo/config.toml` with toml_edit.
//!
//! A git crate's `Cargo.toml` is replaced by the normalised manifest cargo vendor generates
//! (workspace inheritance resolved, targets spelled out; see [`normalize`]).

pub mod codes;
mod config;
mod extract;
mod git;
mod normalize;
mod prefetch;
mod source;
mod staging;
mod stat;
mod tree;
mod verify;
mod write;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use guppy::graph::PackageSource;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::Ctx;
use crate::cli::VendorArgs;
use crate::error::InputError;
use crate::report::{Change, Report};
use crate::workspace::{Cargo, LockState, Workspace};
use codes::VendorCode;
use config::{config_text, merge_config};
use prefetch::prefetch;
use source::{cached_crates, dir_names};
use staging::{MOVED, check_destination, new_staging, recover, sibling};
use stat::{StatCache, StatEntry, stat_cache_path};
use tree::{MANIFEST, Manifest};
use verify::verify;
use write::{Vendored, copy_entry, vendor_all};

/// What `vendor` produced.
pub enum Output {
    /// The source-replacement configuration to print (human format, like cargo vendor).
    Config(Vec<u8>, Report),
    /// A report only (`--verify`, or machine formats).
    Report(Report),
}

/// One package to vendor.
struct Planned {
    name: String,
    version: String,
    source: String,
    checksum: Option<String>,
    dir: String,
    /// Registry: the candidate `.crate` files; git: the package directory in the checkout.
    from: Vec<PathBuf>,
    git: bool,
    /// Not needed on the `--platform`s: vendor a stub.
    stub: bool,
}

fn cargo_home() -> Result<PathBuf> {
    if let Some(h) = std::env::var_os("CARGO_HOME").filter(|h| !h.is_empty()) {
        return Ok(PathBuf::from(h));
    }
    let home =
        std::env::var_os("HOME").ok_or_else(|| anyhow!("neither CARGO_HOME nor HOME is set"))?;
    Ok(PathBuf::from(home).join(".cargo"))
}

fn sha256_file(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(hex::encode(Sha256::digest(&bytes)))
}

/// This process's peak resident memory in KiB (`VmHWM`), where the system says.
fn peak_rss_kib() -> Option<u64> {
    std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// DIR: a relative one is taken from the working directory, as cargo vendor takes it; without
/// one, `vendor` in the workspace root.
fn vendor_dir(root: &Path, cwd: &Path, args: &VendorArgs) -> PathBuf {
    match &args.dir {
        None => root.join("vendor"),
        Some(d) if d.is_absolute() => d.clone(),
        Some(d) => cwd.join(d),
    }
}

fn read_manifest(dir: &Path) -> Manifest {
    std::fs::read_to_string(dir.join(MANIFEST))
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default()
}

/// What identifies a planned crate's content.
type PlanKey = (String, String, String, Option<String>);

fn plan_key(p: &Planned) -> PlanKey {
    (
        p.name.clone(),
        p.version.clone(),
        p.source.clone(),
        p.checksum.clone(),
    )
}

pub fn run(ctx: &Ctx, args: &VendorArgs) -> Result<Output> {
    let cargo = Cargo::new(ctx.offline, ctx.progress());
    // While cargo resolves, registry crates are already vendored from the lock on disk; that
    // work is kept only if cargo then agrees (see `Prefetch`).
    let (ws, prefetched) =
        Workspace::load_with(ctx, &cargo, |root| prefetch(root, &ctx.cwd, args))?;
    let prefetched = prefetched.flatten();
    let dir_arg = args.dir.clone().unwrap_or_else(|| PathBuf::from("vendor"));
    let dir = vendor_dir(&ws.root, &ctx.cwd, args);
    let lock = match (ws.lock_state, &ws.lock) {
        (LockState::Fresh, Some(l)) => l,
        _ => {
            return Err(InputError::at(
                ws.lock_path(),
                None,
                None,
                "Cargo.lock is missing or out of date: vendoring needs the locked versions (run `cargo slsa pin`)",
            )
            .into());
        }
    };
    if args.verify {
        return Ok(Output::Report(verify(&dir, lock)?));
    }

    check_destination(&dir, &ws)?;
    let mut report = Report::new("vendor", VendorCode::rules());
    let lock_bytes = std::fs::read(&lock.path).ok();
    // Dropping a prefetch that does not match puts its moved crates back and removes its tree.
    let prefetched =
        prefetched.filter(|p| p.dir == dir && lock_bytes.as_deref() == Some(&p.lock_bytes[..]));
    // (A prefetch only starts when there is nothing to recover.)
    if prefetched.is_none() && recover(&dir)? {
        report.notes.push(format!(
            "restored {} from an interrupted run",
            dir.display()
        ));
    }
    if !ctx.offline {
        let spinner = ctx
            .progress()
            .spinner("fetching locked crates (cargo fetch --locked)");
        let mut cmd = cargo.command(&["fetch", "--locked", "--manifest-path"]);
        cmd.arg(&ws.root_manifest.path);
        let out = cmd.output().context("running cargo fetch")?;
        drop(spinner);
        if !out.status.success() {
            bail!(
                "cargo fetch --locked failed:\n{}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
    }
    let graph = ws
        .graph()?
        .ok_or_else(|| anyhow!("cargo metadata gave no dependency graph"))?;
    let home = cargo_home()?;

    // Everything in the lock that is not a path package, as cargo vendor does.
    let mut git_dirs: HashMap<(String, String, String), PathBuf> = HashMap::new();
    for p in graph.packages() {
        if let PackageSource::External(s) = p.source()
            && s.starts_with("git+")
        {
            let dir = p
                .manifest_path()
                .parent()
                .map(|d| d.as_std_path().to_path_buf())
                .unwrap_or_default();
            git_dirs.insert(
                (p.name().to_string(), p.version().to_string(), s.to_string()),
                dir,
            );
        }
    }
    let locked: Vec<&crate::workspace::LockPackage> = lock
        .packages
        .iter()
        .filter(|p| p.source.is_some())
        .collect();
    let names = dir_names(lock, args.versioned_dirs)?;
    // `--platform`: what a build for those targets (or its tests) can compile.
    let needed: Option<BTreeSet<(String, String, String)>> = if args.platform.is_empty() {
        None
    } else {
        let platforms = args
            .platform
            .iter()
            .map(|t| crate::workspace::graph::platform(t))
            .collect::<Result<Vec<_>>>()?;
        let ids = crate::workspace::graph::reachable_with_host(
            graph,
            &platforms,
            crate::workspace::graph::Kinds::ALL,
        )?;
        Some(
            ids.into_iter()
                .filter_map(|id| graph.metadata(id).ok())
                .filter_map(|p| match p.source() {
                    PackageSource::External(s) => {
                        Some((p.name().to_string(), p.version().to_string(), s.to_string()))
                    }
                    _ => None,
                })
                .collect(),
        )
    };
    let mut plan = Vec::new();
    for p in &locked {
        let source = p.source.clone().unwrap_or_default();
        let key = (p.name.clone(), p.version.clone(), source.clone());
        let dir_name = names.get(&key).cloned().unwrap_or_else(|| p.name.clone());
        let git = source.starts_with("git+");
        let from = if git {
            vec![git_dirs.get(&key).cloned().ok_or_else(|| {
                anyhow!(
                    "{} {} ({source}) is not in cargo's git checkouts: run `cargo fetch --locked`",
                    p.name,
                    p.version
                )
            })?]
        } else {
            let sum = p.checksum.as_deref().ok_or_else(|| {
                InputError::at(
                    &lock.path,
                    Some(p.line),
                    None,
                    format!("{} {} has no checksum in Cargo.lock", p.name, p.version),
                )
            })?;
            let _ = sum;
            cached_crates(&home, &p.name, &p.version)?
        };
        let stub = needed.as_ref().is_some_and(|n| !n.contains(&key));
        plan.push(Planned {
            stub,
            name: p.name.clone(),
            version: p.version.clone(),
            source,
            checksum: if git { None } else { p.checksum.clone() },
            dir: dir_name,
            from,
            git,
        });
    }

    // Build the new tree in a staging directory beside DIR (the prefetch's, when kept).
    let (staging, guard, mut done) = match prefetched {
        Some(p) => (p.staging, p.guard, p.done),
        None => {
            let (staging, guard) = new_staging(&dir, &ws.root)?;
            (staging, guard, HashMap::new())
        }
    };
    // Declared after `staging`, so it is dropped first: on any error before the swap, crate
    // directories moved into the staging tree go back to DIR before the staging tree is removed.
    let mut put_back_guard = guard;
    let mut pre: Vec<Option<Vendored>> = Vec::with_capacity(plan.len());
    for p in &plan {
        pre.push(match done.remove(&p.dir) {
            Some((key, v)) if key == plan_key(p) && !p.git && !p.stub => Some(Ok(v)),
            Some(_) => bail!("internal error: a prefetched crate does not match the plan"),
            None => None,
        });
    }
    if !done.is_empty() {
        bail!("internal error: prefetched crates that are not in the plan");
    }
    let prefetched_count = pre.iter().filter(|r| r.is_some()).count();
    let stat_path = stat_cache_path(&ws.root);
    let mut stat_cache: StatCache = std::fs::read_to_string(&stat_path)
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default();
    let dir_key = dir.display().to_string();
    let cached_stats = stat_cache.dirs.remove(&dir_key).unwrap_or_default();
    let bar = ctx
        .progress()
        .spinner(format!("vendoring {} crates", plan.len()));
    let mut manifest = Manifest {
        version: 1,
        crates: BTreeMap::new(),
    };
    let old_manifest = read_manifest(&dir);
    let mut reused_count = 0usize;
    let mut fingerprints: BTreeMap<String, String> = BTreeMap::new();
    let mut sources = BTreeSet::new();
    let done_count = std::sync::atomic::AtomicUsize::new(0);
    let results = vendor_all(
        &plan,
        pre,
        &old_manifest,
        &cached_stats,
        &dir,
        staging.path(),
        true,
        &|p: &Planned| {
            let n = done_count.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            bar.set_message(format!(
                "vendoring {n}/{}: {} {}",
                plan.len(),
                p.name,
                p.version
            ));
        },
    )?;
    for (p, res) in plan.iter().zip(results) {
        // A crate not attempted (another one failed first) has no result; the error wins.
        let Some(res) = res else { continue };
        let (record, reused, fp) = res?;
        if let Some(fp) = fp {
            fingerprints.insert(p.dir.clone(), fp);
        }
        if reused {
            reused_count += 1;
        }
        manifest.crates.insert(p.dir.clone(), record);
        sources.insert(p.source.clone());
    }
    if manifest.crates.len() != plan.len() {
        bail!("vendoring stopped before every crate was written");
    }
    drop(bar);
    // Dot entries cargo vendor keeps in an existing DIR (it never deletes them) survive too,
    // copied as they are (links stay links).
    if dir.is_dir() {
        for e in std::fs::read_dir(&dir)?.flatten() {
            let name = e.file_name();
            let n = name.to_string_lossy();
            if n.starts_with('.') && n != MANIFEST {
                copy_entry(&e.path(), &staging.path().join(&name), 0)?;
            }
        }
    }
    std::fs::write(staging.path().join(MANIFEST), manifest.to_json())?;

    // The configuration is prepared (and a bad existing config refused) before the swap.
    // Printed as given (like cargo vendor); written into the workspace's configuration
    // relative to the workspace root, which is what a relative `directory` there is read from.
    let shown = dir_arg.to_string_lossy().replace('\\', "/");
    let config = config_text(&shown, &sources);
    let config_path = ws.root.join(".cargo").join("config.toml");
    let merged = if args.write_config {
        let from_root = crate::fsx::normalize_lexically(&dir);
        let in_config = from_root
            .strip_prefix(crate::fsx::normalize_lexically(&ws.root))
            .map(Path::to_path_buf)
            .unwrap_or(from_root);
        let in_config = in_config.to_string_lossy().replace('\\', "/");
        Some(merge_config(
            &config_path,
            &config_text(&in_config, &sources),
        )?)
    } else {
        None
    };

    // Fault injection for the kill tests (like cargo's own `__CARGO_TEST_*` variables): hold
    // the run here, every crate staged and moved, so a test can kill it at this exact point.
    if let Some(ms) = std::env::var("__CARGO_SLSA_TEST_PAUSE_BEFORE_SWAP_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        std::thread::sleep(std::time::Duration::from_millis(ms.min(60_000)));
    }
    // Swap. Where the system can exchange two entries in one step, staging and DIR trade
    // places: DIR is the old tree until that instant and the new one after; the old tree, now
    // at the staging path, is removed with it. Otherwise: DIR → DIR.slsa-old, staging → DIR
    // (a run killed between the two renames leaves DIR.slsa-old, which the next run restores).
    // The staging directory stays owned by its guard until the swap succeeds, so any failure
    // removes it.
    if dir.is_dir() && crate::fsx::exchange(staging.path(), &dir).is_ok() {
        // The staging path now holds the old tree: no moved crates to put back from it.
        put_back_guard.armed = false;
        drop(put_back_guard);
        let _ = std::fs::remove_dir_all(dir.join(MOVED));
        // The run has succeeded; an old tree that cannot be removed now is removed by the next.
        let old_path = staging.path().to_path_buf();
        if let Err(e) = staging.close() {
            report.notes.push(format!(
                "could not remove the previous tree at {} ({e}); the next run removes it",
                old_path.display()
            ));
        }
    } else {
        let old = sibling(&dir, "slsa-old");
        let had_old = dir.exists();
        if had_old {
            std::fs::rename(&dir, &old)
                .with_context(|| format!("moving {} aside", dir.display()))?;
        }
        if let Err(e) = std::fs::rename(staging.path(), &dir) {
            if had_old {
                let _ = std::fs::rename(&old, &dir);
            }
            return Err(e).with_context(|| format!("moving the new tree to {}", dir.display()));
        }
        // The staged path no longer exists; the guards' cleanup finds nothing to do.
        put_back_guard.armed = false;
        drop(put_back_guard);
        drop(staging);
        let _ = std::fs::remove_dir_all(dir.join(MOVED));
        if had_old {
            std::fs::remove_dir_all(&old).with_context(|| format!("removing {}", old.display()))?;
        }
    }
    // Remember how each crate directory looks on this machine, for the next run.
    let entries = manifest
        .crates
        .iter()
        .filter_map(|(name, record)| {
            let fingerprint = fingerprints.remove(name)?;
            Some((
                name.clone(),
                StatEntry {
                    tree: record.tree.clone(),
                    fingerprint,
                },
            ))
        })
        .collect();
    stat_cache.dirs.insert(dir_key, entries);
    if let Some(parent) = stat_path.parent()
        && std::fs::create_dir_all(parent).is_ok()
        && let Ok(json) = serde_json::to_vec(&stat_cache)
    {
        // Best effort: without the cache the next run reads every crate instead.
        let _ = crate::fsx::write_atomic(&stat_path, &json);
    }
    report.changes.push(Change {
        file: dir.clone(),
        description: format!(
            "vendored {} crates ({} unchanged and verified, {} written)",
            plan.len(),
            reused_count,
            plan.len() - reused_count
        ),
    });
    report.summary.insert("crates".into(), json!(plan.len()));
    report.summary.insert("reused".into(), json!(reused_count));
    report
        .summary
        .insert("prefetched".into(), json!(prefetched_count));
    report.summary.insert(
        "stubs".into(),
        json!(plan.iter().filter(|p| p.stub).count()),
    );
    report.summary.insert("directory".into(), json!(dir));
    report.summary.insert("config".into(), json!(config));
    // This process's peak memory (not cargo's), for the benchmark and the curious.
    if let Some(kib) = peak_rss_kib() {
        report.summary.insert("peak_rss_kib".into(), json!(kib));
    }
    if let Some(text) = merged {
        if crate::fsx::write_if_changed(&config_path, text.as_bytes())? {
            report.changes.push(Change {
                file: config_path,
                description: "source replacement for the vendored crates".into(),
            });
        }
        return Ok(Output::Report(report));
    }
    Ok(Output::Config(config.into_bytes(), report))
}
