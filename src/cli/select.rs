//! `hourglass select`.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use std::sync::Arc;

use hourglass_git::{Head, RevisionTree};
use hourglass_graph::{BuildOptions, Graph, SourceTree};
use hourglass_model::{ChangeSet, FileChange};
use hourglass_select::{
    ChangeContext, ManifestChange, PathRule, RuleAction, Rules, Selection, output,
};

use super::{CliResult, Context, Failure, Status, stdout, write_json};

/// Which change to look at: shared by `select` and `why`.
#[derive(Debug, Clone, Args)]
pub struct ChangeArgs {
    /// The older side; the comparison starts at the merge base of it and the head.
    #[arg(long, default_value = "HEAD", value_name = "REV")]
    pub base: String,
    /// The newer side, a revision [default: the working tree, uncommitted and
    /// untracked files included].
    #[arg(long, value_name = "REV", conflicts_with = "diff")]
    pub head: Option<String>,
    /// Read the change from a unified diff (`git diff` output) instead of git;
    /// `-` reads standard input. The diff's new side is taken to be the working tree.
    #[arg(long, value_name = "PATCH")]
    pub diff: Option<PathBuf>,
}

#[derive(Debug, Args)]
#[command(after_long_help = "\
Examples:
  Run what a pull request needs (tests the graph cannot see still run):
    cargo nextest run -E \"$(hourglass select --base origin/main --format nextest)\"
  The same with no limit on the filterset's length, and the runner's own list:
    hourglass select --base origin/main --tests-from nextest --format nextest-config > target/sel.toml
    cargo nextest run --tool-config-file hourglass:$PWD/target/sel.toml --profile hourglass
  Why each test was picked:
    hourglass select --verbose
  Leave out the tests that did not run the changed function bodies (map from `hourglass coverage`):
    hourglass select --base origin/main --coverage .hourglass/coverage.map --format nextest")]
pub struct SelectArgs {
    #[command(flatten)]
    pub change: ChangeArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = SelectFormat::List)]
    pub format: SelectFormat,
    /// Show why each test was selected (list format).
    #[arg(long, short)]
    pub verbose: bool,
    /// How finely a change is followed to tests: `item` follows the changed
    /// items through the graph; `package` takes every test of a changed
    /// package and of the packages whose test binaries can link it (always
    /// a superset of `item` for Rust changes).
    #[arg(long, value_enum, default_value_t = SelectLevel::Item)]
    pub level: SelectLevel,
    /// The runner's own list of tests: a file holding `cargo nextest list
    /// --message-format json` output, or `nextest` to run that command in
    /// the workspace root (`./nextest` for a file of that name). Tests the
    /// graph cannot see (written by macros, by build scripts) are then
    /// selected by the module that holds them or by what their binary links;
    /// tests the graph knows that the list lacks are left out.
    #[arg(long, value_name = "FILE|nextest")]
    pub tests_from: Option<String>,
    /// The nextest profile `--format nextest-config` defines.
    #[arg(long, value_name = "NAME", default_value = "hourglass")]
    pub nextest_profile: String,
    /// A coverage map written by `hourglass coverage`: a test that did not
    /// run a function whose body alone changed (since the map's commit) is
    /// left out. Item level only; everything else is selected as without it.
    #[arg(long, value_name = "FILE", conflicts_with = "diff")]
    pub coverage: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SelectLevel {
    /// Tests that reach a changed item through the graph's edges.
    Item,
    /// Tests of changed packages and of the packages that can link them.
    Package,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SelectFormat {
    /// One `<binary id> <test name>` per line; a summary on stderr.
    List,
    /// One JSON document.
    Json,
    /// A filterset for `cargo nextest run -E`: every test except those the
    /// graph knows the change cannot affect, so tests it never saw still run.
    Nextest,
    /// A nextest tool-config file (TOML) whose profile (`--nextest-profile`)
    /// has the filterset as `default-filter`, for filtersets too long for a
    /// command line: `cargo nextest run --tool-config-file
    /// hourglass:$PWD/FILE --profile hourglass`. JUnit goes to
    /// `target/nextest/<profile>/junit.xml`.
    NextestConfig,
    /// `cargo test` invocations, one per test binary.
    Cargo,
}

/// A change and the graph of its head side, ready to select from.
pub struct Prepared {
    pub graph: Graph,
    /// The Cargo workspace root of the working tree.
    pub workspace: PathBuf,
    pub changes: ChangeSet,
    pub context: ChangeContext,
    pub notes: Vec<String>,
}

/// A revision's tree as the graph's source of files: paths under the repository root are looked
/// up in the revision, read from git's object store.
#[derive(Debug)]
struct RevisionSource {
    repo_root: PathBuf,
    tree: RevisionTree,
}

impl RevisionSource {
    fn relative<'p>(&self, path: &'p Path) -> Option<std::borrow::Cow<'p, str>> {
        path.strip_prefix(&self.repo_root)
            .ok()
            .map(|rest| rest.to_string_lossy())
    }
}

