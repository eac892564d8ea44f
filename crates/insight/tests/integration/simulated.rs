//! Verdicts and regressions against the truth of seeded simulated histories.

use hourglass_insight::simulate::{Simulation, SimulationConfig, Truth, simulate};
use hourglass_insight::{
    FlakyAnalyzer, FlakySettings, SlowAnalyzer, SlowSettings, TestTiming, TestVerdict, Verdict,
};

const SEEDS: [u64; 5] = [1, 7, 42, 1234, 99_991];

fn analyze(sim: &Simulation) -> Vec<(Truth, TestVerdict, Option<TestTiming>)> {
    let flaky = FlakyAnalyzer::new(FlakySettings::default(), &sim.runs);
    let slow = SlowAnalyzer::new(SlowSettings::default(), &sim.runs)
        .excluding(flaky.infrastructure_failures());
    sim.tests
        .iter()
        .map(|test| {
            (
                test.truth,
                flaky.analyze(&test.key, &test.observations),
                slow.analyze(&test.key, &test.observations),
            )
        })
        .collect()
}

fn config(seed: u64, runs: usize) -> SimulationConfig {
    SimulationConfig {
        seed,
        runs,
        tests: 400,
        ..SimulationConfig::default()
    }
}

/// (true positives, flagged, actual) of the flaky verdict.
fn flaky_counts(results: &[(Truth, TestVerdict, Option<TestTiming>)]) -> (usize, usize, usize) {
    let is_flaky = |truth: &Truth| matches!(truth, Truth::Flaky { p } if *p >= 0.1);
    let flagged = results
        .iter()
        .filter(|r| r.1.verdict == Verdict::Flaky)
        .count();
    let actual = results.iter().filter(|r| is_flaky(&r.0)).count();
    let true_positives = results
        .iter()
        .filter(|r| r.1.verdict == Verdict::Flaky && is_flaky(&r.0))
        .count();
    (true_positives, flagged, actual)
}

fn check_flaky_precision_and_recall(runs: usize) {
    for seed in SEEDS {
        let sim = simulate(&config(seed, runs));
        let results = analyze(&sim);
        let (true_positives, flagged, actual) = flaky_counts(&results);
        assert!(
            actual >= 20,
            "seed {seed}: only {actual} flaky tests simulated"
        );
        let precision = true_positives as f64 / flagged as f64;
        let recall = true_positives as f64 / actual as f64;
        assert!(
            precision >= 0.9,
            "seed {seed}, {runs} runs: precision {precision:.3} ({true_positives}/{flagged})"
        );
        assert!(
            recall >= 0.9,
            "seed {seed}, {runs} runs: recall {recall:.3} ({true_positives}/{actual})"
        );
    }
}

#[test]
fn flaky_precision_and_recall_are_at_least_ninety_percent_over_sixty_runs() {
    check_flaky_precision_and_recall(60);
}

#[test]
fn flaky_precision_and_recall_are_at_least_ninety_percent_over_forty_runs() {
    check_flaky_precision_and_recall(40);
}

#[test]
fn every_breakage_is_broken_at_its_commit_and_run() {
    let mut seen = 0;
    for seed in SEEDS {
        let sim = simulate(&config(seed, 60));
        for (truth, verdict, _) in analyze(&sim) {
            let Truth::Breaks { at_run } = truth else {
                continue;
            };
            seen += 1;
            assert_eq!(verdict.verdict, Verdict::Broken, "seed {seed}: {verdict:?}");
            let breakage = verdict.breakage.as_ref().expect("breakage");
            assert_eq!(
                breakage.first_failing.index, at_run,
                "seed {seed}: {verdict:?}"
            );
            assert_eq!(verdict.since_commit(), sim.runs[at_run].commit.as_deref());
            let last_passing = breakage.last_passing.as_ref().expect("a pass before");
            assert!(last_passing.index < at_run);
            assert_ne!(last_passing.commit, sim.runs[at_run].commit);
        }
    }
    assert!(seen >= 20, "only {seen} breakages simulated");
}

#[test]
fn every_slowdown_is_found_at_its_run() {
    let mut seen = 0;
    for seed in SEEDS {
        let sim = simulate(&config(seed, 60));
        for ((truth, verdict, timing), test) in analyze(&sim).into_iter().zip(&sim.tests) {
            let Truth::Slows { at_run, factor } = truth else {
                continue;
            };
            seen += 1;
            // The first slow run with a known duration (an infrastructure
            // failure or a missing time hides a run): no tolerance beyond that.
            let first_known = test.observations[at_run..]
                .iter()
                .find(|o| o.duration_s.is_some() && !sim.infra_runs.contains(&o.run))
                .expect("a known duration after the slowdown")
                .run;
            let timing = timing.expect("durations");
            let regression = timing
                .regression
                .as_ref()
                .unwrap_or_else(|| panic!("seed {seed}: missed {timing:?}"));
            assert_eq!(
                regression.since.index, first_known,
                "seed {seed}, slowed at {at_run}: {regression:?}"
            );
            assert!(
                (regression.factor / factor - 1.0).abs() < 0.2,
                "factor {factor}: {regression:?}"
            );
            assert_eq!(verdict.verdict, Verdict::Healthy);
        }
    }
    assert!(seen >= 20, "only {seen} slowdowns simulated");
}

#[test]
fn healthy_tests_are_never_flaky_broken_or_slower() {
    for seed in SEEDS {
        for runs in [40, 60] {
            let sim = simulate(&config(seed, runs));
            for (truth, verdict, timing) in analyze(&sim) {
                if truth != Truth::Healthy {
                    continue;
                }
                assert_eq!(
                    verdict.verdict,
                    Verdict::Healthy,
                    "seed {seed}: {verdict:?}"
                );
                let timing = timing.expect("durations");
                assert!(timing.regression.is_none(), "seed {seed}: {timing:?}");
            }
        }
    }
}

#[test]
fn a_breakage_is_never_called_flaky_and_a_flaky_test_rarely_broken() {
    let mut flaky_as_broken = 0;
    let mut flaky = 0;
    for seed in SEEDS {
        let sim = simulate(&config(seed, 60));
        for (truth, verdict, _) in analyze(&sim) {
            match truth {
                Truth::Breaks { .. } => assert_ne!(verdict.verdict, Verdict::Flaky),
                Truth::Flaky { .. } => {
                    flaky += 1;
                    flaky_as_broken += usize::from(verdict.verdict == Verdict::Broken);
                }
                _ => {}
            }
        }
    }
    assert!(
        flaky_as_broken * 20 <= flaky,
        "{flaky_as_broken} of {flaky} flaky tests called broken"
    );
}

#[test]
fn the_infrastructure_failure_run_is_recognised() {
    for seed in SEEDS {
        let sim = simulate(&config(seed, 60));
        let analyzer = FlakyAnalyzer::new(FlakySettings::default(), &sim.runs);
        assert_eq!(
            analyzer.infrastructure_failures().collect::<Vec<_>>(),
            sim.infra_runs
        );
    }
}
