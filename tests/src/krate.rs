//! `CrateBuilder`: a registry package described in code, packed into a
//! deterministic `.crate` (gzip tar) and rendered as cargo's index line.
//!
//! The generated `Cargo.toml` and the index line come from the same list of
//! dependencies and features, so cargo's resolver (which reads the index) and
//! its compiler driver (which reads the unpacked manifest) agree. Hostile
//! archives are crafted with [`CrateBuilder::raw_entry`], which writes tar
//! headers byte for byte, bypassing the `tar` crate's path checks.

use std::collections::BTreeMap;
use std::io::{self, Write};

use flate2::{Compression, GzBuilder};
use serde_json::{Map, Value, json};
use tar::{EntryType, Header};

/// mtime of every entry: the constant `cargo package` uses, so archives built
/// from the same description are byte-identical across runs and machines.
pub const CRATE_MTIME: u64 = 1_153_704_088;

const FILE_MODE: u32 = 0o644;
const EXEC_MODE: u32 = 0o755;

/// Which table of `Cargo.toml` a dependency lives in; also the index `kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DepKind {
    Normal,
    Dev,
    Build,
}

impl DepKind {
    fn index_kind(self) -> &'static str {
        match self {
            DepKind::Normal => "normal",
            DepKind::Dev => "dev",
            DepKind::Build => "build",
        }
    }

    fn table(self) -> &'static str {
        match self {
            DepKind::Normal => "dependencies",
            DepKind::Dev => "dev-dependencies",
            DepKind::Build => "build-dependencies",
        }
    }
}

/// One dependency of a published crate. The `CrateBuilder` shorthands cover
/// the common shapes; build a `Dep` directly for the rest (features,
/// `default-features = false`, another registry).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dep {
    /// The key in `Cargo.toml` and the index `name`: the rename if renamed.
    pub name: String,
    /// The real package name when renamed (index `package`).
    pub package: Option<String>,
    pub req: String,
    pub kind: DepKind,
    /// A `cfg(...)` expression or a target triple.
    pub target: Option<String>,
    pub optional: bool,
    pub default_features: bool,
    pub features: Vec<String>,
    /// Index URL of another registry; `None` means the same registry.
    pub registry: Option<String>,
}

impl Dep {
    pub fn new(name: &str, req: &str) -> Dep {
        Dep {
            name: name.to_owned(),
            package: None,
            req: req.to_owned(),
            kind: DepKind::Normal,
            target: None,
            optional: false,
            default_features: true,
            features: Vec::new(),
            registry: None,
        }
    }

    pub fn kind(mut self, kind: DepKind) -> Dep {
        self.kind = kind;
        self
    }

    pub fn target(mut self, cfg_or_triple: &str) -> Dep {
        self.target = Some(cfg_or_triple.to_owned());
        self
    }

    /// Keeps `name` as the rename and records `package` as the real name.
    pub fn package(mut self, package: &str) -> Dep {
        self.package = Some(package.to_owned());
        self
    }

    pub fn optional(mut self) -> Dep {
        self.optional = true;
        self
    }

    pub fn no_default_features(mut self) -> Dep {
        self.default_features = false;
        self
    }

    pub fn features(mut self, features: &[&str]) -> Dep {
        self.features = features.iter().map(|f| (*f).to_owned()).collect();
        self
    }

    pub fn registry(mut self, index_url: &str) -> Dep {
        self.registry = Some(index_url.to_owned());
        self
    }

    fn manifest_value(&self) -> String {
        let mut parts = vec![format!("version = {}", toml_str(&self.req))];
        if let Some(package) = &self.package {
            parts.push(format!("package = {}", toml_str(package)));
        }
        if self.optional {
            parts.push("optional = true".to_owned());
        }
        if !self.default_features {
            parts.push("default-features = false".to_owned());
        }
        if !self.features.is_empty() {
            parts.push(format!("features = {}", toml_array(&self.features)));
        }
        if let Some(registry) = &self.registry {
            parts.push(format!("registry-index = {}", toml_str(registry)));
        }
        format!("{{ {} }}", parts.join(", "))
    }

