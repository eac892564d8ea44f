//! Method calls on receivers whose type the source writes down reach the methods that type
//! can dispatch to, and no other method of the name; everything else stays a loose match.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use hourglass_graph::{BuildOptions, Graph};

/// A one-package workspace whose library is `lib` plus one test `t_<f>` per caller `f`.
fn package(lib: &str, callers: &[&str]) -> (tempfile::TempDir, Graph) {
    package_with(lib, callers, &[])
}

fn package_with(lib: &str, callers: &[&str], more: &[(&str, &str)]) -> (tempfile::TempDir, Graph) {
    let dir = tempfile::tempdir().unwrap();
    let mut text = lib.to_owned();
    for caller in callers {
        let _ = write!(text, "\n#[test]\nfn t_{caller}() {{\n    {caller}();\n}}\n");
    }
    let mut files = vec![
        (
            "Cargo.toml".to_owned(),
            "[workspace]\nmembers = [\"p\", \"q\"]\nresolver = \"2\"\n".to_owned(),
        ),
        (
            "p/Cargo.toml".to_owned(),
            "[package]\nname = \"p\"\nversion = \"0.1.0\"\nedition = \"2021\"\n".to_owned(),
        ),
        ("p/src/lib.rs".to_owned(), text),
        (
            "q/Cargo.toml".to_owned(),
            "[package]\nname = \"q\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\np = { path = \"../p\" }\n".to_owned(),
        ),
        ("q/src/lib.rs".to_owned(), String::new()),
    ];
    for (path, text) in more {
        files.retain(|(p, _)| p != path);
        files.push(((*path).to_owned(), (*text).to_owned()));
    }
    for (path, text) in &files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let graph = Graph::build(dir.path(), &BuildOptions::default()).unwrap();
    (dir, graph)
}

/// The tests (`p t_x` → `x`) that a change to `name` in crate `krate` reaches.
fn reached_in(graph: &Graph, krate: &str, name: &str) -> BTreeSet<String> {
    let found: Vec<_> = graph
        .items()
        .filter(|(_, item)| item.krate == krate && item.name == name)
        .map(|(id, _)| id)
        .collect();
    assert_eq!(found.len(), 1, "items named {name}: {found:?}");
    graph
        .affected_tests(&found)
        .into_iter()
        .filter_map(|(test, _)| {
            let id = &graph.test(test).id;
            id.name.strip_prefix("t_").map(str::to_owned)
        })
        .collect()
}

fn reached(graph: &Graph, name: &str) -> BTreeSet<String> {
    reached_in(graph, "p", name)
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|name| (*name).to_owned()).collect()
}

const TWO_TYPES: &str = "\
pub struct A { pub inner: Box<B> }
pub struct B;
impl A {
    pub fn new() -> A { A { inner: Box::new(B) } }
    pub fn run(&self) -> u32 { 1 }
    pub fn go(&self) -> u32 { self.run() }
    pub fn through_field(&self) -> u32 { self.inner.run() }
}
impl B {
    pub fn make() -> A { A::new() }
    pub fn run(&self) -> u32 { 2 }
}
pub fn on_self() -> u32 { A::new().go() }
pub fn on_param_a() -> u32 { param(&A::new()) }
pub fn param(a: &A) -> u32 { a.run() }
pub fn on_box() -> u32 { boxed(Box::new(B)) }
pub fn boxed(b: Box<B>) -> u32 { b.run() }
pub fn on_let_type() -> u32 { let b: std::sync::Arc<B> = std::sync::Arc::new(B); b.run() }
pub fn on_literal() -> u32 { let b = B {}; b.run() }
pub fn on_new() -> u32 { let a = A::new(); a.run() }
pub fn on_returned() -> u32 { let a = B::make(); a.run() }
pub fn on_field() -> u32 { A::new().through_field() }
pub fn on_unknown() -> u32 { let all = vec![B]; all.iter().map(|b| b.run()).sum() }
pub fn on_shadowed() -> u32 { let x = A::new(); let _ = x.run(); let x = B; x.run() }
";

const TWO_TYPES_CALLERS: &[&str] = &[
    "on_self",
    "on_param_a",
    "on_box",
    "on_let_type",
    "on_literal",
    "on_new",
    "on_returned",
    "on_field",
    "on_unknown",
    "on_shadowed",
];

#[test]
fn self_parameters_lets_fields_and_return_types_type_the_receiver() {
    let (_dir, graph) = package(TWO_TYPES, TWO_TYPES_CALLERS);
    // `A::new()` builds `A` and `B::make()` returns `A`; `B::run` is not theirs.
    assert_eq!(
        reached(&graph, "A::run"),
        set(&[
            "on_self",
            "on_param_a",
            "on_new",
            "on_returned",
            "on_unknown",
            "on_shadowed",
        ]),
    );
    // Through `Box`, `Arc`, a literal and a boxed field; unknown and shadowed receivers stay
    // loose.
    assert_eq!(
        reached(&graph, "B::run"),
        set(&[
            "on_box",
            "on_let_type",
            "on_literal",
            "on_field",
            "on_unknown",
            "on_shadowed",
        ]),
    );
}

