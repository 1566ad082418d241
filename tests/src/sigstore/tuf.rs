//! `TufRepo`: a TUF repository (spec 1.0) that Sigstore clients refresh `trusted_root.json` and
//! `signing_config.v0.2.json` from, as `sigstore-tuf`'s `Updater` fetches them.
//!
//! The layout is the consistent-snapshot one: `N.root.json`, an unversioned `timestamp.json`,
//! `N.snapshot.json`, `N.targets.json`, and each target at `targets/<sha256-hex>.<name>` (the
//! hash prefixes the file name, not the directory). Each top-level role has its own Ed25519 key,
//! threshold 1; keyids are the spec's hex SHA-256 of the key object's canonical JSON.
//! Signatures cover the OLPC/securesystemslib canonical JSON of `signed`, written here
//! independently of the client under test. Old versioned files stay served after a
//! publication, as consistent snapshots require.
//!
//! Knobs make the attacks a client must refuse: a stale (expired) timestamp, a target changed
//! under its signed hash, and targets metadata changed without re-signing.

use std::collections::BTreeMap;

use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair as _};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

/// The TUF specification version the metadata declares.
const SPEC_VERSION: &str = "1.0.31";

/// How long freshly signed metadata stays valid.
const LIFETIME: Duration = Duration::days(7);

/// TUF canonical JSON (securesystemslib / OLPC): object keys sorted, no whitespace, integers
/// only, and strings escaping nothing but `"` and `\`.
fn canonical_json(value: &Value) -> Vec<u8> {
    fn string(s: &str, out: &mut Vec<u8>) {
        out.push(b'"');
        for &byte in s.as_bytes() {
            if byte == b'"' || byte == b'\\' {
                out.push(b'\\');
            }
            out.push(byte);
        }
        out.push(b'"');
    }
    fn encode(value: &Value, out: &mut Vec<u8>) {
        match value {
            Value::Null => out.extend_from_slice(b"null"),
            Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            Value::Number(n) => {
                assert!(n.is_i64() || n.is_u64(), "TUF canonical JSON has no floats");
                out.extend_from_slice(n.to_string().as_bytes());
            }
            Value::String(s) => string(s, out),
            Value::Array(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    out.extend_from_slice(if i > 0 { b"," } else { b"" });
                    encode(item, out);
                }
                out.push(b']');
            }
            Value::Object(map) => {
                let mut entries: Vec<_> = map.iter().collect();
                entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
                out.push(b'{');
                for (i, (key, item)) in entries.into_iter().enumerate() {
                    out.extend_from_slice(if i > 0 { b"," } else { b"" });
                    string(key, out);
                    out.push(b':');
                    encode(item, out);
                }
                out.push(b'}');
            }
        }
    }
    let mut out = Vec::new();
    encode(value, &mut out);
    out
}

/// RFC 3339 in TUF's form, `YYYY-MM-DDTHH:MM:SSZ` (UTC, whole seconds).
fn rfc3339(at: OffsetDateTime) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    at.to_offset(time::UtcOffset::UTC)
        .format(format)
        .expect("format a UTC timestamp")
}

/// `{"version", "length", "hashes": {"sha256"}}`: how a parent role pins a metadata file.
fn meta_file(bytes: &[u8], version: u64) -> Value {
    json!({
        "version": version,
        "length": bytes.len(),
        "hashes": {"sha256": hex::encode(Sha256::digest(bytes))},
    })
}

/// One role's signing key, its TUF key object (raw public key in hex) and keyid.
struct Signer {
    key: Ed25519KeyPair,
    key_json: Value,
    keyid: String,
}

impl Signer {
    fn generate() -> Signer {
        let key = Ed25519KeyPair::generate().expect("generate an Ed25519 key");
        let key_json = json!({
            "keytype": "ed25519",
            "scheme": "ed25519",
            "keyval": {"public": hex::encode(key.public_key().as_ref())},
        });
        let keyid = hex::encode(Sha256::digest(canonical_json(&key_json)));
        Signer {
            key,
            key_json,
            keyid,
        }
    }

