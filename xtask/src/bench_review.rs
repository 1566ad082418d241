//! `cargo xtask bench review`: what a reviewer of a lockfile change waits for — `cargo slsa
//! review` of 20 crates moved to a new version, both versions in cargo's cache, against the
//! loopback registry of the test kit (its web API answers the publisher questions). The anchor
//! is the floor for any tool that reads those crates' contents: unpacking the same 40 `.crate`
//! files with `tar -xzf`, on the same cores. Medians of alternating runs.
//!
//! Then the download rule: with five of the new versions removed from cargo's cache, the first
//! review downloads exactly those five (checked against the lock), the next one none.
//!
//! The crates are the vendor benchmark's generated ones (3 to ~60 code-like files, a few with a
//! large table); each new version edits `src/lib.rs` and adds a module.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use slsa_tests::{Env, run};

use crate::bench::{median, release_binary, time};
use crate::bench_vendor::{krate, step};

const CRATES: usize = 20;

fn cargo_ok(env: &Env, dir: &Path, args: &[&str]) -> Result<()> {
    let mut c = env.cargo(dir);
    c.args(args);
    let out = run(c);
    if !out.success() {
        bail!("cargo {}: {}", args.join(" "), out.stderr);
    }
    Ok(())
}

fn git(dir: &Path, args: &[&str]) -> Result<()> {
    let out = slsa_tests::git_command(dir, "1700000000 +0000")
        .args(args)
        .output()
        .context("running git")?;
    if !out.status.success() {
        bail!(
            "git {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

pub(crate) fn bench_review(runs: usize) -> Result<()> {
    let runs = runs.clamp(3, 11);
    let bin = release_binary()?;
    let env = Env::new();
    step(&format!(
        "publish {CRATES} crates at 1.0.0 and 1.0.1 to a loopback registry"
    ));
    for i in 0..CRATES {
        env.registry().publish(krate(i, "1.0.0"));
        env.registry()
            .set_publisher(&format!("gen{i:04}"), "1.0.0", "alice");
    }
    let project = env.scratch().join("workspace");
    std::fs::create_dir_all(project.join("src"))?;
    let mut manifest = String::from(
        "[package]\nname = \"bench-review\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[workspace]\n\n[dependencies]\n",
    );
    for i in 0..CRATES {
        manifest.push_str(&format!("gen{i:04} = \"1\"\n"));
    }
    std::fs::write(project.join("Cargo.toml"), manifest)?;
    std::fs::write(project.join("src/lib.rs"), "")?;
    cargo_ok(&env, &project, &["generate-lockfile"])?;
    cargo_ok(&env, &project, &["fetch", "--locked"])?;
    git(&project, &["init", "-q"])?;
    git(&project, &["add", "-A"])?;
    git(&project, &["commit", "-q", "-m", "base"])?;
    for i in 0..CRATES {
        let edited = krate(i, "1.0.1")
            .file(
                "src/lib.rs",
                format!(
                    "pub mod added;\npub fn version() -> &'static str {{ \"1.0.1\" }}\n// {i}\n"
                ),
            )
            .file("src/added.rs", "pub fn added() -> u64 { 42 }\n");
        env.registry().publish(edited);
        env.registry()
            .set_publisher(&format!("gen{i:04}"), "1.0.1", "alice");
    }
    cargo_ok(&env, &project, &["update"])?;
    cargo_ok(&env, &project, &["fetch", "--locked"])?;

    let review = || {
        let mut c = env.command(&bin, &project);
        c.args(["review", "--format", "json"]);
        c
    };
    // The anchor: unpack the 40 archives, two at a time (the machine's cores).
    let cache = env.cargo_home().path().join("registry").join("cache");
    let archives: Vec<String> = std::fs::read_dir(&cache)?
        .flatten()
        .flat_map(|d| std::fs::read_dir(d.path()).into_iter().flatten().flatten())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("gen"))
        })
        .map(|p| p.display().to_string())
        .collect();
    if archives.len() != 2 * CRATES {
        bail!(
            "expected {} archives in cargo's cache, found {}",
            2 * CRATES,
            archives.len()
        );
    }
    let unpack_dir = env.scratch().join("unpacked");
    let nproc = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let unpack = || {
        let _ = std::fs::remove_dir_all(&unpack_dir);
        let _ = std::fs::create_dir_all(&unpack_dir);
        let mut c = Command::new("sh");
        c.arg("-c")
            .arg(format!(
                "printf '%s\\n' \"$@\" | xargs -P{nproc} -n 1 tar -xzf"
            ))
            .arg("sh")
            .args(&archives)
            .current_dir(&unpack_dir);
        c
    };

    step(&format!(
        "review of {CRATES} updated crates, {runs} alternating runs"
    ));
    // One of each first, untimed.
    time(&mut review(), &[0, 1])?;
    time(&mut unpack(), &[0])?;
    let (mut a, mut o) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        a.push(time(&mut unpack(), &[0])?);
        o.push(time(&mut review(), &[0, 1])?);
    }
    let (anchor, ours) = (median(a), median(o));
    // What it found, to be sure the timed runs reviewed every crate.
    let out = review()
        .stdout(Stdio::piped())
        .output()
        .context("running review")?;
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).context("review's JSON")?;
    let reviewed = report["summary"]["crates"]
        .as_array()
        .map(|c| c.iter().filter(|c| c["reviewed"] == true).count())
        .unwrap_or(0);
    if reviewed != CRATES {
        bail!("review compared {reviewed} crates, not {CRATES}: {report}");
    }

    step("downloads: five new versions not in cargo's cache");
    let mut removed = 0;
    for p in &archives {
        if [
            "gen0000-1.0.1",
            "gen0001-1.0.1",
            "gen0002-1.0.1",
            "gen0003-1.0.1",
            "gen0004-1.0.1",
        ]
        .iter()
        .any(|n| p.ends_with(&format!("{n}.crate")))
        {
            std::fs::remove_file(p)?;
            removed += 1;
        }
    }
    let downloads = |what: &str| -> Result<u64> {
        let out = review()
            .stdout(Stdio::piped())
            .output()
            .context("running review")?;
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)
            .with_context(|| format!("review's JSON ({what})"))?;
        Ok(v["summary"]["downloads"].as_u64().unwrap_or(u64::MAX))
    };
    let first = downloads("first")?;
    let second = downloads("second")?;

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    #[allow(clippy::disallowed_macros)] // the benchmark's result is its output
    {
        println!(
            "bench review: {CRATES} crates updated (both versions cached), {runs} alternating runs, medians"
        );
        println!(
            "  review         tar -xzf of the 40 archives -P{nproc} {:>8.1} ms | ours {:>8.1} ms | {:.3}x (target <= 1000 ms)",
            ms(anchor),
            ms(ours),
            ms(ours) / ms(anchor)
        );
        println!(
            "  downloads      {removed} crates not cached: {first} downloaded by the first review, {second} by the next (target: {removed}, then 0)"
        );
    }
    if first != removed || second != 0 {
        bail!("downloads: expected {removed} then 0, got {first} then {second}");
    }
    Ok(())
}
