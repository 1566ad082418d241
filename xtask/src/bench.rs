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

pub(crate) const SERVICE_MANIFEST: &str = r#"[package]
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
        "audit" => crate::bench_audit::bench_audit(args, runs),
        "sbom" => bench_sbom(runs),
        "harden" => crate::bench_harden::bench_harden(args, runs),
        "vendor" => crate::bench_vendor::bench_vendor(runs),
        "review" => crate::bench_review::bench_review(runs),
        "attest" => crate::bench_release::bench_attest(runs),
        "update" => crate::bench_update::bench_update(runs),
        "lambda" => crate::bench_release::bench_lambda(runs),
        other => bail!(
            "unknown benchmark `{other}` (known: pin, audit, sbom, harden, vendor, review, attest, update, lambda)"
        ),
    }
}

pub(crate) fn bench_dir() -> PathBuf {
    root().join("target").join("bench")
}

/// The generated service workspace, with its lock resolved and every crate fetched once.
pub(crate) fn service_workspace() -> Result<PathBuf> {
    let dir = generated_workspace("service", SERVICE_MANIFEST)?;
    std::fs::write(
        dir.join("rust-toolchain.toml"),
        "[toolchain]\nchannel = \"1.95.0\"\n",
    )?;
    run_step(
        "fetch the bench workspace's crates (network, once)",
        cargo()
            .args(["fetch", "--locked", "--manifest-path"])
            .arg(dir.join("Cargo.toml")),
    )?;
    Ok(dir)
}

/// `target/bench/<name>` with `manifest` and a lockfile generated once (regenerated when the
/// manifest text changes).
pub(crate) fn generated_workspace(name: &str, manifest_text: &str) -> Result<PathBuf> {
    let dir = bench_dir().join(name);
    std::fs::create_dir_all(dir.join("src"))?;
    let manifest = dir.join("Cargo.toml");
    if std::fs::read_to_string(&manifest).ok().as_deref() != Some(manifest_text) {
        std::fs::write(&manifest, manifest_text)?;
        let _ = std::fs::remove_file(dir.join("Cargo.lock"));
    }
    std::fs::write(dir.join("src/main.rs"), "fn main() {}\n")?;
    if !dir.join("Cargo.lock").is_file() {
        run_step(
            &format!("generate the {name} workspace's lockfile (network, once)"),
            cargo()
                .args(["generate-lockfile", "--manifest-path"])
                .arg(&manifest),
        )?;
    }
    Ok(dir)
}

pub(crate) fn release_binary() -> Result<PathBuf> {
    run_step(
        "build cargo-slsa (release)",
        cargo().args(["build", "--release", "--locked", "-p", "cargo-slsa"]),
    )?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    Ok(target.join("release").join("cargo-slsa"))
}

pub(crate) fn time(cmd: &mut Command, ok_codes: &[i32]) -> Result<Duration> {
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

pub(crate) fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

pub(crate) fn lock_packages(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("Cargo.lock"))
        .map(|s| s.matches("[[package]]").count())
        .unwrap_or(0)
}

/// One side of a comparison.
pub(crate) struct Side<'a> {
    pub(crate) label: &'a str,
    pub(crate) make: &'a dyn Fn() -> Command,
    pub(crate) ok_codes: &'a [i32],
}

/// Time `anchor` and `ours` alternately `runs` times after one warm-up each; print medians and
/// the ratio against `target`.
pub(crate) fn compare(
    title: &str,
    runs: usize,
    anchor: Side<'_>,
    ours: Side<'_>,
    target: f64,
) -> Result<()> {
    time(&mut (anchor.make)(), anchor.ok_codes)?;
    time(&mut (ours.make)(), ours.ok_codes)?;
    let (mut a, mut o) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        a.push(time(&mut (anchor.make)(), anchor.ok_codes)?);
        o.push(time(&mut (ours.make)(), ours.ok_codes)?);
    }
    let (ma, mo) = (median(a), median(o));
    #[allow(clippy::disallowed_macros)] // the benchmark's result is its output
    {
        println!("{title}, {runs} alternating runs");
        println!(
            "  anchor  {:<40} median {:>8.1} ms",
            anchor.label,
            ma.as_secs_f64() * 1e3
        );
        println!(
            "  ours    {:<40} median {:>8.1} ms",
            ours.label,
            mo.as_secs_f64() * 1e3
        );
        let ratio = mo.as_secs_f64() / ma.as_secs_f64();
        if target.is_finite() {
            println!("  ratio   {ratio:.3}x  (target <= {target}x)");
        } else {
            println!("  ratio   {ratio:.3}x");
        }
    }
    Ok(())
}

pub(crate) fn cargo_metadata_anchor(manifest: &Path) -> impl Fn() -> Command + '_ {
    move || {
        let cargo_bin = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut c = Command::new(cargo_bin);
        c.args([
            "metadata",
            "--locked",
            "--offline",
            "--format-version",
            "1",
            "--manifest-path",
        ])
        .arg(manifest);
        c
    }
}

/// `cargo slsa <args>` against `cargo metadata --locked` on the service workspace (pin and
/// sbom: both run that metadata call and add their own work on top).
pub(crate) fn against_metadata(runs: usize, what: &str, args: &[&str]) -> Result<()> {
    let runs = runs.max(3);
    let ws = service_workspace()?;
    let bin = release_binary()?;
    let manifest = ws.join("Cargo.toml");
    let cargo_bin = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let anchor = cargo_metadata_anchor(&manifest);
    let ours = || {
        let mut c = Command::new(&bin);
        c.args(args)
            .args(["--offline", "--manifest-path"])
            .arg(&manifest)
            .env("CARGO", &cargo_bin)
            .env("SOURCE_DATE_EPOCH", "0");
        c
    };
    let label = format!("cargo slsa {}", args.join(" "));
    compare(
        &format!(
            "bench {what}: {} packages in Cargo.lock",
            lock_packages(&ws)
        ),
        runs,
        Side {
            label: "cargo metadata --locked",
            make: &anchor,
            ok_codes: &[0],
        },
        Side {
            label: &label,
            make: &ours,
            ok_codes: &[0],
        },
        1.2,
    )
}

pub(crate) fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(name))
            .find(|f| f.is_file())
    })
}

pub(crate) fn bench_pin(runs: usize) -> Result<()> {
    against_metadata(runs, "pin", &["pin", "--check"])
}

pub(crate) fn bench_sbom(runs: usize) -> Result<()> {
    against_metadata(runs, "sbom (CycloneDX 1.6)", &["sbom"])
}

/// Peak RSS in KiB of one run of `cmd`, through GNU time (`/usr/bin/time -f %M`), if present.
pub(crate) fn peak_rss_kib(cmd: &Command) -> Option<u64> {
    if !Path::new("/usr/bin/time").is_file() {
        return None;
    }
    let mut t = Command::new("/usr/bin/time");
    t.args(["-f", "%M"])
        .arg(cmd.get_program())
        .args(cmd.get_args());
    if let Some(dir) = cmd.get_current_dir() {
        t.current_dir(dir);
    }
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            t.env(k, v);
        }
    }
    let out = t.stdout(Stdio::null()).output().ok()?;
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .last()?
        .trim()
        .parse()
        .ok()
}