impl SourceTree for RevisionSource {
    fn read_into(&self, path: &Path, into: &mut Vec<u8>) -> bool {
        self.relative(path)
            .is_some_and(|path| self.tree.read_into(&path, into))
    }

    fn content_id(&self, path: &Path) -> Option<[u8; 20]> {
        self.tree.blob_id(&self.relative(path)?)
    }

    fn is_file(&self, path: &Path) -> bool {
        self.relative(path)
            .is_some_and(|path| self.tree.is_file(&path))
    }

    fn is_dir(&self, path: &Path) -> bool {
        self.relative(path)
            .is_some_and(|path| self.tree.is_dir(&path))
    }

    fn read_dir(&self, path: &Path) -> Option<Vec<(String, bool)>> {
        self.tree.read_dir(&self.relative(path)?)
    }
}

/// Reads the change, builds the graph of its head side and gathers the old
/// and new contents of changed manifests.
///
/// Git is read on a thread of its own while the graph is built, once `.hourglass/` keeps what
/// the build writes out of git (on the first run, which makes that directory, the change is
/// read first, as git saw the tree before).
pub fn prepare(change: &ChangeArgs, context: &Context) -> Result<Prepared, Failure> {
    let git_root = hourglass_git::discover_root(&context.cwd).ok();
    let repo_root = git_root.clone().unwrap_or_else(|| context.repo_root());
    let workspace = workspace_root(&context.cwd, &repo_root);
    let prefix = relative_prefix(&repo_root, &workspace);

    let head = match &change.head {
        Some(rev) => Head::Rev(rev.clone()),
        None => Head::WorkTree,
    };
    if change.diff.is_none() && git_root.is_none() {
        return Err(Failure::input(anyhow::anyhow!(
            "{}: not inside a git repository (use --diff to read a patch)",
            context.cwd.display()
        )));
    }
    let state_dir = repo_root.join(".hourglass");
    let read = || read_change(change, context, &repo_root, &prefix, &head);
    let build = || build_graph(change, &repo_root, &prefix, &workspace, &head, &state_dir);
    let (read, graph) = if change.diff.is_none() && state_dir.join(".gitignore").is_file() {
        std::thread::scope(|scope| {
            let reading = scope.spawn(read);
            let graph = build();
            let read = reading
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (read, graph)
        })
    } else {
        let read = read();
        let changes = Ok(read.changes?);
        let read = ReadChange {
            changes,
            context: read.context,
        };
        (read, build())
    };
    let (changes, outside) = read.changes?;
    let graph = graph?;
    let change_context = read.context?;
    let mut notes = Vec::new();
    if outside > 0 {
        notes.push(format!(
            "{outside} changed file(s) outside the Cargo workspace at `{}` are not considered",
            if prefix.is_empty() {
                "."
            } else {
                prefix.as_str()
            }
        ));
    }
    Ok(Prepared {
        graph,
        workspace,
        changes,
        context: change_context,
        notes,
    })
}

/// The change, with paths relative to the workspace and how many files lay outside it, and the
/// old and new contents of changed manifests (when reading the change succeeded).
struct ReadChange {
    changes: Result<(ChangeSet, usize), Failure>,
    context: Result<ChangeContext, Failure>,
}

