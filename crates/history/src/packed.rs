//! Plain passes, packed: most of a run's results are passes with nothing to
//! keep but a duration, and a row each (with its index entries) costs ~80
//! bytes in SQLite and ~190 in PostgreSQL. Such a result is stored instead
//! as an entry of a `passes` blob: one blob per run and block of [`BLOCK`]
//! test ids, its entries in test order, ~3 bytes each. This module is the
//! blob's codec, shared by both stores (`sqlite::passes` and `pg::passes`
//! store and read the blobs).
//!
//! A result is *plain* when it passed and has no message, failure type,
//! file, line, properties, kept output or attempt of its own (one attempt
//! that repeats the result is implied, and flagged). Anything else is a
//! `results` row. A test has at most one result per run, in one place or
//! the other.
//!
//! Entry layout, after the previous entry's test (the block's first id for
//! the first entry): `varint(delta << 2 | implied << 1 | dropped?)`, then
//! the duration as `varint(code)`: 0 = unknown; `ms << 2 | 1` when the
//! seconds are exactly `ms / 1000`; `us << 2 | 2` when exactly
//! `us / 1_000_000`; 3 followed by the 8 bytes of the `f64` (little-endian)
//! otherwise; then `varint(bytes)` of output dropped when flagged. Every
//! duration reads back bit for bit.

use hourglass_model::{Outcome, TestKey, TestResult};

use crate::StoreError;
use crate::codec::{attempts_json, implied_attempt};

/// Bits of a test id below its block: a blob holds up to 1,024 tests.
pub(crate) const BLOCK_BITS: u32 = 10;
pub(crate) const BLOCK: i64 = 1 << BLOCK_BITS;

/// One plain pass.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Pass {
    pub(crate) test: i64,
    pub(crate) duration_s: Option<f64>,
    /// Output dropped by the keep-output policy, in bytes.
    pub(crate) dropped: u64,
    /// The result had its one implied attempt (`attempt_count` 1).
    pub(crate) implied: bool,
}

impl Pass {
    /// The pass of `result` when it is plain, with `output` the output the
    /// policy keeps and `dropped` the bytes dropped in all.
    pub(crate) fn of(
        test: i64,
        result: &TestResult,
        output: Option<&str>,
        dropped: u64,
    ) -> Result<Option<Self>, StoreError> {
        let plain = result.outcome == Outcome::Passed
            && result.message.is_none()
            && result.failure_type.is_none()
            && result.file.is_none()
            && result.line.is_none()
            && output.is_none()
            && result.properties.is_empty()
            && result.attempts.len() <= 1
            && (result.attempts.is_empty() || attempts_json(result)?.is_none());
        Ok(plain.then_some(Self {
            test,
            duration_s: result.duration_s,
            dropped,
            implied: result.attempts.len() == 1,
        }))
    }

    /// The result this pass stands for.
    pub(crate) fn result(&self, key: TestKey) -> TestResult {
        let mut result = TestResult::new(key, Outcome::Passed);
        result.duration_s = self.duration_s;
        result.output_dropped_bytes = self.dropped;
        if self.implied {
            result.attempts = implied_attempt(&result).into_iter().collect();
        }
        result
    }

    /// `attempt_count` as a row would have it.
    pub(crate) fn attempt_count(&self) -> u32 {
        u32::from(self.implied)
    }
}

/// The block of a test id.
pub(crate) fn block_of(test: i64) -> i64 {
    test >> BLOCK_BITS
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn get_varint(data: &[u8], at: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *data.get(*at)?;
        *at += 1;
        value |= u64::from(byte & 0x7F) << shift;
        if byte < 0x80 {
            return Some(value);
        }
    }
    None
}

/// `count / scale` is exactly `seconds`: the count, when it fits.
fn exact(seconds: f64, scale: f64) -> Option<u64> {
    let count = (seconds * scale).round();
    if !(0.0..(1u64 << 52) as f64).contains(&count) {
        return None;
    }
    // What the reader computes, so that -0.0 (read back as 0.0) is not.
    let count = count as u64;
    ((count as f64 / scale).to_bits() == seconds.to_bits()).then_some(count)
}

fn put_duration(out: &mut Vec<u8>, duration: Option<f64>) {
    let Some(seconds) = duration else {
        put_varint(out, 0);
        return;
    };
    if let Some(ms) = exact(seconds, 1e3) {
        put_varint(out, ms << 2 | 1);
    } else if let Some(us) = exact(seconds, 1e6) {
        put_varint(out, us << 2 | 2);
    } else {
        put_varint(out, 3);
        out.extend_from_slice(&seconds.to_le_bytes());
    }
}

/// A duration as read: unknown, or seconds; `Err` when the entry is cut short.
fn get_duration(data: &[u8], at: &mut usize) -> Result<Option<f64>, ()> {
    let code = get_varint(data, at).ok_or(())?;
    Ok(match code & 3 {
        0 if code == 0 => None,
        1 => Some((code >> 2) as f64 / 1e3),
        2 => Some((code >> 2) as f64 / 1e6),
        3 if code == 3 => {
            let bytes = data.get(*at..*at + 8).ok_or(())?;
            *at += 8;
            Some(f64::from_le_bytes(bytes.try_into().map_err(|_| ())?))
        }
        _ => return Err(()),
    })
}

/// The blob of one block's passes, sorted by test (and of distinct tests).
pub(crate) fn encode(block: i64, passes: &[Pass]) -> Vec<u8> {
    let mut out = Vec::with_capacity(passes.len() * 4);
    let mut previous = block << BLOCK_BITS;
    for pass in passes {
        let delta = (pass.test - previous) as u64;
        previous = pass.test;
        let flags = u64::from(pass.implied) << 1 | u64::from(pass.dropped > 0);
        put_varint(&mut out, delta << 2 | flags);
        put_duration(&mut out, pass.duration_s);
        if pass.dropped > 0 {
            put_varint(&mut out, pass.dropped);
        }
    }
    out
}

