//! `cargo slsa sbom`: CycloneDX 1.6/1.5 and SPDX 2.3 content (purls, hashes, licenses, graph),
//! dev and target filtering, member selection, determinism, and bad input.
//! Full JSON-schema validation against the official schemas runs in `cargo xtask interop`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use slsa_tests::{CrateBuilder, Env, GitRemote, Project, run};

use crate::{json, slsa, tree};

struct Fixture {
    env: Env,
    project: Project,
    _git: GitRemote,
    git_sha: String,
}

/// `app` → `lib-a` (legacy license syntax, authors), `both` → (cfg(unix) `unixonly`,
/// cfg(windows) `winonly`), build-dep `gen`, dev-dep `devdep`, git dep `gitdep`, path member `helper`.
fn fixture() -> Fixture {
    let env = Env::new();
    let r = env.registry();
    r.publish(CrateBuilder::new("lib-a", "1.2.3").file(
        "Cargo.toml",
        "[package]\nname = \"lib-a\"\nversion = \"1.2.3\"\nedition = \"2021\"\n\
         license = \"MIT/Apache-2.0\"\nauthors = [\"Jane Doe <jane@example.com>\", \"The Team\"]\n\
         description = \"  A library.  \"\nrepository = \"https://github.com/example/lib-a\"\n\
         homepage = \"not a url\"\n",
    ));
    r.publish(CrateBuilder::new("unixonly", "0.1.0"));
    r.publish(CrateBuilder::new("winonly", "0.1.0"));
    r.publish(
        CrateBuilder::new("both", "2.0.0")
            .target_dep("cfg(unix)", "unixonly", "0.1")
            .target_dep("cfg(windows)", "winonly", "0.1"),
    );
    r.publish(CrateBuilder::new("gen", "0.3.0"));
    r.publish(CrateBuilder::new("devdep", "1.0.0"));
    let git = GitRemote::crate_repo(env.scratch(), "gitdep", "0.5.0");
    let git_sha = git.head();
    let manifest = format!(
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\nlicense = \"MIT\"\n\n\
         [workspace]\nmembers = [\"helper\"]\n\n\
         [dependencies]\nlib-a = \"1\"\nboth = \"2\"\nhelper = {{ path = \"helper\" }}\n\
         gitdep = {{ git = \"{}\", rev = \"{git_sha}\" }}\n\n\
         [build-dependencies]\ngen = \"0.3\"\n\n[dev-dependencies]\ndevdep = \"1\"\n",
        git.url()
    );
    let project = Project::new()
        .file("Cargo.toml", manifest)
        .file("src/main.rs", "fn main() {}\n")
        .file(
            "helper/Cargo.toml",
            "[package]\nname = \"helper\"\nversion = \"0.2.0\"\nedition = \"2021\"\n",
        )
        .file("helper/src/lib.rs", "")
        .build();
    let mut c = env.cargo(project.path());
    c.arg("generate-lockfile");
    run(c).assert_success();
    Fixture {
        env,
        project,
        _git: git,
        git_sha,
    }
}

fn sbom(f: &Fixture, args: &[&str]) -> (Value, String) {
    let mut all = vec!["sbom"];
    all.extend_from_slice(args);
    let out = slsa(&f.env, f.project.path(), &all).assert_success();
    (json(&out), out.stdout)
}

fn by_name(doc: &Value) -> BTreeMap<String, Value> {
    doc["components"]
        .as_array()
        .expect("components")
        .iter()
        .map(|c| (c["name"].as_str().expect("name").to_string(), c.clone()))
        .collect()
}

fn depends_on(doc: &Value, bom_ref: &str) -> BTreeSet<String> {
    doc["dependencies"]
        .as_array()
        .expect("dependencies")
        .iter()
        .find(|d| d["ref"] == bom_ref)
        .unwrap_or_else(|| panic!("no dependencies entry for {bom_ref}"))["dependsOn"]
        .as_array()
        .expect("dependsOn")
        .iter()
        .map(|v| v.as_str().expect("ref").to_string())
        .collect()
}

