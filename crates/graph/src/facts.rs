//! What one source file says, extracted with syn: items with their line spans,
//! the names each item refers to, `use` declarations, `mod` declarations and
//! `include*!` calls. These facts do not depend on the file's path, so they
//! are cached by content hash (see `cache.rs`); the syn tree is dropped once
//! they are extracted.

use std::collections::BTreeSet;

use proc_macro2::{Span, TokenStream, TokenTree};
use serde::{Deserialize, Serialize};
use syn::punctuated::Punctuated;
use syn::visit::{self, Visit};
use syn::{Attribute, Expr, ImplItem, Item, Token, TraitItem, Visibility};

use crate::ItemKind;
use crate::macros::{self, Tok};
use crate::typing::{Bindings, TypeScope, bound_alternatives, expr_receiver};

/// Facts of one file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct FileFacts {
    /// Number of lines.
    pub lines: u32,
    /// `Some((line, column, message))` when the file does not parse.
    pub error: Option<(u32, u32, String)>,
    /// Module scopes: 0 is the file's own module, then inline modules.
    pub scopes: Vec<Scope>,
    pub items: Vec<RawItem>,
    /// Out-of-line module declarations (`mod x;`).
    pub mods: Vec<ModDecl>,
    /// `macro_rules!` definitions.
    pub macro_defs: Vec<MacroDef>,
    /// Item-level macro invocations (`name!(..);` among items), whose output may hold tests.
    pub macro_calls: Vec<MacroCall>,
}

/// A `macro_rules!` definition.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct MacroDef {
    /// Its raw item.
    pub item: u32,
    pub name: String,
    /// `#[macro_export]`: other crates can invoke it.
    pub exported: bool,
    /// The tokens between the braces: the arms.
    pub body: Vec<Tok>,
}

/// An item-level macro invocation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct MacroCall {
    /// Its raw item ([`ItemKind::Other`]).
    pub item: u32,
    /// The macro's name (the last segment of its path).
    pub name: String,
    pub input: Vec<Tok>,
}

/// A module scope inside a file (the file itself or an inline `mod x { .. }`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Scope {
    /// Inline module names from the file's module to this scope.
    pub path: Vec<String>,
    /// `#[path]` directories of enclosing inline modules, if any was given
    /// (relative to the file's child directory), per path element.
    pub dir: Vec<String>,
    pub uses: Vec<UseEntry>,
    /// Index of the `Mod` item of an inline module (none for scope 0).
    pub item: Option<u32>,
    /// Inside a `#[cfg(test)]` inline module (at any depth).
    pub test_only: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum UseEntry {
    /// `use path as alias;` (or `use path;` with the last segment as alias).
    Name { alias: String, path: Vec<String> },
    /// `use path::*;`
    Glob { path: Vec<String> },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ModDecl {
    pub scope: u32,
    pub name: String,
    /// `#[path = "..."]` values (several under `cfg_attr` alternatives).
    pub path_attrs: Vec<String>,
    /// `#[cfg(test)] mod x;`, or declared inside test-only code.
    pub test_only: bool,
}

/// A reference from an item's body, signature or attributes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Ref {
    /// A path as written (`Self` already replaced by the impl's type).
    Path(Vec<String>),
    /// `.name(..)`: a method call whose receiver type is unknown.
    Method(String),
    /// `.name(..)` on a receiver whose type the source writes down: the method name and the
    /// receiver, encoded as in [`Receiver`].
    Typed(String, String),
    /// A macro invocation, derive or attribute macro.
    Macro(Vec<String>),
    /// An identifier seen in macro input that could not be parsed.
    Ident(String),
}

/// An item's references packed into one string, one per line: a kind letter (`p` path, `m`
/// method, `M` macro, `i` identifier) and the text, path segments joined by `::`. One allocation
/// per item instead of several per reference: a large workspace has millions of references.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PackedRefs(Box<str>);

