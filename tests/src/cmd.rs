//! `Env` (a registry plus a `CARGO_HOME` pointing at it) and the only way the
//! kit runs processes: a hermetic environment and a hard timeout.
//!
//! The environment is hermetic in three ways: cargo configuration comes only
//! from the kit's `CARGO_HOME` (every inherited `CARGO_*` is dropped), the
//! toolchain is the real one behind rustup's proxies (so a test project's
//! `rust-toolchain.toml` cannot make rustup try to download anything), and
//! CI variables of the machine running the tests are invisible to the
//! program under test.

use std::borrow::BorrowMut;
use std::ffi::OsString;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::git::GitRemote;
use crate::project::{CargoHome, ProjectBuilder};
use crate::registry::Registry;

/// Upper bound for any process the kit runs unless told otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);
/// After the child exits, how long its stdout/stderr may stay open (held by
/// a straggling grandchild) before the whole process group is killed.
const DRAIN_GRACE: Duration = Duration::from_secs(5);

/// A registry, a `CARGO_HOME` that uses it in place of crates-io, and a
/// scratch directory (for git remotes and the like), all dropped together.
pub struct Env {
    registry: Registry,
    home: CargoHome,
    _scratch: TempDir,
    scratch_root: PathBuf,
}

impl Default for Env {
    fn default() -> Env {
        Env::new()
    }
}

impl Env {
    pub fn new() -> Env {
        let registry = Registry::start();
        let home = CargoHome::new(&registry);
        let scratch = tempfile::Builder::new()
            .prefix("slsa-scratch-")
            .tempdir()
            .expect("create a scratch dir");
        let scratch_root = scratch
            .path()
            .canonicalize()
            .expect("canonicalize the scratch dir");
        Env {
            registry,
            home,
            _scratch: scratch,
            scratch_root,
        }
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    pub fn cargo_home(&self) -> &CargoHome {
        &self.home
    }

    /// A directory that lives as long as the `Env`.
    pub fn scratch(&self) -> &Path {
        &self.scratch_root
    }

    /// Same as [`crate::Project::new`]; here so a test can stay on `env`.
    pub fn project(&self) -> ProjectBuilder {
        ProjectBuilder::default()
    }

    /// An empty git repository under [`Env::scratch`].
    pub fn git_remote(&self, name: &str) -> GitRemote {
        GitRemote::init(self.scratch(), name)
    }

    /// `program` in `cwd` with the hermetic environment; stdin is empty.
    pub fn command(&self, program: &Path, cwd: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(cwd).stdin(Stdio::null());
        for (key, _) in std::env::vars_os() {
            if let Some(key) = key.to_str()
                && is_inherited_noise(key)
            {
                cmd.env_remove(key);
            }
        }
        let toolchain = toolchain();
        cmd.env("CARGO_HOME", self.home.path())
            // Caches (the TUF client's) stay inside the test.
            .env("XDG_CACHE_HOME", self.scratch_root.join("xdg-cache"))
            .env("CARGO", &toolchain.cargo)
            .env("RUSTC", &toolchain.rustc)
            .env("PATH", &toolchain.path)
            .env("NO_COLOR", "1")
            .env("CARGO_TERM_COLOR", "never")
            .env("CARGO_NET_RETRY", "0")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_TERMINAL_PROMPT", "0");
        if let Some(rustdoc) = &toolchain.rustdoc {
            cmd.env("RUSTDOC", rustdoc);
        }
        cmd
    }

    /// The real cargo, with the same environment as [`Env::command`].
    pub fn cargo(&self, cwd: &Path) -> Command {
        self.command(&toolchain().cargo, cwd)
    }
}

/// Variables of the machine running the tests that would change what the
/// program under test does: CI detection, cargo configuration and build
/// output location, toolchain overrides, compiler wrappers and flags, and
/// git repository overrides (set when tests run inside a git hook).
fn is_inherited_noise(key: &str) -> bool {
    const EXACT: &[&str] = &[
        "CI",
        "GH_TOKEN",
        "SLSA_SIGNING_KEY",
        "SIGSTORE_ID_TOKEN",
        "SOURCE_DATE_EPOCH",
        "RUSTUP_TOOLCHAIN",
        "RUSTFLAGS",
        "RUSTDOCFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_CEILING_DIRECTORIES",
    ];
    // AWS_ and the signing variables: the machine's credentials must never reach a test (the
    // Lambda tests set their own, for the kit's fake).
    const PREFIXES: &[&str] = &["GITHUB_", "RUNNER_", "CARGO_", "AWS_", "ACTIONS_"];
    EXACT.contains(&key) || PREFIXES.iter().any(|p| key.starts_with(p))
}

struct Toolchain {
    cargo: PathBuf,
    rustc: PathBuf,
    rustdoc: Option<PathBuf>,
    /// The toolchain's `bin/` first, so `cargo`/`rustc` looked up by name
    /// are the real binaries rather than rustup proxies.
    path: OsString,
}

fn toolchain() -> &'static Toolchain {
    static TOOLCHAIN: OnceLock<Toolchain> = OnceLock::new();
    TOOLCHAIN.get_or_init(|| {
        let sysroot = sysroot();
        let bin = sysroot.join("bin");
        let cargo = std::env::var_os("CARGO")
            .filter(|c| !c.is_empty())
            .map(PathBuf::from)
            .or_else(|| Some(bin.join("cargo")).filter(|c| c.exists()))
            .unwrap_or_else(|| PathBuf::from("cargo"));
        let rustc = bin.join("rustc");
        assert!(rustc.exists(), "no rustc at {}", rustc.display());
        let rustdoc = Some(bin.join("rustdoc")).filter(|p| p.exists());
        let inherited = std::env::var_os("PATH").unwrap_or_default();
        let path = std::env::join_paths(
            std::iter::once(bin.clone()).chain(std::env::split_paths(&inherited)),
        )
        .expect("PATH entries are joinable");
        Toolchain {
            cargo,
            rustc,
            rustdoc,
            path,
        }
    })
}

