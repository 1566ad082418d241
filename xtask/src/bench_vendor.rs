//! `cargo xtask bench vendor`: what users do with `cargo slsa vendor`, timed against
//! `cargo vendor` on the same generated 1,000-crate workspace, medians of alternating runs:
//!
//! - **full**: into a fresh directory, both `--offline` from the same cargo cache;
//! - **lockfile bump**: one crate moved to another version in Cargo.lock (as `cargo update -p`
//!   does), then a re-vendor into the existing tree — against a full `cargo vendor`;
//! - **no change**: the same command again with nothing changed — against a full `cargo vendor`;
//! - **`--verify`** of the whole tree — against `sha256sum` over every file on all cores;
//! - **peak RSS** of our process (its own `VmHWM`) and of the `cargo metadata` child cargo runs
//!   for us (measured alone, under `/usr/bin/time`).
//!
//! The workspace is generated: a loopback sparse registry (the test kit's) with 1,000 crates of
//! code-like files — between 3 and ~60 files each, a few hundred bytes to tens of KiB, one crate
//! in twenty with a large generated file — and a package depending on all of them. Nothing
//! leaves the machine. `SLSA_BENCH_KEEP=1` keeps the workspace and the trees afterwards, to
//! look into a figure.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use slsa_tests::{CrateBuilder, Env, run};

use crate::bench::{median, peak_rss_kib, release_binary, time};

/// Crates in the generated workspace (`SLSA_BENCH_CRATES` sets another count, for trying the
/// benchmark itself quickly).
const CRATES: usize = 1000;

fn crates() -> usize {
    std::env::var("SLSA_BENCH_CRATES")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n: &usize| n >= 2)
        .unwrap_or(CRATES)
}

/// Progress on stderr: the generated workspace takes minutes to set up.
#[allow(clippy::disallowed_macros)] // xtask's own progress
pub(crate) fn step(what: &str) {
    eprintln!("==> {what}");
}

/// A small deterministic generator (xorshift), so every run generates the same workspace.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Source-like text of about `len` bytes.
fn code(rng: &mut Rng, len: usize) -> String {
    const WORDS: &[&str] = &[
        "fn", "let", "mut", "self", "impl", "pub", "struct", "match", "Some", "None", "Ok", "Err",
        "return", "where", "for", "in", "if", "else", "value", "config", "buffer", "len", "iter",
        "map", "collect", "Vec", "String", "u64", "usize", "&str", "->", "=>", "{", "}", "(", ");",
        "::", "as", "const", "unsafe", "move", "async", "await", "Result",
    ];
    let mut s = String::with_capacity(len + 64);
    let mut line = 0;
    while s.len() < len {
        let indent = (rng.below(4) * 4) as usize;
        s.push_str(&" ".repeat(indent));
        let words = 3 + rng.below(9);
        for _ in 0..words {
            s.push_str(WORDS[rng.below(WORDS.len() as u64) as usize]);
            s.push(' ');
        }
        // Identifiers and numbers that do not repeat, as real code has.
        s.push_str(&format!("x{}_{}\n", line, rng.below(100_000)));
        line += 1;
    }
    s
}

pub(crate) fn krate(i: usize, version: &str) -> CrateBuilder {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ ((i as u64 + 1) * 0x1000_0000_01b3));
    let name = format!("gen{i:04}");
    let mut c = CrateBuilder::new(&name, version);
    let files = 3 + rng.below(if i.is_multiple_of(7) { 60 } else { 30 }) as usize;
    for f in 0..files {
        let len = 300 + rng.below(if f % 5 == 0 { 24_000 } else { 6_000 }) as usize;
        let path = match f {
            0 => "src/lib.rs".to_string(),
            1 => "README.md".to_string(),
            n if n % 6 == 0 => format!("tests/t{n}.rs"),
            n if n % 4 == 0 => format!("src/{}/mod.rs", n / 4),
            n => format!("src/m{n}.rs"),
        };
        c = c.file(&path, code(&mut rng, len));
    }
    if i % 20 == 3 {
        c = c.file("src/tables.rs", code(&mut rng, 400_000));
    }
    c
}

/// The generated workspace: registry, project with its lock and every crate in cargo's cache.
struct Workspace {
    env: Env,
    project: PathBuf,
    crates: usize,
    /// The crate the lockfile bump moves between two versions.
    bumped: String,
}