    fn index_value(&self) -> Value {
        let mut dep = json!({
            "name": self.name,
            "req": self.req,
            "features": self.features,
            "optional": self.optional,
            "default_features": self.default_features,
            "target": self.target,
            "kind": self.kind.index_kind(),
        });
        if let Some(registry) = &self.registry {
            dep["registry"] = json!(registry);
        }
        if let Some(package) = &self.package {
            dep["package"] = json!(package);
        }
        dep
    }
}

/// A tar entry written verbatim by [`CrateBuilder::raw_entry`], for archives
/// that a well-behaved `cargo package` would never produce.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RawEntry {
    File {
        bytes: Vec<u8>,
        mode: u32,
    },
    Symlink {
        target: String,
    },
    Hardlink {
        target: String,
    },
    Dir,
    /// Major 1, minor 3: `/dev/null`'s numbers, harmless if ever created.
    CharDevice,
}

/// A package to publish. Consuming builder: `CrateBuilder::new("a", "1.0.0")
/// .dep("b", "1").build()`.
#[derive(Clone, Debug)]
pub struct CrateBuilder {
    name: String,
    version: String,
    edition: String,
    deps: Vec<Dep>,
    features: BTreeMap<String, Vec<String>>,
    rust_version: Option<String>,
    pubtime: Option<String>,
    yanked: bool,
    files: BTreeMap<String, (Vec<u8>, u32)>,
    raw: Vec<(Vec<u8>, RawEntry)>,
    index_overrides: Map<String, Value>,
    index_removals: Vec<String>,
}

