//! A deterministic generator of large Surefire-style JUnit files, for
//! benchmarks and for tests of bounded memory.
//!
//! The output is one `<testsuites>` document of `<testsuite>` elements (a
//! `<properties>` block each) holding about 500 000 testcases per 100 MB:
//! mostly passes, with failures carrying stack traces, errors, skips,
//! `<system-out>` captures, and Surefire's `flakyFailure` / `rerunFailure`
//! retry elements. The same seed and size always give the same bytes.

use std::io::{self, Write};

/// xorshift64*: small, fast and good enough to vary a benchmark input.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        // Avoid the all-zero state, which xorshift never leaves.
        Self(seed ^ 0x9E37_79B9_7F4A_7C15 | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Counts the bytes that pass through to the inner writer.
struct Counting<'a> {
    inner: &'a mut dyn Write,
    written: u64,
}

impl Write for Counting<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

const PACKAGES: [&str; 8] = [
    "com.example.billing",
    "com.example.accounts",
    "com.example.search.index",
    "com.example.api.v2",
    "org.acme.payments.gateway",
    "org.acme.catalog",
    "io.shop.cart",
    "io.shop.checkout.tax",
];

const CLASSES: [&str; 8] = [
    "InvoiceServiceTest",
    "LedgerRepositoryIT",
    "QueryParserTest",
    "RateLimiterTest",
    "CurrencyConverterTest",
    "SessionStoreIT",
    "PriceCalculatorTest",
    "RetryPolicyTest",
];

const VERBS: [&str; 8] = [
    "computes", "rejects", "accepts", "rounds", "retries", "caches", "parses", "renders",
];

const OBJECTS: [&str; 8] = [
    "EmptyInput",
    "NegativeAmount",
    "UnicodeNames",
    "LargeBatch",
    "ExpiredToken",
    "ConcurrentUpdates",
    "MissingField",
    "LeapDay",
];

/// The mix of testcases, in testcases per thousand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Testcases with a `<failure>` (a stack trace and a `<system-out>`).
    pub failures: u64,
    /// Testcases with a `<system-out>`, the failures included; the others
    /// are passes.
    pub output: u64,
}

impl Shape {
    /// Testcases with an `<error>`, a `<skipped>`, a `flakyFailure` and a
    /// `rerunFailure`, per thousand, in every shape.
    const OTHERS: u64 = 8 + 12 + 10 + 3;

    /// 15% of the testcases carry `<system-out>`, 3% fail: a suite that
    /// logs a lot.
    pub const CHATTY: Shape = Shape {
        failures: 30,
        output: 150,
    };
}

impl Default for Shape {
    /// 2% failures, 6.7% with output (about 500 000 testcases per 100 MB).
    fn default() -> Self {
        Self {
            failures: 20,
            output: 67,
        }
    }
}

/// Writes a Surefire-style JUnit document of at least `target_bytes` bytes
/// (it stops at the first testcase boundary past the target, then closes
/// the open elements) and returns the number of testcases written.
///
/// Deterministic: the same `seed` and `target_bytes` give the same bytes.
pub fn write_surefire(out: &mut dyn Write, seed: u64, target_bytes: u64) -> io::Result<u64> {
    write_surefire_shaped(out, seed, target_bytes, Shape::default())
}

