//! `cargo slsa vendor`: the same tree and configuration as `cargo vendor` (registry crates,
//! duplicate names, executable files, a git crate), a working offline build, `--verify` findings,
//! and unsafe archives or a tampered cache rejected without touching the existing tree.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use slsa_tests::{CrateBuilder, Env, GitRemote, Project, RawEntry, run};

use crate::{codes, json, slsa};

struct Fixture {
    env: Env,
    project: Project,
    _git: (GitRemote, GitRemote),
}

fn fixture() -> Fixture {
    let env = Env::new();
    let r = env.registry();
    r.publish(CrateBuilder::new("dup", "1.0.0"));
    r.publish(
        CrateBuilder::new("dup", "2.0.0")
            .feature("std", &[])
            .feature("more", &[]),
    );
    r.publish(CrateBuilder::new("mid", "1.0.0").dep("dup", "=1.0.0"));
    r.publish(
        CrateBuilder::new("tool", "0.3.0")
            .executable("scripts/run.sh", "#!/bin/sh\necho hi\n")
            .file(".gitignore", "target\n")
            .file("Cargo.toml.orig", "[package]\nname = \"tool\"\n")
            .file("nested/.gitignore", "x\n")
            .file("README.md", "tool\n"),
    );
    // A crate packaged by hand, as a real one can be: files with the modes people give them, a
    // link to another file and one into a directory, and git's own files at any depth.
    let mode = |bytes: &str, mode: u32| RawEntry::File {
        bytes: bytes.as_bytes().to_vec(),
        mode,
    };
    r.publish(
        CrateBuilder::new("odd", "1.0.0")
            .raw_entry("odd-1.0.0/private.txt", mode("p\n", 0o600))
            .raw_entry("odd-1.0.0/group.txt", mode("g\n", 0o640))
            .raw_entry("odd-1.0.0/shared.txt", mode("s\n", 0o664))
            .raw_entry("odd-1.0.0/everyone.txt", mode("e\n", 0o666))
            .raw_entry("odd-1.0.0/tool.sh", mode("#!/bin/sh\n", 0o750))
            .raw_entry("odd-1.0.0/setuid.sh", mode("#!/bin/sh\n", 0o4755))
            .raw_entry("odd-1.0.0/data/table.txt", mode("t\n", 0o644))
            .raw_entry(
                "odd-1.0.0/alias.rs",
                RawEntry::Symlink {
                    target: "src/lib.rs".into(),
                },
            )
            .raw_entry(
                "odd-1.0.0/src/table.txt",
                RawEntry::Symlink {
                    target: "../data/table.txt".into(),
                },
            )
            .raw_entry("odd-1.0.0/.git/config", mode("[core]\n", 0o644))
            .raw_entry(
                "odd-1.0.0/.git/hooks/pre-commit",
                mode("#!/bin/sh\n", 0o755),
            )
            .raw_entry("odd-1.0.0/data/.git/HEAD", mode("ref\n", 0o644))
            .raw_entry("odd-1.0.0/data/.gitignore", mode("x\n", 0o644))
            .raw_entry("odd-1.0.0/notes.rej", mode("r\n", 0o644))
            .raw_entry(
                "odd-1.0.0/early",
                RawEntry::Symlink {
                    target: "zlate.txt".into(),
                },
            )
            .raw_entry("odd-1.0.0/zlate.txt", mode("late\n", 0o644))
            .raw_entry(
                "odd-1.0.0/hard.txt",
                RawEntry::Hardlink {
                    target: "odd-1.0.0/group.txt".into(),
                },
            ),
    );
    let git = GitRemote::crate_repo(env.scratch(), "gitdep", "0.5.0");
    git.commit(
        &[
            ("src/lib.rs", "pub fn g() {}\n"),
            (".gitignore", "target\n"),
            ("docs/a.md", "a\n"),
        ],
        "more",
    );
    let sha = git.head();
    // A repository that is a workspace: its members inherit package fields, dependencies and
    // lints, and have every kind of target, so the manifest cargo vendor generates for them
    // (normalised, inheritance resolved) is exercised.
    let ws = GitRemote::init(env.scratch(), "gitws");
    ws.commit(
        &[
            (
                "Cargo.toml",
                "[workspace]\nmembers = [\"crates/*\"]\nresolver = \"2\"\n\n\
                 [workspace.package]\nversion = \"0.7.0\"\nedition = \"2021\"\nlicense = \"MIT\"\n\
                 authors = [\"A <a@example.invalid>\"]\nreadme = \"README.md\"\nrust-version = \"1.70\"\n\
                 repository = \"https://example.invalid/ws\"\n\n\
                 [workspace.dependencies]\nwsb = { path = \"crates/wsb\", version = \"0.7.0\" }\n\
                 dup = { version = \"2\", default-features = false, features = [\"std\"] }\n\n\
                 [workspace.lints.rust]\nunsafe_code = \"forbid\"\n",
            ),
            ("README.md", "ws\n"),
            (
                "crates/wsa/Cargo.toml",
                "[package]\nname = \"wsa\"\ndescription = \"A\"\nversion.workspace = true\n\
                 edition.workspace = true\nlicense.workspace = true\nauthors.workspace = true\n\
                 readme.workspace = true\nrust-version.workspace = true\nrepository.workspace = true\n\
                 exclude = [\"/notes\", \"!/notes/keep.md\", \"*.bak\", \"benches/\"]\n\n\
                 [package.metadata.zz]\nb = 1\na = [\"x\"]\n\n\
                 [features]\ndefault = [\"extra\"]\nextra = []\nwith-dup = [\"dep:dup\"]\n\n\
                 [dependencies]\nwsb = { workspace = true, public = true }\ndup = { workspace = true, optional = true, features = [\"more\"] }\n\n\
                 [target.'cfg(unix)'.dependencies]\nmid = \"1\"\n\n\
                 [dev-dependencies]\ntool = \"0.3\"\n\n\
                 [lints]\nworkspace = true\n\n\
                 [[bin]]\nname = \"wsa-cli\"\npath = \"src/cli.rs\"\ntest = false\n",
            ),
            ("crates/wsa/build.rs", "fn main() {}\n"),
            ("crates/wsa/src/lib.rs", "pub fn a() { wsb::b(); }\n"),
            ("crates/wsa/src/main.rs", "fn main() {}\n"),
            ("crates/wsa/src/cli.rs", "fn main() {}\n"),
            ("crates/wsa/src/bin/extra.rs", "fn main() {}\n"),
            ("crates/wsa/examples/ex.rs", "fn main() {}\n"),
            ("crates/wsa/examples/multi/main.rs", "fn main() {}\n"),
            ("crates/wsa/tests/t.rs", "\n"),
            ("crates/wsa/benches/b.rs", "\n"),
            ("crates/wsa/notes/n.md", "excluded\n"),
            ("crates/wsa/notes/keep.md", "kept by a ! rule\n"),
            ("crates/wsa/target/tracked.txt", "tracked, so listed\n"),
            ("LICENSE", "MIT\n"),
            ("common/s.txt", "common\n"),
            ("crates/wsa/src/old.bak", "excluded\n"),
            ("crates/wsa/src/target/mod.rs", "// not build output\n"),
            (
                "crates/wsb/Cargo.toml",
                "[package]\nname = \"wsb\"\nversion.workspace = true\nedition = \"2018\"\n\
                 autobins = false\ninclude = [\"lib.rs\", \"extra/**\"]\n\n[lib]\npath = \"lib.rs\"\n",
            ),
            ("crates/wsb/lib.rs", "pub fn b() {}\n"),
            ("crates/wsb/src/main.rs", "fn main() {}\n"),
            ("crates/wsb/extra/e.txt", "included\n"),
            ("crates/wsb/other.txt", "not included\n"),
        ],
        "workspace",
    );
    // Links inside the repository, as workspaces often have for licence files.
    std::os::unix::fs::symlink("../../LICENSE", ws.path().join("crates/wsa/LICENSE"))
        .expect("link");
    std::os::unix::fs::symlink("../../common", ws.path().join("crates/wsa/common")).expect("link");
    ws.commit(&[], "links");
    let manifest = format!(
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n\n\
         [dependencies]\ndup = \"2\"\nmid = \"1\"\nodd = \"1\"\ntool = \"0.3\"\ngitdep = {{ git = \"{}\", rev = \"{sha}\" }}\n\
         wsa = {{ git = \"{}\", branch = \"main\" }}\n",
        git.url(),
        ws.url()
    );
    let project = Project::new()
        .file("Cargo.toml", manifest)
        .file("src/lib.rs", "pub fn f() { gitdep::g(); }\n")
        .build();
    crate::lock_and_fetch(&env, &project);
    Fixture {
        env,
        project,
        _git: (git, ws),
    }
}

