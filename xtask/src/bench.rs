//! Benchmarks: ours and the anchor on the same input, alternating, in one run; medians and ratio.
//!
//! Inputs are real crates from the registry: a generated Lambda-style service workspace (tokio,
//! axum, reqwest, the AWS SDK, serde, tracing, …) whose lockfile holds several hundred packages.
//! Fetching happens once, into the normal cargo cache; runs after that are offline.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::{cargo, root, run_step};

const SERVICE_MANIFEST: &str = r#"[package]
name = "bench-service"
version = "0.1.0"
edition = "2021"
publish = false

# Its own workspace: it lives under this repository's target/.
[workspace]

[dependencies]
anyhow = "1"
aws-config = "1"
aws-sdk-dynamodb = "1"
aws-sdk-s3 = "1"
aws-sdk-sqs = "1"
axum = "0.8"
chrono = { version = "0.4", features = ["serde"] }
clap = { version = "4", features = ["derive"] }
lambda_http = "0.17"
lambda_runtime = "0.14"
regex = "1"
reqwest = { version = "0.12", default-features = false, features = ["json", "rustls-tls"] }
serde = { version = "1", features = ["derive"] }
serde_json = "1"
thiserror = "2"
tokio = { version = "1", features = ["full"] }
tower = "0.5"
tower-http = { version = "0.6", features = ["trace", "cors"] }
tracing = "0.1"
tracing-subscriber = { version = "0.3", features = ["env-filter", "json"] }
uuid = { version = "1", features = ["v4", "serde"] }

[dev-dependencies]
proptest = "1"
"#;

pub(crate) fn run(args: &[String]) -> Result<()> {
    let name = args.first().map(String::as_str).unwrap_or("");
    let runs = match args.iter().position(|a| a == "--runs") {
        Some(i) => args
            .get(i + 1)
            .context("--runs needs a number")?
            .parse::<usize>()
            .context("--runs needs a number")?,
        None => 11,
    };
    match name {
        "pin" => bench_pin(runs),
        other => bail!("unknown benchmark `{other}` (known: pin)"),
    }
}

fn bench_dir() -> PathBuf {
    root().join("target").join("bench")
}

/// The generated service workspace, with its lock resolved and every crate fetched once.
fn service_workspace() -> Result<PathBuf> {
    let dir = bench_dir().join("service");
    std::fs::create_dir_all(dir.join("src"))?;
    let manifest = dir.join("Cargo.toml");
    if std::fs::read_to_string(&manifest).ok().as_deref() != Some(SERVICE_MANIFEST) {
        std::fs::write(&manifest, SERVICE_MANIFEST)?;
        let _ = std::fs::remove_file(dir.join("Cargo.lock"));
    }
    std::fs::write(dir.join("src/main.rs"), "fn main() {}\n")?;
    std::fs::write(
        dir.join("rust-toolchain.toml"),
        "[toolchain]\nchannel = \"1.95.0\"\n",
    )?;
    if !dir.join("Cargo.lock").is_file() {
        run_step(
            "generate the bench workspace's lockfile (network, once)",
            cargo()
                .args(["generate-lockfile", "--manifest-path"])
                .arg(&manifest),
        )?;
    }
    run_step(
        "fetch the bench workspace's crates (network, once)",
        cargo()
            .args(["fetch", "--locked", "--manifest-path"])
            .arg(&manifest),
    )?;
    Ok(dir)
}

fn release_binary() -> Result<PathBuf> {
    run_step(
        "build cargo-slsa (release)",
        cargo().args(["build", "--release", "--locked", "-p", "cargo-slsa"]),
    )?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    Ok(target.join("release").join("cargo-slsa"))
}

fn time(cmd: &mut Command, ok_codes: &[i32]) -> Result<Duration> {
    cmd.stdout(Stdio::null()).stderr(Stdio::piped());
    let start = Instant::now();
    let out = cmd.output().context("spawning a bench command")?;
    let elapsed = start.elapsed();
    let code = out.status.code().unwrap_or(-1);
    if !ok_codes.contains(&code) {
        bail!(
            "bench command failed ({code}): {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(elapsed)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn lock_packages(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("Cargo.lock"))
        .map(|s| s.matches("[[package]]").count())
        .unwrap_or(0)
}

fn bench_pin(runs: usize) -> Result<()> {
    let runs = runs.max(3);
    let ws = service_workspace()?;
    let bin = release_binary()?;
    let manifest = ws.join("Cargo.toml");
    let cargo_bin = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let anchor = || {
        let mut c = Command::new(&cargo_bin);
        c.args([
            "metadata",
            "--locked",
            "--offline",
            "--format-version",
            "1",
            "--manifest-path",
        ])
        .arg(&manifest);
        c
    };
    let ours = || {
        let mut c = Command::new(&bin);
        c.args(["pin", "--check", "--offline", "--manifest-path"])
            .arg(&manifest)
            .env("CARGO", &cargo_bin);
        c
    };
    // Warm the page cache and check both succeed before timing.
    time(&mut anchor(), &[0])?;
    time(&mut ours(), &[0])?;
    let (mut a, mut o) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        a.push(time(&mut anchor(), &[0])?);
        o.push(time(&mut ours(), &[0])?);
    }
    let (ma, mo) = (median(a), median(o));
    #[allow(clippy::disallowed_macros)] // the benchmark's result is its output
    {
        println!(
            "bench pin: {} packages in Cargo.lock, {runs} alternating runs",
            lock_packages(&ws)
        );
        println!(
            "  anchor  cargo metadata --locked   median {:>8.1} ms",
            ma.as_secs_f64() * 1e3
        );
        println!(
            "  ours    cargo slsa pin --check    median {:>8.1} ms",
            mo.as_secs_f64() * 1e3
        );
        println!(
            "  ratio   {:.3}x  (target <= 1.2x)",
            mo.as_secs_f64() / ma.as_secs_f64()
        );
    }
    Ok(())
}
