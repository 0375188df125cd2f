//! The code's shape, checked on every `cargo xtask test`: no import cycle among the modules of `edge/src` or
//! `shared/src`, and the edge's layers import only downwards.
//!
//! The edge's layers, lowest first: `platform` (imports nothing of the edge), `rpc` (platform), then `objects`
//! and `api` side by side (rpc and platform). `objects` never import `api`, and one object never imports
//! another: objects talk through `rpc`. A module's imports are read from its source: every `crate::…` and
//! `super::…` path (and `child::…` of a module it declares) outside comments and string literals, resolved to
//! the longest module it names. And a request's caller is worked out once: only the router calls
//! `Caller::of`, and only `api::caller` reads the session cookie or the bearer token.

use anyhow::{Context, Result, bail};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A module, by its path from the crate root (`["api", "caller"]`; the root is `[]`).
type Module = Vec<String>;

/// Checks both crates; the error lists every cycle and every import against the layers.
pub(crate) fn check(root: &Path) -> Result<()> {
    let mut problems = Vec::new();
    for (krate, layered) in [("edge", true), ("shared", false)] {
        let sources = read_sources(&root.join(krate).join("src"))?;
        let graph = imports(&sources);
        problems.extend(
            cycles(&graph).into_iter().map(|cycle| format!("{krate}: import cycle {}", cycle.join(" → "))),
        );
        if layered {
            problems.extend(layer_breaks(&graph).into_iter().map(|p| format!("{krate}: {p}")));
            problems.extend(caller_worked_out_twice(&sources).into_iter().map(|p| format!("{krate}: {p}")));
        }
    }
    if !problems.is_empty() {
        bail!("the code's layers are broken:\n  {}", problems.join("\n  "));
    }
    Ok(())
}

fn show(module: &[String]) -> String {
    if module.is_empty() { "crate".to_owned() } else { module.join("::") }
}

/// Every `.rs` file under `src`, by its module.
fn read_sources(src: &Path) -> Result<BTreeMap<Module, String>> {
    let mut sources = BTreeMap::new();
    let mut folders = vec![src.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).with_context(|| format!("reading {}", folder.display()))? {
            let path = entry?.path();
            if path.is_dir() {
                folders.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let relative = path.strip_prefix(src)?.with_extension("");
            let mut module: Module =
                relative.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
            if matches!(module.last().map(String::as_str), Some("mod" | "lib")) {
                module.pop();
            }
            sources.insert(module, std::fs::read_to_string(&path)?);
        }
    }
    Ok(sources)
}

/// Which modules each module imports (itself, its ancestors' declarations and the crate root left out).
fn imports(sources: &BTreeMap<Module, String>) -> BTreeMap<Module, BTreeSet<Module>> {
    let known: BTreeSet<&Module> = sources.keys().collect();
    sources
        .iter()
        .map(|(module, text)| {
            let used = paths(&code_only(text))
                .into_iter()
                .filter_map(|path| resolve(&known, module, &path))
                .map(|path| longest_module(&known, &path))
                .filter(|target| target != module && !target.is_empty())
                .collect();
            (module.clone(), used)
        })
        .collect()
}

