//! Export tasks through the real aws-sdk-cloudwatchlogs client, with the worker writing to the
//! local S3 (moto): AWS's checks and errors, the write-test object, the one-active-task limit,
//! Describe by id/status with paging, cancel, objects compared line by line with the events,
//! objects split by size, resuming after being killed mid-export, and cancelling mid-run.

use std::io::Read as _;
use std::time::{Duration, Instant};

use aws_sdk_cloudwatchlogs as logs;
use aws_sdk_cloudwatchlogs::types::{ExportTaskStatusCode, InputLogEvent};
use logbook_maintenance::Worker;
use logbook_maintenance::export::Exporter;
use logbook_protocol::Identity;
use logbook_tests::{err, logs_client, raw_post, s3, sigv4, store_for};

fn identity(account: &str) -> Identity {
    Identity { account_id: account.to_owned(), region: "us-east-1".into(), access_key_id: None, user_name: None }
}

/// The deployed worker's code on the maintenance function's (policy-checked) store, confined to
/// one account, writing objects of at most `object_bytes` of log text.
fn worker(account: &str, object_bytes: usize) -> Worker {
    Worker {
        store: store_for("maintenance"),
        settle: Duration::ZERO,
        scope: Some(identity(account)),
        publisher: None,
        exporter: Some(Exporter { store: store_for("maintenance"), s3: s3(), object_bytes }),
        trails: None,
    }
}

async fn bucket() -> String {
    let name = format!("export-{}", logbook_tests::new_account());
    s3().create_bucket().bucket(&name).send().await.unwrap();
    name
}

async fn task(c: &logs::Client, id: &str) -> logs::types::ExportTask {
    let d = c.describe_export_tasks().task_id(id).send().await.unwrap();
    assert_eq!(d.export_tasks().len(), 1, "{id}");
    d.export_tasks()[0].clone()
}

fn code(t: &logs::types::ExportTask) -> ExportTaskStatusCode {
    t.status().and_then(|s| s.code()).cloned().unwrap()
}

/// Runs the worker until the task ends; its final state.
async fn run_to_end(c: &logs::Client, w: &Worker, id: &str) -> logs::types::ExportTask {
    for _ in 0..200 {
        w.run(Instant::now() + Duration::from_secs(60), usize::MAX).await.unwrap();
        let t = task(c, id).await;
        if !matches!(code(&t), ExportTaskStatusCode::Pending | ExportTaskStatusCode::Running) {
            return t;
        }
    }
    panic!("export {id} did not end");
}

/// Every object under `prefix`, by key, gunzipped.
async fn objects(bucket: &str, prefix: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let page =
            s3().list_objects_v2().bucket(bucket).prefix(prefix).set_continuation_token(token).send().await.unwrap();
        for o in page.contents() {
            let key = o.key().unwrap().to_owned();
            let body = s3().get_object().bucket(bucket).key(&key).send().await.unwrap();
            let bytes = body.body.collect().await.unwrap().into_bytes();
            let mut text = String::new();
            flate2::read::GzDecoder::new(&bytes[..]).read_to_string(&mut text).unwrap();
            out.push((key, text));
        }
        token = page.next_continuation_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    out.sort();
    out
}

