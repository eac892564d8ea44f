//! CI jobs: when a job was created, started and finished, and where it ran.

use serde::{Deserialize, Serialize};

/// The CI service a job record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CiProvider {
    /// GitHub Actions (`GET /repos/{owner}/{repo}/actions/runs/{run_id}/jobs`).
    GitHub,
    /// GitLab CI (`GET /projects/:id/jobs`, `GET /projects/:id/pipelines/:pipeline_id/jobs`).
    GitLab,
}

impl CiProvider {
    pub fn as_str(self) -> &'static str {
        match self {
            CiProvider::GitHub => "github",
            CiProvider::GitLab => "gitlab",
        }
    }

    pub fn parse(text: &str) -> Option<CiProvider> {
        match text {
            "github" => Some(CiProvider::GitHub),
            "gitlab" => Some(CiProvider::GitLab),
            _ => None,
        }
    }
}

/// One CI job as its service reports it. Times are RFC 3339 text as given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CiJob {
    pub provider: CiProvider,
    /// The job's id at its service (unique per provider).
    pub job_id: String,
    /// The workflow run (GitHub `run_id`) or pipeline (GitLab `pipeline.id`).
    pub pipeline_id: Option<String>,
    /// The commit the job ran on (GitHub `head_sha`, GitLab `commit.id`).
    pub commit: Option<String>,
    pub name: String,
    /// The runner's name (GitHub `runner_name`, GitLab `runner.description`,
    /// else `runner.id`); absent while queued.
    pub runner: Option<String>,
    /// `queued`, `in_progress`, `completed` (GitHub); `success`, `failed`,
    /// `running`, `pending`, `canceled`, ... (GitLab).
    pub status: String,
    /// GitHub's `conclusion` (`success`, `failure`, ...); GitLab has none.
    pub conclusion: Option<String>,
    pub created_at: String,
    pub started_at: Option<String>,
    /// GitHub `completed_at`, GitLab `finished_at`.
    pub finished_at: Option<String>,
    /// Seconds the job waited for a runner as the service measured it
    /// (GitLab `queued_duration`); GitHub reports none.
    pub queued_s: Option<f64>,
}