fn read_change(
    change: &ChangeArgs,
    context: &Context,
    repo_root: &Path,
    prefix: &str,
    head: &Head,
) -> ReadChange {
    let raw = if let Some(path) = &change.diff {
        read_patch(path, context)
    } else {
        hourglass_git::changes(repo_root, &change.base, head).map_err(Failure::from)
    };
    let changes = raw.map(|raw| rebase_paths(raw, prefix));
    let change_context = match &changes {
        // A patch carries no whole files: manifest changes widen to everything.
        Ok(_) if change.diff.is_some() => Ok(ChangeContext::default()),
        Ok((changes, _)) => gather_context(repo_root, prefix, &change.base, head, changes),
        Err(_) => Ok(ChangeContext::default()),
    };
    ReadChange {
        changes,
        context: change_context,
    }
}

/// The graph of the change's head side: the working tree, or a revision's tree read from git.
fn build_graph(
    change: &ChangeArgs,
    repo_root: &Path,
    prefix: &str,
    workspace: &Path,
    head: &Head,
    state_dir: &Path,
) -> Result<Graph, Failure> {
    // The graph of a revision reads its files from git, not from the work tree.
    let source: Option<Arc<dyn SourceTree>> = match (head, &change.diff) {
        (Head::Rev(rev), None) => {
            let repo_root =
                std::path::absolute(repo_root).unwrap_or_else(|_| repo_root.to_path_buf());
            let tree = RevisionTree::open(&repo_root, rev)
                .with_context(|| format!("reading the tree of revision `{rev}`"))?;
            Some(Arc::new(RevisionSource { repo_root, tree }))
        }
        _ => None,
    };
    let graph_root = if source.is_some() {
        let repo_root = std::path::absolute(repo_root).unwrap_or_else(|_| repo_root.to_path_buf());
        if prefix.is_empty() {
            repo_root
        } else {
            repo_root.join(prefix)
        }
    } else {
        workspace.to_path_buf()
    };
    keep_out_of_git(state_dir);
    let options = BuildOptions {
        cache_dir: Some(state_dir.join("cache").join("graph")),
        source,
    };
    Ok(Graph::build(&graph_root, &options)
        .with_context(|| format!("building the test graph of {}", graph_root.display()))?)
}

/// Creates `.hourglass/` with a `.gitignore` that leaves out everything but
/// `quarantine.toml`, so that the store and the cache never show up as changes. Failing to is harmless: they are ignored
/// by the default rules as well.
pub(crate) fn keep_out_of_git(state_dir: &Path) {
    let ignore = state_dir.join(".gitignore");
    if !ignore.exists() && std::fs::create_dir_all(state_dir).is_ok() {
        // Everything but the quarantine file, which is reviewed in pull requests.
        let _ = std::fs::write(ignore, "*\n!.gitignore\n!quarantine.toml\n");
    }
}

fn read_patch(path: &Path, context: &Context) -> Result<ChangeSet, Failure> {
    let text = if path.as_os_str() == "-" {
        let mut text = String::new();
        io::stdin()
            .read_to_string(&mut text)
            .context("reading the patch from standard input")?;
        text
    } else {
        let path = context.cwd.join(path);
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?
    };
    let name = path.display().to_string();
    hourglass_git::parse_patch(&text)
        .map_err(|error| Failure::input(anyhow::anyhow!("{name}: {error}")))
}

/// The Cargo workspace: the outermost directory with a `Cargo.toml` between
/// the repository root and `cwd`.
fn workspace_root(cwd: &Path, repo_root: &Path) -> PathBuf {
    let cwd = cwd.canonicalize().unwrap_or_else(|_| cwd.to_path_buf());
    let repo_root = repo_root
        .canonicalize()
        .unwrap_or_else(|_| repo_root.to_path_buf());
    if repo_root.join("Cargo.toml").is_file() || !cwd.starts_with(&repo_root) {
        return repo_root;
    }
    let mut found = None;
    let mut dir: &Path = &cwd;
    loop {
        if dir.join("Cargo.toml").is_file() {
            found = Some(dir.to_path_buf());
        }
        if dir == repo_root {
            break;
        }
        match dir.parent() {
            Some(parent) => dir = parent,
            None => break,
        }
    }
    found.unwrap_or(repo_root)
}

