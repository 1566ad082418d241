//! Dependency paths through the lock graph: why a package is in the build.
//!
//! A breadth-first search from every workspace and path package (those without a `source`) over
//! the lock's `dependencies` edges gives each package its shortest path from the workspace.

use std::collections::{HashMap, VecDeque};

use crate::workspace::{LockPackage, Lockfile};

/// Shortest paths from the workspace to every locked package.
pub struct Paths<'a> {
    lock: &'a Lockfile,
    /// Index of a package → index of the package it was first reached from.
    parent: HashMap<usize, Option<usize>>,
}

impl<'a> Paths<'a> {
    /// Search the lock once.
    pub fn new(lock: &'a Lockfile) -> Self {
        let index: HashMap<*const LockPackage, usize> = lock
            .packages
            .iter()
            .enumerate()
            .map(|(i, p)| (p as *const LockPackage, i))
            .collect();
        let mut parent = HashMap::new();
        let mut queue = VecDeque::new();
        let mut roots: Vec<usize> = (0..lock.packages.len())
            .filter(|&i| lock.packages[i].source.is_none())
            .collect();
        roots.sort_by(|&a, &b| lock.packages[a].name.cmp(&lock.packages[b].name));
        for r in roots {
            parent.insert(r, None);
            queue.push_back(r);
        }
        while let Some(i) = queue.pop_front() {
            let from = &lock.packages[i];
            for reference in &from.dependencies {
                let name = reference.split(' ').next().unwrap_or_default();
                for dep in lock.dependencies_named(from, name) {
                    if let Some(&j) = index.get(&(dep as *const LockPackage))
                        && !parent.contains_key(&j)
                    {
                        parent.insert(j, Some(i));
                        queue.push_back(j);
                    }
                }
            }
        }
        Paths { lock, parent }
    }

    /// `name version` of each package on the path from the workspace to `p`, root first.
    pub fn names(&self, p: &LockPackage) -> Vec<String> {
        let Some(mut cur) = self.lock.packages.iter().position(|q| std::ptr::eq(q, p)) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        // Bounded by the package count: a parent chain cannot be longer.
        for _ in 0..=self.lock.packages.len() {
            let q = &self.lock.packages[cur];
            out.push(format!("{} {}", q.name, q.version));
            match self.parent.get(&cur) {
                Some(Some(next)) => cur = *next,
                _ => break,
            }
        }
        out.reverse();
        out
    }

    /// The path as one line: `app 0.1.0 → hyper 0.14.1 → h2 0.3.0`, or a note when the package
    /// is not reachable from the workspace (an unused patch, a stale entry).
    pub fn describe(&self, p: &LockPackage) -> String {
        let names = self.names(p);
        let reachable = self
            .lock
            .packages
            .iter()
            .position(|q| std::ptr::eq(q, p))
            .is_some_and(|i| self.parent.contains_key(&i));
        if reachable {
            names.join(" → ")
        } else {
            format!(
                "{} {} (not reachable from the workspace)",
                p.name, p.version
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn shortest_path_from_the_workspace() -> anyhow::Result<()> {
        let src = r#"version = 4

[[package]]
name = "app"
version = "0.1.0"
dependencies = ["mid", "leaf 2.0.0"]

[[package]]
name = "mid"
version = "1.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
dependencies = ["leaf 1.0.0"]

[[package]]
name = "leaf"
version = "1.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "leaf"
version = "2.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "orphan"
version = "0.1.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
"#;
        let lock = Lockfile::parse(Path::new("/w/Cargo.lock"), src.to_string())?;
        let paths = Paths::new(&lock);
        let find = |n: &str, v: &str| {
            lock.by_name(n)
                .find(|p| p.version == v)
                .expect("package in fixture")
        };
        assert_eq!(
            paths.describe(find("leaf", "1.0.0")),
            "app 0.1.0 → mid 1.0.0 → leaf 1.0.0"
        );
        assert_eq!(
            paths.describe(find("leaf", "2.0.0")),
            "app 0.1.0 → leaf 2.0.0"
        );
        assert!(
            paths
                .describe(find("orphan", "0.1.0"))
                .contains("not reachable")
        );
        Ok(())
    }
}
