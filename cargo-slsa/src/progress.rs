//! Progress on long work: a spinner or bar on stderr when it is a terminal, nothing otherwise.
//!
//! indicatif hides itself when stderr is not a TTY, which keeps CI logs clean; `-q` and the
//! machine-readable formats hide it too, so JSON/SARIF on stdout is never interleaved.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Factory for spinners and bars, hidden when the run is quiet.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    hidden: bool,
    verbose: bool,
}

impl Progress {
    /// `hidden` forces every bar to draw nothing; `verbose` enables [`Progress::detail`].
    pub fn new(hidden: bool, verbose: bool) -> Self {
        Progress { hidden, verbose }
    }

    /// With `-v`: a line of detail on stderr (the commands run, cargo's output). stdout stays
    /// reserved for the report.
    pub fn detail(&self, text: &str) {
        if self.verbose {
            use std::io::Write;
            let mut err = std::io::stderr().lock();
            for line in text.lines() {
                let _ = writeln!(err, "  {line}");
            }
        }
    }

    /// A spinner with a message, for work of unknown length (running cargo).
    pub fn spinner(&self, message: impl Into<String>) -> ProgressBar {
        let bar = if self.hidden {
            ProgressBar::hidden()
        } else {
            ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
        };
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_message(message.into());
        bar.enable_steady_tick(Duration::from_millis(100));
        bar
    }
}