/// `workspace` relative to `repo_root`, `/` separators, `""` when equal.
fn relative_prefix(repo_root: &Path, workspace: &Path) -> String {
    let repo_root = repo_root
        .canonicalize()
        .unwrap_or_else(|_| repo_root.to_path_buf());
    let workspace = workspace
        .canonicalize()
        .unwrap_or_else(|_| workspace.to_path_buf());
    workspace
        .strip_prefix(&repo_root)
        .map(|rest| {
            rest.components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/")
        })
        .unwrap_or_default()
}

/// Makes change paths relative to the workspace; drops changes wholly
/// outside it and returns how many.
fn rebase_paths(changes: ChangeSet, prefix: &str) -> (ChangeSet, usize) {
    if prefix.is_empty() {
        return (changes, 0);
    }
    let strip = |path: Option<String>| -> Option<String> {
        path.and_then(|p| p.strip_prefix(&format!("{prefix}/")).map(str::to_owned))
    };
    let mut outside = 0;
    let files = changes
        .files
        .into_iter()
        .filter_map(|change| {
            let had_paths = change.old_path.is_some() || change.new_path.is_some();
            let rebased = FileChange {
                old_path: strip(change.old_path),
                new_path: strip(change.new_path),
                ..change
            };
            if had_paths && rebased.old_path.is_none() && rebased.new_path.is_none() {
                outside += 1;
                None
            } else {
                Some(rebased)
            }
        })
        .collect();
    (ChangeSet { files }, outside)
}

/// Old and new contents of changed `Cargo.toml` files and of the root
/// `Cargo.lock`: old from the merge base, new from the head.
fn gather_context(
    repo_root: &Path,
    prefix: &str,
    base: &str,
    head: &Head,
    changes: &ChangeSet,
) -> Result<ChangeContext, Failure> {
    let merge_base = hourglass_git::merge_base_of(repo_root, base, head)?;
    let in_repo = |path: &str| {
        if prefix.is_empty() {
            path.to_owned()
        } else {
            format!("{prefix}/{path}")
        }
    };
    let old_of = |path: Option<&str>| -> Result<Option<String>, Failure> {
        match (path, &merge_base) {
            (Some(path), Some(rev)) => Ok(hourglass_git::file_at(repo_root, rev, &in_repo(path))?),
            _ => Ok(None),
        }
    };
    let new_of = |path: Option<&str>| -> Result<Option<String>, Failure> {
        let Some(path) = path else { return Ok(None) };
        match head {
            Head::WorkTree => Ok(std::fs::read_to_string(repo_root.join(in_repo(path))).ok()),
            Head::Rev(rev) => Ok(hourglass_git::file_at(repo_root, rev, &in_repo(path))?),
        }
    };
    let mut context = ChangeContext::default();
    for change in &changes.files {
        let path = change
            .new_path
            .as_deref()
            .or(change.old_path.as_deref())
            .unwrap_or_default();
        let name = path.rsplit('/').next().unwrap_or(path);
        if name == "Cargo.toml" {
            context.manifests.push(ManifestChange {
                path: path.to_owned(),
                old: old_of(change.old_path.as_deref())?,
                new: new_of(change.new_path.as_deref())?,
            });
        } else if path == "Cargo.lock" {
            context.lockfile = Some((
                old_of(change.old_path.as_deref())?,
                new_of(change.new_path.as_deref())?,
            ));
        }
    }
    Ok(context)
}

/// The rules select uses: the repository's `[[select.rules]]` from
/// `hourglass.toml` first, then the built-in rules.
pub fn rules(context: &Context) -> Result<Rules, Failure> {
    let settings = hourglass_config::Settings::load(&context.repo_root())?;
    let user = settings
        .select_rules
        .into_iter()
        .flat_map(|rule| {
            let action = match rule.action {
                hourglass_config::RuleAction::Ignore => RuleAction::Ignore,
                hourglass_config::RuleAction::RunAll => RuleAction::RunAll,
                hourglass_config::RuleAction::Packages => RuleAction::Packages(rule.packages),
                hourglass_config::RuleAction::Tests => RuleAction::Tests(rule.tests),
            };
            let reason = rule.reason;
            rule.paths
                .into_iter()
                .map(move |pattern| PathRule::new(pattern, action.clone(), reason.as_deref()))
        })
        .collect();
    Ok(Rules::defaults().with(user))
}