/// `vendor --verify --format json` in the fixture's project, expecting `code`.
/// `vendor --offline --format json`, which must succeed.
fn vendor_json(f: &Fixture) -> serde_json::Value {
    json(
        &slsa(
            &f.env,
            f.project.path(),
            &["vendor", "--offline", "--format", "json"],
        )
        .assert_success(),
    )
}

fn verify_json(f: &Fixture, code: i32) -> serde_json::Value {
    json(
        &slsa(
            &f.env,
            f.project.path(),
            &["vendor", "--verify", "--format", "json"],
        )
        .assert_code(code),
    )
}

/// What an entry under a vendor tree is: a file with its permission bits, or a link with its
/// target text.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    File(u32),
    Link(String),
}

/// Every file and link under `dir` with its bytes (a link: its target's, read through it) and
/// its kind — modes and link targets compared, not only bytes. Directories are walked, and so
/// are links to directories (as a reader of the tree sees them).
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (Vec<u8>, Kind)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read dir") {
            let p = e.expect("entry").path();
            let meta = std::fs::symlink_metadata(&p).expect("metadata");
            let kind = if meta.file_type().is_symlink() && !p.is_dir() {
                Kind::Link(
                    std::fs::read_link(&p)
                        .expect("link")
                        .to_string_lossy()
                        .into_owned(),
                )
            } else if p.is_dir() {
                stack.push(p);
                continue;
            } else {
                Kind::File(meta.permissions().mode() & 0o7777)
            };
            out.insert(
                p.strip_prefix(dir).expect("under").to_path_buf(),
                (std::fs::read(&p).unwrap_or_default(), kind),
            );
        }
    }
    out
}

#[test]
fn the_tree_and_config_are_cargo_vendors_and_an_offline_build_works() {
    let f = fixture();
    let mut c = f.env.cargo(f.project.path());
    c.args(["vendor", "--offline", "--respect-source-config", "theirs"]);
    let theirs_out = run(c).assert_success();
    let ours_out =
        slsa(&f.env, f.project.path(), &["vendor", "--offline", "ours"]).assert_success();
    // What was done goes to stderr, beside the configuration on stdout.
    assert!(
        ours_out.stderr.contains("vendored") && ours_out.stderr.contains("written"),
        "{ours_out:?}"
    );

    let theirs = snapshot(&f.project.join("theirs"));
    let mut ours = snapshot(&f.project.join("ours"));
    assert!(
        ours.remove(Path::new(".slsa-vendor.json")).is_some(),
        "the manifest is written"
    );
    let names = |t: &BTreeMap<PathBuf, (Vec<u8>, Kind)>| t.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(&ours), names(&theirs));
    for (path, (bytes, kind)) in &theirs {
        let (b, k) = &ours[path];
        assert_eq!(k, kind, "mode or link of {}", path.display());
        assert_eq!(b, bytes, "{}", path.display());
    }
    // The hand-packaged crate: modes as given (less the umask, set-id bits dropped), links
    // kept as links, git's files gone at every depth — in cargo's tree, and so in ours.
    for (path, kind) in [
        ("odd/private.txt", Kind::File(0o600)),
        ("odd/group.txt", Kind::File(0o640)),
        ("odd/tool.sh", Kind::File(0o750)),
        ("odd/setuid.sh", Kind::File(0o755)),
        ("odd/hard.txt", Kind::File(0o640)),
        ("odd/alias.rs", Kind::Link("src/lib.rs".into())),
        ("odd/src/table.txt", Kind::Link("../data/table.txt".into())),
        ("odd/early", Kind::Link("zlate.txt".into())),
    ] {
        assert_eq!(theirs[Path::new(path)].1, kind, "{path}");
    }
    for gone in [
        "odd/.git/config",
        "odd/.git/hooks/pre-commit",
        "odd/data/.git/HEAD",
        "odd/data/.gitignore",
    ] {
        assert!(!theirs.contains_key(Path::new(gone)), "{gone}");
    }
    assert!(theirs.contains_key(Path::new("dup-1.0.0/.cargo-checksum.json")));
    // The workspace members' manifests are cargo's generated ones, inheritance resolved and
    // every target spelled out (so the comparison above covered that normalisation).
    let wsa = String::from_utf8_lossy(&theirs[Path::new("wsa/Cargo.toml")].0).into_owned();
    for part in [
        "# THIS FILE IS AUTOMATICALLY GENERATED BY CARGO",
        "version = \"0.7.0\"",
        "readme = \"../../README.md\"",
        "build = \"build.rs\"",
        "[[bin]]\nname = \"extra\"",
        "[[example]]\nname = \"multi\"\npath = \"examples/multi/main.rs\"",
        "[lints.rust]",
        "[target.\"cfg(unix)\".dependencies]\nmid = \"1\"",
    ] {
        assert!(wsa.contains(part), "{part:?} in\n{wsa}");
    }
    assert!(
        !wsa.contains("[[bench]]"),
        "an excluded target is dropped:\n{wsa}"
    );
    assert!(
        !wsa.contains("public"),
        "stable cargo drops `public`:\n{wsa}"
    );
    for kept in [
        "wsa/src/target/mod.rs",
        "wsa/target/tracked.txt",
        "wsa/notes/keep.md",
        "wsa/LICENSE",
        "wsa/common/s.txt",
        "wsb/extra/e.txt",
    ] {
        assert!(theirs.contains_key(Path::new(kept)), "{kept}");
    }
    for left_out in [
        "wsa/notes/n.md",
        "wsa/src/old.bak",
        "wsa/benches/b.rs",
        "wsb/other.txt",
    ] {
        assert!(!theirs.contains_key(Path::new(left_out)), "{left_out}");
    }
    let wsb = String::from_utf8_lossy(&theirs[Path::new("wsb/Cargo.toml")].0).into_owned();
    assert!(
        wsb.contains("path = \"lib.rs\"") && !wsb.contains("[[bin]]"),
        "{wsb}"
    );
    assert!(theirs.contains_key(Path::new("tool/scripts/run.sh")));
    assert_eq!(
        ours_out.stdout,
        theirs_out.stdout.replace("\"theirs\"", "\"ours\""),
        "the printed configuration"
    );

    // The printed configuration makes an offline, frozen build use the vendored sources.
    f.project.write(".cargo/config.toml", &ours_out.stdout);
    let mut c = f.env.cargo(f.project.path());
    c.args(["build", "--offline", "--frozen"]);
    run(c).assert_success();
}

