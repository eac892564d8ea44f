//! One document per runner dialect, as each writes it.

use std::path::Path;

use hourglass_junit::{ReadOptions, read_all};
use hourglass_model::{AttemptOutcome, Outcome};

use crate::support::{approx, attempt_outcomes, handwritten, named, outcomes, read_str};

#[test]
fn surefire_flaky_elements_make_a_flaky_test_with_one_attempt_each() {
    let (results, _) = read_all(
        &handwritten("surefire-retries.xml"),
        &ReadOptions::default(),
    )
    .unwrap();
    let flaky = named(&results, "checksOutWhenNetworkIsSlow");
    assert_eq!(flaky.outcome, Outcome::Flaky);
    assert_eq!(
        attempt_outcomes(flaky),
        [
            AttemptOutcome::Failed,
            AttemptOutcome::Error,
            AttemptOutcome::Passed
        ]
    );
    assert_eq!(flaky.message.as_deref(), Some("Timed out after 100 ms"));
    assert_eq!(
        flaky.failure_type.as_deref(),
        Some("java.util.concurrent.TimeoutException")
    );
    let output = flaky.output.as_deref().unwrap();
    assert!(output.contains("CartTest.java:42"), "{output}");
    assert!(output.contains("waiting for <gateway>"), "{output}");
}

#[test]
fn surefire_rerun_elements_keep_a_failure_failed_with_every_attempt() {
    let (results, _) = read_all(
        &handwritten("surefire-retries.xml"),
        &ReadOptions::default(),
    )
    .unwrap();
    let broken = named(&results, "appliesCoupon");
    assert_eq!(broken.outcome, Outcome::Failed);
    assert_eq!(
        attempt_outcomes(broken),
        [
            AttemptOutcome::Failed,
            AttemptOutcome::Failed,
            AttemptOutcome::Error
        ]
    );
    assert_eq!(
        broken.message.as_deref(),
        Some("expected: <10> but was: <12>")
    );
    let skipped = named(&results, "isDisabled");
    assert_eq!(skipped.outcome, Outcome::Skipped);
    assert_eq!(
        skipped.message.as_deref(),
        Some("flaky on CI, see the tracker")
    );
    assert_eq!(named(&results, "addsItem").outcome, Outcome::Passed);
}

#[test]
fn pytest_failure_and_error_in_one_testcase_is_an_error_keeping_both_messages() {
    let (results, summary) = read_all(
        &handwritten("pytest-failure-and-error.xml"),
        &ReadOptions::default(),
    )
    .unwrap();
    let both = named(&results, "test_writes");
    assert_eq!(both.outcome, Outcome::Error);
    assert_eq!(
        both.message.as_deref(),
        Some("failed on teardown with \"OSError: disk full\"")
    );
    assert_eq!(both.attempts.len(), 1);
    let attempt_message = both.attempts[0].message.as_deref().unwrap();
    assert!(
        attempt_message.contains("assert 1 == 2"),
        "{attempt_message}"
    );
    assert!(attempt_message.contains("disk full"), "{attempt_message}");
    assert_eq!(both.file.as_deref(), Some("tests/test_db.py"));
    assert_eq!(both.line, Some(41));
    assert_eq!(both.key.suite, "pytest");
    let passed = named(&results, "test_reads[row-0]");
    assert_eq!(passed.properties[0].name, "owner");
    assert_eq!(passed.properties[0].value, "storage-team");
    assert_eq!(passed.output.as_deref(), Some("read 0 rows\n"));
    assert_eq!(
        summary.timestamp.as_deref(),
        Some("2026-03-01T09:00:00.123456Z")
    );
    assert_eq!(summary.hostname.as_deref(), Some("build-7"));
}

