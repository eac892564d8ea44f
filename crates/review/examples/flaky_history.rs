//! Writes a seeded result history as JUnit files, one per run, for the
//! `flaky`, `slow` and `owners` benchmarks: `TESTS` tests over `RUNS` runs
//! drawn by `hourglass_insight::simulate` (3% flaky tests, 1% breaking,
//! 2% slowing down, re-runs of a commit, retries, one infrastructure-failure
//! run, 1% unknown durations).
//!
//! ```text
//! cargo run --release -p hourglass-review --example flaky_history -- DIR [TESTS [RUNS [SEED]]]
//! ```
//!
//! Writes `DIR/run-NNNN.xml` and `DIR/runs.tsv` (file, run id, commit,
//! timestamp: the flags of `hourglass ingest` for each file).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

use hourglass_insight::simulate::{SimulationConfig, simulate};
use hourglass_model::Outcome;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next().map(PathBuf::from) else {
        eprintln!("usage: flaky_history DIR [TESTS [RUNS [SEED]]]");
        std::process::exit(2);
    };
    let mut number = |default: usize| {
        args.next()
            .map_or(default, |text| text.parse().expect("a number"))
    };
    let (tests, runs, seed) = (number(10_000), number(100), number(42));
    let simulation = simulate(&SimulationConfig {
        seed: seed as u64,
        tests,
        runs,
        flaky_share: 0.03,
        breaking_share: 0.01,
        slowing_share: 0.02,
        ..SimulationConfig::default()
    });
    std::fs::create_dir_all(&dir)?;
    let mut manifest = std::fs::File::create(dir.join("runs.tsv"))?;
    let mut xml = String::new();
    for (index, run) in simulation.runs.iter().enumerate() {
        xml.clear();
        let _ = writeln!(
            xml,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n<testsuite name=\"generated\" tests=\"{tests}\">"
        );
        for test in &simulation.tests {
            let observation = test.observations[index];
            let time = observation
                .duration_s
                .map(|d| format!(" time=\"{d:.6}\""))
                .unwrap_or_default();
            let _ = write!(
                xml,
                "<testcase classname=\"{}\" name=\"{}\" file=\"src/{}.rs\"{time}",
                test.key.classname,
                test.key.name,
                test.key.classname.replace("::", "/"),
            );
            let _ = match observation.outcome {
                Outcome::Passed => writeln!(xml, "/>"),
                Outcome::Failed => writeln!(
                    xml,
                    "><failure message=\"assertion failed\" type=\"panic\">left != right</failure></testcase>"
                ),
                Outcome::Error => writeln!(
                    xml,
                    "><error message=\"runner lost\" type=\"infrastructure\"/></testcase>"
                ),
                Outcome::Flaky => writeln!(
                    xml,
                    "><flakyFailure message=\"timed out\" type=\"timeout\"/></testcase>"
                ),
                Outcome::Skipped => writeln!(xml, "><skipped/></testcase>"),
            };
        }
        xml.push_str("</testsuite>\n</testsuites>\n");
        let name = format!("run-{index:04}.xml");
        std::fs::write(dir.join(&name), &xml)?;
        writeln!(
            manifest,
            "{name}\t{}\t{}\t{}",
            run.run_id,
            run.commit.as_deref().unwrap_or(""),
            run.timestamp.as_deref().unwrap_or("")
        )?;
    }
    eprintln!(
        "{} results: {tests} tests x {runs} runs in {}",
        simulation.results(),
        dir.display()
    );
    Ok(())
}
