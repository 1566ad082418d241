//! The extractor against hand-made archives: cargo vendor's tree, and every unsafe entry refused.

use slsa_tests::{CrateBuilder, RawEntry};

use super::*;

fn try_extract(krate: CrateBuilder) -> (Result<BTreeMap<String, FileEntry>>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let archive = dir.path().join("c.crate");
    let dest = dir.path().join("out").join("crate");
    let prefix = format!("{}-{}", krate.name(), krate.version());
    (
        extract_bytes(&krate.build(), &archive, &prefix, Some(&dest)),
        dir,
    )
}

fn file(bytes: &[u8]) -> RawEntry {
    RawEntry::File {
        bytes: bytes.to_vec(),
        mode: 0o644,
    }
}

#[test]
fn unsafe_entries_are_rejected_and_nothing_lands_outside() {
    let cases: Vec<(CrateBuilder, &str)> = vec![
        (
            CrateBuilder::new("bad", "1.0.0").raw_entry("bad-1.0.0/../../escape.txt", file(b"x")),
            "outside",
        ),
        (
            CrateBuilder::new("bad", "1.0.0").raw_entry("/tmp/slsa-abs-test.txt", file(b"x")),
            "absolute",
        ),
        (
            CrateBuilder::new("bad", "1.0.0").raw_entry("other-1.0.0/x.txt", file(b"x")),
            "outside",
        ),
        (
            CrateBuilder::new("bad", "1.0.0").raw_entry(
                "bad-1.0.0/link",
                RawEntry::Symlink {
                    target: "../../../etc/passwd".into(),
                },
            ),
            "points outside",
        ),
        (
            CrateBuilder::new("bad", "1.0.0").raw_entry(
                "bad-1.0.0/hard",
                RawEntry::Hardlink {
                    target: "/etc/passwd".into(),
                },
            ),
            "points outside",
        ),
        (
            CrateBuilder::new("bad", "1.0.0").raw_entry("bad-1.0.0/dev", RawEntry::CharDevice),
            "special file",
        ),
        (
            CrateBuilder::new("bad", "1.0.0").raw_entry("bad-1.0.0/src/lib.rs", file(b"dup")),
            "twice",
        ),
    ];
    for (krate, needle) in cases {
        let (res, dir) = try_extract(krate);
        let err = res.expect_err(needle).to_string();
        assert!(err.contains(needle), "{needle}: {err}");
        assert!(!dir.path().join("escape.txt").exists());
        assert!(!dir.path().join("out").join("escape.txt").exists());
        assert!(!Path::new("/tmp/slsa-abs-test.txt").exists());
    }
}

#[test]
fn links_are_kept_as_links_and_modes_as_the_archive_gives_them() {
    let mode = |b: &[u8], m: u32| RawEntry::File {
        bytes: b.to_vec(),
        mode: m,
    };
    let krate = CrateBuilder::new("ok", "1.0.0")
        .executable("run.sh", "#!/bin/sh\n")
        .file(".gitignore", "target\n")
        .raw_entry("ok-1.0.0/group.txt", mode(b"g", 0o640))
        .raw_entry("ok-1.0.0/setid.sh", mode(b"s", 0o6755))
        .raw_entry(
            "ok-1.0.0/alias.rs",
            RawEntry::Symlink {
                target: "src/lib.rs".into(),
            },
        )
        // A link to a link, and one to a file later in the archive.
        .raw_entry(
            "ok-1.0.0/alias2.rs",
            RawEntry::Symlink {
                target: "alias.rs".into(),
            },
        )
        .raw_entry(
            "ok-1.0.0/early",
            RawEntry::Symlink {
                target: "late.txt".into(),
            },
        )
        .raw_entry("ok-1.0.0/late.txt", mode(b"late", 0o644))
        .raw_entry(
            "ok-1.0.0/hard.txt",
            RawEntry::Hardlink {
                target: "ok-1.0.0/group.txt".into(),
            },
        )
        .raw_entry("ok-1.0.0/.git/hooks/pre-commit", mode(b"x", 0o755))
        .raw_entry("ok-1.0.0/deep/.git/config", mode(b"x", 0o644));
    let (res, dir) = try_extract(krate);
    let files = res.expect("extracts");
    let out = dir.path().join("out/crate");
    assert!(files["run.sh"].executable);
    assert!(!files["Cargo.toml"].executable);
    assert_eq!(files["group.txt"].mode, 0o640);
    assert_eq!(files["setid.sh"].mode, 0o755, "set-id bits are dropped");
    for gone in [".gitignore", ".git/hooks/pre-commit", "deep/.git/config"] {
        assert!(!files.contains_key(gone), "{gone}");
        assert!(!out.join(gone).exists(), "{gone}");
    }
    assert_eq!(files["alias.rs"].sha256, files["src/lib.rs"].sha256);
    assert_eq!(files["alias.rs"].link.as_deref(), Some("src/lib.rs"));
    assert_eq!(files["alias2.rs"].sha256, files["src/lib.rs"].sha256);
    assert_eq!(files["early"].sha256, files["late.txt"].sha256);
    assert_eq!(
        std::fs::read_link(out.join("alias.rs")).expect("a link"),
        Path::new("src/lib.rs")
    );
    assert_eq!(files["hard.txt"].link, None, "a hard link is a copy");
    assert_eq!(files["hard.txt"].mode, 0o640);
    use std::os::unix::fs::PermissionsExt;
    let on_disk = |p: &str| {
        std::fs::metadata(out.join(p))
            .expect("file")
            .permissions()
            .mode()
            & 0o7777
    };
    assert_eq!(on_disk("group.txt"), 0o640 & !umask());
    assert_eq!(on_disk("hard.txt"), 0o640 & !umask());
    assert_eq!(on_disk("setid.sh"), 0o755 & !umask());
}

