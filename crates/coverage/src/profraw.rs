//! LLVM's raw profile (`.profraw`), as `-C instrument-coverage` writes it
//! when a process exits: which instrumented functions the process ran.
//!
//! The layout is that of version 10 (LLVM 19 and later, Rust 1.82 and
//! later): a header of sixteen little-endian `u64`s, the binary ids, one
//! data record per instrumented function (the MD5 of its name, its
//! structural hash, where its counters are), the counters, the MC/DC
//! bitmaps, then the function names, in zlib-compressed or plain chunks
//! separated by `\x01`. A function ran when one of its counters is not zero
//! (in single-byte mode, when one of its bytes is zero). Nothing is trusted:
//! every size and offset is checked against the file, and decompression
//! stops at the size a chunk declares.

use std::fmt::Write as _;

use md5::{Digest, Md5};
use rustc_hash::FxHashMap;

/// The magic of a 64-bit raw profile, `\xfflprofr\x81` read as a
/// little-endian `u64`.
const MAGIC: u64 = 0xff6c_7072_6f66_7281;
/// The raw version this reader knows.
const VERSION: u64 = 10;
/// Flags in the version's high half.
const VARIANT_MASK: u64 = 0xffff_ffff_0000_0000;
/// Counters are single bytes, 0 meaning "ran".
const BYTE_COVERAGE: u64 = 1 << 60;
/// Names and records live in the binary's debug info, not in the profile.
const DEBUG_INFO_CORRELATE: u64 = 1 << 59;
/// Fields in a version 10 header.
const HEADER_FIELDS: usize = 16;
/// A chunk of names may not claim to decompress to more than this.
const MAX_NAMES_CHUNK: usize = 1 << 30;

/// What is wrong with a profile, and at which byte.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProfileError {
    #[error(
        "not a raw LLVM profile (magic {0:#018x}; a 64-bit `.profraw` starts with \\xfflprofr\\x81)"
    )]
    Magic(u64),
    #[error(
        "raw profile version {0}: this reader knows version 10 (LLVM 19 and later, Rust 1.82 and later)"
    )]
    Version(u64),
    #[error(
        "the profile keeps its function records in the binary's debug info (-debug-info-correlate), which this reader does not read"
    )]
    Correlated,
    #[error("truncated: {what} needs bytes {start}..{end}, the profile has {len}")]
    Truncated {
        what: &'static str,
        start: u64,
        end: u64,
        len: usize,
    },
    #[error(
        "function record {record} (byte {offset}): its counters {first}..{end} are outside the {total} counters"
    )]
    Counters {
        record: usize,
        offset: usize,
        first: i64,
        end: i64,
        total: u64,
    },
    #[error("names at byte {offset}: {message}")]
    Names { offset: usize, message: String },
}

/// One instrumented function of a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Function {
    /// The low 64 bits of the MD5 of its name.
    pub name_ref: u64,
    /// Its structural hash (changes when its code does).
    pub hash: u64,
    /// How many counters it has; 0 says nothing of whether it ran.
    pub counters: u32,
    /// One of its counters is not zero.
    pub ran: bool,
}

/// The function records of a profile, in file order, and its names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    pub functions: Vec<Function>,
    /// Every name the profile carries (mangled symbols), in file order.
    pub names: Vec<String>,
}

impl Profile {
    /// Name hash → name.
    pub fn name_map(&self) -> FxHashMap<u64, &str> {
        self.names
            .iter()
            .map(|name| (name_ref(name.as_bytes()), name.as_str()))
            .collect()
    }
}

/// The low 64 bits of the MD5 of `name`, little-endian: the `NameRef` a
/// record carries for it.
pub fn name_ref(name: &[u8]) -> u64 {
    let digest = Md5::digest(name);
    let mut low = [0u8; 8];
    low.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(low)
}

/// Reads a whole profile: records, counters and names.
pub fn parse(bytes: &[u8]) -> Result<Profile, ProfileError> {
    let layout = Layout::read(bytes)?;
    let functions = layout.functions(bytes)?;
    let names = layout.names(bytes)?;
    Ok(Profile { functions, names })
}

/// Reads the records and counters only: whether each function ran, in the
/// order of the records (the same for every run of one binary).
pub fn parse_functions(bytes: &[u8]) -> Result<Vec<Function>, ProfileError> {
    Layout::read(bytes)?.functions(bytes)
}

