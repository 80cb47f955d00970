//! Which Debian packages make the guest's tools tree: [`ROOTS`] and the closure of their
//! `Depends`/`PreDepends`, read from one `apt-cache depends --recurse` (no recommends, suggests,
//! conflicts, breaks, replaces or enhances), without [`LEFT_OUT`] and what only they pull in.
//!
//! Left out, because a guest that only runs the tools does not need them:
//! - `perl`, `perl-base`, `liberror-perl`: git's core commands are C; only a few porcelain
//!   scripts (`add -i` fallback, `send-email`, `svn`) are perl, and perl would double the tree;
//! - `git-man`: manual pages (the tree drops `usr/share/man` anyway);
//! - `dpkg` (perl's pre-dependency) and `install-info`: the guest installs no packages;
//! - `debconf`, `cdebconf`, `debconf-2.0` and `openssl` (the command): `ca-certificates` needs
//!   them only in its maintainer scripts, whose work (`update-ca-certificates`' bundle) is done
//!   at build time ([`super::tools_tree`]).
//!
//! `libc-bin` (locales, `ldconfig`) is no dependency of `libc6` in bookworm, so it is not in.
//! Nothing here runs apt: it parses what [`super`] got from it.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// The packages asked for: everything else is their dependencies.
pub const ROOTS: &[&str] = &[
    "git:i386",
    "python3.11-minimal:i386",
    "curl:i386",
    "ca-certificates",
];

/// Dependencies not followed (names without `:arch`); see the module doc for why.
pub const LEFT_OUT: &[&str] = &[
    "perl",
    "perl-base",
    "liberror-perl",
    "git-man",
    "dpkg",
    "install-info",
    "debconf",
    "cdebconf",
    "debconf-2.0",
    "openssl",
];

/// The `apt-cache depends --recurse` arguments that leave out everything but dependencies.
pub const APT_CACHE_ARGS: &[&str] = &[
    "depends",
    "--recurse",
    "--no-recommends",
    "--no-suggests",
    "--no-conflicts",
    "--no-breaks",
    "--no-replaces",
    "--no-enhances",
];

/// One dependency: the packages that would satisfy it, in apt's order (an `a | b` choice, or the
/// providers of a virtual package).
type Choice = Vec<String>;

/// The dependency graph `apt-cache depends --recurse` prints: each package (a line at column 0)
/// and its `Depends:`/`PreDepends:` lines; a `|` before one joins it with the next into a
/// choice, and a `<virtual>` one is followed by its providers, indented four spaces.
pub fn parse_graph(out: &str) -> BTreeMap<String, Vec<Choice>> {
    let mut graph: BTreeMap<String, Vec<Choice>> = BTreeMap::new();
    let mut current: Option<String> = None;
    // The choice being read, and whether the last dependency line ended it.
    let mut open: Choice = Vec::new();
    let mut continues = false;
    let mut virtual_pending = false;
    for line in out.lines() {
        if line.trim().is_empty() {
            continue;
        }
        if !line.starts_with(' ') {
            flush(&mut graph, &current, &mut open);
            let name = line.trim();
            current = (!name.starts_with('<')).then(|| name.to_owned());
            if let Some(name) = &current {
                graph.entry(name.clone()).or_default();
            }
            continues = false;
            virtual_pending = false;
            continue;
        }
        if line.starts_with("    ") {
            // A provider of the virtual package on the line before.
            if virtual_pending {
                open.push(line.trim().to_owned());
            }
            continue;
        }
        let trimmed = line.trim_start();
        let (joined, rest) = match trimmed.strip_prefix('|') {
            Some(rest) => (true, rest),
            None => (false, trimmed),
        };
        let Some(dep) = rest
            .strip_prefix("Depends:")
            .or_else(|| rest.strip_prefix("PreDepends:"))
        else {
            continue;
        };
        if !continues {
            flush(&mut graph, &current, &mut open);
        }
        let dep = dep.trim();
        virtual_pending = dep.starts_with('<');
        if !virtual_pending {
            open.push(dep.to_owned());
        }
        continues = joined;
    }
    flush(&mut graph, &current, &mut open);
    graph
}

/// Ends the choice being read: it belongs to `pkg` (none for a virtual package's own entry).
fn flush(graph: &mut BTreeMap<String, Vec<Choice>>, pkg: &Option<String>, choice: &mut Choice) {
    if let (Some(pkg), false) = (pkg, choice.is_empty()) {
        graph
            .entry(pkg.clone())
            .or_default()
            .push(std::mem::take(choice));
    }
    choice.clear();
}

/// `libc6:i386` → `libc6`.
pub fn base_name(package: &str) -> &str {
    package.split(':').next().unwrap_or(package)
}