pub fn run(args: SelectArgs, context: &Context) -> CliResult {
    let SelectArgs {
        change,
        format,
        verbose,
        level,
        tests_from,
        nextest_profile,
        coverage,
    } = args;
    if format == SelectFormat::NextestConfig {
        check_profile(&nextest_profile)?;
    }
    let prepared = prepare(&change, context)?;
    let list = match &tests_from {
        Some(spec) => Some(read_test_list(spec, &prepared.workspace, context)?),
        None => None,
    };
    let impact = hourglass_select::analyze(
        &prepared.graph,
        &prepared.changes,
        &rules(context)?,
        &prepared.context,
    );
    let mut selection = match (level, &list) {
        (SelectLevel::Package, _) => {
            hourglass_select::package_selection(&prepared.graph, &prepared.changes, &impact)
        }
        (SelectLevel::Item, Some(list)) => {
            hourglass_select::selection_with_list(&prepared.graph, &impact, list)
        }
        (SelectLevel::Item, None) => hourglass_select::selection(&prepared.graph, &impact),
    };
    if let Some(path) = &coverage {
        if level == SelectLevel::Package {
            selection
                .notes
                .push("--coverage is not applied at the package level".to_owned());
        } else {
            apply_coverage(&mut selection, &prepared, &change, path, context)?;
        }
    }
    if level == SelectLevel::Package && list.is_some() {
        selection
            .notes
            .push("--tests-from is not applied at the package level".to_owned());
    }
    selection.notes.extend(prepared.notes);
    if tests_from.is_some() && change.head.is_some() {
        selection
            .notes
            .push("the test list is of the working tree; the graph is of --head".to_owned());
    }
    let mut out = stdout();
    match format {
        SelectFormat::List => {
            write_list(&mut out, &selection, verbose)?;
            out.flush()?;
            summary(&selection);
        }
        SelectFormat::Json => write_json(&mut out, &output::JsonDocument(&selection))?,
        SelectFormat::Nextest => {
            writeln!(out, "{}", output::nextest(&selection))?;
            out.flush()?;
        }
        SelectFormat::NextestConfig => {
            write!(
                out,
                "{}",
                output::nextest_config(&selection, &nextest_profile)
            )?;
            out.flush()?;
        }
        SelectFormat::Cargo => {
            write!(out, "{}", output::cargo(&selection, &prepared.graph))?;
            out.flush()?;
        }
    }
    // The process ends here: freeing the graph's many small pieces one by one only costs time.
    std::mem::forget(prepared.graph);
    Ok(Status::Done)
}

/// Narrows `selection` with the coverage map at `path`: the change since the
/// map's commit decides which tests can have changed at all.
fn apply_coverage(
    selection: &mut Selection,
    prepared: &Prepared,
    change: &ChangeArgs,
    path: &Path,
    context: &Context,
) -> Result<(), Failure> {
    let map = hourglass_coverage::CoverageMap::read(&context.cwd.join(path))?;
    let repo_root = hourglass_git::discover_root(&context.cwd)?;
    let prefix = relative_prefix(&repo_root, &prepared.workspace);
    let head = match &change.head {
        Some(rev) => Head::Rev(rev.clone()),
        None => Head::WorkTree,
    };
    let since = hourglass_git::changes(&repo_root, &map.commit, &head).map_err(|error| {
        Failure::input(anyhow::anyhow!(
            "{}: the map's commit {}: {error}",
            path.display(),
            map.commit
        ))
    })?;
    let (since, _) = rebase_paths(since, &prefix);
    let since_context = gather_context(&repo_root, &prefix, &map.commit, &head, &since)?;
    let in_repo = |path: &str| {
        if prefix.is_empty() {
            path.to_owned()
        } else {
            format!("{prefix}/{path}")
        }
    };
    // Every rule reads files of both sides, some many times: each is read
    // once (from git, for a revision).
    let new_files = std::cell::RefCell::new(std::collections::HashMap::new());
    let old_files = std::cell::RefCell::new(std::collections::HashMap::new());
    let read = |path: &str| -> Option<String> {
        new_files
            .borrow_mut()
            .entry(path.to_owned())
            .or_insert_with(|| match &head {
                Head::WorkTree => std::fs::read_to_string(prepared.workspace.join(path)).ok(),
                Head::Rev(rev) => hourglass_git::file_at(&repo_root, rev, &in_repo(path))
                    .ok()
                    .flatten(),
            })
            .clone()
    };
    let read_old = |path: &str| -> Option<String> {
        old_files
            .borrow_mut()
            .entry(path.to_owned())
            .or_insert_with(|| {
                hourglass_git::file_at(&repo_root, &map.commit, &in_repo(path))
                    .ok()
                    .flatten()
            })
            .clone()
    };
    let since =
        hourglass_select::coverage::quiet_change(&prepared.graph, &since, &map, &read, &read_old);
    let impact = hourglass_select::analyze(
        &prepared.graph,
        &since.changes,
        &rules(context)?,
        &since_context,
    );
    let changes =
        hourglass_select::coverage::changes(&prepared.graph, &since, &map, &read, &read_old);
    let summary =
        hourglass_select::coverage::apply(&prepared.graph, selection, &impact, &changes, &map);
    selection.notes.push(format!(
        "coverage of {} ({} tests): of {} items changed since then, {} are function bodies it holds, {} modules whose private imports alone changed, {} functions only changed code names; {} function(s) deleted; {} test(s) left out that ran none of what changed",
        &map.commit[..map.commit.len().min(12)],
        map.tests.len(),
        summary.changed_items,
        summary.body_changes,
        summary.import_changes,
        summary.silent_functions,
        summary.deleted_functions,
        summary.left_out
    ));
    selection.coverage = Some(summary);
    Ok(())
}

