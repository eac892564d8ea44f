//! CI job records (GitHub Actions' and GitLab's jobs APIs) read from JSON.
//!
//! # What it reads
//!
//! - GitHub Actions, as `gh api repos/O/R/actions/runs/ID/jobs` writes it:
//!   an object with `jobs[]` (and `total_count`); a plain array of jobs; the
//!   concatenated pages `gh api --paginate` writes (`{...}{...}`), and the
//!   array of pages `--slurp` writes.
//! - GitLab, as `GET /projects/:id/jobs` or `.../pipelines/:id/jobs`
//!   returns it: an array of jobs; concatenated pages too.
//!
//! A job is GitHub's when it has `completed_at`, `run_id`, `head_sha` or
//! `runner_name`, GitLab's when it has `finished_at`, `pipeline`, `commit`
//! or `queued_duration`. Each job needs an `id`, a `name`, a `status` and a
//! `created_at`; times must be RFC 3339.
//!
//! # Errors
//!
//! The whole file is read before anything is stored, so a bad file stores
//! nothing. Invalid UTF-8 is reported at its byte, line and column; JSON
//! syntax errors (a truncated file among them) at serde_json's line and
//! column; a wrong shape at the line and column where the document holding
//! it starts, with the element path (`jobs[3].created_at`).

use std::path::{Path, PathBuf};

use hourglass_model::{CiJob, CiProvider};
use serde_json::{Map, Value};

use crate::timestamp_millis;

/// Why a file of CI jobs could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CiJobsError {
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}:{line}:{column}: not UTF-8 (byte {offset})", path.display())]
    NotUtf8 {
        path: PathBuf,
        line: u64,
        column: u64,
        offset: u64,
    },
    #[error("{}:{line}:{column}: {message}", path.display())]
    Malformed {
        path: PathBuf,
        line: u64,
        column: u64,
        message: String,
    },
    #[error("{}:{line}:{column}: {element}: {message}", path.display())]
    Shape {
        path: PathBuf,
        /// Where the JSON document holding the element starts.
        line: u64,
        column: u64,
        /// The element's path inside that document, e.g. `jobs[3].created_at`.
        element: String,
        message: String,
    },
    #[error("{}: no CI jobs found (expected GitHub's `jobs` or GitLab's job array)", path.display())]
    Empty { path: PathBuf },
}

