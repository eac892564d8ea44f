//! Speed of the test graph on a deterministic generated workspace (seed 7): 20 crates × 60 files
//! × ~250 lines (≈300k lines) with calls across modules and crates, traits, impls and tests.
//!
//! ```text
//! cargo bench --bench graph
//! ```
//!
//! Measures, with `Throughput::Elements(files)`: the floor (`syn::parse_file` of every file in
//! parallel, no graph), a cold build (no cache), a warm build (cache full), and a build after one
//! file changed followed by `affected_tests` for that file. A closing line prints files/s,
//! lines/s and the cold/floor ratio from plain runs.

use std::fmt::Write as _;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use hourglass_graph::{BuildOptions, Graph, LineRange};

const CRATES: usize = 20;
const FILES: usize = 60;
const FNS_PER_FILE: usize = 20;

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 as usize
    }
}

fn source_file(rng: &mut Rng, krate: usize, file: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "//! Module {file} of crate {krate}.\n");
    if krate > 0 {
        let _ = writeln!(
            out,
            "use c{}::m{}::Shape{};",
            krate - 1,
            file % FILES,
            file % FILES
        );
    }
    let _ = writeln!(out, "use crate::Measure;\n");
    let _ = writeln!(
        out,
        "/// A shape.\n#[derive(Debug, Clone)]\npub struct Shape{file} {{\n    pub size: u64,\n    pub name: String,\n}}\n"
    );
    let _ = writeln!(
        out,
        "impl Measure for Shape{file} {{\n    fn measure(&self) -> u64 {{\n        self.size * 2 + {file}\n    }}\n}}\n"
    );
    for f in 0..FNS_PER_FILE {
        let other = rng.next() % FILES;
        let callee = rng.next() % FNS_PER_FILE;
        let _ = writeln!(out, "/// Function {f}.\npub fn f{f}(x: u64) -> u64 {{");
        let _ = writeln!(
            out,
            "    let shape = Shape{file} {{ size: x, name: String::new() }};"
        );
        let _ = writeln!(out, "    let mut total = shape.measure();");
        let _ = writeln!(
            out,
            "    for i in 0..x % 7 {{\n        total = total.wrapping_add(i * {f});\n    }}"
        );
        if f > 0 {
            let _ = writeln!(out, "    total += f{}(x / 2);", f - 1);
        }
        let _ = writeln!(
            out,
            "    if x > 1000 {{\n        total += crate::m{other}::f{callee}(x / 3);\n    }}"
        );
        if krate > 0 {
            let _ = writeln!(
                out,
                "    total += c{}::m{other}::f{callee}(x / 5);",
                krate - 1
            );
        }
        let _ = writeln!(out, "    total\n}}\n");
    }
    let _ = writeln!(out, "#[cfg(test)]\nmod tests {{\n    use super::*;\n");
    for t in 0..3 {
        let _ = writeln!(
            out,
            "    #[test]\n    fn t{t}() {{\n        assert!(f{}({t}) > 0);\n    }}\n",
            t * 5
        );
    }
    out.push_str("}\n");
    out
}

fn generate(root: &Path) -> (usize, u64) {
    let mut rng = Rng(7);
    let mut members = String::new();
    let mut files = 0;
    let mut lines = 0u64;
    for krate in 0..CRATES {
        let _ = write!(members, "\"c{krate}\", ");
        let dir = root.join(format!("c{krate}"));
        std::fs::create_dir_all(dir.join("src")).expect("create crate dir");
        let mut manifest = format!(
            "[package]\nname = \"c{krate}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n"
        );
        if krate > 0 {
            let _ = writeln!(
                manifest,
                "c{} = {{ path = \"../c{}\" }}",
                krate - 1,
                krate - 1
            );
        }
        std::fs::write(dir.join("Cargo.toml"), manifest).expect("write manifest");
        let mut lib = String::from(
            "//! Generated crate.\n\npub trait Measure {\n    fn measure(&self) -> u64;\n}\n\n",
        );
        for file in 0..FILES {
            let _ = writeln!(lib, "pub mod m{file};");
            let text = source_file(&mut rng, krate, file);
            lines += text.lines().count() as u64;
            files += 1;
            std::fs::write(dir.join(format!("src/m{file}.rs")), text).expect("write source");
        }
        lines += lib.lines().count() as u64;
        files += 1;
        std::fs::write(dir.join("src/lib.rs"), lib).expect("write lib.rs");
    }
    std::fs::write(
        root.join("Cargo.toml"),
        format!("[workspace]\nmembers = [{members}]\nresolver = \"2\"\n"),
    )
    .expect("write workspace manifest");
    (files, lines)
}

fn rust_files(root: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "rs"))
        .map(walkdir::DirEntry::into_path)
        .collect()
}

fn time<T>(f: impl Fn() -> T) -> Duration {
    let mut best = Duration::MAX;
    for _ in 0..3 {
        let started = Instant::now();
        black_box(f());
        best = best.min(started.elapsed());
    }
    best
}

fn main() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let root = dir.path().join("ws");
    let (files, lines) = generate(&root);
    let paths = rust_files(&root);
    let cache = dir.path().join("cache");
    let cold = BuildOptions::default();
    let warm = BuildOptions {
        cache_dir: Some(cache.clone()),
    };
    Graph::build(&root, &warm).expect("fill the cache");

    let mut criterion = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8))
        .configure_from_args();
    let mut group = criterion.benchmark_group("graph");
    group.throughput(Throughput::Elements(files as u64));
    group.bench_function("floor_syn_parse", |b| {
        b.iter(|| hourglass_graph::parse_files_only(&paths));
    });
    group.bench_function("cold_build", |b| {
        b.iter(|| Graph::build(&root, &cold).unwrap());
    });
    group.bench_function("warm_build", |b| {
        b.iter(|| Graph::build(&root, &warm).unwrap());
    });
    let changed = "c10/src/m30.rs";
    let mut flip = 0u64;
    group.bench_function("one_file_change_and_affected_tests", |b| {
        b.iter(|| {
            flip += 1;
            let path = root.join(changed);
            let mut text = std::fs::read_to_string(&path).unwrap();
            let _ = writeln!(text, "// edit {flip}");
            std::fs::write(&path, text).unwrap();
            let graph = Graph::build(&root, &warm).unwrap();
            let items = graph.items_at(changed, LineRange::new(20, 40));
            graph.affected_tests(&items).len()
        });
    });
    group.finish();

    let floor = time(|| hourglass_graph::parse_files_only(&paths));
    let cold_time = time(|| Graph::build(&root, &cold).unwrap());
    let warm_time = time(|| Graph::build(&root, &warm).unwrap());
    let per_s = |d: Duration, n: f64| n / d.as_secs_f64();
    println!(
        "graph: {files} files, {lines} lines; floor {floor:.2?} ({:.0} files/s, {:.0} lines/s); \
         cold {cold_time:.2?} ({:.0} files/s, {:.0} lines/s, {:.2}× floor); warm {warm_time:.2?}",
        per_s(floor, files as f64),
        per_s(floor, lines as f64),
        per_s(cold_time, files as f64),
        per_s(cold_time, lines as f64),
        cold_time.as_secs_f64() / floor.as_secs_f64(),
    );
}
