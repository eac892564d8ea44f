//! Hand-written files that exercise one quirk each.

use hourglass_junit::{ReadOptions, read_all};
use hourglass_model::Outcome;

use crate::support::{approx, handwritten, named, read_bytes};

#[test]
fn every_time_notation_is_read_and_unreadable_ones_are_unknown() {
    let (results, _) = read_all(&handwritten("times.xml"), &ReadOptions::default()).unwrap();
    let time = |name: &str| named(&results, name).duration_s;
    assert!(approx(time("plain"), 1.5));
    assert!(approx(time("thousands"), 1234.5));
    assert!(approx(time("decimal-comma"), 0.03));
    assert!(approx(time("microseconds"), 80.803e-6));
    assert!(approx(time("milliseconds"), 0.012));
    assert!(approx(time("seconds-suffix"), 1.2));
    assert!(approx(time("clock"), 0.69));
    assert!(approx(time("exponent"), 3.4e-5));
    assert!(approx(time("exponent-upper"), 150.0));
    assert_eq!(time("empty"), None);
    assert_eq!(time("garbage"), None);
    assert_eq!(time("missing"), None);
}

#[test]
fn references_cdata_and_comments_in_text_and_attributes() {
    let (results, summary) =
        read_all(&handwritten("text-quirks.xml"), &ReadOptions::default()).unwrap();
    let refs = named(&results, "refs in names");
    assert_eq!(refs.key.suite, "quirks & co");
    assert_eq!(
        refs.message.as_deref(),
        Some("line one\nline two <b> \"quoted\" 'single'")
    );
    assert_eq!(refs.output.as_deref(), Some("a&b\nc <raw> & de"));
    let body = named(&results, "no message attribute");
    assert_eq!(
        body.message.as_deref(),
        Some("first line of the body is the message")
    );
    let streams = named(&results, "output streams");
    assert_eq!(streams.outcome, Outcome::Passed);
    assert_eq!(
        streams.output.as_deref(),
        Some("out: <not markup>\nerr: café 😀")
    );
    assert_eq!(streams.properties.len(), 2);
    assert_eq!(streams.properties[0].value, "team-a");
    assert_eq!(streams.properties[1].name, "annotation");
    assert_eq!(streams.properties[1].value, "text & value");
    // Only the root carries a timestamp here: it stands in for the suites'.
    assert_eq!(summary.timestamp.as_deref(), Some("2026-03-01T07:00:00Z"));
}

#[test]
fn legacy_and_utf16_encodings_are_transcoded() {
    for file in [
        "iso-8859-1.xml",
        "windows-1252.xml",
        "utf-16le-bom.xml",
        "utf-8-bom.xml",
    ] {
        let (results, _) = read_all(&handwritten(file), &ReadOptions::default())
            .unwrap_or_else(|error| panic!("{file}: {error}"));
        let result = &results[0];
        assert_eq!(result.key.classname, "CaféTest", "{file}");
        assert_eq!(result.key.name, "naïve über", "{file}");
        assert_eq!(result.message.as_deref(), Some("¿qué?"), "{file}");
        assert!(
            result.output.as_deref().unwrap().starts_with("résumé "),
            "{file}"
        );
    }
}

#[test]
fn zero_testcases_is_a_successful_read_with_a_zero_count() {
    let (results, summary) =
        read_all(&handwritten("zero-testcases.xml"), &ReadOptions::default()).unwrap();
    assert!(results.is_empty());
    assert_eq!(summary.testcases, 0);
    assert_eq!(summary.suites, 1);
    assert_eq!(summary.hostname.as_deref(), Some("ci-1"));
}

#[test]
fn output_is_cut_at_the_limit_on_a_character_boundary_and_the_rest_counted() {
    let long = "é".repeat(1000); // 2000 bytes
    let xml = format!(
        "<testsuite name='s'><testcase classname='c' name='n'><system-out>{long}</system-out><system-err>{long}</system-err></testcase></testsuite>"
    );
    let options = ReadOptions::with_max_output_bytes(101);
    let (results, _) = read_bytes(xml.as_bytes(), &options).unwrap();
    let result = &results[0];
    let output = result.output.as_deref().unwrap();
    assert_eq!(
        output.len(),
        100,
        "cut before the 2-byte character that would cross 101"
    );
    // The separator between the two streams is counted as dropped too.
    assert_eq!(output.len() as u64 + result.output_dropped_bytes, 4001);
}

#[test]
fn text_split_across_buffer_refills_is_joined() {
    // A reader that hands out one byte at a time splits every text node.
    struct OneByte<'a>(&'a [u8]);
    impl std::io::Read for OneByte<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0.is_empty() || buf.is_empty() {
                return Ok(0);
            }
            buf[0] = self.0[0];
            self.0 = &self.0[1..];
            Ok(1)
        }
    }
    let xml = "<testsuite name='s'><testcase classname='c' name='n'><failure message='m'>a&amp;b<![CDATA[ c ]]>d&#x65;</failure></testcase></testsuite>";
    let input = std::io::BufReader::with_capacity(1, OneByte(xml.as_bytes()));
    let mut results = Vec::new();
    hourglass_junit::read(
        input,
        std::path::Path::new("x"),
        &ReadOptions::default(),
        &mut |r| {
            results.push(r);
            Ok(())
        },
    )
    .unwrap();
    assert_eq!(results[0].output.as_deref(), Some("a&b c de"));
}
