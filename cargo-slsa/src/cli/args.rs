//! The flags of each subcommand (re-exported from [`super`]).

use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// Flags of `cargo slsa pin`.
#[derive(Debug, Args)]
pub struct PinArgs {
    /// Change nothing: report findings and exit 1 if there are any.
    #[arg(long)]
    pub check: bool,

    /// Also require every registry dependency to be an exact `=x.y.z` requirement (the fix writes
    /// the locked version). Config: `exact = true`.
    #[arg(long)]
    pub exact: bool,

    /// Require this exact toolchain (e.g. 1.95.0); without a value, the active rustc's version.
    /// The fix writes it to rust-toolchain.toml, keeping components and targets.
    /// Config: `toolchain = "1.95.0"`.
    #[arg(long, value_name = "VER", num_args = 0..=1, require_equals = false)]
    pub toolchain: Option<Option<String>>,
}

/// Which findings fail the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DenyLevel {
    /// Warnings fail too.
    Warnings,
    /// Only errors fail (the default).
    Errors,
}

/// Where the advisory database comes from (`audit`, and the audit part of `check`).
#[derive(Debug, Clone, Default, Args)]
pub struct DbArgs {
    /// Use the advisory database in this directory (a checkout of RustSec/advisory-db, or any
    /// directory with its `crates/` layout) as is; nothing is fetched.
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,

    /// Fetch the database from this https git URL instead of
    /// https://github.com/RustSec/advisory-db.git (a mirror).
    #[arg(long, value_name = "URL", conflicts_with = "db")]
    pub db_url: Option<String>,

    /// Do not fetch: use the copy in $CARGO_HOME/advisory-db as it is (with --db, which is never
    /// fetched, it changes nothing — accepted as cargo-audit users type it).
    #[arg(long)]
    pub no_fetch: bool,
}

/// Flags of `cargo slsa audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The advisory database.
    #[command(flatten)]
    pub source: DbArgs,

    /// Which findings fail the run: `warnings` makes unmaintained, unsound, yanked and expired
    /// ignores fail it too; `errors` (the default) only vulnerabilities. Config: `deny = "…"`.
    #[arg(long, value_enum, value_name = "LEVEL")]
    pub deny: Option<DenyLevel>,

    /// Audit this Cargo.lock instead of the workspace's (cargo-audit's `-f`); configuration
    /// still comes from the workspace around it when there is one.
    #[arg(short = 'f', long = "file", value_name = "Cargo.lock")]
    pub file: Option<PathBuf>,

    /// Do not ask the registry whether locked versions were yanked (cargo-audit's flag).
    #[arg(long)]
    pub no_yanked: bool,

    /// Accepted for cargo-audit compatibility: a database is always used as it is, however old
    /// (its commit and fetch time are in the JSON summary).
    #[arg(long)]
    pub stale: bool,
}

/// SBOM document formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SbomFormat {
    /// CycloneDX JSON (1.6, or 1.5 with --spec-version 1.5).
    CyclonedxJson,
    /// SPDX 2.3 JSON.
    SpdxJson,
}

/// Flags of `cargo slsa sbom`.
#[derive(Debug, Args)]
pub struct SbomArgs {
    /// Document format.
    #[arg(long, value_enum, default_value_t = SbomFormat::CyclonedxJson, value_name = "FORMAT")]
    pub sbom_format: SbomFormat,

    /// Spec version: 1.6 (default) or 1.5 for CycloneDX; 2.3 for SPDX.
    #[arg(long, value_name = "VER")]
    pub spec_version: Option<String>,

    /// Only packages that can be built for this target triple (e.g. x86_64-unknown-linux-gnu).
    #[arg(long, value_name = "TRIPLE")]
    pub target: Option<String>,

    /// Describe this workspace member and its dependencies only (default: the whole workspace).
    #[arg(short, long, value_name = "NAME")]
    pub package: Option<String>,

    /// Include the workspace members' dev-dependencies.
    #[arg(long)]
    pub include_dev: bool,

