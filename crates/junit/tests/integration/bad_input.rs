//! Bad input gets a typed error with its position, fast, in bounded memory.

use hourglass_junit::{ReadError, ReadOptions, read_all};

use crate::support::{handwritten, read_str};

fn error_of(file: &str) -> ReadError {
    read_all(&handwritten(file), &ReadOptions::default()).expect_err(file)
}

#[test]
fn an_empty_file_is_empty() {
    assert!(matches!(error_of("empty.xml"), ReadError::Empty { .. }));
    assert!(matches!(
        read_str("<?xml version='1.0'?>\n<!-- nothing -->\n"),
        Err(ReadError::Empty { .. })
    ));
}

#[test]
fn a_truncated_file_names_the_open_element_and_where_it_ended() {
    let error = error_of("truncated.xml");
    let ReadError::Truncated {
        line,
        column,
        open_element,
        ..
    } = &error
    else {
        panic!("{error:?}");
    };
    assert_eq!((*line, *column), (7, 1));
    assert_eq!(open_element, "system-out");
    assert!(
        error
            .to_string()
            .ends_with("truncated.xml:7:1: unexpected end of file inside <system-out>")
    );
}

#[test]
fn truncation_inside_a_tag_is_truncation() {
    let error = read_str("<testsuites>\n<testsuite name=\"a\">\n<testcase name=\"x").unwrap_err();
    assert!(
        matches!(error, ReadError::Truncated { line: 3, .. }),
        "{error:?}"
    );
}

#[test]
fn results_before_the_fault_are_still_delivered() {
    let mut names = Vec::new();
    let outcome = hourglass_junit::read_file(
        &handwritten("truncated.xml"),
        &ReadOptions::default(),
        &mut |r| {
            names.push(r.key.name);
            Ok(())
        },
    );
    assert!(outcome.is_err());
    assert_eq!(names, ["first"]);
}

#[test]
fn a_non_junit_root_is_refused_by_name() {
    let error = error_of("not-junit.xml");
    assert!(
        matches!(&error, ReadError::NotJunit { root_element, .. } if root_element == "html"),
        "{error:?}"
    );
}

#[test]
fn billion_laughs_is_never_expanded() {
    let started = std::time::Instant::now();
    let error = error_of("billion-laughs.xml");
    let ReadError::Entity {
        name, line, column, ..
    } = &error
    else {
        panic!("{error:?}");
    };
    assert_eq!(name, "lol9");
    assert_eq!((*line, *column), (17, 28));
    // Not a timing assertion on the reader: an expansion would take minutes and gigabytes.
    assert!(started.elapsed().as_secs() < 30);
}

#[test]
fn an_undefined_entity_in_an_attribute_is_an_entity_error() {
    let error = read_str("<testsuite name=\"&nope;\"/>").unwrap_err();
    assert!(
        matches!(&error, ReadError::Entity { name, line: 1, .. } if name == "nope"),
        "{error:?}"
    );
}

#[test]
fn invalid_utf8_is_malformed_at_its_position() {
    let error = error_of("invalid-utf-8.xml");
    assert!(
        matches!(
            error,
            ReadError::Malformed {
                line: 3,
                column: 40,
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn mismatched_tags_are_malformed_with_both_names() {
    let error = error_of("mismatched-tags.xml");
    let ReadError::Malformed {
        line,
        column,
        message,
        ..
    } = &error
    else {
        panic!("{error:?}");
    };
    assert_eq!((*line, *column), (5, 5));
    assert!(
        message.contains("</testcase>") && message.contains("</testsuite>"),
        "{message}"
    );
}

#[test]
fn an_unknown_encoding_is_refused_by_name() {
    let error = error_of("unknown-encoding.xml");
    assert!(
        matches!(&error, ReadError::Encoding { encoding, .. } if encoding == "EBCDIC-CP-US"),
        "{error:?}"
    );
}

#[test]
fn a_missing_file_is_an_io_error_naming_it() {
    let error = error_of("no-such-file.xml");
    assert!(matches!(error, ReadError::Io { .. }));
    assert!(error.to_string().contains("no-such-file.xml"));
}

#[test]
fn a_sink_error_stops_the_read() {
    let xml = "<testsuite name='s'><testcase name='a'/><testcase name='b'/></testsuite>";
    let mut seen = 0;
    let error = hourglass_junit::read(
        xml.as_bytes(),
        std::path::Path::new("s.xml"),
        &ReadOptions::default(),
        &mut |_| {
            seen += 1;
            Err("disk full".into())
        },
    )
    .unwrap_err();
    assert_eq!(seen, 1);
    assert!(matches!(error, ReadError::Sink { .. }));
    assert_eq!(error.to_string(), "s.xml: disk full");
}

#[test]
fn a_huge_attribute_is_read_and_output_stays_bounded() {
    let name = "n".repeat(1 << 20);
    let body = "x".repeat(1 << 20);
    let xml = format!(
        "<testsuite name='s'><testcase name='{name}'><system-out>{body}</system-out></testcase></testsuite>"
    );
    let (results, _) = read_str(&xml).unwrap();
    assert_eq!(results[0].key.name.len(), 1 << 20);
    assert_eq!(results[0].output.as_deref().map(str::len), Some(8 * 1024));
    assert_eq!(results[0].output_dropped_bytes, (1 << 20) - 8 * 1024);
}