/// [`write_surefire`] with another mix of testcases. `shape.output` below
/// `shape.failures` counts as `shape.failures`; the shares are capped so
/// that they add up to at most a thousand.
pub fn write_surefire_shaped(
    out: &mut dyn Write,
    seed: u64,
    target_bytes: u64,
    shape: Shape,
) -> io::Result<u64> {
    let failures = shape.failures.min(1000 - Shape::OTHERS);
    let shape = Shape {
        failures,
        output: shape.output.clamp(failures, 1000 - Shape::OTHERS),
    };
    let mut rng = Rng::new(seed);
    let mut out = Counting {
        inner: out,
        written: 0,
    };
    let mut testcases = 0u64;
    out.write_all(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n")?;
    let mut suite_index = 0u64;
    while out.written < target_bytes {
        let package = PACKAGES[rng.below(PACKAGES.len() as u64) as usize];
        let class = CLASSES[rng.below(CLASSES.len() as u64) as usize];
        let cases = 20 + rng.below(180);
        writeln!(
            out,
            "  <testsuite name=\"{package}.{class}{suite_index}\" time=\"{}.{:03}\" tests=\"{cases}\" \
             errors=\"0\" skipped=\"0\" failures=\"0\" hostname=\"ci-runner-{}\" \
             timestamp=\"2026-03-{:02}T{:02}:{:02}:{:02}\">",
            rng.below(300),
            rng.below(1000),
            rng.below(16),
            1 + rng.below(28),
            rng.below(24),
            rng.below(60),
            rng.below(60),
        )?;
        out.write_all(
            b"    <properties>\n      <property name=\"java.version\" value=\"21.0.2\"/>\n      \
              <property name=\"surefire.rerunFailingTestsCount\" value=\"2\"/>\n    </properties>\n",
        )?;
        for case in 0..cases {
            write_testcase(&mut out, &mut rng, shape, package, class, suite_index, case)?;
            testcases += 1;
            if out.written >= target_bytes {
                break;
            }
        }
        out.write_all(b"  </testsuite>\n")?;
        suite_index += 1;
    }
    out.write_all(b"</testsuites>\n")?;
    out.flush()?;
    Ok(testcases)
}

fn write_testcase(
    out: &mut Counting<'_>,
    rng: &mut Rng,
    shape: Shape,
    package: &str,
    class: &str,
    suite_index: u64,
    case: u64,
) -> io::Result<()> {
    let verb = VERBS[rng.below(VERBS.len() as u64) as usize];
    let object = OBJECTS[rng.below(OBJECTS.len() as u64) as usize];
    let seconds = rng.below(3);
    let millis = rng.below(1000);
    write!(
        out,
        "    <testcase name=\"{verb}{object}_{case}\" classname=\"{package}.{class}{suite_index}\" \
         time=\"{seconds}.{millis:03}\""
    )?;
    let f = shape.failures;
    let roll = rng.below(1000);
    // With the default shape: 0..=19 failures, 20..=27 errors, 28..=39
    // skips, 40..=49 flaky, 50..=52 reruns, 53..=99 passes with output.
    let kind = if roll < f {
        0
    } else if roll < f + 8 {
        1
    } else if roll < f + 20 {
        2
    } else if roll < f + 30 {
        3
    } else if roll < f + Shape::OTHERS {
        4
    } else if roll < Shape::OTHERS + shape.output {
        5
    } else {
        6
    };
    match kind {
        // Failure with a stack trace and captured output.
        0 => {
            out.write_all(b">\n      <failure message=\"expected: &lt;42&gt; but was: &lt;41&gt;\" type=\"org.opentest4j.AssertionFailedError\">")?;
            write_stack(out, rng, package, class)?;
            out.write_all(b"</failure>\n")?;
            write_system_out(out, rng)?;
            out.write_all(b"    </testcase>\n")
        }
        // Error.
        1 => {
            out.write_all(b">\n      <error message=\"Connection refused\" type=\"java.net.ConnectException\">")?;
            write_stack(out, rng, package, class)?;
            out.write_all(b"</error>\n    </testcase>\n")
        }
        // Skipped.
        2 => out.write_all(
            b">\n      <skipped message=\"disabled until the fixture is fixed\"/>\n    </testcase>\n",
        ),
        // Flaky: failed, then passed on a rerun.
        3 => {
            out.write_all(b">\n      <flakyFailure message=\"Timed out after 5 seconds\" type=\"java.util.concurrent.TimeoutException\">\n        <stackTrace>")?;
            write_stack(out, rng, package, class)?;
            out.write_all(b"</stackTrace>\n        <system-out><![CDATA[retry 1 of 2 <waiting>]]></system-out>\n      </flakyFailure>\n    </testcase>\n")
        }
        // Failed on every rerun.
        4 => {
            out.write_all(b">\n      <failure message=\"still broken\" type=\"java.lang.AssertionError\"/>\n      <rerunFailure message=\"still broken\" type=\"java.lang.AssertionError\">\n        <stackTrace>")?;
            write_stack(out, rng, package, class)?;
            out.write_all(b"</stackTrace>\n      </rerunFailure>\n    </testcase>\n")
        }
        // Passed with captured output.
        5 => {
            out.write_all(b">\n")?;
            write_system_out(out, rng)?;
            out.write_all(b"    </testcase>\n")
        }
        _ => out.write_all(b"/>\n"),
    }
}

fn write_stack(
    out: &mut Counting<'_>,
    rng: &mut Rng,
    package: &str,
    class: &str,
) -> io::Result<()> {
    let frames = 3 + rng.below(12);
    writeln!(out, "{package}.{class} failed")?;
    for frame in 0..frames {
        writeln!(
            out,
            "\tat {package}.{class}.method{frame}({class}.java:{})",
            10 + rng.below(500)
        )?;
    }
    Ok(())
}

fn write_system_out(out: &mut Counting<'_>, rng: &mut Rng) -> io::Result<()> {
    out.write_all(b"      <system-out>")?;
    for line in 0..=rng.below(6) {
        writeln!(
            out,
            "12:00:{:02}.{:03} [main] INFO step {line} &amp; done id={}",
            rng.below(60),
            rng.below(1000),
            rng.next() >> 40
        )?;
    }
    out.write_all(b"</system-out>\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_gives_same_bytes() {
        let mut a = Vec::new();
        let mut b = Vec::new();
        let na = write_surefire(&mut a, 7, 200_000).unwrap();
        let nb = write_surefire(&mut b, 7, 200_000).unwrap();
        assert_eq!(a, b);
        assert_eq!(na, nb);
        let mut c = Vec::new();
        write_surefire(&mut c, 8, 200_000).unwrap();
        assert_ne!(a, c);
    }

    #[test]
    fn the_default_shape_is_the_plain_generator_and_chatty_has_its_mix() {
        let mut plain = Vec::new();
        let mut shaped = Vec::new();
        write_surefire(&mut plain, 3, 300_000).unwrap();
        write_surefire_shaped(&mut shaped, 3, 300_000, Shape::default()).unwrap();
        assert_eq!(plain, shaped);
        let mut chatty = Vec::new();
        let cases = write_surefire_shaped(&mut chatty, 3, 4_000_000, Shape::CHATTY).unwrap();
        let text = String::from_utf8(chatty).unwrap();
        let share = |needle: &str| text.matches(needle).count() as f64 / cases as f64;
        assert!(
            (0.13..0.17).contains(&share("<system-out>1")),
            "{}",
            share("<system-out>1")
        );
        assert!((0.025..0.035).contains(&share("<failure message=\"expected")));
    }

    #[test]
    fn reaches_the_target_size_with_the_promised_density() {
        let mut out = Vec::new();
        let cases = write_surefire(&mut out, 1, 2_000_000).unwrap();
        assert!(out.len() >= 2_000_000);
        assert!(out.len() < 2_100_000, "overshoot: {}", out.len());
        // About 500k testcases per 100 MB, i.e. 10k per 2 MB; allow a wide band.
        assert!((6_000..=14_000).contains(&cases), "{cases} testcases");
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.matches("<testcase ").count() as u64, cases);
        assert!(text.contains("<flakyFailure"));
        assert!(text.contains("<rerunFailure"));
        assert!(text.trim_end().ends_with("</testsuites>"));
    }
}
