//! A coverage run: the workspace built with coverage instrumentation, every
//! test process profiled on its own, and the profiles reduced to a
//! [`CoverageMap`].
//!
//! - [`Work::prepare`] writes two scripts. `instrument-rustc`, the
//!   `RUSTC_WORKSPACE_WRAPPER`, adds `-C instrument-coverage` to the
//!   workspace's crates (not to build scripts and proc macros, which run
//!   while building). `runner`, the cargo target runner, hands every test
//!   process to `hourglass coverage exec`.
//! - [`exec`] runs one test process with `LLVM_PROFILE_FILE` naming a file
//!   of its own (`%p`, so that processes the test starts write theirs
//!   beside it), waits, and reduces each profile written to the indexes of
//!   the functions that ran (a few kilobytes; the profile itself is
//!   deleted). The first profile of each binary is kept as that binary's
//!   reference: the records are in the same order in every run of a
//!   binary, so one copy gives the names of all.
//! - [`reduce`] turns the references and the per-test records into a map.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::Command;

use rustc_hash::FxHashMap;

use crate::CoverageMap;
use crate::map::{Failure, MapBuilder, Reader, close_frame, put, put_set, put_str};
use crate::profraw;
use crate::symbol;

/// The environment variable that gives the target runner the work folder.
pub const WORK_ENV: &str = "HOURGLASS_COVERAGE_WORK";

const HITS_MAGIC: &[u8] = b"HGHIT1\n";

/// A coverage run's scratch folder: `raw/` (profiles being written),
/// `hits/` (one record per test process), `bins/` (one reference profile
/// per binary), `stray/` (profiles of processes that are not a test run).
#[derive(Debug, Clone)]
pub struct Work {
    pub root: PathBuf,
}

/// What went wrong in a coverage run.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Profile {
        path: String,
        source: profraw::ProfileError,
    },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> CollectError + '_ {
    move |source| CollectError::Io {
        path: path.display().to_string(),
        source,
    }
}

impl Work {
    /// Creates the folders and the two scripts; returns (the rustc
    /// wrapper, the target runner). The wrapper lives in the target dir
    /// (`<target>/hourglass/instrument-rustc`): cargo keys its builds on
    /// the wrapper's path, so a fixed one lets a second run reuse the
    /// first's build.
    pub fn prepare(
        root: &Path,
        target_dir: &Path,
        hourglass: &Path,
    ) -> Result<(Self, PathBuf, PathBuf), CollectError> {
        for sub in ["raw", "hits", "bins", "stray"] {
            let dir = root.join(sub);
            std::fs::create_dir_all(&dir).map_err(io_error(&dir))?;
        }
        let wrapper = target_dir.join("hourglass").join("instrument-rustc");
        write_script(
            &wrapper,
            "# Written by `hourglass coverage`: rustc for the workspace's crates, with\n\
             # coverage instrumentation, except build scripts and proc macros (they run\n\
             # while building, not in the tests).\n\
             for arg in \"$@\"; do\n    case \"$arg\" in\n        build_script_build | proc-macro) exec \"$@\" ;;\n    esac\ndone\n\
             exec \"$@\" -C instrument-coverage\n",
        )?;
        let runner = root.join("runner");
        write_script(
            &runner,
            &format!(
                "# Written by `hourglass coverage`: every test process through the profiler.\n\
                 exec {} coverage exec \"$@\"\n",
                shell_quote(&hourglass.display().to_string())
            ),
        )?;
        Ok((
            Self {
                root: root.to_owned(),
            },
            wrapper,
            runner,
        ))
    }

    /// The environment of the nextest run: the wrapper, the runner for the
    /// host, and a place for profiles of processes that are not test runs.
    pub fn environment(
        &self,
        wrapper: &Path,
        runner: &Path,
        host: &str,
    ) -> Vec<(OsString, OsString)> {
        let runner_variable = format!(
            "CARGO_TARGET_{}_RUNNER",
            host.to_uppercase().replace(['-', '.'], "_")
        );
        vec![
            ("RUSTC_WORKSPACE_WRAPPER".into(), wrapper.into()),
            (runner_variable.into(), runner.into()),
            (WORK_ENV.into(), self.root.clone().into()),
            (
                "LLVM_PROFILE_FILE".into(),
                self.root.join("stray").join("%p.profraw").into(),
            ),
        ]
    }
}

