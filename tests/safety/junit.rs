//! A small reader for the JUnit file cargo-nextest writes: one `<testcase>`
//! per test, `classname` = binary id, `name` = test name, a `<failure>` or
//! `<error>` child when it failed.

use crate::fixture::TestId;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Passed,
    Failed,
    Skipped,
}

/// Every test case of a nextest JUnit document.
pub fn parse(xml: &str) -> Vec<(TestId, Status)> {
    let mut cases = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find("<testcase") {
        rest = &rest[start..];
        let tag_end = rest.find('>').expect("a <testcase> start tag ends");
        let tag = &rest[..tag_end];
        let name = attribute(tag, "name").expect("<testcase> has a name");
        let classname = attribute(tag, "classname").expect("<testcase> has a classname");
        let (body, next) = if tag.ends_with('/') {
            ("", tag_end + 1)
        } else {
            let close = rest
                .find("</testcase>")
                .expect("a <testcase> element is closed");
            (&rest[tag_end + 1..close], close + "</testcase>".len())
        };
        let status = if body.contains("<failure") || body.contains("<error") {
            Status::Failed
        } else if body.contains("<skipped") {
            Status::Skipped
        } else {
            Status::Passed
        };
        cases.push((TestId::new(&classname, &name), status));
        rest = &rest[next..];
    }
    cases
}

/// The unescaped value of `key="..."` in a start tag.
fn attribute(tag: &str, key: &str) -> Option<String> {
    let marker = format!(" {key}=\"");
    let start = tag.find(&marker)? + marker.len();
    let end = start + tag[start..].find('"')?;
    Some(unescape(&tag[start..end]))
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

#[test]
fn reads_passed_failed_and_escaped_cases() {
    let xml = r#"<testsuites><testsuite name="p::t">
        <testcase name="ok" classname="p::t" time="0.1"/>
        <testcase name="bad&lt;T&gt;" classname="p::t" time="0.1"><failure type="test failure">boom</failure></testcase>
        <testcase name="later" classname="p" time="0"><skipped/></testcase>
    </testsuite></testsuites>"#;
    assert_eq!(
        parse(xml),
        vec![
            (TestId::new("p::t", "ok"), Status::Passed),
            (TestId::new("p::t", "bad<T>"), Status::Failed),
            (TestId::new("p", "later"), Status::Skipped),
        ]
    );
}