/// The active toolchain's sysroot, asked once of `rustc --print sysroot`.
/// The rustc asked is `$RUSTC`, else the one beside `$CARGO` (the real
/// binary `cargo test` ran under, no rustup involved), else `rustc` on PATH.
pub fn sysroot() -> &'static Path {
    static SYSROOT: OnceLock<PathBuf> = OnceLock::new();
    SYSROOT.get_or_init(|| {
        let beside_cargo = std::env::var_os("CARGO")
            .filter(|c| !c.is_empty())
            .and_then(|c| Some(Path::new(&c).parent()?.join("rustc")))
            .filter(|r| r.is_file())
            .map(OsString::from);
        let rustc = std::env::var_os("RUSTC")
            .filter(|r| !r.is_empty())
            .or(beside_cargo)
            .unwrap_or_else(|| OsString::from("rustc"));
        let mut cmd = Command::new(rustc);
        cmd.args(["--print", "sysroot"]).stdin(Stdio::null());
        let out = run_with_timeout(&mut cmd, Duration::from_secs(60)).assert_success();
        PathBuf::from(out.stdout.trim())
    })
}

/// The real cargo binary the kit runs (not a rustup proxy when avoidable).
pub fn cargo_bin() -> &'static Path {
    &toolchain().cargo
}

/// The real rustc binary, `<sysroot>/bin/rustc`.
pub fn rustc_bin() -> &'static Path {
    &toolchain().rustc
}

/// Exit code, output and a description of what ran. `Debug` prints all of
/// it, so `assert!(out.success(), "{out:?}")` explains itself.
#[derive(Clone, PartialEq, Eq)]
pub struct RunOutput {
    /// Program, arguments and working directory.
    pub command: String,
    /// The exit code, or 128 + signal number when killed by a signal.
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// The kit killed the process for exceeding its timeout.
    pub timed_out: bool,
}

impl RunOutput {
    pub fn success(&self) -> bool {
        self.code == 0 && !self.timed_out
    }

    #[track_caller]
    pub fn assert_success(self) -> RunOutput {
        assert!(self.success(), "expected success: {self:?}");
        self
    }

    /// Any non-zero exit that was not a timeout.
    #[track_caller]
    pub fn assert_failure(self) -> RunOutput {
        assert!(
            self.code != 0 && !self.timed_out,
            "expected failure: {self:?}"
        );
        self
    }

    #[track_caller]
    pub fn assert_code(self, code: i32) -> RunOutput {
        assert!(
            self.code == code && !self.timed_out,
            "expected exit code {code}: {self:?}"
        );
        self
    }
}

