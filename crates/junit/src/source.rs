//! The byte source under the XML parser: encoding detection, transcoding
//! to UTF-8, and line/column tracking.

use std::collections::VecDeque;
use std::io::{self, BufRead, Chain, Cursor, Read};

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE};

/// How many bytes are looked at for a byte-order mark and an XML declaration.
const SNIFF_BYTES: usize = 1024;

/// What the first bytes of a file say about its encoding.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Detected {
    /// UTF-8 (or ASCII, or no declaration): bytes pass through.
    Utf8,
    /// Another encoding that encoding_rs decodes to UTF-8.
    Other(&'static Encoding),
    /// A declared encoding that is not supported, by its label.
    Unsupported(String),
}

/// Reads up to [`SNIFF_BYTES`] into a prefix and decides the encoding.
/// Returns the prefix (without a UTF-8 byte-order mark) and the decision.
pub(crate) fn sniff<R: BufRead>(input: &mut R) -> io::Result<(Vec<u8>, Detected)> {
    let mut prefix = Vec::with_capacity(SNIFF_BYTES);
    input
        .by_ref()
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut prefix)?;
    let detected = detect(&prefix);
    if prefix.starts_with(b"\xEF\xBB\xBF") {
        prefix.drain(..3);
    }
    Ok((prefix, detected))
}

fn detect(prefix: &[u8]) -> Detected {
    match prefix {
        [0xFF, 0xFE, ..] | [b'<', 0, b'?', 0, ..] => return Detected::Other(UTF_16LE),
        [0xFE, 0xFF, ..] | [0, b'<', 0, b'?', ..] => return Detected::Other(UTF_16BE),
        _ => {}
    }
    let Some(label) = declared_encoding(prefix) else {
        return Detected::Utf8;
    };
    match Encoding::for_label(label.as_bytes()) {
        // A declaration readable as ASCII cannot be in UTF-16, whatever it says.
        Some(encoding) if encoding == UTF_8 || encoding == UTF_16LE || encoding == UTF_16BE => {
            Detected::Utf8
        }
        // Labels such as ISO-2022-KR map to "replacement": refuse rather than garble.
        Some(encoding) if encoding == encoding_rs::REPLACEMENT => Detected::Unsupported(label),
        Some(encoding) => Detected::Other(encoding),
        None if label.eq_ignore_ascii_case("ascii") => Detected::Utf8,
        None => Detected::Unsupported(label),
    }
}

/// The `encoding` pseudo-attribute of an `<?xml ...?>` declaration.
fn declared_encoding(prefix: &[u8]) -> Option<String> {
    let prefix = prefix.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(prefix);
    let rest = prefix.strip_prefix(b"<?xml")?;
    let end = memchr::memmem::find(rest, b"?>")?;
    let decl = &rest[..end];
    let at = memchr::memmem::find(decl, b"encoding")?;
    let after = decl[at + b"encoding".len()..].trim_ascii_start();
    let after = after.strip_prefix(b"=")?.trim_ascii_start();
    let quote = *after.first()?;
    if quote != b'"' && quote != b'\'' {
        return None;
    }
    let value = &after[1..];
    let close = memchr::memchr(quote, value)?;
    Some(String::from_utf8_lossy(&value[..close]).trim().to_owned())
}

/// The sniffed prefix followed by the rest of the input.
pub(crate) type Rejoined<R> = Chain<Cursor<Vec<u8>>, R>;

/// UTF-8 bytes: passed through, or transcoded from another encoding.
pub(crate) enum Utf8Source<R: BufRead> {
    Plain(Rejoined<R>),
    Decoded(Transcoder<Rejoined<R>>),
}

impl<R: BufRead> Read for Utf8Source<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Utf8Source<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        match self {
            Utf8Source::Plain(inner) => inner.fill_buf(),
            Utf8Source::Decoded(inner) => inner.fill_buf(),
        }
    }

    fn consume(&mut self, amount: usize) {
        match self {
            Utf8Source::Plain(inner) => inner.consume(amount),
            Utf8Source::Decoded(inner) => inner.consume(amount),
        }
    }
}

/// Decodes a legacy or UTF-16 byte stream into UTF-8 in 64 KiB chunks.
/// Malformed sequences become U+FFFD (encoding_rs replacement semantics).
pub(crate) struct Transcoder<R> {
    inner: R,
    decoder: encoding_rs::Decoder,
    out: Box<[u8]>,
    start: usize,
    end: usize,
    finished: bool,
}