    /// Write the SBOM to FILE (atomically) and print a report instead of the document.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Flags of `cargo slsa harden`.
#[derive(Debug, Args)]
pub struct HardenArgs {
    /// Workflow or action files, or directories to search for *.yml / *.yaml (default: the
    /// workflows in .github/workflows/, action.yml at the root, and .github/actions/).
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Fix what can be fixed: pin `uses:` to commit SHAs (needs the GitHub API and a token in
    /// GITHUB_TOKEN or GH_TOKEN; the tag stays as a comment), add `permissions: contents: read`
    /// where none is set (naming jobs that need more), `persist-credentials: false` on
    /// checkouts, `--locked` on cargo commands (when a Cargo.lock is committed), and move
    /// untrusted `${{ … }}` out of bash/sh `run:` scripts into `env:`. Every edit is re-parsed
    /// before it is written.
    #[arg(long)]
    pub fix: bool,

    /// With --fix: write nothing; print the unified diff of what would change.
    #[arg(long, requires = "fix")]
    pub dry_run: bool,

    /// GitHub API base URL (GitHub Enterprise, or a test server).
    #[arg(
        long,
        value_name = "URL",
        env = "GITHUB_API_URL",
        default_value = "https://api.github.com"
    )]
    pub github_api_url: String,
}

/// The parts of `cargo slsa check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckPart {
    /// pin --check.
    Pin,
    /// vendor --verify (when a vendor directory exists).
    Vendor,
    /// audit.
    Audit,
    /// harden (read-only).
    Harden,
    /// review of the lockfile change against the pull request's base (in a pull request, or
    /// with --review-base).
    Review,
}

/// Flags of `cargo slsa check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Workflow files or directories for the harden part (default: .github/workflows/,
    /// action.yml and .github/actions/).
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Skip a part (repeatable).
    #[arg(long, value_enum, value_name = "PART")]
    pub skip: Vec<CheckPart>,

    /// The advisory database for the audit part (as for `audit`).
    #[command(flatten)]
    pub source: DbArgs,

    /// Which findings fail the check: `warnings` or `errors` (default).
    #[arg(long, value_enum, value_name = "LEVEL")]
    pub deny: Option<DenyLevel>,

    /// The git revision the review part compares Cargo.lock with. Default in a pull request
    /// (GITHUB_BASE_REF set): `origin/<base branch>`, fetched (depth 1) when the checkout
    /// lacks it; elsewhere the review part does not run.
    #[arg(long, value_name = "REV")]
    pub review_base: Option<String>,
}

/// Flags of `cargo slsa review`.
#[derive(Debug, Args)]
pub struct ReviewArgs {
    /// The git revision whose Cargo.lock is the base (default HEAD; in a pull request, the
    /// base branch, e.g. `origin/main`).
    #[arg(long, value_name = "REV", conflicts_with = "base_lock")]
    pub base: Option<String>,

    /// A Cargo.lock file to use as the base instead of one from git.
    #[arg(long, value_name = "FILE")]
    pub base_lock: Option<PathBuf>,

    /// Count process and network signals in every shipped source file, not only in build
    /// scripts and proc-macros.
    #[arg(long)]
    pub all_code: bool,

    /// A crate entering the graph whose first version was published less than DAYS ago is
    /// reported (new-crate-young).
    #[arg(long, value_name = "DAYS", default_value_t = 30)]
    pub min_age: u32,

    /// Which findings fail the run: `warnings` makes build scripts and proc-macros added,
    /// obfuscation, another publisher and young crates fail it too; `errors` (the default)
    /// only processes, network access, secrets and binaries.
    #[arg(long, value_enum, value_name = "LEVEL")]
    pub deny: Option<DenyLevel>,
}

/// Flags of `cargo slsa vendor`.
#[derive(Debug, Args)]
pub struct VendorArgs {
    /// The vendor directory (default: `vendor` in the workspace root). A relative DIR is
    /// taken from the current directory, as cargo vendor takes it.
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// Check DIR against its manifest, its checksum files and Cargo.lock; change nothing.
    #[arg(long)]
    pub verify: bool,