#[test]
fn trait_objects_impl_trait_and_bounds_reach_the_trait_and_its_impls() {
    let (_dir, graph) = package(
        "pub trait Run { fn run(&self) -> u32; fn twice(&self) -> u32 { self.run() * 2 } }
pub struct A;
pub struct B;
impl Run for A { fn run(&self) -> u32 { 1 } }
impl B { pub fn run(&self) -> u32 { 2 } }
pub fn on_dyn() -> u32 { let r: &dyn Run = &A; r.run() }
pub fn on_impl() -> u32 { imp(&A) }
pub fn imp(r: &impl Run) -> u32 { r.run() }
pub fn on_bound() -> u32 { bound(&A) }
pub fn bound<T: Run>(r: &T) -> u32 { r.run() }
pub fn on_where() -> u32 { wh(&A) }
pub fn wh<T>(r: &T) -> u32 where T: Run + Send { r.run() }
pub fn on_default() -> u32 { A.twice() }
pub fn on_b() -> u32 { B.run() }
",
        &[
            "on_dyn",
            "on_impl",
            "on_bound",
            "on_where",
            "on_default",
            "on_b",
        ],
    );
    let through_trait = ["on_dyn", "on_impl", "on_bound", "on_where", "on_default"];
    assert_eq!(reached(&graph, "A::run"), set(&through_trait));
    // `B::run` is inherent to `B`, which no generic above can be called with.
    assert_eq!(reached(&graph, "B::run"), set(&["on_b"]));
    // A default method called on a typed `A` reaches the trait's body.
    assert!(reached(&graph, "Run::twice").contains("on_default"));
}

#[test]
fn blanket_impls_default_methods_and_deref_targets_stay_in_reach() {
    let (_dir, graph) = package(
        "use std::ops::Deref;
pub trait Named { fn name(&self) -> u32; fn tag(&self) -> u32 { self.name() + 1 } }
pub trait Loud { fn shout(&self) -> u32; }
impl<T: Named> Loud for T { fn shout(&self) -> u32 { self.name() * 10 } }
pub struct A;
impl Named for A { fn name(&self) -> u32 { 1 } }
impl A { pub fn width(&self) -> u32 { 3 } }
pub struct H(A);
impl Deref for H { type Target = A; fn deref(&self) -> &A { &self.0 } }
impl H { pub fn id(&self) -> u32 { 0 } }
pub struct Other;
impl Other { pub fn width(&self) -> u32 { 4 } pub fn shout(&self) -> u32 { 5 } }
pub fn on_blanket() -> u32 { let a = A; a.shout() }
pub fn on_default() -> u32 { let a = A; a.tag() }
pub fn on_deref() -> u32 { let h = H(A); h.width() }
pub fn on_other() -> u32 { let o = Other; o.width() + o.shout() }
",
        &["on_blanket", "on_default", "on_deref", "on_other"],
    );
    // A blanket impl's method may be any type's.
    assert_eq!(
        reached(&graph, "T::shout"),
        set(&["on_blanket", "on_other"])
    );
    assert!(reached(&graph, "Named::tag").contains("on_default"));
    // `H` dereferences to `A`: its receivers stay loose.
    assert_eq!(reached(&graph, "A::width"), set(&["on_deref"]));
    assert_eq!(
        reached(&graph, "Other::width"),
        set(&["on_deref", "on_other"])
    );
}

#[test]
fn a_trait_impl_in_another_crate_is_a_method_of_the_type() {
    let (_dir, graph) = package_with(
        "pub struct A;\nimpl A { pub fn run(&self) -> u32 { 1 } }\n",
        &[],
        &[(
            "q/src/lib.rs",
            "pub trait Stamp { fn stamp(&self) -> u32; }
impl Stamp for p::A { fn stamp(&self) -> u32 { 7 } }
pub struct Q;
impl Q { pub fn stamp(&self) -> u32 { 8 } }
pub fn typed(a: &p::A) -> u32 { a.stamp() }
#[test]
fn t_typed() { typed(&p::A); }
#[test]
fn t_other() { let q = Q; q.stamp(); }
",
        )],
    );
    assert_eq!(reached_in(&graph, "q", "A::stamp"), set(&["typed"]));
    assert_eq!(reached_in(&graph, "q", "Q::stamp"), set(&["other"]));
}

#[test]
fn macros_that_may_write_methods_keep_the_receiver_loose() {
    let (_dir, graph) = package(
        "macro_rules! make_run { ($t:ident) => { impl $t { pub fn run(&self) -> u32 { 0 } } } }
#[derive(Debug, Clone)]
pub struct Plain;
#[derive(Getters)]
pub struct Derived;
pub struct Written;
make_run!(Written);
pub struct Other;
impl Other { pub fn run(&self) -> u32 { 1 } }
impl Plain { pub fn run(&self) -> u32 { 2 } }
pub fn on_plain() -> u32 { let x = Plain; x.run() }
pub fn on_derived() -> u32 { let x = Derived; x.run() }
pub fn on_written() -> u32 { let x = Written; x.run() }
",
        &["on_plain", "on_derived", "on_written"],
    );
    assert_eq!(
        reached(&graph, "Other::run"),
        set(&["on_derived", "on_written"])
    );
}
