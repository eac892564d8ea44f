//! Memory does not grow with the file: a stream generated on the fly.
//!
//! 40 MB by default, so that a debug build runs it in seconds;
//! `HOURGLASS_MEMORY_TEST_MB=200` reads 200 MB. The claim under test is the
//! same at any size: the event buffer is bounded by the largest event, not
//! by the file.

use std::io::{self, BufReader, Read};
use std::path::Path;

use hourglass_junit::{ReadOptions, read_with_stats, synthetic};

/// Generates the synthetic file into a small window as it is read, so the
/// test itself holds no more than one suite of it.
struct Generated {
    seed: u64,
    remaining: u64,
    window: Vec<u8>,
    at: usize,
    done: bool,
    header_sent: bool,
}

impl Generated {
    fn new(seed: u64, bytes: u64) -> Self {
        Self {
            seed,
            remaining: bytes,
            window: Vec::new(),
            at: 0,
            done: false,
            header_sent: false,
        }
    }

    /// Produces the next piece: a whole small synthetic document, with its
    /// prolog and root tags cut so that the pieces join into one document.
    fn refill(&mut self) {
        self.window.clear();
        self.at = 0;
        if !self.header_sent {
            self.window
                .extend_from_slice(b"<?xml version=\"1.0\"?>\n<testsuites>\n");
            self.header_sent = true;
            return;
        }
        if self.remaining == 0 {
            if !self.done {
                self.window.extend_from_slice(b"</testsuites>\n");
                self.done = true;
            }
            return;
        }
        let mut piece = Vec::with_capacity(300_000);
        synthetic::write_surefire(&mut piece, self.seed, 256 * 1024).unwrap();
        self.seed += 1;
        let text = &piece[..];
        let start =
            memchr::memmem::find(text, b"<testsuites>\n").unwrap() + b"<testsuites>\n".len();
        let end = memchr::memmem::rfind(text, b"</testsuites>").unwrap();
        self.window.extend_from_slice(&text[start..end]);
        self.remaining = self.remaining.saturating_sub(self.window.len() as u64);
    }
}

impl Read for Generated {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at == self.window.len() {
            self.refill();
        }
        let n = (self.window.len() - self.at).min(buf.len());
        buf[..n].copy_from_slice(&self.window[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[test]
fn a_generated_stream_is_read_with_a_bounded_buffer() {
    let megabytes: u64 = std::env::var("HOURGLASS_MEMORY_TEST_MB")
        .ok()
        .and_then(|mb| mb.parse().ok())
        .unwrap_or(40);
    let bytes = megabytes * 1024 * 1024;
    let input = BufReader::with_capacity(64 * 1024, Generated::new(1, bytes));
    let mut results = 0u64;
    let mut flaky = 0u64;
    let (summary, stats) = read_with_stats(
        input,
        Path::new("generated.xml"),
        &ReadOptions::default(),
        &mut |r| {
            results += 1;
            flaky += u64::from(r.outcome == hourglass_model::Outcome::Flaky);
            Ok(())
        },
    )
    .unwrap();
    assert!(summary.bytes >= bytes, "{} bytes", summary.bytes);
    assert_eq!(results, summary.testcases);
    // About 5 000 testcases per MB.
    assert!(results > megabytes * 4_000, "{results} results");
    assert!(flaky > 0);
    // The event buffer holds one event at a time: a stack trace at most.
    assert!(stats.event_buffer_capacity <= 64 * 1024, "{stats:?}");
    assert!(stats.deepest_nesting <= 6, "{stats:?}");
    assert_eq!(stats.held_results_peak, 0);
}