/// Reads the CI jobs of the file at `path`.
pub fn read_file(path: &Path) -> Result<Vec<CiJob>, CiJobsError> {
    let bytes = std::fs::read(path).map_err(|source| CiJobsError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse(path, &bytes)
}

/// Reads CI jobs from `bytes`; `path` names the source in errors.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Vec<CiJob>, CiJobsError> {
    let text = std::str::from_utf8(bytes).map_err(|error| {
        let offset = error.valid_up_to();
        let (line, column) = line_column(&bytes[..offset]);
        CiJobsError::NotUtf8 {
            path: path.to_path_buf(),
            line,
            column,
            offset: offset as u64,
        }
    })?;
    let mut jobs = Vec::new();
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    loop {
        let rest = &text[stream.byte_offset()..];
        let skipped = rest.len() - rest.trim_start().len();
        let start = stream.byte_offset() + skipped;
        let Some(document) = stream.next() else {
            break;
        };
        let document = document.map_err(|error| CiJobsError::Malformed {
            path: path.to_path_buf(),
            line: error.line() as u64,
            column: error.column() as u64,
            message: without_position(&error.to_string()),
        })?;
        let (line, column) = line_column(&bytes[..start]);
        let shape = |element: String, message: String| CiJobsError::Shape {
            path: path.to_path_buf(),
            line,
            column,
            element,
            message,
        };
        read_document(&document, &mut jobs)
            .map_err(|(element, message)| shape(element, message))?;
    }
    if jobs.is_empty() && !has_empty_page(text) {
        return Err(CiJobsError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(jobs)
}

/// serde_json's message without its ` at line L column C`, which the error
/// carries in its own fields.
fn without_position(message: &str) -> String {
    match message.rsplit_once(" at line ") {
        Some((text, _)) => text.to_owned(),
        None => message.to_owned(),
    }
}

/// `{"total_count": 0, "jobs": []}` and `[]` are pages without jobs, not
/// files of another kind.
fn has_empty_page(text: &str) -> bool {
    serde_json::Deserializer::from_str(text)
        .into_iter::<Value>()
        .flatten()
        .any(|document| match document {
            Value::Array(items) => items.is_empty(),
            Value::Object(map) => map.get("jobs").and_then(Value::as_array).is_some(),
            _ => false,
        })
}

type ShapeError = (String, String);

fn read_document(document: &Value, jobs: &mut Vec<CiJob>) -> Result<(), ShapeError> {
    match document {
        Value::Object(map) if map.contains_key("jobs") => read_page(map, "", jobs),
        Value::Object(map) if map.contains_key("created_at") => {
            jobs.push(read_job(map, "")?);
            Ok(())
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                let at = format!("[{index}]");
                match item {
                    // `--slurp`: an array of pages.
                    Value::Object(map) if map.contains_key("jobs") => read_page(map, &at, jobs)?,
                    Value::Object(map) => jobs.push(read_job(map, &at)?),
                    other => {
                        return Err((at, format!("expected a job object, found {}", kind(other))));
                    }
                }
            }
            Ok(())
        }
        Value::Object(_) => Err((
            "(document)".to_owned(),
            "an object without `jobs`: expected GitHub's jobs page or a job array".to_owned(),
        )),
        other => Err((
            "(document)".to_owned(),
            format!(
                "expected an object with `jobs` or an array of jobs, found {}",
                kind(other)
            ),
        )),
    }
}

fn read_page(page: &Map<String, Value>, at: &str, jobs: &mut Vec<CiJob>) -> Result<(), ShapeError> {
    let Some(items) = page.get("jobs").and_then(Value::as_array) else {
        return Err((
            format!("{at}jobs").trim_start_matches('.').to_owned(),
            "expected an array".to_owned(),
        ));
    };
    for (index, item) in items.iter().enumerate() {
        let at = join(at, &format!("jobs[{index}]"));
        match item {
            Value::Object(map) => jobs.push(read_job(map, &at)?),
            other => return Err((at, format!("expected a job object, found {}", kind(other)))),
        }
    }
    Ok(())
}

fn join(at: &str, field: &str) -> String {
    if at.is_empty() {
        field.to_owned()
    } else {
        format!("{at}.{field}")
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn read_job(job: &Map<String, Value>, at: &str) -> Result<CiJob, ShapeError> {
    let gitlab = ["finished_at", "pipeline", "commit", "queued_duration"]
        .iter()
        .any(|key| job.contains_key(*key));
    let github = ["completed_at", "run_id", "head_sha", "runner_name"]
        .iter()
        .any(|key| job.contains_key(*key));
    let provider = match (github, gitlab) {
        (true, false) => CiProvider::GitHub,
        (false, true) => CiProvider::GitLab,
        (true, true) => {
            return Err((
                at_or_job(at),
                "has both GitHub (`completed_at`, `run_id`) and GitLab (`finished_at`, `pipeline`) fields".to_owned(),
            ));
        }
        (false, false) => {
            return Err((
                at_or_job(at),
                "neither a GitHub job (`completed_at`, `run_id`) nor a GitLab job (`finished_at`, `pipeline`)".to_owned(),
            ));
        }
    };
    let field = |name: &str| join(at, name);
    let id = match job.get("id") {
        Some(Value::Number(number)) => number.to_string(),
        Some(Value::String(text)) if !text.is_empty() => text.clone(),
        Some(other) => {
            return Err((
                field("id"),
                format!("expected a number, found {}", kind(other)),
            ));
        }
        None => return Err((field("id"), "missing".to_owned())),
    };
    let name = required_string(job, "name", at)?;
    let status = required_string(job, "status", at)?;
    let created_at =
        time(job, "created_at", at)?.ok_or((field("created_at"), "missing".to_owned()))?;
    let started_at = time(job, "started_at", at)?;
    let (finished_at, pipeline_id, commit, runner, conclusion, queued_s) = match provider {
        CiProvider::GitHub => (
            time(job, "completed_at", at)?,
            id_of(job.get("run_id"), &field("run_id"))?,
            optional_string(job, "head_sha", at)?,
            optional_string(job, "runner_name", at)?.filter(|name| !name.is_empty()),
            optional_string(job, "conclusion", at)?,
            None,
        ),
        CiProvider::GitLab => {
            let pipeline = match job.get("pipeline") {
                Some(Value::Object(pipeline)) => id_of(pipeline.get("id"), &field("pipeline.id"))?,
                None | Some(Value::Null) => None,
                Some(other) => {
                    return Err((
                        field("pipeline"),
                        format!("expected an object, found {}", kind(other)),
                    ));
                }
            };
            let commit = match job.get("commit") {
                Some(Value::Object(commit)) => optional_string(commit, "id", &field("commit"))?,
                None | Some(Value::Null) => None,
                Some(other) => {
                    return Err((
                        field("commit"),
                        format!("expected an object, found {}", kind(other)),
                    ));
                }
            };
            let runner = match job.get("runner") {
                Some(Value::Object(runner)) => {
                    match optional_string(runner, "description", &field("runner"))?
                        .filter(|d| !d.is_empty())
                    {
                        Some(description) => Some(description),
                        None => id_of(runner.get("id"), &field("runner.id"))?,
                    }
                }
                None | Some(Value::Null) => None,
                Some(other) => {
                    return Err((
                        field("runner"),
                        format!("expected an object, found {}", kind(other)),
                    ));
                }
            };
            let queued = match job.get("queued_duration") {
                Some(Value::Number(number)) => number.as_f64().filter(|s| *s >= 0.0),
                None | Some(Value::Null) => None,
                Some(other) => {
                    return Err((
                        field("queued_duration"),
                        format!("expected a number, found {}", kind(other)),
                    ));
                }
            };
            (
                time(job, "finished_at", at)?,
                pipeline,
                commit,
                runner,
                None,
                queued,
            )
        }
    };
    Ok(CiJob {
        provider,
        job_id: id,
        pipeline_id,
        commit,
        name,
        runner,
        status,
        conclusion,
        created_at,
        started_at,
        finished_at,
        queued_s,
    })
}

fn at_or_job(at: &str) -> String {
    if at.is_empty() {
        "(job)".to_owned()
    } else {
        at.to_owned()
    }
}

fn id_of(value: Option<&Value>, at: &str) -> Result<Option<String>, ShapeError> {
    match value {
        Some(Value::Number(number)) => Ok(Some(number.to_string())),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        None | Some(Value::Null) => Ok(None),
        Some(other) => Err((
            at.to_owned(),
            format!("expected a number, found {}", kind(other)),
        )),
    }
}

fn optional_string(
    job: &Map<String, Value>,
    name: &str,
    at: &str,
) -> Result<Option<String>, ShapeError> {
    match job.get(name) {
        Some(Value::String(text)) => Ok(Some(text.clone())),
        None | Some(Value::Null) => Ok(None),
        Some(other) => Err((
            join(at, name),
            format!("expected a string, found {}", kind(other)),
        )),
    }
}

fn required_string(job: &Map<String, Value>, name: &str, at: &str) -> Result<String, ShapeError> {
    optional_string(job, name, at)?.ok_or_else(|| (join(at, name), "missing".to_owned()))
}

fn time(job: &Map<String, Value>, name: &str, at: &str) -> Result<Option<String>, ShapeError> {
    let Some(text) = optional_string(job, name, at)? else {
        return Ok(None);
    };
    if timestamp_millis(&text).is_none() {
        return Err((join(at, name), format!("{text:?} is not an RFC 3339 time")));
    }
    Ok(Some(text))
}

/// 1-based line and column (in characters) at the end of `before`.
fn line_column(before: &[u8]) -> (u64, u64) {
    let line = before.split(|&b| b == b'\n').count() as u64;
    let start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |nl| nl + 1);
    let column = String::from_utf8_lossy(&before[start..]).chars().count() as u64 + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Result<Vec<CiJob>, CiJobsError> {
        parse(Path::new("jobs.json"), text.as_bytes())
    }

    const GITHUB_JOB: &str = r#"{"id": 21, "run_id": 5, "head_sha": "009b8a3a", "name": "test",
        "status": "completed", "conclusion": "success", "runner_name": "ubuntu-1",
        "created_at": "2026-03-02T10:00:00Z", "started_at": "2026-03-02T10:02:00Z",
        "completed_at": "2026-03-02T10:12:00Z"}"#;

    #[test]
    fn reads_a_github_page_a_plain_array_and_concatenated_pages() {
        let page = format!(r#"{{"total_count": 1, "jobs": [{GITHUB_JOB}]}}"#);
        let one = parse_text(&page).unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].provider, CiProvider::GitHub);
        assert_eq!(one[0].job_id, "21");
        assert_eq!(one[0].pipeline_id.as_deref(), Some("5"));
        assert_eq!(one[0].runner.as_deref(), Some("ubuntu-1"));
        assert_eq!(one[0].finished_at.as_deref(), Some("2026-03-02T10:12:00Z"));
        assert_eq!(parse_text(&format!("[{GITHUB_JOB}]")).unwrap(), one);
        let two = parse_text(&format!("{page}\n{page}")).unwrap();
        assert_eq!(two.len(), 2);
        let slurped = parse_text(&format!("[{page}, {page}]")).unwrap();
        assert_eq!(slurped.len(), 2);
    }

    #[test]
    fn reads_gitlab_jobs_with_their_queue_time() {
        let text = r#"[{"id": 7, "name": "rspec", "status": "success",
            "created_at": "2026-03-02T10:00:00.000Z", "started_at": "2026-03-02T10:05:00.000Z",
            "finished_at": "2026-03-02T10:15:00.000Z", "duration": 600.0, "queued_duration": 42.5,
            "commit": {"id": "0ff3ae19"}, "pipeline": {"id": 6},
            "runner": {"id": 32, "description": "shared-1"}}]"#;
        let jobs = parse_text(text).unwrap();
        assert_eq!(jobs[0].provider, CiProvider::GitLab);
        assert_eq!(jobs[0].queued_s, Some(42.5));
        assert_eq!(jobs[0].commit.as_deref(), Some("0ff3ae19"));
        assert_eq!(jobs[0].pipeline_id.as_deref(), Some("6"));
        assert_eq!(jobs[0].runner.as_deref(), Some("shared-1"));
    }

    #[test]
    fn a_truncated_file_is_malformed_at_its_end() {
        let page = format!(r#"{{"total_count": 1, "jobs": [{GITHUB_JOB}]}}"#);
        let cut = &page[..page.len() - 10];
        match parse_text(cut).unwrap_err() {
            CiJobsError::Malformed { line, .. } => assert_eq!(line, 4),
            other => panic!("{other}"),
        }
    }

    #[test]
    fn non_utf8_is_reported_at_its_line_and_column() {
        let mut bytes = b"[\n  {\"name\": \"t".to_vec();
        bytes.push(0xff);
        bytes.extend_from_slice(b"\"}]");
        match parse(Path::new("x.json"), &bytes).unwrap_err() {
            CiJobsError::NotUtf8 {
                line,
                column,
                offset,
                ..
            } => {
                assert_eq!((line, column, offset), (2, 14, 15));
            }
            other => panic!("{other}"),
        }
    }

    #[test]
    fn a_wrong_shape_names_the_element_and_the_document() {
        let bad = GITHUB_JOB.replace(r#""created_at": "2026-03-02T10:00:00Z","#, "");
        let text = format!("{{\"jobs\": []}}\n{{\"jobs\": [{GITHUB_JOB}, {bad}]}}");
        let error = parse_text(&text).unwrap_err();
        match &error {
            CiJobsError::Shape {
                line,
                column,
                element,
                message,
                ..
            } => {
                assert_eq!((*line, *column), (2, 1));
                assert_eq!(element, "jobs[1].created_at");
                assert_eq!(message, "missing");
            }
            other => panic!("{other}"),
        }
        assert!(
            error
                .to_string()
                .starts_with("jobs.json:2:1: jobs[1].created_at"),
            "{error}"
        );
    }

    #[test]
    fn other_json_is_not_taken_for_jobs() {
        assert!(matches!(
            parse_text(r#"{"workflow_runs": []}"#),
            Err(CiJobsError::Shape { .. })
        ));
        assert!(matches!(parse_text("42"), Err(CiJobsError::Shape { .. })));
        assert!(matches!(parse_text(""), Err(CiJobsError::Empty { .. })));
        assert!(matches!(
            parse_text(r#"[{"id": 1, "name": "x"}]"#),
            Err(CiJobsError::Shape { .. })
        ));
        let bad_time = GITHUB_JOB.replace("2026-03-02T10:02:00Z", "yesterday");
        assert!(
            matches!(parse_text(&bad_time), Err(CiJobsError::Shape { element, .. }) if element == "started_at")
        );
        assert_eq!(
            parse_text(r#"{"total_count": 0, "jobs": []}"#).unwrap(),
            vec![]
        );
    }
}
