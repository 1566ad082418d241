//! Command-line definitions: global flags and one struct per subcommand. The flag docs here are
//! the user documentation (`--help` is snapshot-tested).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::report::Format;

mod args;
pub use args::*;

/// Harden a Rust project's supply chain.
///
/// Run as `cargo slsa <COMMAND>` or `cargo-slsa <COMMAND>`. Exit codes: 0 success, 1 a check
/// failed, 2 usage or input error (nothing is written).
#[derive(Debug, Parser)]
#[command(
    name = "cargo-slsa",
    bin_name = "cargo slsa",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// Flags every subcommand accepts.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// When to colour human output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    /// Colour when stdout is a terminal and NO_COLOR is unset.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// Global flags.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Path to the Cargo.toml of the workspace (default: the nearest one upwards from here).
    /// `update` takes it several times, for several workspaces in one repository.
    #[arg(long, global = true, value_name = "PATH", action = clap::ArgAction::Append)]
    pub manifest_path: Vec<PathBuf>,

    /// Output format: readable text, one JSON object, SARIF 2.1.0, or GitHub annotations
    /// (plus a job summary when GITHUB_STEP_SUMMARY is set).
    #[arg(long, global = true, value_enum, default_value_t = Format::Human)]
    pub format: Format,

    /// Colour human output.
    #[arg(long, global = true, value_enum, default_value_t = ColorWhen::Auto, value_name = "WHEN")]
    pub color: ColorWhen,

    /// Print findings only: no progress, no notes, no summary line when nothing failed.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Show the commands cargo-slsa runs (cargo, rustc) and cargo's own output.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Never use the network; cargo runs with --offline.
    #[arg(long, global = true)]
    pub offline: bool,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Pin the lockfile, git revs, versions and toolchain; allow only trusted sources.
    ///
    /// Checks that Cargo.lock exists and is up to date, git dependencies are pinned to full
    /// commit hashes, no requirement is `*` (with --exact: every registry requirement is
    /// `=x.y.z`), the toolchain is pinned to an exact version, and every locked package comes
    /// from an allowed source ([workspace.metadata.slsa.pin] allowed-sources, default crates.io).
    /// Without --check it fixes what it can, atomically, and prints what it changed; running it
    /// twice changes nothing.
    Pin(PinArgs),

    /// Check Cargo.lock against the RustSec advisory database.
    ///
    /// Reports vulnerable versions (error), unmaintained and unsound crates, and yanked versions
    /// (warnings), each with the advisory id, its CVE/GHSA aliases, the patched versions and the
    /// dependency path from the workspace. Reads Cargo.lock only: no resolution, and no network
    /// with --db (yanked versions need the registry index and are skipped with --offline).
    /// Ignores live in [workspace.metadata.slsa.audit] ignore = [{ id, reason, until }]; an
    /// ignore needs a reason and stops applying after its `until` date.
    Audit(AuditArgs),

    /// Write a CycloneDX or SPDX SBOM of the workspace.
    ///
    /// Every resolved package (default features, as `cargo metadata --locked` resolves them)
    /// with its purl `pkg:cargo/NAME@VERSION`, the SHA-256 from Cargo.lock, its license as an
    /// SPDX expression, authors, and the dependency graph. Dev-dependencies are left out unless
    /// --include-dev. The output is deterministic: the serial number is derived from the
    /// content and the timestamp is SOURCE_DATE_EPOCH when set. Without --output the document
    /// goes to stdout.
    Sbom(SbomArgs),

    /// Audit GitHub Actions workflows and composite actions; pin `uses:` and permissions.
    ///
    /// Checks .github/workflows/, action.yml and .github/actions/ (or the given files and
    /// directories) for
    /// unpinned `uses:`, excessive token permissions, dangerous triggers, template injection,
    /// persisted checkout credentials (artipacked), cache poisoning in publishing workflows,
    /// cargo without --locked, and hard-coded credentials — with zizmor's codes where the audit
    /// is the same. With --fix it pins every `uses:` to the commit SHA of its tag or branch
    /// (resolved through the GitHub API, with a `# tag` comment) and adds a top-level
    /// `permissions: contents: read` where none is set, changing nothing else.
    Harden(HardenArgs),

    /// The pull-request gate: pin, vendor, audit, harden and review, read-only, in one report.
    ///
    /// Read-only. Runs each part as its own subcommand would and merges the findings (SARIF
    /// lists the rules of every part); exit 1 if any finding is at or above the deny level, 2 if
    /// any part could not run. The vendor part runs when the workspace has a vendor/ directory;
    /// the review part in a pull request (GITHUB_BASE_REF) or with --review-base.
    Check(CheckArgs),

    /// Vendor the locked crates into DIR, as `cargo vendor` does, and record them for --verify.
    ///
    /// Writes the same tree as `cargo vendor` (directory names, files, modes,
    /// .cargo-checksum.json) from cargo's cache — registry crates only after their sha256 matches
    /// Cargo.lock — plus .slsa-vendor.json, a manifest of per-crate tree digests. The new tree
    /// replaces DIR atomically. Prints the source-replacement configuration for
    /// .cargo/config.toml. With --verify it changes nothing and reports files modified, added or
    /// missing, checksums that differ from Cargo.lock, and crates that do not match the lock.
    Vendor(VendorArgs),

    /// Show what a lockfile change brings in: a capability diff of every updated crate.
    ///
    /// Compares Cargo.lock with a base (--base REV, default HEAD, through git; or --base-lock
    /// FILE) and, for every registry crate added, removed or at another version, reads both
    /// `.crate` files (from cargo's cache or the registry, checked against the sha256 in the
    /// lockfiles) and compares them without running any of their code: files and lines
    /// changed, and signals — a build script or proc-macro added, build-time code that starts
    /// processes, opens connections or reads secrets, binary files, obfuscated literals, more
    /// unsafe, a new crate (and a young one), another publisher. Source is read as tokens, so
    /// comments and strings do not count. Exit 1 if a finding is at or above the deny level.
    Review(ReviewArgs),

    /// Build release binaries reproducibly and write signed SLSA v1 provenance for them.
    ///
    /// Builds with `cargo build --locked --release` (or the packages, binaries, target and
    /// features given) under reproducibility settings: path prefixes of the workspace, the
    /// target dir, CARGO_HOME and the toolchain remapped; SOURCE_DATE_EPOCH from the commit
    /// time; CARGO_INCREMENTAL=0, TZ=UTC, LC_ALL=C. With --artifact it attests files built
    /// elsewhere instead, recorded as such. The in-toto statement names every artifact with its
    /// sha256 and records the source commit, the toolchain, the build parameters and every
    /// Cargo.lock package. Writes NAME.intoto.jsonl (DSSE envelopes, one per line) and
    /// NAME.sigstore.json (Sigstore bundle v0.3) to --output. The signing key comes from --key
    /// FILE or the SLSA_SIGNING_KEY environment variable, never the command line; while it
    /// holds a key or token the process is non-dumpable and the secrets are out of the
    /// environment every child inherits. With --lambda, each binary is also packaged as a
    /// deterministic target/lambda/BIN/bootstrap.zip and attested on its own. With
    /// --from-statement, a statement from `attest --unsigned` in another job is checked against
    /// the artifacts, the checkout and its Cargo.lock, then signed — the signing half of a
    /// build whose signing is out of the build's reach.
    Attest(AttestArgs),

    /// Verify artifacts against their attestation before deploying them.
    ///
    /// Checks the signature over the DSSE pre-authentication encoding with exactly the trusted
    /// key (--key) or a certificate matching the keyless policy, then — on the verified bytes
    /// only — the payload type, the statement type, the predicate type, that every ARTIFACT's
    /// sha256 is a subject, and the builder, source and ref when asked. A Lambda zip passes as
    /// a subject itself or entry by entry; --lambda-function asks AWS Lambda which code a
    /// function runs and requires it to be attested. Exit 1 with the reason when any check
    /// fails.
    Verify(VerifyArgs),

    /// Propose dependency updates: plan, apply to the working tree, or open pull requests.
    ///
    /// For each registry dependency of every workspace member (and [workspace.dependencies]):
    /// the newest semver-compatible version (cargo's rule: the leftmost non-zero component
    /// decides), and with --breaking the newest incompatible one — never yanked, never a
    /// pre-release unless the current version is one, never above the package's rust-version,
    /// and never published less than --min-age days ago, except versions that fix a RustSec
    /// advisory affecting the current lock (marked as security updates). Without --dry-run or
    /// --open-pr the plan is applied: Cargo.lock through `cargo update --precise`, requirements
    /// raised only where needed, comments kept.
    Update(UpdateArgs),

    /// Write a new ECDSA P-256 signing key pair for `attest --key` and `verify --key`.
    ///
    /// PREFIX.key is the PKCS#8 PEM private key (mode 0600); PREFIX.pub the public key
    /// (SubjectPublicKeyInfo PEM). Existing files are not overwritten unless --force. Store the
    /// private key as a CI secret (SLSA_SIGNING_KEY) and publish the public key.
    Keygen(KeygenArgs),
}
