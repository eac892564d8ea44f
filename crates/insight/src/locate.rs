//! From a test to the source file that defines it.
//!
//! # How it works
//!
//! Given the repository's file paths ([`FileIndex`]) and, for Rust tests, a
//! map from test id to source file (from the test graph), [`TestLocator`]
//! tries in order:
//!
//! 1. the JUnit `file` attribute, as a repository path or as a suffix of one
//!    (runners often write absolute paths or paths from a sub-directory);
//! 2. the Rust map, keyed by `(binary id, test name)` = `(classname, name)`;
//! 3. a path written in the suite, classname or name (jest, vitest, mocha,
//!    pytest node ids): a token with `/` and a source extension;
//! 4. a dotted classname or suite as a Python module (`tests.test_api` or
//!    `tests.test_api.TestX` → `tests/test_api.py`), longest prefix first;
//! 5. a Java-like classname (`com.acme.FooTest`, inner classes `$Inner`
//!    dropped) → `**/com/acme/FooTest.{java,kt,scala,groovy}`.
//!
//! A suffix matches only at a `/` boundary; when several files match, the
//! shortest path wins, then the first in byte order. A test whose file is not
//! found is [`Located::Unknown`] — reported as unowned, never dropped.

use std::collections::{BTreeSet, HashMap};

use hourglass_model::TestKey;
use serde::{Deserialize, Serialize};

/// The repository's files, indexed by file name.
#[derive(Debug, Clone, Default)]
pub struct FileIndex {
    files: BTreeSet<String>,
    by_name: HashMap<String, Vec<String>>,
}

impl FileIndex {
    /// Repository-relative paths with `/`.
    pub fn new<I, S>(paths: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut index = FileIndex::default();
        for path in paths {
            let path: String = path.into();
            let path = path.trim_start_matches("./").to_owned();
            let name = path.rsplit('/').next().unwrap_or(&path).to_owned();
            if index.files.insert(path.clone()) {
                index.by_name.entry(name).or_default().push(path);
            }
        }
        for paths in index.by_name.values_mut() {
            paths.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
        }
        index
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    pub fn contains(&self, path: &str) -> bool {
        self.files.contains(path)
    }

    /// The file equal to `path` or ending with `/path`.
    pub fn find_suffix(&self, path: &str) -> Option<&str> {
        let path = path.trim_start_matches("./").trim_start_matches('/');
        if path.is_empty() {
            return None;
        }
        if let Some(found) = self.files.get(path) {
            return Some(found);
        }
        let name = path.rsplit('/').next()?;
        self.by_name.get(name)?.iter().find_map(|candidate| {
            let boundary = candidate.len().checked_sub(path.len() + 1)?;
            (candidate.ends_with(path) && candidate.as_bytes()[boundary] == b'/')
                .then_some(candidate.as_str())
        })
    }

    /// Like [`find_suffix`](Self::find_suffix), also trying the ever shorter
    /// tails of an absolute or foreign path (`/home/ci/repo/src/a.rs`).
    pub fn find_path(&self, path: &str) -> Option<&str> {
        let path = path.replace('\\', "/");
        let mut rest = path.as_str();
        loop {
            if let Some(found) = self.find_suffix(rest) {
                return Some(found);
            }
            let (_, tail) = rest.trim_start_matches('/').split_once('/')?;
            rest = tail;
        }
    }
}

/// How a test's file was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LocatedVia {
    JunitFile,
    RustGraph,
    PathInName,
    PythonModule,
    JavaClass,
}

/// Where a test lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Located {
    File { path: String, via: LocatedVia },
    Unknown,
}

impl Located {
    pub fn path(&self) -> Option<&str> {
        match self {
            Located::File { path, .. } => Some(path),
            Located::Unknown => None,
        }
    }
}

const SCRIPT_EXTENSIONS: [&str; 14] = [
    "js", "jsx", "ts", "tsx", "mjs", "cjs", "mts", "cts", "py", "rb", "go", "vue", "svelte", "rs",
];
const JVM_EXTENSIONS: [&str; 4] = ["java", "kt", "scala", "groovy"];

/// Resolves tests to files.
#[derive(Debug, Clone)]
pub struct TestLocator<'a> {
    files: &'a FileIndex,
    rust: HashMap<(&'a str, &'a str), &'a str>,
}

impl<'a> TestLocator<'a> {
    /// `rust_files`: `(binary id, test name)` → source file, from the graph.
    pub fn new(files: &'a FileIndex, rust_files: &'a [((String, String), String)]) -> Self {
        let rust = rust_files
            .iter()
            .map(|((binary, name), file)| ((binary.as_str(), name.as_str()), file.as_str()))
            .collect();
        Self { files, rust }
    }

    /// The file of `key`; `junit_file` is the JUnit `file` attribute, if any.
    pub fn locate(&self, key: &TestKey, junit_file: Option<&str>) -> Located {
        let found = |path: &str, via| Located::File {
            path: path.to_owned(),
            via,
        };
        if let Some(file) = junit_file.filter(|f| !f.is_empty())
            && let Some(path) = self.files.find_path(file)
        {
            return found(path, LocatedVia::JunitFile);
        }
        if let Some(file) = self.rust.get(&(key.classname.as_str(), key.name.as_str())) {
            let path = self.files.find_path(file).unwrap_or(file);
            return found(path, LocatedVia::RustGraph);
        }
        for text in [&key.classname, &key.suite, &key.name] {
            if let Some(path) = self.path_in(text) {
                return found(path, LocatedVia::PathInName);
            }
        }
        for text in [&key.classname, &key.suite] {
            if let Some(path) = self.python_module(text) {
                return found(path, LocatedVia::PythonModule);
            }
        }
        for text in [&key.classname, &key.suite] {
            if let Some(path) = self.java_class(text) {
                return found(path, LocatedVia::JavaClass);
            }
        }
        Located::Unknown
    }

