//! The house rules, checked on the source of every crate's `src/` (tests and examples may reach
//! anywhere and be long): modules import only down (no circle at any level of any crate, seen
//! through re-exports too), no library crate holds more than 35% of the code, no non-test source
//! file is longer than 600 lines, and nothing cites a file outside the repository.
//! ARCHITECTURE.md describes the layers these rules keep.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

/// The repository root.
fn root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// Directories never read: build output, the Python tools, git.
const SKIPPED: [&str; 6] = ["target", ".venv", ".venv-checkov", ".tools", ".git", ".local"];

fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if !SKIPPED.contains(&name.as_str()) {
                walk(&path, found);
            }
        } else {
            found.push(path);
        }
    }
}

fn files() -> Vec<PathBuf> {
    let mut found = Vec::new();
    walk(&root(), &mut found);
    found.sort();
    found
}

/// Every crate of the workspace: its directory and whether it is a library.
fn crates() -> Vec<(PathBuf, bool)> {
    let root = root();
    files()
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n == "Cargo.toml") && p.parent() != Some(root.as_path()))
        .filter_map(|manifest| {
            let dir = manifest.parent()?.to_path_buf();
            dir.join("src")
                .is_dir()
                .then(|| (dir.clone(), dir.join("src/lib.rs").is_file()))
        })
        .collect()
}

/// The `.rs` files of a crate's `src/`, not those of a crate nested inside it.
fn sources(krate: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    walk(&krate.join("src"), &mut found);
    found.retain(|p| p.extension().is_some_and(|e| e == "rs"));
    found
}

/// The source without its `#[cfg(test)]` items (tests may reach anywhere).
fn without_tests(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut lines = source.lines().peekable();
    while let Some(line) = lines.next() {
        if line.trim() == "#[cfg(test)]" {
            let mut depth = 0i32;
            let mut opened = false;
            for item in lines.by_ref() {
                depth += item.matches('{').count() as i32 - item.matches('}').count() as i32;
                opened |= item.contains('{');
                if (opened && depth <= 0) || (!opened && item.trim_end().ends_with(';')) {
                    break;
                }
            }
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Non-blank lines of non-test code.
fn code_lines(source: &str) -> usize {
    without_tests(source)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count()
}

/// The module path of a source file of a crate (`src/tasks/runner.rs` -> `["tasks", "runner"]`).
fn module_of(krate: &Path, file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(krate.join("src")).unwrap_or(file);
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib" | "main")) {
        parts.pop();
    }
    parts
}

/// Splits a use tree's list at its top-level commas.
fn top_level_items(list: &str) -> Vec<String> {
    let (mut items, mut depth, mut current) = (Vec::new(), 0, String::new());
    for c in list.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    items.push(current);
    items
        .into_iter()
        .map(|i| i.trim().to_owned())
        .filter(|i| !i.is_empty())
        .collect()
}

/// The full paths a use tree names (`crate::{a::{b, c}, d}` -> `crate::a::b`, `crate::a::c`, ...).
fn expand(prefix: &str, tree: &str, paths: &mut Vec<String>) {
    let tree = tree.trim();
    if let Some(list) = tree.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
        for item in top_level_items(list) {
            expand(prefix, &item, paths);
        }
        return;
    }
    match tree.find("::{") {
        Some(at) if !tree[..at].contains('{') => {
            let head = join(prefix, &tree[..at]);
            expand(&head, &tree[at + 2..], paths);
        }
        _ => paths.push(join(prefix, tree.split(" as ").next().unwrap_or(tree))),
    }
}

fn join(prefix: &str, rest: &str) -> String {
    if prefix.is_empty() {
        rest.to_owned()
    } else {
        format!("{prefix}::{rest}")
    }
}

/// Every path a file names that starts at `crate`, `self` or `super`, from `use` statements and
/// from paths written inline.
fn local_paths(source: &str) -> Vec<String> {
    let code = without_tests(source);
    let mut paths = Vec::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("use ") {
        let before = &rest[..at];
        rest = &rest[at + 4..];
        let starts_statement = before.is_empty() || before.ends_with(char::is_whitespace);
        if let (true, Some(end)) = (starts_statement, rest.find(';')) {
            let tree: String = rest[..end].split_whitespace().collect::<Vec<_>>().join(" ");
            expand("", &tree, &mut paths);
        }
    }
    for root in ["crate::", "super::", "self::"] {
        let mut rest = code.as_str();
        while let Some(at) = rest.find(root) {
            let boundary = rest[..at]
                .chars()
                .last()
                .is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == ':'));
            let path: String = rest[at..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            if boundary {
                paths.push(path.trim_end_matches(':').to_owned());
            }
            rest = &rest[at + root.len()..];
        }
    }
    paths.retain(|p| p.starts_with("crate") || p.starts_with("super") || p.starts_with("self"));
    paths
}