impl fmt::Debug for RunOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let timed_out = if self.timed_out {
            " (killed: timed out)"
        } else {
            ""
        };
        writeln!(f, "`{}` exited with {}{timed_out}", self.command, self.code)?;
        writeln!(f, "--- stdout ---\n{}", self.stdout)?;
        write!(f, "--- stderr ---\n{}", self.stderr)
    }
}

/// [`run_with_timeout`] with [`DEFAULT_TIMEOUT`].
pub fn run(cmd: impl BorrowMut<Command>) -> RunOutput {
    run_with_timeout(cmd, DEFAULT_TIMEOUT)
}

/// Runs to completion or until `timeout`, then kills the process and its
/// process group. Output is captured in full; panics only if the program
/// cannot be started.
pub fn run_with_timeout(mut cmd: impl BorrowMut<Command>, timeout: Duration) -> RunOutput {
    let cmd = cmd.borrow_mut();
    let command = describe(cmd);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // Its own group, so a timeout also takes down cargo's rustc children
        // and anything else the program spawned.
        cmd.process_group(0);
    }
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start `{command}`: {e}"));
    // A piped stdin nobody writes to would block the child forever.
    drop(child.stdin.take());

    let (tx, rx) = mpsc::channel();
    let readers = [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    ];
    let mut pending = 0;
    for (index, reader) in readers.into_iter().enumerate() {
        if let Some(mut reader) = reader {
            pending += 1;
            let tx = tx.clone();
            std::thread::spawn(move || {
                let mut bytes = Vec::new();
                // A read error mid-stream keeps what was read; the exit
                // status tells the story.
                let _ = reader.read_to_end(&mut bytes);
                let _ = tx.send((index, bytes));
            });
        }
    }
    drop(tx);

    let started = Instant::now();
    let (status, mut timed_out) = wait_until(&mut child, started + timeout);

    let mut captured = [Vec::new(), Vec::new()];
    let drain_deadline = Instant::now() + DRAIN_GRACE;
    while pending > 0 {
        let left = drain_deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((index, bytes)) => {
                captured[index] = bytes;
                pending -= 1;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                // Exited, but a grandchild still holds the pipes open.
                kill_group(&mut child);
                timed_out |= status.is_none();
                if let Ok((index, bytes)) = rx.recv_timeout(DRAIN_GRACE) {
                    captured[index] = bytes;
                    pending -= 1;
                } else {
                    break;
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    let status = status.or_else(|| child.try_wait().ok().flatten());
    let [stdout, stderr] = captured;
    RunOutput {
        command,
        code: status.map_or(-1, exit_code),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        timed_out,
    }
}

/// Polls (cheaply, backing off to 50 ms) until exit or `deadline`; on
/// timeout kills the group and reaps the child.
fn wait_until(child: &mut Child, deadline: Instant) -> (Option<ExitStatus>, bool) {
    let mut pause = Duration::from_millis(2);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return (Some(status), false),
            Ok(None) => {}
            Err(_) => break,
        }
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        std::thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(50));
    }
    kill_group(child);
    (reap(child, Duration::from_secs(10)), true)
}

fn reap(child: &mut Child, within: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    None
}

fn kill_group(child: &mut Child) {
    #[cfg(unix)]
    {
        // std has no killpg; kill(1) does it, and is itself bounded.
        let group = format!("-{}", child.id());
        let killer = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        if let Ok(mut killer) = killer
            && reap(&mut killer, Duration::from_secs(5)).is_none()
        {
            let _ = killer.kill();
            let _ = killer.wait();
        }
    }
    // Covers non-unix and a missing kill(1); an error means it is gone.
    let _ = child.kill();
}

fn exit_code(status: ExitStatus) -> i32 {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return 128 + signal;
        }
    }
    status.code().unwrap_or(-1)
}

