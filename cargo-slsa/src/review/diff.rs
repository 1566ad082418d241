//! One crate's update, compared: files and lines changed, and the signals the new version
//! brings that the old one did not have.
//!
//! Signals are counted per kind and per thing seen (`process-spawn` of
//! `std::process::Command`) in the old and the new version, in the same kind of code; only
//! what the new version has more of is reported, at its occurrences in added or changed files.
//! A file moved or renamed with the same content therefore brings nothing new. Build-time code
//! is the build script with the modules and files it pulls in, and every source file of a
//! procedural macro; "shipped" code is everything but `tests/`, `benches/` and `examples/`,
//! which dependents never build.

use std::collections::{BTreeMap, BTreeSet};

use super::archive::Files;
use super::codes::ReviewCode;
use super::scan::{Scan, scan};

/// A signal in the new version: code, file inside the crate, 1-based line, what was seen.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Signal {
    pub code: ReviewCode,
    pub file: String,
    pub line: usize,
    pub what: String,
}

impl PartialOrd for ReviewCode {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ReviewCode {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

/// What an update changes in one crate's files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Compared {
    pub files_added: usize,
    pub files_removed: usize,
    pub files_changed: usize,
    pub lines_added: usize,
    pub lines_removed: usize,
    pub signals: Vec<Signal>,
    /// Added or changed `.rs` files syn could not parse (with why); their tokens were scanned.
    pub unparsed: Vec<(String, String)>,
}

/// What the manifest of one version says.
#[derive(Debug, Default)]
struct Shape {
    build_scripts: Vec<String>,
    proc_macro: Option<usize>,
}

fn shape(files: &Files) -> Shape {
    let mut out = Shape::default();
    let Some(text) = files
        .get("Cargo.toml")
        .and_then(|f| std::str::from_utf8(&f.bytes).ok())
    else {
        return out;
    };
    let Ok(doc) = text.parse::<toml_edit::DocumentMut>() else {
        return out;
    };
    let build = doc.get("package").and_then(|p| p.get("build"));
    match build.and_then(|b| b.as_value()) {
        Some(v) if v.as_bool() == Some(false) => {}
        Some(v) if v.as_str().is_some() => {
            out.build_scripts.push(
                v.as_str()
                    .unwrap_or_default()
                    .trim_start_matches("./")
                    .into(),
            );
        }
        Some(v) if v.as_array().is_some() => {
            for s in v
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s.as_str())
            {
                out.build_scripts.push(s.trim_start_matches("./").into());
            }
        }
        _ => {
            let auto = doc
                .get("package")
                .and_then(|p| p.get("autobuild"))
                .and_then(|a| a.as_bool())
                != Some(false);
            if auto && files.contains_key("build.rs") {
                out.build_scripts.push("build.rs".into());
            }
        }
    }
    let lib = doc.get("lib");
    let pm = lib
        .and_then(|l| l.get("proc-macro").or_else(|| l.get("proc_macro")))
        .and_then(|v| v.as_bool())
        == Some(true);
    if pm {
        out.proc_macro = Some(
            text.lines()
                .position(|l| {
                    let l = l.trim_start();
                    l.starts_with("proc-macro") || l.starts_with("proc_macro")
                })
                .map_or(1, |i| i + 1),
        );
    }
    out
}

fn dir_of(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(d, _)| d)
}

