//! What a coverage map may speak for: only code compiled with coverage
//! instrumentation, never build scripts or proc macros (they run while
//! building, so no test's profile can show them running).

use hourglass_coverage::MapBuilder;
use hourglass_model::ChangeSet;
use hourglass_select::coverage::{Quieted, changes};

use crate::{Workspace, modified};

const MACRO_LIB: &str = "\
use proc_macro::TokenStream;

#[proc_macro]
pub fn make(input: TokenStream) -> TokenStream {
    add(input)
}

fn add(input: TokenStream) -> TokenStream {
    input
}
";

#[test]
fn body_changes_are_only_those_of_instrumented_crates() {
    let workspace = Workspace::new();
    workspace.write(
        "Cargo.toml",
        "[workspace]\nmembers = [\"crates/alpha\", \"crates/beta\", \"crates/gamma\", \"crates/delta\"]\nresolver = \"2\"\n",
    );
    workspace.write(
        "crates/delta/Cargo.toml",
        "[package]\nname = \"delta\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[lib]\nproc-macro = true\n",
    );
    workspace.write("crates/delta/src/lib.rs", MACRO_LIB);
    workspace.write(
        "crates/gamma/build.rs",
        "fn main() {\n    println!(\"cargo:rerun-if-changed=build.rs\");\n}\n",
    );
    let graph = workspace.graph();
    // Keys the three functions share: alpha's `add`, and any `main`.
    let mut builder = MapBuilder::new("c0ffee");
    let binary = builder.binary("b1");
    let [add, main] = ["add", "main"].map(|key| builder.key(key));
    builder.holds(binary, add);
    builder.holds(binary, main);
    builder.test("alpha", "tests::adds", true, &[binary], [add]);
    builder.test("alpha", "tests::negates", true, &[binary], []);
    let map = builder.finish();
    let read = |path: &str| std::fs::read_to_string(workspace.path().join(path)).ok();
    let bodies = |path: &str, line: u32| {
        let quieted = Quieted {
            changes: ChangeSet {
                files: vec![modified(path, line, line)],
            },
            ..Quieted::default()
        };
        changes(&graph, &quieted, &map, &read, &read)
            .bodies
            .into_values()
            .collect::<Vec<_>>()
    };
    assert_eq!(bodies("crates/alpha/src/lib.rs", 2), ["add"]);
    assert!(bodies("crates/delta/src/lib.rs", 9).is_empty());
    assert!(bodies("crates/gamma/build.rs", 2).is_empty());
}