#[test]
fn pytest_rerunfailures_empty_attempts_before_a_rerun_count_as_failures() {
    let xml = r#"<testsuites name="pytest tests"><testsuite name="pytest" tests="3">
        <testcase classname="t" name="test_flaky" time="0.1" />
        <testcase classname="t" name="test_flaky" time="0.1" />
        <testcase classname="t" name="test_ok" time="0.1" />
        <testcase classname="t" name="test_setup" time="0" />
        <testcase classname="t" name="test_setup" time="0"><error message="boom"/></testcase>
    </testsuite></testsuites>"#;
    let (results, _) = read_str(xml).unwrap();
    assert_eq!(
        outcomes(&results),
        [
            Outcome::Failed,
            Outcome::Passed,
            Outcome::Passed,
            Outcome::Error,
            Outcome::Error
        ]
    );
    let merged = hourglass_junit::merge_reruns(results);
    assert_eq!(
        outcomes(&merged),
        [Outcome::Flaky, Outcome::Passed, Outcome::Error]
    );
}

#[test]
fn repeated_testcases_outside_pytest_are_emitted_as_written() {
    let xml = r#"<testsuites><testsuite name="pkg">
        <testcase classname="pkg" name="TestA" time="0.1" />
        <testcase classname="pkg" name="TestA" time="0.1" />
    </testsuite></testsuites>"#;
    let (results, _) = read_str(xml).unwrap();
    assert_eq!(outcomes(&results), [Outcome::Passed, Outcome::Passed]);
}

#[test]
fn go_reruns_are_emitted_separately_and_merged_by_read_all() {
    let path = handwritten("go-reruns.xml");
    let mut emitted = Vec::new();
    let summary = hourglass_junit::read_file(&path, &ReadOptions::default(), &mut |r| {
        emitted.push(r);
        Ok(())
    })
    .unwrap();
    assert_eq!(summary.testcases, 5);
    assert_eq!(
        emitted
            .iter()
            .filter(|r| r.key.name == "TestCheckout")
            .count(),
        2
    );

    let (merged, summary) = read_all(&path, &ReadOptions::default()).unwrap();
    assert_eq!(summary.results, 4);
    let checkout = named(&merged, "TestCheckout");
    assert_eq!(checkout.outcome, Outcome::Flaky);
    assert_eq!(
        attempt_outcomes(checkout),
        [AttemptOutcome::Failed, AttemptOutcome::Passed]
    );
    assert!(approx(checkout.duration_s, 0.2));
    assert_eq!(named(&merged, "TestBroken").outcome, Outcome::Failed);
    let skip = named(&merged, "TestSkip");
    assert_eq!(skip.outcome, Outcome::Skipped);
    assert!(skip.message.as_deref().unwrap().contains("needs docker"));
    assert_eq!(summary.timestamp.as_deref(), Some("2026-03-01T10:00:00Z"));
}

#[test]
fn bazel_targets_without_classname_and_gtest_notrun() {
    let (results, _) = read_all(&handwritten("bazel.xml"), &ReadOptions::default()).unwrap();
    let target = named(&results, "//server/api:api_test_shard_1/4");
    assert_eq!(target.key.classname, "");
    assert_eq!(target.key.suite, "//server/api:api_test_shard_1/4");
    assert_eq!(target.outcome, Outcome::Error);
    assert_eq!(target.message.as_deref(), Some("exited with error code 1"));
    assert_eq!(
        named(&results, "Handler.ReturnsNotFound").outcome,
        Outcome::Skipped
    );
}

#[test]
fn phpunit_nested_suites_form_the_suite_path() {
    let (results, summary) =
        read_all(&handwritten("phpunit-nested.xml"), &ReadOptions::default()).unwrap();
    assert_eq!(summary.suites, 3);
    let first = named(&results, "testAdd with data set #0");
    assert_eq!(
        first.key.suite,
        r"Project Test Suite/App\Tests\MathTest/App\Tests\MathTest::testAdd"
    );
    assert_eq!(first.key.classname, "App.Tests.MathTest");
    assert_eq!(first.line, Some(14));
    let failed = named(&results, "testAdd with data set \"negative\"");
    assert_eq!(failed.outcome, Outcome::Failed);
    assert_eq!(
        failed.failure_type.as_deref(),
        Some(r"PHPUnit\Framework\ExpectationFailedException")
    );
    // No message attribute: the first line of the body.
    assert!(
        failed
            .message
            .as_deref()
            .unwrap()
            .starts_with(r"App\Tests\MathTest::testAdd")
    );
    // A testcase with `class` only, in the outer suite, taking its suite's file.
    let divide = named(&results, "testDivide");
    assert_eq!(divide.key.classname, r"App\Tests\MathTest");
    assert_eq!(divide.key.suite, r"Project Test Suite/App\Tests\MathTest");
    assert_eq!(divide.file.as_deref(), Some("/repo/tests/MathTest.php"));
}