async fn put(c: &logs::Client, group: &str, stream: &str, events: &[(i64, String)]) {
    for batch in events.chunks(500) {
        let evs: Vec<InputLogEvent> =
            batch.iter().map(|(t, m)| InputLogEvent::builder().timestamp(*t).message(m).build().unwrap()).collect();
        c.put_log_events()
            .log_group_name(group)
            .log_stream_name(stream)
            .set_log_events(Some(evs))
            .send()
            .await
            .unwrap();
    }
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// Stream `s` of a new group `g` holding `events`.
async fn group_with(c: &logs::Client, events: &[(i64, String)]) {
    c.create_log_group().log_group_name("g").send().await.unwrap();
    c.create_log_stream().log_group_name("g").log_stream_name("s").send().await.unwrap();
    put(c, "g", "s", events).await;
}

/// `n` access lines of `len` bytes, a millisecond apart, ten minutes ago.
fn access_events(n: i64, len: usize) -> Vec<(i64, String)> {
    let base = now() - 600_000;
    (0..n).map(|i| (base + i, logbook_tests::access_line(i as u64, len))).collect()
}

/// A task exporting everything of group `g` until now to `bucket` (default prefix): its id.
async fn export_all(c: &logs::Client, bucket: &str) -> String {
    let created = c.create_export_task().log_group_name("g").from(0).to(now()).destination(bucket).send().await;
    created.unwrap().task_id().unwrap().to_owned()
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ message` lines, as AWS writes them.
fn lines(events: &[(i64, String)]) -> String {
    events.iter().map(|(t, m)| format!("{} {m}\n", logbook_audit::iso8601_millis(*t))).collect()
}

#[tokio::test]
async fn create_checks_and_errors_as_aws() {
    let (c, account) = logs_client();
    let b = bucket().await;
    let create = || c.create_export_task().log_group_name("g").from(0).to(now()).destination(&b);

    let missing = err(create().send().await);
    assert_eq!(missing, ("ResourceNotFoundException".into(), "The specified log group does not exist.".into()));
    c.create_log_group().log_group_name("g").send().await.unwrap();
    let no_bucket =
        err(c.create_export_task().log_group_name("g").from(0).to(1).destination("no-such-bucket-x").send().await);
    assert_eq!(
        no_bucket,
        (
            "InvalidParameterException".into(),
            "The given bucket does not exist. Please make sure the bucket is valid.".into()
        )
    );

    // Constraint errors, as the wire carries them (the SDKs would not send some of these).
    let key = sigv4(&account, "logs");
    let target = ("x-amz-target", "Logs_20140328.CreateExportTask");
    for (body, member) in [
        (r#"{"logGroupName":"g","to":1,"destination":"b"}"#, "from"),
        (r#"{"logGroupName":"g","from":-1,"to":1,"destination":"b"}"#, "from"),
        (r#"{"logGroupName":"g","from":0,"destination":"b"}"#, "to"),
        (r#"{"logGroupName":"g","from":0,"to":1}"#, "destination"),
        (r#"{"logGroupName":"g","from":0,"to":1,"destination":"b","destinationPrefix":""}"#, "destinationPrefix"),
        (r#"{"logGroupName":"bad name","from":0,"to":1,"destination":"b"}"#, "logGroupName"),
    ] {
        let (status, body, _) = raw_post("/", &[target, ("authorization", &key)], body);
        assert_eq!(status, 400, "{member}");
        assert_eq!(body["__type"], "InvalidParameterException", "{member}");
        assert!(body["message"].as_str().unwrap().contains(&format!("at '{member}'")), "{member}: {body}");
    }

    // Accepted: a taskId (a UUID) at once, the write-test object under the prefix first. A
    // range before the group existed is accepted (AWS took one in 1970).
    let id = c
        .create_export_task()
        .task_name("first")
        .log_group_name("g")
        .from(1_611_316_574)
        .to(1_642_852_574)
        .destination(&b)
        .destination_prefix("history/temp")
        .send()
        .await
        .unwrap()
        .task_id()
        .unwrap()
        .to_owned();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    let test = s3().get_object().bucket(&b).key("history/temp/aws-logs-write-test").send().await.unwrap();
    assert_eq!(&test.body.collect().await.unwrap().into_bytes()[..], b"Permission Check Successful");

    let t = task(&c, &id).await;
    assert_eq!(code(&t), ExportTaskStatusCode::Pending);
    assert_eq!(t.status().unwrap().message(), None);
    assert_eq!((t.task_name(), t.log_group_name()), (Some("first"), Some("g")));
    assert_eq!((t.from(), t.to()), (Some(1_611_316_574), Some(1_642_852_574)));
    assert_eq!((t.destination(), t.destination_prefix()), (Some(b.as_str()), Some("history/temp")));
    assert!(t.execution_info().unwrap().creation_time().is_some());
    assert!(t.execution_info().unwrap().completion_time().is_none());

    // One active task per account.
    let over = err(create().send().await);
    assert_eq!(over, ("LimitExceededException".into(), "Resource limit exceeded.".into()));
    // Another account is not limited by this one's task.
    let (other, _) = logs_client();
    other.create_log_group().log_group_name("g").send().await.unwrap();
    other.create_export_task().log_group_name("g").from(0).to(1).destination(&b).send().await.unwrap();
    assert!(c.describe_export_tasks().task_id("not-a-task").send().await.unwrap().export_tasks().is_empty());
    assert_eq!(other.describe_export_tasks().send().await.unwrap().export_tasks().len(), 1);

    // Cancel: CANCELLED at once; again, or on a finished task: InvalidOperationException.
    c.cancel_export_task().task_id(&id).send().await.unwrap();
    let t = task(&c, &id).await;
    assert_eq!(code(&t), ExportTaskStatusCode::Cancelled);
    assert_eq!(t.status().unwrap().message(), Some("Cancelled by user"));
    assert!(t.execution_info().unwrap().completion_time().is_some());
    let again = err(c.cancel_export_task().task_id(&id).send().await);
    assert_eq!(again.0, "InvalidOperationException");
    assert!(again.1.contains("already finished"), "{}", again.1);
    let unknown = err(c.cancel_export_task().task_id("3b4f6f2e-0000-7000-8000-000000000000").send().await);
    assert_eq!(unknown, ("ResourceNotFoundException".into(), "The specified export task does not exist.".into()));

    // The limit is free again; the default prefix is echoed.
    let id2 = create().send().await.unwrap().task_id().unwrap().to_owned();
    assert_eq!(task(&c, &id2).await.destination_prefix(), Some("exportedlogs"));
    s3().head_object().bucket(&b).key("exportedlogs/aws-logs-write-test").send().await.unwrap();
}

#[tokio::test]
async fn describe_newest_first_by_status_and_paged() {
    let (c, account) = logs_client();
    let b = bucket().await;
    c.create_log_group().log_group_name("g").send().await.unwrap();
    let w = worker(&account, 1 << 20);
    let mut ids = Vec::new();
    for i in 0..5 {
        let id = c
            .create_export_task()
            .task_name(format!("t{i}"))
            .log_group_name("g")
            .from(0)
            .to(1)
            .destination(&b)
            .send()
            .await
            .unwrap()
            .task_id()
            .unwrap()
            .to_owned();
        if i == 2 {
            c.cancel_export_task().task_id(&id).send().await.unwrap();
        } else {
            // Nothing in range: completes with no objects.
            let t = run_to_end(&c, &w, &id).await;
            assert_eq!(code(&t), ExportTaskStatusCode::Completed);
            assert_eq!(t.status().unwrap().message(), Some("Completed successfully"));
        }
        ids.push(id);
    }
    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let page = c.describe_export_tasks().limit(2).set_next_token(token).send().await.unwrap();
        assert!(page.export_tasks().len() <= 2);
        seen.extend(page.export_tasks().iter().map(|t| t.task_id().unwrap().to_owned()));
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    ids.reverse();
    assert_eq!(seen, ids, "every task once, newest first");

    let completed = c.describe_export_tasks().status_code(ExportTaskStatusCode::Completed).send().await.unwrap();
    assert_eq!(completed.export_tasks().len(), 4);
    let cancelled = c.describe_export_tasks().status_code(ExportTaskStatusCode::Cancelled).send().await.unwrap();
    assert_eq!(cancelled.export_tasks().len(), 1);
    assert_eq!(cancelled.export_tasks()[0].task_name(), Some("t2"));
    let none = c.describe_export_tasks().task_id(&ids[0]).status_code(ExportTaskStatusCode::Running).send().await;
    assert!(none.unwrap().export_tasks().is_empty());
    // A token is bound to its query.
    let page = c.describe_export_tasks().limit(1).send().await.unwrap();
    let tok = page.next_token().unwrap();
    let wrong = c.describe_export_tasks().status_code(ExportTaskStatusCode::Completed).next_token(tok).send().await;
    assert_eq!(err(wrong).0, "InvalidParameterException");
}

#[tokio::test]
async fn exported_objects_hold_the_events_in_range_line_by_line() {
    let (c, account) = logs_client();
    let b = bucket().await;
    c.create_log_group().log_group_name("app").send().await.unwrap();
    let base = now() - 3_600_000;
    let (from, to) = (base + 1_000, base + 9_000);
    let mut want: Vec<(String, Vec<(i64, String)>)> = Vec::new();
    for (s, name) in ["web/1", "web/2", "worker"].iter().enumerate() {
        c.create_log_stream().log_group_name("app").log_stream_name(*name).send().await.unwrap();
        // 0..10 s in 10 ms steps; [from, to] inclusive keeps 801 of them.
        let events: Vec<(i64, String)> =
            (0..1000).map(|i| (base + i * 10, format!("{name} event {i} {}", "x".repeat(s * 40)))).collect();
        put(&c, "app", name, &events).await;
        want.push((name.replace('/', "-"), events.into_iter().filter(|(t, _)| *t >= from && *t <= to).collect()));
    }
    c.create_log_stream().log_group_name("app").log_stream_name("empty").send().await.unwrap();

    let id = c
        .create_export_task()
        .log_group_name("app")
        .from(from)
        .to(to)
        .destination(&b)
        .destination_prefix("out")
        .send()
        .await
        .unwrap()
        .task_id()
        .unwrap()
        .to_owned();
    // Small objects: every stream spans several.
    let w = worker(&account, 8 * 1024);
    let t = run_to_end(&c, &w, &id).await;
    assert_eq!(code(&t), ExportTaskStatusCode::Completed);
    assert!(
        t.execution_info().unwrap().completion_time().unwrap() >= t.execution_info().unwrap().creation_time().unwrap()
    );

    let got = objects(&b, &format!("out/{id}/")).await;
    for (stream, events) in &want {
        let parts: Vec<&(String, String)> =
            got.iter().filter(|(k, _)| k.starts_with(&format!("out/{id}/{stream}/"))).collect();
        assert!(parts.len() > 1, "{stream}: split by size");
        for (n, (key, _)) in parts.iter().enumerate() {
            assert_eq!(*key, format!("out/{id}/{stream}/{n:06}.gz"));
        }
        let text: String = parts.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(text, lines(events), "{stream}: every event in range, in order, once");
    }
    assert!(!got.iter().any(|(k, _)| k.contains("/empty/")), "no object for a stream with nothing in range");

    // A stream prefix exports only the matching streams.
    let id = c
        .create_export_task()
        .log_group_name("app")
        .log_stream_name_prefix("web/")
        .from(from)
        .to(to)
        .destination(&b)
        .send()
        .await
        .unwrap()
        .task_id()
        .unwrap()
        .to_owned();
    run_to_end(&c, &worker(&account, 1 << 20), &id).await;
    let got = objects(&b, &format!("exportedlogs/{id}/")).await;
    let keys: Vec<&str> = got.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [format!("exportedlogs/{id}/web-1/000000.gz"), format!("exportedlogs/{id}/web-2/000000.gz")],
        "one object per stream under 1 MiB"
    );
    assert_eq!(got[0].1, lines(&want[0].1));
}

/// The worker killed at random points (its future dropped mid-read, mid-put or mid-save) and
/// started again until the export ends: every event is exported exactly once.
#[tokio::test]
async fn killed_mid_export_resumes_without_duplicates() {
    let (c, account) = logs_client();
    let b = bucket().await;
    let events = access_events(6000, 120);
    group_with(&c, &events).await;
    let id = export_all(&c, &b).await;

    let w = worker(&account, 32 * 1024);
    let mut kills = 0;
    for round in 0..400u64 {
        // Cut-offs from 5 ms up: some runs die before the first object, some mid-way.
        let cut = Duration::from_millis(5 + (round * 7) % 60);
        if tokio::time::timeout(cut, w.run(Instant::now() + Duration::from_secs(60), usize::MAX)).await.is_err() {
            kills += 1;
        }
        if !matches!(code(&task(&c, &id).await), ExportTaskStatusCode::Pending | ExportTaskStatusCode::Running) {
            break;
        }
    }
    let t = run_to_end(&c, &w, &id).await;
    assert_eq!(code(&t), ExportTaskStatusCode::Completed);
    assert!(kills >= 3, "the worker was killed mid-export {kills} times");
    let got = objects(&b, &format!("exportedlogs/{id}/s/")).await;
    assert!(got.len() > 5);
    let text: String = got.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(text, lines(&events), "each event exactly once, in order");
}

#[tokio::test]
async fn cancelled_mid_run_writes_no_more() {
    let (c, account) = logs_client();
    let b = bucket().await;
    // 2.5 MB in objects of 16 KiB: 150 objects, far more than a run of 150 ms writes.
    group_with(&c, &access_events(20_000, 100)).await;
    let id = export_all(&c, &b).await;

    // One run that stops (its deadline) after a few objects.
    let w = worker(&account, 16 * 1024);
    let report = w.run(Instant::now() + Duration::from_millis(150), usize::MAX).await.unwrap();
    let t = task(&c, &id).await;
    assert_eq!(code(&t), ExportTaskStatusCode::Running, "{report:?}");
    assert_eq!(t.status().unwrap().message(), Some("Started Successfully"));
    let before = objects(&b, &format!("exportedlogs/{id}/")).await;
    assert!(!before.is_empty(), "some objects written before the cancel");

    c.cancel_export_task().task_id(&id).send().await.unwrap();
    let report = w.run(Instant::now() + Duration::from_secs(30), usize::MAX).await.unwrap();
    // The group's dictionary job (2 MB were written) may run now; no export job is left.
    assert_eq!(report.paused + report.superseded, 0, "{report:?}");
    let left = store_for("maintenance").jobs(Some(&identity(&account))).await.unwrap();
    assert!(left.iter().all(|j| j.kind != logbook_storage::work::JobKind::Export), "{left:?}");
    let t = task(&c, &id).await;
    assert_eq!(code(&t), ExportTaskStatusCode::Cancelled);
    let after = objects(&b, &format!("exportedlogs/{id}/")).await;
    assert_eq!(after, before, "objects written stay; no more are written");
    assert!(after.len() < 150, "cancelled before the end: {} objects", after.len());
}

#[tokio::test]
async fn a_bucket_gone_mid_export_fails_the_task() {
    let (c, account) = logs_client();
    let b = bucket().await;
    group_with(&c, &[(now() - 1000, "one".to_owned())]).await;
    let id = export_all(&c, &b).await;
    s3().delete_object().bucket(&b).key("exportedlogs/aws-logs-write-test").send().await.unwrap();
    s3().delete_bucket().bucket(&b).send().await.unwrap();
    let t = run_to_end(&c, &worker(&account, 1 << 20), &id).await;
    assert_eq!(code(&t), ExportTaskStatusCode::Failed);
    assert!(t.status().unwrap().message().unwrap().contains("bucket does not exist"));
    // The limit is free again.
    let b2 = bucket().await;
    c.create_export_task().log_group_name("g").from(0).to(1).destination(&b2).send().await.unwrap();
}
