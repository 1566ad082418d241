//! `cargo slsa review`: what a lockfile change brings into the supply chain, crate by crate.
//!
//! Two resolutions are compared — the workspace's Cargo.lock and a base (`--base REV`, by
//! default `HEAD`, read through git; or `--base-lock FILE`). Every registry crate added,
//! removed or at another version is paired with the version it replaces (same name; the
//! semver-compatible one first), both `.crate` files are read — checked against the sha256
//! the two lockfiles record ([`fetch`]) — and their contents compared in memory ([`diff`]):
//! files and lines, and the signals of [`codes`], each found by scanning the tokens of the
//! source ([`scan`]). Nothing in a crate is run or written out.
//!
//! The registry is asked twice more, when online: its index for when a new crate was first
//! published (`new-crate-young`), and its web API (`api` in `config.json`) for who published
//! each version (`publisher-changed`).
//!
//! Findings are placed at the crate's `[[package]]` line in Cargo.lock (what the reviewer's
//! change touched; what configuration ignores and code scanning point at); the file and line
//! inside the crate are in the message and in `summary.crates[].signals`. Inline ignore
//! comments never apply: a crate's files are written by its authors.

pub mod archive;
pub mod codes;
pub mod diff;
pub mod fetch;
pub mod scan;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::Result;
use serde_json::{Value, json};

use crate::Ctx;
use crate::cli::{DenyLevel, ReviewArgs};
use crate::report::{Finding, Report, Severity};
use crate::workspace::{LockPackage, Lockfile, Workspace};
use codes::ReviewCode;
use diff::{Compared, Signal};
use fetch::Fetcher;

/// How to review.
#[derive(Debug, Clone)]
pub struct Options {
    /// Count process and network signals in all shipped code, not only build-time code.
    pub all_code: bool,
    /// A crate entering the graph whose first version is younger than this many days is
    /// reported.
    pub min_age_days: u32,
    /// Never touch the network.
    pub offline: bool,
    /// Now, in Unix seconds (for ages).
    pub now: i64,
}

/// One crate's update.
#[derive(Debug, Clone)]
pub struct CrateReview {
    pub name: String,
    /// The version replaced (`None`: the crate is new to the graph).
    pub from: Option<String>,
    /// The new version (`None`: removed).
    pub to: Option<String>,
    /// The lock source of the new (or removed) entry.
    pub source: Option<String>,
    /// Line of its `[[package]]` in the reviewed Cargo.lock.
    pub lock_line: Option<usize>,
    pub compared: Compared,
    /// Why the crate could not be compared (it is then an input error).
    pub problem: Option<String>,
    /// What was not looked at, and why (a git source, no publisher data).
    pub notes: Vec<String>,
}

/// A whole review.
#[derive(Debug, Clone, Default)]
pub struct Review {
    pub crates: Vec<CrateReview>,
    pub notes: Vec<String>,
    pub downloads: usize,
}

impl Review {
    /// Every signal with its crate, for findings and pull-request bodies.
    pub fn signals(&self) -> impl Iterator<Item = (&CrateReview, &Signal)> {
        self.crates
            .iter()
            .flat_map(|c| c.compared.signals.iter().map(move |s| (c, s)))
    }
}

/// What identifies a locked package's content: a checksum that changed at the same version is
/// a change too (`checksum-changed`).
type Key = (String, String, Option<String>, Option<String>);

fn key(p: &LockPackage) -> Key {
    (
        p.name.clone(),
        p.version.clone(),
        p.source.clone(),
        p.checksum.clone(),
    )
}

fn compatible(a: &str, b: &str) -> bool {
    match (semver::Version::parse(a), semver::Version::parse(b)) {
        (Ok(a), Ok(b)) => {
            if a.major > 0 || b.major > 0 {
                a.major == b.major
            } else if a.minor > 0 || b.minor > 0 {
                a.minor == b.minor
            } else {
                a.patch == b.patch
            }
        }
        _ => false,
    }
}

