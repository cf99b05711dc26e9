//! The loop's internals are layers: no file under `src/runtime/` may import (directly or
//! through others) a file that imports it back, and none may import the public layer
//! (`crate::task`, `crate::sync`, `crate::net`, `crate::io`, `crate::time`, ...). See
//! DESIGN.md, "Architecture".
//!
//! This test reads the sources, not the compiled crate: for every file it collects the paths
//! it names (`use super::core::Core;`, `use crate::runtime::{clock::Clock, tasks::State};`,
//! and paths written out in code such as `super::coop::start()`), resolves each to the file
//! that defines it, and looks for cycles in the graph of files. Comments, strings and
//! `#[cfg(test)]` items are ignored. To see the graph and its layers:
//!
//! ```text
//! cargo test --test layering -- --nocapture
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level modules of the crate that `src/runtime/` must never import.
const PUBLIC_LAYER: &[&str] = &[
    "task",
    "sync",
    "net",
    "io",
    "time",
    "base_events",
    "debug",
    "trace",
    "signal",
    "sim",
    "thread",
    "compat",
];

/// One file of `src/runtime/`: its module path below `runtime` (`""` for `mod.rs`,
/// `"observe::dump"`, ...) and its code with comments, strings and test items removed.
struct File {
    module: String,
    code: String,
}

fn runtime_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src/runtime")
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src/runtime") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn module_of(path: &Path) -> String {
    let rel = path.strip_prefix(runtime_dir()).expect("under src/runtime");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts.join("::")
}

fn files() -> Vec<File> {
    let mut paths = Vec::new();
    collect(&runtime_dir(), &mut paths);
    paths.sort();
    paths
        .iter()
        .map(|p| File {
            module: module_of(p),
            code: strip_tests(&strip_comments_and_strings(
                &std::fs::read_to_string(p).expect("read a source file"),
            )),
        })
        .collect()
}

