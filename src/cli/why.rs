//! `hourglass why`.

use std::io::Write;

use clap::{Args, ValueEnum};
use hourglass_graph::Graph;
use hourglass_model::RustTestId;
use hourglass_select::{Explanation, ItemRef};
use serde::Serialize;

use super::select::{ChangeArgs, prepare, rules};
use super::{CliResult, Context, Failure, Status, stdout, write_json};

#[derive(Debug, Args)]
pub struct WhyArgs {
    /// The test, as `<binary id> <test name>` (one quoted argument or two);
    /// a binary id alone names a `harness = false` binary.
    #[arg(required = true, num_args = 1..=2, value_name = "TEST")]
    pub test: Vec<String>,
    #[command(flatten)]
    pub change: ChangeArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = WhyFormat::Human)]
    pub format: WhyFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WhyFormat {
    /// The chain, one step a line.
    Human,
    /// One JSON document.
    Json,
}

#[derive(Serialize)]
struct WhyDocument<'a> {
    binary_id: &'a str,
    name: &'a str,
    selected: bool,
    #[serde(flatten)]
    explanation: &'a Explanation,
}

pub fn run(args: WhyArgs, context: &Context) -> CliResult {
    let WhyArgs {
        test,
        change,
        format,
    } = args;
    let text = test.join(" ");
    let id = RustTestId::parse(&text).unwrap_or_else(|| RustTestId::new(text.trim(), ""));
    let prepared = prepare(&change, context)?;
    let graph = &prepared.graph;
    let Some(index) = graph.find_test(&id) else {
        let closest = closest_tests(graph, &text, 5);
        let hint = if closest.is_empty() {
            "the graph has no tests".to_owned()
        } else {
            format!("closest: {}", closest.join(", "))
        };
        return Err(Failure::input(anyhow::anyhow!(
            "no test `{}` in the workspace; {hint}",
            text.trim()
        )));
    };
    let impact = hourglass_select::analyze(
        graph,
        &prepared.changes,
        &rules(context)?,
        &prepared.context,
    );
    let explanation = hourglass_select::explain(graph, &impact, index);
    let mut out = stdout();
    match format {
        WhyFormat::Json => write_json(
            &mut out,
            &WhyDocument {
                binary_id: &id.binary_id,
                name: &id.name,
                selected: explanation.is_selected(),
                explanation: &explanation,
            },
        )?,
        WhyFormat::Human => {
            write_human(&mut out, &id, &explanation)?;
            out.flush()?;
        }
    }
    Ok(Status::Done)
}

fn item(item: &ItemRef) -> String {
    format!("`{}` ({}:{})", item.name, item.file, item.line)
}

fn write_human(
    out: &mut impl Write,
    id: &RustTestId,
    explanation: &Explanation,
) -> std::io::Result<()> {
    let shown = id.to_string();
    let shown = shown.trim_end();
    match explanation {
        Explanation::RunAll { reasons } => {
            writeln!(out, "{shown} is selected: every test runs")?;
            for reason in reasons {
                writeln!(out, "  {reason}")?;
            }
        }
        Explanation::Reached {
            changed,
            changed_at,
            steps,
            also,
        } => {
            writeln!(out, "{shown} is selected")?;
            writeln!(out, "  changed: {} at {changed_at}", item(changed))?;
            if steps.is_empty() {
                writeln!(out, "  the test's own code changed")?;
            }
            for step in steps {
                writeln!(
                    out,
                    "  {} {} {}",
                    item(&step.to),
                    step.reason,
                    item(&step.from)
                )?;
            }
            for reason in also {
                writeln!(out, "  also: {reason}")?;
            }
        }
        Explanation::Widened { reasons } => {
            writeln!(out, "{shown} is selected")?;
            for reason in reasons {
                writeln!(out, "  {reason}")?;
            }
        }
        Explanation::NotAffected { reason } => {
            writeln!(out, "{shown} is not affected: {reason}")?;
        }
        _ => writeln!(out, "{shown}: {explanation:?}")?,
    }
    Ok(())
}

/// The printed ids of the tests nearest to `text`: containing it first,
/// then by edit distance.
fn closest_tests(graph: &Graph, text: &str, count: usize) -> Vec<String> {
    let wanted = text.trim();
    let last = wanted.rsplit([' ', ':']).next().unwrap_or(wanted);
    let mut scored: Vec<(bool, usize, String)> = graph
        .tests()
        .iter()
        .map(|test| {
            let printed = test.id.to_string().trim_end().to_owned();
            let contains = !last.is_empty() && printed.contains(last);
            (!contains, edit_distance(wanted, &printed), printed)
        })
        .collect();
    scored.sort();
    scored.into_iter().take(count).map(|(_, _, p)| p).collect()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            current.push(
                (previous[j] + cost)
                    .min(previous[j + 1] + 1)
                    .min(current[j] + 1),
            );
        }
        previous = current;
    }
    previous[b.len()]
}