#[test]
fn verify_reports_every_kind_of_tampering() {
    let f = fixture();
    slsa(&f.env, f.project.path(), &["vendor", "--offline"]).assert_success();
    assert!(codes(&verify_json(&f, 0)).is_empty());

    f.project
        .write("vendor/dup/src/lib.rs", "pub fn evil() {}\n");
    f.project.write("vendor/tool/src/extra.rs", "// added\n");
    f.project.remove("vendor/mid/Cargo.toml");
    f.project.write("vendor/gitdep/docs/a.md", "changed\n");
    let report = verify_json(&f, 1);
    assert_eq!(
        codes(&report),
        [
            "vendor-added",
            "vendor-missing",
            "vendor-modified",
            "vendor-modified"
        ],
        "{report:#}"
    );
    let files: Vec<&str> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["file"].as_str().expect("file"))
        .collect();
    assert!(files.contains(&"vendor/dup/src/lib.rs"), "{files:?}");
    assert!(
        files.contains(&"vendor/gitdep/docs/a.md"),
        "git crates are covered too: {files:?}"
    );

    // Editing the checksum file to match is caught by the manifest.
    slsa(&f.env, f.project.path(), &["vendor", "--offline"]).assert_success();
    let sums = f.project.read("vendor/dup/.cargo-checksum.json");
    let forged = sums.replacen("\"files\":{", "\"files\":{\"src/x.rs\":\"00\",", 1);
    f.project.write("vendor/dup/.cargo-checksum.json", forged);
    let report = verify_json(&f, 1);
    assert!(
        codes(&report).contains(&"vendor-modified".to_string()),
        "{report:#}"
    );

    // A file changed together with a consistent edit of the checksum file: the file is named
    // (from the crate's archive in cargo's cache), not only the checksum file.
    slsa(&f.env, f.project.path(), &["vendor", "--offline"]).assert_success();
    let evil = "pub fn evil() {}\n";
    f.project.write("vendor/dup/src/lib.rs", evil);
    let sums = f.project.read("vendor/dup/.cargo-checksum.json");
    let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    let evil_sum = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(evil.as_bytes()));
    assert!(sums.contains(empty));
    f.project.write(
        "vendor/dup/.cargo-checksum.json",
        sums.replace(empty, &evil_sum),
    );
    let report = verify_json(&f, 1);
    let named: Vec<&str> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["file"].as_str())
        .collect();
    assert!(
        named.contains(&"vendor/dup/src/lib.rs")
            && named.contains(&"vendor/dup/.cargo-checksum.json"),
        "{report:#}"
    );

    // A crate directory swapped for a link to an identical copy outside DIR; a kept link
    // pointed elsewhere in the crate.
    slsa(&f.env, f.project.path(), &["vendor", "--offline"]).assert_success();
    let copy = f.env.scratch().join("mid-copy");
    std::fs::rename(f.project.join("vendor/mid"), &copy).expect("move out");
    std::os::unix::fs::symlink(&copy, f.project.join("vendor/mid")).expect("link");
    std::fs::remove_file(f.project.join("vendor/odd/alias.rs")).expect("remove link");
    std::os::unix::fs::symlink("tool.sh", f.project.join("vendor/odd/alias.rs")).expect("relink");
    let report = verify_json(&f, 1);
    let messages = report["findings"].to_string();
    assert!(
        messages.contains("mid/ is a link to") && messages.contains("vendor/odd/alias.rs"),
        "{report:#}"
    );
    std::fs::remove_file(f.project.join("vendor/mid")).expect("unlink");

    // A lock that moved on: stale.
    slsa(&f.env, f.project.path(), &["vendor", "--offline"]).assert_success();
    f.env
        .registry()
        .publish(CrateBuilder::new("extra", "1.0.0"));
    let manifest = f
        .project
        .read("Cargo.toml")
        .replace("[dependencies]\n", "[dependencies]\nextra = \"1\"\n");
    f.project.write("Cargo.toml", manifest);
    let mut c = f.env.cargo(f.project.path());
    c.arg("generate-lockfile");
    run(c).assert_success();
    let report = verify_json(&f, 1);
    assert_eq!(codes(&report), ["vendor-stale"], "{report:#}");
}

#[test]
fn a_tampered_cache_is_rejected_leaving_the_old_tree() {
    // (Unsafe archive entries are covered by the extractor's unit tests: cargo itself refuses
    // to unpack such crates, so they never get this far through cargo.)
    let f = fixture();
    slsa(&f.env, f.project.path(), &["vendor", "--offline"]).assert_success();
    // Make dup 2.0.0 be re-extracted: its kept copy no longer matches.
    f.project.write("vendor/dup/src/lib.rs", "// changed\n");
    let old_tree = snapshot(&f.project.join("vendor"));
    let crate_file = cached_crate(&f, "dup-2.0.0.crate");
    std::fs::write(&crate_file, b"tampered").expect("tamper");
    let out = slsa(&f.env, f.project.path(), &["vendor", "--offline"]).assert_code(2);
    assert!(out.stderr.contains("sha256 differs"), "{}", out.stderr);
    assert_eq!(
        snapshot(&f.project.join("vendor")),
        old_tree,
        "the old tree stays as it was"
    );
    assert_eq!(
        leftovers(f.project.path()),
        Vec::<String>::new(),
        "no staging directory left behind"
    );
}

/// The `.crate` file cargo's cache holds under `file` (e.g. `dup-2.0.0.crate`).
fn cached_crate(f: &Fixture, file: &str) -> PathBuf {
    let cache = f.env.cargo_home().path().join("registry").join("cache");
    std::fs::read_dir(&cache)
        .expect("cache")
        .flatten()
        .map(|d| d.path().join(file))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{file} is not in cargo's cache"))
}

/// Entries beside the vendor tree that a run leaves (staging trees, a moved-aside tree).
fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("slsa-"))
        .collect()
}

