//! The workspace's own `macro_rules!`, expanded far enough to see the tests they write.
//!
//! A test written by a macro (`#[test] fn $name() { .. }` in a transcriber, or test functions
//! passed through `$($t:tt)*` into `mod a { $($t)* } mod b { $($t)* }`) is invisible to syn.
//! This module matches an item-level invocation against the arms of the workspace macros of
//! that name, transcribes the arm, and reads the output for `#[..test] fn name` items and the
//! `mod` blocks around them, expanding nested invocations of workspace macros the same way. An
//! invocation of a macro from outside the workspace (`proptest! { #[test] fn x(..) {} }`) is read
//! as it is written.
//!
//! The matcher works on token trees: `$x:ident`, `$x:tt`, `$x:literal`, `$x:lifetime`,
//! `$x:block` and `$x:vis` take what the language says; `expr`, `ty`, `path`, `pat`, `meta`,
//! `stmt` and `item` take any run of tokens that ends before a separator the language allows
//! after them (`,`, `;`, `=>`, …) and, except `item` and `stmt`, holds no `;`. Where that is
//! ambiguous every way of matching is tried (up to a bound) and the tests of all of them are
//! kept: a test too many costs a little, a test missed is the worst error.

use std::collections::BTreeSet;

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};

/// A token tree that can be cached.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(crate) enum Tok {
    Ident(String),
    Punct(char),
    Literal(String),
    Group(Delim, Vec<Tok>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(crate) enum Delim {
    Paren,
    Brace,
    Bracket,
    None,
}

impl Tok {
    fn is_punct(&self, c: char) -> bool {
        matches!(self, Tok::Punct(p) if *p == c)
    }

    fn is_ident(&self, name: &str) -> bool {
        matches!(self, Tok::Ident(i) if i == name)
    }
}

/// Converts a proc-macro2 stream; `None`-delimited groups are flattened.
pub(crate) fn tokens(stream: TokenStream) -> Vec<Tok> {
    let mut out = Vec::new();
    push_tokens(stream, &mut out);
    out
}

fn push_tokens(stream: TokenStream, out: &mut Vec<Tok>) {
    for tree in stream {
        match tree {
            TokenTree::Ident(ident) => out.push(Tok::Ident(ident.to_string())),
            TokenTree::Punct(punct) => out.push(Tok::Punct(punct.as_char())),
            TokenTree::Literal(literal) => out.push(Tok::Literal(literal.to_string())),
            TokenTree::Group(group) => {
                let delim = match group.delimiter() {
                    Delimiter::Parenthesis => Delim::Paren,
                    Delimiter::Brace => Delim::Brace,
                    Delimiter::Bracket => Delim::Bracket,
                    Delimiter::None => {
                        push_tokens(group.stream(), out);
                        continue;
                    }
                };
                out.push(Tok::Group(delim, tokens(group.stream())));
            }
        }
    }
}

/// A test found in a macro's output.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct MacroTest {
    /// Module path inside the invocation's module, then the function name.
    pub path: Vec<String>,
    pub ignored: bool,
    pub parameterized: bool,
}

/// The `macro_rules!` bodies visible to one crate, by name.
pub(crate) type MacroTable<'a> = FxHashMap<&'a str, Vec<&'a [Tok]>>;

/// How far expansion goes: nested invocations, and work (matching steps plus output tokens) per
/// top-level invocation.
const MAX_NESTING: u32 = 24;
const WORK_BUDGET: usize = 4_000_000;
/// Nested matching calls (a repetition recurses once per iteration), and the stack that the
/// thread running expansion needs for them.
const MAX_MATCH_DEPTH: usize = 100_000;
pub(crate) const STACK_SIZE: usize = 256 << 20;
/// Complete matches of one arm whose outputs are read (ambiguous matchers).
const MAX_MATCHES: usize = 8;

/// The tests that the item-level invocation `name!(tokens)` writes. Workspace macros (in
/// `table`) are expanded; any other macro's input is read for `#[test] fn` as written.
pub(crate) fn tests_of_invocation(
    table: &MacroTable<'_>,
    name: &str,
    input: &[Tok],
) -> Vec<MacroTest> {
    let mut expander = Expander {
        table,
        local: FxHashMap::default(),
        budget: WORK_BUDGET,
        out: BTreeSet::new(),
    };
    let mut module = Vec::new();
    expander.invocation(name, input, &mut module, 0);
    expander.out.into_iter().collect()
}

