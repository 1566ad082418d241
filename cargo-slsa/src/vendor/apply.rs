//! Putting a plan in place: the new tree built in a staging directory beside DIR (crates moved,
//! reused or written there), exchanged with DIR in one step, then the configuration, the stat
//! cache with its run record, and the report.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::json;

use crate::Ctx;
use crate::cli::VendorArgs;
use crate::report::{Change, Report};

use super::codes::VendorCode;
use super::config::{config_text, merge_config};
use super::record::{self, RunRecord};
use super::staging::{new_staging, record_moves, recover, remove_moved_record, sibling};
use super::stat::{StatCache, StatEntry, stat_cache_path};
use super::tree::{MANIFEST, Manifest};
use super::write::{Moves, Vendored, copy_entry, vendor_all};
use super::{Input, Output, Planned, peak_rss_kib, plan_key, read_manifest};

/// What a run ends with, whichever path it took.
pub(super) struct Outcome<'a> {
    pub(super) dir: &'a Path,
    pub(super) crates: usize,
    pub(super) reused: usize,
    pub(super) prefetched: usize,
    pub(super) stubs: usize,
    pub(super) resolution: &'static str,
}

/// The configuration to print and, with `--write-config`, `.cargo/config.toml` merged with it
/// (prepared before anything is swapped, so a bad existing file is refused first).
pub(super) fn prepare_config(
    args: &VendorArgs,
    root: &Path,
    dir: &Path,
    sources: &BTreeSet<String>,
) -> Result<(String, Option<(PathBuf, String)>)> {
    // Printed as given (like cargo vendor); written into the workspace's configuration
    // relative to the workspace root, which is what a relative `directory` there is read from.
    let dir_arg = args.dir.clone().unwrap_or_else(|| PathBuf::from("vendor"));
    let shown = dir_arg.to_string_lossy().replace('\\', "/");
    let config = config_text(&shown, sources);
    if !args.write_config {
        return Ok((config, None));
    }
    let config_path = root.join(".cargo").join("config.toml");
    let from_root = crate::fsx::normalize_lexically(dir);
    let in_config = from_root
        .strip_prefix(crate::fsx::normalize_lexically(root))
        .map(Path::to_path_buf)
        .unwrap_or(from_root);
    let in_config = in_config.to_string_lossy().replace('\\', "/");
    let merged = merge_config(&config_path, &config_text(&in_config, sources))?;
    Ok((config, Some((config_path, merged))))
}

/// The report and output every path ends with; writes the merged configuration if it changed.
pub(super) fn finish(
    mut report: Report,
    o: Outcome<'_>,
    config: String,
    merged: Option<(PathBuf, String)>,
) -> Result<Output> {
    report.changes.push(Change {
        file: o.dir.to_path_buf(),
        description: format!(
            "vendored {} crates ({} unchanged and verified, {} written)",
            o.crates,
            o.reused,
            o.crates - o.reused
        ),
    });
    report.summary.insert("crates".into(), json!(o.crates));
    report.summary.insert("reused".into(), json!(o.reused));
    report
        .summary
        .insert("prefetched".into(), json!(o.prefetched));
    report.summary.insert("stubs".into(), json!(o.stubs));
    report.summary.insert("directory".into(), json!(o.dir));
    report.summary.insert("config".into(), json!(config));
    report
        .summary
        .insert("lock_checked_by".into(), json!(o.resolution));
    // This process's peak memory (not cargo's), for the benchmark and the curious.
    if let Some(kib) = peak_rss_kib() {
        report.summary.insert("peak_rss_kib".into(), json!(kib));
    }
    if let Some((path, text)) = merged {
        if crate::fsx::write_if_changed(&path, text.as_bytes())? {
            report.changes.push(Change {
                file: path,
                description: "source replacement for the vendored crates".into(),
            });
        }
        return Ok(Output::Report(report));
    }
    Ok(Output::Config(config.into_bytes(), report))
}

pub(super) fn load_stat_cache(root: &Path) -> StatCache {
    std::fs::read_to_string(stat_cache_path(root))
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default()
}

/// Fault injection for the kill tests (like cargo's own `__CARGO_TEST_*` variables): hold the
/// run for the milliseconds `var` says (at most a minute), so a test can kill it there.
fn test_pause(var: &str) {
    if let Some(ms) = std::env::var(var).ok().and_then(|v| v.parse::<u64>().ok()) {
        std::thread::sleep(std::time::Duration::from_millis(ms.min(60_000)));
    }
}