#[test]
fn work_started_while_cargo_resolves_is_dropped_when_the_run_fails() {
    // Registry crates are vendored from the lock on disk while `cargo metadata` runs; a run
    // that then fails (a stale lock, a tampered cache) must leave no trace of that work.
    let f = fixture();
    let manifest = f.project.read("Cargo.toml");
    f.project
        .write("Cargo.toml", manifest.replace("dup = \"2\"", "dup = \"1\""));
    let out = slsa(&f.env, f.project.path(), &["vendor", "--offline"]).assert_code(2);
    assert!(out.stderr.contains("out of date"), "{}", out.stderr);
    assert!(!f.project.join("vendor").exists(), "no tree is written");
    assert_eq!(leftovers(f.project.path()), Vec::<String>::new());

    f.project.write("Cargo.toml", &manifest);
    let crate_file = cached_crate(&f, "mid-1.0.0.crate");
    let good = std::fs::read(&crate_file).expect("read");
    std::fs::write(&crate_file, b"tampered").expect("tamper");
    let out = slsa(&f.env, f.project.path(), &["vendor", "--offline"]).assert_code(2);
    assert!(out.stderr.contains("sha256 differs"), "{}", out.stderr);
    assert!(!f.project.join("vendor").exists(), "no tree is written");
    assert_eq!(leftovers(f.project.path()), Vec::<String>::new());

    // With the cache repaired, the same run writes exactly what cargo vendor writes, the
    // registry crates extracted while cargo resolved.
    std::fs::write(&crate_file, good).expect("restore");
    let first = vendor_json(&f);
    assert!(
        first["summary"]["prefetched"].as_u64() >= Some(4),
        "registry crates prefetched: {first:#}"
    );
    slsa(&f.env, f.project.path(), &["vendor", "--verify"]).assert_success();
    let same_as_cargo = |what: &str| {
        let _ = std::fs::remove_dir_all(f.project.join("theirs"));
        let mut c = f.env.cargo(f.project.path());
        c.args(["vendor", "--offline", "--respect-source-config", "theirs"]);
        run(c).assert_success();
        let mut ours = snapshot(&f.project.join("vendor"));
        ours.remove(Path::new(".slsa-vendor.json"));
        assert_eq!(ours, snapshot(&f.project.join("theirs")), "{what}");
    };
    same_as_cargo("a first vendor");

    // A new dependency: it is prefetched while the unchanged crates are moved in afterwards,
    // and the two meet in one tree.
    f.env
        .registry()
        .publish(CrateBuilder::new("fresh", "1.0.0").file("src/lib.rs", "pub fn n() {}\n"));
    f.project
        .write("Cargo.toml", format!("{manifest}fresh = \"1\"\n"));
    let mut c = f.env.cargo(f.project.path());
    c.arg("fetch");
    run(c).assert_success();
    let again = vendor_json(&f);
    assert_eq!(again["summary"]["prefetched"], 1, "{again:#}");
    assert!(again["summary"]["reused"].as_u64() >= Some(4), "{again:#}");
    slsa(&f.env, f.project.path(), &["vendor", "--verify"]).assert_success();
    same_as_cargo("a re-vendor with a new crate");
}

#[test]
fn re_vendoring_keeps_unchanged_crates_and_rewrites_changed_or_tampered_ones() {
    let f = fixture();
    let first = vendor_json(&f);
    assert_eq!(first["summary"]["reused"], 0);
    let total = first["summary"]["crates"].as_u64().expect("crates");

    // Dot entries in the vendor directory (a nested repository, a note) survive re-vendoring.
    f.project
        .write("vendor/.git/HEAD", "ref: refs/heads/main\n");
    f.project.write("vendor/.keep", "");
    // Nothing changed: everything is reused, and the tree is byte-identical.
    let before = snapshot(&f.project.join("vendor"));
    let again = vendor_json(&f);
    assert_eq!(again["summary"]["reused"], total);
    assert_eq!(snapshot(&f.project.join("vendor")), before);

    // A new version of one crate and a tampered file in another: those two are rewritten.
    f.env.registry().publish(CrateBuilder::new("dup", "2.0.1"));
    let mut c = f.env.cargo(f.project.path());
    c.args(["update", "-p", "dup@2.0.0"]);
    run(c).assert_success();
    let mut c = f.env.cargo(f.project.path());
    c.arg("fetch");
    run(c).assert_success();
    f.project.write("vendor/tool/README.md", "tampered\n");
    let third = vendor_json(&f);
    assert_eq!(third["summary"]["reused"], total - 2, "{third:#}");
    assert_eq!(f.project.read("vendor/tool/README.md"), "tool\n");
    assert!(f.project.read("vendor/dup/Cargo.toml").contains("2.0.1"));
    slsa(&f.env, f.project.path(), &["vendor", "--verify"]).assert_success();

    // And it is still exactly what cargo vendor writes from scratch.
    let mut c = f.env.cargo(f.project.path());
    c.args(["vendor", "--offline", "--respect-source-config", "theirs"]);
    run(c).assert_success();
    let theirs = snapshot(&f.project.join("theirs"));
    let mut ours = snapshot(&f.project.join("vendor"));
    ours.remove(Path::new(".slsa-vendor.json"));
    assert!(
        ours.remove(Path::new(".git/HEAD")).is_some(),
        "dot entries are kept"
    );
    assert!(
        ours.remove(Path::new(".keep")).is_some(),
        "dot entries are kept"
    );
    for (path, theirs_entry) in &theirs {
        assert_eq!(ours.get(path), Some(theirs_entry), "{}", path.display());
    }
    assert_eq!(ours.len(), theirs.len());
}

#[test]
fn platform_filtering_stubs_what_the_target_cannot_build_and_the_build_still_works() {
    let env = Env::new();
    let r = env.registry();
    r.publish(CrateBuilder::new("unixonly", "0.1.0").file("src/big.rs", "// lots of code\n"));
    r.publish(CrateBuilder::new("winonly", "0.1.0").file("src/big.rs", "// lots of code\n"));
    r.publish(
        CrateBuilder::new("both", "1.0.0")
            .target_dep("cfg(unix)", "unixonly", "0.1")
            .target_dep("cfg(windows)", "winonly", "0.1"),
    );
    let project = Project::new()
        .file(
            "Cargo.toml",
            slsa_tests::basic_manifest("app", &[("both", "1")]),
        )
        .file("src/lib.rs", "")
        .build();
    crate::lock_and_fetch(&env, &project);
    let out = slsa(
        &env,
        project.path(),
        &[
            "vendor",
            "--offline",
            "--platform",
            "x86_64-unknown-linux-gnu",
            "--format",
            "json",
        ],
    )
    .assert_success();
    let report = json(&out);
    assert_eq!(report["summary"]["stubs"], 1);
    assert!(project.exists("vendor/unixonly/src/big.rs"));
    assert!(!project.exists("vendor/winonly/src/big.rs"), "filtered out");
    assert_eq!(project.read("vendor/winonly/src/lib.rs"), "");
    slsa(&env, project.path(), &["vendor", "--verify"]).assert_success();

    // cargo resolves the whole lock offline and builds for the kept platform.
    project.write(
        ".cargo/config.toml",
        report["summary"]["config"].as_str().expect("config"),
    );
    let mut c = env.cargo(project.path());
    c.args([
        "build",
        "--offline",
        "--frozen",
        "--target",
        "x86_64-unknown-linux-gnu",
    ]);
    run(c).assert_success();
}

