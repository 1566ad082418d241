//! The normalised manifest against what cargo vendor generates.

use super::*;

#[test]
fn paths_normalise_and_diff_like_cargo() {
    assert_eq!(
        normalize_path(Path::new("./src/../src/lib.rs")),
        PathBuf::from("src/lib.rs")
    );
    assert_eq!(normalize_path(Path::new("../a")), PathBuf::from("../a"));
    assert_eq!(
        normalize_path(Path::new("../../a/./b/..")),
        PathBuf::from("../../a")
    );
    assert_eq!(
        diff_paths(Path::new("/r/README.md"), Path::new("/r/crates/a")),
        Some(PathBuf::from("../../README.md"))
    );
    assert_eq!(
        diff_paths(Path::new("/r/crates/b"), Path::new("/r/crates/a")),
        Some(PathBuf::from("../b"))
    );
}

#[test]
fn a_plain_package_gets_cargo_s_explicit_form() -> Result<()> {
    let dir = tempfile::tempdir()?;
    std::fs::create_dir_all(dir.path().join("src/bin"))?;
    std::fs::write(
        dir.path().join("Cargo.toml"),
        "[package]\nname = \"my-crate\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nserde = \"1\"\n",
    )?;
    for f in ["src/lib.rs", "src/main.rs", "src/bin/zz.rs", "README.md"] {
        std::fs::write(dir.path().join(f), "")?;
    }
    let packaged: Vec<PathBuf> = ["Cargo.toml", "src/lib.rs", "src/main.rs", "README.md"]
        .into_iter()
        .map(PathBuf::from)
        .collect();
    let out = vendored_manifest(dir.path(), dir.path(), &packaged)?;
    assert!(out.starts_with(PREAMBLE));
    assert!(
        out.contains("[lib]\nname = \"my_crate\"\npath = \"src/lib.rs\"\n"),
        "{out}"
    );
    // src/bin/zz.rs is not a packaged file, so its target is dropped.
    assert!(!out.contains("zz"), "{out}");
    assert!(out.contains("readme = \"README.md\""), "{out}");
    assert!(out.contains("[dependencies]\nserde = \"1\"\n"), "{out}");
    Ok(())
}

#[test]
fn inherited_fields_come_from_the_repository_workspace() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let root = dir.path();
    std::fs::create_dir_all(root.join("crates/a/src"))?;
    std::fs::write(
        root.join("Cargo.toml"),
        "[workspace]\nmembers = [\"crates/a\"]\n[workspace.package]\nversion = \"1.2.3\"\nlicense-file = \"LICENSE\"\n[workspace.dependencies]\nb = { path = \"crates/b\", version = \"0.1\" }\n",
    )?;
    std::fs::write(
        root.join("crates/a/Cargo.toml"),
        "[package]\nname = \"a\"\nversion.workspace = true\nlicense-file.workspace = true\n[dependencies]\nb = { workspace = true, optional = true }\n",
    )?;
    std::fs::write(root.join("crates/a/src/lib.rs"), "")?;
    let out = vendored_manifest(&root.join("crates/a"), root, &[PathBuf::from("src/lib.rs")])?;
    assert!(out.contains("version = \"1.2.3\""), "{out}");
    assert!(out.contains("license-file = \"../../LICENSE\""), "{out}");
    assert!(out.contains("path = \"../b\""), "{out}");
    assert!(out.contains("optional = true"), "{out}");
    // No workspace to inherit from: an error, not a guess.
    std::fs::write(root.join("Cargo.toml"), "[package]\nname = \"r\"\n")?;
    let err = vendored_manifest(&root.join("crates/a"), root, &[])
        .expect_err("no workspace to inherit from");
    assert!(
        format!("{err:#}").contains("failed to find a workspace root"),
        "{err:#}"
    );
    Ok(())
}