/// A profile name nextest accepts for a tool config: not `default` or
/// `default-*` (reserved by nextest), a bare TOML key.
fn check_profile(name: &str) -> Result<(), Failure> {
    let bare = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !bare || name == "default" || name.starts_with("default-") {
        return Err(Failure::input(anyhow::anyhow!(
            "--nextest-profile `{name}`: use letters, digits, `-` and `_`, not `default` or `default-*` (reserved by nextest)"
        )));
    }
    Ok(())
}

/// Reads the runner's list of tests: a file of `cargo nextest list
/// --message-format json` output, or (`nextest`) that command's output in
/// `workspace`. Shared with `hourglass graph`.
pub fn read_test_list(
    spec: &str,
    workspace: &Path,
    context: &Context,
) -> Result<hourglass_select::TestList, Failure> {
    const COMMAND: &str = "cargo nextest list --workspace --message-format json";
    let (bytes, origin) = if spec == "nextest" {
        let output = std::process::Command::new("cargo")
            .args(["nextest", "list", "--workspace", "--message-format", "json"])
            .current_dir(workspace)
            .stdin(std::process::Stdio::null())
            .output()
            .with_context(|| format!("running `{COMMAND}` in {}", workspace.display()))?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let lines: Vec<&str> = stderr.lines().collect();
            let tail = lines[lines.len().saturating_sub(40)..].join("\n");
            return Err(Failure::input(anyhow::anyhow!(
                "`{COMMAND}` in {} failed ({}):\n{tail}",
                workspace.display(),
                output.status
            )));
        }
        (output.stdout, format!("output of `{COMMAND}`"))
    } else {
        let path = context.cwd.join(spec);
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        (bytes, spec.to_owned())
    };
    hourglass_select::TestList::from_nextest_json(&bytes, &origin).map_err(Failure::input)
}

fn write_list(out: &mut impl Write, selection: &Selection, verbose: bool) -> io::Result<()> {
    if !verbose {
        return out.write_all(output::list(selection).as_bytes());
    }
    for test in &selection.selected {
        if test.whole_binary {
            writeln!(out, "{}", test.binary_id)?;
        } else {
            writeln!(out, "{} {}", test.binary_id, test.name)?;
        }
        for reason in &test.reasons {
            writeln!(out, "    {reason}")?;
        }
    }
    Ok(())
}

/// "selected N of M tests (x%)" and the reasons to run everything, on stderr.
fn summary(selection: &Selection) {
    let mut err = io::stderr().lock();
    let _ = writeln!(
        err,
        "selected {} of {} tests ({:.1}%)",
        selection.selected.len(),
        selection.total_tests,
        selection.share() * 100.0
    );
    for reason in &selection.run_all_reasons {
        let _ = writeln!(err, "  every test runs: {reason}");
    }
    for note in &selection.notes {
        let _ = writeln!(err, "  note: {note}");
    }
}
