//! What one Rust source file can do, from its tokens: paths that start processes or open
//! connections, literals that name secrets or look encoded, files it includes, `unsafe`.
//!
//! The file is parsed with syn first (a file that does not parse is reported by the caller);
//! the signals come from proc-macro2's tokens of the whole file, macro bodies included — so a
//! `Command::new` hidden in a `vec![…]` still counts, while comments (not tokens) and the text
//! of string literals (one literal token each) never do. Paths are read as written, use trees
//! expanded: `use std::{process::Command, net::TcpStream};` yields both full paths.

use std::str::FromStr;

use proc_macro2::{Delimiter, TokenStream, TokenTree};

use super::codes::ReviewCode;

/// One thing seen: its code, the 1-based line, and what exactly (`std::process::Command`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub code: ReviewCode,
    pub line: usize,
    pub what: String,
}

/// Everything seen in one file.
#[derive(Debug, Default)]
pub struct Scan {
    /// Process, network, secret and obfuscation signals.
    pub hits: Vec<Hit>,
    /// Lines of each `unsafe`.
    pub unsafe_lines: Vec<usize>,
    /// `mod name;` declarations without a body: (name, `#[path]` if given).
    pub modules: Vec<(String, Option<String>)>,
    /// Paths given to `include!`, `include_str!` and `include_bytes!`.
    pub includes: Vec<String>,
    /// Why syn could not parse the file (the tokens were still scanned).
    pub unparsed: Option<String>,
    /// Names given with `as` (`use std::process as p;`), expanded where they start a path.
    aliases: std::collections::HashMap<String, Vec<String>>,
}

/// An identifier as written, without the raw prefix (`r#Command` is `Command`).
fn ident(id: &proc_macro2::Ident) -> String {
    let s = id.to_string();
    s.strip_prefix("r#").map(str::to_string).unwrap_or(s)
}

/// Crates whose use means talking to the network.
const NET_CRATES: &[&str] = &[
    "reqwest",
    "ureq",
    "hyper",
    "hyper_util",
    "curl",
    "attohttpc",
    "isahc",
    "surf",
    "minreq",
    "ehttp",
    "http_req",
    "socket2",
    "websocket",
    "tungstenite",
];

/// libc/nix functions that replace or start processes.
const EXEC_FNS: &[&str] = &[
    "execv",
    "execve",
    "execvp",
    "execvpe",
    "execl",
    "execle",
    "execlp",
    "fexecve",
    "system",
    "popen",
    "fork",
    "vfork",
    "posix_spawn",
    "posix_spawnp",
];

/// Extensions of files whose inclusion is ordinary: source and text.
const TEXT_EXTENSIONS: &[&str] = &[
    "rs", "md", "txt", "toml", "json", "yaml", "yml", "html", "css", "js", "svg", "csv", "h", "c",
    "proto", "in", "sql", "wgsl", "glsl", "xml",
];

/// Scan `text` (a `.rs` file).
pub fn scan(text: &str) -> Scan {
    let mut out = Scan::default();
    match syn::parse_file(text) {
        Ok(file) => {
            for item in &file.items {
                collect_modules(item, &mut out.modules);
            }
        }
        Err(e) => {
            out.unparsed = Some(format!("line {}: {e}", e.span().start().line));
        }
    }
    match TokenStream::from_str(text) {
        Ok(tokens) => walk(tokens, &[], &mut out),
        Err(e) => {
            out.unparsed
                .get_or_insert_with(|| format!("line {}: {e}", e.span().start().line));
        }
    }
    out
}

fn collect_modules(item: &syn::Item, out: &mut Vec<(String, Option<String>)>) {
    if let syn::Item::Mod(m) = item
        && m.content.is_none()
    {
        let path = m.attrs.iter().find_map(|a| {
            if !a.path().is_ident("path") {
                return None;
            }
            match &a.meta {
                syn::Meta::NameValue(nv) => match &nv.value {
                    syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Str(s),
                        ..
                    }) => Some(s.value()),
                    _ => None,
                },
                _ => None,
            }
        });
        out.push((m.ident.to_string(), path));
    }
}

