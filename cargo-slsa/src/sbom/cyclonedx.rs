//! CycloneDX 1.6 (or 1.5) JSON.
//!
//! Differences between the two versions that matter here: 1.6 has `authors` (a list of
//! contacts) on components, 1.5 only the `author` string. Both take `metadata.tools` as
//! `{components: […]}` and licenses as `[{expression}]` or `[{license: {name}}]`.

use serde_json::{Map, Value, json};

use super::model::{Component, Origin, Sbom, is_spdx_expression, split_author};

/// Supported spec versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1_5,
    V1_6,
}

impl Version {
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V1_5 => "1.5",
            Version::V1_6 => "1.6",
        }
    }
}

/// The document without `serialNumber` and `metadata.timestamp` (filled in by the caller once
/// the content hash is known).
pub fn document(sbom: &Sbom, version: Version) -> Value {
    let components: Vec<Value> = sbom
        .components
        .iter()
        .map(|c| component(c, version))
        .collect();
    let dependencies: Vec<Value> = sbom
        .dependencies
        .iter()
        .map(|(r, deps)| json!({"ref": r, "dependsOn": deps}))
        .collect();
    json!({
        "$schema": format!("http://cyclonedx.org/schema/bom-{}.schema.json", version.as_str()),
        "bomFormat": "CycloneDX",
        "specVersion": version.as_str(),
        "version": 1,
        "metadata": {
            "tools": {
                "components": [{
                    "type": "application",
                    "name": "cargo-slsa",
                    "version": env!("CARGO_PKG_VERSION"),
                    "externalReferences": [{
                        "type": "vcs",
                        "url": env!("CARGO_PKG_REPOSITORY"),
                    }],
                }],
            },
            "component": component(&sbom.root, version),
        },
        "components": components,
        "dependencies": dependencies,
    })
}

fn component(c: &Component, version: Version) -> Value {
    let mut m = Map::new();
    let kind = if c.has_bin || (c.member && c.purl.is_empty()) {
        "application"
    } else {
        "library"
    };
    m.insert("type".into(), json!(kind));
    m.insert("bom-ref".into(), json!(c.bom_ref));
    m.insert("name".into(), json!(c.name));
    if !c.version.is_empty() {
        m.insert("version".into(), json!(c.version));
    }
    if let Some(d) = c.description.as_deref().filter(|d| !d.is_empty()) {
        m.insert("description".into(), json!(d));
    }
    if !c.authors.is_empty() {
        match version {
            Version::V1_6 => {
                let authors: Vec<Value> = c
                    .authors
                    .iter()
                    .map(|a| {
                        let (name, email) = split_author(a);
                        let mut o = Map::new();
                        o.insert("name".into(), json!(name));
                        if let Some(e) = email {
                            o.insert("email".into(), json!(e));
                        }
                        Value::Object(o)
                    })
                    .collect();
                m.insert("authors".into(), Value::Array(authors));
            }
            Version::V1_5 => {
                m.insert("author".into(), json!(c.authors.join(", ")));
            }
        }
    }
    if let Some(h) = &c.sha256 {
        m.insert("hashes".into(), json!([{"alg": "SHA-256", "content": h}]));
    }
    if let Some(l) = &c.license {
        let entry = if is_spdx_expression(l) {
            json!({"expression": l})
        } else {
            json!({"license": {"name": l}})
        };
        m.insert("licenses".into(), json!([entry]));
    } else if let Some(f) = &c.license_file {
        m.insert(
            "licenses".into(),
            json!([{"license": {"name": format!("license file: {f}")}}]),
        );
    }
    if !c.purl.is_empty() {
        m.insert("purl".into(), json!(c.purl));
    }
    let mut refs = Vec::new();
    match &c.origin {
        Origin::Git { url, .. } => refs.push(json!({"type": "vcs", "url": url})),
        Origin::CratesIo => refs.push(json!({
            "type": "distribution",
            "url": format!("https://crates.io/api/v1/crates/{}/{}/download", c.name, c.version),
        })),
        _ => {}
    }
    if let Some(r) = c.repository.as_deref().filter(|r| is_url(r)) {
        refs.push(json!({"type": "vcs", "url": r}));
    }
    if let Some(h) = c.homepage.as_deref().filter(|h| is_url(h)) {
        refs.push(json!({"type": "website", "url": h}));
    }
    refs.dedup();
    if !refs.is_empty() {
        m.insert("externalReferences".into(), Value::Array(refs));
    }
    Value::Object(m)
}

/// Manifest URLs are free text; only plausible absolute URLs become references (the schema
/// requires an IRI).
fn is_url(s: &str) -> bool {
    (s.starts_with("https://") || s.starts_with("http://") || s.starts_with("git://"))
        && !s.chars().any(char::is_whitespace)
}