/// Build the new tree for `input` and swap it in (see the module documentation).
pub(super) fn write_tree(ctx: &Ctx, args: &VendorArgs, input: Input) -> Result<Output> {
    let Input {
        root,
        dir,
        lock,
        plan,
        prefetched,
        manifests,
        listed,
        checked,
        resolution,
        why_full,
    } = input;
    let mut report = Report::new("vendor", VendorCode::rules());
    if let Some(why) = why_full {
        ctx.progress()
            .detail(&format!("re-vendoring in full: {why}"));
    }
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

    // Build the new tree in a staging directory beside DIR (the prefetch's, when kept).
    let (staging, guard, mut done, known) = match prefetched {
        Some(p) => (p.staging, p.guard, p.done, p.fingerprints),
        None => {
            let (staging, guard) = new_staging(&dir, &root)?;
            (staging, guard, HashMap::new(), BTreeMap::new())
        }
    };
    // Declared after `staging`, so it is dropped first: on any error before the swap, crate
    // directories moved into the staging tree go back to DIR before the staging tree is removed.
    let mut put_back_guard = guard;
    let mut pre: Vec<Option<Vendored>> = Vec::with_capacity(plan.len());
    for p in &plan {
        pre.push(match done.remove(&p.dir) {
            Some((key, v)) if key == plan_key(p) && !p.git && !p.stub => Some(Ok(v)),
            Some(_) => anyhow::bail!("internal error: a prefetched crate does not match the plan"),
            None => None,
        });
    }
    if !done.is_empty() {
        anyhow::bail!("internal error: prefetched crates that are not in the plan");
    }
    let prefetched_count = pre.iter().filter(|r| r.is_some()).count();
    let stat_path = stat_cache_path(&root);
    let mut stat_cache = load_stat_cache(&root);
    let dir_key = dir.display().to_string();
    let cached_stats = stat_cache.dirs.remove(&dir_key).unwrap_or_default();
    stat_cache.runs.remove(&dir_key);
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
    let on_done = |p: &Planned| {
        let n = done_count.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        bar.set_message(format!(
            "vendoring {n}/{}: {} {}",
            plan.len(),
            p.name,
            p.version
        ));
    };
    // Everything that has to be written first; the crates that only move, last (see
    // `vendor_all`).
    let written = vendor_all(
        &plan,
        pre,
        &old_manifest,
        &cached_stats,
        &dir,
        staging.path(),
        true,
        Moves::Defer { known: &known },
        &on_done,
    )?;
    super::phase(ctx, "writing the changed crates");
    // (A failure is reported below, before anything is moved.)
    test_pause("__CARGO_SLSA_TEST_PAUSE_BEFORE_MOVES_MS");
    let results = if written.iter().any(|r| matches!(r, Some(Err(_)))) {
        written
    } else {
        // Every crate left for this pass is moved: recorded first, so a run killed while
        // moving is put back by the next.
        let moving: Vec<&str> = plan
            .iter()
            .zip(&written)
            .filter(|(_, r)| r.is_none())
            .map(|(p, _)| p.dir.as_str())
            .collect();
        record_moves(staging.path(), &moving)?;
        vendor_all(
            &plan,
            written,
            &old_manifest,
            &cached_stats,
            &dir,
            staging.path(),
            true,
            Moves::Checked,
            &on_done,
        )?
    };
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
        anyhow::bail!("vendoring stopped before every crate was written");
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
    super::phase(ctx, "moving the unchanged crates");
    let manifest_json = manifest.to_json();
    std::fs::write(staging.path().join(MANIFEST), &manifest_json)?;
    let (config, merged) = prepare_config(args, &root, &dir, &sources)?;

    super::phase(ctx, "manifest and configuration");
    // Every crate staged and moved: a test can kill the run at this exact point.
    test_pause("__CARGO_SLSA_TEST_PAUSE_BEFORE_SWAP_MS");
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
        remove_moved_record(&dir);
        super::phase(ctx, "the swap");
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
            std::fs::rename(&dir, &old).map_err(|e| {
                let why = if e.kind() == std::io::ErrorKind::ResourceBusy {
                    " (a mount point cannot be moved: vendor into a directory inside it)"
                } else {
                    ""
                };
                anyhow::Error::new(e).context(format!("moving {} aside{why}", dir.display()))
            })?;
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
        remove_moved_record(&dir);
        if had_old {
            std::fs::remove_dir_all(&old).with_context(|| format!("removing {}", old.display()))?;
        }
    }
    let written_config = merged.as_ref().map(|(p, _)| p.clone());
    let stubs = plan.iter().filter(|p| p.stub).count();
    let output = finish(
        report,
        Outcome {
            dir: &dir,
            crates: plan.len(),
            reused: reused_count,
            prefetched: prefetched_count,
            stubs,
            resolution,
        },
        config,
        merged,
    )?;

    super::phase(ctx, "removing the old tree");
    // Remember how each crate directory looks on this machine, and what the run vendored from,
    // for the next run.
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
        .collect::<BTreeMap<_, _>>();
    let complete = entries.len() == manifest.crates.len();
    stat_cache.dirs.insert(dir_key.clone(), entries);
    if let Some((inputs, lock_digest)) = checked {
        let after = record::inputs(ctx, args, &root, &dir, &manifests, &listed);
        let unchanged = record::without(after.clone(), written_config.as_deref())
            == record::without(inputs, written_config.as_deref());
        if complete && unchanged && lock_bytes.is_some_and(|b| record::sha256(&b) == lock_digest) {
            stat_cache.runs.insert(
                dir_key,
                RunRecord {
                    root: root.clone(),
                    lock: lock_digest,
                    tree: record::sha256(manifest_json.as_bytes()),
                    manifests,
                    listed,
                    inputs: after,
                },
            );
        }
    }
    if let Some(parent) = stat_path.parent()
        && std::fs::create_dir_all(parent).is_ok()
        && let Ok(json) = serde_json::to_vec(&stat_cache)
    {
        // Best effort: without the cache the next run reads every crate instead.
        let _ = crate::fsx::write_atomic(&stat_path, &json);
    }
    super::phase(ctx, "the stat cache and run record");
    Ok(output)
}
