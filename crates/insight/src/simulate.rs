//! Seeded histories with a known truth, for correctness tests and benches.
//!
//! [`simulate`] makes a window of runs and, per test, a series of results
//! drawn from a known behaviour ([`Truth`]): healthy, flaky with failure
//! probability `p`, broken from a known run on, or slowed down by a known
//! factor from a known run on. The runs include CI re-runs of the same
//! commit, runs with retries enabled (a flaky test that fails, then passes
//! on the retry, is `flaky`) and infrastructure failures (every test errors,
//! durations unknown). The random numbers come from SplitMix64, so a seed
//! always gives the same history.

use hourglass_model::{Outcome, TestKey};

use crate::series::{Observation, Run};

/// The SplitMix64 generator (Steele, Lea and Flood, 2014).
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in \[0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in \[low, high).
    pub fn range(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.next_f64()
    }

    /// Uniform in `low..high` (`low` when the range is empty).
    pub fn index(&mut self, low: usize, high: usize) -> usize {
        if high <= low {
            return low;
        }
        low + (self.next_u64() % (high - low) as u64) as usize
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.next_f64() < p
    }

    /// A standard normal draw (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u = self.next_f64().max(f64::MIN_POSITIVE);
        let v = self.next_f64();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// How a simulated test behaves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Truth {
    Healthy,
    /// Fails each run with probability `p`, independently.
    Flaky {
        p: f64,
    },
    /// Passes before run `at_run`, fails from it on.
    Breaks {
        at_run: usize,
    },
    /// Takes `factor` times longer from run `at_run` on.
    Slows {
        at_run: usize,
        factor: f64,
    },
}

/// The shape of a simulated history.
#[derive(Debug, Clone, PartialEq)]
pub struct SimulationConfig {
    pub seed: u64,
    pub tests: usize,
    pub runs: usize,
    /// Share of flaky tests.
    pub flaky_share: f64,
    /// Failure probability range of flaky tests.
    pub flaky_p: (f64, f64),
    /// Share of tests that break during the window.
    pub breaking_share: f64,
    /// Share of tests that slow down during the window.
    pub slowing_share: f64,
    /// Share of runs that re-run the previous run's commit.
    pub rerun_share: f64,
    /// Share of runs with retries enabled.
    pub retry_share: f64,
    /// Infrastructure-failure runs.
    pub infra_runs: usize,
    /// Share of results without a duration.
    pub unknown_duration_share: f64,
    /// Standard deviation of the log-normal duration noise.
    pub duration_noise: f64,
}

impl Default for SimulationConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            tests: 200,
            runs: 60,
            flaky_share: 0.1,
            flaky_p: (0.1, 0.5),
            breaking_share: 0.05,
            slowing_share: 0.05,
            rerun_share: 0.15,
            retry_share: 0.3,
            infra_runs: 1,
            unknown_duration_share: 0.01,
            duration_noise: 0.1,
        }
    }
}

/// One simulated test.
#[derive(Debug, Clone)]
pub struct SimulatedTest {
    pub key: TestKey,
    pub truth: Truth,
    pub observations: Vec<Observation>,
}

/// A simulated window.
#[derive(Debug, Clone)]
pub struct Simulation {
    pub runs: Vec<Run>,
    pub tests: Vec<SimulatedTest>,
    /// Indices of the infrastructure-failure runs.
    pub infra_runs: Vec<usize>,
}

impl Simulation {
    /// Results in the whole window.
    pub fn results(&self) -> usize {
        self.tests.iter().map(|t| t.observations.len()).sum()
    }
}

