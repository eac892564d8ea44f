//! Lines added and deleted between two texts, counted as git's xdiff
//! counts them, without running xdiff when the answer is known exactly.
//!
//! xdiff (Myers, git's default) first drops the lines the two sides start
//! and end with in common. What is left between them, the middle, is
//! cleaned up: a line with no equal line anywhere in the other file is a
//! change; a line with many equal lines there (at least about the square
//! root of its own file's line count) is a change too when it sits in a run
//! of unmatched lines (`xdl_clean_mmatch`). The search then runs over the
//! lines kept. It stops at a cost cut-off (`XDL_MAX_COST_MIN` and
//! `XDL_HEUR_MIN_COST`, both 256) and may then return a script longer than
//! the shortest; below it, it finds a shortest one. Every line of the middle
//! that the shortest script does not keep is counted.
//!
//! So when a shortest script over the kept lines has at most [`MAX_EDITS`]
//! lines, the counts are: the clean-up done as xdiff does it (occurrences
//! counted over the whole files), then the shortest script over the kept
//! lines (Myers' greedy search, stopped past [`MAX_EDITS`]). That needs the
//! middle's lines hashed and the common start and end only scanned for
//! lines of the same lengths, where xdiff hashes every line of both files
//! byte by byte. Past [`MAX_EDITS`], xdiff runs.

use rustc_hash::FxHashMap;

/// Up to this many lines in a shortest script, xdiff's search never
/// reaches its cost cut-offs: its edit cost counter stays at most half the
/// script's length plus one, and the cut-offs start at 256.
pub const MAX_EDITS: usize = 400;

/// xdiff's `XDL_MAX_EQLIMIT`: the most occurrences that count as "many".
const MAX_EQLIMIT: usize = 1024;
/// xdiff's `XDL_SIMSCAN_WINDOW`: how far the run scan looks each way.
const SIMSCAN_WINDOW: usize = 100;
/// xdiff's `XDL_KPDIS_RUN`.
const KPDIS_RUN: usize = 4;

/// Lines added and deleted from `old` to `new`, as xdiff counts them, when
/// that is known without xdiff; `None` when xdiff has to run.
pub fn counts(old: &[u8], new: &[u8]) -> Option<(u64, u64)> {
    let prefix = common_prefix_lines(old, new);
    let (old_rest, new_rest) = (&old[prefix..], &new[prefix..]);
    let suffix = common_suffix_lines(old_rest, new_rest);
    let old_middle = &old_rest[..old_rest.len() - suffix];
    let new_middle = &new_rest[..new_rest.len() - suffix];
    if old_middle.is_empty() || new_middle.is_empty() {
        return Some((count_lines(new_middle), count_lines(old_middle)));
    }
    let old_lines: Vec<&[u8]> = lines(old_middle).collect();
    let new_lines: Vec<&[u8]> = lines(new_middle).collect();
    let shared = [&old[..prefix], &old_rest[old_rest.len() - suffix..]];
    middle_counts(&old_lines, &new_lines, shared)
}

