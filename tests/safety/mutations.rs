//! Small source mutations of `fixtures/workspaces/safety-shapes`, one edge of
//! the dependency graph each: constants, conditions, return values, strings,
//! removed statements, default trait methods, blanket and generic impls,
//! `macro_rules!` bodies, tests that only a `macro_rules!` writes, method calls
//! on typed receivers, a derive macro's output, `include_str!` data, a build
//! script, a binary's output, tests themselves, manifests and profiles, and
//! code a member reaches through a registry version that `[patch.crates-io]`
//! serves from the workspace.

/// What running the fixture's tests after a mutation is expected to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// At least one test fails.
    Kill,
    /// Every test still passes (comments, ignored tests).
    Survive,
    /// The mutated workspace does not build.
    CompileError,
}

/// One textual edit of one fixture file.
#[derive(Debug, Clone, Copy)]
pub struct Mutation {
    pub name: &'static str,
    /// Relative to the fixture workspace root.
    pub file: &'static str,
    /// Occurs exactly once in `file`.
    pub find: &'static str,
    pub replace: &'static str,
    pub expect: Expect,
}

const fn kill(
    name: &'static str,
    file: &'static str,
    find: &'static str,
    replace: &'static str,
) -> Mutation {
    Mutation {
        name,
        file,
        find,
        replace,
        expect: Expect::Kill,
    }
}

const CORE_BUILD: &str = "crates/shapes-core/build.rs";
const CORE_TABLE_DATA: &str = "crates/shapes-core/data/table.txt";
const CORE_LABEL_DATA: &str = "crates/shapes-core/data/label.txt";
const CORE_RUNTIME_DATA: &str = "crates/shapes-core/data/runtime.txt";
const CORE_LIB: &str = "crates/shapes-core/src/lib.rs";
const CORE_AREA: &str = "crates/shapes-core/src/area.rs";
const CORE_CONSTS: &str = "crates/shapes-core/src/consts.rs";
const CORE_TABLE: &str = "crates/shapes-core/src/table.rs";
const CORE_UNITS: &str = "crates/shapes-core/src/units/mod.rs";
const CORE_LEVEL: &str = "crates/shapes-core/src/units/level.rs";
const CORE_RATIO: &str = "crates/shapes-core/src/extra/ratio.rs";
const CORE_RECEIVERS: &str = "crates/shapes-core/src/receivers.rs";
const CORE_TESTING: &str = "crates/shapes-core/src/testing.rs";
const CORE_TRAITS_TEST: &str = "crates/shapes-core/tests/traits.rs";
const CORE_NAMING: &str = "crates/shapes-core/src/naming.rs";
const CORE_FLOW_TEST: &str = "crates/shapes-core/tests/flow.rs";
const MACROS_LIB: &str = "crates/shapes-macros/src/lib.rs";
const DERIVE_LIB: &str = "crates/shapes-derive/src/lib.rs";
const FACADE_MANIFEST: &str = "crates/shapes-facade/Cargo.toml";
const FACADE_LIB: &str = "crates/shapes-facade/src/lib.rs";
const FACADE_DIR_HELPERS: &str = "crates/shapes-facade/tests/dir/helpers.rs";
const FACADE_SMOKE: &str = "crates/shapes-facade/tests/smoke.rs";
const CLI_MAIN: &str = "crates/shapes-cli/src/main.rs";
const CLI_TEST: &str = "crates/shapes-cli/tests/cli.rs";

