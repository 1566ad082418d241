//! `Registry`: a sparse cargo registry on 127.0.0.1 served by tiny_http from
//! a background thread, plus a minimal HTTP client to probe it.
//!
//! State lives behind a mutex that the server reads on every request, so a
//! test may publish, yank or tamper at any point, including after cargo has
//! already read the index. The server thread is bounded: it stops when the
//! `Registry` is dropped, after [`HARD_DEADLINE`], or after
//! [`MAX_REQUESTS`], whichever comes first.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tiny_http::{Header, Request, Response};

use crate::krate::CrateBuilder;
use crate::server::Loopback;

pub use crate::server::{HARD_DEADLINE, MAX_REQUESTS};
const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);

/// What `publish` stored: `cksum` is the hex sha256 of `bytes`, the same
/// value the index line and a resulting `Cargo.lock` carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Published {
    pub name: String,
    pub version: String,
    pub cksum: String,
    pub bytes: Vec<u8>,
}

/// One request the server answered, in arrival order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Served {
    pub method: String,
    /// Path and query as sent, e.g. `/index/3/a/abc`.
    pub path: String,
    pub status: u16,
    /// The client's User-Agent.
    pub user_agent: Option<String>,
    /// When it arrived.
    pub at: std::time::Instant,
}

#[derive(Default)]
struct State {
    /// Lowercased name -> versions in publish order.
    crates: BTreeMap<String, Vec<Version>>,
    /// Lowercased name -> repository URL the web API reports.
    repositories: BTreeMap<String, String>,
    /// (lowercased name, version) -> the login the web API says published it.
    publishers: BTreeMap<(String, String), String>,
    log: Vec<Served>,
}

struct Version {
    version: String,
    line: Value,
    bytes: Vec<u8>,
}

pub struct Registry {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    _server: Loopback,
}