    /// `{"signed": ..., "signatures": [...]}` signed over the canonical `signed`.
    fn sign(&self, signed: Value) -> Vec<u8> {
        let sig = hex::encode(self.key.sign(&canonical_json(&signed)).as_ref());
        let doc = json!({"signed": signed, "signatures": [{"keyid": self.keyid, "sig": sig}]});
        serde_json::to_vec_pretty(&doc).expect("serialize metadata")
    }
}

/// A TUF repository with one Ed25519 key per top-level role, serving consistent snapshots.
pub struct TufRepo {
    timestamp_key: Signer,
    snapshot_key: Signer,
    targets_key: Signer,
    /// Everything served, by repository-relative path.
    files: BTreeMap<String, Vec<u8>>,
    timestamp_version: u64,
    snapshot_version: u64,
    targets_version: u64,
    /// Current target name → the path its bytes are served at.
    target_paths: BTreeMap<String, String>,
}

impl TufRepo {
    /// A repository signed with fresh test keys (Ed25519, one key per top-level role, threshold
    /// 1; `consistent_snapshot: true`), all metadata version 1 expiring in 7 days, holding
    /// `targets` (name, bytes).
    pub fn new(targets: &[(&str, Vec<u8>)]) -> TufRepo {
        let root_key = Signer::generate();
        let mut repo = TufRepo {
            timestamp_key: Signer::generate(),
            snapshot_key: Signer::generate(),
            targets_key: Signer::generate(),
            files: BTreeMap::new(),
            timestamp_version: 0,
            snapshot_version: 0,
            targets_version: 0,
            target_paths: BTreeMap::new(),
        };
        let mut keys = Map::new();
        let mut roles = Map::new();
        for (role, signer) in [
            ("root", &root_key),
            ("timestamp", &repo.timestamp_key),
            ("snapshot", &repo.snapshot_key),
            ("targets", &repo.targets_key),
        ] {
            keys.insert(signer.keyid.clone(), signer.key_json.clone());
            roles.insert(
                role.into(),
                json!({"keyids": [signer.keyid], "threshold": 1}),
            );
        }
        let root = root_key.sign(json!({
            "_type": "root",
            "spec_version": SPEC_VERSION,
            "version": 1,
            "expires": rfc3339(OffsetDateTime::now_utc() + LIFETIME),
            "consistent_snapshot": true,
            "keys": keys,
            "roles": roles,
        }));
        repo.files.insert("1.root.json".into(), root);
        repo.set_targets(targets);
        repo
    }

    /// The bytes of `1.root.json`, which a client is given as its trusted bootstrap root.
    pub fn root_json(&self) -> Vec<u8> {
        self.files["1.root.json"].clone()
    }

    /// What the repository serves at `path` (relative, no leading slash): `N.root.json`,
    /// `timestamp.json`, `N.snapshot.json`, `N.targets.json`, `targets/<sha256-hex>.<name>`.
    /// `None` = 404 (e.g. `2.root.json`, which a client probes for a root rotation).
    pub fn get(&self, path: &str) -> Option<Vec<u8>> {
        self.files.get(path).cloned()
    }

    /// Publish new target contents: new targets, snapshot and timestamp versions, re-signed.
    pub fn set_targets(&mut self, targets: &[(&str, Vec<u8>)]) {
        let mut listed = Map::new();
        self.target_paths.clear();
        for (name, bytes) in targets {
            let hash = hex::encode(Sha256::digest(bytes));
            // Consistent targets: the hash prefixes the file name, not the directory.
            let path = match name.rsplit_once('/') {
                Some((dir, base)) => format!("targets/{dir}/{hash}.{base}"),
                None => format!("targets/{hash}.{name}"),
            };
            listed.insert(
                (*name).into(),
                json!({"length": bytes.len(), "hashes": {"sha256": hash}}),
            );
            self.files.insert(path.clone(), bytes.clone());
            self.target_paths.insert((*name).into(), path);
        }
        self.targets_version += 1;
        let signed = self.targets_key.sign(json!({
            "_type": "targets",
            "spec_version": SPEC_VERSION,
            "version": self.targets_version,
            "expires": rfc3339(OffsetDateTime::now_utc() + LIFETIME),
            "targets": listed,
        }));
        self.publish_targets_metadata(signed);
    }

