//! Durations and timestamps as JUnit writers spell them.

/// Parses a JUnit `time` value into seconds.
///
/// Accepts plain seconds (`1.5`, `.5`, `3`), thousands separators
/// (`1,234.5`, `1,234,567`), a decimal comma (`0,03`: a single comma and
/// no dot is read as a decimal comma), Go-style unit sequences (`80.803us`,
/// `12ms`, `1.2s`, `1m30.5s`, `2h`), clock form (`0:00:00.69`, `1:02`) and
/// exponent notation (`3.4e-05`, `1E+2`).
/// Anything else, a negative number, or a non-finite one is `None`: an
/// unreadable time is unknown, never 0.
pub fn parse_duration(text: &str) -> Option<f64> {
    if let Some(seconds) = parse_plain(text.as_bytes()) {
        return Some(seconds);
    }
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let seconds = if text.contains(':') {
        parse_clock(text)?
    } else if let Some(seconds) = parse_exponent(text) {
        seconds
    } else if text.bytes().any(|b| b.is_ascii_alphabetic() || b >= 0x80) {
        parse_units(text)?
    } else {
        parse_number(text)?
    };
    (seconds.is_finite() && seconds >= 0.0).then_some(seconds)
}

/// [`parse_duration`] on raw bytes, without a UTF-8 check in the common
/// case.
pub(crate) fn parse_duration_bytes(bytes: &[u8]) -> Option<f64> {
    parse_plain(bytes).or_else(|| parse_duration(std::str::from_utf8(bytes).ok()?))
}

/// The common case, `1.234`: up to 15 digits with at most one dot, read
/// exactly as `str::parse` would (an integer divided by a power of ten is
/// correctly rounded when both are exact in `f64`).
fn parse_plain(bytes: &[u8]) -> Option<f64> {
    const POWERS: [f64; 16] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    ];
    if bytes.is_empty() || bytes.len() > 16 {
        return None;
    }
    let mut mantissa: u64 = 0;
    let mut digits = 0usize;
    let mut fraction: Option<usize> = None;
    for &byte in bytes {
        match byte {
            b'0'..=b'9' => {
                mantissa = mantissa * 10 + u64::from(byte - b'0');
                digits += 1;
                if let Some(count) = fraction.as_mut() {
                    *count += 1;
                }
            }
            b'.' if fraction.is_none() => fraction = Some(0),
            _ => return None,
        }
    }
    if digits == 0 || digits > 15 {
        return None;
    }
    Some(mantissa as f64 / POWERS[fraction.unwrap_or(0)])
}

/// A decimal number with optional thousands separators or a decimal comma.
fn parse_number(text: &str) -> Option<f64> {
    let text = text.strip_prefix('+').unwrap_or(text);
    // The common case, `1.234`: digits and at most one dot.
    let bytes = text.as_bytes();
    if bytes.iter().all(|&b| b.is_ascii_digit() || b == b'.')
        && memchr::memchr_iter(b'.', bytes).nth(1).is_none()
        && bytes.iter().any(u8::is_ascii_digit)
    {
        return text.parse::<f64>().ok();
    }
    if !text
        .bytes()
        .all(|b| b.is_ascii_digit() || b == b'.' || b == b',')
        || !text.bytes().any(|b| b.is_ascii_digit())
    {
        return None;
    }
    let commas = text.bytes().filter(|&b| b == b',').count();
    let has_dot = text.contains('.');
    let normalised: std::borrow::Cow<'_, str> = match (commas, has_dot) {
        (0, _) => text.into(),
        (1, false) => text.replace(',', ".").into(),
        (_, _) => {
            // Thousands separators: groups of exactly three digits after each comma.
            let integer = text.split('.').next().unwrap_or_default();
            let mut groups = integer.split(',');
            let first = groups.next().unwrap_or_default();
            if first.is_empty() || first.len() > 3 || !groups.all(|g| g.len() == 3) {
                return None;
            }
            text.replace(',', "").into()
        }
    };
    if normalised.bytes().filter(|&b| b == b'.').count() > 1 {
        return None;
    }
    normalised.parse::<f64>().ok()
}

/// Exponent notation, `3.4e-05` or `1E3`: what C++ streams (CTest) and
/// `str(float)` in Python (TAP-to-JUnit converters) write for very short
/// or very long times. Digits with at most one dot, `e` or `E`, an optional
/// sign, digits; nothing else.
fn parse_exponent(text: &str) -> Option<f64> {
    let text = text.strip_prefix('+').unwrap_or(text);
    let (mantissa, exponent) = text.split_once(['e', 'E'])?;
    let exponent_digits = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
    let mantissa_ok = mantissa.bytes().any(|b| b.is_ascii_digit())
        && mantissa.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && mantissa.bytes().filter(|&b| b == b'.').count() <= 1;
    let exponent_ok =
        !exponent_digits.is_empty() && exponent_digits.bytes().all(|b| b.is_ascii_digit());
    (mantissa_ok && exponent_ok)
        .then(|| text.parse::<f64>().ok())
        .flatten()
}

/// `h:m:s(.frac)` or `m:s(.frac)`.
fn parse_clock(text: &str) -> Option<f64> {
    let parts: Vec<&str> = text.split(':').collect();
    if parts.len() > 3 || parts.iter().any(|p| p.is_empty()) {
        return None;
    }
    let mut seconds = 0.0;
    let last = parts.len() - 1;
    for (index, part) in parts.iter().enumerate() {
        let value = if index == last {
            parse_number(part)?
        } else {
            if !part.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            part.parse::<f64>().ok()?
        };
        seconds = seconds * 60.0 + value;
    }
    Some(seconds)
}