/// The build ids of the binary that wrote the profile, in hex (GNU build
/// ids on Linux; a binary linked without one has none).
pub fn binary_ids(bytes: &[u8]) -> Result<Vec<String>, ProfileError> {
    let layout = Layout::read(bytes)?;
    let mut ids = Vec::new();
    let mut at = layout.binary_ids;
    let end = layout.binary_ids + layout.binary_ids_size;
    while at + 8 <= end {
        let length = read_u64(bytes, at, "a binary id")?;
        let start = at + 8;
        let stop = usize::try_from(length)
            .ok()
            .and_then(|length| start.checked_add(length))
            .filter(|stop| *stop <= end)
            .ok_or_else(|| truncated("a binary id", start as u64, start as u64 + length, end))?;
        let mut hex = String::with_capacity(2 * (stop - start));
        for byte in &bytes[start..stop] {
            let _ = write!(hex, "{byte:02x}");
        }
        ids.push(hex);
        at = start + (stop - start).div_ceil(8) * 8;
    }
    Ok(ids)
}

/// Where the sections of a profile are.
struct Layout {
    binary_ids: usize,
    binary_ids_size: usize,
    data: usize,
    records: usize,
    record_size: usize,
    counters_at: usize,
    counters: u64,
    counter_size: usize,
    counters_delta: i64,
    names_at: usize,
    names_size: usize,
}

