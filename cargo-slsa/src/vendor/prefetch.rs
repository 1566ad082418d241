//! Vendoring while `cargo metadata` resolves: registry crates of the lock on disk are
//! written into a staging tree that the run keeps only if cargo then agrees.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use crate::cli::VendorArgs;
use crate::workspace::Lockfile;

use super::tree::Manifest;
use super::{
    PlanKey, Planned, cargo_home, plan_key, read_manifest, source::cached_crates,
    source::dir_names, staging::PutBackGuard, staging::is_vendor_tree, staging::needs_recovery,
    staging::new_staging, vendor_dir, write::Moves, write::VendoredCrate, write::vendor_all,
};

/// Crates vendored while `cargo metadata` was still resolving: the registry crates of the
/// Cargo.lock under the root cargo is expected to report, each checked against the lock's
/// checksum as always. The run keeps this work only when cargo reports that root and the lock
/// is byte for byte the one planned from (so the plan is the same); otherwise it is dropped,
/// which puts any crate moved out of DIR back and removes the staging tree.
pub(super) struct Prefetch {
    pub(super) dir: PathBuf,
    pub(super) lock_bytes: Vec<u8>,
    // Declaration order is drop order: moved crates go back before the staging tree is removed.
    pub(super) guard: PutBackGuard,
    pub(super) staging: tempfile::TempDir,
    pub(super) done: HashMap<String, (PlanKey, VendoredCrate)>,
    /// The stat fingerprints of the crates DIR holds and the plan keeps, taken meanwhile (see
    /// [`super::write::Moves`]).
    pub(super) fingerprints: BTreeMap<String, String>,
}

/// Start vendoring from the lock on disk (see [`Prefetch`]); `None` whenever anything is not
/// plainly the usual case (verification, `--platform`, a DIR the run would refuse, no lock),
/// leaving all of it to the checked path.
pub(super) fn prefetch(root: &Path, cwd: &Path, args: &VendorArgs) -> Option<Prefetch> {
    if args.verify || !args.platform.is_empty() {
        return None;
    }
    let dir = vendor_dir(root, cwd, args);
    match std::fs::symlink_metadata(&dir) {
        Err(_) => {}
        Ok(m) if m.is_dir() => {
            let canon = std::fs::canonicalize(&dir).ok()?;
            let root_c = std::fs::canonicalize(root).ok()?;
            if root_c.starts_with(&canon) || !is_vendor_tree(&canon) {
                return None;
            }
        }
        Ok(_) => return None,
    }
    if !dir.parent().is_some_and(Path::is_dir) {
        return None;
    }
    let lock_path = root.join("Cargo.lock");
    let lock_bytes = std::fs::read(&lock_path).ok()?;
    let lock = Lockfile::parse(&lock_path, String::from_utf8(lock_bytes.clone()).ok()?).ok()?;
    let names = dir_names(&lock, args.versioned_dirs).ok()?;
    let home = cargo_home().ok()?;
    let mut plan = Vec::new();
    for p in &lock.packages {
        let (Some(source), Some(checksum)) = (&p.source, &p.checksum) else {
            continue;
        };
        if source.starts_with("git+") {
            continue;
        }
        let key = (p.name.clone(), p.version.clone(), source.clone());
        let (Some(dir_name), Ok(from)) =
            (names.get(&key), cached_crates(&home, &p.name, &p.version))
        else {
            continue;
        };
        plan.push(Planned {
            name: p.name.clone(),
            version: p.version.clone(),
            source: source.clone(),
            checksum: Some(checksum.clone()),
            dir: dir_name.clone(),
            from,
            git: false,
            stub: false,
        });
    }
    // Left by an interrupted run: the checked path repairs that first.
    if needs_recovery(&dir) {
        return None;
    }
    // DIR itself is not touched: cargo may be reading it right now (a source replacement
    // pointing at it), so crates DIR already holds are left to the checked path; a crate whose
    // directory holds another version (a bump) is written into the staging tree.
    let old = read_manifest(&dir);
    plan.retain(|p| {
        old.crates.get(&p.dir).is_none_or(|r| {
            r.name != p.name
                || r.version != p.version
                || r.source != p.source
                || r.package != p.checksum
                || r.stub
        })
    });
    let (staging, guard) = new_staging(&dir, root).ok()?;
    let pre = plan.iter().map(|_| None).collect();
    let results = vendor_all(
        &plan,
        pre,
        &Manifest::default(),
        &BTreeMap::new(),
        &dir,
        staging.path(),
        false,
        Moves::Defer {
            known: &BTreeMap::new(),
        },
        &|_| {},
    );
    let mut done = HashMap::new();
    for (p, r) in plan.iter().zip(results.ok()?) {
        match r {
            Some(Ok(v)) => {
                done.insert(p.dir.clone(), (plan_key(p), v));
            }
            // Redone by the checked path; nothing half-written may stay behind.
            _ => {
                if std::fs::remove_dir_all(staging.path().join(&p.dir)).is_err()
                    && staging.path().join(&p.dir).exists()
                {
                    return None;
                }
            }
        }
    }
    // The crates DIR holds that the plan keeps: their fingerprints now, while cargo runs, so
    // the run after it only has to move them (reading them changes nothing).
    let kept: Vec<&str> = old
        .crates
        .keys()
        .filter(|name| !plan.iter().any(|p| &p.dir == *name))
        .map(String::as_str)
        .collect();
    let fingerprints = super::stat::fingerprints(&dir, &kept);
    Some(Prefetch {
        dir,
        lock_bytes,
        guard,
        staging,
        done,
        fingerprints,
    })
}