/// A string literal token's value (`None` for other literals).
fn string_value(lit: &proc_macro2::Literal) -> Option<String> {
    let repr = lit.to_string();
    if let Ok(s) = syn::parse_str::<syn::LitStr>(&repr) {
        return Some(s.value());
    }
    syn::parse_str::<syn::LitByteStr>(&repr)
        .ok()
        .map(|b| String::from_utf8_lossy(&b.value()).into_owned())
}

/// Walk `tokens`, gathering paths (`a::b::c`, with `prefix` from an enclosing use group).
fn walk(tokens: TokenStream, prefix: &[String], out: &mut Scan) {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            TokenTree::Ident(id) => {
                let name = ident(id);
                if name == "unsafe" {
                    out.unsafe_lines.push(id.span().start().line);
                    i += 1;
                    continue;
                }
                // A path: ident (:: ident)*, maybe ending in `::{…}` or `::*`.
                let line = id.span().start().line;
                let mut path = prefix.to_vec();
                match out.aliases.get(&name) {
                    Some(full) if prefix.is_empty() => path.extend(full.iter().cloned()),
                    _ => path.push(name.clone()),
                }
                let mut j = i + 1;
                loop {
                    if is_colon2(&tokens, j) {
                        match tokens.get(j + 2) {
                            Some(TokenTree::Ident(next)) => {
                                path.push(ident(next));
                                j += 3;
                                continue;
                            }
                            Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Brace => {
                                walk(g.stream(), &path, out);
                                j += 3;
                            }
                            Some(TokenTree::Punct(p)) if p.as_char() == '*' => {
                                path.push("*".into());
                                j += 3;
                            }
                            _ => {}
                        }
                    }
                    break;
                }
                // `PATH as NAME` (in `use`, `extern crate`): NAME now stands for PATH.
                if let (Some(TokenTree::Ident(kw)), Some(TokenTree::Ident(alias))) =
                    (tokens.get(j), tokens.get(j + 1))
                    && kw == "as"
                    && (path.len() > 1
                        || (i > 0 && matches!(&tokens[i - 1], TokenTree::Ident(k) if k == "crate")))
                {
                    let mut full = path.clone();
                    if full.last().is_some_and(|s| s == "self") {
                        full.pop();
                    }
                    if full.first().is_some_and(|s| s == "extern") {
                        full.remove(0);
                    }
                    out.aliases.insert(ident(alias), full);
                    classify(&path, line, out);
                    i = j + 2;
                    continue;
                }
                // A macro call: `include_bytes!("…")` and friends.
                if path.len() == 1
                    && matches!(name.as_str(), "include" | "include_str" | "include_bytes")
                    && matches!(tokens.get(j), Some(TokenTree::Punct(p)) if p.as_char() == '!')
                    && let Some(TokenTree::Group(g)) = tokens.get(j + 1)
                    && let Some(TokenTree::Literal(l)) = g.stream().into_iter().next()
                    && let Some(target) = string_value(&l)
                {
                    let ext = target.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
                    if name == "include_bytes"
                        && !ext.is_some_and(|e| TEXT_EXTENSIONS.contains(&e.as_str()))
                    {
                        out.hits.push(Hit {
                            code: ReviewCode::Obfuscation,
                            line,
                            what: format!("include_bytes!(\"{target}\")"),
                        });
                    }
                    out.includes.push(target);
                }
                classify(&path, line, out);
                i = j;
            }
            TokenTree::Group(g) => {
                walk(g.stream(), &[], out);
                i += 1;
            }
            TokenTree::Literal(l) => {
                if let Some(v) = string_value(l) {
                    literal(&v, l.span().start().line, out);
                }
                i += 1;
            }
            TokenTree::Punct(_) => i += 1,
        }
    }
}

fn is_colon2(tokens: &[TokenTree], j: usize) -> bool {
    matches!(
        (tokens.get(j), tokens.get(j + 1)),
        (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b)))
            if a.as_char() == ':' && b.as_char() == ':'
    )
}