/// The text with comments, string literals and char literals blanked out.
fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let ahead = |chars: &[char], i: usize, n: usize| chars.get(i + n).copied();
        match (chars[i], ahead(&chars, i, 1)) {
            ('/', Some('/')) => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            ('/', Some('*')) => {
                i += 2;
                while i < chars.len() && !(chars[i] == '*' && ahead(&chars, i, 1) == Some('/')) {
                    i += 1;
                }
                i += 2;
            }
            ('r', Some('#' | '"'))
                if !chars.get(i.wrapping_sub(1)).is_some_and(|c| c.is_alphanumeric() || *c == '_') =>
            {
                let mut hashes = 0;
                let mut j = i + 1;
                while chars.get(j) == Some(&'#') {
                    hashes += 1;
                    j += 1;
                }
                if chars.get(j) != Some(&'"') {
                    out.push(chars[i]);
                    i += 1;
                    continue;
                }
                j += 1;
                let closing: String = std::iter::once('"').chain(std::iter::repeat_n('#', hashes)).collect();
                while j < chars.len() && !chars[j..].iter().collect::<String>().starts_with(&closing) {
                    j += 1;
                }
                i = j + closing.len();
                out.push(' ');
            }
            ('"', _) => {
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    i += if chars[i] == '\\' { 2 } else { 1 };
                }
                i += 1;
                out.push(' ');
            }
            // A char literal ('a', '\n', '\''), not a lifetime ('a).
            ('\'', Some('\\')) => {
                // The quote, the backslash and the escaped character, then on to the closing quote.
                i += 3;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
                out.push(' ');
            }
            ('\'', Some(_)) if ahead(&chars, i, 2) == Some('\'') => {
                i += 3;
                out.push(' ');
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// Every path (a word followed by `::`), with `use` groups (`a::{b, c::d}`) spelled out.
fn paths(code: &str) -> Vec<Vec<String>> {
    let tokens = tokenize(code);
    let mut found = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        // A word followed by `::` (not `pub(crate)` or `pub(super)`, which name no module to import).
        let word = token.chars().all(|c| c.is_alphanumeric() || c == '_');
        let starts = word && tokens.get(i + 1).is_some_and(|t| t == "::");
        let continues = i > 0 && matches!(tokens[i - 1].as_str(), "::" | ".");
        if starts && !continues && !in_use_group(&tokens, i) {
            expand(&tokens, i, Vec::new(), &mut found);
        }
    }
    found
}

/// Whether `tokens[at]` stands inside the braces of a `use` group (`::{…}`), whose path [`expand`] reads.
fn in_use_group(tokens: &[String], at: usize) -> bool {
    let mut depth = 0;
    for (i, token) in tokens[..at].iter().enumerate().rev() {
        match token.as_str() {
            "}" => depth += 1,
            "{" if depth == 0 => return i > 0 && tokens[i - 1] == "::",
            "{" => depth -= 1,
            _ => {}
        }
    }
    false
}

/// The path at `tokens[at..]` after `prefix`, and every path of a group it ends in.
fn expand(tokens: &[String], mut at: usize, mut prefix: Vec<String>, found: &mut Vec<Vec<String>>) -> usize {
    while let Some(token) = tokens.get(at) {
        if token == "{" {
            at += 1;
            while tokens.get(at).is_some_and(|t| t != "}") {
                at = expand(tokens, at, prefix.clone(), found);
                if tokens.get(at).is_some_and(|t| t == ",") {
                    at += 1;
                }
            }
            return at + 1;
        }
        if !token.chars().all(|c| c.is_alphanumeric() || c == '_') {
            break;
        }
        prefix.push(token.clone());
        at += 1;
        if tokens.get(at).is_some_and(|t| t == "::") {
            at += 1;
        } else {
            break;
        }
    }
    found.push(prefix);
    at
}

fn tokenize(code: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut chars = code.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_alphanumeric() || c == '_' {
            let mut word = String::from(c);
            while let Some(&next) = chars.peek().filter(|n| n.is_alphanumeric() || **n == '_') {
                word.push(next);
                chars.next();
            }
            tokens.push(word);
        } else if c == ':' && chars.peek() == Some(&':') {
            chars.next();
            tokens.push("::".to_owned());
        } else if !c.is_whitespace() {
            tokens.push(c.to_string());
        }
    }
    tokens
}