/// The text with comments removed and string and char literals emptied (newlines kept).
fn strip_comments_and_strings(src: &str) -> String {
    let c: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    let ident = |ch: char| ch.is_alphanumeric() || ch == '_';
    while i < c.len() {
        let at = |k: usize| c.get(i + k).copied().unwrap_or('\0');
        if at(0) == '/' && at(1) == '/' {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if at(0) == '/' && at(1) == '*' {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if c[i] == '\n' {
                        out.push('\n');
                    }
                    i += 1;
                }
            }
        } else if (at(0) == 'r' || (at(0) == 'b' && at(1) == 'r'))
            && (i == 0 || !ident(c[i - 1]))
            && {
                let start = if at(0) == 'b' { 2 } else { 1 };
                let mut k = start;
                while at(k) == '#' {
                    k += 1;
                }
                at(k) == '"'
            }
        {
            // A raw string: r"..", r#".."#, br"..".
            i += if at(0) == 'b' { 2 } else { 1 };
            let mut hashes = 0;
            while c[i] == '#' {
                hashes += 1;
                i += 1;
            }
            i += 1; // the opening quote
            while i < c.len() {
                if c[i] == '"' && (1..=hashes).all(|h| c.get(i + h) == Some(&'#')) {
                    i += 1 + hashes;
                    break;
                }
                if c[i] == '\n' {
                    out.push('\n');
                }
                i += 1;
            }
            out.push_str("\"\"");
        } else if at(0) == '"' {
            i += 1;
            while i < c.len() && c[i] != '"' {
                if c[i] == '\\' {
                    i += 1;
                }
                if c.get(i) == Some(&'\n') {
                    out.push('\n');
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if at(0) == '\'' {
            // A char literal ('a', '\n', '\u{1F600}', '\'') or a lifetime ('a, 'static).
            if at(1) == '\\' {
                i += 2;
                while i < c.len() && c[i] != '\'' {
                    i += 1;
                }
                i += 1;
                out.push_str("' '");
            } else if at(2) == '\'' {
                i += 3;
                out.push_str("' '");
            } else {
                out.push('\'');
                i += 1;
            }
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

/// The code without `#[cfg(test)]` items (test modules, test-only functions and imports).
fn strip_tests(code: &str) -> String {
    let mut out = code.to_string();
    while let Some(start) = find_cfg_test(&out) {
        let bytes = out.as_bytes();
        let mut i = start;
        // Skip this and any further attributes.
        loop {
            while bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            if bytes[i] != b'#' {
                break;
            }
            let mut depth = 0;
            loop {
                match bytes[i] {
                    b'[' => depth += 1,
                    b']' => {
                        depth -= 1;
                        if depth == 0 {
                            i += 1;
                            break;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
        }
        // The item ends at its first `;` outside braces, or at the brace closing its body.
        let mut depth = 0;
        let end = loop {
            match bytes.get(i) {
                None => break i,
                Some(b'{') => depth += 1,
                Some(b'}') => {
                    depth -= 1;
                    if depth == 0 {
                        break i + 1;
                    }
                }
                Some(b';') if depth == 0 => break i + 1,
                _ => {}
            }
            i += 1;
        };
        out.replace_range(start..end, "");
    }
    out
}

fn find_cfg_test(code: &str) -> Option<usize> {
    // Allow whitespace between the tokens.
    let pattern = ["#", "[", "cfg", "(", "test", ")", "]"];
    let b = code.as_bytes();
    (0..b.len()).find(|&start| {
        let mut i = start;
        pattern.iter().all(|p| {
            while i < b.len() && b[i].is_ascii_whitespace() && *p != "#" {
                i += 1;
            }
            if b[i..].starts_with(p.as_bytes()) {
                i += p.len();
                true
            } else {
                false
            }
        })
    })
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Ident(String),
    Punct(&'static str),
}

fn tokens(code: &str) -> Vec<Token> {
    let c: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        if c[i].is_alphabetic() || c[i] == '_' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            out.push(Token::Ident(c[start..i].iter().collect()));
            continue;
        }
        let punct = match c[i] {
            ':' if c.get(i + 1) == Some(&':') => {
                i += 1;
                "::"
            }
            '{' => "{",
            '}' => "}",
            ',' => ",",
            ';' => ";",
            '*' => "*",
            '(' => "(",
            ')' => ")",
            _ => "",
        };
        if !punct.is_empty() {
            out.push(Token::Punct(punct));
        }
        i += 1;
    }
    out
}

fn is_ident(t: Option<&Token>, name: &str) -> bool {
    matches!(t, Some(Token::Ident(s)) if s == name)
}

/// Expands a use tree (`a::{b, c::{d, e}}`) into its paths.
fn expand_use(toks: &[Token], pos: &mut usize, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    let mut path = prefix;
    loop {
        match toks.get(*pos) {
            Some(Token::Ident(s)) if s == "as" => {
                *pos += 2; // `as name`
            }
            Some(Token::Ident(s)) => {
                if s != "self" || path.is_empty() {
                    path.push(s.clone());
                }
                *pos += 1;
            }
            Some(Token::Punct("::")) => *pos += 1,
            Some(Token::Punct("*")) => *pos += 1,
            Some(Token::Punct("{")) => {
                *pos += 1;
                loop {
                    expand_use(toks, pos, path.clone(), out);
                    match toks.get(*pos) {
                        Some(Token::Punct(",")) => *pos += 1,
                        _ => break,
                    }
                    if toks.get(*pos) == Some(&Token::Punct("}")) {
                        break;
                    }
                }
                *pos += 1; // the closing brace
                return;
            }
            _ => {
                out.push(path);
                return;
            }
        }
    }
}

/// Every path the file names that starts at `crate`, `super`, `self` or a child module.
fn named_paths(code: &str, children: &BTreeSet<String>) -> Vec<Vec<String>> {
    let toks = tokens(code);
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let after_colons = i > 0 && toks[i - 1] == Token::Punct("::");
        if is_ident(toks.get(i), "use") {
            let mut pos = i + 1;
            let mut paths = Vec::new();
            expand_use(&toks, &mut pos, Vec::new(), &mut paths);
            out.extend(paths);
            i = pos;
            continue;
        }
        if let Some(Token::Ident(first)) = toks.get(i) {
            let starts_path = toks.get(i + 1) == Some(&Token::Punct("::"))
                && !after_colons
                && !is_ident(i.checked_sub(1).and_then(|k| toks.get(k)), "in");
            let anchored =
                matches!(first.as_str(), "crate" | "super" | "self") || children.contains(first);
            if starts_path && anchored {
                let mut path = vec![first.clone()];
                let mut k = i + 1;
                while toks.get(k) == Some(&Token::Punct("::")) {
                    match toks.get(k + 1) {
                        Some(Token::Ident(s)) => path.push(s.clone()),
                        _ => break,
                    }
                    k += 2;
                }
                out.push(path);
                i = k;
                continue;
            }
        }
        i += 1;
    }
    out
}

fn parent(module: &str) -> String {
    module
        .rsplit_once("::")
        .map_or(String::new(), |(p, _)| p.to_string())
}

fn join(base: &str, name: &str) -> String {
    if base.is_empty() {
        name.to_string()
    } else {
        format!("{base}::{name}")
    }
}

fn display(module: &str) -> &str {
    if module.is_empty() {
        "runtime (mod.rs)"
    } else {
        module
    }
}

/// What the runtime's files import from each other, and what they import from above.
struct Graph {
    edges: BTreeMap<String, BTreeSet<String>>,
    upward: Vec<String>,
}

fn graph() -> Graph {
    let files = files();
    let modules: BTreeSet<String> = files.iter().map(|f| f.module.clone()).collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut upward = Vec::new();
    for file in &files {
        let m = &file.module;
        let children: BTreeSet<String> = modules
            .iter()
            .filter(|c| !c.is_empty() && parent(c) == *m)
            .map(|c| c.rsplit("::").next().unwrap_or(c).to_string())
            .collect();
        let deps = edges.entry(m.clone()).or_default();
        for path in named_paths(&file.code, &children) {
            let (mut at, rest) = match path[0].as_str() {
                "crate" => {
                    match path.get(1).map(String::as_str) {
                        Some("runtime") => {}
                        Some(top) if PUBLIC_LAYER.contains(&top) => {
                            upward.push(format!("{} imports crate::{top}", display(m)));
                            continue;
                        }
                        _ => continue, // a crate-level item (a macro, a re-export)
                    }
                    (String::new(), &path[2..])
                }
                "self" => (m.clone(), &path[1..]),
                "super" => {
                    let mut at = parent(m);
                    let mut k = 1;
                    while path.get(k).is_some_and(|s| s == "super") {
                        at = parent(&at);
                        k += 1;
                    }
                    (at, &path[k..])
                }
                _ => (m.clone(), &path[..]), // a child module by its name
            };
            for seg in rest {
                let next = join(&at, seg);
                if !modules.contains(&next) {
                    break;
                }
                at = next;
            }
            if at != *m {
                deps.insert(at);
            }
        }
    }
    Graph { edges, upward }
}

/// The strongly connected components with more than one module (Tarjan's algorithm).
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        found: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in s.edges.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low[v];
                s.low.insert(v, lv.min(lw));
            } else if s.on_stack.contains(w) {
                let iw = s.index[w];
                let lv = s.low[v];
                s.low.insert(v, lv.min(iw));
            }
        }
        if s.low[v] == s.index[v] {
            let mut scc = Vec::new();
            loop {
                let w = s.stack.pop().expect("on the stack");
                s.on_stack.remove(w);
                scc.push(display(w).to_string());
                if w == v {
                    break;
                }
            }
            if scc.len() > 1 {
                scc.sort();
                s.found.push(scc);
            }
        }
    }
    let mut s = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in edges.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.found
}

/// Each module's layer: 0 if it imports nothing of the runtime, else one above its highest
/// import. Only meaningful without cycles.
fn layers(edges: &BTreeMap<String, BTreeSet<String>>) -> BTreeMap<String, usize> {
    let mut layer: BTreeMap<String, usize> = BTreeMap::new();
    for _ in 0..=edges.len() {
        for (m, deps) in edges {
            let l = deps
                .iter()
                .map(|d| layer.get(d).map_or(1, |l| l + 1))
                .max()
                .unwrap_or(0);
            layer.insert(m.clone(), l);
        }
    }
    layer
}

#[test]
fn the_runtime_has_no_import_cycles() {
    let graph = graph();
    println!("what each file of src/runtime/ imports from the others:");
    for (m, deps) in &graph.edges {
        let deps: Vec<&str> = deps.iter().map(|d| display(d)).collect();
        println!("  {:<18} -> {}", display(m), deps.join(", "));
    }
    let cycles = cycles(&graph.edges);
    if cycles.is_empty() {
        println!("layers, from the bottom (each file imports only files below it):");
        let layer = layers(&graph.edges);
        let top = layer.values().copied().max().unwrap_or(0);
        for l in 0..=top {
            let here: Vec<&str> = layer
                .iter()
                .filter(|(_, &x)| x == l)
                .map(|(m, _)| display(m))
                .collect();
            println!("  {l}: {}", here.join(", "));
        }
    }
    println!("cycles: {cycles:?}");

    // The reader found what it should: guards against a parser that silently sees nothing.
    let core = graph.edges.get("core").expect("runtime/core.rs was read");
    for dep in ["timers", "tasks", "reactor", "clock"] {
        assert!(core.contains(dep), "core's import of {dep} was not seen");
    }
    assert!(
        graph
            .edges
            .get("registration")
            .is_some_and(|d| d.contains("core")),
        "registration's import of core was not seen"
    );
    assert!(
        cycles.is_empty(),
        "files under src/runtime/ import each other in a cycle: {cycles:?}"
    );
}

#[test]
fn the_runtime_imports_nothing_of_the_public_layer() {
    let graph = graph();
    assert!(
        graph.upward.is_empty(),
        "src/runtime/ must not import the public layer: {:?}",
        graph.upward
    );
}

#[test]
fn the_reader_sees_through_comments_strings_and_tests() {
    let code = strip_tests(&strip_comments_and_strings(
        "use super::a::A; // use super::b::B;\n\
         /* use super::c; */ fn f() { let s = \"super::d::D\"; let c = '\"'; super::e::f(); }\n\
         #[cfg(test)]\nmod tests { use super::g::G; }\n\
         pub(in crate::runtime) fn h<'a>(x: &'a u8) { crate::runtime::{i::I, j}; }",
    ));
    let paths = named_paths(&code, &BTreeSet::new());
    let firsts: Vec<&str> = paths.iter().map(|p| p[1].as_str()).collect();
    assert_eq!(firsts, ["a", "e", "runtime"]);
    let mut nested = Vec::new();
    expand_use(
        &tokens("crate::runtime::{core::{Core, Stop}, tasks::State as S, self};"),
        &mut 0,
        Vec::new(),
        &mut nested,
    );
    let nested: Vec<String> = nested.iter().map(|p| p.join("::")).collect();
    assert_eq!(
        nested,
        [
            "crate::runtime::core::Core",
            "crate::runtime::core::Stop",
            "crate::runtime::tasks::State",
            "crate::runtime"
        ]
    );
}