/// What a path does.
fn classify(path: &[String], line: usize, out: &mut Scan) {
    let seg = |i: usize| path.get(i).map(String::as_str).unwrap_or_default();
    let has = |a: &str, b: &str| path.windows(2).any(|w| w[0] == a && w[1] == b);
    let last = path.last().map(String::as_str).unwrap_or_default();
    let joined = path.join("::");
    let spawn = has("process", "Command")
        || (has("std", "process") && last == "*")
        || last == "CommandExt"
        || (matches!(seg(0), "libc" | "nix" | "rustix")
            && path.iter().any(|s| EXEC_FNS.contains(&s.as_str())));
    if spawn {
        out.hits.push(Hit {
            code: ReviewCode::ProcessSpawn,
            line,
            what: joined.clone(),
        });
    }
    let net = has("std", "net")
        || (has("net", "TcpStream") || has("net", "UdpSocket") || has("net", "TcpListener"))
        || matches!(last, "TcpStream" | "UdpSocket" | "TcpListener")
        || (matches!(seg(0), "tokio" | "async_std" | "mio" | "smol") && seg(1) == "net")
        || NET_CRATES.contains(&seg(0));
    if net {
        out.hits.push(Hit {
            code: ReviewCode::NetworkAccess,
            line,
            what: joined.clone(),
        });
    }
    if (has("env", "vars") || has("env", "vars_os")) && matches!(last, "vars" | "vars_os") {
        out.hits.push(Hit {
            code: ReviewCode::EnvSecrets,
            line,
            what: format!("{joined} (every environment variable)"),
        });
    }
}

/// Whether a literal names a secret: a variable such as `GITHUB_TOKEN` or `AWS_SECRET_ACCESS_KEY`,
/// `HOME`, or a credentials file.
fn names_secret(v: &str) -> bool {
    let var_like = !v.is_empty()
        && v.len() <= 64
        && v.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if var_like
        && (v.ends_with("_TOKEN")
            || v.ends_with("_KEY")
            || v.contains("SECRET")
            || v.contains("PASSWORD")
            || v.starts_with("AWS_")
            || v == "HOME"
            || v == "USERPROFILE")
    {
        return true;
    }
    [
        ".ssh",
        ".cargo/credentials",
        ".aws/credentials",
        ".netrc",
        ".git-credentials",
        ".docker/config.json",
        ".gnupg",
    ]
    .iter()
    .any(|p| v.contains(p))
}

fn literal(v: &str, line: usize, out: &mut Scan) {
    if names_secret(v) {
        out.hits.push(Hit {
            code: ReviewCode::EnvSecrets,
            line,
            what: format!("\"{v}\""),
        });
    }
    if let Some(kind) = encoded_run(v) {
        out.hits.push(Hit {
            code: ReviewCode::Obfuscation,
            line,
            what: format!("a {}-character {kind} literal", v.len()),
        });
    }
}