/// `path` as written in `module`, from the crate root: `crate::…`, `super::…`, or a child module's
/// `child::…`; `None` for any other path (another crate's, a type's).
fn resolve(known: &BTreeSet<&Module>, module: &Module, path: &[String]) -> Option<Vec<String>> {
    let (first, rest) = path.split_first()?;
    let mut base = match first.as_str() {
        "crate" => Vec::new(),
        "super" => module.get(..module.len().checked_sub(1)?)?.to_vec(),
        "self" => module.clone(),
        child => {
            let mut child_module = module.clone();
            child_module.push(child.to_owned());
            if !known.contains(&child_module) {
                return None;
            }
            child_module
        }
    };
    let mut rest = rest.iter().peekable();
    while rest.peek().is_some_and(|s| *s == "super") {
        base.pop();
        rest.next();
    }
    base.extend(rest.filter(|s| *s != "self").cloned());
    Some(base)
}

fn longest_module(known: &BTreeSet<&Module>, path: &[String]) -> Module {
    (0..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|prefix| known.contains(prefix))
        .unwrap_or_default()
}

/// The import cycles (each as the modules on it, the first repeated at the end), found by depth-first search.
fn cycles(graph: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit(
        graph: &BTreeMap<Module, BTreeSet<Module>>,
        module: &Module,
        marks: &mut BTreeMap<Module, Mark>,
        stack: &mut Vec<Module>,
        found: &mut Vec<Vec<String>>,
    ) {
        marks.insert(module.clone(), Mark::Open);
        stack.push(module.clone());
        for next in graph.get(module).into_iter().flatten() {
            match marks.get(next) {
                Some(Mark::Open) => {
                    let start = stack.iter().position(|m| m == next).unwrap_or(0);
                    let mut cycle: Vec<String> = stack[start..].iter().map(|m| show(m)).collect();
                    cycle.push(show(next));
                    found.push(cycle);
                }
                Some(Mark::Done) => {}
                None => visit(graph, next, marks, stack, found),
            }
        }
        stack.pop();
        marks.insert(module.clone(), Mark::Done);
    }
    let mut marks = BTreeMap::new();
    let mut found = Vec::new();
    for module in graph.keys() {
        if !marks.contains_key(module) {
            visit(graph, module, &mut marks, &mut Vec::new(), &mut found);
        }
    }
    found
}

/// Where the edge reads who is calling: a request's credentials are read in `api::caller` alone, and the
/// caller is worked out once, by the router, so no handler can check a session or a token a second time.
fn caller_worked_out_twice(sources: &BTreeMap<Module, String>) -> Vec<String> {
    let only_in = [
        ("Caller::of(", vec!["api"]),
        ("\"cookie\"", vec!["api::caller"]),
        ("http::bearer(", vec!["api::caller"]),
        ("from_cookie_header(", vec!["api::caller", "platform::crypto"]),
    ];
    let mut found = Vec::new();
    for (module, text) in sources {
        for (needle, allowed) in &only_in {
            if text.contains(needle) && !allowed.contains(&show(module).as_str()) {
                found.push(format!(
                    "{} reads the caller itself ({needle}): ask the request's `Caller`",
                    show(module)
                ));
            }
        }
    }
    found
}