/// The packages reachable from `roots`: a choice that names a `left_out` package is not followed
/// (it is satisfied by what was left out), any other is satisfied by its first package. Sorted.
pub fn closure(
    graph: &BTreeMap<String, Vec<Choice>>,
    roots: &[&str],
    left_out: &[&str],
) -> Vec<String> {
    let is_left_out = |p: &str| left_out.contains(&base_name(p));
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut queue: VecDeque<String> = roots.iter().map(|r| (*r).to_owned()).collect();
    while let Some(pkg) = queue.pop_front() {
        if is_left_out(&pkg) || !seen.insert(pkg.clone()) {
            continue;
        }
        for choice in graph.get(&pkg).into_iter().flatten() {
            if choice.iter().any(|p| is_left_out(p)) {
                continue;
            }
            if let Some(first) = choice.first() {
                queue.push_back(first.clone());
            }
        }
    }
    seen.into_iter().collect()
}

/// The architecture of each package in `apt-cache show --no-all-versions` output.
pub fn parse_architectures(out: &str) -> BTreeMap<String, String> {
    let mut archs = BTreeMap::new();
    let mut package = None;
    for line in out.lines() {
        if let Some(p) = line.strip_prefix("Package:") {
            package = Some(p.trim().to_owned());
        } else if let (Some(a), Some(p)) = (line.strip_prefix("Architecture:"), &package) {
            archs.insert(p.clone(), a.trim().to_owned());
        }
    }
    archs
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An excerpt of real `apt-cache depends --recurse` output, shortened.
    const OUT: &str = "\
git:i386
  Depends: libc6:i386
  Depends: libcurl3-gnutls:i386
  Depends: perl:i386
  Depends: <liberror-perl:i386>
    liberror-perl
  Depends: <git-man:i386>
    git-man
curl:i386
  Depends: libc6:i386
  Depends: libcurl4:i386
ca-certificates
  Depends: openssl
    openssl:i386
 |Depends: debconf
  Depends: <debconf-2.0>
    cdebconf
    debconf
libc6:i386
  Depends: libgcc-s1:i386
libcurl3-gnutls:i386
  Depends: libc6:i386
  Depends: <libfoo:i386>
    libfoo-impl:i386
    libfoo-other:i386
libcurl4:i386
  Depends: libc6:i386
 |Depends: libbar:i386
  Depends: libbaz:i386
perl:i386
  PreDepends: dpkg:i386
  Depends: perl-base:i386
libgcc-s1:i386
  Depends: gcc-12-base:i386
  Depends: libc6:i386
dpkg:i386
  PreDepends: libbz2-1.0:i386
<perl:any>
<debconf-2.0>
";

    #[test]
    fn dependencies_choices_and_virtual_providers_are_read() {
        let graph = parse_graph(OUT);
        assert_eq!(
            graph["git:i386"],
            vec![
                vec!["libc6:i386".to_owned()],
                vec!["libcurl3-gnutls:i386".to_owned()],
                vec!["perl:i386".to_owned()],
                vec!["liberror-perl".to_owned()],
                vec!["git-man".to_owned()],
            ]
        );
        assert_eq!(
            graph["ca-certificates"],
            vec![
                vec!["openssl".to_owned()],
                vec![
                    "debconf".to_owned(),
                    "cdebconf".to_owned(),
                    "debconf".to_owned()
                ],
            ]
        );
        assert_eq!(
            graph["libcurl4:i386"][1],
            vec!["libbar:i386".to_owned(), "libbaz:i386".to_owned()]
        );
        assert_eq!(graph["dpkg:i386"], vec![vec!["libbz2-1.0:i386".to_owned()]]);
        assert!(!graph.contains_key("<perl:any>"));
    }

    #[test]
    fn the_closure_follows_first_choices_and_skips_what_is_left_out() {
        let graph = parse_graph(OUT);
        let got = closure(
            &graph,
            &["git:i386", "curl:i386", "ca-certificates"],
            LEFT_OUT,
        );
        assert_eq!(
            got,
            [
                "ca-certificates",
                "curl:i386",
                "gcc-12-base:i386",
                "git:i386",
                "libbar:i386",
                "libc6:i386",
                "libcurl3-gnutls:i386",
                "libcurl4:i386",
                "libfoo-impl:i386",
                "libgcc-s1:i386",
            ]
        );
        // perl's own dependencies (dpkg and through it libbz2) are not reached.
        assert!(!got.iter().any(|p| p.starts_with("libbz2")));
    }

    #[test]
    fn architectures_are_read_per_package() {
        let out = "Package: ca-certificates\nVersion: 1\nArchitecture: all\n\nPackage: openssl\nArchitecture: amd64\n";
        let archs = parse_architectures(out);
        assert_eq!(archs["ca-certificates"], "all");
        assert_eq!(archs["openssl"], "amd64");
        assert_eq!(base_name("libc6:i386"), "libc6");
    }
}
