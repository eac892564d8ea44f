//! Why one test was, or was not, selected.

use hourglass_graph::{EdgeReason, Graph, ItemId, ItemKind, TestIndex};
use serde::Serialize;

use crate::{Impact, display_name};

/// An item as an explanation shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemRef {
    pub name: String,
    pub kind: ItemKind,
    /// The binary id of the crate the item is compiled into.
    pub krate: String,
    pub file: String,
    pub line: u32,
}

impl ItemRef {
    fn new(graph: &Graph, id: ItemId) -> Self {
        let item = graph.item(id);
        Self {
            name: display_name(graph, id, item.kind),
            kind: item.kind,
            krate: item.krate.clone(),
            file: item.file.clone(),
            line: item.lines.start,
        }
    }
}

/// One step of a chain: `to` depends on `from`; read "`to` `reason` `from`".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    pub from: ItemRef,
    /// How `to` depends on `from`, as a verb phrase: "calls", "uses the type".
    pub reason: String,
    pub to: ItemRef,
}

/// The edge reason as a verb phrase with `to` as its subject and `from` as
/// its object.
fn phrase(reason: EdgeReason) -> String {
    match reason {
        EdgeReason::Calls => "calls",
        EdgeReason::UsesType => "uses the type",
        EdgeReason::Uses => "uses",
        EdgeReason::ImplOf => "implements",
        EdgeReason::TraitMethod => "is tied through its trait to",
        EdgeReason::TraitImpl => "is used through its foreign trait impl",
        EdgeReason::MacroUse => "invokes the macro",
        EdgeReason::ProcMacro => "uses the proc macro",
        EdgeReason::BinaryUnderTest => "can run the binary built from",
        EdgeReason::InBinary => "compiles in",
        EdgeReason::Contains => "is inside",
        EdgeReason::MethodName => "calls a method (receiver type unknown) named like",
        EdgeReason::NameMatch => "names something it could not resolve, like",
        EdgeReason::BuildScript => "is built by the build script, which includes",
        other => return format!("depends on ({other})"),
    }
    .to_owned()
}

/// Why a test was, or was not, selected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Explanation {
    /// Everything runs.
    RunAll { reasons: Vec<String> },
    /// A changed item reaches the test through the graph. `steps` is empty
    /// when the changed item is the test itself.
    Reached {
        changed: ItemRef,
        /// Where the item changed, `file:line`.
        changed_at: String,
        steps: Vec<Step>,
        /// Reasons the test was also selected without the graph's edges.
        also: Vec<String>,
    },
    /// Selected by widening (a package, a rule), not through the graph.
    Widened { reasons: Vec<String> },
    /// Not selected.
    NotAffected { reason: String },
}

impl Explanation {
    /// Whether the test is selected.
    pub fn is_selected(&self) -> bool {
        !matches!(self, Explanation::NotAffected { .. })
    }
}

/// Explains `test` against what a change touched ([`crate::analyze`]).
pub fn explain(graph: &Graph, impact: &Impact, test: TestIndex) -> Explanation {
    if impact.run_all() {
        return Explanation::RunAll {
            reasons: impact.run_all_reasons.clone(),
        };
    }
    let also = impact.widened.get(&test).cloned().unwrap_or_default();
    let changed = impact.changed_ids();
    if !changed.is_empty()
        && let Some(edges) = graph.explain(&changed, test)
    {
        let origin = edges
            .first()
            .map(|edge| edge.from)
            .or(graph.test(test).item)
            .or_else(|| changed.first().copied());
        if let Some(origin) = origin {
            let steps = edges
                .iter()
                .map(|edge| Step {
                    from: ItemRef::new(graph, edge.from),
                    reason: phrase(edge.reason),
                    to: ItemRef::new(graph, edge.to),
                })
                .collect();
            return Explanation::Reached {
                changed: ItemRef::new(graph, origin),
                changed_at: impact.changed.get(&origin).cloned().unwrap_or_default(),
                steps,
                also,
            };
        }
    }
    if !also.is_empty() {
        return Explanation::Widened { reasons: also };
    }
    Explanation::NotAffected {
        reason: not_affected_reason(graph, impact),
    }
}

fn not_affected_reason(graph: &Graph, impact: &Impact) -> String {
    if impact.changed.is_empty() && impact.widened.is_empty() {
        if impact.quiet_files.is_empty() {
            return "nothing changed".to_owned();
        }
        let files: Vec<String> = impact
            .quiet_files
            .iter()
            .take(5)
            .map(|(path, why)| format!("{path} ({why})"))
            .collect();
        return format!("the change selects no test: {}", files.join(", "));
    }
    let names: Vec<String> = impact
        .changed
        .iter()
        .take(5)
        .map(|(id, at)| {
            format!(
                "`{}` at {at}",
                display_name(graph, *id, graph.item(*id).kind)
            )
        })
        .collect();
    let more = impact.changed.len().saturating_sub(names.len());
    let mut reason = if names.is_empty() {
        "no changed item reaches it".to_owned()
    } else {
        format!(
            "no path in the graph leads from a changed item to it (changed: {}{})",
            names.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        )
    };
    if !impact.widened.is_empty() {
        reason.push_str("; widening selected other packages' tests only");
    }
    reason
}
