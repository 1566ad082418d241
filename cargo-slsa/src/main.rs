//! The `cargo-slsa` binary: parse arguments, call the library, map the outcome to an exit code.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // First, while the process has one thread: take the signing secrets out of the environment,
    // so nothing this process starts (cargo, build scripts, git) can inherit them.
    for name in cargo_slsa::secrets::stash_from_env() {
        // SAFETY: no other thread exists yet, so nothing reads the environment concurrently.
        #[allow(unsafe_code)]
        unsafe {
            std::env::remove_var(name);
        }
    }
    // `cargo slsa …` runs `cargo-slsa slsa …`: drop the subcommand name cargo passes along.
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == "slsa") {
        args.remove(1);
    }
    let cli = match cargo_slsa::cli::Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            // clap uses 2 for usage errors and 0 for --help/--version, as our contract says.
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match cargo_slsa::run(cli, &mut out) {
        Ok(exit) => ExitCode::from(u8::try_from(exit.code()).unwrap_or(1)),
        Err(e) => {
            // A closed stderr (`… 2>&1 | head -1`) must not turn an input error into a panic.
            let _ = writeln!(std::io::stderr(), "error: {e:#}");
            ExitCode::from(2)
        }
    }
}
