//! Confinement: every location in a pipeline file stays under its root.
//!
//! Source locations resolve under `sources_root` (default: the project directory); stage SQL
//! files under the project directory. Rejected: `..` components, absolute paths or URLs outside
//! the root, percent-encoded traversal (`%2e%2e`, `%2f`), and symlinks whose target leaves the
//! root. Output locations are always under the warehouse root by construction.

use std::path::{Component, Path, PathBuf};

use crate::diag::{Location, Problem, ProblemKind};

/// Check that `location` (as written, at `at`) stays under `root`. `root` is a local directory
/// or a URL prefix.
pub fn check(
    key: &str,
    location: &str,
    root: &str,
    project_dir: &Path,
    at: &Location,
) -> Option<Problem> {
    let outside = || {
        Some(Problem::at(
            at.clone(),
            ProblemKind::OutsideRoot {
                key: key.to_string(),
                path: location.to_string(),
                root: root.to_string(),
            },
        ))
    };
    let lower = location.to_ascii_lowercase();
    if location.contains('\0') {
        return outside();
    }
    if lower.contains("%2e") || lower.contains("%2f") || lower.contains("%5c") {
        return Some(Problem::at(
            at.clone(),
            ProblemKind::EncodedLocation {
                key: key.to_string(),
                path: location.to_string(),
            },
        ));
    }
    if let Some((scheme, _)) = location.split_once("://")
        && scheme != "file"
    {
        {
            // Remote sources must sit under a remote root.
            let prefix = root.trim_end_matches('/');
            let ok = root.contains("://")
                && (location == prefix || location.starts_with(&format!("{prefix}/")))
                && !location.split('/').any(|c| c == "..");
            return if ok { None } else { outside() };
        }
    }
    let path = match location.strip_prefix("file://") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(location),
    };
    if path.components().any(|c| matches!(c, Component::ParentDir)) {
        return outside();
    }
    if root.contains("://") && !root.starts_with("file://") {
        return outside();
    }
    let root_path = project_dir.join(root.strip_prefix("file://").unwrap_or(root));
    let full = if path.is_absolute() {
        path
    } else {
        root_path.join(path)
    };
    let root_abs = std::path::absolute(&root_path).unwrap_or(root_path.clone());
    let full_abs = std::path::absolute(&full).unwrap_or(full.clone());
    if !full_abs.starts_with(&root_abs) {
        return outside();
    }
    // Symlinks: the real path of the deepest existing ancestor must stay under the real root.
    let real_root = root_abs.canonicalize().unwrap_or(root_abs);
    let mut probe = full_abs.as_path();
    loop {
        if let Ok(real) = probe.canonicalize() {
            return if real.starts_with(&real_root) {
                None
            } else {
                outside()
            };
        }
        match probe.parent() {
            Some(parent) => probe = parent,
            None => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bad(location: &str) -> bool {
        let at = Location::file_start("p.yaml");
        check("location", location, ".", Path::new("/tmp"), &at).is_some()
    }

    #[test]
    fn traversal_is_rejected() {
        assert!(bad("../etc"));
        assert!(bad("data/../../etc"));
        assert!(bad("/etc/passwd"));
        assert!(bad("%2e%2e/etc"));
        assert!(bad("data/%2E%2E/x"));
        assert!(bad("s3://bucket/x"));
        assert!(!bad("data/ods/x"));
        assert!(!bad("/tmp/data/ods"));
    }
}