impl Layout {
    fn read(bytes: &[u8]) -> Result<Self, ProfileError> {
        let header = |index: usize| read_u64(bytes, index * 8, "the header");
        let magic = header(0)?;
        if magic != MAGIC {
            return Err(ProfileError::Magic(magic));
        }
        let version = header(1)?;
        if version & DEBUG_INFO_CORRELATE != 0 {
            return Err(ProfileError::Correlated);
        }
        if version & !VARIANT_MASK != VERSION {
            return Err(ProfileError::Version(version & !VARIANT_MASK));
        }
        let counter_size = if version & BYTE_COVERAGE != 0 { 1 } else { 8 };
        let binary_ids = header(2)?;
        let records = header(3)?;
        let padding_before_counters = header(4)?;
        let counters = header(5)?;
        let padding_after_counters = header(6)?;
        let bitmap_bytes = header(7)?;
        let padding_after_bitmap = header(8)?;
        let names_size = header(9)?;
        let counters_delta = header(10)? as i64;
        let value_kind_last = header(15)?;
        if value_kind_last > 64 {
            return Err(truncated(
                "the value kinds",
                120,
                value_kind_last,
                bytes.len(),
            ));
        }
        // NameRef, FuncHash, CounterPtr, BitmapPtr, FunctionPointer, Values,
        // NumCounters (u32), NumValueSites (u16 per kind), NumBitmapBytes
        // (u32), padded to 8.
        let record_size = (48 + 4 + 2 * (value_kind_last as usize + 1) + 4).div_ceil(8) * 8;
        let mut at = (HEADER_FIELDS * 8) as u64;
        let mut section = |what: &'static str, size: u64| -> Result<u64, ProfileError> {
            let start = at;
            let end = start
                .checked_add(size)
                .filter(|end| *end <= bytes.len() as u64)
                .ok_or_else(|| truncated(what, start, start.saturating_add(size), bytes.len()))?;
            at = end;
            Ok(start)
        };
        let binary_ids_at = section("the binary ids", binary_ids)?;
        let data_size = records.saturating_mul(record_size as u64);
        let data = section("the function records", data_size)?;
        section("the padding before the counters", padding_before_counters)?;
        let counter_bytes = counters.saturating_mul(counter_size as u64);
        let counters_at = section("the counters", counter_bytes)?;
        section("the padding after the counters", padding_after_counters)?;
        section("the bitmaps", bitmap_bytes)?;
        section("the padding after the bitmaps", padding_after_bitmap)?;
        let names_at = section("the names", names_size)?;
        Ok(Self {
            binary_ids: binary_ids_at as usize,
            binary_ids_size: binary_ids as usize,
            data: data as usize,
            records: records as usize,
            record_size,
            counters_at: counters_at as usize,
            counters,
            counter_size,
            counters_delta,
            names_at: names_at as usize,
            names_size: names_size as usize,
        })
    }

    fn functions(&self, bytes: &[u8]) -> Result<Vec<Function>, ProfileError> {
        let counters = &bytes[self.counters_at..self.counters_at + self.counter_bytes()];
        let mut functions = Vec::with_capacity(self.records);
        let mut delta = self.counters_delta;
        for record in 0..self.records {
            let offset = self.data + record * self.record_size;
            let name_ref = read_u64(bytes, offset, "a function record")?;
            let hash = read_u64(bytes, offset + 8, "a function record")?;
            let counter_ptr = read_u64(bytes, offset + 16, "a function record")? as i64;
            let count = read_u32(bytes, offset + 48, "a function record")?;
            // Counter pointers are relative to the record itself.
            let first_byte = counter_ptr.wrapping_sub(delta);
            delta = delta.wrapping_sub(self.record_size as i64);
            let size = self.counter_size as i64;
            let first = first_byte / size;
            let end = first.saturating_add(i64::from(count));
            if count > 0
                && (first_byte < 0
                    || first_byte % size != 0
                    || end > i64::try_from(self.counters).unwrap_or(i64::MAX))
            {
                return Err(ProfileError::Counters {
                    record,
                    offset,
                    first,
                    end,
                    total: self.counters,
                });
            }
            let ran = if count == 0 {
                false
            } else {
                let slice = &counters[first_byte as usize..(end * size) as usize];
                if self.counter_size == 1 {
                    slice.contains(&0)
                } else {
                    slice.iter().any(|byte| *byte != 0)
                }
            };
            functions.push(Function {
                name_ref,
                hash,
                counters: count,
                ran,
            });
        }
        Ok(functions)
    }

    fn counter_bytes(&self) -> usize {
        self.counters as usize * self.counter_size
    }

    fn names(&self, bytes: &[u8]) -> Result<Vec<String>, ProfileError> {
        let section = &bytes[self.names_at..self.names_at + self.names_size];
        let mut names = Vec::new();
        let mut at = 0;
        while at < section.len() {
            let start = at;
            let error = |message: String| ProfileError::Names {
                offset: self.names_at + start,
                message,
            };
            let (plain_size, used) = uleb128(&section[at..])
                .ok_or_else(|| error("a chunk's size is not a LEB128 number".to_owned()))?;
            at += used;
            let (packed_size, used) = uleb128(&section[at..]).ok_or_else(|| {
                error("a chunk's compressed size is not a LEB128 number".to_owned())
            })?;
            at += used;
            let plain_size = usize::try_from(plain_size).unwrap_or(usize::MAX);
            if plain_size > MAX_NAMES_CHUNK {
                return Err(error(format!(
                    "a chunk claims {plain_size} bytes of names, more than the {MAX_NAMES_CHUNK} allowed"
                )));
            }
            let stored = if packed_size == 0 {
                plain_size
            } else {
                usize::try_from(packed_size).unwrap_or(usize::MAX)
            };
            let Some(data) = at.checked_add(stored).and_then(|end| section.get(at..end)) else {
                return Err(error(format!(
                    "a chunk of {stored} bytes runs past the end of the names ({} bytes left)",
                    section.len() - at
                )));
            };
            at += stored;
            let plain = if packed_size == 0 {
                data.to_vec()
            } else {
                let plain =
                    miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(data, plain_size)
                        .map_err(|failure| {
                            error(format!("a compressed chunk does not inflate: {failure}"))
                        })?;
                if plain.len() != plain_size {
                    return Err(error(format!(
                        "a compressed chunk inflates to {} bytes, not the {plain_size} it claims",
                        plain.len()
                    )));
                }
                plain
            };
            for name in plain
                .split(|byte| *byte == 1)
                .filter(|name| !name.is_empty())
            {
                names.push(String::from_utf8_lossy(name).into_owned());
            }
            // Chunks are not padded, but the section may end in zeros.
            if section[at..].iter().all(|byte| *byte == 0) {
                break;
            }
        }
        Ok(names)
    }
}

fn truncated(what: &'static str, start: u64, end: u64, len: usize) -> ProfileError {
    ProfileError::Truncated {
        what,
        start,
        end,
        len,
    }
}

fn read_u64(bytes: &[u8], at: usize, what: &'static str) -> Result<u64, ProfileError> {
    bytes
        .get(at..at + 8)
        .map(|slice| u64::from_le_bytes(slice.try_into().unwrap_or([0; 8])))
        .ok_or_else(|| truncated(what, at as u64, at as u64 + 8, bytes.len()))
}