fn newest<'a>(versions: impl Iterator<Item = &'a LockPackage>) -> Option<&'a LockPackage> {
    versions.max_by(|a, b| {
        match (
            semver::Version::parse(&a.version),
            semver::Version::parse(&b.version),
        ) {
            (Ok(x), Ok(y)) => x.cmp(&y),
            _ => a.version.cmp(&b.version),
        }
    })
}

/// Pairs of (old, new) entries: each new entry with the entry it replaces, unpaired old ones
/// as removals. Path packages (the workspace's own) are left out.
fn pair<'a>(
    base: &'a Lockfile,
    current: &'a Lockfile,
) -> Vec<(Option<&'a LockPackage>, Option<&'a LockPackage>)> {
    let before: BTreeSet<Key> = base.packages.iter().map(key).collect();
    let after: BTreeSet<Key> = current.packages.iter().map(key).collect();
    let mut removed: Vec<&LockPackage> = base
        .packages
        .iter()
        .filter(|p| p.source.is_some() && !after.contains(&key(p)))
        .collect();
    let mut out = Vec::new();
    for p in current
        .packages
        .iter()
        .filter(|p| p.source.is_some() && !before.contains(&key(p)))
    {
        let same_name = || removed.iter().copied().filter(|r| r.name == p.name);
        let from = same_name()
            .find(|r| r.version == p.version && r.source == p.source)
            .or_else(|| same_name().find(|r| compatible(&r.version, &p.version)))
            .or_else(|| newest(same_name()));
        if let Some(f) = from {
            removed.retain(|r| !std::ptr::eq(*r, f));
        }
        out.push((from, Some(p)));
    }
    for r in removed {
        out.push((Some(r), None));
    }
    out
}

/// The sparse index a lock source names: crates.io's as cargo's configuration resolves it (a
/// mirror, a source replacement), or the `sparse+` URL itself.
fn index_of(root: &Path, source: &str) -> Option<String> {
    if let Some(u) = source.strip_prefix("sparse+") {
        return Some(format!("sparse+{u}"));
    }
    if source == crate::workspace::lock::CRATES_IO_REGISTRY {
        return crate::registry::crates_io_index(root)
            .ok()
            .map(|u| u.as_str().to_string());
    }
    None
}

