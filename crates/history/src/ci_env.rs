//! Run metadata from the environment variables CI services set.
//!
//! [`run_meta`] is a pure function over a lookup closure (pass
//! `|name| std::env::var(name).ok()` in a real process), so each service is
//! tested without touching the process environment.
//!
//! | service | commit | branch | run id | job |
//! |---|---|---|---|---|
//! | GitHub Actions | `GITHUB_SHA` | `GITHUB_HEAD_REF`, else `GITHUB_REF_NAME` | `GITHUB_RUN_ID`, `GITHUB_RUN_ATTEMPT` | `GITHUB_JOB` |
//! | GitLab CI | `CI_COMMIT_SHA` | `CI_COMMIT_REF_NAME` | `CI_PIPELINE_ID` | `CI_JOB_NAME` |
//! | Buildkite | `BUILDKITE_COMMIT` | `BUILDKITE_BRANCH` | `BUILDKITE_BUILD_ID` | `BUILDKITE_LABEL` |
//! | CircleCI | `CIRCLE_SHA1` | `CIRCLE_BRANCH` | `CIRCLE_WORKFLOW_ID` | `CIRCLE_JOB` |
//! | Jenkins | `GIT_COMMIT` | `BRANCH_NAME`, else `GIT_BRANCH` without `origin/` | `BUILD_TAG` | `JOB_NAME` |
//! | Azure Pipelines | `BUILD_SOURCEVERSION` | `BUILD_SOURCEBRANCHNAME` | `BUILD_BUILDID` | `SYSTEM_JOBNAME` |
//!
//! The run id is prefixed with the service and, when the job is known,
//! suffixed with it (`github:1234:1:test`): the jobs of one pipeline are
//! runs of their own, so that the same test in two jobs of a matrix is not
//! mistaken for a rerun. Empty variables count as unset. No timestamp is
//! read: CI services do not export one.

use hourglass_model::RunMeta;

/// A CI service hourglass reads metadata from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CiService {
    GitHubActions,
    GitLab,
    Buildkite,
    CircleCi,
    Jenkins,
    Azure,
}

impl CiService {
    pub fn as_str(self) -> &'static str {
        match self {
            CiService::GitHubActions => "github",
            CiService::GitLab => "gitlab",
            CiService::Buildkite => "buildkite",
            CiService::CircleCi => "circleci",
            CiService::Jenkins => "jenkins",
            CiService::Azure => "azure",
        }
    }
}

/// The CI service whose variables are set, if any.
pub fn detect(lookup: &dyn Fn(&str) -> Option<String>) -> Option<CiService> {
    let set = |name: &str| lookup(name).is_some_and(|value| !value.is_empty());
    if set("GITHUB_ACTIONS") || set("GITHUB_SHA") {
        Some(CiService::GitHubActions)
    } else if set("GITLAB_CI") || set("CI_COMMIT_SHA") {
        Some(CiService::GitLab)
    } else if set("BUILDKITE") || set("BUILDKITE_COMMIT") {
        Some(CiService::Buildkite)
    } else if set("CIRCLECI") || set("CIRCLE_SHA1") {
        Some(CiService::CircleCi)
    } else if set("TF_BUILD") || set("BUILD_SOURCEVERSION") {
        Some(CiService::Azure)
    } else if set("JENKINS_URL") || set("BUILD_TAG") || set("GIT_COMMIT") {
        Some(CiService::Jenkins)
    } else {
        None
    }
}