/// What a module re-exports: (module, name) -> (module of the `pub use`, the path it names).
type Reexports = BTreeMap<(Vec<String>, String), (Vec<String>, String)>;

/// The `pub use` items of every file of a crate, so a path through a re-export reaches the
/// module that defines the item.
fn reexports(krate: &Path, files: &[PathBuf]) -> Reexports {
    let mut found = Reexports::new();
    for file in files {
        let module = module_of(krate, file);
        let code = without_tests(&std::fs::read_to_string(file).expect("source"));
        let mut rest = code.as_str();
        while let Some(at) = rest.find("pub use ") {
            rest = &rest[at + "pub use ".len()..];
            let Some(end) = rest.find(';') else { break };
            let tree: String = rest[..end].split_whitespace().collect::<Vec<_>>().join(" ");
            let mut paths = Vec::new();
            expand("", &tree, &mut paths);
            for path in paths {
                let name = path.rsplit("::").next().unwrap_or_default().to_owned();
                found.insert((module.clone(), name), (module.clone(), path));
            }
        }
    }
    found
}

/// The module a path names, resolved against the module it is written in, cut to a known module;
/// a name a module re-exports leads on to where it is defined.
fn resolve(
    from: &[String],
    path: &str,
    known: &BTreeSet<Vec<String>>,
    reexported: &Reexports,
) -> Option<Vec<String>> {
    resolve_within(from, path, known, reexported, 8)
}

fn resolve_within(
    from: &[String],
    path: &str,
    known: &BTreeSet<Vec<String>>,
    reexported: &Reexports,
    hops: usize,
) -> Option<Vec<String>> {
    let mut segments = path.split("::");
    let mut target: Vec<String> = match segments.next()? {
        "crate" => Vec::new(),
        "self" => from.to_vec(),
        "super" => from[..from.len().saturating_sub(1)].to_vec(),
        _ => return None,
    };
    for segment in segments {
        if segment == "super" {
            target.pop();
            continue;
        }
        let mut longer = target.clone();
        longer.push(segment.to_owned());
        if known.contains(&longer) {
            target = longer;
            continue;
        }
        if let Some((module, source)) = reexported.get(&(target.clone(), segment.to_owned()))
            && hops > 0
            && source.as_str() != path
        {
            return resolve_within(module, source, known, reexported, hops - 1).or(Some(target));
        }
        break;
    }
    Some(target)
}

/// A circle among `edges`, if there is one.
fn circle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        done: &mut BTreeSet<String>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut found = path[at..].to_vec();
            found.push(node.to_owned());
            return Some(found);
        }
        if !done.insert(node.to_owned()) {
            return None;
        }
        path.push(node.to_owned());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, edges, done, path) {
                return Some(found);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    edges
        .keys()
        .find_map(|node| visit(node, edges, &mut done, &mut Vec::new()))
}