    /// Re-sign `timestamp.json` (new version) so that it expired an hour ago: a freeze attack /
    /// stale mirror.
    pub fn expire_timestamp(&mut self) {
        self.publish_timestamp(OffsetDateTime::now_utc() - Duration::hours(1));
    }

    /// Change a served target's bytes after its hash was signed into targets.json (a tampered
    /// mirror); the metadata stays validly signed. Panics if `name` is not a current target.
    pub fn tamper_target(&mut self, name: &str) {
        let path = self
            .target_paths
            .get(name)
            .unwrap_or_else(|| panic!("no target named {name:?} to tamper with"));
        let bytes = self
            .files
            .get_mut(path)
            .expect("every current target is served");
        match bytes.last_mut() {
            Some(last) => *last ^= 0x01,
            None => bytes.push(b'!'),
        }
    }

    /// Change the signed content of targets.json without re-signing it: a new `N.targets.json`
    /// whose version is bumped and whose target hashes point at other bytes, still carrying the
    /// old signature. Snapshot (re-signed) pins its true length and hash, and a new timestamp
    /// pins that snapshot, so only the targets signature check can catch it.
    pub fn tamper_targets_metadata(&mut self) {
        let current = &self.files[&format!("{}.targets.json", self.targets_version)];
        let mut doc: Value = serde_json::from_slice(current).expect("our own targets.json");
        self.targets_version += 1;
        doc["signed"]["version"] = json!(self.targets_version);
        let evil = b"bytes the attacker wants installed";
        if let Some(targets) = doc["signed"]["targets"].as_object_mut() {
            for entry in targets.values_mut() {
                entry["length"] = json!(evil.len());
                entry["hashes"] = json!({"sha256": hex::encode(Sha256::digest(evil))});
            }
        }
        let bytes = serde_json::to_vec_pretty(&doc).expect("serialize metadata");
        self.publish_targets_metadata(bytes);
    }

    /// Serve `bytes` as the current `N.targets.json`, then a snapshot pinning it and a timestamp
    /// pinning that snapshot.
    fn publish_targets_metadata(&mut self, bytes: Vec<u8>) {
        let targets_meta = meta_file(&bytes, self.targets_version);
        self.files
            .insert(format!("{}.targets.json", self.targets_version), bytes);
        self.snapshot_version += 1;
        let snapshot = self.snapshot_key.sign(json!({
            "_type": "snapshot",
            "spec_version": SPEC_VERSION,
            "version": self.snapshot_version,
            "expires": rfc3339(OffsetDateTime::now_utc() + LIFETIME),
            "meta": {"targets.json": targets_meta},
        }));
        self.files
            .insert(format!("{}.snapshot.json", self.snapshot_version), snapshot);
        self.publish_timestamp(OffsetDateTime::now_utc() + LIFETIME);
    }