    /// Always name directories NAME-VERSION (as `cargo vendor --versioned-dirs`).
    #[arg(long)]
    pub versioned_dirs: bool,

    /// Merge the source-replacement configuration into .cargo/config.toml (keeping its other
    /// settings and comments) instead of printing it.
    #[arg(long, conflicts_with = "verify")]
    pub write_config: bool,

    /// Keep only the crates needed to build for this target triple (repeatable); the others
    /// become stubs (their Cargo.toml and an empty lib) so cargo still resolves offline.
    #[arg(long, value_name = "TRIPLE")]
    pub platform: Vec<String>,
}

/// Flags of `cargo slsa attest`.
#[derive(Debug, Args)]
pub struct AttestArgs {
    /// Attest this prebuilt file instead of building (repeatable); recorded as prebuilt.
    /// Subjects are named by file name (by path when two share a name); the output is named
    /// after --name, the single file, or — for a generic Lambda name (`bootstrap`,
    /// `bootstrap.zip`) — its parent directory. With --from-statement: the files the
    /// statements name.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["package", "bin", "target", "features", "all_features", "no_default_features", "reproducible"])]
    pub artifact: Vec<PathBuf>,

    /// Sign this unsigned statement (NAME.statement.json from `attest --unsigned` in another
    /// job) instead of building (repeatable; NAME.sbom.statement.json joins NAME). Before
    /// signing, every subject must be one of the --artifact files and every file a subject; the
    /// statement's source repository, ref and commit must be this checkout's (and GitHub's
    /// GITHUB_REPOSITORY, GITHUB_REF, GITHUB_SHA); its Cargo.lock packages must be the checked-out
    /// Cargo.lock's; and it must not be dirty — else `statement-mismatch` (exit 1) and nothing
    /// is written. builder.id becomes the signer's own workflow identity (keyless: the token's
    /// job_workflow_ref). Runs no cargo, no rustc and no repository code.
    #[arg(long, value_name = "FILE", requires = "artifact", conflicts_with_all = ["lambda", "unsigned", "allow_dirty", "sbom", "reproducible"])]
    pub from_statement: Vec<PathBuf>,

    /// Package each binary as an AWS Lambda deployment zip, `target/lambda/BIN/bootstrap.zip`
    /// (one entry `bootstrap`, mode 0755, deterministic: time from SOURCE_DATE_EPOCH, deflate
    /// level 9, no extra fields), and write one attestation per function,
    /// `target/slsa/BIN.intoto.jsonl` and `BIN.sigstore.json`, whose subjects are the binary and
    /// its zip. Prints each zip's CodeSha256. Builds for --lambda-arch's target unless --target
    /// is given.
    #[arg(long, conflicts_with = "name")]
    pub lambda: bool,

    /// With --lambda: the function's architecture, x86_64 (default; target
    /// x86_64-unknown-linux-gnu) or arm64 (aarch64-unknown-linux-gnu). Recorded in the
    /// provenance; `verify --lambda-function` compares it with the function's. A target that is
    /// not installed, or a cross target without a linker, is an error before any build.
    #[arg(long, value_name = "ARCH", value_enum, requires = "lambda")]
    pub lambda_arch: Option<crate::lambda::Arch>,

    /// With --lambda: also put this file (as its file name) or directory (as its name and
    /// everything below) into every zip (repeatable). Entries are sorted; modes are 0755 for
    /// executables, 0644 otherwise. Recorded with their sha256.
    #[arg(long, value_name = "PATH", requires = "lambda")]
    pub lambda_include: Vec<PathBuf>,

    /// Build this package (default: the workspace's default members).
    #[arg(short, long, value_name = "NAME")]
    pub package: Option<String>,

    /// Build only this binary (repeatable; default: every binary of the selected packages).
    #[arg(long, value_name = "NAME")]
    pub bin: Vec<String>,

    /// Build for this target triple (artifacts land in target/TRIPLE/release/).
    #[arg(long, value_name = "TRIPLE")]
    pub target: Option<String>,

