//! Integration tests of the history store: real SQLite files on disk, and
//! real PostgreSQL databases when `HOURGLASS_TEST_PG` names a server (see
//! `.ci/postgres`). The store suite is written once, generic over the
//! backend, and runs against both.

mod ci_jobs;
mod concurrency;
mod copying;
mod ingest;
mod migrations;
mod packed;
mod packed_pg;
mod pg;
mod prune;
mod reading;
mod round_trip;
mod support;
mod wall_time;

store_suite! {
    ingest: [
        ingesting_the_same_file_twice_stores_it_once,
        the_same_file_in_another_run_is_stored_again,
        a_producer_failing_midway_stores_nothing_of_the_file,
        a_rerun_in_the_same_file_is_merged_into_one_flaky_result,
        a_second_file_of_the_same_run_merges_with_the_first,
        runs_without_an_id_get_a_deterministic_one,
        a_run_without_a_timestamp_is_stamped_with_the_ingest_time,
        an_unreadable_timestamp_is_refused,
        a_store_reopens_with_its_data,
        tests_keep_one_id_when_their_class_comes_back_after_another,
    ],
    reading: [
        results_come_grouped_by_test_oldest_first,
        filters_select_runs,
        runs_are_listed_oldest_first_with_counts,
        a_runs_total_time_is_the_same_in_any_order,
        a_visitor_error_stops_the_scan,
        a_bad_since_is_an_error,
    ],
    round_trip: [
        ingest_then_export_returns_what_went_in,
        by_default_only_a_pass_loses_its_output_and_counts_it,
        a_repeated_text_is_stored_once,
        single_attempts_round_trip_whether_or_not_the_result_implies_them,
    ],
    concurrency: [eight_writers_with_their_own_connections_lose_nothing],
    copying: [
        a_copy_carries_every_run_and_a_second_copy_writes_nothing,
    ],
    wall_time: [
        a_runs_wall_time_is_the_span_of_its_files,
        ci_jobs_read_through_the_trait,
    ],
}