#[test]
fn cyclonedx_has_purls_hashes_licenses_and_the_graph() {
    let f = fixture();
    let (doc, _) = sbom(&f, &["--package", "app"]);
    assert_eq!(doc["bomFormat"], "CycloneDX");
    assert_eq!(doc["specVersion"], "1.6");
    assert_eq!(doc["version"], 1);
    let serial = doc["serialNumber"].as_str().expect("serial");
    assert!(is_uuid_urn(serial), "{serial}");
    assert_eq!(
        doc["metadata"]["tools"]["components"][0]["name"],
        "cargo-slsa"
    );
    let root = &doc["metadata"]["component"];
    assert_eq!(root["name"], "app");
    assert_eq!(root["type"], "application");
    assert_eq!(root["purl"], "pkg:cargo/app@0.1.0");

    let comps = by_name(&doc);
    let names: BTreeSet<&str> = comps.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        BTreeSet::from([
            "both", "gen", "gitdep", "helper", "lib-a", "unixonly", "winonly"
        ]),
        "dev-dependencies are left out by default; both platforms are in"
    );

    let lock = slsa_tests::lockfile::parse(&f.project.read("Cargo.lock"));
    let lib_a = &comps["lib-a"];
    let locked = lock.iter().find(|p| p.name == "lib-a").expect("locked");
    assert_eq!(lib_a["purl"], "pkg:cargo/lib-a@1.2.3");
    assert_eq!(lib_a["hashes"][0]["alg"], "SHA-256");
    assert_eq!(
        lib_a["hashes"][0]["content"].as_str(),
        locked.checksum.as_deref()
    );
    assert_eq!(lib_a["licenses"][0]["expression"], "MIT OR Apache-2.0");
    assert_eq!(lib_a["authors"][0]["name"], "Jane Doe");
    assert_eq!(lib_a["authors"][0]["email"], "jane@example.com");
    assert_eq!(lib_a["authors"][1]["name"], "The Team");
    assert_eq!(lib_a["description"], "A library.");
    let refs = lib_a["externalReferences"].to_string();
    assert!(refs.contains("https://github.com/example/lib-a"), "{refs}");
    assert!(!refs.contains("not a url"), "{refs}");

    let git = &comps["gitdep"];
    let purl = git["purl"].as_str().expect("purl");
    assert!(
        purl.starts_with("pkg:cargo/gitdep@0.5.0?vcs_url=git%2Bfile://"),
        "{purl}"
    );
    assert!(purl.ends_with(&format!("%40{}", f.git_sha)), "{purl}");
    assert!(
        git.get("hashes").is_none(),
        "git sources have no lock checksum"
    );
    assert_eq!(comps["helper"]["purl"], "pkg:cargo/helper@0.2.0");

    let app_deps = depends_on(&doc, "pkg:cargo/app@0.1.0");
    assert_eq!(
        app_deps,
        ["both", "gen", "helper", "lib-a"]
            .iter()
            .map(|n| comps[*n]["bom-ref"].as_str().expect("ref").to_string())
            .chain([purl.to_string()])
            .collect()
    );
    assert_eq!(
        depends_on(&doc, "pkg:cargo/both@2.0.0"),
        BTreeSet::from([
            "pkg:cargo/unixonly@0.1.0".to_string(),
            "pkg:cargo/winonly@0.1.0".to_string()
        ])
    );
    assert!(depends_on(&doc, "pkg:cargo/lib-a@1.2.3").is_empty());
}

#[test]
fn dev_dependencies_and_target_filtering() {
    let f = fixture();
    let (doc, _) = sbom(&f, &["--include-dev"]);
    assert!(by_name(&doc).contains_key("devdep"));

    let (linux, _) = sbom(&f, &["--target", "x86_64-unknown-linux-gnu"]);
    let names = by_name(&linux);
    assert!(names.contains_key("unixonly") && !names.contains_key("winonly"));
    assert_eq!(
        depends_on(&linux, "pkg:cargo/both@2.0.0"),
        BTreeSet::from(["pkg:cargo/unixonly@0.1.0".to_string()])
    );
    let (windows, _) = sbom(&f, &["--target", "x86_64-pc-windows-msvc"]);
    let names = by_name(&windows);
    assert!(names.contains_key("winonly") && !names.contains_key("unixonly"));
}

#[test]
fn the_whole_workspace_or_one_member() {
    let f = fixture();
    let (doc, _) = sbom(&f, &[]);
    let root = &doc["metadata"]["component"];
    let root_ref = root["bom-ref"].as_str().expect("ref");
    assert!(root_ref.starts_with("workspace:"), "{root_ref}");
    assert_eq!(
        depends_on(&doc, root_ref),
        BTreeSet::from([
            "pkg:cargo/app@0.1.0".to_string(),
            "pkg:cargo/helper@0.2.0".to_string()
        ])
    );
    let (helper, _) = sbom(&f, &["-p", "helper"]);
    assert_eq!(helper["metadata"]["component"]["name"], "helper");
    assert!(
        helper["components"]
            .as_array()
            .expect("components")
            .is_empty()
    );
}