/// The counts for the middle lines `old` and `new`, when a shortest script
/// over the kept ones is short enough; `shared` are the common start and end.
fn middle_counts<'a>(old: &[&'a [u8]], new: &[&'a [u8]], shared: [&[u8]; 2]) -> Option<(u64, u64)> {
    let mut class_of: FxHashMap<&'a [u8], usize> = FxHashMap::default();
    let mut classify = |lines: &[&'a [u8]]| -> Vec<usize> {
        lines
            .iter()
            .map(|&line| {
                let next = class_of.len();
                *class_of.entry(line).or_insert(next)
            })
            .collect()
    };
    let old_class = classify(old);
    let new_class = classify(new);
    // Occurrences of each middle line in the whole old and new files.
    let mut in_old = vec![0usize; class_of.len()];
    let mut in_new = vec![0usize; class_of.len()];
    for &c in &old_class {
        in_old[c] += 1;
    }
    for &c in &new_class {
        in_new[c] += 1;
    }
    let longest = class_of.keys().map(|line| line.len()).max().unwrap_or(0);
    let mut length_seen = vec![false; longest + 1];
    for line in class_of.keys() {
        length_seen[line.len()] = true;
    }
    let mut shared_lines = 0;
    for part in shared {
        for line in lines(part) {
            shared_lines += 1;
            if length_seen.get(line.len()) == Some(&true)
                && let Some(&c) = class_of.get(line)
            {
                in_old[c] += 1;
                in_new[c] += 1;
            }
        }
    }
    let kept_old = kept(&old_class, &in_new, shared_lines + old.len());
    let kept_new = kept(&new_class, &in_old, shared_lines + new.len());
    let edits = shortest_script(&kept_old, &kept_new, MAX_EDITS)?;
    let common = (kept_old.len() + kept_new.len() - edits) / 2;
    Some(((new.len() - common) as u64, (old.len() - common) as u64))
}

/// xdiff's clean-up (`xdl_cleanup_records`) of one side's middle: the
/// classes of the lines it keeps. `in_other` counts each class in the whole
/// other file; `records` is this file's line count.
fn kept(classes: &[usize], in_other: &[usize], records: usize) -> Vec<usize> {
    let many = bogosqrt(records).min(MAX_EQLIMIT);
    let dis: Vec<u8> = classes
        .iter()
        .map(|&c| match in_other[c] {
            0 => 0,
            n if n >= many => 2,
            _ => 1,
        })
        .collect();
    classes
        .iter()
        .zip(&dis)
        .enumerate()
        .filter(|&(i, (_, &d))| d == 1 || (d == 2 && !multimatch_dropped(&dis, i)))
        .map(|(_, (&c, _))| c)
        .collect()
}

/// xdiff's `xdl_clean_mmatch`: whether the line `i`, which has many
/// matches, is dropped because it sits among lines with none.
fn multimatch_dropped(dis: &[u8], i: usize) -> bool {
    let start = i.saturating_sub(SIMSCAN_WINDOW);
    let end = (i + SIMSCAN_WINDOW).min(dis.len() - 1);
    let run = |indices: &mut dyn Iterator<Item = usize>| {
        let (mut none, mut many) = (0usize, 1usize);
        for j in indices {
            match dis[j] {
                0 => none += 1,
                2 => many += 1,
                _ => break,
            }
        }
        (none, many)
    };
    let (none_before, many_before) = run(&mut (start..i).rev());
    if none_before == 0 {
        return false;
    }
    let (none_after, many_after) = run(&mut (i + 1..=end));
    if none_after == 0 {
        return false;
    }
    let none = none_before + none_after;
    let many = many_before + many_after;
    many * KPDIS_RUN < many + none
}

/// xdiff's `xdl_bogosqrt`.
fn bogosqrt(mut n: usize) -> usize {
    let mut i = 1;
    while n > 0 {
        i <<= 1;
        n >>= 2;
    }
    i
}

/// The length (lines deleted plus lines added) of a shortest edit script
/// from `a` to `b`, when it is at most `max`: Myers' greedy search, which
/// for each length in turn extends the furthest-reaching path on every
/// diagonal.
fn shortest_script(old: &[usize], new: &[usize], max: usize) -> Option<usize> {
    let (old_len, new_len) = (old.len() as isize, new.len() as isize);
    if old_len.abs_diff(new_len) > max {
        return None;
    }
    let max = max.min(old.len() + new.len()) as isize;
    // The furthest position in `old` reached on each diagonal (position in
    // `old` minus position in `new`), at index diagonal + offset.
    let offset = max + 1;
    let mut furthest = vec![0isize; 2 * max as usize + 3];
    let at = |diagonal: isize| (diagonal + offset) as usize;
    for edits in 0..=max {
        for diagonal in (-edits..=edits).step_by(2) {
            let down = diagonal == -edits
                || (diagonal != edits && furthest[at(diagonal - 1)] < furthest[at(diagonal + 1)]);
            let mut i = if down {
                furthest[at(diagonal + 1)]
            } else {
                furthest[at(diagonal - 1)] + 1
            };
            let mut j = i - diagonal;
            while i < old_len && j < new_len && old[i as usize] == new[j as usize] {
                i += 1;
                j += 1;
            }
            furthest[at(diagonal)] = i;
            if i >= old_len && j >= new_len {
                return Some(edits as usize);
            }
        }
    }
    None
}