fn write_script(path: &Path, body: &str) -> Result<(), CollectError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    }
    std::fs::write(path, format!("#!/bin/sh\n{body}")).map_err(io_error(path))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
            .map_err(io_error(path))?;
    }
    Ok(())
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// The target runner: runs `program args` and, for a nextest test run,
/// records what its profiles say. Returns the exit code to pass on (128 +
/// the signal for a process a signal ended).
pub fn exec(work: &Path, program: &OsStr, args: &[OsString]) -> Result<i32, CollectError> {
    let binary_id = std::env::var("NEXTEST_BINARY_ID").ok();
    let name = std::env::var("NEXTEST_TEST_NAME").ok();
    let running = std::env::var("NEXTEST_TEST_PHASE").is_ok_and(|phase| phase == "run");
    let (Some(binary_id), Some(name), true) = (binary_id, name, running) else {
        let status = Command::new(program)
            .args(args)
            .status()
            .map_err(io_error(Path::new(program)))?;
        return Ok(exit_code(status));
    };
    let token = format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos())
    );
    let raw = work.join("raw");
    let status = Command::new(program)
        .args(args)
        .env("LLVM_PROFILE_FILE", raw.join(format!("{token}-%p.profraw")))
        .status()
        .map_err(io_error(Path::new(program)))?;
    let mut profiles = Vec::new();
    let mut complete = status.success();
    let prefix = format!("{token}-");
    for entry in std::fs::read_dir(&raw).map_err(io_error(&raw))? {
        let entry = entry.map_err(io_error(&raw))?;
        if !entry.file_name().to_string_lossy().starts_with(&prefix) {
            continue;
        }
        let path = entry.path();
        match profile_hits(&path) {
            Ok((build_id, records, ran)) => {
                profiles.push((build_id.clone(), records, ran));
                let reference = work.join("bins").join(format!("{build_id}.profraw"));
                // The first profile of a binary becomes its reference; a
                // link fails when another runner made it first.
                let _ = std::fs::hard_link(&path, &reference);
            }
            Err(_) => complete = false,
        }
        let _ = std::fs::remove_file(&path);
    }
    let mut out = HITS_MAGIC.to_vec();
    put_str(&mut out, &binary_id);
    put_str(&mut out, &name);
    put(&mut out, u64::from(complete && !profiles.is_empty()));
    put(&mut out, profiles.len() as u64);
    for (build_id, records, ran) in &profiles {
        put_str(&mut out, build_id);
        put(&mut out, *records as u64);
        put_set(&mut out, ran);
    }
    close_frame(&mut out);
    let hits = work.join("hits");
    let partial = hits.join(format!(".{token}"));
    std::fs::write(&partial, &out).map_err(io_error(&partial))?;
    let done = hits.join(format!("{token}.hits"));
    std::fs::rename(&partial, &done).map_err(io_error(&done))?;
    Ok(exit_code(status))
}

fn exit_code(status: std::process::ExitStatus) -> i32 {
    if let Some(code) = status.code() {
        return code;
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return 128 + signal;
        }
    }
    1
}

/// A profile's binary, its record count, and the indexes of the records
/// that ran.
fn profile_hits(path: &Path) -> Result<(String, usize, Vec<u32>), CollectError> {
    let bytes = std::fs::read(path).map_err(io_error(path))?;
    let profile_error = |source| CollectError::Profile {
        path: path.display().to_string(),
        source,
    };
    let functions = profraw::parse_functions(&bytes).map_err(profile_error)?;
    let build_id = binary_identity(&bytes, &functions).map_err(profile_error)?;
    let ran = functions
        .iter()
        .enumerate()
        .filter(|(_, function)| function.ran)
        .map(|(index, _)| index as u32)
        .collect();
    Ok((build_id, functions.len(), ran))
}

/// The binary's build id, or for one linked without, a digest of its
/// function records (the same in every run of the binary).
fn binary_identity(
    bytes: &[u8],
    functions: &[profraw::Function],
) -> Result<String, profraw::ProfileError> {
    if let Some(id) = profraw::binary_ids(bytes)?.into_iter().next() {
        return Ok(id);
    }
    let mut records = Vec::with_capacity(functions.len() * 16);
    for function in functions {
        records.extend_from_slice(&function.name_ref.to_le_bytes());
        records.extend_from_slice(&function.hash.to_le_bytes());
    }
    Ok(format!("records-{:016x}", profraw::name_ref(&records)))
}