#[test]
fn no_module_imports_one_above_it_and_no_circle_at_any_level() {
    let mut circles = Vec::new();
    let mut engine_edges = BTreeSet::new();
    let crates = crates();
    assert!(crates.len() >= 8, "the check reads the workspace: {crates:?}");
    for (krate, _) in crates {
        let files = sources(&krate);
        let known: BTreeSet<Vec<String>> = files.iter().map(|f| module_of(&krate, f)).collect();
        let reexported = reexports(&krate, &files);
        // Edges between siblings: for each parent module, which child uses which.
        let mut levels: BTreeMap<Vec<String>, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
        for file in &files {
            let from = module_of(&krate, file);
            let source = std::fs::read_to_string(file).expect("source");
            for path in local_paths(&source) {
                let Some(to) = resolve(&from, &path, &known, &reexported) else {
                    continue;
                };
                let shared = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
                // A module and its own ancestors or descendants are one room, not two floors.
                if shared == from.len() || shared == to.len() {
                    continue;
                }
                let parent = from[..shared].to_vec();
                levels
                    .entry(parent)
                    .or_default()
                    .entry(from[shared].clone())
                    .or_default()
                    .insert(to[shared].clone());
            }
        }
        if krate.ends_with("shared/lifecycle") {
            engine_edges = levels
                .get(&vec!["tasks".to_owned()])
                .and_then(|edges| edges.get("plan"))
                .cloned()
                .unwrap_or_default();
        }
        for (parent, edges) in levels {
            if let Some(found) = circle(&edges) {
                circles.push(format!(
                    "{} ({}): {}",
                    krate.display(),
                    if parent.is_empty() {
                        "crate".to_owned()
                    } else {
                        parent.join("::")
                    },
                    found.join(" -> ")
                ));
            }
        }
    }
    assert!(circles.is_empty(), "import circles:\n{}", circles.join("\n"));
    // A control: `plan` reaches `context` only through the engine's re-exports (`super::StepContext`).
    assert!(
        engine_edges.contains("context"),
        "the checker sees through re-exports: tasks::plan uses {engine_edges:?}"
    );
}

#[test]
fn the_checker_finds_a_circle_and_resolves_nested_use_trees() {
    let source = "use crate::{tasks::{Engine, plan::Step}, provisioning::Provisioning};\nfn f() { super::x::y(); }\n#[cfg(test)]\nmod tests {\n    use crate::hidden::Thing;\n}\n";
    let paths = local_paths(source);
    assert!(
        paths.contains(&"crate::tasks::plan::Step".to_owned()),
        "{paths:?}"
    );
    assert!(
        paths.contains(&"crate::provisioning::Provisioning".to_owned()),
        "{paths:?}"
    );
    assert!(paths.contains(&"super::x::y".to_owned()), "{paths:?}");
    assert!(
        !paths.iter().any(|p| p.contains("hidden")),
        "test code is left out: {paths:?}"
    );
    // `crate::a::Thing`, re-exported by `a` from its child `b`, is `a::b`'s.
    let module = |m: &[&str]| m.iter().map(|s| (*s).to_owned()).collect::<Vec<String>>();
    let known: BTreeSet<Vec<String>> = [module(&[]), module(&["a"]), module(&["a", "b"])].into();
    let mut reexported = Reexports::new();
    let a_source = "pub use self::{b::Thing, missing::Other};\n";
    let tree = a_source.trim_start_matches("pub use ").trim_end_matches(";\n");
    let mut listed = Vec::new();
    expand("", tree, &mut listed);
    for path in listed {
        let name = path.rsplit("::").next().unwrap_or_default().to_owned();
        reexported.insert((module(&["a"]), name), (module(&["a"]), path));
    }
    assert_eq!(
        resolve(&module(&["c"]), "crate::a::Thing", &known, &reexported),
        Some(module(&["a", "b"]))
    );
    assert_eq!(
        resolve(&module(&["c"]), "crate::a::Other", &known, &reexported),
        Some(module(&["a"])),
        "a re-export of an unknown module stays at the re-exporting one"
    );
    let edges: BTreeMap<String, BTreeSet<String>> = [
        ("a".to_owned(), ["b".to_owned()].into()),
        ("b".to_owned(), ["a".to_owned()].into()),
    ]
    .into();
    assert_eq!(
        circle(&edges),
        Some(vec!["a".to_owned(), "b".to_owned(), "a".to_owned()])
    );
}

#[test]
fn no_library_crate_holds_more_than_35_percent_of_the_code() {
    let counts: Vec<(PathBuf, bool, usize)> = crates()
        .into_iter()
        .map(|(krate, library)| {
            let lines = sources(&krate)
                .iter()
                .map(|f| code_lines(&std::fs::read_to_string(f).expect("source")))
                .sum();
            (krate, library, lines)
        })
        .collect();
    let total: usize = counts.iter().map(|(_, _, lines)| lines).sum();
    let too_big: Vec<String> = counts
        .iter()
        .filter(|(_, library, lines)| *library && *lines * 100 > total * 35)
        .map(|(krate, _, lines)| format!("{}: {lines} of {total} lines", krate.display()))
        .collect();
    assert!(total > 10_000, "the count reads the workspace ({total} lines)");
    assert!(too_big.is_empty(), "{}", too_big.join("\n"));
}

