//! The secrets cargo-slsa holds, kept away from the code it builds.
//!
//! Build scripts and proc-macros are other people's code running as the same user. Two layers
//! keep signing material from them:
//! - **Out of the environment.** The binaries' `main` calls [`stash_from_env`] first thing,
//!   while the process is still single-threaded, and removes the variables it took; the rest
//!   of the run reads them through [`get`]. Every process cargo-slsa starts (cargo, rustc, git,
//!   build scripts) therefore inherits none of them, whichever code path spawns it; the build
//!   helpers also remove them explicitly ([`crate::build::scrub`]).
//! - **Out of `/proc`.** Removing a variable does not erase it from `/proc/PID/environ` (the
//!   kernel shows the environment block the process started with), and the memory holds the
//!   key. [`protect_process`] marks the process non-dumpable (`prctl(PR_SET_DUMPABLE, 0)`), so
//!   another process of the same user that lacks `CAP_SYS_PTRACE` can read neither
//!   `/proc/PID/environ` nor `/proc/PID/mem`, nor attach a debugger.
//!
//! Out of scope, and said so in the docs: a build script running as root (or with passwordless
//! `sudo`, as on GitHub-hosted runners) can read any process. Signing in a separate job that runs
//! no build (the reusable workflow, `attest --from-statement`) is the boundary that holds there.

use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The variables taken out of the environment at startup.
pub const STASHED: &[&str] = &[
    "SLSA_SIGNING_KEY",
    "SIGSTORE_ID_TOKEN",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "ACTIONS_ID_TOKEN_REQUEST_URL",
    "GITHUB_TOKEN",
    "GH_TOKEN",
];

static STASH: OnceLock<BTreeMap<&'static str, String>> = OnceLock::new();

/// Take the [`STASHED`] variables that are set into this process's memory and return their
/// names, so that `main` can remove them from the environment (which needs `unsafe` while
/// other threads could read it, hence in `main` before any thread starts). Calling it again
/// returns nothing new.
pub fn stash_from_env() -> Vec<&'static str> {
    let mut found = Vec::new();
    STASH.get_or_init(|| {
        let mut m = BTreeMap::new();
        for name in STASHED {
            if let Some(v) = std::env::var_os(name) {
                // A non-UTF-8 value cannot be a PEM key or a token: it is dropped with the rest.
                if let Ok(v) = v.into_string() {
                    m.insert(*name, v);
                }
                found.push(*name);
            }
        }
        m
    });
    found
}

/// A secret by name: from the stash when `main` took it, else from the environment (library
/// embedders that did not stash).
pub fn get(name: &str) -> Option<String> {
    STASH
        .get()
        .and_then(|m| m.get(name).cloned())
        .or_else(|| std::env::var(name).ok())
        .filter(|v| !v.trim().is_empty())
}

/// Whether a secret is available, without copying it.
pub fn is_set(name: &str) -> bool {
    get(name).is_some()
}

/// Make this process non-dumpable for the rest of its life (Linux; a no-op elsewhere). Called
/// as soon as a command knows it will hold a key or a token.
pub fn protect_process() -> anyhow::Result<()> {
    #[cfg(target_os = "linux")]
    {
        rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable)
            .map_err(|e| anyhow::anyhow!("cannot make the process non-dumpable: {e}"))?;
    }
    Ok(())
}

/// Whether [`protect_process`] is in effect (Linux; `false` elsewhere).
pub fn is_protected() -> bool {
    #[cfg(target_os = "linux")]
    {
        matches!(
            rustix::process::dumpable_behavior(),
            Ok(rustix::process::DumpableBehavior::NotDumpable)
        )
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}