impl<R: BufRead> Transcoder<R> {
    pub(crate) fn new(inner: R, encoding: &'static Encoding) -> Self {
        Self {
            inner,
            decoder: encoding.new_decoder_with_bom_removal(),
            out: vec![0; 64 * 1024].into_boxed_slice(),
            start: 0,
            end: 0,
            finished: false,
        }
    }
}

impl<R: BufRead> Read for Transcoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Transcoder<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.start == self.end && !self.finished {
            let src = self.inner.fill_buf()?;
            let last = src.is_empty();
            let (_, read, written, _) = self.decoder.decode_to_utf8(src, &mut self.out, last);
            self.inner.consume(read);
            self.start = 0;
            self.end = written;
            self.finished = last;
        }
        Ok(&self.out[self.start..self.end])
    }

    fn consume(&mut self, amount: usize) {
        self.start = (self.start + amount).min(self.end);
    }
}

/// The most bytes handed to the parser at once.
const MAX_PIECE: usize = 64 * 1024;

/// How many of the most recent bytes are kept to turn an error's byte
/// offset into a line and column.
const LINE_WINDOW: usize = 256 * 1024;

/// Passes bytes through and scans each buffer once as it arrives: it counts
/// newlines and keeps the most recent bytes, so that an error's byte offset
/// becomes a line and a column without keeping the file, and it checks that
/// the bytes are UTF-8, noting the offset of the first that is not.
pub(crate) struct Scanner<R> {
    inner: R,
    /// Offset of the first byte of `inner`'s buffer.
    consumed: u64,
    /// Bytes before this offset have been scanned.
    scanned: u64,
    lines: Lines,
    utf8: Utf8Check,
}

/// A 1-based line and column (in bytes), and whether it is exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Position {
    pub line: u64,
    pub column: u64,
    pub exact: bool,
}

/// A run of recent bytes and what came before it.
struct Chunk {
    start: u64,
    newlines_before: u64,
    last_newline_before: Option<u64>,
    bytes: Vec<u8>,
}

#[derive(Default)]
struct Lines {
    chunks: VecDeque<Chunk>,
    spare: Vec<Vec<u8>>,
    retained: usize,
    newlines: u64,
    last_newline: Option<u64>,
    evicted: bool,
}

/// Counts newlines in blocks of 255 bytes with a `u8` sum each, which the
/// compiler turns into wide vector compares.
fn count_newlines(bytes: &[u8]) -> u64 {
    bytes
        .chunks(255)
        .map(|block| {
            u64::from(
                block
                    .iter()
                    .fold(0u8, |sum, &b| sum.wrapping_add(u8::from(b == b'\n'))),
            )
        })
        .sum()
}

impl Lines {
    fn scan(&mut self, fresh: &[u8], at: u64) {
        match self.chunks.back_mut() {
            Some(last) if last.bytes.len() < 64 * 1024 => last.bytes.extend_from_slice(fresh),
            _ => {
                let mut bytes = self.spare.pop().unwrap_or_default();
                bytes.clear();
                bytes.extend_from_slice(fresh);
                self.chunks.push_back(Chunk {
                    start: at,
                    newlines_before: self.newlines,
                    last_newline_before: self.last_newline,
                    bytes,
                });
            }
        }
        self.retained += fresh.len();
        let count = count_newlines(fresh);
        if count > 0 {
            self.newlines += count;
            self.last_newline = memchr::memrchr(b'\n', fresh).map(|index| at + index as u64);
        }
        while self.chunks.len() > 1 && self.retained - self.chunks[0].bytes.len() >= LINE_WINDOW {
            if let Some(oldest) = self.chunks.pop_front() {
                self.retained -= oldest.bytes.len();
                self.spare.push(oldest.bytes);
                self.evicted = true;
            }
        }
    }

    fn position(&self, offset: u64) -> Position {
        let found = self.chunks.iter().rev().find(|chunk| chunk.start <= offset);
        let Some(chunk) = found else {
            // Before the window (or nothing read yet).
            let newlines_before = self.chunks.front().map_or(0, |c| c.newlines_before);
            return Position {
                line: newlines_before + 1,
                column: offset + 1,
                exact: !self.evicted,
            };
        };
        let index = usize::try_from(offset - chunk.start)
            .unwrap_or(usize::MAX)
            .min(chunk.bytes.len());
        let prefix = &chunk.bytes[..index];
        let line = chunk.newlines_before + count_newlines(prefix) + 1;
        let column = match memchr::memrchr(b'\n', prefix) {
            Some(newline) => (index - newline) as u64,
            None => chunk
                .last_newline_before
                .map_or(offset + 1, |newline| offset - newline),
        };
        Position {
            line,
            column,
            exact: true,
        }
    }
}