/// Draws a history from `config`.
pub fn simulate(config: &SimulationConfig) -> Simulation {
    let mut rng = SplitMix64::new(config.seed);
    let n_runs = config.runs;

    // Runs and their commits; a re-run repeats the previous commit.
    let mut commit_of_run = Vec::with_capacity(n_runs);
    let mut commits = 0usize;
    for run in 0..n_runs {
        if run > 0 && rng.chance(config.rerun_share) {
            commit_of_run.push(commit_of_run[run - 1]);
        } else {
            commit_of_run.push(commits);
            commits += 1;
        }
    }
    let retries: Vec<bool> = (0..n_runs)
        .map(|_| rng.chance(config.retry_share))
        .collect();
    let mut infra_runs = Vec::new();
    while infra_runs.len() < config.infra_runs.min(n_runs / 4) {
        let run = rng.index(n_runs / 3, n_runs.saturating_sub(6).max(n_runs / 3 + 1));
        if !infra_runs.contains(&run) {
            infra_runs.push(run);
        }
    }
    infra_runs.sort_unstable();
    let is_infra = |run: usize| infra_runs.contains(&run);
    // Runs starting a new commit, where a breakage can begin.
    let new_commit_runs: Vec<usize> = (n_runs / 4..n_runs.saturating_sub(6))
        .filter(|&run| run > 0 && commit_of_run[run] != commit_of_run[run - 1] && !is_infra(run))
        .collect();

    let mut failures = vec![0u32; n_runs];
    let mut tests = Vec::with_capacity(config.tests);
    for index in 0..config.tests {
        let draw = rng.next_f64();
        let truth = if draw < config.flaky_share {
            Truth::Flaky {
                p: rng.range(config.flaky_p.0, config.flaky_p.1),
            }
        } else if draw < config.flaky_share + config.breaking_share && !new_commit_runs.is_empty() {
            Truth::Breaks {
                at_run: new_commit_runs[rng.index(0, new_commit_runs.len())],
            }
        } else if draw < config.flaky_share + config.breaking_share + config.slowing_share
            && n_runs >= 20
        {
            Truth::Slows {
                at_run: rng.index(n_runs / 4, n_runs - n_runs / 4),
                factor: rng.range(2.0, 4.0),
            }
        } else {
            Truth::Healthy
        };
        let base = match truth {
            Truth::Slows { .. } => rng.range(0.1, 5.0),
            _ => (rng.range(0.01f64.ln(), 5.0f64.ln())).exp(),
        };
        let mut observations = Vec::with_capacity(n_runs);
        for run in 0..n_runs {
            let noise = (config.duration_noise * rng.normal()).exp();
            let mut duration = base * noise;
            let outcome = if is_infra(run) {
                Outcome::Error
            } else {
                match truth {
                    Truth::Healthy => Outcome::Passed,
                    Truth::Flaky { p } => {
                        if !rng.chance(p) {
                            Outcome::Passed
                        } else if retries[run] && !rng.chance(p) {
                            Outcome::Flaky
                        } else {
                            Outcome::Failed
                        }
                    }
                    Truth::Breaks { at_run } => {
                        if run >= at_run {
                            Outcome::Failed
                        } else {
                            Outcome::Passed
                        }
                    }
                    Truth::Slows { at_run, factor } => {
                        if run >= at_run {
                            duration *= factor;
                        }
                        Outcome::Passed
                    }
                }
            };
            if outcome.is_failure() {
                failures[run] += 1;
            }
            let duration = if is_infra(run) || rng.chance(config.unknown_duration_share) {
                None
            } else {
                Some(duration)
            };
            observations.push(Observation::new(run, outcome, duration));
        }
        tests.push(SimulatedTest {
            key: TestKey {
                suite: format!("suite{}", index % 17),
                classname: format!("pkg{}::module{}", index % 17, index % 5),
                name: format!("test_{index:05}"),
            },
            truth,
            observations,
        });
    }
    let runs = (0..n_runs)
        .map(|run| Run {
            run_id: format!("run-{run:04}"),
            commit: Some(format!(
                "{:040x}",
                commit_of_run[run] as u128 * 0x9E37_79B9_7F4A_7C15 + 1
            )),
            branch: Some("main".into()),
            timestamp: Some(format!(
                "2026-01-{:02}T{:02}:00:00Z",
                1 + run / 24 % 28,
                run % 24
            )),
            tests: config.tests as u32,
            failures: failures[run],
        })
        .collect();
    Simulation {
        runs,
        tests,
        infra_runs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_gives_the_same_history() {
        let config = SimulationConfig::default();
        let a = simulate(&config);
        let b = simulate(&config);
        assert_eq!(a.runs, b.runs);
        assert_eq!(a.tests[17].observations, b.tests[17].observations);
        let other = simulate(&SimulationConfig { seed: 2, ..config });
        assert_ne!(a.runs, other.runs);
    }

    #[test]
    fn the_history_has_every_kind_of_test_and_run() {
        let sim = simulate(&SimulationConfig::default());
        assert_eq!(sim.results(), 200 * 60);
        assert!(
            sim.tests
                .iter()
                .any(|t| matches!(t.truth, Truth::Flaky { .. }))
        );
        assert!(
            sim.tests
                .iter()
                .any(|t| matches!(t.truth, Truth::Breaks { .. }))
        );
        assert!(
            sim.tests
                .iter()
                .any(|t| matches!(t.truth, Truth::Slows { .. }))
        );
        assert_eq!(sim.infra_runs.len(), 1);
        let reruns = sim
            .runs
            .windows(2)
            .filter(|w| w[0].commit == w[1].commit)
            .count();
        assert!(reruns > 0);
    }
}
