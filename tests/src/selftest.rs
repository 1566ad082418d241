//! End-to-end self-tests: the kit's registry, crates and git remotes driven
//! by the real cargo, proving cargo accepts what the kit serves.

use serde_json::Value;

use crate::lockfile::{CRATES_IO_SOURCE, one};
use crate::{CrateBuilder, Env, GitRemote, Project, basic_manifest, run};

fn app(env: &Env, deps: &[(&str, &str)], lib_rs: &str) -> Project {
    env.project()
        .file("Cargo.toml", basic_manifest("app", deps))
        .file("src/lib.rs", lib_rs)
        .build()
}

fn index_lines(env: &Env, path: &str) -> Vec<Value> {
    let response = env.registry().get(path, &[]);
    assert_eq!(response.status, 200, "{path}: {}", response.text());
    response
        .text()
        .lines()
        .map(|l| serde_json::from_str(l).expect("index lines are JSON"))
        .collect()
}

#[test]
fn lock_metadata_and_build_use_the_kit_registry() {
    let env = Env::new();
    let leaf = env.registry().publish(
        CrateBuilder::new("leaf", "1.0.0").file("src/lib.rs", "pub fn v() -> u32 { 7 }\n"),
    );
    let top = env.registry().publish(
        CrateBuilder::new("top", "1.2.3")
            .dep("leaf", "^1")
            .file("src/lib.rs", "pub fn v() -> u32 { leaf::v() + 1 }\n"),
    );
    let project = app(&env, &[("top", "1")], "pub fn v() -> u32 { top::v() }\n");

    run(env.cargo(project.path()).arg("generate-lockfile")).assert_success();
    let lock = project.lock();
    for (name, published) in [("leaf", &leaf), ("top", &top)] {
        let entry = one(&lock, name);
        assert_eq!(entry.version, published.version);
        assert_eq!(entry.source.as_deref(), Some(CRATES_IO_SOURCE));
        assert_eq!(entry.checksum.as_deref(), Some(published.cksum.as_str()));
    }
    assert_eq!(one(&lock, "top").dependencies, ["leaf"]);
    assert_eq!(one(&lock, "app").dependencies, ["top"]);

    let out =
        run(env
            .cargo(project.path())
            .args(["metadata", "--format-version", "1", "--locked"]))
        .assert_success();
    let metadata: Value = serde_json::from_str(&out.stdout).expect("metadata is JSON");
    let packages = metadata["packages"].as_array().expect("packages array");
    let mut names: Vec<&str> = packages.iter().filter_map(|p| p["name"].as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["app", "leaf", "top"]);
    let top_meta = packages
        .iter()
        .find(|p| p["name"] == "top")
        .expect("top in metadata");
    assert_eq!(top_meta["source"], CRATES_IO_SOURCE);
    assert_eq!(top_meta["version"], "1.2.3");

    let requests = env.registry().requests();
    for path in [
        "/index/config.json",
        "/index/3/t/top",
        "/index/le/af/leaf",
        "/dl/leaf/1.0.0/download",
        "/dl/top/1.2.3/download",
    ] {
        assert!(
            requests.iter().any(|r| r == path),
            "{path} not requested: {requests:#?}"
        );
    }

    // The generated manifests must build, not merely resolve.
    run(env
        .cargo(project.path())
        .args(["build", "--locked", "--offline"]))
    .assert_success();
    // Proof cargo unpacked the kit's archive, not something cached elsewhere.
    let unpacked = env.cargo_home().path().join("registry/src");
    let found = std::fs::read_dir(&unpacked)
        .expect("registry/src exists")
        .filter_map(Result::ok)
        .any(|d| d.path().join("top-1.2.3/src/lib.rs").exists());
    assert!(found, "top-1.2.3 not unpacked under {}", unpacked.display());
}