#[test]
fn output_is_deterministic() {
    let f = fixture();
    let run_with = |epoch: Option<&str>, args: &[&str]| {
        let mut cmd = f.env.command(crate::bin(), f.project.path());
        cmd.arg("sbom").args(args);
        match epoch {
            Some(e) => cmd.env("SOURCE_DATE_EPOCH", e),
            None => cmd.env_remove("SOURCE_DATE_EPOCH"),
        };
        run(cmd).assert_success().stdout
    };
    for args in [
        &[][..],
        &["--spec-version", "1.5"][..],
        &["--sbom-format", "spdx-json"][..],
    ] {
        let a = run_with(Some("1700000000"), args);
        let b = run_with(Some("1700000000"), args);
        assert_eq!(a, b, "{args:?}");
        assert!(
            a.contains("2023-11-14T22:13:20Z"),
            "{args:?}: timestamp from SOURCE_DATE_EPOCH"
        );
    }
    // Without SOURCE_DATE_EPOCH only the timestamp may differ: the serial is the content's.
    let a: Value = serde_json::from_str(&run_with(None, &[])).expect("json");
    let b: Value = serde_json::from_str(&run_with(Some("1"), &[])).expect("json");
    assert_eq!(a["serialNumber"], b["serialNumber"]);
    // Different content, different serial.
    let c: Value = serde_json::from_str(&run_with(Some("1"), &["--include-dev"])).expect("json");
    assert_ne!(a["serialNumber"], c["serialNumber"]);
}

#[test]
fn cyclonedx_1_5_uses_the_author_string() {
    let f = fixture();
    let (doc, _) = sbom(&f, &["--spec-version", "1.5"]);
    assert_eq!(doc["specVersion"], "1.5");
    let lib_a = &by_name(&doc)["lib-a"];
    assert_eq!(lib_a["author"], "Jane Doe <jane@example.com>, The Team");
    assert!(lib_a.get("authors").is_none());
}

#[test]
fn spdx_has_packages_checksums_purls_and_relationships() {
    let f = fixture();
    let (doc, _) = sbom(&f, &["--sbom-format", "spdx-json", "-p", "app"]);
    assert_eq!(doc["spdxVersion"], "SPDX-2.3");
    assert_eq!(doc["dataLicense"], "CC0-1.0");
    assert_eq!(doc["SPDXID"], "SPDXRef-DOCUMENT");
    let ns = doc["documentNamespace"].as_str().expect("namespace");
    assert!(
        ns.starts_with("https://spdx.org/spdxdocs/app-0.1.0-"),
        "{ns}"
    );
    assert!(
        doc["creationInfo"]["creators"][0]
            .as_str()
            .expect("creator")
            .starts_with("Tool: cargo-slsa-")
    );
    let packages = doc["packages"].as_array().expect("packages");
    assert_eq!(packages.len(), 8, "the root and its 7 dependencies");
    let mut ids = BTreeSet::new();
    for p in packages {
        let id = p["SPDXID"].as_str().expect("id");
        assert!(id.starts_with("SPDXRef-"));
        assert!(
            id["SPDXRef-".len()..]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-'),
            "{id}"
        );
        assert!(ids.insert(id.to_string()), "duplicate {id}");
        assert_eq!(p["filesAnalyzed"], false);
        assert!(p["downloadLocation"].is_string());
    }
    let lib_a = packages
        .iter()
        .find(|p| p["name"] == "lib-a")
        .expect("lib-a");
    assert_eq!(lib_a["licenseDeclared"], "MIT OR Apache-2.0");
    assert_eq!(lib_a["checksums"][0]["algorithm"], "SHA256");
    assert_eq!(lib_a["externalRefs"][0]["referenceType"], "purl");
    assert_eq!(
        lib_a["externalRefs"][0]["referenceLocator"],
        "pkg:cargo/lib-a@1.2.3"
    );
    assert_eq!(lib_a["originator"], "Person: Jane Doe (jane@example.com)");
    assert_eq!(
        lib_a["downloadLocation"],
        "https://crates.io/api/v1/crates/lib-a/1.2.3/download"
    );
    let rels = doc["relationships"].as_array().expect("relationships");
    let app_id = packages.iter().find(|p| p["name"] == "app").expect("app")["SPDXID"].clone();
    assert!(rels.iter().any(|r| r["relationshipType"] == "DESCRIBES"
        && r["spdxElementId"] == "SPDXRef-DOCUMENT"
        && r["relatedSpdxElement"] == app_id));
    let depends = rels
        .iter()
        .filter(|r| r["relationshipType"] == "DEPENDS_ON")
        .count();
    assert_eq!(depends, 7, "app → 5, both → 2");
}

