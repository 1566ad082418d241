//! `Project` (a temp workspace written from in-memory files) and `CargoHome`
//! (a temp `CARGO_HOME` whose only configuration points crates-io at the
//! kit's registry).

use std::fs;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

use crate::krate::toml_str;
use crate::lockfile::{self, LockedPackage};
use crate::registry::Registry;

/// Files to write; `build` creates the directory and writes them.
#[derive(Clone, Debug, Default)]
pub struct ProjectBuilder {
    files: Vec<(String, Vec<u8>)>,
}

impl ProjectBuilder {
    /// `rel` may contain `/`; parents are created. Later calls for the same
    /// path win.
    pub fn file(mut self, rel: &str, contents: impl AsRef<[u8]>) -> ProjectBuilder {
        self.files
            .push((rel.to_owned(), contents.as_ref().to_vec()));
        self
    }

    pub fn build(self) -> Project {
        let dir = tempfile::Builder::new()
            .prefix("slsa-project-")
            .tempdir()
            .expect("create a temp dir for the project");
        // Canonical so paths compare equal to what cargo reports (temp dirs
        // sit behind symlinks on some systems).
        let root = dir
            .path()
            .canonicalize()
            .expect("canonicalize the project dir");
        let project = Project { _dir: dir, root };
        for (rel, contents) in self.files {
            project.write(&rel, contents);
        }
        project
    }
}

/// A workspace on disk, removed when dropped.
pub struct Project {
    _dir: TempDir,
    root: PathBuf,
}

impl Project {
    // Returns the builder rather than `Self`: a project only exists once its
    // files are written.
    #[allow(clippy::new_ret_no_self)]
    pub fn new() -> ProjectBuilder {
        ProjectBuilder::default()
    }

    pub fn path(&self) -> &Path {
        &self.root
    }

    pub fn root(&self) -> PathBuf {
        self.root.clone()
    }

    pub fn join(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    pub fn read(&self, rel: &str) -> String {
        let path = self.join(rel);
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
    }

    pub fn write(&self, rel: &str, contents: impl AsRef<[u8]>) {
        let path = self.join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)
                .unwrap_or_else(|e| panic!("create {}: {e}", parent.display()));
        }
        fs::write(&path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }

    pub fn exists(&self, rel: &str) -> bool {
        self.join(rel).exists()
    }

    pub fn remove(&self, rel: &str) {
        let path = self.join(rel);
        let result = if path.is_dir() {
            fs::remove_dir_all(&path)
        } else {
            fs::remove_file(&path)
        };
        result.unwrap_or_else(|e| panic!("remove {}: {e}", path.display()));
    }

    /// The `[[package]]` entries of `Cargo.lock`.
    pub fn lock(&self) -> Vec<LockedPackage> {
        lockfile::parse(&self.read("Cargo.lock"))
    }
}

/// A one-package `Cargo.toml` (edition 2021, with its own empty
/// `[workspace]` so no enclosing directory can claim it). A dependency value
/// starting with `{` is written as an inline table verbatim; anything else is
/// a version requirement.
pub fn basic_manifest(name: &str, deps: &[(&str, &str)]) -> String {
    let mut out = format!(
        "[package]\nname = {}\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[workspace]\n",
        toml_str(name)
    );
    if !deps.is_empty() {
        out.push_str("\n[dependencies]\n");
        for (dep, value) in deps {
            let value = if value.trim_start().starts_with('{') {
                (*value).to_owned()
            } else {
                toml_str(value)
            };
            out.push_str(&format!("{} = {value}\n", toml_str(dep)));
        }
    }
    out
}

/// A `CARGO_HOME` for one test. Setting `CARGO_HOME` is what keeps
/// `~/.cargo` (config, credentials, caches) out of the picture.
pub struct CargoHome {
    _dir: TempDir,
    root: PathBuf,
}

impl CargoHome {
    pub fn new(registry: &Registry) -> CargoHome {
        let dir = tempfile::Builder::new()
            .prefix("slsa-cargo-home-")
            .tempdir()
            .expect("create a temp CARGO_HOME");
        let root = dir.path().canonicalize().expect("canonicalize CARGO_HOME");
        let config = format!(
            "[source.crates-io]\nreplace-with = \"kit\"\n\n\
             [source.kit]\nregistry = {}\n\n\
             [net]\nretry = 0\n\n\
             [http]\ntimeout = 10\n",
            toml_str(&registry.index_url())
        );
        fs::write(root.join("config.toml"), config).expect("write CARGO_HOME/config.toml");
        CargoHome { _dir: dir, root }
    }

    pub fn path(&self) -> &Path {
        &self.root
    }

    pub fn config_path(&self) -> PathBuf {
        self.root.join("config.toml")
    }

    /// For tests that need one more setting; TOML tables may be appended
    /// but not reopened, so add only tables the base config lacks.
    pub fn append_config(&self, toml: &str) {
        let path = self.config_path();
        let mut config = fs::read_to_string(&path).expect("read CARGO_HOME/config.toml");
        config.push('\n');
        config.push_str(toml);
        fs::write(&path, config).expect("write CARGO_HOME/config.toml");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_files_round_trip() {
        let project = Project::new()
            .file("Cargo.toml", basic_manifest("p", &[("a", "1")]))
            .file("src/deep/mod.rs", "// x")
            .build();
        assert!(project.exists("src/deep/mod.rs"));
        assert_eq!(project.read("src/deep/mod.rs"), "// x");
        project.write("new/file.txt", "y");
        assert_eq!(project.read("new/file.txt"), "y");
        project.remove("new");
        assert!(!project.exists("new/file.txt"));
        assert!(project.path().is_absolute());
        let manifest = project.read("Cargo.toml");
        assert!(manifest.contains("\"a\" = \"1\""), "{manifest}");
        assert!(manifest.contains("[workspace]"), "{manifest}");
    }

    #[test]
    fn inline_tables_pass_through() {
        let manifest = basic_manifest("p", &[("g", "{ git = \"file:///x\", branch = \"main\" }")]);
        assert!(
            manifest.contains("\"g\" = { git = \"file:///x\", branch = \"main\" }"),
            "{manifest}"
        );
    }

    #[test]
    fn cargo_home_replaces_crates_io_only() {
        let registry = Registry::start();
        let home = CargoHome::new(&registry);
        let config = fs::read_to_string(home.config_path()).expect("config written");
        assert!(config.contains("replace-with = \"kit\""), "{config}");
        assert!(config.contains(&registry.index_url()), "{config}");
        assert!(config.contains("retry = 0"), "{config}");
        assert!(config.contains("timeout = 10"), "{config}");
        home.append_config("[term]\nverbose = true\n");
        assert!(
            fs::read_to_string(home.config_path())
                .expect("config written")
                .ends_with("[term]\nverbose = true\n")
        );
    }
}