#[test]
fn git_branch_dependency_is_locked_to_the_commit() {
    let env = Env::new();
    let remote = GitRemote::crate_repo(env.scratch(), "gitdep", "0.1.0");
    let tip = remote.commit(&[("src/lib.rs", "pub fn g() -> u8 { 2 }\n")], "second");
    assert_eq!(remote.head(), tip);
    let spec = format!("{{ git = \"{}\", branch = \"main\" }}", remote.url());
    let project = app(&env, &[("gitdep", &spec)], "");

    run(env.cargo(project.path()).arg("generate-lockfile")).assert_success();
    let lock = project.lock();
    let entry = one(&lock, "gitdep");
    assert_eq!(
        entry.source.as_deref(),
        Some(format!("git+{}?branch=main#{tip}", remote.url()).as_str())
    );
    assert_eq!(entry.checksum, None);
    run(env
        .cargo(project.path())
        .args(["build", "--locked", "--offline"]))
    .assert_success();
}

#[test]
fn git_annotated_tag_is_locked_to_the_tagged_commit() {
    let env = Env::new();
    let remote = GitRemote::crate_repo(env.scratch(), "tagged", "0.1.0");
    let tagged = remote.head();
    remote.annotated_tag("v0.1.0", "release");
    remote.commit(&[("README.md", "later")], "after the tag");
    let spec = format!("{{ git = \"{}\", tag = \"v0.1.0\" }}", remote.url());
    let project = app(&env, &[("tagged", &spec)], "");

    run(env.cargo(project.path()).arg("generate-lockfile")).assert_success();
    assert_eq!(
        one(&project.lock(), "tagged").source.as_deref(),
        Some(format!("git+{}?tag=v0.1.0#{tagged}", remote.url()).as_str())
    );
}

#[test]
fn index_lines_carry_rust_version_pubtime_and_yanked() {
    let env = Env::new();
    env.registry().publish(CrateBuilder::new("meta", "0.1.0"));
    let published = env.registry().publish(
        CrateBuilder::new("meta", "0.2.0")
            .rust_version("1.70")
            .pubtime("2024-01-01T00:00:00Z")
            .yanked(true)
            .renamed_dep("alias", "real", "1")
            .optional_dep("opt", "1")
            .feature("extra", &["dep:opt"]),
    );
    let lines = index_lines(&env, "/index/me/ta/meta");
    assert_eq!(lines.len(), 2, "one line per version, in publish order");
    assert_eq!(lines[0]["vers"], "0.1.0");
    assert_eq!(lines[0]["yanked"], false);
    assert!(lines[0].get("rust_version").is_none());
    assert!(lines[0].get("pubtime").is_none());
    assert!(lines[0].get("v").is_none());

    let line = &lines[1];
    assert_eq!(line["name"], "meta");
    assert_eq!(line["vers"], "0.2.0");
    assert_eq!(line["cksum"], published.cksum);
    assert_eq!(line["rust_version"], "1.70");
    assert_eq!(line["pubtime"], "2024-01-01T00:00:00Z");
    assert_eq!(line["yanked"], true);
    assert_eq!(line["v"], 2);
    assert_eq!(line["features2"]["extra"][0], "dep:opt");
    let deps = line["deps"].as_array().expect("deps");
    assert_eq!(deps[0]["name"], "alias");
    assert_eq!(deps[0]["package"], "real");
    assert_eq!(deps[0]["kind"], "normal");

    env.registry().unyank("meta", "0.2.0");
    assert_eq!(index_lines(&env, "/index/me/ta/meta")[1]["yanked"], false);
}

#[test]
fn yanked_versions_are_skipped_and_late_publishes_are_seen() {
    let env = Env::new();
    let registry = env.registry();
    registry.publish(CrateBuilder::new("pick", "1.0.0"));
    registry.publish(CrateBuilder::new("pick", "1.1.0").yanked(true));
    registry.publish(CrateBuilder::new("pick", "1.2.0"));
    registry.yank("pick", "1.2.0");
    let project = app(&env, &[("pick", "1")], "");

    run(env.cargo(project.path()).arg("generate-lockfile")).assert_success();
    assert_eq!(one(&project.lock(), "pick").version, "1.0.0");

    // Published after cargo cached the index: the server must serve it.
    let late = registry.publish(CrateBuilder::new("pick", "1.3.0"));
    run(env.cargo(project.path()).args(["update", "pick"])).assert_success();
    let entry = project.lock();
    let entry = one(&entry, "pick");
    assert_eq!(entry.version, "1.3.0");
    assert_eq!(entry.checksum.as_deref(), Some(late.cksum.as_str()));
}