/// Incremental UTF-8 validation across buffer boundaries.
#[derive(Default)]
struct Utf8Check {
    /// The start of a character cut by the end of the last chunk.
    pending: [u8; 4],
    pending_len: usize,
    pending_at: u64,
    invalid_at: Option<u64>,
}

impl Utf8Check {
    fn scan(&mut self, mut chunk: &[u8], mut at: u64) {
        if self.invalid_at.is_some() {
            return;
        }
        if self.pending_len > 0 {
            let width = match self.pending[0] {
                0xC0..=0xDF => 2,
                0xE0..=0xEF => 3,
                _ => 4,
            };
            let take = (width - self.pending_len).min(chunk.len());
            self.pending[self.pending_len..self.pending_len + take].copy_from_slice(&chunk[..take]);
            self.pending_len += take;
            chunk = &chunk[take..];
            at += take as u64;
            if self.pending_len < width {
                return;
            }
            self.pending_len = 0;
            if std::str::from_utf8(&self.pending[..width]).is_err() {
                self.invalid_at = Some(self.pending_at);
                return;
            }
        }
        if let Err(error) = std::str::from_utf8(chunk) {
            let valid = error.valid_up_to();
            if error.error_len().is_some() {
                self.invalid_at = Some(at + valid as u64);
            } else {
                let rest = &chunk[valid..];
                self.pending[..rest.len()].copy_from_slice(rest);
                self.pending_len = rest.len();
                self.pending_at = at + valid as u64;
            }
        }
    }
}

impl<R: BufRead> Scanner<R> {
    pub(crate) fn new(inner: R) -> Self {
        Self {
            inner,
            consumed: 0,
            scanned: 0,
            lines: Lines::default(),
            utf8: Utf8Check::default(),
        }
    }

    /// The offset of the first byte that is not UTF-8 among those scanned
    /// (a character cut by the end of the input counts once `at_end`).
    pub(crate) fn invalid_utf8(&self, at_end: bool) -> Option<u64> {
        self.utf8
            .invalid_at
            .or_else(|| (at_end && self.utf8.pending_len > 0).then_some(self.utf8.pending_at))
    }

    /// The line and column of byte `offset` (at most the bytes scanned so
    /// far). Exact unless the offset lies before the window of recent bytes.
    pub(crate) fn position(&self, offset: u64) -> Position {
        self.lines.position(offset.min(self.scanned))
    }
}

impl<R: BufRead> Read for Scanner<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Scanner<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        let Self {
            inner,
            consumed,
            scanned,
            lines,
            utf8,
        } = self;
        let buffered = inner.fill_buf()?;
        // Hand out what was scanned and not yet consumed; when all of it is
        // consumed, scan the next piece of at most MAX_PIECE bytes. Pieces
        // stay large (a fresh scan per event would cost more than the scan)
        // and bounded (an in-memory input hands out all of itself at once).
        let ahead = usize::try_from(*scanned - *consumed).unwrap_or(usize::MAX);
        if ahead > 0 {
            return Ok(&buffered[..ahead.min(buffered.len())]);
        }
        let piece = &buffered[..buffered.len().min(MAX_PIECE)];
        lines.scan(piece, *scanned);
        utf8.scan(piece, *scanned);
        *scanned += piece.len() as u64;
        Ok(piece)
    }

    fn consume(&mut self, amount: usize) {
        self.consumed += amount as u64;
        self.inner.consume(amount);
    }
}

