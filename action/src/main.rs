//! `slsa-action`: the binary the composite action runs. Everything is in the library so the
//! simulated-runner tests can drive it in-process.

use std::process::ExitCode;

fn main() -> ExitCode {
    // First, while the process has one thread: take the signing secrets and tokens out of the
    // environment (the library reads them from its stash), so no process the action starts —
    // cargo, build scripts — inherits them.
    for name in cargo_slsa::secrets::stash_from_env() {
        // SAFETY: no other thread exists yet, so nothing reads the environment concurrently.
        #[allow(unsafe_code)]
        unsafe {
            std::env::remove_var(name);
        }
    }
    let env: std::collections::HashMap<String, String> = std::env::vars().collect();
    let cwd = match std::env::current_dir() {
        Ok(d) => d,
        Err(e) => {
            #[allow(clippy::disallowed_macros)] // main reports its own failure
            {
                println!("::error::cannot read the working directory: {e}");
            }
            return ExitCode::from(2);
        }
    };
    let stdout = std::io::stdout();
    let code = slsa_action::run(&env, &cwd, &mut stdout.lock());
    ExitCode::from(u8::try_from(code).unwrap_or(2))
}