fn generate() -> Result<Workspace> {
    let crates = crates();
    let env = Env::new();
    step(&format!(
        "publish {crates} generated crates to a loopback registry"
    ));
    for i in 0..crates {
        env.registry().publish(krate(i, "1.0.0"));
    }
    env.registry().publish(krate(crates / 2, "1.0.1"));
    let bumped = format!("gen{:04}", crates / 2);
    let project = env.scratch().join("workspace");
    std::fs::create_dir_all(project.join("src"))?;
    let mut manifest = String::from(
        "[package]\nname = \"bench-vendor\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[workspace]\n\n[dependencies]\n",
    );
    for i in 0..crates {
        manifest.push_str(&format!("gen{i:04} = \"1\"\n"));
    }
    std::fs::write(project.join("Cargo.toml"), manifest)?;
    std::fs::write(project.join("src/lib.rs"), "")?;
    step("resolve and fetch it (loopback)");
    for args in [
        &["generate-lockfile"][..],
        &["update", "-p", &bumped, "--precise", "1.0.0"][..],
        &["fetch", "--locked"][..],
    ] {
        let mut c = env.cargo(&project);
        c.args(args);
        let out = run(c);
        if !out.success() {
            bail!("cargo {}: {}", args.join(" "), out.stderr);
        }
    }
    // The other version of the bumped crate in the cache too, so the bump runs offline.
    let mut c = env.cargo(&project);
    c.args(["update", "--offline", "-p", &bumped, "--precise", "1.0.1"]);
    let out = run(c);
    if !out.success() {
        bail!("cargo update: {}", out.stderr);
    }
    let mut c = env.cargo(&project);
    c.args(["fetch", "--locked"]);
    run(c);
    Ok(Workspace {
        env,
        project,
        crates,
        bumped,
    })
}

/// Move the bumped crate to `version` in Cargo.lock, as `cargo update -p … --precise` does.
fn bump(ws: &Workspace, version: &str) -> Result<()> {
    let mut c = ws.env.cargo(&ws.project);
    c.args([
        "update",
        "--offline",
        "-p",
        &ws.bumped,
        "--precise",
        version,
    ]);
    let out = run(c);
    if !out.success() {
        bail!("cargo update: {}", out.stderr);
    }
    Ok(())
}

fn files_under(dir: &Path) -> usize {
    let mut n = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(e.path());
            } else {
                n += 1;
            }
        }
    }
    n
}