impl Registry {
    pub fn start() -> Registry {
        let state = Arc::new(Mutex::new(State::default()));
        let server = {
            let state = Arc::clone(&state);
            Loopback::start("slsa-tests-registry", move |request, addr| {
                respond(request, addr, &state)
            })
        };
        Registry {
            addr: server.addr(),
            state,
            _server: server,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `sparse+http://127.0.0.1:PORT/index/`, for `[source.*] registry`.
    pub fn index_url(&self) -> String {
        format!("sparse+{}/index/", self.base_url())
    }

    /// The repository URL the web API (`/api/v1/crates/NAME`) reports for `name`.
    pub fn set_repository(&self, name: &str, url: &str) {
        self.lock()
            .repositories
            .insert(name.to_lowercase(), url.to_owned());
    }

    /// The account the web API (`/api/v1/crates/NAME/VERSION`) says published `name`
    /// `version` (`version.published_by.login`).
    pub fn set_publisher(&self, name: &str, version: &str, login: &str) {
        self.lock()
            .publishers
            .insert((name.to_lowercase(), version.to_owned()), login.to_owned());
    }

    /// Panics if that name and version already exist, as a real registry
    /// refuses; use [`Registry::replace`] to model a rewritten release.
    pub fn publish(&self, krate: CrateBuilder) -> Published {
        let published = packed(&krate);
        let mut state = self.lock();
        let versions = state.crates.entry(krate.name().to_lowercase()).or_default();
        assert!(
            !versions.iter().any(|v| v.version == krate.version()),
            "{} {} is already published",
            krate.name(),
            krate.version()
        );
        versions.push(Version {
            version: published.version.clone(),
            line: krate.index_entry(&published.cksum),
            bytes: published.bytes.clone(),
        });
        published
    }

    /// Swaps an already published version's archive and index line in place
    /// (new checksum included), keeping its position in the index file.
    pub fn replace(&self, krate: CrateBuilder) -> Published {
        let published = packed(&krate);
        let mut state = self.lock();
        let slot = state
            .crates
            .get_mut(&krate.name().to_lowercase())
            .and_then(|vs| vs.iter_mut().find(|v| v.version == krate.version()))
            .unwrap_or_else(|| {
                panic!(
                    "replace: {} {} was never published",
                    krate.name(),
                    krate.version()
                )
            });
        slot.line = krate.index_entry(&published.cksum);
        slot.bytes = published.bytes.clone();
        published
    }

    /// Serves `bytes` as the download while the index keeps the original
    /// checksum: a compromised mirror or CDN.
    pub fn tamper_download(&self, name: &str, version: &str, bytes: Vec<u8>) {
        self.with_version(name, version, |v| v.bytes = bytes);
    }

    pub fn yank(&self, name: &str, version: &str) {
        self.set_yanked(name, version, true);
    }

    pub fn unyank(&self, name: &str, version: &str) {
        self.set_yanked(name, version, false);
    }

    fn set_yanked(&self, name: &str, version: &str, yanked: bool) {
        self.with_version(name, version, |v| v.line["yanked"] = json!(yanked));
    }

    fn with_version(&self, name: &str, version: &str, f: impl FnOnce(&mut Version)) {
        let mut state = self.lock();
        let slot = state
            .crates
            .get_mut(&name.to_lowercase())
            .and_then(|vs| vs.iter_mut().find(|v| v.version == version))
            .unwrap_or_else(|| panic!("{name} {version} was never published"));
        f(slot);
    }

    /// The index file as currently served, or `None` if the name is unknown.
    pub fn index_file(&self, name: &str) -> Option<String> {
        index_body(&self.lock(), &name.to_lowercase())
    }

    /// Paths of every request received so far (any status), in order.
    pub fn requests(&self) -> Vec<String> {
        self.lock().log.iter().map(|s| s.path.clone()).collect()
    }

    /// Every request with its method and the status it got.
    pub fn request_log(&self) -> Vec<Served> {
        self.lock().log.clone()
    }

    /// Forgets the request log, so a test can assert what a second run
    /// fetched on its own.
    pub fn clear_requests(&self) {
        self.lock().log.clear();
    }

    /// A plain HTTP/1.1 GET to this registry (`path` like `/index/1/a`),
    /// for tests that probe the server itself, e.g. its caching headers.
    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> HttpResponse {
        http_get(self.addr, path, headers)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }
}

fn packed(krate: &CrateBuilder) -> Published {
    let bytes = krate.build();
    Published {
        name: krate.name().to_owned(),
        version: krate.version().to_owned(),
        cksum: sha256_hex(&bytes),
        bytes,
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // The state is plain data, valid after any panic, so poison carries no
    // information worth failing on.
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Cargo's sparse index path for a crate name, relative to the index root:
/// `1/a`, `2/ab`, `3/a/abc`, `ab/cd/abcd…`, always lowercased.
pub fn index_path(name: &str) -> String {
    let name = name.to_lowercase();
    match name.len() {
        1 => format!("1/{name}"),
        2 => format!("2/{name}"),
        3 => format!("3/{}/{name}", &name[..1]),
        _ => format!("{}/{}/{name}", &name[..2], &name[2..4]),
    }
}

fn index_body(state: &State, lowercase_name: &str) -> Option<String> {
    let versions = state.crates.get(lowercase_name)?;
    let mut body = String::new();
    for v in versions {
        body.push_str(&v.line.to_string());
        body.push('\n');
    }
    Some(body)
}

fn respond(request: Request, addr: SocketAddr, state: &Mutex<State>) {
    let method = request.method().as_str().to_owned();
    let path = request.url().to_owned();
    let route = path.split('?').next().unwrap_or_default();
    let found = {
        let state = lock(state);
        lookup(&state, addr, route)
    };
    let user_agent: Option<String> = request
        .headers()
        .iter()
        .find(|h| h.field.equiv("User-Agent"))
        .map(|h| h.value.as_str().to_owned());
    let if_none_match: Option<String> = request
        .headers()
        .iter()
        .find(|h| h.field.equiv("If-None-Match"))
        .map(|h| h.value.as_str().to_owned());

    let (status, response) = match found {
        None => (404, Response::from_data(b"not found\n".to_vec())),
        Some((body, content_type)) => {
            let etag = format!("\"{}\"", sha256_hex(&body));
            let fresh = if_none_match
                .as_deref()
                .is_some_and(|v| etag_matches(v, &etag));
            let response = if fresh {
                Response::from_data(Vec::new()).with_status_code(304)
            } else {
                Response::from_data(body).with_header(header("Content-Type", content_type))
            };
            let status = if fresh { 304 } else { 200 };
            (status, response.with_header(header("ETag", &etag)))
        }
    };
    lock(state).log.push(Served {
        method,
        path,
        status,
        user_agent,
        at: std::time::Instant::now(),
    });
    // Content-Length on every response keeps the kit's own client simple.
    let response = response
        .with_status_code(status)
        .with_chunked_threshold(usize::MAX);
    // The client may have hung up; nothing to do about it from here.
    let _ = request.respond(response);
}

fn lookup(state: &State, addr: SocketAddr, route: &str) -> Option<(Vec<u8>, &'static str)> {
    if route == "/index/config.json" {
        let config = json!({
            "dl": format!("http://{addr}/dl/{{crate}}/{{version}}/download"),
            "api": format!("http://{addr}"),
        });
        return Some((config.to_string().into_bytes(), "application/json"));
    }
    if let Some(rel) = route.strip_prefix("/index/") {
        let name = rel.rsplit('/').next()?;
        // Only the canonical location answers, as on crates.io: a client
        // that computes the wrong path should see a 404, not a lucky hit.
        if name.is_empty() || index_path(name) != rel {
            return None;
        }
        let body = index_body(state, name)?;
        return Some((body.into_bytes(), "text/plain"));
    }
    // The web API's crate endpoint (crates.io's shape, the fields cargo-slsa reads).
    if let Some(rest) = route.strip_prefix("/api/v1/crates/")
        && let Some((name, version)) = rest.split_once('/')
    {
        let key = name.to_lowercase();
        let versions = state.crates.get(&key)?;
        versions.iter().find(|v| v.version == version)?;
        let login = state.publishers.get(&(key, version.to_owned()));
        let body = json!({"version": {
            "crate": name,
            "num": version,
            "published_by": login.map(|l| json!({"login": l})),
        }});
        return Some((body.to_string().into_bytes(), "application/json"));
    }
    if let Some(name) = route.strip_prefix("/api/v1/crates/") {
        let key = name.to_lowercase();
        state.crates.get(&key)?;
        let body = json!({"crate": {
            "name": name,
            "repository": state.repositories.get(&key),
        }});
        return Some((body.to_string().into_bytes(), "application/json"));
    }
    if let Some(rest) = route.strip_prefix("/dl/") {
        let mut parts = rest.split('/');
        let (name, version, tail, extra) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next());
        if tail != "download" || extra.is_some() {
            return None;
        }
        let bytes = state
            .crates
            .get(&name.to_lowercase())?
            .iter()
            .find(|v| v.version == version)?
            .bytes
            .clone();
        return Some((bytes, "application/x-tar"));
    }
    None
}

/// RFC 9110 weak comparison, which is what If-None-Match uses.
fn etag_matches(if_none_match: &str, etag: &str) -> bool {
    if_none_match.split(',').map(str::trim).any(|candidate| {
        candidate == "*" || candidate.strip_prefix("W/").unwrap_or(candidate) == etag
    })
}

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes())
        .expect("header names and values built by the kit are ASCII")
}

/// A response read by [`Registry::get`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// Case-insensitive header lookup.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One request per connection with `Connection: close`, so reading to EOF
/// delimits the response; every step has a timeout.
fn http_get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> HttpResponse {
    let mut stream =
        TcpStream::connect_timeout(&addr, CLIENT_TIMEOUT).expect("connect to the kit registry");
    stream
        .set_read_timeout(Some(CLIENT_TIMEOUT))
        .expect("set read timeout");
    stream
        .set_write_timeout(Some(CLIENT_TIMEOUT))
        .expect("set write timeout");
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream
        .write_all(request.as_bytes())
        .expect("send the request");
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .expect("read the response within the timeout");
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> HttpResponse {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("response has a header terminator");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("malformed status line {status_line:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let length = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("Content-Length"))
        .and_then(|(_, v)| v.parse::<usize>().ok());
    if let Some(length) = length {
        body.truncate(length);
    }
    HttpResponse {
        status,
        headers,
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_paths_follow_cargo_layout() {
        assert_eq!(index_path("a"), "1/a");
        assert_eq!(index_path("AB"), "2/ab");
        assert_eq!(index_path("abc"), "3/a/abc");
        assert_eq!(index_path("Serde_Json"), "se/rd/serde_json");
        assert_eq!(index_path("leaf"), "le/af/leaf");
    }

    #[test]
    fn etag_comparison_is_weak_and_list_aware() {
        assert!(etag_matches("\"x\"", "\"x\""));
        assert!(etag_matches("W/\"x\"", "\"x\""));
        assert!(etag_matches("\"y\", \"x\"", "\"x\""));
        assert!(etag_matches("*", "\"x\""));
        assert!(!etag_matches("\"y\"", "\"x\""));
    }

    #[test]
    fn unknown_paths_are_404_and_logged() {
        let registry = Registry::start();
        assert_eq!(registry.get("/nope", &[]).status, 404);
        assert_eq!(registry.get("/index/3/a/zzz", &[]).status, 404);
        registry.publish(CrateBuilder::new("abc", "1.0.0"));
        // Right name, wrong shard: only the canonical path answers.
        assert_eq!(registry.get("/index/ab/c/abc", &[]).status, 404);
        assert_eq!(registry.get("/index/3/a/abc", &[]).status, 200);
        assert_eq!(registry.get("/dl/abc/9.9.9/download", &[]).status, 404);
        let log = registry.request_log();
        assert_eq!(log.len(), 5);
        assert_eq!(log[0].method, "GET");
        assert_eq!(log[0].path, "/nope");
        assert_eq!(
            log.iter().map(|s| s.status).collect::<Vec<_>>(),
            [404, 404, 404, 200, 404]
        );
        registry.clear_requests();
        assert!(registry.requests().is_empty());
    }

    #[test]
    fn config_points_downloads_back_at_the_server() {
        let registry = Registry::start();
        let response = registry.get("/index/config.json", &[]);
        assert_eq!(response.status, 200);
        let config: Value = serde_json::from_slice(&response.body).expect("config is JSON");
        assert_eq!(
            config["dl"],
            format!("{}/dl/{{crate}}/{{version}}/download", registry.base_url())
        );
        assert_eq!(config["api"], registry.base_url());

        let published = registry.publish(CrateBuilder::new("dl-me", "0.1.0"));
        let download = registry.get("/dl/dl-me/0.1.0/download", &[]);
        assert_eq!(download.status, 200);
        assert_eq!(download.body, published.bytes);
        assert_eq!(sha256_hex(&download.body), published.cksum);

        registry.tamper_download("dl-me", "0.1.0", b"evil".to_vec());
        assert_eq!(registry.get("/dl/dl-me/0.1.0/download", &[]).body, b"evil");
        let line: Value =
            serde_json::from_str(registry.index_file("dl-me").expect("published").trim_end())
                .expect("index line is JSON");
        assert_eq!(
            line["cksum"], published.cksum,
            "the index keeps the honest sum"
        );
    }
}