    /// A new `timestamp.json` version pinning the current snapshot, expiring at `expires`.
    fn publish_timestamp(&mut self, expires: OffsetDateTime) {
        let snapshot = &self.files[&format!("{}.snapshot.json", self.snapshot_version)];
        let snapshot_meta = meta_file(snapshot, self.snapshot_version);
        self.timestamp_version += 1;
        let timestamp = self.timestamp_key.sign(json!({
            "_type": "timestamp",
            "spec_version": SPEC_VERSION,
            "version": self.timestamp_version,
            "expires": rfc3339(expires),
            "meta": {"snapshot.json": snapshot_meta},
        }));
        self.files.insert("timestamp.json".into(), timestamp);
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::Debug;
    use std::str::FromStr;
    use std::sync::{Arc, Mutex};

    use sigstore_tuf::transport::{FetchFuture, Repository};
    use sigstore_tuf::{Error, Metadata, Root, TrustedMetadataSet, Updater};

    use super::*;

    const TRUSTED_ROOT: &str = "trusted_root.json";
    const SIGNING_CONFIG: &str = "signing_config.v0.2.json";

    /// Generation `g` of the two targets Sigstore clients fetch.
    fn targets(g: u8) -> Vec<(&'static str, Vec<u8>)> {
        let root = format!("{{\"root\": {g}}}\n").into_bytes();
        let config = format!("{{\"config\": {g}}}").into_bytes();
        vec![(TRUSTED_ROOT, root), (SIGNING_CONFIG, config)]
    }

    /// Serves `TufRepo::get` as the kit's HTTP server does (`/tuf/<name>` for metadata,
    /// `/tuf/targets/<path>` for targets; `None` = 404), honoring the client's length bound.
    #[derive(Clone)]
    struct Mirror(Arc<Mutex<TufRepo>>);

    impl Mirror {
        fn new(targets: &[(&str, Vec<u8>)]) -> Mirror {
            Mirror(Arc::new(Mutex::new(TufRepo::new(targets))))
        }

        fn repo(&self) -> std::sync::MutexGuard<'_, TufRepo> {
            self.0.lock().expect("TUF repo lock")
        }

        fn fetch(&self, path: &str, max_length: u64) -> sigstore_tuf::Result<Option<Vec<u8>>> {
            match self.repo().get(path) {
                Some(bytes) if bytes.len() as u64 > max_length => Err(Error::transport(format!(
                    "{path} is longer than {max_length}"
                ))),
                found => Ok(found),
            }
        }

        /// A fresh client bootstrapped from `1.root.json`.
        fn updater(&self) -> Updater {
            let root = self.repo().root_json();
            Updater::new(self.clone(), &root).expect("the bootstrap root is self-signed")
        }
    }

    impl Repository for Mirror {
        fn fetch_metadata<'a>(&'a self, name: &'a str, max_length: u64) -> FetchFuture<'a> {
            let found = self.fetch(name, max_length);
            Box::pin(async move { found })
        }