/// Calls `each` with every pass of a blob, in test order.
pub(crate) fn decode_each(
    block: i64,
    data: &[u8],
    mut each: impl FnMut(Pass) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let corrupt = || StoreError::Corrupt {
        what: "packed passes",
        detail: format!("block {block}: an entry is cut short or out of range"),
    };
    let first = block << BLOCK_BITS;
    let mut previous = first;
    let mut at = 0;
    while at < data.len() {
        let head = get_varint(data, &mut at).ok_or_else(corrupt)?;
        let test = previous + (head >> 2) as i64;
        if test < previous || test >= first + BLOCK {
            return Err(corrupt());
        }
        previous = test;
        let duration_s = get_duration(data, &mut at).map_err(|()| corrupt())?;
        let dropped = if head & 1 == 1 {
            get_varint(data, &mut at).ok_or_else(corrupt)?
        } else {
            0
        };
        each(Pass {
            test,
            duration_s,
            dropped,
            implied: head & 2 == 2,
        })?;
    }
    Ok(())
}

/// Every pass of a blob, in test order.
pub(crate) fn decode(block: i64, data: &[u8]) -> Result<Vec<Pass>, StoreError> {
    let mut passes = Vec::with_capacity(data.len() / 3);
    decode_each(block, data, |pass| {
        passes.push(pass);
        Ok(())
    })?;
    Ok(passes)
}

/// Test ids with a result in one run.
#[derive(Default)]
pub(crate) struct TestSet {
    words: Vec<u64>,
}

impl TestSet {
    /// Adds `test`; false when it was there already.
    pub(crate) fn insert(&mut self, test: i64) -> bool {
        let (word, bit) = ((test as u64 >> 6) as usize, test as u64 & 63);
        if word >= self.words.len() {
            self.words.resize(word + 1 + word / 4, 0);
        }
        let had = self.words[word] >> bit & 1 == 1;
        self.words[word] |= 1 << bit;
        !had
    }

    pub(crate) fn contains(&self, test: i64) -> bool {
        let (word, bit) = ((test as u64 >> 6) as usize, test as u64 & 63);
        self.words.get(word).is_some_and(|w| w >> bit & 1 == 1)
    }

    /// The tests held, in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = i64> + '_ {
        self.words.iter().enumerate().flat_map(|(word, &bits)| {
            (0..64)
                .filter(move |bit| bits >> bit & 1 == 1)
                .map(move |bit| (word as i64) << 6 | bit)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pass(test: i64, duration_s: Option<f64>, dropped: u64, implied: bool) -> Pass {
        Pass {
            test,
            duration_s,
            dropped,
            implied,
        }
    }

    #[test]
    fn every_duration_reads_back_bit_for_bit() {
        let durations = [
            None,
            Some(0.0),
            Some(-0.0),
            Some(0.001),
            Some(0.003),
            Some(1.5),
            Some(3.4e-05),
            Some(1e-9),
            Some(12_345.678_901),
            Some(0.1 + 0.2),
            Some(-1.0),
            Some(f64::NAN),
            Some(f64::INFINITY),
            Some(1e300),
            Some(4_503_599_627_370.496),
        ];
        let block = 3;
        let passes: Vec<Pass> = durations
            .iter()
            .enumerate()
            .map(|(i, &d)| pass(block * BLOCK + 2 * i as i64, d, (i as u64) * 7, i % 2 == 0))
            .collect();
        let data = encode(block, &passes);
        let back = decode(block, &data).unwrap();
        assert_eq!(back.len(), passes.len());
        for (a, b) in passes.iter().zip(&back) {
            assert_eq!(a.test, b.test);
            assert_eq!(a.dropped, b.dropped);
            assert_eq!(a.implied, b.implied);
            assert_eq!(
                a.duration_s.map(f64::to_bits),
                b.duration_s.map(f64::to_bits),
                "{:?}",
                a.duration_s
            );
        }
    }

    #[test]
    fn millisecond_passes_take_about_three_bytes() {
        let passes: Vec<Pass> = (0..BLOCK)
            .map(|i| pass(i, Some(f64::from(i as u32 % 900) / 1e3), 0, true))
            .collect();
        let data = encode(0, &passes);
        assert!(data.len() <= 3 * passes.len(), "{} bytes", data.len());
    }

    #[test]
    fn cut_or_foreign_blobs_are_errors_not_wrong_passes() {
        let passes = [pass(5, Some(1e-9), 3, false), pass(9, Some(0.25), 0, true)];
        let data = encode(0, &passes);
        for cut in 1..data.len() {
            let decoded = decode(0, &data[..cut]);
            assert!(
                decoded.is_err() || decoded.as_ref().is_ok_and(|d| d.len() == 1),
                "cut at {cut}: {decoded:?}"
            );
        }
        // An entry past the block's last test is refused.
        let far = encode(0, &[pass(BLOCK + 1, None, 0, false)]);
        assert!(decode(0, &far).is_err());
        assert!(decode(0, &[0xFF; 12]).is_err());
    }

    #[test]
    fn the_test_set_says_what_it_holds() {
        let mut set = TestSet::default();
        assert!(set.insert(0));
        assert!(set.insert(70_000));
        assert!(!set.insert(70_000));
        assert!(set.contains(0) && set.contains(70_000) && !set.contains(69_999));
        assert_eq!(set.iter().collect::<Vec<_>>(), [0, 70_000]);
    }
}