#[test]
fn write_config_merges_into_the_cargo_config_keeping_the_rest() {
    let f = fixture();
    let existing = "# our build settings\n[build]\njobs = 2 # keep\n\n[source.crates-io]\nregistry = \"https://example.invalid/index\"\n";
    f.project.write(".cargo/config.toml", existing);
    let out = slsa(
        &f.env,
        f.project.path(),
        &["vendor", "--offline", "--write-config"],
    )
    .assert_success();
    assert!(
        !out.stdout.contains("[source.vendored-sources]"),
        "not printed: {}",
        out.stdout
    );
    let config = f.project.read(".cargo/config.toml");
    assert!(
        config.starts_with("# our build settings\n[build]\njobs = 2 # keep\n"),
        "{config}"
    );
    assert!(
        config.contains("replace-with = \"vendored-sources\""),
        "{config}"
    );
    assert!(
        !config.contains("example.invalid"),
        "a stale registry key is dropped: {config}"
    );
    assert!(config.contains("directory = \"vendor\""), "{config}");
    let mut c = f.env.cargo(f.project.path());
    c.args(["build", "--offline", "--frozen"]);
    run(c).assert_success();
    // Idempotent.
    let again = json(
        &slsa(
            &f.env,
            f.project.path(),
            &["vendor", "--offline", "--write-config", "--format", "json"],
        )
        .assert_success(),
    );
    assert!(
        again["changes"]
            .as_array()
            .expect("changes")
            .iter()
            .all(|c| c["file"] != ".cargo/config.toml"),
        "{again:#}"
    );
    // A broken config is an input error (cargo itself reports it first), left alone.
    f.project.write(".cargo/config.toml", "[build\n");
    let out = slsa(
        &f.env,
        f.project.path(),
        &["vendor", "--offline", "--write-config"],
    )
    .assert_code(2);
    assert!(out.stderr.contains(".cargo/config.toml"), "{}", out.stderr);
    assert_eq!(f.project.read(".cargo/config.toml"), "[build\n");
}

#[test]
fn destinations_that_are_not_vendor_trees_are_refused() {
    let f = fixture();
    let before = snapshot(f.project.path());
    for dir in ["src", ".", f.project.path().to_str().expect("utf-8")] {
        let out = slsa(&f.env, f.project.path(), &["vendor", "--offline", dir]).assert_code(2);
        assert!(
            out.stderr.contains("refusing to vendor here"),
            "{dir}: {}",
            out.stderr
        );
    }
    #[cfg(unix)]
    {
        std::fs::create_dir_all(f.project.join("real")).expect("dir");
        std::os::unix::fs::symlink(f.project.join("real"), f.project.join("linked")).expect("link");
        let out = slsa(&f.env, f.project.path(), &["vendor", "--offline", "linked"]).assert_code(2);
        assert!(out.stderr.contains("symbolic link"), "{}", out.stderr);
        std::fs::remove_file(f.project.join("linked")).expect("unlink");
        std::fs::remove_dir(f.project.join("real")).expect("rmdir");
    }
    assert_eq!(snapshot(f.project.path()), before, "nothing was touched");
}

#[test]
fn verify_does_not_trust_files_inside_the_tree_and_reuse_does_not_either() {
    let f = fixture();
    slsa(&f.env, f.project.path(), &["vendor", "--offline"]).assert_success();
    // A crate directory nobody vendored: cargo would load it.
    f.project.write(
        "vendor/evil/Cargo.toml",
        "[package]\nname = \"evil\"\nversion = \"1.0.0\"\n",
    );
    f.project.write(
        "vendor/evil/.cargo-checksum.json",
        "{\"files\":{},\"package\":null}",
    );
    let report = verify_json(&f, 1);
    assert_eq!(codes(&report), ["vendor-added"], "{report:#}");
    std::fs::remove_dir_all(f.project.join("vendor/evil")).expect("rm");
    // A mode change is tampering too.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let p = f.project.join("vendor/dup/src/lib.rs");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o666)).expect("chmod");
        assert_eq!(codes(&verify_json(&f, 1)), ["vendor-modified"]);
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    }
    // Rewrite a file, its checksum entry and the manifest consistently: --verify is fooled by
    // design (the manifest is the reviewed record), but re-vendoring checks kept crates against
    // their lock-checked source and rewrites this one.
    f.project.write("vendor/tool/README.md", "evil\n");
    let sums = f.project.read("vendor/tool/.cargo-checksum.json");
    let evil_hash = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(b"evil\n"))
    };
    let readme_hash = sums
        .split("\"README.md\":\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("README listed")
        .to_string();
    f.project.write(
        "vendor/tool/.cargo-checksum.json",
        sums.replace(&readme_hash, &evil_hash),
    );
    let out = vendor_json(&f);
    let total = out["summary"]["crates"].as_u64().expect("crates");
    assert_eq!(out["summary"]["reused"], total - 1, "{out:#}");
    assert_eq!(f.project.read("vendor/tool/README.md"), "tool\n");
}

#[test]
fn host_side_dependencies_are_kept_when_filtering_for_another_target() {
    let env = Env::new();
    let r = env.registry();
    r.publish(CrateBuilder::new("unixdep", "0.1.0").file("src/big.rs", "// code\n"));
    r.publish(CrateBuilder::new("hosty", "0.1.0").target_dep("cfg(unix)", "unixdep", "0.1"));
    let manifest =
        slsa_tests::basic_manifest("app", &[]) + "\n[build-dependencies]\nhosty = \"0.1\"\n";
    let project = Project::new()
        .file("Cargo.toml", manifest)
        .file("src/lib.rs", "")
        .build();
    crate::lock_and_fetch(&env, &project);
    let report = json(
        &slsa(
            &env,
            project.path(),
            &[
                "vendor",
                "--offline",
                "--platform",
                "wasm32-unknown-unknown",
                "--format",
                "json",
            ],
        )
        .assert_success(),
    );
    assert_eq!(report["summary"]["stubs"], 0, "{report:#}");
    assert!(project.exists("vendor/unixdep/src/big.rs"));
}