/// The edge's imports against its layers.
fn layer_breaks(graph: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<String> {
    let layer = |m: &Module| m.first().map(String::as_str).unwrap_or("crate").to_owned();
    let mut breaks = Vec::new();
    for (module, targets) in graph {
        let from = layer(module);
        for target in targets {
            let to = layer(target);
            let allowed = match (from.as_str(), to.as_str()) {
                ("crate", _) => true,
                (_, "platform") => true,
                ("platform", _) => false,
                (_, "rpc") => from != "platform",
                // An object imports no other object; `objects/mod.rs` only declares them.
                ("objects", "objects") => module.len() == 1 || target.get(1) == module.get(1),
                ("api", "api") => true,
                _ => false,
            };
            if !allowed {
                breaks.push(format!(
                    "{} imports {} ({from} may not import {to})",
                    show(module),
                    show(target)
                ));
            }
        }
    }
    breaks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(files: &[(&str, &str)]) -> BTreeMap<Module, BTreeSet<Module>> {
        let sources = files
            .iter()
            .map(|(module, text)| {
                let module: Module =
                    module.split("::").filter(|s| !s.is_empty()).map(str::to_owned).collect();
                (module, (*text).to_owned())
            })
            .collect();
        imports(&sources)
    }

    fn module(path: &str) -> Module {
        path.split("::").map(str::to_owned).collect()
    }

    #[test]
    fn imports_are_read_from_use_groups_and_paths_but_not_from_comments_or_strings() {
        let g = graph(&[
            ("", "mod api; mod platform; mod rpc;"),
            ("platform", "pub mod http;"),
            ("platform::http", ""),
            ("rpc", "pub mod desk; use crate::platform::{http::{self, now}, };"),
            (
                "rpc::desk",
                "// use crate::api::x;\nconst S: &str = \"crate::api\"; let c = '\"'; fn f<'a>() {}",
            ),
            ("api", "mod chats; pub(crate) fn g() { crate::rpc::desk::call(); super::x(); }"),
            ("api::chats", "use super::super::platform::http as h; let r = r#\"crate::api \"#;"),
        ]);
        assert_eq!(g[&module("rpc")], BTreeSet::from([module("platform::http")]));
        assert_eq!(g[&module("rpc::desk")], BTreeSet::new(), "comments and strings are not imports");
        assert_eq!(
            g[&module("api")],
            BTreeSet::from([module("rpc::desk")]),
            "super of a top module is the root"
        );
        assert_eq!(g[&module("api::chats")], BTreeSet::from([module("platform::http")]));
    }

    #[test]
    fn a_cycle_is_found_with_every_module_on_it() {
        let g =
            graph(&[("a", "use crate::b::x;"), ("b", "use crate::c;"), ("c", "use crate::a::y;"), ("d", "")]);
        assert_eq!(cycles(&g), vec![vec!["a", "b", "c", "a"]]);
        let g = graph(&[("a", "use crate::b::x;"), ("b", ""), ("c", "use crate::a::y;")]);
        assert!(cycles(&g).is_empty());
    }

    #[test]
    fn objects_import_neither_the_api_nor_each_other_and_the_platform_nothing_above_it() {
        let g = graph(&[
            ("objects", "pub mod desk; pub mod conversation;"),
            (
                "objects::desk",
                "use crate::rpc::x; use crate::platform::y; use crate::objects::conversation::Z;",
            ),
            ("objects::conversation", "use crate::api::caller::Staff;"),
            ("api", "pub mod caller;"),
            ("api::caller", "use crate::rpc::y; use crate::objects::desk;"),
            ("rpc", "use crate::platform::http; use crate::objects::desk;"),
            ("platform", "use crate::rpc::x;"),
        ]);
        let breaks = layer_breaks(&g);
        assert_eq!(
            breaks,
            vec![
                "api::caller imports objects::desk (api may not import objects)",
                "objects::conversation imports api::caller (objects may not import api)",
                "objects::desk imports objects::conversation (objects may not import objects)",
                "platform imports rpc (platform may not import rpc)",
                "rpc imports objects::desk (rpc may not import objects)",
            ]
        );
    }

    #[test]
    fn only_the_router_works_out_the_caller() {
        let sources: BTreeMap<Module, String> = [
            (module("api"), "let caller = Caller::of(&req, env, access).await?;".to_owned()),
            (module("api::caller"), "req.headers().get(\"cookie\"); http::bearer(req)".to_owned()),
            (module("api::attachments"), "let cookie = req.headers().get(\"cookie\")?;".to_owned()),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            caller_worked_out_twice(&sources),
            vec!["api::attachments reads the caller itself (\"cookie\"): ask the request's `Caller`"]
        );
    }

    #[test]
    fn the_repository_keeps_its_layers() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace root");
        check(root).expect("the repository's own code");
    }
}
