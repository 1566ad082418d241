//! The command-line contract: help text (snapshotted), `cargo slsa` vs `cargo-slsa`, exit codes
//! for usage errors.

use slsa_tests::{Env, run};

use crate::{bin, slsa};

#[test]
fn help_lists_every_built_subcommand() {
    let env = Env::new();
    let out = slsa(&env, env.scratch(), &["--help"]).assert_success();
    insta::assert_snapshot!("help", out.stdout);
    let out = slsa(&env, env.scratch(), &["pin", "--help"]).assert_success();
    insta::assert_snapshot!("help_pin", out.stdout);
    let out = slsa(&env, env.scratch(), &["audit", "--help"]).assert_success();
    insta::assert_snapshot!("help_audit", out.stdout);
    let out = slsa(&env, env.scratch(), &["sbom", "--help"]).assert_success();
    insta::assert_snapshot!("help_sbom", out.stdout);
    let out = slsa(&env, env.scratch(), &["harden", "--help"]).assert_success();
    insta::assert_snapshot!("help_harden", out.stdout);
    let out = slsa(&env, env.scratch(), &["check", "--help"]).assert_success();
    insta::assert_snapshot!("help_check", out.stdout);
    let out = slsa(&env, env.scratch(), &["vendor", "--help"]).assert_success();
    insta::assert_snapshot!("help_vendor", out.stdout);
    let out = slsa(&env, env.scratch(), &["attest", "--help"]).assert_success();
    insta::assert_snapshot!("help_attest", out.stdout);
    let out = slsa(&env, env.scratch(), &["verify", "--help"]).assert_success();
    insta::assert_snapshot!("help_verify", out.stdout);
    let out = slsa(&env, env.scratch(), &["keygen", "--help"]).assert_success();
    insta::assert_snapshot!("help_keygen", out.stdout);
    let out = slsa(&env, env.scratch(), &["update", "--help"]).assert_success();
    insta::assert_snapshot!("help_update", out.stdout);
}

#[test]
fn runs_as_a_cargo_subcommand() {
    let env = Env::new();
    let bindir = bin().parent().expect("binary has a directory");
    let mut cmd = env.cargo(env.scratch());
    let path = std::env::join_paths(
        std::iter::once(bindir.to_path_buf()).chain(std::env::split_paths(
            &cmd.get_envs()
                .find(|(k, _)| *k == "PATH")
                .and_then(|(_, v)| v)
                .map(|v| v.to_os_string())
                .unwrap_or_default(),
        )),
    )
    .expect("PATH joins");
    cmd.env("PATH", path).args(["slsa", "--version"]);
    let out = run(cmd).assert_success();
    assert!(out.stdout.starts_with("cargo-slsa "), "{out:?}");

    let direct = slsa(&env, env.scratch(), &["--version"]).assert_success();
    assert_eq!(direct.stdout, out.stdout);
}

#[test]
fn usage_errors_exit_2() {
    let env = Env::new();
    slsa(&env, env.scratch(), &["pin", "--no-such-flag"]).assert_code(2);
    slsa(&env, env.scratch(), &["no-such-command"]).assert_code(2);
    slsa(&env, env.scratch(), &["pin", "--format", "xml"]).assert_code(2);
    let out = slsa(&env, env.scratch(), &["pin", "-q", "-v"]).assert_code(2);
    assert!(out.stderr.contains("cannot be used with"), "{out:?}");
}