#[test]
fn unchanged_crates_are_moved_not_reread_and_an_interrupted_move_is_put_back() {
    use std::os::unix::fs::MetadataExt;
    let f = fixture();
    slsa(&f.env, f.project.path(), &["vendor", "--offline", "-q"]).assert_success();
    let ino = |rel: &str| {
        std::fs::metadata(f.project.join(rel))
            .expect("vendored crate")
            .ino()
    };
    let before = ino("vendor/tool");
    let again = vendor_json(&f);
    assert_eq!(
        ino("vendor/tool"),
        before,
        "the same directory, moved into the new tree: {again}"
    );
    // The stat cache lives in the target directory, not in the committed tree.
    assert!(f.project.exists("target/slsa/vendor-stat.json"));
    assert!(!f.project.exists("vendor/.slsa-moved"));

    // A run killed after moving a crate into its staging tree: the next run puts it back.
    let staging = f.project.join(".vendor.slsa-staging-killed");
    std::fs::create_dir_all(staging.join(".slsa-moved")).expect("staging");
    std::fs::write(staging.join(".slsa-moved/tool"), "").expect("marker");
    std::fs::rename(f.project.join("vendor/tool"), staging.join("tool")).expect("move");
    // (As `move_in` leaves it: a link at the crate's path, so readers still see the crate.)
    std::os::unix::fs::symlink(
        "../.vendor.slsa-staging-killed/tool",
        f.project.join("vendor/tool"),
    )
    .expect("link");
    assert_eq!(f.project.read("vendor/tool/README.md"), "tool\n");
    // --verify changes nothing, and says why the crate is missing.
    let out = slsa(
        &f.env,
        f.project.path(),
        &["vendor", "--verify", "--format", "json"],
    )
    .assert_code(1);
    assert!(
        out.stdout.contains("an interrupted vendor run left crates"),
        "{}",
        out.stdout
    );
    slsa(&f.env, f.project.path(), &["vendor", "--offline", "-q"]).assert_success();
    assert!(!staging.exists(), "the stale staging tree is gone");
    assert_eq!(ino("vendor/tool"), before, "put back, then kept");
    assert!(
        !std::fs::symlink_metadata(f.project.join("vendor/tool"))
            .expect("tool")
            .file_type()
            .is_symlink(),
        "the link is replaced by the directory"
    );
    // Without the link (a system that cannot swap in one step, killed between its two steps)
    // the crate is put back all the same — here with the record as this version writes it (a
    // list of names; the directory of markers above is what earlier versions left).
    std::fs::create_dir_all(&staging).expect("staging");
    std::fs::write(staging.join(".slsa-moved"), "tool\n").expect("record");
    std::fs::rename(f.project.join("vendor/tool"), staging.join("tool")).expect("move");
    slsa(&f.env, f.project.path(), &["vendor", "--offline", "-q"]).assert_success();
    assert!(!staging.exists(), "the stale staging tree is gone");
    assert_eq!(ino("vendor/tool"), before, "put back, then kept");
    slsa(&f.env, f.project.path(), &["vendor", "--verify"]).assert_success();

    // Touched files are read again (and a tampered one replaced), whatever the cache says.
    f.project.write("vendor/tool/README.md", "tampered\n");
    slsa(&f.env, f.project.path(), &["vendor", "--offline", "-q"]).assert_success();
    assert_eq!(f.project.read("vendor/tool/README.md"), "tool\n");
}

// One-step exchange (renameat2) is what makes every kill point old-or-new; Linux only.
#[cfg(target_os = "linux")]
#[test]
fn killed_runs_at_any_point_are_repaired_by_the_next_run() {
    let f = fixture();
    slsa(&f.env, f.project.path(), &["vendor", "--offline", "-q"]).assert_success();
    // Something to write each time: a new version of one crate (one lock per delay would be
    // slow; alternate between two locks).
    f.env.registry().publish(CrateBuilder::new("dup", "2.0.1"));
    let mut c = f.env.cargo(f.project.path());
    c.args(["update", "-p", "dup@2.0.0"]);
    run(c).assert_success();
    let mut c = f.env.cargo(f.project.path());
    c.arg("fetch");
    run(c).assert_success();
    // What readers see in DIR (links followed; a marker directory is not part of a tree).
    let seen = || {
        let mut t = snapshot(&f.project.join("vendor"));
        t.retain(|p, _| !p.starts_with(".slsa-moved"));
        t
    };
    // A `vendor` run held by a test hook: `Some(child)` once `reached` holds for a staging
    // tree beside DIR (polled at most 400 times, 25 ms apart), `None` if it never does.
    let held = |hook: &str, reached: &str| {
        let mut cmd = f.env.command(crate::bin(), f.project.path());
        cmd.args(["vendor", "--offline", "-q"])
            .env(hook, "20000")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let mut child = cmd.spawn().expect("spawn vendor");
        let there = || {
            std::fs::read_dir(f.project.path())
                .expect("project")
                .flatten()
                .any(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .starts_with(".vendor.slsa-staging-")
                        && e.path().join(reached).is_file()
                })
        };
        for _ in 0..400 {
            if there() {
                return Some(child);
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        let _ = child.kill();
        let _ = child.wait();
        None
    };
    let links = || {
        std::fs::read_dir(f.project.join("vendor"))
            .expect("vendor")
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_symlink()))
            .count()
    };
    // While the changed crates are written, the unchanged ones are still in DIR (no links
    // into the staging tree, which a `git add` or a cache upload could capture after a kill):
    // they are moved only once everything else is staged, right before the swap.
    f.project.write("vendor/tool/README.md", "tampered\n");
    let old_tree = seen();
    let mut child = held(
        "__CARGO_SLSA_TEST_PAUSE_BEFORE_MOVES_MS",
        "tool/.cargo-checksum.json",
    )
    .expect("the changed crate was never staged");
    let links_while_writing = links();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        links_while_writing, 0,
        "nothing moved while crates are written"
    );
    assert_eq!(links(), 0);
    assert_eq!(seen(), old_tree);
    slsa(&f.env, f.project.path(), &["vendor", "--offline", "-q"]).assert_success();

    // Killed at the worst moment: every crate staged, the unchanged ones moved out of DIR,
    // just before the swap (held there by the test hook). DIR still reads as the old tree.
    f.project.write("vendor/tool/README.md", "tampered\n");
    let old_tree = seen();
    let mut child = held(
        "__CARGO_SLSA_TEST_PAUSE_BEFORE_SWAP_MS",
        ".slsa-vendor.json",
    )
    .expect("the run never reached its swap");
    let links_before_swap = links();
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        links_before_swap > 0,
        "crates were moved out of DIR before the kill"
    );
    assert_eq!(seen(), old_tree, "DIR still reads as the old tree");
    slsa(&f.env, f.project.path(), &["vendor", "--offline", "-q"]).assert_success();
    slsa(&f.env, f.project.path(), &["vendor", "--verify"]).assert_success();

    // Repeated delays catch the moves and the swap at different points.
    for delay_ms in [
        0u64, 2, 5, 10, 20, 40, 80, 160, 100, 120, 140, 180, 200, 250,
    ] {
        // A tampered file forces reading and rewriting one crate on every run.
        f.project.write("vendor/tool/README.md", "tampered\n");
        let old_tree = seen();
        let mut cmd = f.env.command(crate::bin(), f.project.path());
        cmd.args(["vendor", "--offline", "-q"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let mut child = cmd.spawn().expect("spawn vendor");
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        // Right after the kill, every path of DIR reads as the old tree or as the new one.
        let after_kill = seen();
        // The next run repairs whatever the killed one left; the tree then verifies.
        slsa(&f.env, f.project.path(), &["vendor", "--offline", "-q"]).assert_success();
        slsa(&f.env, f.project.path(), &["vendor", "--verify"]).assert_success();
        let new_tree = seen();
        assert!(
            after_kill == old_tree || after_kill == new_tree,
            "delay {delay_ms} ms: the tree was neither old nor new: {:?}",
            after_kill.keys().take(5).collect::<Vec<_>>()
        );
        assert!(f.project.read("vendor/dup/Cargo.toml").contains("2.0.1"));
        let left = leftovers(f.project.path());
        assert!(left.is_empty(), "delay {delay_ms} ms: {left:?}");
    }
}

#[test]
fn a_relative_dir_is_taken_from_the_working_directory_like_cargo() {
    let f = fixture();
    let sub = f.project.join("sub");
    std::fs::create_dir_all(&sub).expect("subdirectory");
    let out = slsa(&f.env, &sub, &["vendor", "--offline", "../third"]).assert_success();
    assert!(
        f.project.join("third/dup/.cargo-checksum.json").is_file(),
        "{out:?}"
    );
    assert!(!sub.join("third").exists() && !f.project.join("vendor").exists());
    // Printed as given; written into the workspace's configuration relative to its root.
    assert!(out.stdout.contains("directory = \"../third\""), "{out:?}");
    slsa(
        &f.env,
        &sub,
        &["vendor", "--offline", "--write-config", "../third"],
    )
    .assert_success();
    let config = f.project.read(".cargo/config.toml");
    assert!(config.contains("directory = \"third\""), "{config}");
    // And cargo builds from it.
    let mut c = f.env.cargo(f.project.path());
    c.args(["build", "--offline", "--frozen"]);
    run(c).assert_success();
}

/// A cargo that logs each invocation's arguments to `log` and then runs the real one, so a
/// test sees which cargo commands a run used.
fn logging_cargo(f: &Fixture) -> (PathBuf, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let probe = f.env.command(crate::bin(), f.project.path());
    let real = probe
        .get_envs()
        .find(|(k, _)| *k == "CARGO")
        .and_then(|(_, v)| v)
        .expect("the kit sets CARGO")
        .to_owned();
    let dir = f.env.scratch().join("logging-cargo");
    std::fs::create_dir_all(&dir).expect("dir");
    let log = dir.join("log");
    let script = dir.join("cargo");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\nexec '{}' \"$@\"\n",
            log.display(),
            real.to_string_lossy()
        ),
    )
    .expect("script");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    (script, log)
}