fn read_u32(bytes: &[u8], at: usize, what: &'static str) -> Result<u32, ProfileError> {
    bytes
        .get(at..at + 4)
        .map(|slice| u32::from_le_bytes(slice.try_into().unwrap_or([0; 4])))
        .ok_or_else(|| truncated(what, at as u64, at as u64 + 4, bytes.len()))
}

/// An unsigned LEB128 number and the bytes it took.
fn uleb128(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (index, byte) in bytes.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * index);
        if byte & 0x80 == 0 {
            return Some((value, index + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn leb128_reads_multi_byte_numbers_and_refuses_unterminated_ones() {
        assert_eq!(uleb128(&[0x47]), Some((0x47, 1)));
        assert_eq!(uleb128(&[0xe5, 0x8e, 0x26]), Some((624_485, 3)));
        assert_eq!(uleb128(&[0x80, 0x80]), None);
        assert_eq!(uleb128(&[]), None);
    }

    #[test]
    fn name_refs_are_the_low_half_of_md5() {
        // The record of `tiny::tests::a` in a profile written by rustc 1.95.
        assert_eq!(
            name_ref(b"_RNvNtCs694WahZGYuQ_4tiny5testss_1a"),
            0xa0d3_0c17_da92_a082
        );
    }

    /// A profile rustc 1.95 wrote (`fixtures/coverage/regenerate.sh`): the
    /// test `tests::b` of a small crate.
    fn fixture() -> Vec<u8> {
        std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/coverage/tiny.profraw"
        ))
        .unwrap()
    }

    #[test]
    fn a_real_profile_says_which_functions_ran() {
        let profile = parse(&fixture()).unwrap();
        let names = profile.name_map();
        let ran: BTreeSet<String> = profile
            .functions
            .iter()
            .filter(|function| function.ran)
            .map(|function| crate::symbol::keys(names[&function.name_ref]).join(","))
            .collect();
        let not_ran: BTreeSet<String> = profile
            .functions
            .iter()
            .filter(|function| !function.ran)
            .map(|function| crate::symbol::keys(names[&function.name_ref]).join(","))
            .collect();
        assert_eq!(
            ran,
            ["S::method", "generic", "tests::b", "used"]
                .map(str::to_owned)
                .into()
        );
        // `unused` is compiled but never called by any code: it has no record.
        assert_eq!(not_ran, ["tests::a"].map(str::to_owned).into());
        assert_eq!(binary_ids(&fixture()).unwrap().len(), 1);
    }

    #[test]
    fn every_cut_of_a_real_profile_is_refused_or_read_without_panicking() {
        let bytes = fixture();
        for cut in 0..bytes.len() {
            let _ = parse(&bytes[..cut]);
            let _ = binary_ids(&bytes[..cut]);
        }
        // Cut inside the header, the records or the counters: an error.
        for cut in [8, 100, 200, 0x230] {
            assert!(parse(&bytes[..cut]).is_err(), "cut at {cut}");
        }
    }

    proptest::proptest! {
        #[test]
        fn altered_bytes_never_panic(at in 0usize..872, byte in 0u8..=255) {
            let mut bytes = fixture();
            let at = at % bytes.len();
            bytes[at] = byte;
            let _ = parse(&bytes);
            let _ = binary_ids(&bytes);
        }
    }

    #[test]
    fn a_names_chunk_that_claims_a_gigabyte_is_refused_before_inflating() {
        let mut bytes = fixture();
        let layout = Layout::read(&bytes).unwrap();
        // The first chunk's size: 2 GiB as LEB128.
        let huge = [0x80, 0x80, 0x80, 0x80, 0x08];
        let mut patched = bytes[..layout.names_at].to_vec();
        patched.extend_from_slice(&huge);
        patched.extend_from_slice(&bytes[layout.names_at + 1..]);
        bytes = patched;
        let Err(ProfileError::Names { message, .. }) = parse(&bytes) else {
            panic!("accepted");
        };
        assert!(message.contains("more than"), "{message}");
    }

    #[test]
    fn a_wrong_magic_and_a_short_header_are_refused() {
        assert_eq!(
            parse(b"GIF89a\0\0"),
            Err(ProfileError::Magic(0x0000_6139_3846_4947))
        );
        let mut short = MAGIC.to_le_bytes().to_vec();
        short.extend_from_slice(&VERSION.to_le_bytes());
        assert!(matches!(
            parse(&short),
            Err(ProfileError::Truncated {
                what: "the header",
                ..
            })
        ));
    }
}