        fn fetch_target<'a>(&'a self, path: &'a str, max_length: u64) -> FetchFuture<'a> {
            let found = self.fetch(&format!("targets/{path}"), max_length);
            Box::pin(async move { found })
        }
    }

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("tokio runtime")
            .block_on(future)
    }

    /// Now, as the timestamp type `Updater` takes (jiff's, parsed from RFC 3339).
    fn now<T: FromStr>() -> T
    where
        T::Err: Debug,
    {
        rfc3339(OffsetDateTime::now_utc())
            .parse()
            .expect("RFC 3339 timestamp")
    }

    fn refresh(updater: &mut Updater) -> sigstore_tuf::Result<()> {
        block_on(updater.refresh(now()))
    }

    fn get_target(updater: &mut Updater, name: &str) -> sigstore_tuf::Result<Vec<u8>> {
        block_on(updater.get_target(name, now()))
    }

    /// Refresh a fresh client and fetch every target in `expected`, comparing bytes.
    fn assert_serves(mirror: &Mirror, expected: &[(&str, Vec<u8>)]) {
        let mut updater = mirror.updater();
        refresh(&mut updater).expect("refresh from the fake");
        for (name, bytes) in expected {
            let got = get_target(&mut updater, name).expect("fetch a target");
            assert_eq!(&got, bytes, "{name}");
        }
    }

    #[test]
    fn canonical_json_matches_sigstore_tuf() {
        let value = json!({
            "z": [3, -2, {"b": null, "a": true}],
            "A": "quote \" backslash \\ newline \n tab \t unicode é ☃",
            "m": {"é": 1, "e": false, "": u64::MAX},
        });
        let theirs = sigstore_tuf::canonical_json::to_canonical_bytes(&value).expect("canonical");
        assert_eq!(
            String::from_utf8_lossy(&canonical_json(&value)),
            String::from_utf8_lossy(&theirs)
        );
    }

    #[test]
    fn root_is_self_signed_with_spec_keyids() {
        let repo = TufRepo::new(&targets(1));
        let root_bytes = repo.root_json();
        assert_eq!(repo.get("1.root.json"), Some(root_bytes.clone()));
        assert_eq!(repo.get("2.root.json"), None, "no rotation: the probe 404s");
        TrustedMetadataSet::from_root(&root_bytes).expect("root verifies against itself");
        let root = Metadata::<Root>::from_slice(&root_bytes).expect("parse root");
        let root = root.signed();
        assert_eq!(root.version, 1);
        assert!(root.consistent_snapshot);
        assert_eq!(root.keys.len(), 4, "one key per role");
        for (keyid, key) in &root.keys {
            assert_eq!(&key.key_id().expect("key id"), keyid);
        }
        for role in ["root", "timestamp", "snapshot", "targets"] {
            let binding = root.role(role).expect(role);
            assert_eq!(binding.threshold, 1);
            assert_eq!(binding.keyids.len(), 1);
        }
    }

    #[test]
    fn client_refreshes_and_fetches_targets() {
        let mirror = Mirror::new(&targets(1));
        let mut updater = mirror.updater();
        refresh(&mut updater).expect("refresh from the fake");
        let trusted = updater.trusted();
        assert_eq!(trusted.timestamp().map(|t| t.version), Some(1));
        assert_eq!(trusted.snapshot().map(|s| s.version), Some(1));
        assert_eq!(trusted.targets_role("targets").map(|t| t.version), Some(1));
        for (name, bytes) in targets(1) {
            assert_eq!(get_target(&mut updater, name).expect(name), bytes);
        }
        // Targets are served under their hash, as consistent snapshots name them.
        let hash = hex::encode(Sha256::digest(&targets(1)[0].1));
        let repo = mirror.repo();
        assert!(
            repo.get(&format!("targets/{hash}.{TRUSTED_ROOT}"))
                .is_some()
        );
        assert_eq!(repo.get(&format!("targets/{TRUSTED_ROOT}")), None);
    }

    #[test]
    fn expired_timestamp_is_refused() {
        let mirror = Mirror::new(&targets(1));
        assert_serves(&mirror, &targets(1));
        mirror.repo().expire_timestamp();
        let err = refresh(&mut mirror.updater()).expect_err("an expired timestamp must fail");
        assert!(
            matches!(&err, Error::Expired { role, .. } if role == "timestamp"),
            "{err:?}"
        );
        assert!(err.to_string().contains("expired"), "{err}");
    }

    #[test]
    fn tampered_target_is_refused() {
        let mirror = Mirror::new(&targets(1));
        mirror.repo().tamper_target(TRUSTED_ROOT);
        let mut updater = mirror.updater();
        refresh(&mut updater).expect("the metadata is still valid");
        let err = get_target(&mut updater, TRUSTED_ROOT).expect_err("a tampered target must fail");
        assert!(
            matches!(&err, Error::IntegrityMismatch(m) if m.contains("sha256 mismatch")),
            "{err:?}"
        );
        // The untouched target still verifies.
        assert_eq!(
            get_target(&mut updater, SIGNING_CONFIG).expect("untouched target"),
            targets(1)[1].1
        );
    }

    #[test]
    fn tampered_targets_metadata_is_refused() {
        let mirror = Mirror::new(&targets(1));
        assert_serves(&mirror, &targets(1));
        mirror.repo().tamper_targets_metadata();
        let err = refresh(&mut mirror.updater()).expect_err("an unsigned change must fail");
        // Snapshot's pin (length, hash, version) passed; the signature is what failed.
        assert!(
            matches!(&err, Error::ThresholdNotMet { role, found: 0, threshold: 1 } if role == "targets"),
            "{err:?}"
        );
    }

    #[test]
    fn new_targets_reach_old_and_new_clients() {
        let (v1, v2) = (targets(1), targets(2));
        let mirror = Mirror::new(&v1);
        let mut old = mirror.updater();
        refresh(&mut old).expect("first refresh");
        assert_eq!(get_target(&mut old, TRUSTED_ROOT).expect("v1"), v1[0].1);

        mirror.repo().set_targets(&v2);
        let served = |path: &str| mirror.repo().get(path).is_some();
        assert!(served("2.snapshot.json") && served("2.targets.json"));
        assert!(served("1.targets.json"), "old versions stay served");

        refresh(&mut old).expect("second refresh");
        assert_eq!(old.trusted().timestamp().map(|t| t.version), Some(2));
        assert_eq!(get_target(&mut old, TRUSTED_ROOT).expect("v2"), v2[0].1);
        assert_serves(&mirror, &v2);
    }
}