#[test]
fn cargo_is_skipped_only_when_nothing_that_decides_the_tree_changed() {
    let f = fixture();
    let (cargo, log) = logging_cargo(&f);
    // Each run: its JSON summary and the cargo commands it ran.
    let vendor = |extra_env: &[(&str, &str)], code: i32| {
        let _ = std::fs::remove_file(&log);
        let mut cmd = f.env.command(crate::bin(), f.project.path());
        cmd.args(["vendor", "--offline", "--format", "json"])
            .env("CARGO", &cargo);
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let out = run(cmd).assert_code(code);
        let ran = std::fs::read_to_string(&log).unwrap_or_default();
        (out, ran)
    };
    let summary = |out: &slsa_tests::RunOutput| json(out)["summary"].clone();
    let checked_by = |out: &slsa_tests::RunOutput| {
        summary(out)["lock_checked_by"]
            .as_str()
            .expect("lock_checked_by")
            .to_owned()
    };
    const UNCHANGED: &str = "unchanged since the last run (cargo not run)";
    const FULL: &str = "cargo metadata --locked";
    const LOCK: &str = "cargo update --workspace --locked --offline";
    let vendored = || {
        let mut t = snapshot(&f.project.join("vendor"));
        t.remove(Path::new(".slsa-vendor.json"));
        t
    };

    let (out, ran) = vendor(&[], 0);
    assert_eq!(checked_by(&out), FULL);
    assert!(ran.contains("metadata"), "{ran}");
    let tree = snapshot(&f.project.join("vendor"));

    // Nothing changed: no cargo at all, nothing written, the same summary counts.
    let (out, ran) = vendor(&[], 0);
    assert_eq!(checked_by(&out), UNCHANGED);
    assert_eq!(ran, "", "cargo was not run");
    let total = summary(&out)["crates"].clone();
    assert_eq!(summary(&out)["reused"], total);
    assert_eq!(snapshot(&f.project.join("vendor")), tree);

    // Each of these must be noticed: the run goes through cargo and DIR ends up as it was.
    type Tamper<'a> = Box<dyn Fn() + 'a>;
    let tampering: Vec<(&str, Tamper)> = vec![
        (
            "an edited vendored file",
            Box::new(|| f.project.write("vendor/tool/README.md", "tampered\n")),
        ),
        (
            "a file added to a crate",
            Box::new(|| f.project.write("vendor/tool/src/evil.rs", "x\n")),
        ),
        (
            "a crate directory added to DIR",
            Box::new(|| {
                f.project.write(
                    "vendor/evil/Cargo.toml",
                    "[package]\nname = \"evil\"\nversion = \"1.0.0\"\n",
                )
            }),
        ),
        (
            "a crate directory removed",
            Box::new(|| f.project.remove("vendor/mid")),
        ),
        (
            "an edited manifest in DIR",
            Box::new(|| {
                let m = f.project.read("vendor/.slsa-vendor.json");
                f.project
                    .write("vendor/.slsa-vendor.json", format!("{m}\n"));
            }),
        ),
        (
            "an edited checksum file",
            Box::new(|| f.project.write("vendor/mid/.cargo-checksum.json", "{}")),
        ),
    ];
    // (The lock is the one cargo checked last time, so cargo need not run: the tree is
    // rebuilt from the lock, the changed crates read again from their sources.)
    for (what, tamper) in &tampering {
        tamper();
        let (out, _) = vendor(&[], 0);
        assert_eq!(snapshot(&f.project.join("vendor")), tree, "{what}: {out:?}");
        slsa(&f.env, f.project.path(), &["vendor", "--verify"]).assert_success();
    }

    // Inputs that decide the tree without being in it: the workspace manifest (a comment
    // counts), cargo's configuration, cargo's variables. Each runs cargo metadata.
    let manifest = f.project.read("Cargo.toml");
    f.project
        .write("Cargo.toml", format!("{manifest}# a comment\n"));
    let (out, ran) = vendor(&[], 0);
    assert_eq!(checked_by(&out), FULL, "an edited Cargo.toml");
    assert!(ran.contains("metadata"), "{ran}");
    f.project.write(".cargo/config.toml", "[net]\nretry = 1\n");
    let (out, _) = vendor(&[], 0);
    assert_eq!(checked_by(&out), FULL, "a new .cargo/config.toml");
    let (out, _) = vendor(&[("CARGO_PROFILE_RELEASE_DEBUG", "1")], 0);
    assert_eq!(checked_by(&out), FULL, "a new CARGO_ variable");
    let (out, _) = vendor(&[], 0);
    assert_eq!(checked_by(&out), FULL, "the variable gone again");
    let (out, _) = vendor(&[], 0);
    assert_eq!(checked_by(&out), UNCHANGED);
    assert_eq!(snapshot(&f.project.join("vendor")), tree);

    // A bump (`cargo update -p`): cargo's lock check alone, and cargo vendor's tree.
    f.env.registry().publish(CrateBuilder::new("dup", "2.0.1"));
    let mut c = f.env.cargo(f.project.path());
    c.args(["update", "-p", "dup@2.0.0"]);
    run(c).assert_success();
    let mut c = f.env.cargo(f.project.path());
    c.arg("fetch");
    run(c).assert_success();
    let (out, ran) = vendor(&[], 0);
    assert_eq!(checked_by(&out), LOCK, "{ran}");
    assert!(!ran.contains("metadata"), "{ran}");
    assert_eq!(summary(&out)["reused"], total.as_u64().expect("n") - 1);
    let mut c = f.env.cargo(f.project.path());
    c.args(["vendor", "--offline", "--respect-source-config", "theirs"]);
    run(c).assert_success();
    assert_eq!(vendored(), snapshot(&f.project.join("theirs")));
    std::fs::remove_dir_all(f.project.join("theirs")).expect("remove");
    let bumped = snapshot(&f.project.join("vendor"));

    // A lock edited by hand so that it no longer fits the manifests: cargo's lock check
    // refuses it, the run falls back to cargo metadata, which refuses it too; DIR untouched.
    let lock = f.project.read("Cargo.lock");
    let stale = lock.replace(
        "name = \"mid\"\nversion = \"1.0.0\"",
        "name = \"mid\"\nversion = \"9.0.0\"",
    );
    assert_ne!(stale, lock);
    f.project.write("Cargo.lock", &stale);
    let (out, ran) = vendor(&[], 2);
    assert!(ran.contains("--locked"), "{ran}");
    assert!(out.stderr.contains("Cargo.lock"), "{}", out.stderr);
    assert_eq!(snapshot(&f.project.join("vendor")), bumped);
    // A lock whose checksum was swapped for another crate's: the cache no longer matches it.
    let sum = |name: &str| {
        f.project
            .lock()
            .into_iter()
            .find(|p| p.name == name)
            .and_then(|p| p.checksum)
            .expect("checksum")
    };
    f.project.write("Cargo.lock", &lock);
    let swapped = lock.replace(&sum("tool"), &sum("mid"));
    assert_ne!(swapped, lock);
    f.project.write("Cargo.lock", &swapped);
    let (out, _) = vendor(&[], 2);
    assert!(!out.stderr.is_empty());
    assert_eq!(snapshot(&f.project.join("vendor")), bumped);
    f.project.write("Cargo.lock", &lock);
    let (out, ran) = vendor(&[], 0);
    assert_eq!(
        checked_by(&out),
        UNCHANGED,
        "the lock put back is the one checked"
    );
    assert_eq!(ran, "");

    // A git dependency moved on: its checkout comes from cargo metadata.
    f._git
        .1
        .commit(&[("crates/wsb/lib.rs", "pub fn b() { }\n")], "b");
    let mut c = f.env.cargo(f.project.path());
    c.args(["update", "-p", "wsa"]);
    run(c).assert_success();
    let (out, ran) = vendor(&[], 0);
    assert_eq!(checked_by(&out), FULL, "{ran}");
    assert!(f.project.read("vendor/wsb/lib.rs").contains("{ }"));
    slsa(&f.env, f.project.path(), &["vendor", "--verify"]).assert_success();

    // A directory a member glob searches gains a package: the workspace changed, whatever
    // the files cargo read say.
    f.project.write(
        "Cargo.toml",
        manifest.replace("[workspace]\n", "[workspace]\nmembers = [\"crates/*\"]\n"),
    );
    f.project.write(
        "crates/one/Cargo.toml",
        "[package]\nname = \"one\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    );
    f.project.write("crates/one/src/lib.rs", "");
    let mut c = f.env.cargo(f.project.path());
    c.args(["update", "--workspace"]);
    run(c).assert_success();
    let (out, _) = vendor(&[], 0);
    assert_eq!(checked_by(&out), FULL);
    let (out, _) = vendor(&[], 0);
    assert_eq!(checked_by(&out), UNCHANGED);
    f.project.write(
        "crates/extra/Cargo.toml",
        "[package]\nname = \"extra\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    );
    f.project.write("crates/extra/src/lib.rs", "");
    // (The lock lacks the new member, so cargo refuses it: not "unchanged".)
    let (out, ran) = vendor(&[], 2);
    assert!(ran.contains("metadata"), "{ran}");
    assert!(out.stderr.contains("Cargo.lock"), "{}", out.stderr);
}

/// Runs `script` (a shell script, `$SLSA` the binary under test) in new user and mount
/// namespaces, so it can mount filesystems; `None` where the system does not allow that.
#[cfg(target_os = "linux")]
fn in_mount_namespace(f: &Fixture, script: &str) -> Option<slsa_tests::RunOutput> {
    let find = |name: &str| {
        ["/usr/bin", "/bin", "/usr/sbin", "/sbin"]
            .iter()
            .map(|d| Path::new(d).join(name))
            .find(|p| p.is_file())
    };
    let (Some(unshare), Some(mount)) = (find("unshare"), find("mount")) else {
        return None;
    };
    let works = std::process::Command::new(&unshare)
        .args([
            "-rm",
            "/bin/sh",
            "-c",
            &format!("'{}' -t tmpfs none /tmp", mount.display()),
        ])
        .output()
        .is_ok_and(|o| o.status.success());
    if !works {
        return None;
    }
    let mut cmd = f.env.command(&unshare, f.project.path());
    cmd.args(["-rm", "/bin/sh", "-ec", script])
        .env("SLSA", crate::bin())
        .env("MOUNT", mount);
    Some(run(cmd))
}

#[cfg(target_os = "linux")]
#[test]
fn a_mount_point_or_an_unwritable_parent_is_refused_up_front() {
    let f = fixture();
    // DIR is a mount point (a volume, a tmpfs): the new tree cannot be swapped in across
    // filesystems, and saying so after vendoring every crate would waste the run.
    let Some(out) = in_mount_namespace(
        &f,
        "mkdir -p mnt && \"$MOUNT\" -t tmpfs none mnt && exec \"$SLSA\" vendor --offline mnt",
    ) else {
        #[allow(clippy::disallowed_macros)] // a test's own note on why it did nothing
        {
            eprintln!("skipped: this system does not allow mount namespaces");
        }
        return;
    };
    let out = out.assert_code(2);
    assert!(out.stderr.contains("mount point"), "{}", out.stderr);
    assert!(out.stderr.contains("mnt"), "{}", out.stderr);
    // A directory inside the mount is fine.
    let out = in_mount_namespace(
        &f,
        "mkdir -p mnt && \"$MOUNT\" -t tmpfs none mnt && \"$SLSA\" vendor --offline -q mnt/vendor \
         && \"$SLSA\" vendor --verify mnt/vendor",
    )
    .expect("mount namespaces work");
    out.assert_success();
    // A read-only parent: refused with the reason, nothing written.
    let out = in_mount_namespace(
        &f,
        "mkdir -p ro && \"$MOUNT\" -t tmpfs none ro && \"$MOUNT\" -o remount,ro ro && \
         exec \"$SLSA\" vendor --offline ro/vendor",
    )
    .expect("mount namespaces work")
    .assert_code(2);
    assert!(out.stderr.contains("cannot be written"), "{}", out.stderr);
    assert!(out.stderr.contains("ro/vendor"), "{}", out.stderr);
    assert_eq!(leftovers(f.project.path()), Vec::<String>::new());
}