    /// Features to enable (comma-separated or repeated).
    #[arg(short = 'F', long, value_name = "FEATURES", value_delimiter = ',')]
    pub features: Vec<String>,

    /// Enable every feature.
    #[arg(long)]
    pub all_features: bool,

    /// Do not enable the default features.
    #[arg(long)]
    pub no_default_features: bool,

    /// Also rebuild from a clean copy of the source at another path with another target dir,
    /// and fail (exit 1, nothing written) if any artifact's sha256 differs. The result is
    /// recorded in the provenance's byproducts.
    #[arg(long)]
    pub reproducible: bool,

    /// Sign with this ECDSA P-256 PKCS#8 PEM private key (default: the SLSA_SIGNING_KEY
    /// environment variable).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["keyless", "unsigned"])]
    pub key: Option<PathBuf>,

    /// Sign keylessly with Sigstore: an OIDC identity token (GitHub Actions' with audience
    /// `sigstore`, or SIGSTORE_ID_TOKEN) buys a short-lived Fulcio certificate and the
    /// signature is logged in Rekor. Needs `permissions: id-token: write`.
    #[arg(long, conflicts_with = "unsigned")]
    pub keyless: bool,

    /// Attest even when the work tree has uncommitted changes or untracked files (or Cargo.lock
    /// is not committed); the provenance then marks the source as dirty and verify rejects it.
    #[arg(long)]
    pub allow_dirty: bool,

    /// Write the unsigned in-toto statement (NAME.statement.json) for another signer (for
    /// example `attest --from-statement` in a job that runs no build).
    #[arg(long)]
    pub unsigned: bool,

    /// Also attest a CycloneDX SBOM of the same build for the same subjects (a second envelope
    /// in NAME.intoto.jsonl and NAME.sbom.sigstore.json).
    #[arg(long)]
    pub sbom: bool,

    /// Directory to write the attestation files to (default: target/slsa in the workspace).
    #[arg(short, long, value_name = "DIR")]
    pub output: Option<PathBuf>,

    /// Base name of the attestation files (default: the package, the single binary, or the
    /// workspace directory's name).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// --keyless: the signing config (signing_config.v0.2.json) naming the Fulcio, Rekor (v1
    /// or v2) and timestamp authority to use (default: the one the TUF repository delivers).
    #[arg(long, value_name = "FILE", requires = "keyless")]
    pub signing_config: Option<PathBuf>,

    /// --keyless: use a Rekor log of this major API version from the signing config (default:
    /// the newest one it names).
    #[arg(long, value_name = "N", requires = "keyless", value_parser = clap::value_parser!(u32).range(1..=2))]
    pub rekor_version: Option<u32>,

    /// --keyless: this Fulcio instead of the signing config's.
    #[arg(long, value_name = "URL", requires = "keyless")]
    pub fulcio_url: Option<String>,

    /// --keyless: this Rekor v1 log instead of the signing config's (with --fulcio-url and no
    /// --tsa-url, the signing config is not read at all).
    #[arg(long, value_name = "URL", requires = "keyless")]
    pub rekor_url: Option<String>,

    /// --keyless: this RFC 3161 timestamp authority endpoint instead of the signing config's.
    #[arg(long, value_name = "URL", requires = "keyless")]
    pub tsa_url: Option<String>,

    #[command(flatten)]
    pub trust: TrustArgs,
}

/// Where Sigstore trust comes from (`attest --keyless`, keyless `verify`).
#[derive(Debug, Args, Clone, Default)]
pub struct TrustArgs {
    /// Keyless: the Sigstore trusted root (trusted_root.json) to trust, for offline use or a
    /// private instance (default: the one the TUF repository delivers).
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,

    /// Keyless: the TUF repository delivering the trusted root and signing config (default:
    /// Sigstore public-good, https://tuf-repo-cdn.sigstore.dev). Needs --tuf-root.
    #[arg(long, value_name = "URL", requires = "tuf_root")]
    pub tuf_url: Option<String>,

