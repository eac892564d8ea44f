//! What only `plan` reads besides the planner's inputs (which
//! `hourglass_review::planning::gather` reads for `plan` and `report`):
//! the store, and with `--replay`, test selection replayed over past
//! changes.

use std::collections::HashMap;

use hourglass_history::{HistoryStore, StoreLocation};
use hourglass_model::TestKey;
use hourglass_plan::{Replay, ReplayedChange};

use super::super::select::{ChangeArgs, prepare, rules};
use super::super::{Context, Failure};

/// Opens the store when it exists (a PostgreSQL store always does): an absent SQLite file is
/// an empty history, not one to create.
pub fn open_store(db: &StoreLocation) -> Result<Option<Box<dyn HistoryStore + Send>>, Failure> {
    if !db.exists() {
        return Ok(None);
    }
    super::super::export::open(db).map(Some)
}

/// Replays `hourglass select` over merged changes (newest first): for each,
/// the graph of the change's commit (as `select --head` builds it, through
/// the graph cache) and the change against its first parent.
pub fn replay(
    context: &Context,
    changes: &[(String, Option<String>)],
    requested: u32,
    durations: &HashMap<TestKey, f64>,
) -> Result<Replay, Failure> {
    let rules = rules(context)?;
    let total_time: f64 = durations.values().sum();
    let mut by_binary: HashMap<&str, f64> = HashMap::new();
    for (key, d) in durations {
        *by_binary.entry(key.classname.as_str()).or_default() += d;
    }
    let mut replayed = Vec::new();
    let mut skipped = 0;
    for (commit, parent) in changes.iter().take(requested as usize) {
        let Some(parent) = parent else {
            skipped += 1;
            continue;
        };
        let change = ChangeArgs {
            base: parent.clone(),
            head: Some(commit.clone()),
            diff: None,
        };
        let Ok(prepared) = prepare(&change, context) else {
            skipped += 1;
            continue;
        };
        let selection = hourglass_select::select(
            &prepared.graph,
            &prepared.changes,
            &rules,
            &prepared.context,
        );
        let selected_time = if selection.run_all {
            total_time
        } else {
            let mut chosen: std::collections::HashSet<(&str, &str)> =
                std::collections::HashSet::new();
            let mut time = 0.0;
            for test in &selection.selected {
                if test.whole_binary {
                    time += by_binary
                        .get(test.binary_id.as_str())
                        .copied()
                        .unwrap_or(0.0);
                } else {
                    chosen.insert((test.binary_id.as_str(), test.name.as_str()));
                }
            }
            let known: std::collections::HashSet<(&str, &str)> = prepared
                .graph
                .tests()
                .iter()
                .map(|t| (t.id.binary_id.as_str(), t.id.name.as_str()))
                .collect();
            for (key, d) in durations {
                let id = (key.classname.as_str(), key.name.as_str());
                // A test of the history the graph does not know runs: it
                // cannot be ruled out.
                if chosen.contains(&id) || !known.contains(&id) {
                    time += d;
                }
            }
            time.min(total_time)
        };
        replayed.push(ReplayedChange {
            commit: commit.clone(),
            run_all: selection.run_all,
            selected_tests: selection.selected.len() as u32,
            total_tests: selection.total_tests as u32,
            selected_time_s: selected_time,
            total_time_s: total_time,
        });
    }
    Ok(Replay::from_changes(requested, replayed, skipped))
}
