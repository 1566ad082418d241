//! What every subcommand receives ([`Ctx`]: the global flags, resolved once) and what a
//! finished command asks of the process ([`Exit`]).

use crate::cli::{self, Cli};
use crate::progress;
use crate::report::Format;

/// What a finished command asks the process to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Nothing at or above the deny level: exit 0.
    Success,
    /// A check failed: exit 1.
    Failed,
    /// Something could not be checked (a broken input among good ones): exit 2, after the
    /// report of everything else.
    Incomplete,
}

impl Exit {
    /// The process exit code of this outcome (input errors are 2 and come from `Err`).
    pub fn code(self) -> i32 {
        match self {
            Exit::Success => 0,
            Exit::Failed => 1,
            Exit::Incomplete => 2,
        }
    }
}

/// Shared, read-only context every subcommand receives: the global flags, resolved once.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// `--manifest-path`, if given.
    pub manifest_path: Option<std::path::PathBuf>,
    /// Every `--manifest-path` given (only `update` accepts more than one).
    pub manifest_paths: Vec<std::path::PathBuf>,
    /// `--offline`: pass `--offline` to every cargo invocation, never touch the network.
    pub offline: bool,
    /// `-q`: no progress, no informational lines.
    pub quiet: bool,
    /// `-v` count.
    pub verbose: u8,
    /// Output format, chosen once at the edge.
    pub format: Format,
    /// Whether human output uses colour.
    pub color_enabled: bool,
    /// Directory paths in output are shown relative to.
    pub cwd: std::path::PathBuf,
}

impl Ctx {
    /// Build the context from the parsed global flags.
    /// `p` as given when absolute, else relative to the working directory.
    pub fn abs(&self, p: &std::path::Path) -> std::path::PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.cwd.join(p)
        }
    }

    pub fn from_cli(cli: &Cli) -> anyhow::Result<Self> {
        let cwd = std::env::current_dir()
            .map_err(|e| anyhow::anyhow!("cannot read the current directory: {e}"))?;
        Ok(Self::in_dir(cli, cwd))
    }

    /// The context for running in `cwd` (embedders that must not change the process's
    /// working directory).
    pub fn in_dir(cli: &Cli, cwd: std::path::PathBuf) -> Self {
        Ctx {
            manifest_path: cli.global.manifest_path.first().cloned(),
            manifest_paths: cli.global.manifest_path.clone(),
            offline: cli.global.offline,
            quiet: cli.global.quiet,
            verbose: cli.global.verbose,
            format: cli.global.format,
            color_enabled: color_enabled(cli.global.color),
            cwd,
        }
    }

    /// A progress reporter honouring `-q` and the output format.
    pub fn progress(&self) -> progress::Progress {
        progress::Progress::new(self.quiet || self.format != Format::Human, self.verbose > 0)
    }
}

/// `--color` resolved against the terminal and the NO_COLOR / CLICOLOR_FORCE conventions.
fn color_enabled(when: cli::ColorWhen) -> bool {
    use std::io::IsTerminal;
    match when {
        cli::ColorWhen::Always => true,
        cli::ColorWhen::Never => false,
        cli::ColorWhen::Auto => {
            let set = |k: &str| std::env::var_os(k).is_some_and(|v| !v.is_empty() && v != "0");
            if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
                false
            } else if set("CLICOLOR_FORCE") {
                true
            } else {
                std::io::stdout().is_terminal()
                    && std::env::var("TERM").map(|t| t != "dumb").unwrap_or(true)
            }
        }
    }
}