/// Counts lines and columns up to `offset` by reading a stream from the start
/// (the fallback when an error lies before the newline window).
pub(crate) fn rescan_position(mut input: impl BufRead, offset: u64) -> io::Result<Position> {
    let mut remaining = offset;
    let mut line = 1u64;
    let mut column = 1u64;
    while remaining > 0 {
        let chunk = input.fill_buf()?;
        if chunk.is_empty() {
            break;
        }
        let take = chunk
            .len()
            .min(usize::try_from(remaining).unwrap_or(usize::MAX));
        let chunk = &chunk[..take];
        match memchr::memrchr(b'\n', chunk) {
            Some(last) => {
                line += memchr::memchr_iter(b'\n', chunk).count() as u64;
                column = (take - last) as u64;
            }
            None => column += take as u64,
        }
        remaining -= take as u64;
        input.consume(take);
    }
    Ok(Position {
        line,
        column,
        exact: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_declared_and_marked_encodings() {
        assert_eq!(detect(b"<testsuites/>"), Detected::Utf8);
        assert_eq!(
            detect(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>"),
            Detected::Utf8
        );
        assert_eq!(
            detect(b"<?xml version='1.0' encoding = 'ISO-8859-1' ?>"),
            Detected::Other(encoding_rs::WINDOWS_1252)
        );
        assert_eq!(detect(b"\xFF\xFE<\0"), Detected::Other(UTF_16LE));
        assert_eq!(detect(b"\0<\0?\0x"), Detected::Other(UTF_16BE));
        assert_eq!(
            detect(b"<?xml version=\"1.0\" encoding=\"EBCDIC-1047\"?>"),
            Detected::Unsupported("EBCDIC-1047".into())
        );
    }

    #[test]
    fn transcodes_latin1_to_utf8() {
        let input = Cursor::new(b"caf\xE9 \xA9".to_vec());
        let mut out = String::new();
        Transcoder::new(input, encoding_rs::WINDOWS_1252)
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, "café ©");
    }

    #[test]
    fn scanner_positions_match_a_rescan() {
        let text = b"ab\ncde\n\nfghij\nk".to_vec();
        let mut tracker = Scanner::new(std::io::BufReader::with_capacity(3, &text[..]));
        let mut sink = Vec::new();
        tracker.read_to_end(&mut sink).unwrap();
        assert_eq!(sink, text);
        for offset in 0..=text.len() as u64 {
            let tracked = tracker.position(offset);
            let scanned = rescan_position(&text[..], offset).unwrap();
            assert_eq!(
                (tracked.line, tracked.column),
                (scanned.line, scanned.column),
                "offset {offset}"
            );
            assert!(tracked.exact);
        }
    }

    fn first_invalid(text: &[u8], capacity: usize) -> Option<u64> {
        let mut scanner = Scanner::new(std::io::BufReader::with_capacity(capacity, text));
        let mut sink = Vec::new();
        scanner.read_to_end(&mut sink).unwrap();
        scanner.invalid_utf8(true)
    }

    #[test]
    fn positions_far_back_are_marked_inexact_and_recent_ones_exact() {
        let text = "x\n".repeat(400_000).into_bytes();
        let mut scanner = Scanner::new(std::io::BufReader::with_capacity(8 * 1024, &text[..]));
        let mut sink = Vec::new();
        scanner.read_to_end(&mut sink).unwrap();
        assert!(!scanner.position(10).exact);
        let end = text.len() as u64 - 1;
        let recent = scanner.position(end);
        assert!(recent.exact);
        assert_eq!((recent.line, recent.column), (400_000, 2));
    }

    #[test]
    fn an_in_memory_input_is_scanned_in_bounded_pieces() {
        let text = vec![b'a'; 4 * MAX_PIECE];
        let mut scanner = Scanner::new(&text[..]);
        assert_eq!(scanner.fill_buf().unwrap().len(), MAX_PIECE);
        let mut sink = Vec::new();
        scanner.read_to_end(&mut sink).unwrap();
        assert_eq!(sink.len(), text.len());
        assert!(scanner.lines.retained <= LINE_WINDOW + MAX_PIECE);
    }

    #[test]
    fn utf8_is_checked_across_buffer_boundaries() {
        let text = "aé€😀b".as_bytes();
        for capacity in 1..8 {
            assert_eq!(first_invalid(text, capacity), None, "capacity {capacity}");
        }
        let mut broken = text.to_vec();
        broken[2] = b'x'; // the second byte of é
        for capacity in 1..8 {
            assert_eq!(
                first_invalid(&broken, capacity),
                Some(1),
                "capacity {capacity}"
            );
        }
        let cut = &text[..text.len() - 2]; // 😀 cut short at the end
        for capacity in 1..8 {
            assert_eq!(first_invalid(cut, capacity), Some(6), "capacity {capacity}");
        }
    }
}
