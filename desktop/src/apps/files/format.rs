//! Pure helpers of the Files app: paths to show and build, sizes and fresh names.
//!
//! No DOM, no store: everything here is unit tested on the native host.

use aether_shared::vfs::Entry;
use aether_shared::vfs::path::{file_name, parent};

/// `dir` joined with `name` (`/` + `a` → `/a`, `/a` + `b` → `/a/b`).
pub fn join(dir: &str, name: &str) -> String {
    if dir == "/" {
        format!("/{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// The entries directly inside `dir`, from a walk of the whole tree (already in path order).
pub fn children<'a>(all: &'a [Entry], dir: &'a str) -> impl Iterator<Item = &'a Entry> + 'a {
    all.iter().filter(move |e| parent(&e.path) == Some(dir))
}

/// A size for people: `512 B`, `1.5 KB`, `10.0 MB` (powers of 1000).
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1000.0;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// `base` if no sibling has that name, else `stem 2.ext`, `stem 3.ext`, …
pub fn fresh_name(taken: &[&str], base: &str) -> String {
    if !taken.contains(&base) {
        return base.to_owned();
    }
    let (stem, ext) = match base.rfind('.') {
        Some(dot) if dot > 0 => (&base[..dot], &base[dot..]),
        _ => (base, ""),
    };
    (2..)
        .map(|n| format!("{stem} {n}{ext}"))
        .find(|name| !taken.contains(&name.as_str()))
        .expect("some number is free")
}

/// Where `path` lands when dropped on the folder `dir`; `None` when that is no move at all
/// (already there, or a folder onto itself or inside itself).
pub fn drop_target(path: &str, dir: &str) -> Option<String> {
    let target = join(dir, file_name(path));
    let into_itself = dir == path || dir.starts_with(&format!("{path}/"));
    (target != path && !into_itself).then_some(target)
}

/// True for a task definition the Tasks app can run: `*.task.yaml`, `*.task.yml` or
/// `*.task.json` (any case).
pub fn is_task_definition(path: &str) -> bool {
    let name = file_name(path).to_ascii_lowercase();
    [".task.yaml", ".task.yml", ".task.json"]
        .iter()
        .any(|suffix| name.len() > suffix.len() && name.ends_with(suffix))
}

/// The folders from `/` down to `dir`, as (name, path), for the breadcrumb.
pub fn crumbs(dir: &str) -> Vec<(String, String)> {
    let mut out = vec![("/".to_owned(), "/".to_owned())];
    let mut path = String::new();
    for name in dir.split('/').filter(|s| !s.is_empty()) {
        path.push('/');
        path.push_str(name);
        out.push((name.to_owned(), path.clone()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use aether_shared::vfs::EntryKind;

    #[test]
    fn paths_join_under_the_root_and_below() {
        assert_eq!(join("/", "a"), "/a");
        assert_eq!(join("/a", "b.txt"), "/a/b.txt");
    }

    #[test]
    fn sizes_read_like_a_file_manager() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(999), "999 B");
        assert_eq!(human_size(1_500), "1.5 KB");
        assert_eq!(human_size(10_000_000), "10.0 MB");
    }

    #[test]
    fn fresh_names_never_collide() {
        assert_eq!(fresh_name(&[], "untitled.txt"), "untitled.txt");
        assert_eq!(
            fresh_name(&["untitled.txt"], "untitled.txt"),
            "untitled 2.txt"
        );
        assert_eq!(
            fresh_name(&["New folder", "New folder 2"], "New folder"),
            "New folder 3"
        );
        assert_eq!(fresh_name(&[".env"], ".env"), ".env 2");
    }

    #[test]
    fn drops_move_into_folders_but_never_into_themselves() {
        assert_eq!(drop_target("/a/x.txt", "/b"), Some("/b/x.txt".into()));
        assert_eq!(drop_target("/a/x.txt", "/a"), None);
        assert_eq!(drop_target("/a", "/a"), None);
        assert_eq!(drop_target("/a", "/a/sub"), None);
        assert_eq!(drop_target("/a", "/ab"), Some("/ab/a".into()));
        assert_eq!(drop_target("/a/b", "/"), Some("/b".into()));
    }

    #[test]
    fn children_and_crumbs_follow_the_tree() {
        let e = |path: &str| Entry {
            name: file_name(path).into(),
            path: path.into(),
            kind: EntryKind::Dir,
            size: 0,
            mtime: 0,
        };
        let all = [e("/a"), e("/a/b"), e("/c")];
        let names: Vec<&str> = children(&all, "/").map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["a", "c"]);
        assert_eq!(
            crumbs("/a/b"),
            [
                ("/".into(), "/".into()),
                ("a".into(), "/a".into()),
                ("b".into(), "/a/b".into())
            ]
        );
    }

    #[test]
    fn task_definitions_are_known_by_their_double_extension() {
        assert!(is_task_definition("/welcome/pipeline.task.yaml"));
        assert!(is_task_definition("/a/B.TASK.JSON"));
        assert!(is_task_definition("/x.task.yml"));
        assert!(!is_task_definition("/task.yaml"));
        assert!(!is_task_definition("/a/.task.yaml"));
        assert!(!is_task_definition("/notes.yaml"));
        assert!(!is_task_definition("/a.task.yaml/readme.md"));
    }
}