/// Run metadata from the CI service's variables; `None` outside CI. The
/// timestamp is always `None`.
pub fn run_meta(lookup: &dyn Fn(&str) -> Option<String>) -> Option<RunMeta> {
    let get = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
    let service = detect(lookup)?;
    let (commit, branch, run, job) = match service {
        CiService::GitHubActions => {
            let run = get("GITHUB_RUN_ID")
                .map(|id| format!("{id}:{}", get("GITHUB_RUN_ATTEMPT").unwrap_or("1".into())));
            (
                get("GITHUB_SHA"),
                get("GITHUB_HEAD_REF").or_else(|| get("GITHUB_REF_NAME")),
                run,
                get("GITHUB_JOB"),
            )
        }
        CiService::GitLab => (
            get("CI_COMMIT_SHA"),
            get("CI_COMMIT_REF_NAME"),
            get("CI_PIPELINE_ID"),
            get("CI_JOB_NAME"),
        ),
        CiService::Buildkite => (
            get("BUILDKITE_COMMIT"),
            get("BUILDKITE_BRANCH"),
            get("BUILDKITE_BUILD_ID"),
            get("BUILDKITE_LABEL"),
        ),
        CiService::CircleCi => (
            get("CIRCLE_SHA1"),
            get("CIRCLE_BRANCH"),
            get("CIRCLE_WORKFLOW_ID"),
            get("CIRCLE_JOB"),
        ),
        CiService::Jenkins => {
            let branch = get("BRANCH_NAME").or_else(|| {
                get("GIT_BRANCH").map(|branch| {
                    branch
                        .strip_prefix("origin/")
                        .map_or(branch.clone(), str::to_owned)
                })
            });
            (get("GIT_COMMIT"), branch, get("BUILD_TAG"), get("JOB_NAME"))
        }
        CiService::Azure => (
            get("BUILD_SOURCEVERSION"),
            get("BUILD_SOURCEBRANCHNAME"),
            get("BUILD_BUILDID"),
            get("SYSTEM_JOBNAME"),
        ),
    };
    let run_id = run.map(|run| match &job {
        Some(job) => format!("{}:{run}:{job}", service.as_str()),
        None => format!("{}:{run}", service.as_str()),
    });
    Some(RunMeta {
        run_id,
        commit,
        branch,
        timestamp: None,
        job,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn meta(vars: &[(&str, &str)]) -> Option<RunMeta> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        run_meta(&|name| vars.get(name).cloned())
    }

    fn expect(
        meta: Option<RunMeta>,
        run_id: &str,
        commit: &str,
        branch: &str,
        job: &str,
    ) -> RunMeta {
        let meta = meta.expect("a CI service is detected");
        assert_eq!(meta.run_id.as_deref(), Some(run_id));
        assert_eq!(meta.commit.as_deref(), Some(commit));
        assert_eq!(meta.branch.as_deref(), Some(branch));
        assert_eq!(meta.job.as_deref(), Some(job));
        assert_eq!(meta.timestamp, None);
        meta
    }

    #[test]
    fn outside_ci_there_is_nothing() {
        assert_eq!(meta(&[("HOME", "/root"), ("PATH", "/bin")]), None);
    }

    #[test]
    fn github_actions() {
        expect(
            meta(&[
                ("GITHUB_ACTIONS", "true"),
                ("GITHUB_SHA", "abc123"),
                ("GITHUB_REF_NAME", "main"),
                ("GITHUB_RUN_ID", "987"),
                ("GITHUB_RUN_ATTEMPT", "2"),
                ("GITHUB_JOB", "test"),
            ]),
            "github:987:2:test",
            "abc123",
            "main",
            "test",
        );
    }

    #[test]
    fn github_pull_requests_use_the_head_branch() {
        let meta = meta(&[
            ("GITHUB_SHA", "abc123"),
            ("GITHUB_REF_NAME", "12/merge"),
            ("GITHUB_HEAD_REF", "feature"),
            ("GITHUB_HEAD_REF_UNUSED", ""),
            ("GITHUB_RUN_ID", "5"),
        ])
        .unwrap();
        assert_eq!(meta.branch.as_deref(), Some("feature"));
        assert_eq!(meta.run_id.as_deref(), Some("github:5:1"));
    }

    #[test]
    fn gitlab() {
        expect(
            meta(&[
                ("GITLAB_CI", "true"),
                ("CI_COMMIT_SHA", "def"),
                ("CI_COMMIT_REF_NAME", "develop"),
                ("CI_PIPELINE_ID", "44"),
                ("CI_JOB_NAME", "unit"),
            ]),
            "gitlab:44:unit",
            "def",
            "develop",
            "unit",
        );
    }

    #[test]
    fn buildkite() {
        expect(
            meta(&[
                ("BUILDKITE", "true"),
                ("BUILDKITE_COMMIT", "c0"),
                ("BUILDKITE_BRANCH", "main"),
                ("BUILDKITE_BUILD_ID", "uuid-1"),
                ("BUILDKITE_LABEL", ":rust: tests"),
            ]),
            "buildkite:uuid-1::rust: tests",
            "c0",
            "main",
            ":rust: tests",
        );
    }

    #[test]
    fn circleci() {
        expect(
            meta(&[
                ("CIRCLECI", "true"),
                ("CIRCLE_SHA1", "c1"),
                ("CIRCLE_BRANCH", "topic"),
                ("CIRCLE_WORKFLOW_ID", "wf"),
                ("CIRCLE_JOB", "build"),
            ]),
            "circleci:wf:build",
            "c1",
            "topic",
            "build",
        );
    }

    #[test]
    fn jenkins_strips_the_remote_from_git_branch() {
        expect(
            meta(&[
                ("JENKINS_URL", "https://ci.example.com/"),
                ("GIT_COMMIT", "c2"),
                ("GIT_BRANCH", "origin/release"),
                ("BUILD_TAG", "jenkins-app-7"),
                ("JOB_NAME", "app"),
            ]),
            "jenkins:jenkins-app-7:app",
            "c2",
            "release",
            "app",
        );
        let multibranch = meta(&[
            ("BUILD_TAG", "jenkins-app-8"),
            ("GIT_COMMIT", "c3"),
            ("BRANCH_NAME", "PR-4"),
            ("GIT_BRANCH", "origin/other"),
            ("JOB_NAME", "app"),
        ])
        .unwrap();
        assert_eq!(multibranch.branch.as_deref(), Some("PR-4"));
    }

    #[test]
    fn azure() {
        expect(
            meta(&[
                ("TF_BUILD", "True"),
                ("BUILD_SOURCEVERSION", "c4"),
                ("BUILD_SOURCEBRANCHNAME", "main"),
                ("BUILD_BUILDID", "31"),
                ("SYSTEM_JOBNAME", "Job"),
            ]),
            "azure:31:Job",
            "c4",
            "main",
            "Job",
        );
    }

    #[test]
    fn empty_variables_count_as_unset() {
        let meta = meta(&[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_SHA", "abc"),
            ("GITHUB_RUN_ID", ""),
            ("GITHUB_JOB", ""),
        ])
        .unwrap();
        assert_eq!(meta.run_id, None);
        assert_eq!(meta.job, None);
        assert_eq!(meta.commit.as_deref(), Some("abc"));
    }
}