struct Expander<'t, 'a> {
    table: &'t MacroTable<'a>,
    /// `macro_rules!` written by an expansion.
    local: FxHashMap<String, Vec<Vec<Tok>>>,
    budget: usize,
    out: BTreeSet<MacroTest>,
}

impl Expander<'_, '_> {
    fn invocation(&mut self, name: &str, input: &[Tok], module: &mut Vec<String>, depth: u32) {
        let mut bodies: Vec<Vec<Tok>> = self.local.get(name).cloned().unwrap_or_default();
        if let Some(defs) = self.table.get(name) {
            bodies.extend(defs.iter().map(|body| body.to_vec()));
        }
        let mut expanded = false;
        if depth < MAX_NESTING {
            // Ambiguous matches often write the same output: read each once.
            let mut seen: FxHashSet<Vec<Tok>> = FxHashSet::default();
            for body in &bodies {
                for output in self.expand(body, input) {
                    expanded = true;
                    if self.budget > 0 && seen.insert(output.clone()) {
                        self.scan(&output, module, depth + 1);
                    }
                }
            }
        }
        if self.budget == 0 {
            return;
        }
        if !expanded {
            // A foreign macro, or one no arm of which matched: read its input as written.
            self.scan(input, module, depth + 1);
        }
    }

    /// The outputs of the arms of `body` that match `input`: the first arm that matches, in
    /// every way it matches.
    fn expand(&mut self, body: &[Tok], input: &[Tok]) -> Vec<Vec<Tok>> {
        for (matcher, transcriber) in arms(body) {
            let pattern = parse_pattern(matcher);
            let mut matcher = Matcher {
                budget: &mut self.budget,
                depth: 0,
                index: Vec::new(),
                matches: Vec::new(),
            };
            let mut env = Vec::new();
            matcher.seq(&pattern, input, 0, &mut env, &mut |m, pos, env| {
                if pos == input.len() {
                    m.matches.push(env.clone());
                }
                m.matches.len() >= MAX_MATCHES
            });
            let matches = std::mem::take(&mut matcher.matches);
            if matches.is_empty() {
                continue;
            }
            let mut outputs = Vec::new();
            for env in matches {
                let mut transcribe = Transcriber::new(&env, &mut self.budget);
                let mut out = Vec::new();
                transcribe.run(transcriber, &mut Vec::new(), &mut out);
                outputs.push(out);
            }
            return outputs;
        }
        Vec::new()
    }

    /// Reads item-level tokens for tests, `mod` blocks, `macro_rules!` and nested invocations.
    fn scan(&mut self, toks: &[Tok], module: &mut Vec<String>, depth: u32) {
        let mut test: Option<(bool, bool)> = None;
        let mut ignored = false;
        let mut i = 0;
        while i < toks.len() {
            match &toks[i] {
                Tok::Punct('#') => {
                    let mut next = i + 1;
                    if toks.get(next).is_some_and(|t| t.is_punct('!')) {
                        next += 1;
                    }
                    if let Some(Tok::Group(Delim::Bracket, attr)) = toks.get(next) {
                        if next == i + 1 {
                            match attribute(attr) {
                                Attr::Test { parameterized } => {
                                    let previous = test.map_or(false, |(_, p)| p);
                                    test = Some((true, previous || parameterized));
                                }
                                Attr::Parameterizing => {
                                    test = Some((test.is_some_and(|(t, _)| t), true));
                                }
                                Attr::Ignore => ignored = true,
                                Attr::Other => {}
                            }
                        }
                        i = next + 1;
                        continue;
                    }
                }
                Tok::Ident(word) if word == "fn" => {
                    if let (Some((true, parameterized)), Some(Tok::Ident(name))) =
                        (test, toks.get(i + 1))
                    {
                        let mut path = module.clone();
                        path.push(name.clone());
                        self.out.insert(MacroTest {
                            path,
                            ignored,
                            parameterized,
                        });
                    }
                    test = None;
                    ignored = false;
                }
                Tok::Ident(word) if word == "mod" => {
                    test = None;
                    ignored = false;
                    if let (Some(Tok::Ident(name)), Some(Tok::Group(Delim::Brace, content))) =
                        (toks.get(i + 1), toks.get(i + 2))
                    {
                        module.push(name.clone());
                        self.scan(content, module, depth);
                        module.pop();
                        i += 3;
                        continue;
                    }
                }
                Tok::Ident(word) if word == "macro_rules" => {
                    if let (
                        Some(Tok::Punct('!')),
                        Some(Tok::Ident(name)),
                        Some(Tok::Group(_, body)),
                    ) = (toks.get(i + 1), toks.get(i + 2), toks.get(i + 3))
                    {
                        self.local
                            .entry(name.clone())
                            .or_default()
                            .push(body.clone());
                        i += 4;
                        continue;
                    }
                }
                Tok::Ident(name) => {
                    if let (Some(Tok::Punct('!')), Some(Tok::Group(_, input))) =
                        (toks.get(i + 1), toks.get(i + 2))
                    {
                        let name = name.clone();
                        self.invocation(&name, input, module, depth);
                        test = None;
                        ignored = false;
                        i += 3;
                        continue;
                    }
                }
                Tok::Punct(';') | Tok::Group(Delim::Brace, _) => {
                    test = None;
                    ignored = false;
                }
                _ => {}
            }
            i += 1;
        }
    }
}