/// `Some("base64")` or `Some("hex")` for a literal holding a long run of encoded data.
fn encoded_run(v: &str) -> Option<&'static str> {
    let longest = |ok: &dyn Fn(char) -> bool| {
        let (mut best, mut run) = (0usize, 0usize);
        for c in v.chars() {
            run = if ok(c) { run + 1 } else { 0 };
            best = best.max(run);
        }
        best
    };
    if longest(&|c: char| c.is_ascii_hexdigit()) >= 128 {
        return Some("hex");
    }
    let b64 = |c: char| c.is_ascii_alphanumeric() || "+/=-_".contains(c);
    let mixed = v.chars().any(|c| c.is_ascii_uppercase())
        && v.chars().any(|c| c.is_ascii_lowercase())
        && v.chars().any(|c| c.is_ascii_digit());
    (mixed && longest(&b64) >= 200).then_some("base64")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(text: &str) -> Vec<(ReviewCode, usize, String)> {
        scan(text)
            .hits
            .into_iter()
            .map(|h| (h.code, h.line, h.what))
            .collect()
    }

    #[test]
    fn paths_in_code_and_macros_count_comments_and_strings_do_not() {
        let text = "\
// std::process::Command::new(\"sh\") in a comment
/* std::net::TcpStream */
use std::{process::Command, net::TcpStream as T};
fn main() {
    let s = \"std::process::Command and reqwest::get\";
    let v = vec![libc::execv(a, b)];
    let _ = ::reqwest::blocking::get(\"http://x\");
}
";
        let got = codes(text);
        assert!(got.contains(&(ReviewCode::ProcessSpawn, 3, "std::process::Command".into())));
        assert!(got.contains(&(ReviewCode::NetworkAccess, 3, "std::net::TcpStream".into())));
        assert!(got.contains(&(ReviewCode::ProcessSpawn, 6, "libc::execv".into())));
        assert!(got.contains(&(
            ReviewCode::NetworkAccess,
            7,
            "reqwest::blocking::get".into()
        )));
        assert!(
            got.iter().all(|(_, l, _)| ![1, 2, 5].contains(l)),
            "comments and strings: {got:?}"
        );
    }

    #[test]
    fn secrets_encoded_literals_includes_modules_and_unsafe() {
        let b64 = "QUJD".repeat(60) + "x9";
        let text = format!(
            "#[path = \"gen/x.rs\"] mod x;\nmod y;\nfn main() {{\n    let t = std::env::var(\"GITHUB_TOKEN\");\n    let k = std::fs::read(\"/root/.ssh/id_rsa\");\n    let b = \"{b64}\";\n    let p = include_bytes!(\"payload.bin\");\n    let q = include_str!(\"README.md\");\n    unsafe {{ f() }}\n    for (k, v) in std::env::vars() {{}}\n}}\n"
        );
        let s = scan(&text);
        let got: Vec<(ReviewCode, usize)> = s.hits.iter().map(|h| (h.code, h.line)).collect();
        assert!(got.contains(&(ReviewCode::EnvSecrets, 4)), "{got:?}");
        assert!(got.contains(&(ReviewCode::EnvSecrets, 5)), "{got:?}");
        assert!(got.contains(&(ReviewCode::Obfuscation, 6)), "{got:?}");
        assert!(got.contains(&(ReviewCode::Obfuscation, 7)), "{got:?}");
        assert!(!got.contains(&(ReviewCode::Obfuscation, 8)), "{got:?}");
        assert!(got.contains(&(ReviewCode::EnvSecrets, 10)), "{got:?}");
        assert_eq!(s.unsafe_lines, vec![9]);
        assert_eq!(
            s.modules,
            vec![("x".into(), Some("gen/x.rs".into())), ("y".into(), None)]
        );
        assert_eq!(s.includes, vec!["payload.bin", "README.md"]);
        assert!(s.unparsed.is_none());
        // Plain words are not secrets; a short hex digest is not encoded data.
        let quiet = scan("fn f() { let a = \"HOME page\"; let h = \"deadbeef\"; }");
        assert!(quiet.hits.is_empty(), "{:?}", quiet.hits);
    }

    #[test]
    fn renamed_imports_and_raw_identifiers_do_not_hide_a_path() {
        let text = "\
use std::process as p;
use std::{net::{self as n}};
extern crate libc as c;
fn main() {
    p::Command::new(\"sh\");
    n::TcpStream::connect(\"x\");
    c::execv(a, b);
    std::process::r#Command::new(\"sh\");
}
";
        let got = codes(text);
        for (code, line) in [
            (ReviewCode::ProcessSpawn, 5),
            (ReviewCode::NetworkAccess, 6),
            (ReviewCode::ProcessSpawn, 7),
            (ReviewCode::ProcessSpawn, 8),
        ] {
            assert!(
                got.iter().any(|(c, l, _)| *c == code && *l == line),
                "{code:?} at {line}: {got:?}"
            );
        }
    }

    #[test]
    fn a_file_that_does_not_parse_is_said_so_and_still_scanned() {
        let s = scan("fn main( { std::process::Command::new(\"sh\"); }");
        assert!(s.unparsed.is_some());
        let s = scan("fn f() { let x = 1 +; std::process::Command::new(\"sh\"); }");
        assert!(s.unparsed.is_some());
        assert!(s.hits.iter().any(|h| h.code == ReviewCode::ProcessSpawn));
    }
}
