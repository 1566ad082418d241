//! The environment and flags a reproducible build runs with ([`ReproEnv`]): path prefixes
//! remapped to placeholders, ambient settings recorded or refused.

use super::*;

/// The environment and flags a reproducible build runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReproEnv {
    /// Variables set for cargo (sorted); rustc flags go in `CARGO_ENCODED_RUSTFLAGS`
    /// (`\x1f`-separated), so paths with spaces stay one flag.
    pub vars: BTreeMap<String, String>,
    /// The rustc flags as recorded: machine paths replaced by `$WORKSPACE`, `$TARGET_DIR`,
    /// `$CARGO_HOME`, `$SYSROOT`, `$HOME`.
    pub recorded_rustflags: Vec<String>,
    /// The machine paths and their placeholders, longest first (to record other values).
    pub placeholders: Vec<(String, &'static str)>,
}

impl ReproEnv {
    /// `text` with this build's machine paths replaced by their placeholders.
    pub fn without_paths(&self, text: &str) -> String {
        to_placeholders(text, &self.placeholders)
    }
}

/// Remove every secret variable from a child's environment: [`crate::secrets::STASHED`] (the
/// binaries already took those out of their own environment at startup; this also protects
/// library embedders) and every `AWS_*` variable — credentials, container and web-identity
/// tokens alike (`verify --lambda-function --rebuild` holds them). Build scripts and
/// proc-macros are other people's code.
pub fn scrub(cmd: &mut Command) -> &mut Command {
    for k in crate::secrets::STASHED {
        cmd.env_remove(k);
    }
    for (k, _) in std::env::vars_os() {
        if k.to_str().is_some_and(|k| k.starts_with("AWS_")) {
            cmd.env_remove(&k);
        }
    }
    cmd
}

/// `CARGO_HOME` as cargo resolves it.
pub fn cargo_home() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
}

/// The rustc flags already in the environment, as cargo would read them: the
/// `\x1f`-separated `CARGO_ENCODED_RUSTFLAGS`, else whitespace-separated `RUSTFLAGS`.
pub fn ambient_rustflags() -> Vec<String> {
    match std::env::var("CARGO_ENCODED_RUSTFLAGS") {
        Ok(v) if !v.is_empty() => v.split('\x1f').map(str::to_string).collect(),
        _ => std::env::var("RUSTFLAGS")
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_string)
            .collect(),
    }
}

/// The machine paths a build's flags may name, longest first, each with the placeholder it is
/// recorded as. Only the first four are remapped in the binary; `$HOME` is mapped in the record
/// only, so no home directory is published.
pub(super) fn path_placeholders(
    root: &Path,
    target_dir: &Path,
    toolchain: &Toolchain,
) -> Vec<(String, &'static str)> {
    let mut maps: Vec<(String, &'static str)> = vec![
        (toolchain.sysroot.display().to_string(), "$SYSROOT"),
        (root.display().to_string(), "$WORKSPACE"),
        (target_dir.display().to_string(), "$TARGET_DIR"),
    ];
    if let Some(home) = cargo_home() {
        maps.push((home.display().to_string(), "$CARGO_HOME"));
    }
    if let Some(home) = std::env::var_os("HOME").filter(|h| h.len() > 1) {
        maps.push((PathBuf::from(home).display().to_string(), "$HOME"));
    }
    maps.retain(|(p, _)| p.len() > 1);
    maps.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
    maps
}