enum Attr {
    /// `#[test]`, `#[tokio::test(..)]`, `#[rstest]`, `#[test_case(..)]`, …
    Test {
        parameterized: bool,
    },
    /// `#[case(..)]` and the like: cases of a parameterised test.
    Parameterizing,
    Ignore,
    Other,
}

/// What an attribute's tokens (inside `#[..]`) say; its path is the leading identifiers.
fn attribute(tokens: &[Tok]) -> Attr {
    let mut path = Vec::new();
    for tok in tokens {
        match tok {
            Tok::Ident(ident) => path.push(ident.as_str()),
            Tok::Punct(':') => {}
            _ => break,
        }
    }
    let Some(&last) = path.last() else {
        return Attr::Other;
    };
    let parameterized = path
        .iter()
        .any(|segment| matches!(*segment, "test_case" | "rstest" | "case"));
    if matches!(last, "test" | "rstest" | "test_case" | "test_log") {
        Attr::Test { parameterized }
    } else if path == ["ignore"] {
        Attr::Ignore
    } else if parameterized {
        Attr::Parameterizing
    } else {
        Attr::Other
    }
}

/// The arms of a `macro_rules!` body: `(matcher) => {transcriber}` separated by `;`.
fn arms(body: &[Tok]) -> Vec<(&[Tok], &[Tok])> {
    let mut out = Vec::new();
    let mut i = 0;
    while i + 3 < body.len() {
        if let (
            Tok::Group(_, matcher),
            Tok::Punct('='),
            Tok::Punct('>'),
            Tok::Group(_, transcriber),
        ) = (&body[i], &body[i + 1], &body[i + 2], &body[i + 3])
        {
            out.push((matcher.as_slice(), transcriber.as_slice()));
            i += 4;
        } else {
            i += 1;
        }
    }
    out
}

/// One element of a parsed matcher.
#[derive(Debug)]
enum Pat {
    Tok(Tok),
    Group(Delim, Vec<Pat>),
    Frag(String, Frag),
    Rep {
        inner: Vec<Pat>,
        sep: Option<Tok>,
        op: char,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Frag {
    Ident,
    Tt,
    Lifetime,
    Literal,
    Block,
    Vis,
    /// `item`, `stmt`: may hold `;`.
    Item,
    /// `expr`, `ty`, `path`, `pat`, `meta`, and anything unknown.
    Expr,
}

fn parse_pattern(toks: &[Tok]) -> Vec<Pat> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        match &toks[i] {
            Tok::Punct('$') => match (toks.get(i + 1), toks.get(i + 2), toks.get(i + 3)) {
                (Some(Tok::Ident(name)), Some(Tok::Punct(':')), Some(Tok::Ident(kind))) => {
                    let frag = match kind.as_str() {
                        "ident" => Frag::Ident,
                        "tt" => Frag::Tt,
                        "lifetime" => Frag::Lifetime,
                        "literal" => Frag::Literal,
                        "block" => Frag::Block,
                        "vis" => Frag::Vis,
                        "item" | "stmt" => Frag::Item,
                        _ => Frag::Expr,
                    };
                    out.push(Pat::Frag(name.clone(), frag));
                    i += 4;
                }
                (Some(Tok::Group(Delim::Paren, inner)), next, after) => {
                    let is_op = |t: Option<&Tok>| matches!(t, Some(Tok::Punct(c)) if matches!(c, '*' | '+' | '?'));
                    let (sep, op, used) = if is_op(next) {
                        (None, next, 3)
                    } else {
                        (next.cloned(), after, 4)
                    };
                    let op = match op {
                        Some(Tok::Punct(c)) => *c,
                        _ => '*',
                    };
                    out.push(Pat::Rep {
                        inner: parse_pattern(inner),
                        sep,
                        op,
                    });
                    i += used;
                }
                _ => {
                    out.push(Pat::Tok(Tok::Punct('$')));
                    i += 1;
                }
            },
            Tok::Group(delim, inner) => {
                out.push(Pat::Group(*delim, parse_pattern(inner)));
                i += 1;
            }
            other => {
                out.push(Pat::Tok(other.clone()));
                i += 1;
            }
        }
    }
    out
}

