//! A deterministic generated Cargo workspace for benchmarks: [`write_workspace`] writes
//! `CRATES` crates × `FILES` modules × `FNS_PER_FILE` functions (≈400k lines with the defaults),
//! each crate depending on the one before it, with calls within and across modules and crates,
//! a trait implemented in every module and called by method syntax in every function (the
//! worst case for the method-name rule), and three unit tests per module.

use std::fmt::Write as _;
use std::io;
use std::path::Path;

/// Crates in the workspace.
pub const CRATES: usize = 20;
/// Modules per crate.
pub const FILES: usize = 60;
/// Functions per module.
pub const FNS_PER_FILE: usize = 20;

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

/// Writes the workspace under `root` (created if missing) from `seed`; returns the number of
/// `.rs` files and their lines.
pub fn write_workspace(root: &Path, seed: u64) -> io::Result<(usize, u64)> {
    let mut rng = Rng(seed.max(1));
    let mut members = String::new();
    let mut files = 0;
    let mut lines = 0u64;
    for krate in 0..CRATES {
        let _ = write!(members, "\"c{krate}\", ");
        let dir = root.join(format!("c{krate}"));
        std::fs::create_dir_all(dir.join("src"))?;
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
        std::fs::write(dir.join("Cargo.toml"), manifest)?;
        let mut lib = String::from(
            "//! Generated crate.\n\npub trait Measure {\n    fn measure(&self) -> u64;\n}\n\n",
        );
        for file in 0..FILES {
            let _ = writeln!(lib, "pub mod m{file};");
            let text = source_file(&mut rng, krate, file);
            lines += text.lines().count() as u64;
            files += 1;
            std::fs::write(dir.join(format!("src/m{file}.rs")), text)?;
        }
        lines += lib.lines().count() as u64;
        files += 1;
        std::fs::write(dir.join("src/lib.rs"), lib)?;
    }
    std::fs::write(
        root.join("Cargo.toml"),
        format!("[workspace]\nmembers = [{members}]\nresolver = \"2\"\n"),
    )?;
    Ok((files, lines))
}