#[test]
fn dotnet_logger_decimal_comma_times_and_crlf_messages() {
    let (results, summary) = read_all(&handwritten("dotnet.xml"), &ReadOptions::default()).unwrap();
    assert!(approx(
        named(&results, "Adds_item(quantity: 2)").duration_s,
        0.012_345_6
    ));
    let failed = named(&results, "Rejects_negative");
    assert_eq!(failed.outcome, Outcome::Failed);
    assert_eq!(
        failed.message.as_deref(),
        Some("Assert.Equal() Failure\r\nExpected: 0\r\nActual:   -1")
    );
    assert_eq!(named(&results, "Needs_database").outcome, Outcome::Skipped);
    assert!(results.iter().all(|r| {
        r.output
            .as_deref()
            .is_none_or(|o| !o.contains("Suite-level"))
    }));
    assert_eq!(summary.timestamp.as_deref(), Some("2026-03-01T10:00:00"));
    assert_eq!(summary.hostname.as_deref(), Some("WIN-BUILD01"));
}

#[test]
fn junit5_console_launcher_report() {
    let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="JUnit Jupiter" tests="2" skipped="0" failures="1" errors="0" time="0.08" hostname="dev" timestamp="2026-03-01T10:00:00">
<properties>
<property name="java.version" value="21"/>
</properties>
<testcase name="adds()" classname="com.example.MathTest" time="0.012">
<system-out><![CDATA[
unique-id: [engine:junit-jupiter]/[class:com.example.MathTest]/[method:adds()]
display-name: adds()
]]></system-out>
</testcase>
<testcase name="divides()" classname="com.example.MathTest" time="0.003">
<failure message="expected: &lt;2&gt; but was: &lt;3&gt;" type="org.opentest4j.AssertionFailedError"><![CDATA[org.opentest4j.AssertionFailedError: expected: <2> but was: <3>
]]></failure>
</testcase>
</testsuite>"#;
    let (results, summary) = read_str(xml).unwrap();
    assert_eq!(summary.suites, 1);
    assert_eq!(results[0].key.suite, "JUnit Jupiter");
    assert!(
        results[0]
            .output
            .as_deref()
            .unwrap()
            .contains("unique-id: [engine:junit-jupiter]")
    );
    // Suite-level properties are not testcase properties.
    assert!(results[0].properties.is_empty());
    assert_eq!(
        results[1].message.as_deref(),
        Some("expected: <2> but was: <3>")
    );
}

#[test]
fn jest_junit_bodies_without_message_attribute_and_file_attribute() {
    let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="jest tests" tests="2" failures="1" errors="0" time="0.5">
  <testsuite name="arithmetic" errors="0" failures="1" skipped="0" timestamp="2026-03-01T10:00:00" time="0.4" tests="2">
    <testcase classname="arithmetic adds" name="arithmetic adds" time="0.002" file="src/math.test.js">
    </testcase>
    <testcase classname="arithmetic fails" name="arithmetic fails" time="0.003" file="src/math.test.js">
      <failure>Error: expect(received).toBe(expected) // Object.is equality

Expected: 2
Received: 3
    at Object.toBe (src/math.test.js:9:17)</failure>
    </testcase>
  </testsuite>
</testsuites>"#;
    let (results, _) = read_str(xml).unwrap();
    assert_eq!(results[0].file.as_deref(), Some("src/math.test.js"));
    assert_eq!(results[1].outcome, Outcome::Failed);
    assert_eq!(
        results[1].message.as_deref(),
        Some("Error: expect(received).toBe(expected) // Object.is equality")
    );
}

