//! No two files of a crate import each other, directly or around a circle: a file's `use` lines
//! and the `crate::`/`super::` paths in its code are read, resolved to the files that define
//! them, and the graph between files must have no cycle. (A module file declaring its children
//! with `mod` is not an import; a child naming its parent's items is.)

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

/// Every `.rs` file under `dir`, as module paths (`http::groups`) → file.
fn modules(src: &Path) -> BTreeMap<Vec<String>, PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(src, &mut files);
    files
        .into_iter()
        .filter_map(|f| {
            let rel = f.strip_prefix(src).unwrap().with_extension("");
            let mut parts: Vec<String> = rel
                .iter()
                .map(|s| s.to_string_lossy().into_owned())
                .collect();
            match parts.last().map(String::as_str) {
                Some("mod") => {
                    parts.pop();
                }
                Some("lib") if parts.len() == 1 => parts.clear(),
                Some("main") if parts.len() == 1 => return None,
                _ => {}
            }
            Some((parts, f))
        })
        .collect()
}

/// `a::{b, c::{d, e}}` → `a::b`, `a::c::d`, `a::c::e`.
fn expand(path: &str) -> Vec<String> {
    let path = path.trim();
    let Some(open) = path.find('{') else {
        return vec![path.to_owned()];
    };
    let prefix = &path[..open];
    let inner = &path[open + 1..path.rfind('}').unwrap_or(path.len())];
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|p| !p.trim().is_empty())
        .flat_map(|p| expand(&format!("{prefix}{}", p.trim())))
        .collect()
}

/// The paths a file names: its `use crate::…`/`use super::…` items, `crate::…`/`super::…` paths
/// in code, and paths into the modules it declares (`child::item`, read as `self::child::item`).
fn named_paths(text: &str) -> Vec<String> {
    let children: Vec<String> = text
        .lines()
        .filter_map(|l| {
            let t = l.trim_start();
            let t = t.strip_prefix("pub ").unwrap_or(t);
            t.strip_prefix("mod ")?.strip_suffix(';').map(str::to_owned)
        })
        .collect();
    let mut text = text.to_owned();
    for c in &children {
        // `child::` where no other path leads to it.
        let needle = format!("{c}::");
        let mut out = String::new();
        let mut rest = text.as_str();
        while let Some(i) = rest.find(&needle) {
            let before = rest[..i].chars().last();
            let starts = before.is_none_or(|b| !(b.is_alphanumeric() || b == '_' || b == ':'));
            out.push_str(&rest[..i]);
            if starts {
                out.push_str("self::");
            }
            out.push_str(&needle);
            rest = &rest[i + needle.len()..];
        }
        out.push_str(rest);
        text = out;
    }
    let code: String = text
        .lines()
        .filter(|l| {
            let t = l.trim_start();
            !(t.starts_with("//") || t.starts_with("pub mod ") || t.starts_with("mod "))
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = Vec::new();
    let bytes = code.as_bytes();
    let mut i = 0;
    while i < code.len() {
        let rest = &code[i..];
        let starts = ["crate::", "super::", "self::"]
            .iter()
            .any(|p| rest.starts_with(p));
        let boundary = i == 0
            || !(bytes[i - 1].is_ascii_alphanumeric()
                || bytes[i - 1] == b'_'
                || bytes[i - 1] == b':');
        if starts && boundary {
            // Up to the end of the path, braces included.
            let mut depth = 0;
            let mut end = rest.len();
            for (j, c) in rest.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        end = j;
                        break;
                    }
                    '}' => depth -= 1,
                    c if depth == 0 && !(c.is_alphanumeric() || c == '_' || c == ':') => {
                        end = j;
                        break;
                    }
                    _ => {}
                }
            }
            let path: String = rest[..end].split_whitespace().collect::<Vec<_>>().join(" ");
            out.extend(expand(&path));
            i += end.max(1);
        } else {
            i += rest.chars().next().map_or(1, char::len_utf8);
        }
    }
    out
}

/// The module a path lands in: the longest prefix that is a file.
fn resolve(
    from: &[String],
    is_mod_file: bool,
    path: &str,
    mods: &BTreeMap<Vec<String>, PathBuf>,
) -> Option<Vec<String>> {
    let mut segs: Vec<&str> = path.split("::").map(str::trim).collect();
    let mut base: Vec<String> = match segs.first() {
        Some(&"crate") => Vec::new(),
        Some(&"super") => {
            // `super` of `a/b.rs` is `a`; of `a/b/mod.rs` it is `a` too.
            let mut b = from.to_vec();
            b.pop();
            let _ = is_mod_file;
            b
        }
        Some(&"self") => from.to_vec(),
        _ => return None,
    };
    segs.remove(0);
    while segs.first() == Some(&"super") {
        base.pop();
        segs.remove(0);
    }
    let mut best = None;
    let mut cur = base.clone();
    if mods.contains_key(&cur) {
        best = Some(cur.clone());
    }
    for s in segs {
        if s.is_empty() || s == "self" || s == "*" {
            break;
        }
        cur.push(s.to_owned());
        if mods.contains_key(&cur) {
            best = Some(cur.clone());
        }
    }
    best
}