/// Review the change from `base` to `current` for the workspace at `root`.
pub fn review_locks(
    ctx: &Ctx,
    root: &Path,
    base: &Lockfile,
    current: &Lockfile,
    opts: &Options,
) -> Result<Review> {
    let pairs = pair(base, current);
    let mut fetcher = Fetcher::new(root, opts.offline)?;
    let mut review = Review::default();
    let bar = ctx
        .progress()
        .spinner(format!("reviewing {} changed crates", pairs.len()));
    // When new crates were first published, from the index (cached when offline).
    let new_names: BTreeSet<String> = pairs
        .iter()
        .filter(|(from, to)| from.is_none() && to.is_some())
        .filter_map(|(_, to)| to.map(|t| t.name.clone()))
        .filter(|n| !base.packages.iter().any(|p| &p.name == n))
        .collect();
    let first_published: BTreeMap<String, i64> = if new_names.is_empty() {
        BTreeMap::new()
    } else {
        match crate::registry::fetch(root, &new_names, None, opts.offline) {
            Ok(answer) => answer
                .crates
                .iter()
                .filter_map(|(n, vs)| Some((n.clone(), vs.iter().filter_map(|v| v.pubtime).min()?)))
                .collect(),
            Err(e) => {
                review.notes.push(format!(
                    "crate ages unknown: the index could not be read ({e:#})"
                ));
                BTreeMap::new()
            }
        }
    };
    let mut publisher_skipped = false;
    let mut publisher_unknown = 0usize;
    for (i, (from, to)) in pairs.iter().enumerate() {
        let shown = to.or(*from).map(|p| p.name.clone()).unwrap_or_default();
        bar.set_message(format!("reviewing {}/{}: {shown}", i + 1, pairs.len()));
        let entry = to.or(*from);
        let Some(entry) = entry else { continue };
        let mut c = CrateReview {
            name: entry.name.clone(),
            from: from.map(|p| p.version.clone()),
            to: to.map(|p| p.version.clone()),
            source: entry.source.clone(),
            lock_line: to.map(|p| p.line),
            compared: Compared::default(),
            problem: None,
            notes: Vec::new(),
        };
        let Some(to) = to else {
            review.crates.push(c); // removed: nothing of it is built any more
            continue;
        };
        // Said before anything is read: the old archive is usually gone from every cache.
        let mut early = Vec::new();
        if let Some(f) = from
            && f.version == to.version
            && f.source == to.source
            && f.checksum != to.checksum
        {
            early.push(Signal {
                code: ReviewCode::ChecksumChanged,
                file: "Cargo.toml".into(),
                line: 1,
                what: format!(
                    "sha256 {} in the base, {} now",
                    f.checksum.as_deref().unwrap_or("none"),
                    to.checksum.as_deref().unwrap_or("none")
                ),
            });
        }
        c.compared.signals = early.clone();
        let source = to.source.clone().unwrap_or_default();
        if source.starts_with("git+")
            || from.is_some_and(|f| f.source.as_deref().is_some_and(|s| s.starts_with("git+")))
        {
            c.notes
                .push("a git source: its contents are not compared (review the commits)".into());
            review.crates.push(c);
            continue;
        }
        let Some(index) = index_of(root, &source) else {
            c.problem = Some(format!(
                "source `{source}` is not a registry this tool can read"
            ));
            review.crates.push(c);
            continue;
        };
        let read = |fetcher: &mut Fetcher, p: &LockPackage| -> Result<archive::Files> {
            let sum = p.checksum.as_deref().ok_or_else(|| {
                anyhow::anyhow!("{} {} has no checksum in its Cargo.lock", p.name, p.version)
            })?;
            let bytes = fetcher.krate(&index, &p.name, &p.version, sum)?;
            archive::read(&bytes, &p.name, &p.version)
        };
        let new_files = match read(&mut fetcher, to) {
            Ok(f) => f,
            Err(e) => {
                c.problem = Some(format!("{e:#}"));
                review.crates.push(c);
                continue;
            }
        };
        let old_files = match from {
            Some(f) => match read(&mut fetcher, f) {
                Ok(files) => Some(files),
                Err(e) => {
                    c.problem = Some(format!("{e:#}"));
                    review.crates.push(c);
                    continue;
                }
            },
            None => None,
        };
        c.compared = diff::compare(old_files.as_ref(), &new_files, opts.all_code);
        c.compared.signals.extend(early);
        for (file, why) in &c.compared.unparsed {
            c.notes.push(format!(
                "{file} does not parse ({why}): its signals come from its tokens alone"
            ));
        }
        // New to the graph: its age.
        if from.is_none() && new_names.contains(&to.name) {
            let age = first_published
                .get(&to.name)
                .map(|t| (opts.now - t).max(0) / 86_400);
            let what = match age {
                Some(d) => format!("first published {d} days ago"),
                None => "first publication date unknown".into(),
            };
            c.compared.signals.push(Signal {
                code: ReviewCode::NewDependency,
                file: "Cargo.toml".into(),
                line: 1,
                what: what.clone(),
            });
            if let Some(d) = age
                && d < i64::from(opts.min_age_days)
            {
                c.compared.signals.push(Signal {
                    code: ReviewCode::NewCrateYoung,
                    file: "Cargo.toml".into(),
                    line: 1,
                    what: format!("{what} (--min-age {})", opts.min_age_days),
                });
            }
        }
        // Who published the two versions.
        if let Some(f) = from {
            if opts.offline {
                publisher_skipped = true;
            } else if let Some(api) = fetcher.config(&index).api {
                let both = fetcher
                    .publisher(&api, &f.name, &f.version)
                    .and_then(|a| Ok((a, fetcher.publisher(&api, &to.name, &to.version)?)));
                match both {
                    Ok((Some(a), Some(b))) if a != b => c.compared.signals.push(Signal {
                        code: ReviewCode::PublisherChanged,
                        file: "Cargo.toml".into(),
                        line: 1,
                        what: format!("{} was published by {a}, {} by {b}", f.version, to.version),
                    }),
                    Ok((Some(_), Some(_))) => {}
                    Ok(_) => publisher_unknown += 1,
                    Err(e) => c.notes.push(format!("publisher unknown: {e:#}")),
                }
            } else {
                c.notes.push(
                    "the registry has no web API (config.json `api`): publisher not checked".into(),
                );
            }
        }
        c.compared.signals.sort();
        review.crates.push(c);
    }
    if publisher_unknown > 0 {
        review.notes.push(format!(
            "publishers not compared for {publisher_unknown} updated crate{}: the registry's web API does not say who published them",
            if publisher_unknown == 1 { "" } else { "s" }
        ));
    }
    if publisher_skipped {
        review
            .notes
            .push("publishers not checked (--offline)".into());
    }
    review.downloads = fetcher.downloads;
    Ok(review)
}

