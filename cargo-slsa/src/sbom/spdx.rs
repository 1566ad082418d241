//! SPDX 2.3 JSON: one package per component with its checksum, declared license and purl (as a
//! `PACKAGE-MANAGER` external reference), `DESCRIBES` for the root and `DEPENDS_ON` for every
//! dependency edge.

use std::collections::{BTreeMap, HashSet};

use serde_json::{Map, Value, json};

use super::model::{Component, Origin, Sbom, is_spdx_expression, split_author};

/// The document without `documentNamespace` and `creationInfo.created` (filled in by the caller).
pub fn document(sbom: &Sbom) -> Value {
    let mut ids: BTreeMap<&str, String> = BTreeMap::new();
    let mut used = HashSet::new();
    for c in std::iter::once(&sbom.root).chain(&sbom.components) {
        let base = format!(
            "SPDXRef-Package-{}",
            sanitize(&format!("{}-{}", c.name, c.version))
        );
        let mut id = base.clone();
        let mut n = 1;
        while !used.insert(id.clone()) {
            n += 1;
            id = format!("{base}-{n}");
        }
        ids.insert(c.bom_ref.as_str(), id);
    }
    let id_of = |r: &str| {
        ids.get(r)
            .cloned()
            .unwrap_or_else(|| "SPDXRef-NOASSERTION".into())
    };
    let packages: Vec<Value> = std::iter::once(&sbom.root)
        .chain(&sbom.components)
        .map(|c| package(c, &id_of(&c.bom_ref)))
        .collect();
    let mut relationships = vec![json!({
        "spdxElementId": "SPDXRef-DOCUMENT",
        "relationshipType": "DESCRIBES",
        "relatedSpdxElement": id_of(&sbom.root.bom_ref),
    })];
    for (from, deps) in &sbom.dependencies {
        for to in deps {
            relationships.push(json!({
                "spdxElementId": id_of(from),
                "relationshipType": "DEPENDS_ON",
                "relatedSpdxElement": id_of(to),
            }));
        }
    }
    let name = if sbom.root.version.is_empty() {
        sbom.root.name.clone()
    } else {
        format!("{}-{}", sbom.root.name, sbom.root.version)
    };
    json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": name,
        "creationInfo": {
            "creators": [format!("Tool: cargo-slsa-{}", env!("CARGO_PKG_VERSION"))],
        },
        "documentDescribes": [id_of(&sbom.root.bom_ref)],
        "packages": packages,
        "relationships": relationships,
    })
}

fn package(c: &Component, id: &str) -> Value {
    let mut m = Map::new();
    m.insert("SPDXID".into(), json!(id));
    m.insert("name".into(), json!(c.name));
    if !c.version.is_empty() {
        m.insert("versionInfo".into(), json!(c.version));
    }
    let download = match &c.origin {
        Origin::CratesIo => format!(
            "https://crates.io/api/v1/crates/{}/{}/download",
            c.name, c.version
        ),
        Origin::Git { url, commit } => format!("git+{url}@{commit}"),
        Origin::Registry(_) | Origin::Local => "NOASSERTION".into(),
    };
    m.insert("downloadLocation".into(), json!(download));
    m.insert("filesAnalyzed".into(), json!(false));
    let declared = c
        .license
        .as_deref()
        .filter(|l| is_spdx_expression(l))
        .unwrap_or("NOASSERTION");
    m.insert("licenseConcluded".into(), json!("NOASSERTION"));
    m.insert("licenseDeclared".into(), json!(declared));
    m.insert("copyrightText".into(), json!("NOASSERTION"));
    if let Some(first) = c.authors.first() {
        let (name, email) = split_author(first);
        let who = match email {
            Some(e) => format!("Person: {name} ({e})"),
            None => format!("Person: {name}"),
        };
        m.insert("originator".into(), json!(who));
    }
    if let Some(d) = c.description.as_deref().filter(|d| !d.is_empty()) {
        m.insert("description".into(), json!(d));
    }
    if let Some(h) = c.homepage.as_deref().filter(|h| h.starts_with("http")) {
        m.insert("homepage".into(), json!(h));
    }
    if let Some(h) = &c.sha256 {
        m.insert(
            "checksums".into(),
            json!([{"algorithm": "SHA256", "checksumValue": h}]),
        );
    }
    if !c.purl.is_empty() {
        m.insert(
            "externalRefs".into(),
            json!([{
                "referenceCategory": "PACKAGE-MANAGER",
                "referenceType": "purl",
                "referenceLocator": c.purl,
            }]),
        );
    }
    m.insert(
        "primaryPackagePurpose".into(),
        json!(if c.has_bin { "APPLICATION" } else { "LIBRARY" }),
    );
    Value::Object(m)
}

/// SPDX ids allow `[A-Za-z0-9.-]` only.
fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}