fn join(dir: &str, rel: &str) -> String {
    let mut parts: Vec<&str> = if dir.is_empty() {
        Vec::new()
    } else {
        dir.split('/').collect()
    };
    for p in rel.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

/// The build script's files: the script, and the modules and files it pulls in (transitively).
fn build_files(files: &Files, shape: &Shape, scans: &BTreeMap<String, Scan>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut todo: Vec<(String, bool)> = shape
        .build_scripts
        .iter()
        .map(|s| (s.clone(), true))
        .collect();
    while let Some((file, root)) = todo.pop() {
        if out.len() >= 512 || !files.contains_key(&file) || !out.insert(file.clone()) {
            continue;
        }
        let Some(s) = scans.get(&file) else { continue };
        let dir = dir_of(&file);
        let stem = file.rsplit('/').next().unwrap_or_default();
        // `mod x;` in a root or mod.rs file is x.rs beside it; in x.rs it is x/….
        let base = if root || stem == "mod.rs" {
            dir.to_string()
        } else {
            join(dir, stem.trim_end_matches(".rs"))
        };
        for (name, path) in &s.modules {
            match path {
                Some(p) => todo.push((join(dir, p), false)),
                None => {
                    todo.push((join(&base, &format!("{name}.rs")), false));
                    todo.push((join(&base, &format!("{name}/mod.rs")), false));
                }
            }
        }
        for inc in &s.includes {
            if inc.ends_with(".rs") {
                todo.push((join(dir, inc), false));
            }
        }
    }
    out
}

fn shipped(path: &str) -> bool {
    !(path.starts_with("tests/") || path.starts_with("benches/") || path.starts_with("examples/"))
}

/// Which code a signal counts in, for one version.
struct Kinds {
    build_time: BTreeSet<String>,
    build_script: BTreeSet<String>,
}

fn kinds(files: &Files, shape: &Shape, scans: &BTreeMap<String, Scan>) -> Kinds {
    let build_script = build_files(files, shape, scans);
    let mut build_time = build_script.clone();
    if shape.proc_macro.is_some() {
        build_time.extend(scans.keys().filter(|p| shipped(p)).cloned());
    }
    Kinds {
        build_time,
        build_script,
    }
}

fn counts_in(code: ReviewCode, file: &str, kinds: &Kinds, all_code: bool) -> bool {
    match code {
        ReviewCode::ProcessSpawn | ReviewCode::NetworkAccess => {
            kinds.build_time.contains(file) || (all_code && shipped(file))
        }
        ReviewCode::EnvSecrets => kinds.build_time.contains(file),
        _ => shipped(file) || kinds.build_time.contains(file),
    }
}

fn scans(files: &Files) -> BTreeMap<String, Scan> {
    files
        .iter()
        .filter(|(p, _)| p.ends_with(".rs"))
        .filter_map(|(p, f)| Some((p.clone(), scan(std::str::from_utf8(&f.bytes).ok()?))))
        .collect()
}

/// Compare `old` (absent for a crate new to the graph) with `new`.
pub fn compare(old: Option<&Files>, new: &Files, all_code: bool) -> Compared {
    let empty = Files::new();
    let old_files = old.unwrap_or(&empty);
    let mut out = Compared::default();
    // Files and lines.
    for (path, f) in new {
        match old_files.get(path) {
            None => {
                out.files_added += 1;
                out.lines_added += line_count(&f.bytes);
            }
            Some(o) if o.bytes != f.bytes || o.executable != f.executable => {
                out.files_changed += 1;
                let (a, r) = changed_lines(&o.bytes, &f.bytes);
                out.lines_added += a;
                out.lines_removed += r;
            }
            Some(_) => {}
        }
    }
    for (path, f) in old_files {
        if !new.contains_key(path) {
            out.files_removed += 1;
            out.lines_removed += line_count(&f.bytes);
        }
    }
    let touched = |p: &str| {
        old_files
            .get(p)
            .is_none_or(|o| new.get(p).is_some_and(|n| n.bytes != o.bytes))
    };
    // The lines each `.rs` file of the new version gained (every line of a new file).
    let added_lines: BTreeMap<&str, BTreeSet<usize>> = new
        .iter()
        .filter(|(p, _)| p.ends_with(".rs") && touched(p))
        .map(|(p, f)| {
            let old = old_files.get(p).map_or(&[][..], |o| o.bytes.as_slice());
            (p.as_str(), new_lines(old, &f.bytes))
        })
        .collect();
    let is_added = |f: &str, l: usize| added_lines.get(f).is_some_and(|s| s.contains(&l));

    let (old_scans, new_scans) = (scans(old_files), scans(new));
    let (old_shape, new_shape) = (shape(old_files), shape(new));
    let (old_kinds, new_kinds) = (
        kinds(old_files, &old_shape, &old_scans),
        kinds(new, &new_shape, &new_scans),
    );

    // Source signals: what the new version has more of.
    let tally = |scans: &BTreeMap<String, Scan>, kinds: &Kinds| {
        let mut by: BTreeMap<(ReviewCode, String), Vec<(String, usize)>> = BTreeMap::new();
        for (file, s) in scans {
            for h in &s.hits {
                if counts_in(h.code, file, kinds, all_code) {
                    by.entry((h.code, h.what.clone()))
                        .or_default()
                        .push((file.clone(), h.line));
                }
            }
            if shipped(file) || kinds.build_time.contains(file) {
                for l in &s.unsafe_lines {
                    by.entry((ReviewCode::UnsafeAdded, "unsafe".into()))
                        .or_default()
                        .push((file.clone(), *l));
                }
            }
        }
        by
    };
    let (before, after) = (tally(&old_scans, &old_kinds), tally(&new_scans, &new_kinds));
    for ((code, what), mut seen) in after {
        let had = before.get(&(code, what.clone())).map_or(0, Vec::len);
        if seen.len() <= had {
            continue;
        }
        let extra = seen.len() - had;
        // The occurrences on lines this update added come first, then those in files it
        // touched.
        seen.sort_by_key(|(f, l)| (!is_added(f, *l), !touched(f), f.clone(), *l));
        if code == ReviewCode::UnsafeAdded {
            if let Some((file, line)) = seen.first() {
                out.signals.push(Signal {
                    code,
                    file: file.clone(),
                    line: *line,
                    what: format!("{extra} more `unsafe` ({had} → {})", had + extra),
                });
            }
            continue;
        }
        for (file, line) in seen.into_iter().take(extra) {
            out.signals.push(Signal {
                code,
                file,
                line,
                what: what.clone(),
            });
        }
    }

    // The manifest's shape.
    if !new_shape.build_scripts.is_empty() {
        let script = new_shape.build_scripts[0].clone();
        if old_shape.build_scripts.is_empty() {
            out.signals.push(Signal {
                code: ReviewCode::BuildScriptAdded,
                file: script,
                line: 1,
                what: "a build script".into(),
            });
        } else if let Some(f) = new_kinds
            .build_script
            .iter()
            .find(|f| touched(f) || !old_kinds.build_script.contains(*f))
        {
            out.signals.push(Signal {
                code: ReviewCode::BuildScriptChanged,
                file: f.clone(),
                line: 1,
                what: "the build script".into(),
            });
        }
    }
    if let Some(line) = new_shape.proc_macro
        && old_shape.proc_macro.is_none()
    {
        out.signals.push(Signal {
            code: ReviewCode::ProcMacroAdded,
            file: "Cargo.toml".into(),
            line,
            what: "proc-macro = true".into(),
        });
    }

    // Binary files: added paths whose bytes the old version did not have anywhere.
    let old_blobs: BTreeSet<&[u8]> = old_files.values().map(|f| f.bytes.as_slice()).collect();
    for (path, f) in new {
        if old_files.contains_key(path) || old_blobs.contains(f.bytes.as_slice()) {
            continue;
        }
        if let Some(kind) = binary_kind(path, &f.bytes) {
            out.signals.push(Signal {
                code: ReviewCode::BinaryFileAdded,
                file: path.clone(),
                line: 1,
                what: kind,
            });
        }
    }
    for (path, s) in &new_scans {
        if let Some(why) = &s.unparsed
            && touched(path)
        {
            out.unparsed.push((path.clone(), why.clone()));
        }
    }
    out.signals.sort();
    out
}

fn line_count(bytes: &[u8]) -> usize {
    match std::str::from_utf8(bytes) {
        Ok(t) => t.lines().count(),
        Err(_) => 0,
    }
}

/// 1-based numbers of the lines of `new` that `old` does not have there.
fn new_lines(old: &[u8], new: &[u8]) -> BTreeSet<usize> {
    let (Ok(o), Ok(n)) = (std::str::from_utf8(old), std::str::from_utf8(new)) else {
        return BTreeSet::new();
    };
    let diff = similar::TextDiff::from_lines(o, n);
    diff.iter_all_changes()
        .filter(|c| c.tag() == similar::ChangeTag::Insert)
        .filter_map(|c| c.new_index().map(|i| i + 1))
        .collect()
}

fn changed_lines(old: &[u8], new: &[u8]) -> (usize, usize) {
    let (Ok(o), Ok(n)) = (std::str::from_utf8(old), std::str::from_utf8(new)) else {
        return (0, 0);
    };
    let diff = similar::TextDiff::from_lines(o, n);
    let (mut a, mut r) = (0, 0);
    for op in diff.ops() {
        for change in diff.iter_changes(op) {
            match change.tag() {
                similar::ChangeTag::Insert => a += 1,
                similar::ChangeTag::Delete => r += 1,
                similar::ChangeTag::Equal => {}
            }
        }
    }
    (a, r)
}

/// What kind of binary `bytes` is, if it is one a reviewer should see.
pub fn binary_kind(path: &str, bytes: &[u8]) -> Option<String> {
    let starts = |m: &[u8]| bytes.starts_with(m);
    let magic = if starts(b"\x7fELF") {
        Some("an ELF executable or object")
    } else if starts(b"MZ") && bytes.len() > 64 {
        Some("a Windows (PE) executable")
    } else if starts(&[0xcf, 0xfa, 0xed, 0xfe])
        || starts(&[0xce, 0xfa, 0xed, 0xfe])
        || starts(&[0xca, 0xfe, 0xba, 0xbe])
    {
        Some("a Mach-O executable")
    } else if starts(b"!<arch>\n") {
        Some("a static library (ar archive)")
    } else if starts(b"\0asm") {
        Some("a WebAssembly module")
    } else if starts(b"PK\x03\x04") {
        Some("a zip archive")
    } else if starts(&[0x1f, 0x8b]) {
        Some("a gzip archive")
    } else if starts(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Some("an xz archive")
    } else if starts(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Some("a zstd archive")
    } else if bytes.len() > 262 && &bytes[257..262] == b"ustar" {
        Some("a tar archive")
    } else {
        None
    };
    if let Some(m) = magic {
        return Some(m.to_string());
    }
    let ext = path
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    if matches!(
        ext.as_str(),
        "o" | "obj" | "a" | "lib" | "so" | "dll" | "dylib" | "exe" | "bin"
    ) && std::str::from_utf8(bytes).is_err()
    {
        return Some(format!("a binary `.{ext}` file"));
    }
    // High entropy that is not a known media format.
    let media = starts(b"\x89PNG")
        || starts(&[0xff, 0xd8, 0xff])
        || starts(b"GIF8")
        || (starts(b"RIFF") && bytes.get(8..12) == Some(b"WEBP"))
        || starts(b"wOFF")
        || starts(b"wOF2")
        || starts(b"%PDF")
        || starts(&[0, 1, 0, 0])
        || starts(b"OTTO");
    if !media && bytes.len() >= 1024 && entropy(bytes) >= 7.2 {
        return Some(format!(
            "a high-entropy blob ({:.1} bits per byte)",
            entropy(bytes)
        ));
    }
    None
}

fn entropy(bytes: &[u8]) -> f64 {
    let mut counts = [0usize; 256];
    for b in bytes {
        counts[usize::from(*b)] += 1;
    }
    let n = bytes.len() as f64;
    counts
        .iter()
        .filter(|c| **c > 0)
        .map(|c| {
            let p = *c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::super::archive::File;
    use super::*;

    fn files(list: &[(&str, &str)]) -> Files {
        list.iter()
            .map(|(p, t)| {
                (
                    (*p).to_string(),
                    File {
                        bytes: t.as_bytes().to_vec(),
                        executable: false,
                    },
                )
            })
            .collect()
    }

    const MANIFEST: &str = "[package]\nname = \"a\"\nversion = \"1.0.0\"\n";

    #[test]
    fn a_build_script_that_spawns_and_connects_and_its_modules() {
        let old = files(&[("Cargo.toml", MANIFEST), ("src/lib.rs", "")]);
        let new = files(&[
            ("Cargo.toml", MANIFEST),
            (
                "src/lib.rs",
                "pub fn f() { std::net::TcpStream::connect(\"x\"); }\n",
            ),
            ("build.rs", "mod helper;\nfn main() { helper::go(); }\n"),
            (
                "helper.rs",
                "pub fn go() {\n    std::process::Command::new(\"sh\");\n}\n",
            ),
        ]);
        let c = compare(Some(&old), &new, false);
        let got: Vec<(&str, &str, usize)> = c
            .signals
            .iter()
            .map(|s| (s.code.as_str(), s.file.as_str(), s.line))
            .collect();
        assert!(
            got.contains(&("build-script-added", "build.rs", 1)),
            "{got:?}"
        );
        assert!(got.contains(&("process-spawn", "helper.rs", 2)), "{got:?}");
        // Networking in ordinary code counts only with --all-code.
        assert!(!got.iter().any(|g| g.0 == "network-access"), "{got:?}");
        let c = compare(Some(&old), &new, true);
        assert!(
            c.signals
                .iter()
                .any(|s| s.code == ReviewCode::NetworkAccess)
        );
        assert_eq!((c.files_added, c.files_changed, c.files_removed), (2, 1, 0));
    }

    #[test]
    fn moved_code_and_unchanged_signals_are_not_new() {
        let body = "fn main() { std::process::Command::new(\"cc\"); }\n";
        let old = files(&[("Cargo.toml", MANIFEST), ("build.rs", body)]);
        let new = files(&[
            ("Cargo.toml", MANIFEST),
            ("build.rs", &format!("// reformatted\n{body}")),
        ]);
        let c = compare(Some(&old), &new, false);
        let codes: Vec<&str> = c.signals.iter().map(|s| s.code.as_str()).collect();
        assert_eq!(codes, vec!["build-script-changed"]);
        // A renamed binary with the same bytes is not an added binary.
        let blob = "\u{7f}ELF....";
        let old = files(&[("Cargo.toml", MANIFEST), ("a.bin", blob)]);
        let new = files(&[("Cargo.toml", MANIFEST), ("b.bin", blob)]);
        assert!(compare(Some(&old), &new, false).signals.is_empty());
    }

    #[test]
    fn binaries_are_told_from_text_and_media() {
        assert!(binary_kind("x", b"\x7fELF\x02\x01").is_some());
        assert!(binary_kind("lib/x.a", b"!<arch>\nfoo").is_some());
        assert!(binary_kind("README.md", b"hello").is_none());
        let noise: Vec<u8> = (0..4096u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        assert!(binary_kind("data/blob.dat", &noise).is_some());
        let mut png = b"\x89PNG".to_vec();
        png.extend(&noise);
        assert!(binary_kind("logo.png", &png).is_none());
    }
}