#[test]
fn nextest_retries_and_root_timestamp() {
    let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="nextest-run" tests="2" failures="0" errors="0" uuid="x" timestamp="2026-03-01T10:00:00.5+00:00" time="0.1">
  <testsuite name="my-crate::integration" tests="2" disabled="0" errors="0" failures="0">
    <testcase name="net::retries" classname="my-crate::integration" timestamp="2026-03-01T10:00:00.6+00:00" time="0.030">
      <flakyFailure timestamp="2026-03-01T10:00:00.6+00:00" time="0.010" type="test failure">thread 'net::retries' panicked at tests/net.rs:4:5:
connection refused
        <system-out>running 1 test</system-out>
        <system-err>thread 'net::retries' panicked</system-err>
      </flakyFailure>
      <system-out>running 1 test
test net::retries ... ok</system-out>
    </testcase>
    <testcase name="net::ok" classname="my-crate::integration" time="0.001"/>
  </testsuite>
</testsuites>"#;
    let (results, summary) = read_str(xml).unwrap();
    let flaky = &results[0];
    assert_eq!(flaky.outcome, Outcome::Flaky);
    assert_eq!(flaky.key.classname, "my-crate::integration");
    assert_eq!(flaky.key.name, "net::retries");
    assert_eq!(
        attempt_outcomes(flaky),
        [AttemptOutcome::Failed, AttemptOutcome::Passed]
    );
    assert!(approx(flaky.attempts[0].duration_s, 0.010));
    assert!(approx(flaky.attempts[1].duration_s, 0.030));
    assert_eq!(
        flaky.message.as_deref(),
        Some("thread 'net::retries' panicked at tests/net.rs:4:5:")
    );
    assert_eq!(summary.timestamp.as_deref(), Some("2026-03-01T10:00:00.5Z"));
}

#[test]
fn playwright_skip_reason_comes_from_the_skip_annotation() {
    let xml = r#"<testsuites><testsuite name="a.spec.ts" tests="1">
<testcase name="needs db" classname="a.spec.ts">
<properties>
<property name="skip" value="needs a database">
</property>
</properties>
<skipped>
</skipped>
</testcase></testsuite></testsuites>"#;
    let (results, _) = read_str(xml).unwrap();
    assert_eq!(results[0].outcome, Outcome::Skipped);
    assert_eq!(results[0].message.as_deref(), Some("needs a database"));
}