fn from_to(c: &CrateReview) -> String {
    match (&c.from, &c.to) {
        (Some(f), Some(t)) => format!("{} {f} → {t}", c.name),
        (None, Some(t)) => format!("{} {t} (new)", c.name),
        (Some(f), None) => format!("{} {f} (removed)", c.name),
        (None, None) => c.name.clone(),
    }
}

/// What a signal says, in a few words.
fn sentence(s: &Signal) -> String {
    let what = &s.what;
    match s.code {
        ReviewCode::BuildScriptAdded => "adds a build script".into(),
        ReviewCode::BuildScriptChanged => "changes the build script".into(),
        ReviewCode::ProcMacroAdded => "becomes a procedural macro (`proc-macro = true`)".into(),
        ReviewCode::ProcessSpawn => format!("starts processes: `{what}`"),
        ReviewCode::NetworkAccess => format!("opens network connections: `{what}`"),
        ReviewCode::EnvSecrets => format!("reads secrets at build time: {what}"),
        ReviewCode::BinaryFileAdded => format!("adds {what}"),
        ReviewCode::Obfuscation => format!("carries {what}"),
        ReviewCode::UnsafeAdded => what.clone(),
        ReviewCode::NewDependency => format!("enters the dependency graph, {what}"),
        ReviewCode::ChecksumChanged => format!("the same version's archive changed: {what}"),
        ReviewCode::PublisherChanged => what.clone(),
        ReviewCode::NewCrateYoung => what.clone(),
    }
}

/// Findings and summary for `review` (and `check`'s review part).
pub fn into_report(review: &Review, lock_path: &Path, base: &str, report: &mut Report) {
    for (c, s) in review.signals() {
        let mut f = Finding::new(
            s.code.rule(),
            format!("{}: {}:{}: {}", from_to(c), s.file, s.line, sentence(s)),
        );
        f = f.at(lock_path, c.lock_line, None);
        report.findings.push(f);
    }
    for c in &review.crates {
        if let Some(p) = &c.problem {
            report.input_error(
                Some(lock_path),
                c.lock_line,
                format!("{}: could not be reviewed: {p}", from_to(c)),
            );
        }
        for n in &c.notes {
            report.notes.push(format!("{}: {n}", from_to(c)));
        }
    }
    report.notes.extend(review.notes.iter().cloned());
    let crates: Vec<Value> = review
        .crates
        .iter()
        .map(|c| {
            json!({
                "name": c.name,
                "from": c.from,
                "to": c.to,
                "source": c.source,
                "files_added": c.compared.files_added,
                "files_removed": c.compared.files_removed,
                "files_changed": c.compared.files_changed,
                "lines_added": c.compared.lines_added,
                "lines_removed": c.compared.lines_removed,
                "signals": c.compared.signals.iter().map(|s| json!({
                    "code": s.code.as_str(),
                    "file": s.file,
                    "line": s.line,
                    "what": s.what,
                })).collect::<Vec<_>>(),
                "reviewed": c.problem.is_none(),
            })
        })
        .collect();
    report.summary.insert("base".into(), json!(base));
    report.summary.insert("crates".into(), json!(crates));
    report
        .summary
        .insert("downloads".into(), json!(review.downloads));
    report.sort();
}