fn describe(cmd: &Command) -> String {
    let mut parts = vec![cmd.get_program().to_string_lossy().into_owned()];
    parts.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    let mut out = parts.join(" ");
    if let Some(dir) = cmd.get_current_dir() {
        out.push_str(&format!(" (in {})", dir.display()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeout_kills_the_whole_group() {
        let started = Instant::now();
        let mut cmd = Command::new("sh");
        // The grandchild `sleep` keeps stdout open; it must die too or the
        // reader would wait for it.
        cmd.args(["-c", "echo before; sleep 30 & sleep 30"]);
        let out = run_with_timeout(cmd, Duration::from_millis(300));
        assert!(out.timed_out, "{out:?}");
        assert!(!out.success());
        assert_eq!(out.stdout, "before\n");
        assert_eq!(out.code, 128 + 9, "{out:?}");
        assert!(started.elapsed() < Duration::from_secs(10), "{out:?}");
    }

    #[test]
    fn exit_codes_and_streams_are_captured() {
        let out = run(Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]));
        let out = out.assert_code(3).assert_failure();
        assert_eq!(out.stdout, "out\n");
        assert_eq!(out.stderr, "err\n");
        let shown = format!("{out:?}");
        assert!(shown.contains("exited with 3"), "{shown}");
        assert!(shown.contains("--- stdout ---\nout"), "{shown}");
        assert!(shown.contains("--- stderr ---\nerr"), "{shown}");
    }

    #[test]
    fn command_environment_is_hermetic() {
        let env = Env::new();
        let out = run(env.command(Path::new("env"), env.scratch())).assert_success();
        let vars: Vec<(&str, &str)> = out
            .stdout
            .lines()
            .filter_map(|l| l.split_once('='))
            .collect();
        let get = |k: &str| vars.iter().find(|(key, _)| *key == k).map(|(_, v)| *v);
        assert_eq!(
            get("CARGO_HOME").map(PathBuf::from).as_deref(),
            Some(env.cargo_home().path())
        );
        assert_eq!(
            get("RUSTC").map(PathBuf::from).as_deref(),
            Some(rustc_bin())
        );
        assert_eq!(
            get("CARGO").map(PathBuf::from).as_deref(),
            Some(cargo_bin())
        );
        assert_eq!(get("NO_COLOR"), Some("1"));
        assert_eq!(get("CARGO_TERM_COLOR"), Some("never"));
        assert_eq!(get("CARGO_NET_RETRY"), Some("0"));
        assert_eq!(get("GIT_CONFIG_GLOBAL"), Some("/dev/null"));
        assert_eq!(get("GIT_CONFIG_NOSYSTEM"), Some("1"));
        // `cargo test` gives the test process CARGO_MANIFEST_DIR and
        // CARGO_PKG_*; none of that may reach the program under test.
        for (key, _) in &vars {
            let allowed = ["CARGO", "CARGO_HOME", "CARGO_TERM_COLOR", "CARGO_NET_RETRY"];
            assert!(
                !key.starts_with("CARGO_") || allowed.contains(key),
                "{key} leaked"
            );
            for noise in ["GITHUB_", "RUNNER_"] {
                assert!(!key.starts_with(noise), "{key} leaked");
            }
            for noise in ["CI", "GH_TOKEN", "RUSTUP_TOOLCHAIN", "RUSTFLAGS"] {
                assert_ne!(*key, noise, "{key} leaked");
            }
        }
        assert!(rustc_bin().starts_with(sysroot()));
        let path = get("PATH").expect("PATH kept");
        assert!(
            path.starts_with(&sysroot().join("bin").display().to_string()),
            "{path}"
        );
    }

    #[test]
    fn real_cargo_runs_without_rustup_installing_anything() {
        let env = Env::new();
        let project = env
            .project()
            .file("Cargo.toml", crate::basic_manifest("pinned", &[]))
            .file("src/lib.rs", "")
            // Not installed and not installable offline: a rustup proxy would
            // fail here, the real binaries do not look at this file.
            .file("rust-toolchain.toml", "[toolchain]\nchannel = \"1.70.0\"\n")
            .build();
        let out = run(env.cargo(project.path()).arg("--version")).assert_success();
        assert!(out.stdout.starts_with("cargo "), "{out:?}");
        run(env.cargo(project.path()).args(["check", "--offline"])).assert_success();
        // Whatever the program under test finds on PATH is real too.
        let by_name = run(env
            .command(Path::new("sh"), project.path())
            .args(["-c", "cargo --version && rustc --version"]))
        .assert_success();
        assert_eq!(by_name.stdout.lines().count(), 2, "{by_name:?}");
    }
}