    /// Keyless: the TUF root.json trusted to bootstrap --tuf-url (the public-good root is built
    /// in).
    #[arg(long, value_name = "FILE", requires = "tuf_url")]
    pub tuf_root: Option<PathBuf>,

    /// Keyless: use only the TUF cache of an earlier run (verified again, metadata must not have
    /// expired); no network.
    #[arg(long)]
    pub tuf_offline: bool,
}

/// Flags of `cargo slsa verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The files to verify (binaries, Lambda zips…); each sha256 must be a subject. A zip that
    /// is not itself a subject passes when its `bootstrap` is an attested binary and every
    /// other entry is attested too (`lambda-extra-entry` otherwise).
    #[arg(value_name = "ARTIFACT", required_unless_present = "lambda_function")]
    pub artifacts: Vec<PathBuf>,

    /// The attestation: NAME.intoto.jsonl (DSSE envelopes) or NAME.sigstore.json (bundle).
    #[arg(long, value_name = "FILE")]
    pub attestation: PathBuf,

    /// Trust exactly this public key (SubjectPublicKeyInfo PEM, e.g. from `cargo slsa keygen`).
    #[arg(long, value_name = "PUB.pem", conflicts_with_all = ["certificate_identity", "certificate_identity_regexp", "certificate_oidc_issuer", "trusted_root", "tuf_url", "tuf_offline"])]
    pub key: Option<PathBuf>,

    /// Keyless: the certificate's identity (SAN) must equal this, e.g.
    /// https://github.com/OWNER/REPO/.github/workflows/release.yml@refs/tags/v1.0.0.
    #[arg(long, value_name = "IDENTITY", requires = "certificate_oidc_issuer")]
    pub certificate_identity: Option<String>,

    /// Keyless: the certificate's identity must match this regular expression (anchored).
    #[arg(
        long,
        value_name = "REGEX",
        requires = "certificate_oidc_issuer",
        conflicts_with = "certificate_identity"
    )]
    pub certificate_identity_regexp: Option<String>,

    /// Keyless: the OIDC issuer recorded in the certificate, e.g.
    /// https://token.actions.githubusercontent.com.
    #[arg(long, value_name = "URL")]
    pub certificate_oidc_issuer: Option<String>,

    #[command(flatten)]
    pub trust: TrustArgs,

    /// Keyless: at least this many verified times must vouch that the short-lived certificate
    /// was valid when it signed — RFC 3161 timestamps from a trusted TSA and Rekor v1 signed
    /// integration times together.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub timestamp_threshold: u32,

    /// The provenance's source repository must be this one (`github.com/OWNER/REPO`, with or
    /// without scheme, `git+` or `.git`).
    #[arg(long, value_name = "URI")]
    pub source_uri: Option<String>,

    /// The provenance's source ref must be this one (e.g. refs/tags/v1.0.0).
    #[arg(long, value_name = "REF")]
    pub source_ref: Option<String>,

    /// The provenance's builder.id must be this one (without `@REF`, any ref of it matches).
    #[arg(long, value_name = "ID")]
    pub builder_id: Option<String>,

    /// Also rebuild from the recorded commit (exported from this clone's git history) with the
    /// recorded parameters, and require the same sha256 for every artifact.
    #[arg(long)]
    pub rebuild: bool,

    /// An AWS Lambda function's CodeSha256 (base64 of the deployment zip's sha256, as
    /// `aws lambda get-function` prints it): it must be one of the attested subjects.
    #[arg(long, value_name = "B64")]
    pub lambda_code_sha256: Option<String>,

    /// Ask AWS Lambda what this function runs (GetFunction; repeatable; a name, NAME:QUALIFIER
    /// or an ARN) and require its CodeSha256 to be an attested subject (`lambda-mismatch`) and
    /// its architecture the attested one (`lambda-arch-mismatch`). Credentials come from the
    /// AWS SDK's default chain, the endpoint from AWS_ENDPOINT_URL(_LAMBDA). A missing function,
    /// denied access, missing credentials, an image function or lasting throttling exit 2.
    #[arg(long, value_name = "NAME_OR_ARN")]
    pub lambda_function: Vec<String>,

    /// The AWS region of --lambda-function (default: AWS_REGION, AWS_DEFAULT_REGION or the
    /// profile's).
    #[arg(long, value_name = "REGION", requires = "lambda_function")]
    pub region: Option<String>,
}

