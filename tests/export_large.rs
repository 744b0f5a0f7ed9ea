//! A large export with flat memory: LOGBOOK_EXPORT_TEST_MB (default 1024) MB of stored events in
//! four streams, exported by the worker's code to the local S3 in 32 MiB objects. The
//! resident-memory high-water mark during the export (above what was resident before it) is bounded by a few objects, not by the data: the export
//! streams the group, it never loads the range.

use logbook_tests::export::{fill, run_export};
use logbook_tests::{logs_client_for, new_account, s3};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gigabyte_exports_with_flat_memory() {
    let mb: usize = std::env::var("LOGBOOK_EXPORT_TEST_MB").ok().and_then(|s| s.parse().ok()).unwrap_or(1024);
    let account = new_account();
    let (events, bytes) = fill(&account, "big", 4, mb).await;
    let bucket = format!("large-{account}");
    s3().create_bucket().bucket(&bucket).send().await.unwrap();
    let c = logs_client_for(&account, "us-east-1");
    let now = logbook_storage::now_millis();
    let task = c.create_export_task().log_group_name("big").from(0).to(now).destination(&bucket).send().await.unwrap();
    let task = task.task_id().unwrap().to_owned();

    let object_bytes = logbook_maintenance::export::OBJECT_BYTES;
    let run = run_export(&account, &task, logbook_tests::store_for("maintenance"), object_bytes).await;
    let lines = bytes + events * 26;
    println!(
        "exported {:.0} MB of log text ({events} events) in {:.1} s: {:.1} MB/s, {} objects, resident memory peak + {:.1} MiB",
        lines as f64 / 1e6,
        run.seconds,
        lines as f64 / 1e6 / run.seconds,
        run.progress.objects,
        run.peak_rss as f64 / 1_048_576.0
    );
    assert_eq!(run.status, logbook_model::exports::ExportStatus::Completed);
    assert_eq!((run.progress.events, run.progress.bytes), (events, lines), "every event, once");
    // Four streams of mb/4 MB each, in 32 MiB objects.
    let per_stream = (lines / 4).div_ceil(object_bytes as u64);
    assert_eq!(run.progress.objects, 4 * per_stream);
    let listed = s3().list_objects_v2().bucket(&bucket).prefix(format!("exportedlogs/{task}/")).send().await.unwrap();
    assert_eq!(listed.key_count(), Some((4 * per_stream) as i32));
    // Flat: one object's gzip and text buffers, a read's events and chunks, the SDKs' buffers.
    let bound = 4 * object_bytes + 64 * 1_048_576;
    assert!(run.peak_rss < bound, "resident memory peak + {} MiB over {} MiB", run.peak_rss >> 20, bound >> 20);
    assert!((run.peak_rss as u64) < lines / 4, "memory far below the data exported");
}