/// The review as markdown for a pull request body: a table of signals per crate, the details
/// folded.
pub fn markdown(review: &Review) -> String {
    let mut b = String::from("### What the update changes in the crates\n\n");
    if review.crates.is_empty() {
        b.push_str("No registry crate changed.\n");
        return b;
    }
    b.push_str("| crate | change | files +/−/~ | lines +/− | signals |\n|---|---|---|---|---|\n");
    for c in &review.crates {
        let change = match (&c.from, &c.to) {
            (Some(f), Some(t)) => format!("{f} → {t}"),
            (None, Some(t)) => format!("new, {t}"),
            (Some(f), None) => format!("removed, {f}"),
            (None, None) => String::new(),
        };
        let mut codes: Vec<&str> = c.compared.signals.iter().map(|s| s.code.as_str()).collect();
        codes.dedup();
        let signals = if c.problem.is_some() {
            "**not reviewed**".to_string()
        } else if codes.is_empty() {
            "none".into()
        } else {
            codes
                .iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        b.push_str(&format!(
            "| `{}` | {change} | {}/{}/{} | {}/{} | {signals} |\n",
            c.name,
            c.compared.files_added,
            c.compared.files_removed,
            c.compared.files_changed,
            c.compared.lines_added,
            c.compared.lines_removed,
        ));
    }
    let detailed: Vec<&CrateReview> = review
        .crates
        .iter()
        .filter(|c| !c.compared.signals.is_empty() || c.problem.is_some() || !c.notes.is_empty())
        .collect();
    if !detailed.is_empty() {
        b.push_str("\n<details><summary>Signals in detail</summary>\n\n");
        for c in detailed {
            b.push_str(&format!("**{}**\n\n", markdown_escape(&from_to(c))));
            for s in &c.compared.signals {
                b.push_str(&format!(
                    "- `{}` {}:{} — {}\n",
                    s.code.as_str(),
                    markdown_escape(&s.file),
                    s.line,
                    markdown_escape(&s.what)
                ));
            }
            if let Some(p) = &c.problem {
                b.push_str(&format!("- not reviewed: {}\n", markdown_escape(p)));
            }
            for n in &c.notes {
                b.push_str(&format!("- {}\n", markdown_escape(n)));
            }
            b.push('\n');
        }
        b.push_str("</details>\n");
    }
    b
}

/// Text from a crate (its file names, what was seen) made inert in markdown.
pub fn markdown_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars().take(300) {
        match ch {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' | '!' | '@' => {
                out.push('\\');
                out.push(ch);
            }
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// `cargo slsa review`.
pub fn run(ctx: &Ctx, args: &ReviewArgs) -> Result<Report> {
    let entry = Workspace::locate(ctx)?;
    let manifest = crate::workspace::Manifest::load(&entry)?;
    let root = crate::workspace::guess_root(&manifest)?;
    let lock_path = root.join("Cargo.lock");
    let current = Lockfile::load(&lock_path)?;
    let (base, shown) = match &args.base_lock {
        Some(f) => {
            let p = if f.is_absolute() {
                f.clone()
            } else {
                ctx.cwd.join(f)
            };
            (Lockfile::load(&p)?, p.display().to_string())
        }
        None => {
            let rev = args.base.as_deref().unwrap_or("HEAD");
            (fetch::base_lock(&lock_path, rev)?, rev.to_string())
        }
    };
    let opts = Options {
        all_code: args.all_code,
        min_age_days: args.min_age,
        offline: ctx.offline,
        now: crate::timefmt::now_unix(),
    };
    let review = review_locks(ctx, &root, &base, &current, &opts)?;
    let mut report = Report::new("review", ReviewCode::rules());
    if matches!(args.deny, Some(DenyLevel::Warnings)) {
        report.deny = Severity::Warning;
    }
    into_report(&review, &lock_path, &shown, &mut report);
    Ok(report)
}