pub(crate) fn bench_vendor(runs: usize) -> Result<()> {
    let runs = runs.clamp(3, 7);
    let bin = release_binary()?;
    let ws = generate()?;
    // The trees go where users keep them, on disk (the scratch directory's filesystem), so the
    // figures include the kernel's writeback as theirs do; on a small VM that makes them noisy
    // (cargo vendor's full run moved between 3.7 and 20 s here). `SLSA_BENCH_DIR=/dev/shm`
    // measures on tmpfs instead, where cargo vendor is about twice as fast.
    let (out_root, place) = match std::env::var_os("SLSA_BENCH_DIR") {
        Some(d) => (PathBuf::from(d), "SLSA_BENCH_DIR"),
        None => (ws.env.scratch().to_path_buf(), "disk"),
    };
    let out_tmp = tempfile::Builder::new()
        .prefix("slsa-bench-vendor-")
        .tempdir_in(&out_root)
        .with_context(|| format!("creating a directory in {}", out_root.display()))?;
    let out_dir = out_tmp.path().to_path_buf();
    let fresh = |name: &str| -> PathBuf {
        let d = out_dir.join(name);
        let _ = std::fs::remove_dir_all(&d);
        d
    };
    let theirs = |dest: &Path| {
        let mut c = ws.env.cargo(&ws.project);
        c.args(["vendor", "--offline", "--locked", "--respect-source-config"])
            .arg(dest);
        c
    };
    let ours = |dest: &Path| {
        let mut c = ws.env.command(&bin, &ws.project);
        c.args(["vendor", "--offline", "--quiet"]).arg(dest);
        c
    };

    step(&format!("full vendor, {runs} alternating runs"));
    // One of each first, untimed: both tools meet a warm page cache.
    time(&mut theirs(&fresh("theirs")), &[0])?;
    time(&mut ours(&fresh("ours")), &[0])?;
    let (mut a, mut o) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        a.push(time(&mut theirs(&fresh("theirs")), &[0])?);
        o.push(time(&mut ours(&fresh("ours")), &[0])?);
    }
    let (full_theirs, full_ours) = (median(a), median(o));
    let files = files_under(&out_dir.join("ours"));

    step("re-vendor after a one-crate lockfile bump, and with nothing changed");
    let tree = out_dir.join("ours");
    let (mut bumps, mut same) = (Vec::new(), Vec::new());
    let mut version = "1.0.0";
    for _ in 0..runs {
        version = if version == "1.0.0" { "1.0.1" } else { "1.0.0" };
        bump(&ws, version)?;
        bumps.push(time(&mut ours(&tree), &[0])?);
        same.push(time(&mut ours(&tree), &[0])?);
    }
    let (bump_ours, same_ours) = (median(bumps), median(same));
    // Where a bump's time goes: one more, untimed, with `-v` (each step's milliseconds).
    version = if version == "1.0.0" { "1.0.1" } else { "1.0.0" };
    bump(&ws, version)?;
    let steps = {
        let mut c = ws.env.command(&bin, &ws.project);
        c.args(["vendor", "--offline", "-v", "--format", "json"])
            .arg(&tree)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let out = c.output().context("running cargo-slsa -v")?;
        if !out.status.success() {
            bail!(
                "cargo slsa vendor -v failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .filter(|l| l.trim_end().ends_with(" ms"))
            .map(|l| l.trim().to_string())
            .collect::<Vec<_>>()
    };

    step("--verify");
    let nproc = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let anchor_verify = || {
        let mut c = Command::new("sh");
        c.arg("-c")
            .arg(format!(
                "find . -type f -print0 | xargs -0 -P{nproc} -n 64 sha256sum > /dev/null"
            ))
            .current_dir(&tree);
        c
    };
    let ours_verify = || {
        let mut c = ws.env.command(&bin, &ws.project);
        c.args(["vendor", "--verify", "--quiet"]).arg(&tree);
        c
    };
    let (mut va, mut vo) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        va.push(time(&mut anchor_verify(), &[0])?);
        vo.push(time(&mut ours_verify(), &[0])?);
    }
    let (verify_anchor, verify_ours) = (median(va), median(vo));

    step("memory");
    let own_rss = {
        let mut c = ours(&fresh("ours-rss"));
        c.args(["--format", "json"]).stdout(Stdio::piped());
        let out = c.output().context("running cargo-slsa")?;
        serde_json::from_slice::<serde_json::Value>(&out.stdout)
            .ok()
            .and_then(|v| v["summary"]["peak_rss_kib"].as_u64())
    };
    let metadata_rss = {
        let mut c = ws.env.cargo(&ws.project);
        c.args(["metadata", "--locked", "--offline", "--format-version", "1"]);
        peak_rss_kib(&c)
    };
    let metadata_time = {
        let mut c = ws.env.cargo(&ws.project);
        c.args(["metadata", "--locked", "--offline", "--format-version", "1"]);
        let mut t = Vec::new();
        for _ in 0..runs {
            t.push(time(&mut c, &[0])?);
        }
        median(t)
    };

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let ratio = |d: Duration| ms(d) / ms(full_theirs);
    #[allow(clippy::disallowed_macros)] // the benchmark's result is its output
    {
        println!(
            "bench vendor: generated workspace, {} crates ({files} files vendored), {runs} alternating runs, medians; trees written to {} ({place})",
            ws.crates,
            out_root.display()
        );
        println!(
            "  full           cargo vendor {:>8.1} ms | ours {:>8.1} ms | {:.3}x (target <= 0.5x)",
            ms(full_theirs),
            ms(full_ours),
            ratio(full_ours)
        );
        println!(
            "  lockfile bump  ours {:>8.1} ms | {:.3}x a full cargo vendor (target <= 0.05x)",
            ms(bump_ours),
            ratio(bump_ours)
        );
        println!("    (one bump, -v: {})", steps.join("; "));
        println!(
            "  no change      ours {:>8.1} ms | {:.3}x a full cargo vendor (target <= 0.03x)",
            ms(same_ours),
            ratio(same_ours)
        );
        println!(
            "  (cargo metadata --locked alone: {:>8.1} ms | {:.3}x)",
            ms(metadata_time),
            ratio(metadata_time)
        );
        println!(
            "  --verify       sha256sum -P{nproc} {:>8.1} ms | ours {:>8.1} ms | {:.3}x",
            ms(verify_anchor),
            ms(verify_ours),
            ms(verify_ours) / ms(verify_anchor)
        );
        let mib = |k: Option<u64>| {
            k.map(|k| format!("{:.1} MiB", k as f64 / 1024.0))
                .unwrap_or_else(|| "unavailable".into())
        };
        println!(
            "  peak RSS       ours {} (target <= 100 MiB) | the cargo metadata child {}",
            mib(own_rss),
            mib(metadata_rss)
        );
    }
    // To look into a figure: keep the workspace, its cargo home and the trees.
    if std::env::var_os("SLSA_BENCH_KEEP").is_some() {
        #[allow(clippy::disallowed_macros)] // where to find what was kept
        {
            println!(
                "  kept: workspace {}, trees {}; CARGO_HOME={}",
                ws.project.display(),
                out_dir.display(),
                ws.env.cargo_home().path().display()
            );
        }
        std::mem::forget(out_tmp);
        std::mem::forget(ws);
    }
    Ok(())
}