/// One reference of [`PackedRefs`], borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefView<'a> {
    /// Segments joined by `::`.
    Path(&'a str),
    Method(&'a str),
    /// A method name and an encoded [`Receiver`].
    Typed(&'a str, &'a str),
    /// Segments joined by `::`.
    Macro(&'a str),
    Ident(&'a str),
}

impl PackedRefs {
    pub(crate) fn new<'r>(refs: impl IntoIterator<Item = &'r Ref>) -> Self {
        let mut text = String::new();
        for reference in refs {
            if !text.is_empty() {
                text.push('\n');
            }
            if let Ref::Typed(method, receiver) = reference {
                text.push('t');
                text.push_str(method);
                text.push('=');
                text.push_str(receiver);
                continue;
            }
            let (kind, segments): (char, &[String]) = match reference {
                Ref::Typed(..) => unreachable!("packed above"),
                Ref::Path(segments) => ('p', segments),
                Ref::Method(name) => ('m', std::slice::from_ref(name)),
                Ref::Macro(segments) => ('M', segments),
                Ref::Ident(name) => ('i', std::slice::from_ref(name)),
            };
            text.push(kind);
            for (index, segment) in segments.iter().enumerate() {
                if index > 0 {
                    text.push_str("::");
                }
                text.push_str(segment);
            }
        }
        Self(text.into_boxed_str())
    }

    /// The packed text.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// Each reference as its packed line (kind letter and text): a key that tells references
    /// apart.
    #[cfg(test)]
    pub(crate) fn lines(&self) -> impl Iterator<Item = &str> {
        self.0.split('\n').filter(|line| !line.is_empty())
    }

    pub(crate) fn view(line: &str) -> RefView<'_> {
        let text = line.get(1..).unwrap_or("");
        match line.as_bytes().first() {
            Some(b'm') => RefView::Method(text),
            Some(b't') => {
                let (method, receiver) = text.split_once('=').unwrap_or((text, ""));
                RefView::Typed(method, receiver)
            }
            Some(b'M') => RefView::Macro(text),
            Some(b'i') => RefView::Ident(text),
            _ => RefView::Path(text),
        }
    }

    #[cfg(test)]
    pub(crate) fn contains(&self, reference: &Ref) -> bool {
        let wanted = PackedRefs::new([reference]);
        self.lines().any(|line| line == &*wanted.0)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RawItem {
    pub kind: ItemKind,
    /// Name inside the file's module: inline modules, then the item
    /// (`Type::method` for methods).
    pub path: Vec<String>,
    pub scope: u32,
    pub start: u32,
    pub end: u32,
    /// The enclosing impl or trait item (for methods and associated items).
    pub parent: Option<u32>,
    pub refs: PackedRefs,
    pub test: Option<TestAttr>,
    pub imp: Option<ImplInfo>,
    /// Files named by `include_str!`/`include_bytes!`/`include!`, as written.
    pub includes: Vec<String>,
    /// Names under which this item is a procedural macro.
    pub proc_macro: Vec<String>,
    /// The method has a body (a default method, for trait methods).
    pub has_body: bool,
    /// The function takes `self` (in any form): only such a method can be called with method
    /// syntax, `x.name()`.
    pub receiver: bool,
    /// Compiled only in the crate's own test build: a test, or under `#[cfg(test)]` (on the
    /// item or an enclosing inline module).
    pub test_only: bool,
    /// A struct's fields with a written type (named, or `0`, `1`, … for a tuple struct), as
    /// encoded type alternatives (see [`Receiver`]).
    pub fields: Vec<(String, String)>,
    /// A function's written return type (generic parameters unknown: the caller instantiates
    /// them), as encoded type alternatives.
    pub returns: Option<String>,
    /// The `T` of a written `Result<T, ..>` or `Option<T>` return type (what `f()?` gives).
    pub returns_ok: Option<String>,
    /// A trait's supertraits, as encoded type alternatives.
    pub supertraits: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(crate) struct TestAttr {
    pub ignored: bool,
    /// `#[test_case(..)]`, `#[rstest]`, `#[case(..)]`: nextest names each case `function::case`.
    pub parameterized: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ImplInfo {
    pub self_ty: Vec<String>,
    pub trait_: Option<Vec<String>>,
}

/// Parses `source` and extracts its facts; a syntax error is recorded, not
/// returned.
pub(crate) fn extract(source: &str) -> FileFacts {
    let lines = count_lines(source);
    let parsed = syn::parse_file(source);
    let facts = match parsed {
        Ok(file) => {
            let mut extractor = Extractor::default();
            test_aliases(&file.items, &mut extractor.test_aliases);
            extractor.facts.scopes.push(Scope::default());
            extractor.items(&file.items, 0, &[], &file.attrs);
            let mut facts = extractor.facts;
            facts.lines = lines;
            facts
        }
        Err(error) => {
            let start = error.span().start();
            FileFacts {
                lines,
                error: Some((
                    start.line as u32,
                    start.column as u32 + 1,
                    error.to_string(),
                )),
                ..FileFacts::default()
            }
        }
    };
    proc_macro2::extra::invalidate_current_thread_spans();
    facts
}

pub(crate) fn count_lines(source: &str) -> u32 {
    let newlines = source.bytes().filter(|&b| b == b'\n').count() as u32;
    if source.is_empty() || source.ends_with('\n') {
        newlines
    } else {
        newlines + 1
    }
}

#[derive(Default)]
struct Extractor {
    facts: FileFacts,
    /// Names a `use` in the file gives a test attribute: `use tokio::test as maybe_test;`
    /// makes `#[maybe_test]` one.
    test_aliases: Vec<String>,
}

/// The aliases `use` trees give to test attributes (`… ::test as alias`), in the items and
/// their inline modules.
fn test_aliases(items: &[Item], out: &mut Vec<String>) {
    fn tree(use_tree: &syn::UseTree, out: &mut Vec<String>) {
        match use_tree {
            syn::UseTree::Path(path) => tree(&path.tree, out),
            syn::UseTree::Rename(rename) => {
                if is_test_attr_name(&rename.ident.to_string()) {
                    out.push(rename.rename.to_string());
                }
            }
            syn::UseTree::Group(group) => group.items.iter().for_each(|t| tree(t, out)),
            syn::UseTree::Name(_) | syn::UseTree::Glob(_) => {}
        }
    }
    for item in items {
        match item {
            Item::Use(u) => tree(&u.tree, out),
            Item::Mod(m) => {
                if let Some((_, items)) = &m.content {
                    test_aliases(items, out);
                }
            }
            _ => {}
        }
    }
}

fn line(span: Span) -> u32 {
    span.start().line as u32
}

fn end_line(span: Span) -> u32 {
    span.end().line as u32
}

fn start_line(attrs: &[Attribute], vis: Option<&Visibility>, keyword: Span) -> u32 {
    let mut start = line(keyword);
    if let Some(attr) = attrs.first() {
        start = start.min(line(attr.pound_token.span));
    }
    match vis {
        Some(Visibility::Public(token)) => start = start.min(line(token.span)),
        Some(Visibility::Restricted(restricted)) => {
            start = start.min(line(restricted.pub_token.span));
        }
        _ => {}
    }
    start
}

fn path_segments(path: &syn::Path) -> Vec<String> {
    path.segments.iter().map(|s| s.ident.to_string()).collect()
}

/// The path of a type, without generics (`Vec<T>` → `["Vec"]`, `&mut X` → X).
fn type_path(ty: &syn::Type) -> Vec<String> {
    match ty {
        syn::Type::Path(p) => path_segments(&p.path),
        syn::Type::Reference(r) => type_path(&r.elem),
        syn::Type::Paren(p) => type_path(&p.elem),
        syn::Type::Group(g) => type_path(&g.elem),
        syn::Type::Ptr(p) => type_path(&p.elem),
        syn::Type::Slice(s) => type_path(&s.elem),
        syn::Type::Array(a) => type_path(&a.elem),
        _ => Vec::new(),
    }
}

/// Attributes that are not macros.
const BUILTIN_ATTRS: &[&str] = &[
    "cfg",
    "cfg_attr",
    "allow",
    "warn",
    "deny",
    "forbid",
    "expect",
    "doc",
    "inline",
    "cold",
    "must_use",
    "test",
    "ignore",
    "should_panic",
    "bench",
    "non_exhaustive",
    "repr",
    "derive",
    "path",
    "macro_export",
    "macro_use",
    "automatically_derived",
    "deprecated",
    "track_caller",
    "no_mangle",
    "export_name",
    "link_section",
    "used",
    "target_feature",
    "proc_macro",
    "proc_macro_derive",
    "proc_macro_attribute",
    "rustfmt",
    "clippy",
    "diagnostic",
    "allow_internal_unstable",
    "feature",
    "recursion_limit",
    "no_std",
    "no_implicit_prelude",
    "crate_type",
    "crate_name",
    "global_allocator",
    "panic_handler",
    "unsafe",
    "link",
    "coverage",
    "instrument",
    "serde",
];

fn is_test_attr(attr: &Attribute) -> bool {
    let path = attr.path();
    let Some(last) = path.segments.last() else {
        return false;
    };
    is_test_attr_name(&last.ident.to_string())
}

/// The last path segment of an attribute that makes a test.
fn is_test_attr_name(name: &str) -> bool {
    matches!(name, "test" | "rstest" | "test_case" | "test_log")
}

/// An attribute that turns a test into several cases: `test_case`, `rstest`, `case` (any path
/// segment, so `test_case::test_case` counts).
fn is_parameterizing_attr(attr: &Attribute) -> bool {
    attr.path().segments.iter().any(|segment| {
        segment.ident == "test_case" || segment.ident == "rstest" || segment.ident == "case"
    })
}

/// `#[cfg(test)]` exactly.
fn is_cfg_test(attr: &Attribute) -> bool {
    attr.path().is_ident("cfg")
        && matches!(&attr.meta, syn::Meta::List(list) if list.tokens.to_string() == "test")
}

fn has_attr(attrs: &[Attribute], name: &str) -> bool {
    attrs.iter().any(|a| a.path().is_ident(name))
}

/// `#[path = ".."]`, also inside `cfg_attr(.., path = "..")`.
fn path_attrs(attrs: &[Attribute]) -> Vec<String> {
    let mut out = Vec::new();
    for attr in attrs {
        if attr.path().is_ident("path") {
            if let syn::Meta::NameValue(nv) = &attr.meta
                && let Expr::Lit(lit) = &nv.value
                && let syn::Lit::Str(s) = &lit.lit
            {
                out.push(s.value());
            }
        } else if attr.path().is_ident("cfg_attr")
            && let syn::Meta::List(list) = &attr.meta
        {
            let mut tokens = list.tokens.clone().into_iter().peekable();
            while let Some(tree) = tokens.next() {
                if let TokenTree::Ident(ident) = &tree
                    && ident == "path"
                    && matches!(tokens.peek(), Some(TokenTree::Punct(p)) if p.as_char() == '=')
                {
                    tokens.next();
                    if let Some(TokenTree::Literal(lit)) = tokens.next() {
                        let text = lit.to_string();
                        if let Ok(syn::Lit::Str(s)) = syn::parse_str::<syn::Lit>(&text) {
                            out.push(s.value());
                        }
                    }
                }
            }
        }
    }
    out
}

impl Extractor {
    fn push(&mut self, item: RawItem) -> u32 {
        self.facts.items.push(item);
        (self.facts.items.len() - 1) as u32
    }

    #[allow(clippy::too_many_arguments)]
    fn new_item(
        &mut self,
        kind: ItemKind,
        prefix: &[String],
        name: String,
        scope: u32,
        span: (u32, u32),
        attrs: &[Attribute],
        self_ty: Option<&[String]>,
        visit_body: impl FnOnce(&mut RefCollector<'_>),
    ) -> u32 {
        let mut collector = RefCollector::new(self_ty);
        collector.attributes(attrs);
        visit_body(&mut collector);
        let uses = std::mem::take(&mut collector.uses);
        self.facts.scopes[scope as usize].uses.extend(uses);
        let mut path = prefix.to_vec();
        path.push(name);
        let is_test = |attr: &Attribute| {
            is_test_attr(attr)
                || attr.path().get_ident().is_some_and(|ident| {
                    self.test_aliases
                        .iter()
                        .any(|alias| ident == alias.as_str())
                })
        };
        let test_only = self.facts.scopes[scope as usize].test_only
            || attrs.iter().any(|attr| is_test(attr) || is_cfg_test(attr));
        let test = if attrs.iter().any(is_test) {
            Some(TestAttr {
                ignored: has_attr(attrs, "ignore"),
                parameterized: attrs.iter().any(is_parameterizing_attr),
            })
        } else {
            None
        };
        let mut proc_macro = Vec::new();
        for attr in attrs {
            if attr.path().is_ident("proc_macro_derive")
                && let syn::Meta::List(list) = &attr.meta
                && let Some(TokenTree::Ident(ident)) = list.tokens.clone().into_iter().next()
            {
                proc_macro.push(ident.to_string());
            }
            if attr.path().is_ident("proc_macro") || attr.path().is_ident("proc_macro_attribute") {
                proc_macro.push(path.last().cloned().unwrap_or_default());
            }
        }
        self.push(RawItem {
            kind,
            path,
            scope,
            start: span.0,
            end: span.1,
            parent: None,
            refs: PackedRefs::new(&collector.refs),
            test,
            imp: None,
            includes: collector.includes,
            proc_macro,
            has_body: false,
            receiver: false,
            test_only,
            fields: Vec::new(),
            returns: None,
            returns_ok: None,
            supertraits: None,
        })
    }

    fn items(&mut self, items: &[Item], scope: u32, prefix: &[String], _inner: &[Attribute]) {
        for item in items {
            self.item(item, scope, prefix);
        }
    }

    fn item(&mut self, item: &Item, scope: u32, prefix: &[String]) {
        match item {
            Item::Fn(f) => {
                let mut kw = f.sig.fn_token.span;
                for span in [
                    f.sig.constness.map(|t| t.span),
                    f.sig.asyncness.map(|t| t.span),
                    f.sig.unsafety.map(|t| t.span),
                    f.sig.abi.as_ref().map(|a| a.extern_token.span),
                ]
                .into_iter()
                .flatten()
                {
                    if line(span) < line(kw) {
                        kw = span;
                    }
                }
                let span = (
                    start_line(&f.attrs, Some(&f.vis), kw),
                    end_line(f.block.brace_token.span.close()),
                );
                let index = self.new_item(
                    ItemKind::Fn,
                    prefix,
                    f.sig.ident.to_string(),
                    scope,
                    span,
                    &f.attrs,
                    None,
                    |c| {
                        let mut scope = TypeScope::default();
                        scope.add_generics(&f.sig.generics, true);
                        c.bind_fn(scope, &f.sig, Some(&f.block));
                        c.visit_signature(&f.sig);
                        c.visit_block(&f.block);
                    },
                );
                let (returns, returns_ok) =
                    TypeScope::instantiated(&[&f.sig.generics], None).returns(&f.sig.output);
                let item = &mut self.facts.items[index as usize];
                item.has_body = true;
                item.returns = returns;
                item.returns_ok = returns_ok;
            }
            Item::Struct(s) => {
                let end = match &s.fields {
                    syn::Fields::Named(n) => end_line(n.brace_token.span.close()),
                    _ => s
                        .semi_token
                        .map_or(line(s.ident.span()), |t| end_line(t.span)),
                };
                let span = (start_line(&s.attrs, Some(&s.vis), s.struct_token.span), end);
                let index = self.new_item(
                    ItemKind::Struct,
                    prefix,
                    s.ident.to_string(),
                    scope,
                    span,
                    &s.attrs,
                    Some(&[s.ident.to_string()]),
                    |c| {
                        c.visit_generics(&s.generics);
                        c.visit_fields(&s.fields);
                    },
                );
                let types = TypeScope::instantiated(&[&s.generics], None);
                self.facts.items[index as usize].fields = s
                    .fields
                    .iter()
                    .enumerate()
                    .filter_map(|(position, field)| {
                        let name = field
                            .ident
                            .as_ref()
                            .map_or_else(|| position.to_string(), ToString::to_string);
                        Some((name, types.written(&field.ty)?))
                    })
                    .collect();
            }
            Item::Enum(e) => {
                let span = (
                    start_line(&e.attrs, Some(&e.vis), e.enum_token.span),
                    end_line(e.brace_token.span.close()),
                );
                self.new_item(
                    ItemKind::Enum,
                    prefix,
                    e.ident.to_string(),
                    scope,
                    span,
                    &e.attrs,
                    Some(&[e.ident.to_string()]),
                    |c| {
                        c.visit_generics(&e.generics);
                        for v in &e.variants {
                            c.visit_variant(v);
                        }
                    },
                );
            }
            Item::Union(u) => {
                let span = (
                    start_line(&u.attrs, Some(&u.vis), u.union_token.span),
                    end_line(u.fields.brace_token.span.close()),
                );
                self.new_item(
                    ItemKind::Union,
                    prefix,
                    u.ident.to_string(),
                    scope,
                    span,
                    &u.attrs,
                    None,
                    |c| {
                        c.visit_generics(&u.generics);
                        c.visit_fields_named(&u.fields);
                    },
                );
            }
            Item::Const(k) => {
                let span = (
                    start_line(&k.attrs, Some(&k.vis), k.const_token.span),
                    end_line(k.semi_token.span),
                );
                self.new_item(
                    ItemKind::Const,
                    prefix,
                    k.ident.to_string(),
                    scope,
                    span,
                    &k.attrs,
                    None,
                    |c| {
                        c.visit_type(&k.ty);
                        c.visit_expr(&k.expr);
                    },
                );
            }
            Item::Static(s) => {
                let span = (
                    start_line(&s.attrs, Some(&s.vis), s.static_token.span),
                    end_line(s.semi_token.span),
                );
                self.new_item(
                    ItemKind::Static,
                    prefix,
                    s.ident.to_string(),
                    scope,
                    span,
                    &s.attrs,
                    None,
                    |c| {
                        c.visit_type(&s.ty);
                        c.visit_expr(&s.expr);
                    },
                );
            }
            Item::Type(t) => {
                let span = (
                    start_line(&t.attrs, Some(&t.vis), t.type_token.span),
                    end_line(t.semi_token.span),
                );
                self.new_item(
                    ItemKind::TypeAlias,
                    prefix,
                    t.ident.to_string(),
                    scope,
                    span,
                    &t.attrs,
                    None,
                    |c| {
                        c.visit_generics(&t.generics);
                        c.visit_type(&t.ty);
                    },
                );
            }
            Item::Trait(t) => self.trait_item(t, scope, prefix),
            Item::Impl(i) => self.impl_item(i, scope, prefix),
            Item::Mod(m) => {
                let end = match &m.content {
                    Some((brace, _)) => end_line(brace.span.close()),
                    None => m.semi.map_or(line(m.ident.span()), |t| end_line(t.span)),
                };
                let span = (start_line(&m.attrs, Some(&m.vis), m.mod_token.span), end);
                match &m.content {
                    None => self.facts.mods.push(ModDecl {
                        scope,
                        name: m.ident.to_string(),
                        path_attrs: path_attrs(&m.attrs),
                        test_only: self.facts.scopes[scope as usize].test_only
                            || m.attrs.iter().any(is_cfg_test),
                    }),
                    Some((_, items)) => {
                        let index = self.new_item(
                            ItemKind::Mod,
                            prefix,
                            m.ident.to_string(),
                            scope,
                            span,
                            &m.attrs,
                            None,
                            |_| {},
                        );
                        let parent = &self.facts.scopes[scope as usize];
                        let mut path = parent.path.clone();
                        path.push(m.ident.to_string());
                        let mut dir = parent.dir.clone();
                        dir.push(
                            path_attrs(&m.attrs)
                                .into_iter()
                                .next()
                                .unwrap_or_else(|| m.ident.to_string()),
                        );
                        let test_only = parent.test_only || m.attrs.iter().any(is_cfg_test);
                        self.facts.scopes.push(Scope {
                            path,
                            dir,
                            uses: Vec::new(),
                            item: Some(index),
                            test_only,
                        });
                        let child = (self.facts.scopes.len() - 1) as u32;
                        let mut prefix = prefix.to_vec();
                        prefix.push(m.ident.to_string());
                        self.items(items, child, &prefix, &[]);
                    }
                }
            }
            Item::Use(u) => {
                let mut entries = Vec::new();
                flatten_use(&u.tree, &mut Vec::new(), &mut entries);
                self.facts.scopes[scope as usize].uses.extend(entries);
            }
            Item::ExternCrate(e) => {
                let alias = e
                    .rename
                    .as_ref()
                    .map_or_else(|| e.ident.to_string(), |(_, id)| id.to_string());
                self.facts.scopes[scope as usize].uses.push(UseEntry::Name {
                    alias,
                    path: vec![e.ident.to_string()],
                });
            }
            Item::Macro(m) => {
                let end = match &m.semi_token {
                    Some(semi) => end_line(semi.span),
                    None => end_line(delimiter_span(&m.mac.delimiter)),
                };
                let first = m
                    .mac
                    .path
                    .segments
                    .first()
                    .map_or_else(Span::call_site, |s| s.ident.span());
                let span = (start_line(&m.attrs, None, first), end);
                let (kind, name) = match &m.ident {
                    Some(ident) => (ItemKind::Macro, ident.to_string()),
                    None => (
                        ItemKind::Other,
                        format!("{}!@{}", path_segments(&m.mac.path).join("::"), span.0),
                    ),
                };
                let is_rules = m.ident.is_some();
                let index = self.new_item(kind, prefix, name, scope, span, &m.attrs, None, |c| {
                    if is_rules {
                        c.scan_tokens(m.mac.tokens.clone());
                    } else {
                        c.visit_macro(&m.mac);
                    }
                });
                let tokens = macros::tokens(m.mac.tokens.clone());
                if let Some(ident) = &m.ident {
                    self.facts.macro_defs.push(MacroDef {
                        item: index,
                        name: ident.to_string(),
                        exported: has_attr(&m.attrs, "macro_export"),
                        body: tokens,
                    });
                } else if let Some(last) = m.mac.path.segments.last() {
                    self.facts.macro_calls.push(MacroCall {
                        item: index,
                        name: last.ident.to_string(),
                        input: tokens,
                    });
                    let test_only = m.attrs.iter().any(is_cfg_test);
                    self.mods_in_macro(m.mac.tokens.clone(), scope, test_only, 0);
                }
            }
            _ => {}
        }
    }

    /// The `mod name;` declarations an item-level macro invocation passes through, as if
    /// written where the invocation is: `cfg_fs! { mod file; }` (tokio declares most of its
    /// modules so) or `cfg_if! { if #[cfg(unix)] { mod unix; } else { mod other; } }` (every
    /// branch counts, as every `cfg` does). The tokens are read as items where they parse as
    /// items, else each delimited group in them is tried; nested invocations are read too.
    fn mods_in_macro(&mut self, tokens: TokenStream, scope: u32, test_only: bool, depth: u32) {
        if depth > 8 {
            return;
        }
        let parsed = syn::parse::Parser::parse2(
            |input: syn::parse::ParseStream<'_>| {
                let mut items = Vec::new();
                while !input.is_empty() {
                    items.push(input.parse::<Item>()?);
                }
                Ok(items)
            },
            tokens.clone(),
        );
        let Ok(items) = parsed else {
            for tree in tokens {
                if let TokenTree::Group(group) = tree {
                    self.mods_in_macro(group.stream(), scope, test_only, depth + 1);
                }
            }
            return;
        };
        for item in items {
            match item {
                Item::Mod(m) if m.content.is_none() => self.facts.mods.push(ModDecl {
                    scope,
                    name: m.ident.to_string(),
                    path_attrs: path_attrs(&m.attrs),
                    test_only: test_only
                        || self.facts.scopes[scope as usize].test_only
                        || m.attrs.iter().any(is_cfg_test),
                }),
                Item::Macro(inner) if inner.ident.is_none() => {
                    let test_only = test_only || inner.attrs.iter().any(is_cfg_test);
                    self.mods_in_macro(inner.mac.tokens, scope, test_only, depth + 1);
                }
                _ => {}
            }
        }
    }

    fn trait_item(&mut self, t: &syn::ItemTrait, scope: u32, prefix: &[String]) {
        let kw = t.unsafety.map_or(t.trait_token.span, |u| u.span);
        let span = (
            start_line(&t.attrs, Some(&t.vis), kw),
            end_line(t.brace_token.span.close()),
        );
        let name = t.ident.to_string();
        let index = self.new_item(
            ItemKind::Trait,
            prefix,
            name.clone(),
            scope,
            span,
            &t.attrs,
            None,
            |c| {
                c.visit_generics(&t.generics);
                for bound in &t.supertraits {
                    c.visit_type_param_bound(bound);
                }
            },
        );
        self.facts.items[index as usize].supertraits = bound_alternatives(&t.supertraits);
        let self_ty = [name.clone()];
        for member in &t.items {
            let receiver = matches!(member, TraitItem::Fn(f) if f.sig.receiver().is_some());
            let (kind, ident, attrs, span, has_body) = match member {
                TraitItem::Fn(f) => {
                    let end = f.default.as_ref().map_or_else(
                        || {
                            f.semi_token
                                .map_or(line(f.sig.ident.span()), |s| end_line(s.span))
                        },
                        |b| end_line(b.brace_token.span.close()),
                    );
                    (
                        ItemKind::Method,
                        &f.sig.ident,
                        &f.attrs,
                        (start_line(&f.attrs, None, f.sig.fn_token.span), end),
                        f.default.is_some(),
                    )
                }
                TraitItem::Const(k) => (
                    ItemKind::Const,
                    &k.ident,
                    &k.attrs,
                    (
                        start_line(&k.attrs, None, k.const_token.span),
                        end_line(k.semi_token.span),
                    ),
                    k.default.is_some(),
                ),
                TraitItem::Type(ty) => (
                    ItemKind::TypeAlias,
                    &ty.ident,
                    &ty.attrs,
                    (
                        start_line(&ty.attrs, None, ty.type_token.span),
                        end_line(ty.semi_token.span),
                    ),
                    ty.default.is_some(),
                ),
                _ => continue,
            };
            let member_index = self.new_item(
                kind,
                prefix,
                format!("{name}::{ident}"),
                scope,
                span,
                attrs,
                Some(&self_ty),
                |c| {
                    if let TraitItem::Fn(f) = member {
                        let mut scope = TypeScope::default();
                        scope.add_generics(&t.generics, true);
                        scope.add_generics(&f.sig.generics, true);
                        scope.self_ty = Some(name.clone());
                        c.bind_fn(scope, &f.sig, f.default.as_ref());
                    }
                    c.visit_trait_item(member);
                },
            );
            let (returns, returns_ok) = match member {
                TraitItem::Fn(f) => TypeScope::instantiated(&[&t.generics, &f.sig.generics], None)
                    .returns(&f.sig.output),
                _ => (None, None),
            };
            let parent_test_only = self.facts.items[index as usize].test_only;
            let item = &mut self.facts.items[member_index as usize];
            item.test_only |= parent_test_only;
            item.parent = Some(index);
            item.has_body = has_body;
            item.receiver = receiver;
            item.returns = returns;
            item.returns_ok = returns_ok;
        }
    }

    fn impl_item(&mut self, i: &syn::ItemImpl, scope: u32, prefix: &[String]) {
        let mut kw = i.impl_token.span;
        if let Some(u) = i.unsafety {
            kw = u.span;
        }
        let span = (
            start_line(&i.attrs, None, kw),
            end_line(i.brace_token.span.close()),
        );
        let self_ty = type_path(&i.self_ty);
        let self_name = self_ty.last().cloned().unwrap_or_else(|| "_".to_owned());
        let trait_path = i.trait_.as_ref().map(|(_, p, _)| path_segments(p));
        let name = match &trait_path {
            Some(t) => format!(
                "impl {} for {self_name}",
                t.last().map_or("_", String::as_str)
            ),
            None => format!("impl {self_name}"),
        };
        let name = format!("{name}@{}", span.0);
        let index = self.new_item(
            ItemKind::Impl,
            prefix,
            name,
            scope,
            span,
            &i.attrs,
            Some(&self_ty),
            |c| {
                c.visit_generics(&i.generics);
                if let Some((_, path, _)) = &i.trait_ {
                    c.visit_path(path);
                }
                c.visit_type(&i.self_ty);
            },
        );
        self.facts.items[index as usize].imp = Some(ImplInfo {
            self_ty: self_ty.clone(),
            trait_: trait_path,
        });
        for member in &i.items {
            let (kind, ident, attrs, span) = match member {
                ImplItem::Fn(f) => {
                    let mut kw = f.sig.fn_token.span;
                    if let Some(u) = f.sig.unsafety {
                        kw = u.span;
                    }
                    if let Some(a) = f.sig.asyncness {
                        kw = a.span;
                    }
                    if let Some(c) = f.sig.constness {
                        kw = c.span;
                    }
                    (
                        ItemKind::Method,
                        f.sig.ident.to_string(),
                        &f.attrs,
                        (
                            start_line(&f.attrs, Some(&f.vis), kw),
                            end_line(f.block.brace_token.span.close()),
                        ),
                    )
                }
                ImplItem::Const(k) => (
                    ItemKind::Const,
                    k.ident.to_string(),
                    &k.attrs,
                    (
                        start_line(&k.attrs, Some(&k.vis), k.const_token.span),
                        end_line(k.semi_token.span),
                    ),
                ),
                ImplItem::Type(t) => (
                    ItemKind::TypeAlias,
                    t.ident.to_string(),
                    &t.attrs,
                    (
                        start_line(&t.attrs, Some(&t.vis), t.type_token.span),
                        end_line(t.semi_token.span),
                    ),
                ),
                ImplItem::Macro(m) => (
                    ItemKind::Other,
                    format!("{}!", path_segments(&m.mac.path).join("::")),
                    &m.attrs,
                    (
                        start_line(&m.attrs, None, m.mac.bang_token.span),
                        end_line(delimiter_span(&m.mac.delimiter)),
                    ),
                ),
                _ => continue,
            };
            let member_index = self.new_item(
                kind,
                prefix,
                format!("{self_name}::{ident}"),
                scope,
                span,
                attrs,
                Some(&self_ty),
                |c| {
                    if let ImplItem::Fn(f) = member {
                        let mut scope = TypeScope::default();
                        scope.add_generics(&i.generics, true);
                        scope.self_ty = scope.written(&i.self_ty);
                        scope.add_generics(&f.sig.generics, true);
                        c.bind_fn(scope, &f.sig, Some(&f.block));
                    }
                    c.visit_impl_item(member);
                },
            );
            let (returns, returns_ok) = match member {
                ImplItem::Fn(f) => {
                    TypeScope::instantiated(&[&i.generics, &f.sig.generics], Some(&i.self_ty))
                        .returns(&f.sig.output)
                }
                _ => (None, None),
            };
            let parent_test_only = self.facts.items[index as usize].test_only;
            let item = &mut self.facts.items[member_index as usize];
            item.test_only |= parent_test_only;
            item.parent = Some(index);
            item.has_body = true;
            item.receiver = matches!(member, ImplItem::Fn(f) if f.sig.receiver().is_some());
            item.returns = returns;
            item.returns_ok = returns_ok;
        }
    }
}

fn delimiter_span(delimiter: &syn::MacroDelimiter) -> Span {
    match delimiter {
        syn::MacroDelimiter::Paren(p) => p.span.close(),
        syn::MacroDelimiter::Brace(b) => b.span.close(),
        syn::MacroDelimiter::Bracket(b) => b.span.close(),
    }
}

fn flatten_use(tree: &syn::UseTree, prefix: &mut Vec<String>, out: &mut Vec<UseEntry>) {
    match tree {
        syn::UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            flatten_use(&p.tree, prefix, out);
            prefix.pop();
        }
        syn::UseTree::Name(n) => {
            let name = n.ident.to_string();
            if name == "self" {
                if let Some(last) = prefix.last() {
                    out.push(UseEntry::Name {
                        alias: last.clone(),
                        path: prefix.clone(),
                    });
                }
            } else {
                let mut path = prefix.clone();
                path.push(name.clone());
                out.push(UseEntry::Name { alias: name, path });
            }
        }
        syn::UseTree::Rename(r) => {
            let name = r.ident.to_string();
            let mut path = prefix.clone();
            if name != "self" {
                path.push(name);
            }
            let alias = r.rename.to_string();
            if alias == "_" {
                // `use Trait as _;` still brings its methods into scope.
                out.push(UseEntry::Name {
                    alias: format!("_{}", path.last().cloned().unwrap_or_default()),
                    path,
                });
            } else {
                out.push(UseEntry::Name { alias, path });
            }
        }
        syn::UseTree::Glob(_) => out.push(UseEntry::Glob {
            path: prefix.clone(),
        }),
        syn::UseTree::Group(g) => {
            for tree in &g.items {
                flatten_use(tree, prefix, out);
            }
        }
    }
}

/// Collects the references of one item.
struct RefCollector<'a> {
    self_ty: Option<&'a [String]>,
    refs: BTreeSet<Ref>,
    uses: Vec<UseEntry>,
    includes: Vec<String>,
    /// The variables of the function being read and their written receivers (none outside
    /// functions).
    bindings: Option<Bindings>,
    /// Inside an item nested in the function's body: its `self` and variables are not ours.
    nested: u32,
}

/// Macros whose input is a comma-separated list of expressions (after an
/// optional format string).
const EXPR_MACROS: &[&str] = &[
    "println",
    "print",
    "eprintln",
    "eprint",
    "format",
    "format_args",
    "write",
    "writeln",
    "panic",
    "assert",
    "assert_eq",
    "assert_ne",
    "debug_assert",
    "debug_assert_eq",
    "debug_assert_ne",
    "vec",
    "dbg",
    "todo",
    "unimplemented",
    "unreachable",
    "matches",
    "anyhow",
    "bail",
    "ensure",
    "info",
    "debug",
    "warn",
    "error",
    "trace",
];

impl<'a> RefCollector<'a> {
    fn new(self_ty: Option<&'a [String]>) -> Self {
        Self {
            self_ty,
            refs: BTreeSet::new(),
            uses: Vec::new(),
            includes: Vec::new(),
            bindings: None,
            nested: 0,
        }
    }

    /// Reads the variables of a function before its body is visited: parameters and `let`s
    /// with a written type, `self`.
    fn bind_fn(&mut self, scope: TypeScope, sig: &syn::Signature, block: Option<&syn::Block>) {
        let mut bindings = Bindings::new(scope);
        bindings.params(sig);
        if let Some(block) = block {
            bindings.visit_block(block);
        }
        self.bindings = Some(bindings);
    }

    /// The encoded receiver of a method call, when the source writes its type down.
    fn receiver_of(&self, expr: &Expr) -> Option<String> {
        if self.nested > 0 {
            return None;
        }
        let bindings = self.bindings.as_ref()?;
        match expr {
            Expr::Paren(p) => self.receiver_of(&p.expr),
            Expr::Reference(r) => self.receiver_of(&r.expr),
            Expr::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => self.receiver_of(&u.expr),
            Expr::Path(p) if p.qself.is_none() => {
                let ident = p.path.get_ident()?;
                if ident == "self" {
                    return bindings.scope().self_ty.as_ref().map(|a| format!("T{a}"));
                }
                match bindings.vars.get(&ident.to_string()) {
                    Some(receiver) => receiver.clone(),
                    // Not a variable: a unit struct, a constant, a static.
                    None => expr_receiver(expr, bindings.scope()),
                }
            }
            Expr::Field(f) => {
                let base = self.receiver_of(&f.base)?;
                let alts = base.strip_prefix('T')?;
                let member = match &f.member {
                    syn::Member::Named(name) => name.to_string(),
                    syn::Member::Unnamed(index) => index.index.to_string(),
                };
                Some(format!("F{member}@{alts}"))
            }
            other => expr_receiver(other, bindings.scope()),
        }
    }

    fn attributes(&mut self, attrs: &[Attribute]) {
        for attr in attrs {
            let path = attr.path();
            if path.is_ident("derive") {
                if let Ok(paths) =
                    attr.parse_args_with(Punctuated::<syn::Path, Token![,]>::parse_terminated)
                {
                    for p in paths {
                        self.refs.insert(Ref::Macro(path_segments(&p)));
                    }
                }
                continue;
            }
            let segments = path_segments(path);
            let builtin = segments.len() == 1 && BUILTIN_ATTRS.contains(&segments[0].as_str());
            if !builtin {
                self.refs.insert(Ref::Macro(segments));
                if let syn::Meta::List(list) = &attr.meta {
                    self.scan_tokens(list.tokens.clone());
                }
            }
        }
    }

    fn path(&mut self, path: &syn::Path) {
        let mut segments = path_segments(path);
        if segments.first().is_some_and(|s| s == "Self")
            && let Some(self_ty) = self.self_ty
        {
            let mut replaced = self_ty.to_vec();
            replaced.extend(segments.drain(1..));
            segments = replaced;
        }
        if !segments.is_empty() {
            self.refs.insert(Ref::Path(segments));
        }
    }

    /// Identifiers of a token stream, resolved loosely later; nested macro
    /// invocations are recorded as macros.
    fn scan_tokens(&mut self, tokens: TokenStream) {
        let mut previous_ident: Option<String> = None;
        for tree in tokens {
            match tree {
                TokenTree::Ident(ident) => {
                    let name = ident.to_string();
                    if !is_keyword(&name) {
                        self.refs.insert(Ref::Ident(name.clone()));
                    }
                    previous_ident = Some(name);
                    continue;
                }
                TokenTree::Punct(p) if p.as_char() == '!' => {
                    if let Some(name) = previous_ident.take() {
                        self.refs.insert(Ref::Macro(vec![name]));
                    }
                }
                TokenTree::Group(g) => self.scan_tokens(g.stream()),
                TokenTree::Literal(lit) => self.format_args(&lit.to_string()),
                TokenTree::Punct(_) => {}
            }
            previous_ident = None;
        }
    }

    /// `{name}` placeholders of a format string literal.
    fn format_args(&mut self, literal: &str) {
        if !literal.starts_with('"') && !literal.starts_with('r') {
            return;
        }
        let mut rest = literal;
        while let Some(open) = rest.find('{') {
            rest = &rest[open + 1..];
            if rest.starts_with('{') {
                rest = &rest[1..];
                continue;
            }
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() && !name.starts_with(|c: char| c.is_ascii_digit()) {
                self.refs.insert(Ref::Path(vec![name]));
            }
        }
    }

    fn include(&mut self, mac: &syn::Macro) {
        if let Ok(lit) = mac.parse_body::<syn::LitStr>() {
            self.includes.push(lit.value());
        } else {
            // `include_str!(concat!(...))` and the like: keep the literals.
            for tree in mac.tokens.clone() {
                if let TokenTree::Literal(lit) = tree
                    && let Ok(syn::Lit::Str(s)) = syn::parse_str::<syn::Lit>(&lit.to_string())
                {
                    self.includes.push(s.value());
                }
            }
        }
    }
}

fn is_keyword(name: &str) -> bool {
    matches!(
        name,
        "let"
            | "mut"
            | "ref"
            | "fn"
            | "if"
            | "else"
            | "match"
            | "for"
            | "in"
            | "while"
            | "loop"
            | "return"
            | "break"
            | "continue"
            | "true"
            | "false"
            | "as"
            | "pub"
            | "struct"
            | "enum"
            | "impl"
            | "trait"
            | "type"
            | "where"
            | "use"
            | "mod"
            | "crate"
            | "super"
            | "self"
            | "const"
            | "static"
            | "move"
            | "async"
            | "await"
            | "dyn"
            | "unsafe"
            | "extern"
    )
}

impl<'ast> Visit<'ast> for RefCollector<'_> {
    fn visit_path(&mut self, path: &'ast syn::Path) {
        self.path(path);
        visit::visit_path(self, path);
    }

    fn visit_pat_ident(&mut self, pat: &'ast syn::PatIdent) {
        // `TRIANGLE => ..` or `None => ..`: syn reads a lone identifier in a pattern as a
        // binding, but one that starts with a capital letter is by convention a constant, a
        // unit struct or a variant in scope. Counting it as a path may add an edge too many;
        // leaving it out would miss the constant.
        let name = pat.ident.to_string();
        if pat.by_ref.is_none()
            && pat.mutability.is_none()
            && pat.subpat.is_none()
            && name.starts_with(|c: char| c.is_ascii_uppercase())
        {
            self.refs.insert(Ref::Path(vec![name]));
        }
        visit::visit_pat_ident(self, pat);
    }

    fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
        let method = call.method.to_string();
        match self.receiver_of(&call.receiver) {
            Some(receiver) => self.refs.insert(Ref::Typed(method, receiver)),
            None => self.refs.insert(Ref::Method(method)),
        };
        visit::visit_expr_method_call(self, call);
    }

    fn visit_item(&mut self, item: &'ast Item) {
        self.nested += 1;
        visit::visit_item(self, item);
        self.nested -= 1;
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        let segments = path_segments(&mac.path);
        let name = segments.last().cloned().unwrap_or_default();
        if matches!(name.as_str(), "include_str" | "include_bytes" | "include") {
            self.include(mac);
        }
        self.refs.insert(Ref::Macro(segments));
        if EXPR_MACROS.contains(&name.as_str())
            && let Ok(exprs) = mac.parse_body_with(Punctuated::<Expr, Token![,]>::parse_terminated)
        {
            for expr in &exprs {
                if let Expr::Lit(lit) = expr
                    && let syn::Lit::Str(s) = &lit.lit
                {
                    self.format_args(&format!("{:?}", s.value()));
                }
                self.visit_expr(expr);
            }
            return;
        }
        self.scan_tokens(mac.tokens.clone());
    }

    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        flatten_use(&u.tree, &mut Vec::new(), &mut self.uses);
    }

    fn visit_attribute(&mut self, attr: &'ast Attribute) {
        // Attributes of nested items and expressions: macros among them count.
        self.attributes(std::slice::from_ref(attr));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item<'a>(facts: &'a FileFacts, path: &str) -> &'a RawItem {
        facts
            .items
            .iter()
            .find(|i| i.path.join("::") == path)
            .unwrap_or_else(|| panic!("no item {path} in {:#?}", facts.items))
    }

    #[test]
    fn items_have_spans_that_include_attributes_and_docs() {
        let facts = extract("/// Doc.\n#[inline]\npub fn a() {\n    b();\n}\n\nstruct S;\n");
        let a = item(&facts, "a");
        assert_eq!((a.start, a.end), (1, 5));
        assert!(a.refs.contains(&Ref::Path(vec!["b".into()])));
        let s = item(&facts, "S");
        assert_eq!((s.start, s.end), (7, 7));
        assert_eq!(facts.lines, 7);
    }

    #[test]
    fn methods_are_named_after_their_type_and_self_is_replaced() {
        let facts =
            extract("impl<T> Parser<T> {\n    fn next(&self) -> Self { Self::new().peek() }\n}\n");
        let next = item(&facts, "Parser::next");
        assert_eq!(next.kind, ItemKind::Method);
        assert!(
            next.refs
                .contains(&Ref::Path(vec!["Parser".into(), "new".into()]))
        );
        // `Self::new()` has a written type: what `Parser::new` returns.
        assert!(
            next.refs
                .contains(&Ref::Typed("peek".into(), "RParser::new".into()))
        );
        assert_eq!(next.parent, Some(0));
    }

    #[test]
    fn tests_in_inline_modules_and_their_attributes_are_found() {
        let facts = extract(
            "#[cfg(test)]\nmod tests {\n    use super::*;\n    #[test]\n    #[ignore]\n    fn a() {}\n    #[tokio::test]\n    async fn b() {}\n}\n",
        );
        let a = item(&facts, "tests::a");
        assert!(a.test.is_some_and(|t| t.ignored));
        let b = item(&facts, "tests::b");
        assert!(b.test.is_some_and(|t| !t.ignored));
        assert_eq!(
            facts.scopes[1].uses,
            vec![UseEntry::Glob {
                path: vec!["super".into()]
            }]
        );
    }

    #[test]
    fn mod_declarations_keep_their_path_attributes() {
        let facts = extract(
            "#[cfg(unix)]\n#[path = \"sys/unix.rs\"]\nmod sys;\n#[cfg_attr(windows, path = \"sys/win.rs\")]\nmod other;\n",
        );
        assert_eq!(facts.mods.len(), 2);
        assert_eq!(facts.mods[0].path_attrs, vec!["sys/unix.rs".to_owned()]);
        assert_eq!(facts.mods[1].path_attrs, vec!["sys/win.rs".to_owned()]);
    }

    #[test]
    fn modules_declared_inside_item_macros_are_declarations() {
        let facts = extract(
            "cfg_fs! {\n    pub mod fs;\n    #[cfg(test)]\n    mod fs_tests;\n    cfg_unstable! { mod deep; }\n}\n\
             cfg_if::cfg_if! {\n    if #[cfg(unix)] { mod unix; } else if #[cfg(windows)] { mod windows; } else { mod other; }\n}\n\
             #[cfg(test)]\nwrap! { mod only_in_tests; }\n\
             not_items!(mod x; fn);\n",
        );
        let mods: Vec<(&str, bool)> = facts
            .mods
            .iter()
            .map(|m| (m.name.as_str(), m.test_only))
            .collect();
        assert_eq!(
            mods,
            [
                ("fs", false),
                ("fs_tests", true),
                ("deep", false),
                ("unix", false),
                ("windows", false),
                ("other", false),
                ("only_in_tests", true),
            ]
        );
    }

    #[test]
    fn a_use_that_renames_a_test_attribute_makes_tests() {
        let facts = extract(
            "#[cfg(not(wasm))]\nuse tokio::test as maybe_tokio_test;\nuse std::{fmt, prelude::v1::test as check};\n\
             #[maybe_tokio_test]\nasync fn a() {}\n#[check]\nfn b() {}\n#[other]\nfn c() {}\n",
        );
        assert!(item(&facts, "a").test.is_some());
        assert!(item(&facts, "b").test.is_some());
        assert!(item(&facts, "c").test.is_none());
    }

    #[test]
    fn macro_input_and_includes_are_references() {
        let facts = extract(
            "fn a() {\n    let s = include_str!(\"data/x.txt\");\n    my_macro!(helper, 3);\n    println!(\"{CONST} {}\", compute());\n}\n",
        );
        let a = item(&facts, "a");
        assert_eq!(a.includes, vec!["data/x.txt".to_owned()]);
        assert!(a.refs.contains(&Ref::Macro(vec!["my_macro".into()])));
        assert!(a.refs.contains(&Ref::Ident("helper".into())));
        assert!(a.refs.contains(&Ref::Path(vec!["compute".into()])));
        assert!(a.refs.contains(&Ref::Path(vec!["CONST".into()])));
    }

    #[test]
    fn a_constant_used_as_a_match_pattern_is_a_reference_and_a_binding_is_not() {
        let facts = extract(
            "fn classify(n: u32) -> u8 {\n    match n {\n        TRIANGLE => 3,\n        other => 0,\n    }\n}\n",
        );
        let classify = item(&facts, "classify");
        assert!(classify.refs.contains(&Ref::Path(vec!["TRIANGLE".into()])));
        assert!(!classify.refs.contains(&Ref::Path(vec!["other".into()])));
    }

    #[test]
    fn a_syntax_error_is_recorded_with_its_position() {
        let facts = extract("fn a() {\n    let = ;\n}\n");
        let (line, _, _) = facts.error.expect("an error");
        assert_eq!(line, 2);
    }
}