impl CrateBuilder {
    pub fn new(name: &str, version: &str) -> CrateBuilder {
        CrateBuilder {
            name: name.to_owned(),
            version: version.to_owned(),
            edition: "2021".to_owned(),
            deps: Vec::new(),
            features: BTreeMap::new(),
            rust_version: None,
            pubtime: None,
            yanked: false,
            files: BTreeMap::new(),
            raw: Vec::new(),
            index_overrides: Map::new(),
            index_removals: Vec::new(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn is_yanked(&self) -> bool {
        self.yanked
    }

    /// `NAME-VERSION`, the directory every well-formed entry lives under;
    /// raw entries must spell it themselves.
    pub fn root_dir(&self) -> String {
        format!("{}-{}", self.name, self.version)
    }

    pub fn dep(self, name: &str, req: &str) -> CrateBuilder {
        self.dependency(Dep::new(name, req))
    }

    pub fn dev_dep(self, name: &str, req: &str) -> CrateBuilder {
        self.dependency(Dep::new(name, req).kind(DepKind::Dev))
    }

    pub fn build_dep(self, name: &str, req: &str) -> CrateBuilder {
        self.dependency(Dep::new(name, req).kind(DepKind::Build))
    }

    pub fn target_dep(self, cfg_or_triple: &str, name: &str, req: &str) -> CrateBuilder {
        self.dependency(Dep::new(name, req).target(cfg_or_triple))
    }

    pub fn renamed_dep(self, rename: &str, package: &str, req: &str) -> CrateBuilder {
        self.dependency(Dep::new(rename, req).package(package))
    }

    pub fn optional_dep(self, name: &str, req: &str) -> CrateBuilder {
        self.dependency(Dep::new(name, req).optional())
    }

    pub fn dependency(mut self, dep: Dep) -> CrateBuilder {
        self.deps.push(dep);
        self
    }

    /// Values using `dep:` or `?/` go to the index's `features2` (with
    /// `v: 2`), as crates.io does, so older cargos skip rather than misread.
    pub fn feature(mut self, name: &str, values: &[&str]) -> CrateBuilder {
        self.features.insert(
            name.to_owned(),
            values.iter().map(|v| (*v).to_owned()).collect(),
        );
        self
    }

    pub fn rust_version(mut self, rust_version: &str) -> CrateBuilder {
        self.rust_version = Some(rust_version.to_owned());
        self
    }

    /// Cargo rejects the whole index line unless the time is exactly
    /// `YYYY-MM-DDTHH:MM:SSZ`, so anything else is a test bug and panics;
    /// use [`CrateBuilder::index_field`] to serve a malformed one on purpose.
    pub fn pubtime(mut self, rfc3339_utc: &str) -> CrateBuilder {
        assert!(
            is_pubtime(rfc3339_utc),
            "pubtime must be YYYY-MM-DDTHH:MM:SSZ, got {rfc3339_utc:?}"
        );
        self.pubtime = Some(rfc3339_utc.to_owned());
        self
    }

    pub fn yanked(mut self, yanked: bool) -> CrateBuilder {
        self.yanked = yanked;
        self
    }

    pub fn edition(mut self, edition: &str) -> CrateBuilder {
        self.edition = edition.to_owned();
        self
    }

    /// A regular file (mode 0o644) under `NAME-VERSION/`. `Cargo.toml` and
    /// `src/lib.rs` given here replace the generated ones.
    pub fn file(mut self, path: &str, contents: impl AsRef<[u8]>) -> CrateBuilder {
        self.files
            .insert(path.to_owned(), (contents.as_ref().to_vec(), FILE_MODE));
        self
    }

    /// Like [`CrateBuilder::file`] with mode 0o755.
    pub fn executable(mut self, path: &str, contents: impl AsRef<[u8]>) -> CrateBuilder {
        self.files
            .insert(path.to_owned(), (contents.as_ref().to_vec(), EXEC_MODE));
        self
    }

    /// Appends an entry after the regular files, in call order, with
    /// `path_in_tar` taken verbatim (no `NAME-VERSION/` prefix, `..` and
    /// absolute paths kept; names over 100 bytes use GNU long-name records).
    pub fn raw_entry(mut self, path_in_tar: impl Into<Vec<u8>>, entry: RawEntry) -> CrateBuilder {
        self.raw.push((path_in_tar.into(), entry));
        self
    }

    /// Sets (or replaces) a field of the index line after it is generated,
    /// for malformed-index scenarios.
    pub fn index_field(mut self, key: &str, value: Value) -> CrateBuilder {
        self.index_removals.retain(|k| k != key);
        self.index_overrides.insert(key.to_owned(), value);
        self
    }

    /// Drops a field from the generated index line.
    pub fn without_index_field(mut self, key: &str) -> CrateBuilder {
        self.index_overrides.remove(key);
        self.index_removals.push(key.to_owned());
        self
    }

    /// The `Cargo.toml` packed into the archive unless a file overrides it.
    pub fn manifest(&self) -> String {
        let mut out = String::from("[package]\n");
        out.push_str(&format!("name = {}\n", toml_str(&self.name)));
        out.push_str(&format!("version = {}\n", toml_str(&self.version)));
        out.push_str(&format!("edition = {}\n", toml_str(&self.edition)));
        if let Some(rv) = &self.rust_version {
            out.push_str(&format!("rust-version = {}\n", toml_str(rv)));
        }
        out.push_str("description = \"slsa-tests fixture crate\"\n");
        out.push_str("license = \"MIT OR Apache-2.0\"\n");

        let mut tables: BTreeMap<(Option<&str>, DepKind), Vec<&Dep>> = BTreeMap::new();
        for dep in &self.deps {
            tables
                .entry((dep.target.as_deref(), dep.kind))
                .or_default()
                .push(dep);
        }
        for ((target, kind), deps) in tables {
            match target {
                Some(target) => out.push_str(&format!(
                    "\n[target.{}.{}]\n",
                    toml_str(target),
                    kind.table()
                )),
                None => out.push_str(&format!("\n[{}]\n", kind.table())),
            }
            for dep in deps {
                out.push_str(&format!(
                    "{} = {}\n",
                    toml_str(&dep.name),
                    dep.manifest_value()
                ));
            }
        }

        if !self.features.is_empty() {
            out.push_str("\n[features]\n");
            for (name, values) in &self.features {
                out.push_str(&format!("{} = {}\n", toml_str(name), toml_array(values)));
            }
        }
        out
    }

    /// The `.crate` bytes: gzip (no name, mtime 0) over a GNU tar whose
    /// regular entries are sorted, owned by 0:0, stamped [`CRATE_MTIME`].
    pub fn build(&self) -> Vec<u8> {
        self.try_build()
            .expect("packing an in-memory tarball only fails on a kit bug")
    }

    fn try_build(&self) -> io::Result<Vec<u8>> {
        let root = self.root_dir();
        let mut entries = self.files.clone();
        entries
            .entry("Cargo.toml".to_owned())
            .or_insert_with(|| (self.manifest().into_bytes(), FILE_MODE));
        entries
            .entry("src/lib.rs".to_owned())
            .or_insert_with(|| (Vec::new(), FILE_MODE));

        let gz = GzBuilder::new()
            .mtime(0)
            .write(Vec::new(), Compression::default());
        let mut archive = tar::Builder::new(gz);
        for (rel, (bytes, mode)) in &entries {
            let mut header = base_header(EntryType::Regular, *mode);
            header.set_size(bytes.len() as u64);
            archive.append_data(&mut header, format!("{root}/{rel}"), bytes.as_slice())?;
        }
        for (path, entry) in &self.raw {
            append_raw(&mut archive, path, entry)?;
        }
        archive.into_inner()?.finish()
    }

    /// The index line cargo would read for this version, given the `.crate`
    /// checksum.
    pub fn index_entry(&self, cksum: &str) -> Value {
        let (features2, features): (BTreeMap<_, _>, BTreeMap<_, _>) = self
            .features
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .partition(|(_, values)| {
                values
                    .iter()
                    .any(|v| v.starts_with("dep:") || v.contains("?/"))
            });
        let deps: Vec<Value> = self.deps.iter().map(Dep::index_value).collect();
        let mut line = json!({
            "name": self.name,
            "vers": self.version,
            "deps": deps,
            "cksum": cksum,
            "features": features,
            "yanked": self.yanked,
        });
        if !features2.is_empty() {
            line["features2"] = json!(features2);
            line["v"] = json!(2);
        }
        if let Some(rv) = &self.rust_version {
            line["rust_version"] = json!(rv);
        }
        if let Some(pubtime) = &self.pubtime {
            line["pubtime"] = json!(pubtime);
        }
        if let Value::Object(map) = &mut line {
            for key in &self.index_removals {
                map.remove(key);
            }
            for (key, value) in &self.index_overrides {
                map.insert(key.clone(), value.clone());
            }
        }
        line
    }
}

fn base_header(entry_type: EntryType, mode: u32) -> Header {
    let mut header = Header::new_gnu();
    header.set_entry_type(entry_type);
    header.set_mode(mode);
    header.set_mtime(CRATE_MTIME);
    header.set_uid(0);
    header.set_gid(0);
    header.set_size(0);
    header
}

fn append_raw<W: Write>(
    archive: &mut tar::Builder<W>,
    path: &[u8],
    entry: &RawEntry,
) -> io::Result<()> {
    let (entry_type, mode, data, link): (EntryType, u32, &[u8], Option<&[u8]>) = match entry {
        RawEntry::File { bytes, mode } => (EntryType::Regular, *mode, bytes, None),
        RawEntry::Symlink { target } => (EntryType::Symlink, 0o777, &[], Some(target.as_bytes())),
        RawEntry::Hardlink { target } => (EntryType::Link, FILE_MODE, &[], Some(target.as_bytes())),
        RawEntry::Dir => (EntryType::Directory, EXEC_MODE, &[], None),
        RawEntry::CharDevice => (EntryType::Char, 0o666, &[], None),
    };
    let mut header = base_header(entry_type, mode);
    if matches!(entry, RawEntry::CharDevice) {
        header.set_device_major(1)?;
        header.set_device_minor(3)?;
    }
    if let Some(link) = link {
        if link.len() > 100 {
            append_long_record(archive, EntryType::GNULongLink, link)?;
        }
        copy_field(&mut header.as_old_mut().linkname, link);
    }
    if path.len() > 100 {
        append_long_record(archive, EntryType::GNULongName, path)?;
    }
    copy_field(&mut header.as_old_mut().name, path);
    header.set_size(data.len() as u64);
    header.set_cksum();
    archive.append(&header, data)
}

/// GNU `././@LongLink` record carrying a name or link target that does not
/// fit the 100-byte header field; readers apply it to the next header.
fn append_long_record<W: Write>(
    archive: &mut tar::Builder<W>,
    kind: EntryType,
    bytes: &[u8],
) -> io::Result<()> {
    let mut header = base_header(kind, FILE_MODE);
    header.set_mtime(0);
    copy_field(&mut header.as_old_mut().name, b"././@LongLink");
    let mut data = bytes.to_vec();
    data.push(0);
    header.set_size(data.len() as u64);
    header.set_cksum();
    archive.append(&header, data.as_slice())
}

/// Truncates to the field: the long-name record, when needed, carries the
/// full value and readers prefer it.
fn copy_field(field: &mut [u8; 100], bytes: &[u8]) {
    field.fill(0);
    let n = bytes.len().min(field.len());
    field[..n].copy_from_slice(&bytes[..n]);
}

fn is_pubtime(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 20
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

/// A TOML basic string; kept local because the kit has no TOML dependency.
pub(crate) fn toml_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn toml_array(values: &[String]) -> String {
    let items: Vec<String> = values.iter().map(|v| toml_str(v)).collect();
    format!("[{}]", items.join(", "))
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use flate2::read::GzDecoder;

    use super::*;

    struct Seen {
        path: Vec<u8>,
        kind: EntryType,
        mode: u32,
        mtime: u64,
        uid: u64,
        link: Option<Vec<u8>>,
        data: Vec<u8>,
    }

    fn entries(crate_bytes: &[u8]) -> Vec<Seen> {
        let mut archive = tar::Archive::new(GzDecoder::new(crate_bytes));
        let mut seen = Vec::new();
        for entry in archive.entries().expect("readable archive") {
            let mut entry = entry.expect("readable entry");
            let mut data = Vec::new();
            entry.read_to_end(&mut data).expect("readable data");
            let header = entry.header();
            seen.push(Seen {
                path: entry.path_bytes().into_owned(),
                kind: header.entry_type(),
                mode: header.mode().expect("mode"),
                mtime: header.mtime().expect("mtime"),
                uid: header.uid().expect("uid"),
                link: entry.link_name_bytes().map(|l| l.into_owned()),
                data,
            });
        }
        seen
    }

    #[test]
    fn archive_is_deterministic_sorted_and_normalised() {
        let krate = CrateBuilder::new("demo", "0.1.0")
            .file("src/z.rs", "// z")
            .executable("bin/run.sh", "#!/bin/sh\n")
            .file("README.md", "hi");
        let first = krate.build();
        assert_eq!(first, krate.clone().build(), "same description, same bytes");

        let seen = entries(&first);
        let paths: Vec<String> = seen
            .iter()
            .map(|e| String::from_utf8_lossy(&e.path).into_owned())
            .collect();
        assert_eq!(
            paths,
            [
                "demo-0.1.0/Cargo.toml",
                "demo-0.1.0/README.md",
                "demo-0.1.0/bin/run.sh",
                "demo-0.1.0/src/lib.rs",
                "demo-0.1.0/src/z.rs",
            ]
        );
        for e in &seen {
            assert_eq!(e.mtime, CRATE_MTIME);
            assert_eq!(e.uid, 0);
            let want = if e.path.ends_with(b"run.sh") {
                0o755
            } else {
                0o644
            };
            assert_eq!(e.mode, want, "{}", String::from_utf8_lossy(&e.path));
        }
        let manifest = String::from_utf8_lossy(&seen[0].data).into_owned();
        assert!(manifest.contains("name = \"demo\""), "{manifest}");
    }

    #[test]
    fn raw_entries_keep_hostile_paths_verbatim() {
        let long = format!("demo-0.1.0/{}/../../escape.txt", "d".repeat(120));
        let long_target = format!("/{}", "t".repeat(150));
        let krate = CrateBuilder::new("demo", "0.1.0")
            .raw_entry(
                "../outside.txt",
                RawEntry::File {
                    bytes: b"pwned".to_vec(),
                    mode: 0o600,
                },
            )
            .raw_entry("/etc/absolute", RawEntry::Dir)
            .raw_entry(
                "demo-0.1.0/link",
                RawEntry::Symlink {
                    target: "/etc/passwd".to_owned(),
                },
            )
            .raw_entry(
                "demo-0.1.0/longlink",
                RawEntry::Symlink {
                    target: long_target.clone(),
                },
            )
            .raw_entry(
                "demo-0.1.0/hard",
                RawEntry::Hardlink {
                    target: "../../etc/shadow".to_owned(),
                },
            )
            .raw_entry("demo-0.1.0/null", RawEntry::CharDevice)
            .raw_entry(
                long.as_str(),
                RawEntry::File {
                    bytes: Vec::new(),
                    mode: 0o644,
                },
            );
        let seen = entries(&krate.build());
        // Generated files come first (Cargo.toml, src/lib.rs), raw ones after.
        let raw = &seen[2..];
        assert_eq!(raw.len(), 7);
        assert_eq!(raw[0].path, b"../outside.txt");
        assert_eq!(raw[0].data, b"pwned");
        assert_eq!(raw[0].mode, 0o600);
        assert_eq!(raw[1].path, b"/etc/absolute");
        assert_eq!(raw[1].kind, EntryType::Directory);
        assert_eq!(raw[2].kind, EntryType::Symlink);
        assert_eq!(raw[2].link.as_deref(), Some(&b"/etc/passwd"[..]));
        assert_eq!(raw[3].link.as_deref(), Some(long_target.as_bytes()));
        assert_eq!(raw[4].kind, EntryType::Link);
        assert_eq!(raw[4].link.as_deref(), Some(&b"../../etc/shadow"[..]));
        assert_eq!(raw[5].kind, EntryType::Char);
        assert_eq!(raw[6].path, long.as_bytes());
    }

    #[test]
    fn index_entry_matches_cargo_schema() {
        let krate = CrateBuilder::new("Kit", "1.0.0")
            .dep("a", "^1")
            .renamed_dep("bee", "real-b", "2")
            .build_dep("cc", "1")
            .dev_dep("d", "1")
            .target_dep("cfg(unix)", "e", "1")
            .optional_dep("opt", "1")
            .feature("plain", &["a/x"])
            .feature("new", &["dep:opt"])
            .rust_version("1.70")
            .pubtime("2024-01-01T00:00:00Z")
            .yanked(true);
        let line = krate.index_entry("abc");
        assert_eq!(line["name"], "Kit");
        assert_eq!(line["vers"], "1.0.0");
        assert_eq!(line["cksum"], "abc");
        assert_eq!(line["yanked"], true);
        assert_eq!(line["rust_version"], "1.70");
        assert_eq!(line["pubtime"], "2024-01-01T00:00:00Z");
        assert_eq!(line["v"], 2);
        assert_eq!(line["features"], json!({"plain": ["a/x"]}));
        assert_eq!(line["features2"], json!({"new": ["dep:opt"]}));
        let deps = line["deps"].as_array().expect("deps array");
        assert_eq!(deps.len(), 6);
        assert_eq!(deps[1]["name"], "bee");
        assert_eq!(deps[1]["package"], "real-b");
        assert_eq!(deps[2]["kind"], "build");
        assert_eq!(deps[3]["kind"], "dev");
        assert_eq!(deps[4]["target"], "cfg(unix)");
        assert_eq!(deps[5]["optional"], true);
        assert_eq!(deps[0]["default_features"], true);
        assert!(deps[0].get("package").is_none());
        assert!(deps[0]["target"].is_null());

        let manifest = krate.manifest();
        assert!(
            manifest.contains("[target.\"cfg(unix)\".dependencies]"),
            "{manifest}"
        );
        assert!(
            manifest.contains("\"bee\" = { version = \"2\", package = \"real-b\" }"),
            "{manifest}"
        );
        assert!(manifest.contains("rust-version = \"1.70\""), "{manifest}");

        let plain = CrateBuilder::new("p", "0.1.0").index_entry("x");
        assert!(plain.get("v").is_none());
        assert!(plain.get("rust_version").is_none());
        assert!(plain.get("pubtime").is_none());

        let bent = CrateBuilder::new("p", "0.1.0")
            .index_field("pubtime", json!("yesterday"))
            .without_index_field("cksum")
            .index_entry("x");
        assert_eq!(bent["pubtime"], "yesterday");
        assert!(bent.get("cksum").is_none());
    }

    #[test]
    #[should_panic(expected = "pubtime must be")]
    fn malformed_pubtime_is_a_test_bug() {
        let _ = CrateBuilder::new("p", "0.1.0").pubtime("2024-01-01 00:00:00");
    }
}