#[test]
fn every_dependency_shape_resolves_and_builds() {
    let env = Env::new();
    let registry = env.registry();
    for name in ["plain", "real-b", "build-c", "opt-e", "unix-f", "never-g"] {
        registry.publish(
            CrateBuilder::new(name, "1.0.0").file("src/lib.rs", "pub fn here() -> bool { true }\n"),
        );
    }
    registry.publish(
        CrateBuilder::new("kitchen", "0.5.0")
            .edition("2021")
            .rust_version("1.70")
            .dep("plain", "1")
            .renamed_dep("bee", "real-b", "1")
            .build_dep("build-c", "1")
            // Dev-dependencies of a registry crate are never resolved, so
            // this one need not exist.
            .dev_dep("absent-dev", "1")
            .target_dep("cfg(unix)", "unix-f", "1")
            .target_dep("cfg(target_os = \"none\")", "never-g", "1")
            .optional_dep("opt-e", "1")
            .feature("extra", &["dep:opt-e"])
            .feature("default", &[])
            .file("build.rs", "fn main() { assert!(build_c::here()); }\n")
            .file(
                "src/lib.rs",
                "pub fn all() -> bool {\n    plain::here() && bee::here() && extra()\n}\n\
                 #[cfg(unix)]\nfn extra() -> bool { unix_f::here() && opt_e::here() }\n\
                 #[cfg(not(unix))]\nfn extra() -> bool { true }\n",
            ),
    );
    let project = app(
        &env,
        &[("kitchen", "{ version = \"0.5\", features = [\"extra\"] }")],
        "pub fn ok() -> bool { kitchen::all() }\n",
    );
    run(env.cargo(project.path()).args(["build"])).assert_success();
    let lock = project.lock();
    for name in [
        "kitchen", "plain", "real-b", "build-c", "opt-e", "unix-f", "never-g",
    ] {
        one(&lock, name);
    }
    assert!(
        lock.iter().all(|p| p.name != "absent-dev"),
        "dev-deps of dependencies are not resolved: {lock:#?}"
    );
}

#[test]
fn if_none_match_gets_304_until_the_content_changes() {
    let env = Env::new();
    let registry = env.registry();
    registry.publish(CrateBuilder::new("cache", "1.0.0"));
    let path = "/index/ca/ch/cache";

    let first = registry.get(path, &[]);
    assert_eq!(first.status, 200);
    let etag = first
        .header("ETag")
        .expect("index responses carry an ETag")
        .to_owned();

    let again = registry.get(path, &[("If-None-Match", &etag)]);
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    assert_eq!(again.header("ETag"), Some(etag.as_str()));

    let other = registry.get(path, &[("If-None-Match", "\"something-else\"")]);
    assert_eq!(other.status, 200);
    assert_eq!(other.body, first.body);

    registry.publish(CrateBuilder::new("cache", "1.1.0"));
    let changed = registry.get(path, &[("If-None-Match", &etag)]);
    assert_eq!(changed.status, 200, "a new version invalidates the ETag");
    assert_ne!(changed.header("ETag"), Some(etag.as_str()));
    assert_eq!(changed.text().lines().count(), 2);

    let download = registry.get("/dl/cache/1.0.0/download", &[]);
    let dl_etag = download
        .header("ETag")
        .expect("downloads carry an ETag")
        .to_owned();
    assert_eq!(
        registry
            .get("/dl/cache/1.0.0/download", &[("If-None-Match", &dl_etag)])
            .status,
        304
    );

    let statuses: Vec<u16> = registry.request_log().iter().map(|s| s.status).collect();
    assert_eq!(statuses, [200, 304, 200, 200, 200, 304]);
}
