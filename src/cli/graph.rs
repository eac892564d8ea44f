//! `hourglass graph`: build the workspace's test graph and show its size, or dump it.

use std::io::Write;

use clap::{Args, ValueEnum};
use hourglass_graph::{BuildOptions, Graph};

use super::{CliResult, Context, Failure, Status};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// Counts and build time.
    Stats,
    /// The whole graph as one JSON document.
    Json,
    /// Graphviz dot.
    Dot,
}

#[derive(Debug, Args)]
pub struct GraphArgs {
    #[arg(long, value_enum, default_value_t = GraphFormat::Stats)]
    pub format: GraphFormat,
    /// Build without reading or writing the parse cache.
    #[arg(long)]
    pub no_cache: bool,
    /// Compare with the runner's own list of tests: a file of `cargo nextest
    /// list --message-format json` output, or `nextest` to run that command
    /// in the workspace root. Reports the listed tests the graph does not
    /// know (stats: how many; json: which, under `tests_from`).
    #[arg(long, value_name = "FILE|nextest")]
    pub tests_from: Option<String>,
}

#[allow(clippy::needless_pass_by_value)] // every command's `run` takes its arguments by value
pub fn run(args: GraphArgs, context: &Context) -> CliResult {
    let GraphArgs {
        format,
        no_cache,
        tests_from,
    } = args;
    let root = context.repo_root();
    let options = BuildOptions {
        cache_dir: (!no_cache).then(|| root.join(".hourglass").join("cache").join("graph")),
        source: None,
    };
    let graph = Graph::build(&root, &options).map_err(Failure::input)?;
    let listed = match &tests_from {
        Some(spec) => {
            let list = super::select::read_test_list(spec, &root, context)?;
            Some(hourglass_select::compare_with_list(&graph, &list))
        }
        None => None,
    };
    let mut out = super::stdout();
    match format {
        GraphFormat::Stats => {
            let stats = graph.stats();
            writeln!(out, "packages     {}", stats.packages)?;
            writeln!(out, "targets      {}", stats.targets)?;
            writeln!(out, "files        {}", stats.files)?;
            writeln!(out, "lines        {}", stats.lines)?;
            writeln!(out, "items        {}", stats.items)?;
            writeln!(out, "edges        {}", stats.edges)?;
            writeln!(out, "tests        {}", stats.tests)?;
            writeln!(out, "parse errors {}", stats.parse_errors)?;
            writeln!(out, "cache hits   {}", stats.cache_hits)?;
            writeln!(
                out,
                "build time   {:.1} ms",
                stats.build_time.as_secs_f64() * 1000.0
            )?;
            let phases: Vec<String> = stats
                .phases
                .iter()
                .map(|phase| format!("{} {:.1} ms", phase.name, phase.time.as_secs_f64() * 1000.0))
                .collect();
            writeln!(out, "  of which    {}", phases.join(", "))?;
            if let Some(listed) = &listed {
                writeln!(out, "listed tests {}", listed.tests)?;
                writeln!(out, "  not in graph {}", listed.not_in_graph.len())?;
                writeln!(out, "  graph tests not listed {}", listed.not_in_list.len())?;
            }
            for (path, line, column, message) in graph.parse_errors() {
                writeln!(out, "parse error  {path}:{line}:{column}: {message}")?;
            }
            out.flush()?;
        }
        GraphFormat::Json => {
            let mut json = graph.to_json();
            if let (Some(listed), Some(object)) = (&listed, json.as_object_mut()) {
                object.insert(
                    "tests_from".to_owned(),
                    serde_json::to_value(listed).map_err(anyhow::Error::from)?,
                );
            }
            super::write_json(&mut out, &json)?;
        }
        GraphFormat::Dot => {
            graph.to_dot(&mut out)?;
            out.flush()?;
        }
    }
    Ok(Status::Done)
}
