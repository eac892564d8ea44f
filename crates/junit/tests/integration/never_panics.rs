//! Arbitrary bytes and mutated valid files never panic the reader.

use hourglass_junit::{ReadOptions, synthetic};
use proptest::prelude::*;

use crate::support::read_bytes;

fn valid_document() -> Vec<u8> {
    let mut out = Vec::new();
    synthetic::write_surefire(&mut out, 3, 6_000).unwrap();
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = read_bytes(&bytes, &ReadOptions::with_max_output_bytes(64));
    }

    #[test]
    fn mutated_valid_files_never_panic(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..12),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = valid_document();
        for (at, byte, how) in edits {
            let at = at.index(bytes.len());
            match how {
                0 => bytes[at] = byte,
                1 => bytes.insert(at, byte),
                _ => { bytes.remove(at); }
            }
        }
        let _ = read_bytes(&bytes, &ReadOptions::with_max_output_bytes(64));
        let cut = cut.index(bytes.len());
        let _ = read_bytes(&bytes[..cut], &ReadOptions::default());
    }

    #[test]
    fn junit_shaped_fragments_never_panic(parts in proptest::collection::vec(prop::sample::select(vec![
        "<testsuites>", "</testsuites>", "<testsuite name='s'>", "</testsuite>", "<testcase name='t' time='1,5'>",
        "</testcase>", "<testcase/>", "<failure message='m'>", "</failure>", "<error/>", "<skipped/>",
        "<flakyFailure>", "</flakyFailure>", "<rerunError time='x'/>", "<stackTrace>", "</stackTrace>",
        "<system-out>", "</system-out>", "<properties>", "<property name='p'>", "</property>", "</properties>",
        "text", "&amp;", "&#0;", "&#x110000;", "&bogus;", "<![CDATA[x]]>", "<!-- c -->", "<?pi x?>",
        "<!DOCTYPE x [<!ENTITY e 'v'>]>", "\u{e9}", "\n",
    ]), 0..40)) {
        let doc: String = parts.concat();
        let _ = read_bytes(doc.as_bytes(), &ReadOptions::with_max_output_bytes(16));
    }
}