    /// A token like `src/app.test.ts` or `tests/test_api.py::TestX::test_y`.
    fn path_in(&self, text: &str) -> Option<&'a str> {
        text.split(|c: char| {
            c.is_whitespace() || matches!(c, ':' | '"' | '\'' | '(' | ')' | '>' | '›' | ',')
        })
        .filter(|token| token.contains('/') || token.contains('\\'))
        .find_map(|token| {
            let extension = token.rsplit_once('.')?.1;
            if !SCRIPT_EXTENSIONS.contains(&extension) && !JVM_EXTENSIONS.contains(&extension) {
                return None;
            }
            self.files.find_path(token)
        })
    }

    /// `tests.test_api.TestX` → `tests/test_api.py`.
    fn python_module(&self, text: &str) -> Option<&'a str> {
        if !text.contains('.') || text.contains('/') || text.contains(char::is_whitespace) {
            return None;
        }
        let parts: Vec<&str> = text.split('.').collect();
        (1..=parts.len()).rev().find_map(|take| {
            let candidate = format!("{}.py", parts[..take].join("/"));
            self.files.find_suffix(&candidate)
        })
    }

    /// `com.acme.FooTest$Inner` → `**/com/acme/FooTest.java` (or kt, scala, groovy).
    fn java_class(&self, text: &str) -> Option<&'a str> {
        if text.contains('/') || text.contains(char::is_whitespace) || text.is_empty() {
            return None;
        }
        let outer = text.split('$').next()?;
        let relative = outer.replace('.', "/");
        JVM_EXTENSIONS
            .iter()
            .find_map(|extension| self.files.find_suffix(&format!("{relative}.{extension}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(suite: &str, classname: &str, name: &str) -> TestKey {
        TestKey {
            suite: suite.into(),
            classname: classname.into(),
            name: name.into(),
        }
    }

    fn index() -> FileIndex {
        FileIndex::new([
            "src/main/java/com/acme/FooTest.java",
            "app/src/test/kotlin/com/acme/BarTest.kt",
            "tests/test_api.py",
            "web/src/button.test.tsx",
            "crates/x/src/lib.rs",
            "crates/x/tests/it/main.rs",
        ])
    }

    #[test]
    fn the_junit_file_attribute_wins_even_when_absolute() {
        let files = index();
        let locator = TestLocator::new(&files, &[]);
        let located = locator.locate(
            &key("s", "com.acme.Other", "t"),
            Some("/home/ci/repo/tests/test_api.py"),
        );
        assert_eq!(
            located,
            Located::File {
                path: "tests/test_api.py".into(),
                via: LocatedVia::JunitFile
            }
        );
    }

    #[test]
    fn java_and_kotlin_classnames_find_their_files() {
        let files = index();
        let locator = TestLocator::new(&files, &[]);
        assert_eq!(
            locator
                .locate(&key("s", "com.acme.FooTest", "t"), None)
                .path(),
            Some("src/main/java/com/acme/FooTest.java")
        );
        assert_eq!(
            locator
                .locate(&key("s", "com.acme.BarTest$Nested", "t"), None)
                .path(),
            Some("app/src/test/kotlin/com/acme/BarTest.kt")
        );
    }

    #[test]
    fn pytest_modules_and_classes_find_their_files() {
        let files = index();
        let locator = TestLocator::new(&files, &[]);
        for classname in ["tests.test_api", "tests.test_api.TestX"] {
            let located = locator.locate(&key("pytest", classname, "test_y"), None);
            assert_eq!(
                located,
                Located::File {
                    path: "tests/test_api.py".into(),
                    via: LocatedVia::PythonModule
                }
            );
        }
    }

    #[test]
    fn script_paths_in_suite_names_are_found() {
        let files = index();
        let locator = TestLocator::new(&files, &[]);
        let located = locator.locate(
            &key("src/button.test.tsx", "Button renders", "renders"),
            None,
        );
        assert_eq!(located.path(), Some("web/src/button.test.tsx"));
    }

    #[test]
    fn rust_tests_use_the_graph_map() {
        let files = index();
        let map = vec![(
            ("x::it".to_owned(), "parse::works".to_owned()),
            "crates/x/tests/it/main.rs".to_owned(),
        )];
        let locator = TestLocator::new(&files, &map);
        let located = locator.locate(&key("x::it", "x::it", "parse::works"), None);
        assert_eq!(
            located,
            Located::File {
                path: "crates/x/tests/it/main.rs".into(),
                via: LocatedVia::RustGraph
            }
        );
    }

    #[test]
    fn an_unknown_test_stays_unknown() {
        let files = index();
        let locator = TestLocator::new(&files, &[]);
        assert_eq!(
            locator.locate(&key("go", "github.com/acme/pkg", "TestX"), None),
            Located::Unknown
        );
    }

    #[test]
    fn suffixes_match_only_at_component_boundaries() {
        let files = FileIndex::new(["a/xtest_api.py", "b/test_api.py"]);
        assert_eq!(files.find_suffix("test_api.py"), Some("b/test_api.py"));
        assert_eq!(files.find_suffix("api.py"), None);
    }
}