#[test]
fn output_file_is_written_atomically_and_reported() {
    let f = fixture();
    let write = || {
        let mut cmd = f.env.command(crate::bin(), f.project.path());
        cmd.args(["sbom", "-o", "sbom.cdx.json", "--format", "json"])
            .env("SOURCE_DATE_EPOCH", "1700000000");
        json(&run(cmd).assert_success())
    };
    let report = write();
    assert_eq!(report["command"], "sbom");
    assert_eq!(report["changes"][0]["file"], "sbom.cdx.json");
    assert!(
        report["changes"][0]["description"]
            .as_str()
            .expect("description")
            .contains("CycloneDX 1.6 JSON")
    );
    let written: Value = serde_json::from_str(&f.project.read("sbom.cdx.json")).expect("json");
    assert_eq!(written["bomFormat"], "CycloneDX");
    let before = tree(f.project.path());
    // Same inputs, same bytes: nothing is rewritten, and no temporary file is left behind.
    let again = write();
    assert_eq!(again["changes"], serde_json::json!([]));
    assert!(
        again["summary"]["messages"]
            .to_string()
            .contains("already up to date")
    );
    assert_eq!(tree(f.project.path()), before);
}

#[test]
fn bad_input_exits_2_and_writes_nothing() {
    let f = fixture();
    let cases: [(&[&str], &str); 5] = [
        (&["sbom", "--spec-version", "1.4"], "--spec-version 1.4"),
        (
            &[
                "sbom",
                "--sbom-format",
                "spdx-json",
                "--spec-version",
                "1.6",
            ],
            "2.3",
        ),
        (&["sbom", "--target", "not-a-triple"], "not-a-triple"),
        (&["sbom", "-p", "nope"], "members: app, helper"),
        (&["sbom", "--sbom-format", "yaml"], "yaml"),
    ];
    for (args, needle) in cases {
        let before = tree(f.project.path());
        let out = slsa(
            &f.env,
            f.project.path(),
            &[args, &["-o", "out.json"]].concat(),
        )
        .assert_code(2);
        assert!(out.stderr.contains(needle), "{args:?}: {}", out.stderr);
        assert_eq!(tree(f.project.path()), before, "{args:?}");
    }
    // A stale lock: the SBOM would not describe a locked build.
    let manifest = f
        .project
        .read("Cargo.toml")
        .replace("lib-a = \"1\"", "lib-a = \"1\"\ndevdep2 = \"1\"");
    f.env
        .registry()
        .publish(CrateBuilder::new("devdep2", "1.0.0"));
    f.project.write("Cargo.toml", manifest);
    let out = slsa(&f.env, f.project.path(), &["sbom", "-o", "out.json"]).assert_code(2);
    assert!(out.stderr.contains("Cargo.lock"), "{}", out.stderr);
    assert!(!f.project.exists("out.json"));
}

fn is_uuid_urn(s: &str) -> bool {
    let Some(u) = s.strip_prefix("urn:uuid:") else {
        return false;
    };
    let parts: Vec<&str> = u.split('-').collect();
    parts.iter().map(|p| p.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
        && u.bytes()
            .all(|b| b == b'-' || b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && parts[2].starts_with(|c: char| ('1'..='5').contains(&c))
        && parts[3].starts_with(['8', '9', 'a', 'b'])
}

#[cfg(unix)]
#[test]
fn a_device_is_written_through_not_replaced() {
    use std::os::unix::fs::FileTypeExt;
    let f = fixture();
    slsa(&f.env, f.project.path(), &["sbom", "-o", "/dev/null"]).assert_success();
    let meta = std::fs::metadata("/dev/null").expect("/dev/null");
    assert!(
        meta.file_type().is_char_device(),
        "/dev/null must stay a device"
    );
}