/// Flags of `cargo slsa keygen`.
#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Write PREFIX.key and PREFIX.pub.
    #[arg(long, value_name = "PREFIX", default_value = "slsa")]
    pub output_prefix: PathBuf,

    /// Overwrite existing files.
    #[arg(long)]
    pub force: bool,
}

/// How updates are grouped into pull requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupBy {
    /// One pull request per crate.
    None,
    /// Patch updates together; the others one per crate.
    Patch,
    /// Patch and minor updates together; majors one per crate.
    Minor,
    /// Everything in one pull request.
    All,
}

/// Flags of `cargo slsa update`.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Print the plan and change nothing (`--format json`: `summary.updates`).
    #[arg(long)]
    pub dry_run: bool,

    /// Also propose semver-incompatible (major) versions, raising requirements.
    #[arg(long)]
    pub breaking: bool,

    /// A lockfile refresh instead: every registry package in Cargo.lock (transitive ones too)
    /// to its newest compatible version under the same rules, as one update (one pull request),
    /// changing no requirement — a weekly `cargo update` with a cooldown.
    #[arg(long, conflicts_with = "breaking")]
    pub lockfile: bool,

    /// Group updates: none, patch, minor or all (config `group`; default none).
    #[arg(long, value_enum, value_name = "HOW")]
    pub group: Option<GroupBy>,

    /// Skip versions published less than DAYS ago (config `min-age`, default 3); security fixes
    /// are exempt.
    #[arg(long, value_name = "DAYS")]
    pub min_age: Option<u32>,

    /// Ask this sparse index instead of crates.io (and its source replacement).
    #[arg(long, value_name = "URL")]
    pub index_url: Option<String>,

    /// A local RustSec advisory database (default: $CARGO_HOME/advisory-db, fetched unless
    /// --offline).
    #[arg(long, value_name = "PATH")]
    pub advisory_db: Option<PathBuf>,

    /// Run this command (through `sh -c`) after applying; exit 1 when it fails.
    #[arg(long, value_name = "CMD", conflicts_with_all = ["dry_run", "open_pr"])]
    pub check_cmd: Option<String>,

    /// Every workspace in the repository: each Cargo.toml that git tracks with a `[workspace]`
    /// table, or a package outside any of them (instead of --manifest-path).
    #[arg(long)]
    pub all_workspaces: bool,

    /// Open (or update) pull requests through the GitHub API instead of changing the work tree.
    #[arg(long, requires = "repo", conflicts_with = "dry_run")]
    pub open_pr: bool,

    /// The repository for --open-pr, OWNER/NAME.
    #[arg(long, value_name = "OWNER/NAME")]
    pub repo: Option<String>,

    /// The branch pull requests target (default: the repository's default branch, asked of the
    /// GitHub API — a scheduled workflow's event does not carry it).
    #[arg(long, value_name = "BRANCH")]
    pub base: Option<String>,

    /// At most this many open update pull requests (config `open-pull-requests-limit`, default
    /// 5).
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,

    /// With --open-pr: hold back an update whose review (`cargo slsa review` of its own lock
    /// change, which every pull request body shows) has a signal with this code, e.g.
    /// `process-spawn` (repeatable; config `deny-signals`). Held-back updates are listed with
    /// why.
    #[arg(long, value_name = "CODE")]
    pub deny_signal: Vec<String>,

    /// GitHub API base URL (GitHub Enterprise, or a test server).
    #[arg(
        long,
        value_name = "URL",
        env = "GITHUB_API_URL",
        default_value = "https://api.github.com"
    )]
    pub github_api_url: String,
}
