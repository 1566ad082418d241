//! cargo-slsa: the library behind `cargo slsa`.
//!
//! Everything testable lives here; `main.rs` only parses arguments, calls [`run`] and maps the
//! result to an exit code. Subcommands live in one folder each (`pin/`, …) and share the model
//! (`workspace/`), the renderers (`report/`) and the atomic writers (`fsx`). Subcommands never call
//! each other's internals.

pub mod attest;
pub mod audit;
pub mod build;
pub mod check;
pub mod cli;
mod ctx;
pub mod error;
pub mod fsx;
pub mod github;
pub mod harden;
pub mod lambda;
pub mod pin;
pub mod progress;
pub mod provenance;
pub mod refs;
pub mod registry;
pub mod report;
pub mod review;
pub mod sbom;
pub mod secrets;
pub mod text;
pub mod timefmt;
pub mod update;
pub mod vendor;
pub mod verify;
pub mod workspace;

use std::io::Write;

pub use ctx::{Ctx, Exit};

use crate::cli::{Cli, Command};
use crate::report::Report;

/// What a command produced: a report, or a document for stdout (`sbom` without `--output`).
pub enum Produced {
    /// Findings, changes and summary.
    Report(Report),
    /// Bytes to print as they are.
    Document(Vec<u8>),
}

/// A single-threaded tokio runtime for one blocking call into an async client (Sigstore, TUF,
/// AWS): each command makes a few requests in sequence, so no worker threads are started.
pub fn async_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("cannot start the async runtime: {e}"))
}

/// Run a command and return what it produced, without rendering it.
pub fn produce(ctx: &Ctx, command: &Command) -> anyhow::Result<Produced> {
    if ctx.manifest_paths.len() > 1 && !matches!(command, Command::Update(_)) {
        anyhow::bail!(
            "--manifest-path is given {} times; only `update` works on several workspaces",
            ctx.manifest_paths.len()
        );
    }
    let mut report = match command {
        Command::Pin(args) => pin::run(ctx, args)?,
        Command::Audit(args) => audit::run(ctx, args)?,
        Command::Harden(args) => harden::run(ctx, args)?,
        Command::Check(args) => check::run(ctx, args)?,
        Command::Attest(args) => attest::run(ctx, args)?,
        Command::Verify(args) => verify::run(ctx, args)?,
        Command::Keygen(args) => attest::keygen(ctx, args)?,
        Command::Update(args) => update::run(ctx, args)?,
        Command::Review(args) => review::run(ctx, args)?,
        Command::Vendor(args) => match vendor::run(ctx, args)? {
            vendor::Output::Config(text, report) if ctx.format == report::Format::Human => {
                // Like cargo vendor: the configuration on stdout (to paste or redirect), what
                // was done on stderr.
                if !ctx.quiet {
                    let mut err = std::io::stderr().lock();
                    for c in &report.changes {
                        let _ = writeln!(err, "{}: {}", c.file.display(), c.description);
                    }
                    for n in &report.notes {
                        let _ = writeln!(err, "note: {n}");
                    }
                }
                return Ok(Produced::Document(text));
            }
            vendor::Output::Config(_, report) | vendor::Output::Report(report) => report,
        },
        Command::Sbom(args) => match sbom::run(ctx, args)? {
            sbom::Output::Document(bytes) => return Ok(Produced::Document(bytes)),
            sbom::Output::Written(report) => report,
        },
    };
    // Reviewed findings accepted by `# cargo-slsa: ignore[code]` comments in the project's own
    // files or by `ignore` entries in its configuration — for the commands that audit them.
    // Never for attest, verify or keygen: their findings point into attestations and
    // artifacts, whose content an attacker writes.
    // Explicit workflow paths narrow what harden looked at; an entry elsewhere is not unused.
    let looked_at: Vec<std::path::PathBuf> = match command {
        Command::Harden(a) => a.paths.iter().map(|p| ctx.cwd.join(p)).collect(),
        Command::Check(a) => a.paths.iter().map(|p| ctx.cwd.join(p)).collect(),
        _ => Vec::new(),
    };
    report::suppress::apply_sections(ctx, &suppression_sections(command), &looked_at, &mut report)?;
    Ok(Produced::Report(report))
}

/// The configuration sections whose `ignore` entries (and ignore comments) may accept a
/// command's findings: `pin`, `audit`, `harden` and `review` each their own codes; `check` the
/// four sections and its own, which may name any of those codes.
fn suppression_sections(command: &Command) -> Vec<report::suppress::Section> {
    use report::suppress::Section;
    let codes = |rules: Vec<report::Rule>| rules.into_iter().map(|r| r.code).collect::<Vec<_>>();
    let pin = codes(pin::codes::PinCode::rules());
    let audit = codes(audit::codes::AuditCode::rules());
    let harden = codes(harden::codes::HardenCode::rules());
    let review = codes(review::codes::ReviewCode::rules());
    let section = |name, codes, strict| Section {
        name,
        codes,
        strict,
    };
    match command {
        Command::Pin(_) => vec![section("pin", pin, false)],
        Command::Audit(_) => vec![section("audit", audit, false)],
        Command::Harden(_) => vec![section("harden", harden, true)],
        Command::Review(_) => vec![section("review", review, true)],
        Command::Check(_) => {
            let all = [pin.clone(), audit.clone(), harden.clone(), review.clone()].concat();
            vec![
                section("pin", pin, false),
                section("audit", audit, false),
                section("harden", harden, true),
                section("review", review, true),
                section("check", all, true),
            ]
        }
        _ => Vec::new(),
    }
}

/// Whether an error is (or wraps) a write to a closed pipe.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    // serde_json's writer errors do not expose the io::Error as their source: ask them.
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<serde_json::Error>()
                .and_then(serde_json::Error::io_error_kind)
                == Some(std::io::ErrorKind::BrokenPipe)
    })
}

/// Run a parsed command line: dispatch, render the report to `out`, return the exit outcome.
///
/// Errors are usage or input errors (exit 2); they are returned before anything is written.
pub fn run(cli: Cli, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let ctx = Ctx::from_cli(&cli)?;
    let report = match produce(&ctx, &cli.command)? {
        Produced::Report(r) => r,
        Produced::Document(bytes) => {
            let written = out.write_all(&bytes).and_then(|()| out.flush());
            if let Err(e) = written
                && e.kind() != std::io::ErrorKind::BrokenPipe
            {
                return Err(e.into());
            }
            return Ok(Exit::Success);
        }
    };
    // A reader that stops early (`| head -1`) closes the pipe: the outcome still decides the
    // exit code, as it would have had the reader read everything.
    if let Err(e) = report::render(&report, &ctx, out)
        && !is_broken_pipe(&e)
    {
        return Err(e);
    }
    Ok(if report.incomplete() {
        Exit::Incomplete
    } else if report.failed() {
        Exit::Failed
    } else {
        Exit::Success
    })
}
