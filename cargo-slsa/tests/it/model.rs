//! The shared model, driven in-process against kit fixtures: workspace loading, the lazily built
//! guppy graph, and the platform / dependency-kind queries later subcommands filter with.

use slsa_tests::{CrateBuilder, Env, Project, cargo_bin, run};

use cargo_slsa::Ctx;
use cargo_slsa::progress::Progress;
use cargo_slsa::report::Format;
use cargo_slsa::workspace::graph::{self, Kinds};
use cargo_slsa::workspace::{Cargo, LockState, Workspace};

fn ctx(project: &Project) -> Ctx {
    Ctx {
        manifest_path: Some(project.join("Cargo.toml")),
        manifest_paths: vec![project.join("Cargo.toml")],
        offline: false,
        quiet: true,
        verbose: 0,
        format: Format::Json,
        color_enabled: false,
        cwd: project.root(),
    }
}

/// The library's cargo runner pointed at the kit (the test process's own environment is not).
fn kit_cargo(env: &Env) -> Cargo {
    Cargo::new(false, Progress::new(true, false))
        .with_program(cargo_bin())
        .with_env("CARGO_HOME", env.cargo_home().path())
}

#[test]
fn platform_and_kind_queries_follow_cargo_semantics() {
    let env = Env::new();
    let r = env.registry();
    for name in [
        "common",
        "unixonly",
        "winonly",
        "midwin",
        "devonly",
        "buildonly",
        "devofdep",
    ] {
        r.publish(CrateBuilder::new(name, "1.0.0"));
    }
    // A dependency's own dev-dependencies are never built; its target deps are filtered too.
    r.publish(
        CrateBuilder::new("mid", "1.0.0")
            .target_dep("cfg(windows)", "midwin", "1")
            .dev_dep("devofdep", "1"),
    );
    let project = Project::new()
        .file(
            "Cargo.toml",
            r#"[package]
name = "app"
version = "0.1.0"
edition = "2021"

[dependencies]
common = "1"
mid = "1"

[target.'cfg(unix)'.dependencies]
unixonly = "1"

[target.'cfg(windows)'.dependencies]
winonly = "1"

[dev-dependencies]
devonly = "1"

[build-dependencies]
buildonly = "1"
"#,
        )
        .file("src/lib.rs", "")
        .file("build.rs", "fn main() {}\n")
        .build();
    run({
        let mut c = env.cargo(project.path());
        c.arg("generate-lockfile");
        c
    })
    .assert_success();

    let cargo = kit_cargo(&env);
    let ws = Workspace::load(&ctx(&project), &cargo).expect("workspace loads");
    assert_eq!(ws.lock_state, LockState::Fresh);
    assert_eq!(ws.root, project.root());
    let lock = ws.lock.as_ref().expect("lock read");
    let common = lock.by_name("common").next().expect("common locked");
    assert_eq!(
        common.checksum.as_deref(),
        Some(
            r.index_file("common")
                .and_then(|i| {
                    serde_json::from_str::<serde_json::Value>(i.lines().next()?).ok()?["cksum"]
                        .as_str()
                        .map(str::to_string)
                })
                .expect("cksum")
                .as_str()
        )
    );
    let g = ws.graph().expect("graph builds").expect("lock is fresh");

    let linux = graph::platform("x86_64-unknown-linux-gnu").expect("known triple");
    let windows = graph::platform("x86_64-pc-windows-msvc").expect("known triple");
    let on_linux = graph::names(&graph::reachable(
        g,
        std::slice::from_ref(&linux),
        Kinds::BUILD,
    ));
    assert_eq!(
        on_linux,
        [
            "app 0.1.0",
            "buildonly 1.0.0",
            "common 1.0.0",
            "mid 1.0.0",
            "unixonly 1.0.0"
        ]
    );
    let on_windows_with_dev = graph::names(&graph::reachable(g, &[windows], Kinds::ALL));
    assert_eq!(
        on_windows_with_dev,
        [
            "app 0.1.0",
            "buildonly 1.0.0",
            "common 1.0.0",
            "devonly 1.0.0",
            "mid 1.0.0",
            "midwin 1.0.0",
            "winonly 1.0.0"
        ]
    );
    let anywhere = graph::reachable(g, &[], Kinds::ALL);
    let all = graph::names(&anywhere);
    assert_eq!(anywhere.len(), 8, "{all:?}");
    assert!(!all.iter().any(|n| n.starts_with("devofdep")), "{all:?}");
    assert!(graph::platform("not-a-triple").is_err());
}

#[test]
fn a_stale_lock_loads_without_a_graph() {
    let env = Env::new();
    env.registry().publish(CrateBuilder::new("common", "1.0.0"));
    let project = Project::new()
        .file(
            "Cargo.toml",
            slsa_tests::basic_manifest("app", &[("common", "1")]),
        )
        .file("src/lib.rs", "")
        .build();
    let cargo = kit_cargo(&env);
    let ws = Workspace::load(&ctx(&project), &cargo).expect("loads without a lock");
    assert_eq!(ws.lock_state, LockState::Missing);
    assert!(ws.graph().expect("no error").is_none());
    assert!(!project.exists("Cargo.lock"), "loading never writes");
}