fn cycles(src: &Path) -> Vec<Vec<String>> {
    let mods = modules(src);
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    let mut named: BTreeMap<(Vec<String>, Vec<String>), String> = BTreeMap::new();
    for (m, file) in &mods {
        let text = std::fs::read_to_string(file).unwrap();
        // A file's own tests (`mod tests { use super::*; }`) name the file itself.
        let text = text
            .find("#[cfg(test)]\nmod ")
            .map_or(text.as_str(), |i| &text[..i]);
        let is_mod = file
            .file_name()
            .is_some_and(|n| n == "mod.rs" || n == "lib.rs");
        for p in named_paths(text) {
            if let Some(to) = resolve(m, is_mod, &p, &mods) {
                // Naming one's own module or an ancestor's declaration of it is not an import
                // of another file; the crate root only declares.
                if &to != m && !to.is_empty() {
                    named.entry((m.clone(), to.clone())).or_insert(p);
                    edges.entry(m.clone()).or_default().insert(to);
                }
            }
        }
    }
    // Tarjan's strongly connected components.
    struct T<'a> {
        edges: &'a BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        index: BTreeMap<Vec<String>, usize>,
        low: BTreeMap<Vec<String>, usize>,
        stack: Vec<Vec<String>>,
        on: BTreeSet<Vec<String>>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    fn visit(t: &mut T, v: &Vec<String>) {
        t.index.insert(v.clone(), t.next);
        t.low.insert(v.clone(), t.next);
        t.next += 1;
        t.stack.push(v.clone());
        t.on.insert(v.clone());
        let targets: Vec<Vec<String>> = t.edges.get(v).into_iter().flatten().cloned().collect();
        for w in targets {
            if !t.index.contains_key(&w) {
                visit(t, &w);
                let l = t.low[&w].min(t.low[v]);
                t.low.insert(v.clone(), l);
            } else if t.on.contains(&w) {
                let l = t.index[&w].min(t.low[v]);
                t.low.insert(v.clone(), l);
            }
        }
        if t.low[v] == t.index[v] {
            let mut comp = Vec::new();
            loop {
                let w = t.stack.pop().unwrap();
                t.on.remove(&w);
                comp.push(w.join("::"));
                if &w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                t.out.push(comp);
            }
        }
    }
    let mut t = T {
        edges: &edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for m in mods.keys() {
        if !t.index.contains_key(m) {
            visit(&mut t, m);
        }
    }
    // Each circle with the paths that tie it, so the message says what to move.
    t.out
        .into_iter()
        .map(|comp| {
            let mut lines = comp.clone();
            for ((from, to), p) in &named {
                if comp.contains(&from.join("::")) && comp.contains(&to.join("::")) {
                    lines.push(format!("  {} -> {}: {p}", from.join("::"), to.join("::")));
                }
            }
            lines
        })
        .collect()
}

#[test]
fn the_reader_sees_imports_and_finds_a_planted_circle() {
    assert_eq!(
        expand("super::{a, b::{c, d}}"),
        vec!["super::a", "super::b::c", "super::b::d"]
    );
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::create_dir(src.join("x")).unwrap();
    std::fs::write(src.join("lib.rs"), "pub mod x;\npub mod y;\n").unwrap();
    std::fs::write(src.join("x/mod.rs"), "pub mod a;\npub struct S;\n").unwrap();
    std::fs::write(src.join("x/a.rs"), "use super::S;\n").unwrap();
    std::fs::write(src.join("y.rs"), "fn f() { crate::x::a::g(); }\n").unwrap();
    assert!(cycles(src).is_empty(), "{:?}", cycles(src));
    std::fs::write(src.join("x/a.rs"), "use super::S;\nuse crate::{y::h};\n").unwrap();
    std::fs::write(src.join("y.rs"), "use crate::x::{a::g};\n").unwrap();
    assert_eq!(cycles(src)[0][..2], ["x::a".to_string(), "y".to_string()]);
    // A parent naming its child by a relative path, and the child naming the parent's items.
    std::fs::write(src.join("y.rs"), "").unwrap();
    std::fs::write(
        src.join("x/mod.rs"),
        "pub mod a;\npub struct S;\nfn k() { a::g() }\n",
    )
    .unwrap();
    assert_eq!(cycles(src)[0][..2], ["x".to_string(), "x::a".to_string()]);
}

#[test]
fn no_file_imports_another_that_imports_it_back() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    for krate in ["server/src", "app/src", "core/src"] {
        let found = cycles(&root.join(krate));
        assert!(found.is_empty(), "import circles in {krate}: {found:#?}");
    }
}