/// A sequence of `<number><unit>`: `1h2m3.5s`, `80.803us`, `12ms`.
fn parse_units(text: &str) -> Option<f64> {
    let mut rest = text;
    let mut total = 0.0;
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ','))
            .unwrap_or(rest.len());
        if number_end == 0 {
            return None;
        }
        let value = parse_number(&rest[..number_end])?;
        rest = &rest[number_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match rest[..unit_end].trim() {
            "h" => 3600.0,
            "m" | "min" => 60.0,
            "s" | "sec" | "secs" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" | "μs" => 1e-6,
            "ns" => 1e-9,
            _ => return None,
        };
        rest = &rest[unit_end..];
        total += value * scale;
    }
    Some(total)
}

/// Normalises a testsuite `timestamp`.
///
/// A timestamp with a zone or offset becomes RFC 3339 in UTC
/// (`2026-03-01T12:00:00Z`). A zoneless one (Surefire writes local time)
/// is kept zoneless, normalised to `YYYY-MM-DDTHH:MM:SS[.fff]`: no zone is
/// invented. Text that is neither is kept as written (trimmed); empty is
/// `None`.
pub fn normalise_timestamp(text: &str) -> Option<String> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if let Ok(timestamp) = text.parse::<jiff::Timestamp>() {
        return Some(timestamp.to_string());
    }
    if let Ok(datetime) = text.parse::<jiff::civil::DateTime>() {
        return Some(datetime.to_string());
    }
    Some(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(actual: Option<f64>, expected: f64) -> bool {
        actual.is_some_and(|a| (a - expected).abs() < 1e-9)
    }

    #[test]
    fn plain_seconds() {
        assert!(close(parse_duration("1.5"), 1.5));
        assert!(close(parse_duration(" 3 "), 3.0));
        assert!(close(parse_duration(".25"), 0.25));
        assert!(close(parse_duration("0"), 0.0));
    }

    #[test]
    fn the_fast_path_agrees_with_str_parse() {
        for text in [
            "0.001",
            "1.5",
            "123.456789",
            "0.1",
            "999999999.999999",
            "7",
            "7.",
            ".7",
            "0.30000000000000004",
        ] {
            assert_eq!(parse_duration(text), text.parse::<f64>().ok(), "{text}");
        }
    }

    #[test]
    fn thousands_separators_and_decimal_commas() {
        assert!(close(parse_duration("1,234.5"), 1234.5));
        assert!(close(parse_duration("1,234,567"), 1_234_567.0));
        assert!(close(parse_duration("0,03"), 0.03));
        assert!(close(parse_duration("12,345"), 12.345));
        assert_eq!(parse_duration("1,23.5"), None);
    }

    #[test]
    fn unit_suffixes() {
        assert!(close(parse_duration("80.803us"), 80.803e-6));
        assert!(close(parse_duration("12ms"), 0.012));
        assert!(close(parse_duration("1.2s"), 1.2));
        assert!(close(parse_duration("1m30.5s"), 90.5));
        assert!(close(parse_duration("2h"), 7200.0));
        assert!(close(parse_duration("5µs"), 5e-6));
        assert_eq!(parse_duration("12 parsecs"), None);
    }

    #[test]
    fn clock_form() {
        assert!(close(parse_duration("0:00:00.69"), 0.69));
        assert!(close(parse_duration("1:02:03"), 3723.0));
        assert!(close(parse_duration("2:03.5"), 123.5));
        assert_eq!(parse_duration("1::2"), None);
    }

    #[test]
    fn garbage_is_unknown_not_zero() {
        for text in [
            "", "  ", "NaN", "inf", "-1", "abc", "1.2.3", "..", ",", "1e999",
        ] {
            assert_eq!(parse_duration(text), None, "{text:?}");
        }
    }

    #[test]
    fn exponent_notation() {
        assert!(close(parse_duration("3.4e-05"), 3.4e-5));
        assert!(close(parse_duration("1E3"), 1000.0));
        assert!(close(parse_duration("2.5e+1"), 25.0));
        assert!(close(parse_duration(" 7e-07 "), 7e-7));
        for text in [
            "e5", "1e", "1e-", "1.2.3e4", "1e2.5", "-1e-3", "1e999", "1e-3s",
        ] {
            assert_eq!(parse_duration(text), None, "{text:?}");
        }
    }

    #[test]
    fn timestamps() {
        assert_eq!(
            normalise_timestamp("2026-03-01T12:00:00+02:00").as_deref(),
            Some("2026-03-01T10:00:00Z")
        );
        assert_eq!(
            normalise_timestamp("2026-03-01T12:00:00.5Z").as_deref(),
            Some("2026-03-01T12:00:00.5Z")
        );
        assert_eq!(
            normalise_timestamp("2026-03-01T12:00:00").as_deref(),
            Some("2026-03-01T12:00:00")
        );
        assert_eq!(
            normalise_timestamp("2026-03-01 12:00:00").as_deref(),
            Some("2026-03-01T12:00:00")
        );
        assert_eq!(
            normalise_timestamp("yesterday").as_deref(),
            Some("yesterday")
        );
        assert_eq!(normalise_timestamp(" "), None);
    }
}