#[test]
fn no_source_file_is_longer_than_600_lines() {
    let files: Vec<PathBuf> = crates()
        .into_iter()
        .flat_map(|(krate, _)| sources(&krate))
        .collect();
    assert!(
        files.len() > 100,
        "the check reads the workspace ({} files)",
        files.len()
    );
    let long: Vec<String> = files
        .into_iter()
        .filter_map(|file| {
            let lines = std::fs::read_to_string(&file).expect("source").lines().count();
            (lines > 600).then(|| format!("{}: {lines} lines", file.display()))
        })
        .collect();
    assert!(long.is_empty(), "{}", long.join("\n"));
}

/// The `*.md` documents a line names (`docs/design.md` -> `design.md`).
fn documents_named(line: &str) -> Vec<&str> {
    line.match_indices(".md")
        .filter(|(at, _)| line[at + 3..].chars().next().is_none_or(|c| !c.is_alphanumeric()))
        // A page of a public site, named by its full address, is a source anyone can open.
        .filter(|(at, _)| {
            let word = line[..*at].rsplit(char::is_whitespace).next().unwrap_or_default();
            !word.contains("https://")
        })
        .filter_map(|(at, _)| {
            let start = line[..at]
                .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-' || c == '.'))
                .map_or(0, |p| p + 1);
            let name = &line[start..at + 3];
            (name.len() > 3).then_some(name)
        })
        .collect()
}

#[test]
fn nothing_cites_a_file_outside_the_repository() {
    let cited = [
        "../shared/",
        "shared/reference",
        "shared/seeds",
        "DESIGN §",
        "DESIGN.md",
    ];
    let texts = ["rs", "md", "toml", "yaml", "yml", "sh", "py", "json"];
    let files = files();
    let documents: BTreeSet<String> = files
        .iter()
        .filter_map(|f| f.file_name().map(|n| n.to_string_lossy().into_owned()))
        .filter(|n| n.ends_with(".md"))
        .collect();
    assert!(
        documents.contains("design.md"),
        "the documents are read: {documents:?}"
    );
    let mut found = Vec::new();
    for file in &files {
        let readable = file.extension().is_some_and(|e| texts.iter().any(|t| e == *t))
            || file.file_name().is_some_and(|n| n == "Makefile");
        if !readable || file.ends_with("tests/integration/house.rs") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for (number, line) in text.lines().enumerate() {
            let outside = cited.iter().any(|c| line.contains(c))
                || documents_named(line).iter().any(|d| !documents.contains(*d));
            if outside {
                let shown = file.strip_prefix(root()).unwrap_or(file).display().to_string();
                found.push(format!("{shown}:{}: {}", number + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "citations of files outside the repository:\n{}",
        found.join("\n")
    );
}

#[test]
fn a_document_named_on_a_line_is_found() {
    assert_eq!(
        documents_named("see [the design](docs/design.md#budgets) and `limits.md`, not x.mdx"),
        ["design.md", "limits.md"]
    );
    assert_eq!(
        documents_named(
            "source: https://github.com/MicrosoftDocs/x/blob/abc/New-InboundConnector.md (and notes.md)"
        ),
        ["notes.md"]
    );
}

/// The fixtures' private keys are test keys: no product source (tests aside) names them, and the
/// secret scanners' allow-list names exactly them.
#[test]
fn no_product_code_reads_a_test_key() {
    let fixtures = root().join("m365-sim/tests/fixtures");
    let keys: Vec<String> = std::fs::read_dir(&fixtures)
        .expect("fixtures")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with("-key.pem"))
        .collect();
    assert!(!keys.is_empty(), "the fixtures hold test keys");
    let readers: Vec<String> = crates()
        .into_iter()
        .filter(|(krate, _)| !krate.ends_with("tests") && !krate.ends_with("m365-sim"))
        .flat_map(|(krate, _)| sources(&krate))
        .filter(|file| {
            let source = without_tests(&std::fs::read_to_string(file).expect("source"));
            keys.iter().any(|key| source.contains(key.as_str()))
        })
        .map(|file| file.display().to_string())
        .collect();
    assert!(readers.is_empty(), "product code reads a test key: {readers:?}");
    let allow = std::fs::read_to_string(root().join(".gitleaks.toml")).expect(".gitleaks.toml");
    for key in &keys {
        let stem = key.trim_end_matches("-key.pem");
        assert!(
            allow.contains(stem),
            "{key} is not in .gitleaks.toml's allow-list"
        );
    }
}