/// A binding: the metavariable, its repetition indices, the tokens.
type Binding<'i> = (&'i str, Vec<usize>, &'i [Tok]);

/// Called with the position reached and the bindings; returns `true` to stop searching.
type Cont<'c, 'b, 'i> = dyn FnMut(&mut Matcher<'b, 'i>, usize, &mut Vec<Binding<'i>>) -> bool + 'c;

struct Matcher<'b, 'i> {
    budget: &'b mut usize,
    /// Nested `seq` calls now.
    depth: usize,
    /// Repetition indices of the metavariables being bound.
    index: Vec<usize>,
    matches: Vec<Vec<Binding<'i>>>,
}

impl<'b, 'i> Matcher<'b, 'i> {
    /// Matches `pats` against `input[pos..]` in every way, calling `k` at each end; `true` =
    /// stop.
    fn seq(
        &mut self,
        pats: &'i [Pat],
        input: &'i [Tok],
        pos: usize,
        env: &mut Vec<Binding<'i>>,
        k: &mut Cont<'_, 'b, 'i>,
    ) -> bool {
        if *self.budget == 0 || self.depth >= MAX_MATCH_DEPTH {
            return true;
        }
        *self.budget -= 1;
        self.depth += 1;
        let stop = self.step(pats, input, pos, env, k);
        self.depth -= 1;
        stop
    }