#[test]
fn links_cargo_cannot_vendor_and_odd_names_are_refused_naming_the_entry() {
    let file = |b: &[u8]| RawEntry::File {
        bytes: b.to_vec(),
        mode: 0o644,
    };
    let cases: Vec<(CrateBuilder, &str)> = vec![
        (
            CrateBuilder::new("bad", "1.0.0").raw_entry(
                "bad-1.0.0/dirlink",
                RawEntry::Symlink {
                    target: "src".into(),
                },
            ),
            "link `bad-1.0.0/dirlink` points at the directory `src`",
        ),
        (
            CrateBuilder::new("bad", "1.0.0").raw_entry(
                "bad-1.0.0/dangling",
                RawEntry::Symlink {
                    target: "nothere".into(),
                },
            ),
            "link `bad-1.0.0/dangling` points at `nothere`, which the crate does not have",
        ),
        (
            CrateBuilder::new("bad", "1.0.0").raw_entry(
                "bad-1.0.0/abs",
                RawEntry::Symlink {
                    target: "/etc/passwd".into(),
                },
            ),
            "link `bad-1.0.0/abs` points outside the crate",
        ),
        (
            CrateBuilder::new("bad", "1.0.0")
                .raw_entry(b"bad-1.0.0/caf\xe9.rs".to_vec(), file(b"x")),
            "entry `bad-1.0.0/caf\u{fffd}.rs` has a name that is not UTF-8",
        ),
        (
            CrateBuilder::new("bad", "1.0.0")
                .raw_entry("bad-1.0.0/x", file(b"x"))
                .raw_entry("bad-1.0.0/x/y", file(b"y")),
            "entry `bad-1.0.0/x/y` is both a file and a directory",
        ),
        (
            CrateBuilder::new("bad", "1.0.0")
                .raw_entry("bad-1.0.0/d/f", file(b"x"))
                .raw_entry("bad-1.0.0/d", file(b"y")),
            "entry `bad-1.0.0/d` is both a file and a directory",
        ),
        (
            CrateBuilder::new("bad", "1.0.0").raw_entry(
                format!("bad-1.0.0/{}", "n".repeat(300)).into_bytes(),
                file(b"x"),
            ),
            "entry `bad-1.0.0/nnnn",
        ),
    ];
    for (krate, needle) in cases {
        let (res, _dir) = try_extract(krate);
        let err = format!("{:#}", res.expect_err(needle));
        assert!(err.contains("c.crate"), "names the archive: {err}");
        assert!(err.contains(needle), "{needle}: {err}");
    }
}

#[test]
fn limits_are_checked_from_the_headers_before_anything_is_written() {
    let small = Limits {
        entries: 100,
        file: 1000,
        total: 1500,
    };
    let big = |n: usize| RawEntry::File {
        bytes: vec![b'a'; n],
        mode: 0o644,
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let dest = dir.path().join("out");
    let one = CrateBuilder::new("b", "1.0.0").raw_entry("b-1.0.0/huge", big(1001));
    let err = extract_limited(
        &one.build(),
        Path::new("b.crate"),
        "b-1.0.0",
        Some(&dest),
        small,
    )
    .expect_err("too big")
    .to_string();
    assert!(
        err.contains("`b-1.0.0/huge` is larger than 1000 bytes"),
        "{err}"
    );
    assert!(
        !dest.join("huge").exists(),
        "refused before a byte was written"
    );
    let many = CrateBuilder::new("b", "1.0.0")
        .raw_entry("b-1.0.0/one", big(800))
        .raw_entry("b-1.0.0/two", big(800));
    let err = extract_limited(
        &many.build(),
        Path::new("b.crate"),
        "b-1.0.0",
        Some(&dest),
        small,
    )
    .expect_err("too much")
    .to_string();
    assert!(
        err.contains("inflates past 1500 bytes (at entry `b-1.0.0/two`)"),
        "{err}"
    );
    assert!(!dest.join("two").exists());
}

#[test]
fn too_many_entries_are_refused_before_more_is_written() {
    let mut krate = CrateBuilder::new("many", "1.0.0");
    for i in 0..=20 {
        krate = krate.raw_entry(
            format!("many-1.0.0/f{i}"),
            RawEntry::File {
                bytes: Vec::new(),
                mode: 0o644,
            },
        );
    }
    let archive = Path::new("many.crate");
    let limits = Limits {
        entries: 20,
        ..Limits::DEFAULT
    };
    let err = extract_limited(&krate.build(), archive, "many-1.0.0", None, limits)
        .expect_err("too many")
        .to_string();
    assert!(err.contains("more than 20 entries"), "{err}");
}