/// `text` with every machine path in `maps` replaced by its placeholder (longest first, so a
/// target dir inside the workspace is named as the target dir).
pub(super) fn to_placeholders(text: &str, maps: &[(String, &'static str)]) -> String {
    let mut out = text.to_string();
    for (path, name) in maps {
        out = out.replace(path.as_str(), name);
    }
    out
}

/// `text` with the placeholders of a record expanded to this machine's paths.
pub(super) fn from_placeholders(text: &str, maps: &[(String, &'static str)]) -> String {
    let mut out = text.to_string();
    for (path, name) in maps {
        out = out.replace(name, path);
    }
    out
}

/// The reproducibility settings for building `root` into `target_dir` with `toolchain`, on top
/// of `base_rustflags` (the user's, or a record's, whose `$WORKSPACE`-style placeholders are
/// expanded to this machine's paths). `epoch` is `SOURCE_DATE_EPOCH` (from the commit, or as
/// recorded). The recorded flags name no machine path: every one is replaced by its
/// placeholder.
pub fn repro_env(
    root: &Path,
    target_dir: &Path,
    toolchain: &Toolchain,
    epoch: Option<i64>,
    base_rustflags: &[String],
) -> ReproEnv {
    let placeholders = path_placeholders(root, target_dir, toolchain);
    let mut maps: Vec<(PathBuf, &str, &str)> = vec![
        (toolchain.sysroot.clone(), "/slsa/rustc", "$SYSROOT"),
        (root.to_path_buf(), "/slsa/src", "$WORKSPACE"),
        (target_dir.to_path_buf(), "/slsa/target", "$TARGET_DIR"),
    ];
    if let Some(home) = cargo_home() {
        maps.push((home, "/slsa/cargo", "$CARGO_HOME"));
    }
    // rustc applies the last matching mapping: shortest prefix first, so the most specific
    // one (a target dir or CARGO_HOME inside the workspace) wins.
    maps.sort_by_key(|(p, _, _)| p.as_os_str().len());
    let mut flags: Vec<String> = base_rustflags
        .iter()
        .map(|f| from_placeholders(f, &placeholders))
        .collect();
    let mut recorded: Vec<String> = flags
        .iter()
        .map(|f| to_placeholders(f, &placeholders))
        .collect();
    for (from, to, name) in &maps {
        flags.push(format!("--remap-path-prefix={}={to}", from.display()));
        recorded.push(format!("--remap-path-prefix={name}={to}"));
    }
    let mut vars = BTreeMap::new();
    vars.insert("CARGO_ENCODED_RUSTFLAGS".to_string(), flags.join("\x1f"));
    vars.insert("CARGO_INCREMENTAL".to_string(), "0".to_string());
    vars.insert("TZ".to_string(), "UTC".to_string());
    vars.insert("LC_ALL".to_string(), "C".to_string());
    if let Some(e) = epoch {
        vars.insert("SOURCE_DATE_EPOCH".to_string(), e.to_string());
    }
    ReproEnv {
        vars,
        recorded_rustflags: recorded,
        placeholders,
    }
}

/// The recorded rustc flags of a build, without the remaps we add: the base for a rebuild.
pub fn base_flags_of_record(recorded: &[String]) -> Vec<String> {
    recorded
        .iter()
        .filter(|f| !f.starts_with("--remap-path-prefix=$"))
        .cloned()
        .collect()
}

/// The environment variables recorded with the build, without the rustc flags (recorded as a
/// list beside them).
pub fn recorded_env(env: &ReproEnv) -> BTreeMap<String, String> {
    let mut out = env.vars.clone();
    out.remove("CARGO_ENCODED_RUSTFLAGS");
    out
}

/// How an ambient variable is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Record {
    /// The value, with machine paths replaced by placeholders (tool paths, profile settings:
    /// values that select a build, never credentials).
    Value,
    /// Only that it was set: flags (`CFLAGS`, `LDFLAGS`, a target's `RUSTFLAGS`) can carry
    /// `-DAPI_KEY=…` or a licence server's address.
    Presence,
}

/// Whether `name` is a build-affecting variable we record, and how. An exact allowlist by
/// name: the per-target forms only for the host and target triples of this build, so
/// `CC_TEST_REPORTER_ID` (a secret that merely starts like `CC_<triple>`) is never recorded.
pub(super) fn ambient_rule(name: &str, triples: &[&str]) -> Option<Record> {
    const VALUES: &[&str] = &[
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_BOOTSTRAP",
        "CC",
        "CXX",
        "AR",
        "CARGO_BUILD_TARGET",
    ];
    const PRESENCE: &[&str] = &["CFLAGS", "CXXFLAGS", "LDFLAGS", "CARGO_BUILD_RUSTFLAGS"];
    const PROFILE: &[&str] = &[
        "OPT_LEVEL",
        "DEBUG",
        "SPLIT_DEBUGINFO",
        "STRIP",
        "DEBUG_ASSERTIONS",
        "OVERFLOW_CHECKS",
        "LTO",
        "PANIC",
        "INCREMENTAL",
        "CODEGEN_UNITS",
        "RPATH",
        "CODEGEN_BACKEND",
    ];
    if VALUES.contains(&name) {
        return Some(Record::Value);
    }
    if PRESENCE.contains(&name) {
        return Some(Record::Presence);
    }
    if let Some(key) = name.strip_prefix("CARGO_PROFILE_RELEASE_")
        && PROFILE.contains(&key)
    {
        return Some(Record::Value);
    }
    for t in triples {
        let upper = t.to_ascii_uppercase().replace(['-', '.'], "_");
        let under = t.replace(['-', '.'], "_");
        for tool in ["CC", "CXX", "AR"] {
            if name == format!("{tool}_{t}") || name == format!("{tool}_{under}") {
                return Some(Record::Value);
            }
        }
        for flags in ["CFLAGS", "CXXFLAGS"] {
            if name == format!("{flags}_{t}") || name == format!("{flags}_{under}") {
                return Some(Record::Presence);
            }
        }
        if name == format!("CARGO_TARGET_{upper}_LINKER")
            || name == format!("CARGO_TARGET_{upper}_AR")
        {
            return Some(Record::Value);
        }
        if name == format!("CARGO_TARGET_{upper}_RUSTFLAGS") {
            return Some(Record::Presence);
        }
    }
    None
}

/// Variables of the environment that change what cargo and build scripts do, recorded so a
/// reader knows what else was set: an exact allowlist of names ([`ambient_rule`]); values only
/// for those that cannot hold secrets, with machine paths mapped as in the rustc flags;
/// flags as `(set)`.
pub fn ambient_build_env(env: &ReproEnv, triples: &[&str]) -> BTreeMap<String, String> {
    std::env::vars()
        .filter_map(|(k, v)| match ambient_rule(&k, triples)? {
            Record::Value => Some((k, env.without_paths(&v))),
            Record::Presence => Some((k, "(set)".to_string())),
        })
        .collect()
}