    fn step(
        &mut self,
        pats: &'i [Pat],
        input: &'i [Tok],
        pos: usize,
        env: &mut Vec<Binding<'i>>,
        k: &mut Cont<'_, 'b, 'i>,
    ) -> bool {
        let Some((first, rest)) = pats.split_first() else {
            return k(self, pos, env);
        };
        match first {
            Pat::Tok(tok) => {
                if input.get(pos) == Some(tok) {
                    self.seq(rest, input, pos + 1, env, k)
                } else {
                    false
                }
            }
            Pat::Group(delim, inner) => {
                let Some(Tok::Group(d, content)) = input.get(pos) else {
                    return false;
                };
                if d != delim {
                    return false;
                }
                self.seq(inner, content, 0, env, &mut |m, end, env| {
                    end == content.len() && m.seq(rest, input, pos + 1, env, k)
                })
            }
            Pat::Frag(name, frag) => {
                for end in fragment_ends(*frag, input, pos) {
                    let mark = env.len();
                    env.push((name.as_str(), self.index.clone(), &input[pos..end]));
                    let stop = self.seq(rest, input, end, env, k);
                    env.truncate(mark);
                    if stop {
                        return true;
                    }
                }
                false
            }
            Pat::Rep { inner, sep, op } => {
                if sep.is_none()
                    && let [Pat::Frag(name, Frag::Tt)] = inner.as_slice()
                {
                    // `$($t:tt)*`: no recursion per token, longest first.
                    let min = usize::from(*op == '+');
                    let max = if *op == '?' { 1 } else { usize::MAX };
                    let available = input.len().saturating_sub(pos).min(max);
                    if available < min {
                        return false;
                    }
                    for count in (min..=available).rev() {
                        let mark = env.len();
                        for offset in 0..count {
                            let mut index = self.index.clone();
                            index.push(offset);
                            env.push((name.as_str(), index, &input[pos + offset..=pos + offset]));
                        }
                        let stop = self.seq(rest, input, pos + count, env, k);
                        env.truncate(mark);
                        if stop {
                            return true;
                        }
                    }
                    return false;
                }
                self.rep(inner, sep.as_ref(), *op, rest, input, pos, 0, env, k)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn rep(
        &mut self,
        inner: &'i [Pat],
        sep: Option<&'i Tok>,
        op: char,
        rest: &'i [Pat],
        input: &'i [Tok],
        pos: usize,
        iteration: usize,
        env: &mut Vec<Binding<'i>>,
        k: &mut Cont<'_, 'b, 'i>,
    ) -> bool {
        // One more iteration first (greedy), then stopping here.
        if op != '?' || iteration == 0 {
            let mut start = pos;
            let separated = match sep {
                Some(sep) if iteration > 0 => {
                    start += 1;
                    input.get(pos) == Some(sep)
                }
                _ => true,
            };
            if separated {
                self.index.push(iteration);
                let stop = self.seq(inner, input, start, env, &mut |m, end, env| {
                    if end == pos {
                        return false;
                    }
                    let saved = m.index.pop();
                    let stop = m.rep(inner, sep, op, rest, input, end, iteration + 1, env, k);
                    if let Some(saved) = saved {
                        m.index.push(saved);
                    }
                    stop
                });
                self.index.pop();
                if stop {
                    return true;
                }
            }
        }
        if op == '+' && iteration == 0 {
            return false;
        }
        self.seq(rest, input, pos, env, k)
    }
}

/// Where a fragment starting at `pos` may end, shortest first.
fn fragment_ends(frag: Frag, input: &[Tok], pos: usize) -> Vec<usize> {
    let at = |i: usize| input.get(i);
    match frag {
        Frag::Ident => match at(pos) {
            Some(Tok::Ident(name)) if name != "_" => vec![pos + 1],
            _ => Vec::new(),
        },
        Frag::Tt => {
            if pos < input.len() {
                vec![pos + 1]
            } else {
                Vec::new()
            }
        }
        Frag::Lifetime => match (at(pos), at(pos + 1)) {
            (Some(Tok::Punct('\'')), Some(Tok::Ident(_))) => vec![pos + 2],
            _ => Vec::new(),
        },
        Frag::Literal => match (at(pos), at(pos + 1)) {
            (Some(Tok::Literal(_)), _) => vec![pos + 1],
            (Some(Tok::Ident(word)), _) if word == "true" || word == "false" => vec![pos + 1],
            (Some(Tok::Punct('-')), Some(Tok::Literal(_))) => vec![pos + 2],
            _ => Vec::new(),
        },
        Frag::Block => match at(pos) {
            Some(Tok::Group(Delim::Brace, _)) => vec![pos + 1],
            _ => Vec::new(),
        },
        Frag::Vis => {
            let mut ends = vec![pos];
            if at(pos).is_some_and(|t| t.is_ident("pub")) {
                ends.push(pos + 1);
                if matches!(at(pos + 1), Some(Tok::Group(Delim::Paren, _))) {
                    ends.push(pos + 2);
                }
            }
            ends
        }
        Frag::Item => {
            let mut ends = Vec::new();
            for end in pos + 1..=input.len() {
                if end == input.len()
                    || matches!(
                        input[end - 1],
                        Tok::Punct(';') | Tok::Group(Delim::Brace, _)
                    )
                {
                    ends.push(end);
                }
            }
            ends
        }
        Frag::Expr => {
            // A top-level `,` ends the fragment, except between the bars of a closure's
            // parameters (`|dir, cmd| ..`) or inside angle brackets (`HashMap<K, V>`), where
            // both readings are kept.
            let mut ends = Vec::new();
            let mut bars = 0usize;
            let mut angles = 0usize;
            for end in pos + 1..=input.len() {
                let last = &input[end - 1];
                let previous = end.checked_sub(2).map(|i| &input[i]);
                match last {
                    Tok::Punct(';') => break,
                    Tok::Punct(',') if bars % 2 == 0 && angles == 0 => break,
                    Tok::Punct('|') => bars += 1,
                    Tok::Punct('<') => angles += 1,
                    Tok::Punct('>') if !matches!(previous, Some(Tok::Punct('-' | '='))) => {
                        angles = angles.saturating_sub(1);
                    }
                    _ => {}
                }
                let boundary = match input.get(end) {
                    None => true,
                    Some(Tok::Punct(c)) => matches!(c, ',' | ';' | '=' | '|' | ':' | '>' | '<'),
                    Some(Tok::Ident(word)) => {
                        matches!(word.as_str(), "as" | "where" | "if" | "in")
                    }
                    Some(Tok::Group(Delim::Brace | Delim::Bracket, _)) => true,
                    _ => false,
                };
                if boundary {
                    ends.push(end);
                }
            }
            ends
        }
    }
}

/// Writes a transcriber with the bindings of one match.
struct Transcriber<'e, 'b> {
    /// `(name, indices)` → tokens.
    values: FxHashMap<(&'e str, &'e [usize]), &'e [Tok]>,
    /// `(name, index prefix)` → how many repetitions at the next depth.
    counts: FxHashMap<(&'e str, &'e [usize]), usize>,
    budget: &'b mut usize,
}

impl<'e, 'b> Transcriber<'e, 'b> {
    fn new(env: &'e [Binding<'e>], budget: &'b mut usize) -> Self {
        let mut values = FxHashMap::default();
        let mut counts: FxHashMap<(&str, &[usize]), usize> = FxHashMap::default();
        for (name, index, toks) in env {
            values.insert((*name, index.as_slice()), *toks);
            for depth in 0..index.len() {
                let count = counts.entry((*name, &index[..depth])).or_insert(0);
                *count = (*count).max(index[depth] + 1);
            }
        }
        Transcriber {
            values,
            counts,
            budget,
        }
    }

    fn value(&self, name: &str, index: &[usize]) -> Option<&'e [Tok]> {
        (0..=index.len())
            .rev()
            .find_map(|depth| self.values.get(&(name, &index[..depth])).copied())
    }

    fn run(&mut self, toks: &[Tok], index: &mut Vec<usize>, out: &mut Vec<Tok>) {
        let mut i = 0;
        while i < toks.len() {
            if *self.budget == 0 {
                return;
            }
            *self.budget -= 1;
            match (&toks[i], toks.get(i + 1)) {
                (Tok::Punct('$'), Some(Tok::Ident(name))) => {
                    if name == "crate" {
                        out.push(Tok::Ident("crate".to_owned()));
                    } else if let Some(value) = self.value(name, index) {
                        *self.budget = self.budget.saturating_sub(value.len());
                        out.extend_from_slice(value);
                    } else {
                        out.push(Tok::Punct('$'));
                        out.push(Tok::Ident(name.clone()));
                    }
                    i += 2;
                }
                (Tok::Punct('$'), Some(Tok::Group(Delim::Paren, inner))) => {
                    let is_op = |t: Option<&Tok>| matches!(t, Some(Tok::Punct(c)) if matches!(c, '*' | '+' | '?'));
                    let (sep, used) = if is_op(toks.get(i + 2)) {
                        (None, 3)
                    } else {
                        (toks.get(i + 2).cloned(), 4)
                    };
                    let mut names = Vec::new();
                    metavariables(inner, &mut names);
                    let count = names
                        .iter()
                        .filter_map(|name| self.counts.get(&(name.as_str(), index.as_slice())))
                        .copied()
                        .max()
                        .unwrap_or(0);
                    for iteration in 0..count {
                        if iteration > 0
                            && let Some(sep) = &sep
                        {
                            out.push(sep.clone());
                        }
                        index.push(iteration);
                        self.run(inner, index, out);
                        index.pop();
                    }
                    i += used;
                }
                (Tok::Group(delim, inner), _) => {
                    let mut content = Vec::new();
                    self.run(inner, index, &mut content);
                    out.push(Tok::Group(*delim, content));
                    i += 1;
                }
                (other, _) => {
                    out.push(other.clone());
                    i += 1;
                }
            }
        }
    }
}

fn metavariables(toks: &[Tok], out: &mut Vec<String>) {
    for (i, tok) in toks.iter().enumerate() {
        match (tok, toks.get(i + 1)) {
            (Tok::Punct('$'), Some(Tok::Ident(name))) => out.push(name.clone()),
            (Tok::Group(_, inner), _) => metavariables(inner, out),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(source: &str) -> Vec<Tok> {
        tokens(source.parse().expect("tokens"))
    }

    fn names(defs: &[(&str, &str)], invocation: &str) -> Vec<String> {
        let bodies: Vec<(String, Vec<Tok>)> = defs
            .iter()
            .map(|(name, body)| ((*name).to_owned(), toks(body)))
            .collect();
        let mut table: MacroTable<'_> = FxHashMap::default();
        for (name, body) in &bodies {
            table
                .entry(name.as_str())
                .or_default()
                .push(body.as_slice());
        }
        let call = toks(invocation);
        let (Tok::Ident(name), Tok::Group(_, input)) = (&call[0], &call[2]) else {
            panic!("not an invocation: {invocation}");
        };
        tests_of_invocation(&table, name, input)
            .into_iter()
            .map(|test| test.path.join("::"))
            .collect()
    }

    #[test]
    fn a_test_named_by_an_ident_argument_is_found() {
        let got = names(
            &[(
                "m",
                "($a:ident, $b:ident, $input:expr) => { #[test] fn $a() { run($input) } #[cfg(feature = \"x\")] #[test] fn $b() {} };",
            )],
            "m!(ascii_empty, unicode_empty, [\"\", [], []])",
        );
        assert_eq!(got, ["ascii_empty", "unicode_empty"]);
    }

    #[test]
    fn a_closure_with_commas_still_matches_an_expr() {
        let got = names(
            &[(
                "rgtest",
                "($name:ident, $fun:expr) => { #[test] fn $name() { $fun(1, 2); } };",
            )],
            "rgtest!(issue_123, |dir: Dir, mut cmd: TestCommand| { cmd.arg(\"x\"); })",
        );
        assert_eq!(got, ["issue_123"]);
    }

    #[test]
    fn passed_through_tests_are_repeated_in_each_module() {
        let got = names(
            &[(
                "rt_test",
                "($($t:tt)*) => { mod current_thread { $($t)* fn rt() {} } #[cfg(unix)] mod threaded { $($t)* } }",
            )],
            "rt_test! { use super::*; #[test] fn a() {} #[tokio::test] async fn b() {} fn helper() {} }",
        );
        assert_eq!(
            got,
            [
                "current_thread::a",
                "current_thread::b",
                "threaded::a",
                "threaded::b"
            ]
        );
    }

    #[test]
    fn nested_repetitions_and_nested_macros_are_expanded() {
        let got = names(
            &[
                (
                    "suite",
                    "($($group:ident => [$($name:ident),* $(,)?]);* $(;)?) => { $(mod $group { $(one!($name);)* })* };",
                ),
                ("one", "($n:ident) => { #[test] fn $n() {} };"),
            ],
            "suite! { a => [x, y]; b => [z] }",
        );
        assert_eq!(got, ["a::x", "a::y", "b::z"]);
    }

    #[test]
    fn a_test_attribute_passed_as_meta_counts() {
        let got = names(
            &[(
                "case",
                "($(#[$m:meta])* $name:ident) => { $(#[$m])* fn $name() {} };",
            )],
            "case!(#[test] #[ignore] slow_one)",
        );
        assert_eq!(got, ["slow_one"]);
        let none = names(
            &[(
                "case",
                "($(#[$m:meta])* $name:ident) => { $(#[$m])* fn $name() {} };",
            )],
            "case!(#[inline] helper)",
        );
        assert!(none.is_empty());
    }

    #[test]
    fn the_first_matching_arm_is_used_and_literals_pick_the_arm() {
        let got = names(
            &[(
                "pick",
                "(skip $name:ident) => {}; ($name:ident) => { #[test] fn $name() {} };",
            )],
            "pick!(skip nothing)",
        );
        assert!(got.is_empty());
    }

    #[test]
    fn a_foreign_macro_is_read_as_written() {
        let got = names(
            &[],
            "proptest! { #![proptest_config(x)] #[test] fn prop(x in 0..3) {} }",
        );
        assert_eq!(got, ["prop"]);
    }

    #[test]
    fn recursive_macros_stop() {
        let got = names(
            &[("forever", "($($t:tt)*) => { forever!($($t)* x); };")],
            "forever!(a)",
        );
        assert!(got.is_empty());
    }
}