/// The lines of `bytes`, each with its newline (a last line may have none).
fn lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = bytes;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let end = memchr::memchr(b'\n', rest).map_or(rest.len(), |newline| newline + 1);
        let (line, tail) = rest.split_at(end);
        rest = tail;
        Some(line)
    })
}

/// Lines of `bytes`, a last line without a newline included.
pub(crate) fn count_lines(bytes: &[u8]) -> u64 {
    let newlines = memchr::memchr_iter(b'\n', bytes).count() as u64;
    newlines + u64::from(bytes.last().is_some_and(|&b| b != b'\n'))
}

/// Bytes of the whole lines `a` and `b` start with in common.
fn common_prefix_lines(a: &[u8], b: &[u8]) -> usize {
    let len = a.len().min(b.len());
    let mut same = 0;
    while same + 64 <= len && a[same..same + 64] == b[same..same + 64] {
        same += 64;
    }
    while same < len && a[same] == b[same] {
        same += 1;
    }
    if same == a.len() && same == b.len() {
        return same;
    }
    // The line holding the first difference is not common.
    memchr::memrchr(b'\n', &a[..same]).map_or(0, |newline| newline + 1)
}

/// Bytes of the whole lines `a` and `b` end with in common.
fn common_suffix_lines(a: &[u8], b: &[u8]) -> usize {
    let len = a.len().min(b.len());
    let (a_end, b_end) = (a.len(), b.len());
    let mut same = 0;
    while same + 64 <= len
        && a[a_end - same - 64..a_end - same] == b[b_end - same - 64..b_end - same]
    {
        same += 64;
    }
    while same < len && a[a_end - same - 1] == b[b_end - same - 1] {
        same += 1;
    }
    let starts_line = |s: &[u8], end: usize| same == end || s.get(end - same - 1) == Some(&b'\n');
    if starts_line(a, a_end) && starts_line(b, b_end) {
        return same;
    }
    // Past the first newline of the common tail, whole lines remain.
    memchr::memchr(b'\n', &a[a_end - same..]).map_or(0, |newline| same - newline - 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use git2::Patch;

    /// libgit2's xdiff, as the tree differ runs it.
    fn xdiff(old: &[u8], new: &[u8]) -> (u64, u64) {
        let mut options = crate::numstat::xdiff_options();
        let patch = Patch::from_buffers(old, None, new, None, Some(&mut options)).unwrap();
        let (_, added, deleted) = patch.line_stats().unwrap();
        (added as u64, deleted as u64)
    }

    /// A shortest script over the whole middle, without xdiff's clean-up.
    fn shortest(old: &[u8], new: &[u8]) -> (u64, u64) {
        let mut class_of: FxHashMap<&[u8], usize> = FxHashMap::default();
        let mut classify = |bytes| -> Vec<usize> {
            lines(bytes)
                .map(|line| {
                    let next = class_of.len();
                    *class_of.entry(line).or_insert(next)
                })
                .collect()
        };
        let (a, b) = (classify(old), classify(new));
        let edits = shortest_script(&a, &b, a.len() + b.len()).unwrap();
        let common = (a.len() + b.len() - edits) / 2;
        ((b.len() - common) as u64, (a.len() - common) as u64)
    }

    /// A small deterministic generator (xorshift64*).
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    /// Lines drawn from a few frequent ones (`}`, blank) and, one in
    /// `unique_in`, lines seen nowhere else, so that some lines have many
    /// matches and others none.
    fn text(rng: &mut Rng, lines: usize, unique_in: usize, unique: &mut usize) -> Vec<u8> {
        const COMMON: [&str; 6] = ["}\n", "\n", "    }\n", "a\n", "b\n", "fn x() {\n"];
        let mut out = Vec::new();
        for _ in 0..lines {
            if rng.below(unique_in) == 0 {
                *unique += 1;
                out.extend_from_slice(format!("line {unique}\n").as_bytes());
            } else {
                out.extend_from_slice(COMMON[rng.below(COMMON.len())].as_bytes());
            }
        }
        out
    }

    /// `text` with one to six lines deleted, replaced or inserted.
    fn edited(rng: &mut Rng, text_before: &[u8], unique: &mut usize) -> Vec<u8> {
        let mut lines: Vec<&[u8]> = super::lines(text_before).collect();
        let mut fresh = Vec::new();
        for _ in 0..=rng.below(6) {
            fresh.push(text(rng, 1, 2, unique));
        }
        for line in &fresh {
            let at = rng.below(lines.len() + 1);
            match rng.below(3) {
                0 if at < lines.len() => {
                    lines.remove(at);
                }
                1 if at < lines.len() => lines[at] = line,
                _ => lines.insert(at, line),
            }
        }
        lines.concat()
    }

    #[test]
    fn counts_agree_with_xdiff_on_generated_edits() {
        const CASES: usize = 4_000;
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut unique = 0;
        let (mut checked, mut long, mut not_shortest, mut left_to_xdiff) = (0, 0, 0, 0);
        for case in 0..CASES {
            let prefix_lines = [0, 3, 40, 400][rng.below(4)];
            let prefix = text(&mut rng, prefix_lines, 3, &mut unique);
            let suffix_lines = rng.below(60);
            let suffix = text(&mut rng, suffix_lines, 3, &mut unique);
            let (old_lines, new_lines) = (rng.below(30), rng.below(30));
            let (old_middle, new_middle) = if case % 2 == 0 {
                // Fresh lines on both sides: short middles, mostly unmatched.
                let old_middle = text(&mut rng, old_lines, 2, &mut unique);
                (old_middle, text(&mut rng, new_lines, 2, &mut unique))
            } else {
                // A few edits spread over a long middle.
                let old_middle = text(&mut rng, old_lines.max(1) * 20, 2, &mut unique);
                let new_middle = edited(&mut rng, &old_middle, &mut unique);
                (old_middle, new_middle)
            };
            let mut old = prefix.clone();
            old.extend(&old_middle);
            old.extend(&suffix);
            let mut new = prefix;
            new.extend(&new_middle);
            new.extend(&suffix);
            if case % 7 == 0 {
                new.pop();
            }
            if case % 11 == 0 {
                old.pop();
            }
            if case % 13 == 0 {
                old.extend_from_slice(b"tail");
            }
            let expected = xdiff(&old, &new);
            match counts(&old, &new) {
                Some(found) => {
                    assert_eq!(
                        found,
                        expected,
                        "case {case}:\nold:\n{}\nnew:\n{}",
                        String::from_utf8_lossy(&old),
                        String::from_utf8_lossy(&new)
                    );
                    checked += 1;
                    long += usize::from(count_lines(&old_middle) >= 256);
                    not_shortest += usize::from(shortest(&old, &new) != expected);
                }
                None => left_to_xdiff += 1,
            }
        }
        assert!(checked > CASES * 9 / 10, "{checked} checked");
        // The clean-up of lines with many matches mattered in some cases.
        assert!(
            not_shortest >= 5,
            "{not_shortest} cases xdiff did not find shortest"
        );
        assert!(long > CASES / 10, "{long} long middles checked");
        assert_eq!(left_to_xdiff, CASES - checked);
    }

    #[test]
    fn a_long_script_is_left_to_xdiff() {
        let numbered = |i: usize| format!("{i}\n");
        let old: String = (0..500).map(numbered).collect::<Vec<_>>().concat();
        let new: String = (0..500).rev().map(numbered).collect::<Vec<_>>().concat();
        assert_eq!(counts(old.as_bytes(), new.as_bytes()), None);
        assert_eq!(xdiff(old.as_bytes(), new.as_bytes()), (499, 499));
        // Unmatched lines are cleaned up before the search: no script.
        let new: String = (0..500)
            .map(|i| format!("x{i}\n"))
            .collect::<Vec<_>>()
            .concat();
        assert_eq!(counts(old.as_bytes(), new.as_bytes()), Some((500, 500)));
    }

    #[test]
    fn multimatch_lines_among_unmatched_lines_are_changes() {
        // 64 common lines of `}` make it a line with many matches (the
        // threshold for ~70 lines is 16); among enough lines with no match
        // it is dropped, so xdiff counts it although a shortest script
        // keeps it.
        let shared = "}\n".repeat(64);
        let old = format!("{shared}p1\np2\np3\np4\n}}\nq1\nq2\nq3\n");
        let new = format!("{shared}r1\nr2\nr3\nr4\n}}\ns1\ns2\ns3\n");
        let found = counts(old.as_bytes(), new.as_bytes());
        assert_eq!(found, Some(xdiff(old.as_bytes(), new.as_bytes())));
        assert_eq!(found, Some((8, 8)));
        assert_eq!(shortest(old.as_bytes(), new.as_bytes()), (7, 7));
        // With fewer unmatched lines around it, it is kept.
        let old = format!("{shared}p\n}}\nq\n");
        let new = format!("{shared}r\n}}\ns\n");
        assert_eq!(counts(old.as_bytes(), new.as_bytes()), Some((2, 2)));
        assert_eq!(xdiff(old.as_bytes(), new.as_bytes()), (2, 2));
    }

    fn trimmed(a: &str, b: &str) -> (String, String) {
        let (a, b) = (a.as_bytes(), b.as_bytes());
        let p = common_prefix_lines(a, b);
        let s = common_suffix_lines(&a[p..], &b[p..]);
        (
            String::from_utf8(a[p..a.len() - s].to_vec()).unwrap(),
            String::from_utf8(b[p..b.len() - s].to_vec()).unwrap(),
        )
    }

    #[test]
    fn trimming_keeps_whole_lines() {
        assert_eq!(
            trimmed("a\nb\nc\n", "a\nx\nc\n"),
            ("b\n".into(), "x\n".into())
        );
        assert_eq!(trimmed("a\n", "a\nb\n"), (String::new(), "b\n".into()));
        // A last line without a newline differs from the same line with one.
        assert_eq!(trimmed("a\nb", "a\nb\nc\n"), ("b".into(), "b\nc\n".into()));
        assert_eq!(trimmed("ab\n", "b\n"), ("ab\n".into(), "b\n".into()));
        assert_eq!(trimmed("x\nb\n", "b\n"), ("x\n".into(), String::new()));
        assert_eq!(trimmed("", "a"), (String::new(), "a".into()));
        assert_eq!(
            trimmed("a\na\na\n", "a\na\n"),
            ("a\n".into(), String::new())
        );
        let long_a = format!("{}x\n{}", "l\n".repeat(100), "m\n".repeat(100));
        let long_b = format!("{}y\n{}", "l\n".repeat(100), "m\n".repeat(100));
        assert_eq!(trimmed(&long_a, &long_b), ("x\n".into(), "y\n".into()));
    }

    #[test]
    fn lines_keep_their_newlines() {
        let split: Vec<&[u8]> = lines(b"a\n\nb").collect();
        assert_eq!(split, [&b"a\n"[..], b"\n", b"b"]);
        assert_eq!(lines(b"").count(), 0);
        assert_eq!(bogosqrt(0), 1);
        assert_eq!(bogosqrt(100), 16);
        assert_eq!(bogosqrt(1 << 20), 2048);
    }
}
