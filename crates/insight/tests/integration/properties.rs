//! Properties that hold for any input.

use hourglass_insight::{
    Codeowners, FlakyAnalyzer, FlakySettings, Observation, Run, SlowAnalyzer, SlowSettings, Verdict,
};
use hourglass_model::{Outcome, TestKey};
use proptest::prelude::*;

fn outcome() -> impl Strategy<Value = Outcome> {
    prop::sample::select(Outcome::ALL.to_vec())
}

fn key() -> TestKey {
    TestKey {
        suite: "s".into(),
        classname: "c".into(),
        name: "t".into(),
    }
}

prop_compose! {
    fn history()(commits in prop::collection::vec(0u8..6, 0..60), tests in 0u32..30, failures in 0u32..30)
        (observations in prop::collection::vec(
            (0..commits.len() + 3, outcome(), prop::option::of(prop_oneof![Just(f64::NAN), Just(f64::INFINITY), -1.0..1e4f64])),
            0..80),
         commits in Just(commits), tests in Just(tests), failures in Just(failures))
        -> (Vec<Run>, Vec<Observation>)
    {
        let runs = commits.iter().enumerate().map(|(i, c)| Run {
            run_id: format!("r{i}"),
            commit: (*c > 0).then(|| format!("c{c}")),
            tests,
            failures: if i % 3 == 0 { failures } else { 0 },
            ..Run::default()
        }).collect();
        let observations = observations.into_iter().map(|(run, outcome, d)| Observation::new(run, outcome, d)).collect();
        (runs, observations)
    }
}

proptest! {
    #[test]
    fn verdicts_never_panic_and_scores_stay_in_the_unit_interval((runs, observations) in history()) {
        let analyzer = FlakyAnalyzer::new(FlakySettings::default(), &runs);
        let verdict = analyzer.analyze(&key(), &observations);
        prop_assert!((0.0..=1.0).contains(&verdict.score), "{}", verdict.score);
        prop_assert!((0.0..=1.0).contains(&verdict.confidence), "{}", verdict.confidence);
        prop_assert_eq!(verdict.breakage.is_some(), verdict.verdict == Verdict::Broken);
        prop_assert!(verdict.failures <= verdict.runs);
    }

    #[test]
    fn durations_never_panic_and_quantiles_are_ordered((runs, observations) in history()) {
        let analyzer = SlowAnalyzer::new(SlowSettings::default(), &runs);
        if let Some(timing) = analyzer.analyze(&key(), &observations) {
            prop_assert!(timing.p50_s <= timing.p95_s + 1e-9);
            prop_assert!(timing.p95_s <= timing.max_s + 1e-9);
            prop_assert!(timing.p50_s >= 0.0 && timing.total_s.is_finite());
            if let Some(regression) = timing.regression {
                prop_assert!(regression.factor >= 1.5);
                prop_assert!((0.0..=1.0).contains(&regression.p_value));
            }
        }
    }

    #[test]
    fn codeowners_parsing_never_panics(text in "[ -~\n\\[\\]@#/*\\\\^]{0,300}", path in "[a-z/.*]{0,30}") {
        let (codeowners, errors) = Codeowners::parse(&text);
        for error in &errors {
            prop_assert!(error.line().is_some_and(|line| line >= 1 && line <= text.lines().count()));
        }
        let _ = codeowners.owners_of(&path);
    }
}