#[test]
fn bare_testsuite_root_and_testcase_directly_under_testsuites() {
    let (results, summary) =
        read_str(r#"<testsuite name="s"><testcase classname="c" name="n"/></testsuite>"#).unwrap();
    assert_eq!(summary.suites, 1);
    assert_eq!(results[0].key.suite, "s");
    let (results, summary) =
        read_str(r#"<testsuites><testcase classname="c" name="n"/></testsuites>"#).unwrap();
    assert_eq!(summary.suites, 0);
    assert_eq!(results[0].key.suite, "");
}

fn real(runner: &str, file: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/junit")
        .join(runner)
        .join(file)
}

#[test]
fn junitlauncher_aborted_assumption_is_skipped_with_its_message() {
    let (results, _) = read_all(
        &real("junitlauncher", "legacy-xml.xml"),
        &ReadOptions::default(),
    )
    .unwrap();
    let aborted = named(&results, "assumptionFails()");
    assert_eq!(aborted.outcome, Outcome::Skipped);
    assert_eq!(
        aborted.message.as_deref(),
        Some("Assumption failed: needs a database")
    );
    assert_eq!(attempt_outcomes(aborted), [AttemptOutcome::Skipped]);
    assert_eq!(
        aborted.attempts[0].failure_type.as_deref(),
        Some("org.opentest4j.TestAbortedException")
    );
}

#[test]
fn ctest_disabled_and_notrun_statuses_are_skipped() {
    let (results, _) =
        read_all(&real("ctest", "output-junit.xml"), &ReadOptions::default()).unwrap();
    assert_eq!(named(&results, "disabled_test").outcome, Outcome::Skipped);
    let skipped = named(&results, "skipped_by_code");
    assert_eq!(skipped.outcome, Outcome::Skipped);
    assert_eq!(skipped.message.as_deref(), Some("SKIP_RETURN_CODE=77"));
    assert_eq!(named(&results, "passes").outcome, Outcome::Passed);
    assert_eq!(named(&results, "fails").outcome, Outcome::Failed);
    // A status alone, without a <skipped> element, is enough.
    let (results, _) = read_str(
        r#"<testsuite name="(empty)">
  <testcase name="a" classname="a" time="0" status="disabled"><system-out>Disabled</system-out></testcase>
  <testcase name="b" classname="b" time="0" status="NotRun"/>
  <testcase name="c" classname="c" time="3.4e-05" status="run"/>
</testsuite>"#,
    )
    .unwrap();
    assert_eq!(
        outcomes(&results),
        [Outcome::Skipped, Outcome::Skipped, Outcome::Passed]
    );
    assert!(approx(named(&results, "c").duration_s, 3.4e-5));
}

#[test]
fn the_wall_span_is_the_earliest_suite_start_to_the_latest_suite_end() {
    // Two suites of one file that overlap: 10:00:00 + 30 s and 10:00:10 + 50 s.
    let (_, summary) = read_str(
        r#"<testsuites>
<testsuite name="a" timestamp="2026-03-01T10:00:00Z" time="30"><testcase name="x" time="30"/></testsuite>
<testsuite name="b" timestamp="2026-03-01T10:00:10Z" time="50.5"><testcase name="y" time="50"/></testsuite>
</testsuites>"#,
    )
    .unwrap();
    let start = hourglass_junit::timestamp_millis("2026-03-01T10:00:00Z").unwrap();
    assert_eq!(summary.wall.start_ms, Some(start));
    assert_eq!(summary.wall.end_ms, Some(start + 60_500));
    assert_eq!(summary.wall.wall_time_s(), Some(60.5));
    // Without a root time, the file's own time is the top-level suites' sum.
    assert_eq!(summary.wall.time_ms, Some(80_500));
}

#[test]
fn nextest_gives_its_wall_time_on_the_root() {
    let (_, summary) = read_all(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/junit/nextest/default.xml"),
        &ReadOptions::default(),
    )
    .unwrap();
    assert_eq!(summary.wall.time_ms, Some(81));
    assert_eq!(summary.wall.wall_time_s(), Some(0.081));
    assert_eq!(
        summary.wall.start_ms,
        hourglass_junit::timestamp_millis("2026-11-23T22:04:26.148Z")
    );
}

#[test]
fn a_file_without_times_has_no_wall_time_and_bad_times_are_ignored() {
    let (_, summary) =
        read_str(r#"<testsuite name="a"><testcase name="x" time="1"/></testsuite>"#).unwrap();
    assert_eq!(summary.wall.wall_time_s(), None);
    let (_, summary) = read_str(
        r#"<testsuite name="a" timestamp="not a time" time="-3"><testcase name="x"/></testsuite>"#,
    )
    .unwrap();
    assert_eq!(summary.wall, hourglass_junit::WallSpan::default());
    // A zoneless timestamp (Surefire) is read as UTC.
    let (_, summary) = read_str(
        r#"<testsuite name="a" timestamp="2026-03-01T10:00:00" time="2"><testcase name="x"/></testsuite>"#,
    )
    .unwrap();
    assert_eq!(
        summary.wall.start_ms,
        hourglass_junit::timestamp_millis("2026-03-01T10:00:00Z")
    );
    assert_eq!(summary.wall.wall_time_s(), Some(2.0));
}
