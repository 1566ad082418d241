//! `AdvisoryDb`: a small RustSec advisory database on disk, in the real layout
//! (`crates/<name>/RUSTSEC-YYYY-NNNN.md`, a TOML front matter block then markdown), for
//! `audit` and `check` tests. Nothing is fetched: point `--db` at [`AdvisoryDb::path`], or
//! [`AdvisoryDb::install`] it as `$CARGO_HOME/advisory-db`.

use std::fs;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

use crate::krate::toml_str;

/// One advisory, written as rustsec expects it.
#[derive(Clone, Debug)]
pub struct Advisory {
    id: String,
    package: String,
    title: String,
    date: String,
    aliases: Vec<String>,
    patched: Vec<String>,
    unaffected: Vec<String>,
    informational: Option<String>,
    withdrawn: Option<String>,
    cvss: Option<String>,
}

impl Advisory {
    /// An advisory `id` (e.g. `RUSTSEC-2024-9001`) about crate `package`, affecting every
    /// version until [`Advisory::patched`] says otherwise.
    pub fn new(id: &str, package: &str) -> Advisory {
        Advisory {
            id: id.to_owned(),
            package: package.to_owned(),
            title: format!("{package} has a problem"),
            date: "2024-01-15".to_owned(),
            aliases: Vec::new(),
            patched: Vec::new(),
            unaffected: Vec::new(),
            informational: None,
            withdrawn: None,
            cvss: None,
        }
    }

    pub fn title(mut self, title: &str) -> Advisory {
        self.title = title.to_owned();
        self
    }

    /// A CVE/GHSA alias.
    pub fn alias(mut self, alias: &str) -> Advisory {
        self.aliases.push(alias.to_owned());
        self
    }

    /// A patched-version requirement, e.g. `>= 1.2.0`.
    pub fn patched(mut self, req: &str) -> Advisory {
        self.patched.push(req.to_owned());
        self
    }

    /// An unaffected-version requirement, e.g. `< 0.5.0`.
    pub fn unaffected(mut self, req: &str) -> Advisory {
        self.unaffected.push(req.to_owned());
        self
    }

    /// `unmaintained`, `unsound` or `notice`.
    pub fn informational(mut self, kind: &str) -> Advisory {
        self.informational = Some(kind.to_owned());
        self
    }

    /// Withdrawn on this date (`YYYY-MM-DD`).
    pub fn withdrawn(mut self, date: &str) -> Advisory {
        self.withdrawn = Some(date.to_owned());
        self
    }

    /// A CVSS v3.1 vector.
    pub fn cvss(mut self, vector: &str) -> Advisory {
        self.cvss = Some(vector.to_owned());
        self
    }

    /// The file's text.
    pub fn render(&self) -> String {
        let list = |v: &[String]| {
            let items: Vec<String> = v.iter().map(|s| toml_str(s)).collect();
            format!("[{}]", items.join(", "))
        };
        let mut s = String::from("```toml\n[advisory]\n");
        s += &format!("id = {}\n", toml_str(&self.id));
        s += &format!("package = {}\n", toml_str(&self.package));
        s += &format!("date = {}\n", toml_str(&self.date));
        s += &format!(
            "url = {}\n",
            toml_str(&format!("https://example.invalid/{}", self.id))
        );
        if !self.aliases.is_empty() {
            s += &format!("aliases = {}\n", list(&self.aliases));
        }
        if let Some(kind) = &self.informational {
            s += &format!("informational = {}\n", toml_str(kind));
        }
        if let Some(date) = &self.withdrawn {
            s += &format!("withdrawn = {}\n", toml_str(date));
        }
        if let Some(v) = &self.cvss {
            s += &format!("cvss = {}\n", toml_str(v));
        }
        s += "\n[versions]\n";
        s += &format!("patched = {}\n", list(&self.patched));
        if !self.unaffected.is_empty() {
            s += &format!("unaffected = {}\n", list(&self.unaffected));
        }
        s += "```\n\n";
        s += &format!("# {}\n\nA fixture advisory.\n", self.title);
        s
    }
}

/// A database directory, removed when dropped.
pub struct AdvisoryDb {
    _dir: TempDir,
    root: PathBuf,
}

impl AdvisoryDb {
    /// A database holding `advisories`.
    pub fn new(advisories: &[Advisory]) -> AdvisoryDb {
        let dir = tempfile::Builder::new()
            .prefix("slsa-advisory-db-")
            .tempdir()
            .expect("create a temp dir for the advisory db");
        let root = dir.path().join("advisory-db");
        fs::create_dir_all(root.join("crates")).expect("create crates/");
        let db = AdvisoryDb { _dir: dir, root };
        for a in advisories {
            db.add(a);
        }
        db
    }

    /// Add (or overwrite) one advisory.
    pub fn add(&self, a: &Advisory) {
        let dir = self.root.join("crates").join(&a.package);
        fs::create_dir_all(&dir).expect("create the crate's advisory dir");
        fs::write(dir.join(format!("{}.md", a.id)), a.render()).expect("write the advisory");
    }

    /// Write a raw file at `rel` (for malformed-input tests).
    pub fn write_raw(&self, rel: &str, contents: &str) {
        let path = self.root.join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("create parent dir");
        }
        fs::write(path, contents).expect("write raw file");
    }

    /// The directory to pass as `--db`.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// Copy the database to `cargo_home/advisory-db`, where `audit --no-fetch` looks.
    pub fn install(&self, cargo_home: &Path) {
        let dest = cargo_home.join("advisory-db");
        copy_dir(&self.root, &dest);
    }
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("create destination dir");
    for entry in fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("dir entry");
        let dest = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            fs::copy(entry.path(), dest).expect("copy file");
        }
    }
}