/// What [`reduce`] found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReduceStats {
    pub binaries: usize,
    pub tests: usize,
    /// Tests that failed, or whose profiles were missing or unreadable:
    /// the map keeps them as unknown.
    pub uncovered: usize,
    pub keys: usize,
}

/// Reads the work folder of a finished run into a map for `commit`.
pub fn reduce(work: &Path, commit: &str) -> Result<(CoverageMap, ReduceStats), CollectError> {
    let mut builder = MapBuilder::new(commit);
    let mut stats = ReduceStats::default();
    // Build id → (builder's binary id, the keys of each record).
    let mut references: FxHashMap<String, (u32, Vec<Vec<u32>>)> = FxHashMap::default();
    let bins = work.join("bins");
    for path in sorted_files(&bins, "profraw")? {
        let bytes = std::fs::read(&path).map_err(io_error(&path))?;
        let profile = profraw::parse(&bytes).map_err(|source| CollectError::Profile {
            path: path.display().to_string(),
            source,
        })?;
        let build_id = path
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_default();
        let binary = builder.binary(&build_id);
        let names = profile.name_map();
        let mut record_keys = Vec::with_capacity(profile.functions.len());
        for function in &profile.functions {
            let keys: Vec<u32> = if function.counters == 0 {
                Vec::new()
            } else {
                names
                    .get(&function.name_ref)
                    .map(|name| symbol::keys(name))
                    .unwrap_or_default()
                    .iter()
                    .map(|key| builder.key(key))
                    .collect()
            };
            for key in &keys {
                builder.holds(binary, *key);
            }
            record_keys.push(keys);
        }
        references.insert(build_id, (binary, record_keys));
        stats.binaries += 1;
    }
    let hits = work.join("hits");
    for path in sorted_files(&hits, "hits")? {
        let bytes = std::fs::read(&path).map_err(io_error(&path))?;
        let record = decode_hits(&bytes).map_err(|failure| CollectError::Io {
            path: path.display().to_string(),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                match failure {
                    Failure::Magic(found) => format!("not a test record (starts {found:?})"),
                    Failure::Corrupt(at, message) => format!("byte {at}: {message}"),
                },
            ),
        })?;
        let mut passed = record.passed;
        let mut profiles = Vec::new();
        let mut ran: Vec<u32> = Vec::new();
        for (build_id, records, indexes) in &record.profiles {
            match references.get(build_id) {
                Some((binary, keys)) if keys.len() == *records => {
                    profiles.push(*binary);
                    for index in indexes {
                        if let Some(keys) = keys.get(*index as usize) {
                            ran.extend_from_slice(keys);
                        }
                    }
                }
                _ => passed = false,
            }
        }
        ran.sort_unstable();
        ran.dedup();
        if !passed {
            stats.uncovered += 1;
        }
        stats.tests += 1;
        builder.test(&record.binary_id, &record.name, passed, &profiles, ran);
    }
    let map = builder.finish();
    stats.keys = map.key_count();
    Ok((map, stats))
}

struct Hits {
    binary_id: String,
    name: String,
    passed: bool,
    profiles: Vec<(String, usize, Vec<u32>)>,
}

fn decode_hits(bytes: &[u8]) -> Result<Hits, Failure> {
    let mut reader = Reader::framed(HITS_MAGIC, bytes)?;
    let binary_id = reader.string()?;
    let name = reader.string()?;
    let passed = reader.number()? != 0;
    let mut profiles = Vec::new();
    for _ in 0..reader.count()? {
        let build_id = reader.string()?;
        let records = usize::try_from(reader.number()?).unwrap_or(usize::MAX);
        let ran = reader.set(records)?;
        profiles.push((build_id, records, ran));
    }
    Ok(Hits {
        binary_id,
        name,
        passed,
        profiles,
    })
}

fn sorted_files(dir: &Path, extension: &str) -> Result<Vec<PathBuf>, CollectError> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_error(dir))? {
        let path = entry.map_err(io_error(dir))?.path();
        if path.extension().is_some_and(|found| found == extension) {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}