/// Every mutation, applied one at a time to the unmodified fixture.
pub const MUTATIONS: &[Mutation] = &[
    // Build script and included data.
    kill(
        "build-script-constant",
        CORE_BUILD,
        "let sides = 4u32;",
        "let sides = 5u32;",
    ),
    kill(
        "include-data-value",
        CORE_TABLE_DATA,
        "square = 4",
        "square = 40",
    ),
    kill(
        "include-data-extra-line",
        CORE_TABLE_DATA,
        "hexagon = 6\n",
        "hexagon = 6\noctagon = 8\n",
    ),
    kill(
        "build-script-data-file",
        CORE_LABEL_DATA,
        "shapes\n",
        "forms\n",
    ),
    kill(
        "runtime-data-file",
        CORE_RUNTIME_DATA,
        "square\n",
        "wedge\n",
    ),
    // Trait impls, default methods, generics, closures.
    kill(
        "square-area-operator",
        CORE_AREA,
        "self.side * self.side",
        "self.side + self.side",
    ),
    kill(
        "default-name-method",
        CORE_AREA,
        "String::from(\"shape\")",
        "String::from(\"thing\")",
    ),
    kill(
        "default-describe-format",
        CORE_AREA,
        "\"{} of area {:.1}\"",
        "\"{} with area {:.1}\"",
    ),
    kill(
        "circle-area-constant",
        CORE_AREA,
        "std::f64::consts::PI * self.radius",
        "3.0 * self.radius",
    ),
    kill(
        "heron-half-perimeter",
        CORE_AREA,
        "self.c) / 2.0",
        "self.c) / 3.0",
    ),
    kill(
        "triangle-validity-return",
        CORE_AREA,
        "self.a + self.b > self.c && self.a + self.c > self.b && self.b + self.c > self.a",
        "true",
    ),
    kill(
        "square-associated-const",
        CORE_AREA,
        "const SIDES: u32 = 4;",
        "const SIDES: u32 = 6;",
    ),
    kill(
        "triangle-perimeter-term",
        CORE_AREA,
        "self.a + self.b + self.c\n",
        "self.a + self.b\n",
    ),
    kill(
        "generic-impl-scaled-area",
        CORE_AREA,
        "self.inner.area() * self.factor * self.factor",
        "self.inner.area() * self.factor",
    ),
    kill(
        "generic-impl-scaled-name",
        CORE_AREA,
        "\"scaled {}\"",
        "\"big {}\"",
    ),
    kill(
        "closure-in-total-area",
        CORE_AREA,
        ".map(|s| s.area())",
        ".map(|s| s.area() * 2.0)",
    ),
    kill(
        "largest-flipped-order",
        CORE_AREA,
        "a.area().total_cmp(&b.area())",
        "b.area().total_cmp(&a.area())",
    ),
    kill(
        "filter-flipped-condition",
        CORE_AREA,
        "s.area() >= min_area",
        "s.area() < min_area",
    ),
    kill(
        "generic-fn-associated-const",
        CORE_AREA,
        "    P::SIDES\n",
        "    P::SIDES + 1\n",
    ),
    kill(
        "generic-fn-bound-condition",
        CORE_AREA,
        "P::SIDES <= MAX_SIDES",
        "P::SIDES > MAX_SIDES",
    ),
    kill(
        "blanket-impl-summary",
        CORE_AREA,
        "\"{}:{:.0}\"",
        "\"{}={:.0}\"",
    ),
    Mutation {
        name: "doc-comment-only",
        file: CORE_AREA,
        find: "/// The summed area of a mixed collection.",
        replace: "/// The total area of a mixed collection.",
        expect: Expect::Survive,
    },
    // Constants: used only in another constant, in match patterns, through a glob re-export.
    kill(
        "const-used-only-in-const",
        CORE_CONSTS,
        "BASE_UNIT: u32 = 10;",
        "BASE_UNIT: u32 = 3;",
    ),
    kill(
        "const-in-match-pattern",
        CORE_CONSTS,
        "TRIANGLE: u32 = 3;",
        "TRIANGLE: u32 = 30;",
    ),
    kill(
        "const-through-glob-reexport",
        CORE_CONSTS,
        "SQUARE: u32 = 4;",
        "SQUARE: u32 = 44;",
    ),
    kill(
        "match-arm-string",
        CORE_CONSTS,
        "SQUARE => \"quadrilateral\"",
        "SQUARE => \"quad\"",
    ),
    kill(
        "match-range-bound",
        CORE_CONSTS,
        "5..=MAX_SIDES",
        "7..=MAX_SIDES",
    ),
    // include_str! readers.
    kill(
        "lookup-flipped-condition",
        CORE_TABLE,
        "key.trim() == name",
        "key.trim() != name",
    ),
    kill(
        "entries-used-only-by-the-binary",
        CORE_TABLE,
        ".is_empty()).count()",
        ".is_empty()).count() + 1",
    ),
    Mutation {
        name: "ignored-test-body",
        file: CORE_TABLE,
        find: "expect(\"name = sides\")",
        replace: "expect(\"a name\")",
        expect: Expect::Survive,
    },
    // Crate root: statics, features, default trait methods, statements.
    kill(
        "static-string",
        CORE_LIB,
        "UNITS: &str = \"cm\"",
        "UNITS: &str = \"mm\"",
    ),
    kill(
        "default-tag-method",
        CORE_LIB,
        "format!(\"<{}>\"",
        "format!(\"[{}]\"",
    ),
    kill(
        "feature-gated-string",
        CORE_LIB,
        "        \"loud\"\n",
        "        \"noisy\"\n",
    ),
    kill(
        "replaced-arithmetic",
        CORE_LIB,
        "    x + 1\n",
        "    x.wrapping_add(1)\n",
    ),
    kill("removed-statement", CORE_LIB, "    values.dedup();\n", ""),
    // `shapes-report` takes `shapes-core` as a registry version that the root `[patch.crates-io]`
    // serves from the workspace: its tests link this code.
    kill(
        "patched-dependency",
        CORE_LIB,
        "    values.sort_unstable();\n",
        "    values.reverse();\n",
    ),
    kill(
        "format-precision",
        CORE_LIB,
        "{length:.1} {UNITS}",
        "{length:.2} {UNITS}",
    ),
    Mutation {
        name: "core-type-error",
        file: CORE_LIB,
        find: "    x + 1\n",
        replace: "    x + 1.0\n",
        expect: Expect::CompileError,
    },
    // Impls called without being named, modules found through `mod.rs` and `#[path]`.
    kill("display-impl", CORE_UNITS, "\"{:.1} m\"", "\"{:.1}m\""),
    kill(
        "add-operator-impl",
        CORE_UNITS,
        "Meters(self.0 + other.0)",
        "Meters(self.0 - other.0)",
    ),
    kill("from-impl", CORE_UNITS, "/ 100.0", "/ 10.0"),
    kill("default-impl", CORE_UNITS, "columns: 8", "columns: 9"),
    kill(
        "iterator-impl",
        CORE_UNITS,
        "Some(self.0 + 1)",
        "Some(self.0)",
    ),
    kill("drop-impl", CORE_UNITS, "\"dropped {}\"", "\"released {}\""),
    kill("enum-discriminant", CORE_LEVEL, "Mid = 5", "Mid = 6"),
    kill(
        "path-attribute-module",
        CORE_RATIO,
        "    1.618\n",
        "    1.5\n",
    ),
    kill(
        "cfg-test-helper-module",
        CORE_TESTING,
        "side: 3.0",
        "side: 4.0",
    ),
    // Integration test of the core crate: the test itself and a helper type in it.
    kill(
        "assertion-in-a-test",
        CORE_TRAITS_TEST,
        "\"<Plain>\"",
        "\"<Plain >\"",
    ),
    kill(
        "helper-impl-in-a-test",
        CORE_TRAITS_TEST,
        "        \"Plain\"\n",
        "        \"Simple\"\n",
    ),
    // Names matched only loosely: a blanket impl's associated function called
    // through a prelude type, a method on a receiver of unknown type, and an
    // integration test's helper naming a test inside a macro.
    kill(
        "blanket-impl-through-prelude-type",
        CORE_NAMING,
        "fn badge() -> u32 {\n        7",
        "fn badge() -> u32 {\n        8",
    ),
    kill(
        "method-on-unknown-receiver",
        CORE_NAMING,
        "self.start + 1",
        "self.start + 2",
    ),
    kill(
        "associated-fn-called-by-path",
        CORE_NAMING,
        "Counter { start: 1 }",
        "Counter { start: 0 }",
    ),
    // Paths the graph cannot follow to the end: a foreign type's associated
    // function that a workspace impl of a foreign trait provides, and an item
    // that a crate re-exports from its dependency through a macro-written `use`.
    kill(
        "foreign-type-path-to-a-workspace-impl",
        CORE_NAMING,
        "format!(\"tag-{}\", tag.0)",
        "format!(\"tag:{}\", tag.0)",
    ),
    kill(
        "crate-path-through-a-macro-reexport",
        CORE_AREA,
        "    P::SIDES\n}\n\n/// Whether",
        "    P::SIDES + 1\n}\n\n/// Whether",
    ),
    kill(
        "integration-test-step-named-in-a-macro",
        CORE_FLOW_TEST,
        "string_badge(), 14",
        "string_badge(), 15",
    ),
    // Method calls on receivers of a written type that dispatch beyond the
    // type's own impls: a blanket impl (also through a boxed field), a trait's
    // default method, a `Deref` target, a constructor returning another type,
    // a shadowed binding, a trait impl written in another crate, a downstream
    // impl reached through a trait object.
    kill(
        "typed-receiver-blanket-impl",
        CORE_RECEIVERS,
        "self.label().to_uppercase()",
        "self.label().to_lowercase()",
    ),
    kill(
        "typed-receiver-default-method",
        CORE_RECEIVERS,
        "format!(\"[{}]\", self.label())",
        "format!(\"({})\", self.label())",
    ),
    kill(
        "typed-receiver-deref-target",
        CORE_RECEIVERS,
        "self.text.len()",
        "self.text.len() + 1",
    ),
    kill(
        "typed-receiver-trait-impl-in-another-crate",
        FACADE_LIB,
        "format!(\"#{}\", self.text)",
        "format!(\"#!{}\", self.text)",
    ),
    kill(
        "typed-receiver-downstream-impl-through-dyn",
        FACADE_LIB,
        "format!(\"gadget-{}\", self.size)",
        "format!(\"gadget{}\", self.size)",
    ),
    // Manifests and profiles.
    kill(
        "dependency-features",
        FACADE_MANIFEST,
        "features = [\"loud\"]",
        "features = []",
    ),
    kill(
        "package-version",
        "Cargo.toml",
        "version = \"0.1.0\"",
        "version = \"0.2.0\"",
    ),
    kill(
        "profile-overflow-checks",
        "Cargo.toml",
        "overflow-checks = true",
        "overflow-checks = false",
    ),
    // macro_rules! used across modules and crates.
    kill(
        "exported-macro-body",
        MACROS_LIB,
        "        $x * $x\n",
        "        $x + $x\n",
    ),
    kill(
        "exported-macro-format",
        MACROS_LIB,
        "\"{}#{}\"",
        "\"{}-{}\"",
    ),
    kill(
        "local-macro-flipped-condition",
        MACROS_LIB,
        "if $v < $lo {",
        "if $v > $lo {",
    ),
    kill(
        "macro-calling-crate-function",
        MACROS_LIB,
        "clamp_to!(v, 0, 100)",
        "clamp_to!(v, 0, 90)",
    ),
    kill(
        "macro-caller-constant",
        MACROS_LIB,
        "2 * square_of!(x)",
        "3 * square_of!(x)",
    ),
    // Tests that only a macro writes: a `#[test] fn $name` transcriber, and test functions
    // passed through `$($t)*` into two modules.
    kill(
        "test-writing-macro-body",
        MACROS_LIB,
        "assert_eq!($got, $want, \"{}\", stringify!($name));",
        "assert_ne!($got, $want, \"{}\", stringify!($name));",
    ),
    kill(
        "test-writing-macro-row",
        MACROS_LIB,
        "check_case!(twice_square_of_two, twice_square(2), 8);",
        "check_case!(twice_square_of_two, twice_square(2), 9);",
    ),
    kill(
        "passed-through-test-body",
        MACROS_LIB,
        "assert_eq!(clamp_percent(101), 100);",
        "assert_eq!(clamp_percent(101), 101);",
    ),
    // The derive macro.
    kill(
        "derive-output",
        DERIVE_LIB,
        r#"\"{name}\" }}"#,
        r#"\"{name}s\" }}"#,
    ),
    Mutation {
        name: "derive-rejects-structs",
        file: DERIVE_LIB,
        find: "word == \"struct\"",
        replace: "word == \"structure\"",
        expect: Expect::CompileError,
    },
    // Re-exports and code of the facade.
    kill(
        "reexport-alias-target",
        FACADE_LIB,
        "consts::TRIANGLE as FIRST_POLYGON",
        "consts::SQUARE as FIRST_POLYGON",
    ),
    kill(
        "cross-crate-macro-argument",
        FACADE_LIB,
        "block.area())",
        "block.side)",
    ),
    kill(
        "closure-over-trait-objects",
        FACADE_LIB,
        "shape.describe())",
        "shape.name())",
    ),
    kill(
        "folder-test-helper",
        FACADE_DIR_HELPERS,
        "Block { side: 3.0 }",
        "Block { side: 4.0 }",
    ),
    kill(
        "folder-test-helper-const",
        FACADE_DIR_HELPERS,
        "PREFIX: &str = \"blk\"",
        "PREFIX: &str = \"box\"",
    ),
    kill("harness-false-check", FACADE_SMOKE, "Some(5)", "Some(6)"),
    kill(
        "downstream-impl-called-upstream",
        FACADE_LIB,
        "1.5 * 3f64.sqrt()",
        "1.4 * 3f64.sqrt()",
    ),
    kill(
        "const-generic-argument",
        FACADE_LIB,
        "WIDTH: usize = 6;",
        "WIDTH: usize = 5;",
    ),
    kill(
        "const-generic-fn-body",
        FACADE_LIB,
        "width = N)",
        "width = N + 1)",
    ),
    // The binary and the tests that run it.
    kill("binary-output", CLI_MAIN, "\"{} entries\"", "\"{} rows\""),
    kill(
        "binary-render-function",
        CLI_MAIN,
        "\"area {:.2}\"",
        "\"area {:.3}\"",
    ),
    kill(
        "binary-exit-code",
        CLI_MAIN,
        "ExitCode::from(2)",
        "ExitCode::SUCCESS",
    ),
    kill(
        "binary-test-expectation",
        CLI_TEST,
        "\"polygon\\n\"",
        "\"polygons\\n\"",
    ),
];
