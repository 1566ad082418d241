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
//! Incremental: a crate whose manifest record still matches the lock is kept — moved as it is
//! when its stat fingerprint is unchanged, otherwise checked file by file against what its
//! lock-checked source would produce and hard-linked. Before cargo runs at all, the record of
//! the last run ([`record`]) decides whether cargo can be skipped (nothing that decides the
//! tree changed) or reduced to its lock check (only Cargo.lock changed). `--platform`: crates
//! no build for those targets can compile become stubs (their `Cargo.toml` and an empty lib),
//! so cargo still resolves the whole lock offline.
//!
//! `--write-config` merges the configuration into `.cargo/config.toml` with toml_edit.
//!
//! A git crate's `Cargo.toml` is replaced by the normalised manifest cargo vendor generates
//! (workspace inheritance resolved, targets spelled out; see [`normalize`]).

mod apply;
pub mod codes;
mod config;
mod extract;
mod git;
mod normalize;
mod prefetch;
mod record;
mod source;
mod staging;
mod stat;
mod tree;
mod verify;
mod write;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use guppy::graph::PackageSource;
use sha2::{Digest, Sha256};

use crate::Ctx;
use crate::cli::VendorArgs;
use crate::error::InputError;
use crate::report::Report;
use crate::workspace::{Cargo, LockState, Lockfile, Workspace};
use prefetch::{Prefetch, prefetch};
use staging::check_destination;
use tree::{MANIFEST, Manifest};
use verify::verify;

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
    crate::build::cargo_home().ok_or_else(|| anyhow!("neither CARGO_HOME nor HOME is set"))
}

fn sha256_file(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(hex::encode(Sha256::digest(&bytes)))
}

/// With `-v`: how long the step that just ended took (since the previous one), so a slow
/// re-vendor can be told apart from a slow cargo.
fn phase(ctx: &Ctx, step: &str) {
    use std::sync::Mutex;
    use std::time::Instant;
    static LAST: Mutex<Option<Instant>> = Mutex::new(None);
    let now = Instant::now();
    let Ok(mut last) = LAST.lock() else { return };
    if let Some(t) = *last {
        ctx.progress().detail(&format!(
            "{step}: {:.1} ms",
            now.duration_since(t).as_secs_f64() * 1e3
        ));
    }
    *last = Some(now);
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

/// What a run vendors, from `cargo metadata` (the full run) or from the lock alone (see
/// [`record`]).
struct Input {
    root: PathBuf,
    dir: PathBuf,
    lock: Lockfile,
    plan: Vec<Planned>,
    prefetched: Option<Prefetch>,
    /// For the run record: the manifests cargo read and the directories member globs search.
    manifests: Vec<PathBuf>,
    listed: Vec<PathBuf>,
    /// The inputs and the lock digest as they were when cargo checked them (`None`: they
    /// changed meanwhile, and no record is left).
    checked: Option<(BTreeMap<String, String>, String)>,
    /// How cargo checked the lock, for the summary.
    resolution: &'static str,
    /// Why the run could not skip cargo or `cargo metadata` (for `-v`).
    why_full: Option<String>,
}

pub fn run(ctx: &Ctx, args: &VendorArgs) -> Result<Output> {
    let cargo = Cargo::new(ctx.offline, ctx.progress());
    if args.verify {
        let ws = Workspace::load(ctx, &cargo)?;
        let dir = vendor_dir(&ws.root, &ctx.cwd, args);
        return Ok(Output::Report(verify(&dir, fresh_lock(&ws)?)?));
    }
    phase(ctx, "start");
    let start = record::Start::read(ctx, args);
    phase(ctx, "reading the last run's record");
    if let Some(s) = &start
        && let Some(out) = record::unchanged(ctx, args, s)?
    {
        phase(ctx, "checking that nothing changed");
        return Ok(out);
    }
    phase(ctx, "checking whether anything changed");
    let mut prefetched = None;
    let mut why_full = None;
    if let Some(s) = &start {
        match record::lock_only(ctx, args, &cargo, s, &mut prefetched)? {
            Ok(input) => {
                phase(ctx, "cargo's lock check, new crates extracted meanwhile");
                return apply::write_tree(ctx, args, input);
            }
            Err(why) => why_full = Some(why),
        }
    }
    let mut input = full(ctx, args, &cargo, start.as_ref(), prefetched)?;
    phase(ctx, "cargo metadata, new crates extracted meanwhile");
    input.why_full = why_full;
    apply::write_tree(ctx, args, input)
}

fn fresh_lock(ws: &Workspace) -> Result<&Lockfile> {
    match (ws.lock_state, &ws.lock) {
        (LockState::Fresh, Some(l)) => Ok(l),
        _ => Err(InputError::at(
            ws.lock_path(),
            None,
            None,
            "Cargo.lock is missing or out of date: vendoring needs the locked versions (run `cargo slsa pin`)",
        )
        .into()),
    }
}

/// The full run: `cargo fetch --locked` (unless offline) and `cargo metadata --locked`, the
/// authority on the lock, the git checkouts and the graph `--platform` filters. While cargo
/// resolves, registry crates are already vendored from the lock on disk (see [`Prefetch`]),
/// unless an attempt at the lock-only path has done that already.
fn full(
    ctx: &Ctx,
    args: &VendorArgs,
    cargo: &Cargo,
    start: Option<&record::Start>,
    earlier: Option<Prefetch>,
) -> Result<Input> {
    let lock_before = start.and_then(|s| s.lock.clone());
    let (ws, prefetched) = Workspace::load_with(ctx, cargo, |root| {
        earlier.or_else(|| prefetch(root, &ctx.cwd, args))
    })?;
    let prefetched = prefetched.flatten();
    let lock = fresh_lock(&ws)?.clone();
    let dir = vendor_dir(&ws.root, &ctx.cwd, args);
    let package_manifests: Vec<PathBuf> = ws.manifests().map(|m| m.path.clone()).collect();
    check_destination(&dir, &ws.root, &package_manifests)?;
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
    let plan = source::plan_from_graph(&lock, graph, args)?;
    // Every manifest cargo read: the root's and every workspace or path package's.
    let mut manifests = vec![ws.root_manifest.path.clone()];
    manifests.extend(
        graph
            .packages()
            .filter(|p| !matches!(p.source(), PackageSource::External(_)))
            .map(|p| p.manifest_path().as_std_path().to_path_buf()),
    );
    manifests.sort();
    manifests.dedup();
    let listed = record::glob_dirs(&ws.root, &ws.root_manifest.doc);
    let inputs = record::inputs(ctx, args, &ws.root, &dir, &manifests, &listed);
    let lock_now = record::lock_digest(&ws.root);
    let checked = match (lock_before, lock_now) {
        // The lock cargo checked is the one on disk before and after it ran.
        (Some(before), Some(now)) if before == now => Some((inputs, now)),
        _ => None,
    };
    Ok(Input {
        root: ws.root.clone(),
        dir,
        lock,
        plan,
        prefetched,
        manifests,
        listed,
        checked,
        resolution: "cargo metadata --locked",
        why_full: None,
    })
}
