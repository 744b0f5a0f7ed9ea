"""End to end, the way a user works: `scripts/serve`, then the AWS CLI, boto3 and curl at POST /.

Runs the real stack (DynamoDB Local on disk, `cargo lambda watch`, the router and the group
functions) on its own ports and data folder, stops it the way Ctrl-C does, checks nothing is left
running, and starts it again to see the data survive.
"""
import gzip
import json
import os
import random
import shutil
import signal
import socket
import string
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import botocore
import pytest

ROOT = Path(__file__).resolve().parents[2]
PORT = int(os.environ.get("LOGBOOK_E2E_PORT", "9710"))
DDB_PORT = int(os.environ.get("LOGBOOK_E2E_DYNAMODB_PORT", "8710"))
S3_PORT = int(os.environ.get("LOGBOOK_E2E_S3_PORT", "8711"))
WATCH_PORT = int(os.environ.get("LOGBOOK_E2E_WATCH_PORT", "9711"))
ENDPOINT = f"http://127.0.0.1:{PORT}"
CREDS = {"AWS_ACCESS_KEY_ID": "AKIDE2E", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_DEFAULT_REGION": "us-east-1"}


class Stack:
    def __init__(self, data):
        self.data = data
        self.proc = None
        self.out = None

    def start(self, **extra):
        env = dict(os.environ, LOGBOOK_PORT=str(PORT), LOGBOOK_DYNAMODB_PORT=str(DDB_PORT),
                   LOGBOOK_S3_PORT=str(S3_PORT), LOGBOOK_WATCH_PORT=str(WATCH_PORT), LOGBOOK_DATA_DIR=self.data,
                   # The background worker: every 2 s, final passes without waiting.
                   LOGBOOK_WORKER_INTERVAL="2", LOGBOOK_SETTLE_SECONDS="0", **extra)
        # With no configuration at all, serve runs with signatures unchecked.
        if "LOGBOOK_AUTH" not in extra:
            env.pop("LOGBOOK_AUTH", None)
        self.out = open(os.path.join(self.data, "serve.out"), "a+")
        self.mark = len(Path(self.out.name).read_text())
        # Its own process group, like a shell job: Ctrl-C reaches the whole group.
        # SIGINT back to its default first: a shell that starts with it ignored (as background jobs
        # of a non-interactive shell do) cannot trap it, and Ctrl-C would not reach serve's cleanup.
        self.proc = subprocess.Popen([str(ROOT / "scripts" / "serve")], env=env, stdout=self.out,
                                     stderr=subprocess.STDOUT, start_new_session=True,
                                     preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        deadline = time.time() + 900
        while time.time() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"scripts/serve exited early:\n{self.output()}")
            if "Logbook is ready at" in self.output()[self.mark:]:
                return
            time.sleep(0.5)
        pytest.fail(f"scripts/serve was not ready in time:\n{self.output()}")

    def output(self):
        self.out.flush()
        return Path(self.out.name).read_text()

    def ctrl_c(self):
        os.killpg(self.proc.pid, signal.SIGINT)
        self.proc.wait(timeout=60)
        self.out.close()


def port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def leftovers(data):
    """Processes that mention this stack's ports or data folder."""
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    marks = (f"-port {DDB_PORT}", f"--invoke-port {WATCH_PORT}", f"-p {S3_PORT}", f"127.0.0.1:{PORT}", data)
    return [l for l in out.splitlines() if any(m in l for m in marks) and "pytest" not in l]


@pytest.fixture(scope="module")
def stack():
    data = tempfile.mkdtemp(prefix="logbook-e2e-")
    s = Stack(data)
    s.start()
    yield s
    if s.proc.poll() is None:
        s.ctrl_c()
    shutil.rmtree(data, ignore_errors=True)


def cli(*args, key=None):
    env = dict(os.environ, **CREDS)
    if key:  # another account's key (unconfigured serve trusts any signature)
        env["AWS_ACCESS_KEY_ID"] = key
    return subprocess.run(["aws", *args, "--endpoint-url", ENDPOINT], capture_output=True, text=True, env=env)


def logs(key="AKIDE2E", region="us-east-1", endpoint=ENDPOINT):
    return boto3.client("logs", endpoint_url=endpoint, region_name=region,
                        aws_access_key_id=key, aws_secret_access_key="secret")


def moto(service):
    """A boto3 client of the local AWS services scripts/serve runs (moto's server)."""
    return boto3.client(service, endpoint_url=f"http://127.0.0.1:{S3_PORT}", region_name="us-east-1",
                        aws_access_key_id="local", aws_secret_access_key="local")


def test_aws_cli(stack):
    r = cli("logs", "create-log-group", "--log-group-name", "app")
    assert r.returncode == 0, r.stderr
    r = cli("logs", "describe-log-groups")
    assert r.returncode == 0, r.stderr
    groups = json.loads(r.stdout)["logGroups"]
    assert [g["logGroupName"] for g in groups] == ["app"]
    assert groups[0]["arn"] == "arn:aws:logs:us-east-1:123456789012:log-group:app:*"
    r = cli("logs", "create-log-group", "--log-group-name", "app")
    assert r.returncode != 0
    assert "ResourceAlreadyExistsException" in r.stderr and "The specified log group already exists" in r.stderr


def test_boto3(stack):
    c = logs()
    c.create_log_stream(logGroupName="app", logStreamName="web-1")
    streams = c.describe_log_streams(logGroupName="app")["logStreams"]
    assert [s["logStreamName"] for s in streams] == ["web-1"]
    with pytest.raises(c.exceptions.ResourceNotFoundException):
        c.describe_log_streams(logGroupName="missing")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.create_log_group(logGroupName="bad name")
    assert e.value.response["Error"]["Code"] == "InvalidParameterException"
    assert "failed to satisfy constraint" in e.value.response["Error"]["Message"]
    # Metric filters through the router to their own function.
    c.put_metric_filter(logGroupName="app", filterName="errors", filterPattern="[ip, user, status=5*, size]",
                        metricTransformations=[{"metricName": "Errors", "metricNamespace": "App",
                                                "metricValue": "$size"}])
    assert [f["filterName"] for f in c.describe_metric_filters(logGroupName="app")["metricFilters"]] == ["errors"]
    tested = c.test_metric_filter(filterPattern="[ip, user, status=5*, size]",
                                  logEventMessages=["1.2.3.4 bob 200 10", "1.2.3.4 bob 503 99"])["matches"]
    assert [(m["eventNumber"], m["extractedValues"]["$size"]) for m in tested] == [(1, "99")]
    # Another account (a 12-digit access key names it) sees none of it.
    assert logs(key="210987654321").describe_log_groups()["logGroups"] == []


def test_one_megabyte_event_through_the_router(stack):
    # Today's AWS takes events up to 1 MB; one that does not compress spans several items.
    c = logs(key="300000000001")  # an account of its own
    c.create_log_group(logGroupName="big")
    c.create_log_stream(logGroupName="big", logStreamName="s")
    rng = random.Random(7)
    message = "".join(rng.choices(string.ascii_letters + string.digits + "+/", k=1_048_550))
    now = int(time.time() * 1000)
    c.put_log_events(logGroupName="big", logStreamName="s", logEvents=[{"timestamp": now, "message": message}])
    with pytest.raises(c.exceptions.InvalidParameterException):
        c.put_log_events(logGroupName="big", logStreamName="s",
                         logEvents=[{"timestamp": now, "message": message + "x"}])
    events = c.get_log_events(logGroupName="big", logStreamName="s", startFromHead=True)["events"]
    assert len(events) == 1 and events[0]["message"] == message


def test_todays_api_through_boto3(stack):
    # Members and actions of today's model on the resources Logbook serves (issue 19).
    account = "300000000019"
    c = logs(key=account)
    arn = f"arn:aws:logs:us-east-1:{account}:log-group:/svc/api"
    c.create_log_group(logGroupName="/svc/api", tags={"team": "core"}, logGroupClass="STANDARD",
                       deletionProtectionEnabled=True)
    c.create_log_group(logGroupName="/svc/cold", logGroupClass="INFREQUENT_ACCESS")
    c.create_log_stream(logGroupName="/svc/api", logStreamName="s")
    now = int(time.time() * 1000)
    c.put_log_events(logGroupName="/svc/api", logStreamName="s",
                     logEvents=[{"timestamp": now, "message": "GET /health 200"}])
    got = c.get_log_events(logGroupIdentifier=arn, logStreamName="s", startFromHead=True)["events"]
    assert [e["message"] for e in got] == ["GET /health 200"]
    assert c.filter_log_events(logGroupIdentifier="/svc/api", filterPattern="health")["events"]
    assert [s["logStreamName"] for s in c.describe_log_streams(logGroupIdentifier=arn)["logStreams"]] == ["s"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.describe_log_streams(logGroupName="/svc/api", logGroupIdentifier=arn)
    assert e.value.response["Error"]["Code"] == "ValidationException"
    assert e.value.response["Error"]["Message"] == "LogGroup name and LogGroup ARN are mutually exclusive parameters."
    # Name patterns, classes, ListLogGroups.
    found = c.describe_log_groups(logGroupNamePattern="api")["logGroups"]
    assert [g["logGroupName"] for g in found] == ["/svc/api"] and set(found[0]) == {"arn", "creationTime", "logGroupName"}
    groups = {g["logGroupName"]: g for g in c.describe_log_groups()["logGroups"]}
    assert groups["/svc/cold"]["logGroupClass"] == "INFREQUENT_ACCESS"
    assert groups["/svc/api"]["deletionProtectionEnabled"] is True
    listed = c.list_log_groups(logGroupNamePattern="^/svc")["logGroups"]
    assert listed == [{"logGroupName": "/svc/api", "logGroupArn": arn, "logGroupClass": "STANDARD"},
                      {"logGroupName": "/svc/cold", "logGroupArn": arn.replace("api", "cold"),
                       "logGroupClass": "INFREQUENT_ACCESS"}]
    # Tags by ARN are the group's tags.
    c.tag_resource(resourceArn=arn, tags={"env": "prod"})
    assert c.list_tags_log_group(logGroupName="/svc/api")["tags"] == {"team": "core", "env": "prod"}
    c.untag_log_group(logGroupName="/svc/api", tags=["team"])
    assert c.list_tags_for_resource(resourceArn=arn)["tags"] == {"env": "prod"}
    # Deletion protection.
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.delete_log_group(logGroupName="/svc/api")
    assert e.value.response["Error"]["Code"] == "ValidationException"
    c.put_log_group_deletion_protection(logGroupIdentifier=arn, deletionProtectionEnabled=False)
    c.delete_log_group(logGroupName="/svc/api")
    c.delete_log_group(logGroupName="/svc/cold")
    assert c.list_log_groups()["logGroups"] == []


def test_console_in_headless_chromium(stack):
    # The browser console (issue 20): tests/console drives Debian's chromium through playwright-core
    # against this serve, putting data in with the AWS CLI; screenshots go to target/console
    # (CONSOLE_SCREENSHOTS=docs/console refreshes the README's).
    shots = os.environ.get("CONSOLE_SCREENSHOTS", str(ROOT / "target" / "console"))
    env = dict(os.environ, LOGBOOK_URL=ENDPOINT, AWS_CLI=shutil.which("aws") or "aws", CONSOLE_SCREENSHOTS=shots)
    r = subprocess.run(["node", "--test", "--test-reporter=spec", "tests/console/"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-3000:]


def test_curl_sigv4(stack):
    r = subprocess.run(
        ["curl", "-s", "--aws-sigv4", "aws:amz:us-east-1:logs", "-u", "KEY:SECRET",
         "-H", "X-Amz-Target: Logs_20140328.DescribeLogGroups",
         "-H", "Content-Type: application/x-amz-json-1.1", "-d", "{}", f"{ENDPOINT}/"],
        capture_output=True, text=True, check=True)
    assert [g["logGroupName"] for g in json.loads(r.stdout)["logGroups"]] == ["app"]


def test_per_group_path_and_router_errors(stack):
    # The direct path skips the router hop.
    for path in ("/log-groups", "/log-groups/"):  # aws-sdk-rust adds the trailing slash
        direct = logs(endpoint=f"{ENDPOINT}{path}")
        assert [g["logGroupName"] for g in direct.describe_log_groups()["logGroups"]] == ["app"]
    # A target no function serves: the router answers it.
    r = subprocess.run(
        ["curl", "-s", "-w", "\n%{http_code}", "--aws-sigv4", "aws:amz:us-east-1:logs", "-u", "KEY:SECRET",
         "-H", "X-Amz-Target: Logs_20140328.Frobnicate",
         "-H", "Content-Type: application/x-amz-json-1.1", "-d", "{}", f"{ENDPOINT}/"],
        capture_output=True, text=True, check=True)
    body, status = r.stdout.rsplit("\n", 1)
    assert status == "400" and json.loads(body)["__type"] == "UnknownOperationException"
    # What API Gateway itself answers: no route, and a body no Lambda event can carry.
    for path, size, status, message in (("/nope", 2, 404, "Not Found"), ("/", 5 << 20, 413, "Request Entity Too Large")):
        req = urllib.request.Request(f"{ENDPOINT}{path}", data=b"{" + b" " * (size - 2) + b"}", method="POST")
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req, timeout=60)
        assert e.value.code == status and json.loads(e.value.read())["message"] == message


def test_cloudtrail(stack):
    # boto3 sends CloudTrail's long target form; the router finds the trails and lookup functions.
    s3 = moto("s3")
    s3.create_bucket(Bucket="e2e-trail-bucket")
    trail = boto3.client("cloudtrail", endpoint_url=ENDPOINT, region_name="us-east-1",
                         aws_access_key_id="AKIDE2E", aws_secret_access_key="secret")
    created = trail.create_trail(Name="e2e-trail", S3BucketName="e2e-trail-bucket")
    assert created["TrailARN"] == "arn:aws:cloudtrail:us-east-1:123456789012:trail/e2e-trail"
    trail.start_logging(Name="e2e-trail")
    assert trail.get_trail_status(Name="e2e-trail")["IsLogging"] is True
    with pytest.raises(trail.exceptions.S3BucketDoesNotExistException):
        trail.create_trail(Name="e2e-other", S3BucketName="e2e-missing-bucket")
    # The AWS CLI's create-log-group earlier is in the event history, with its user agent.
    r = cli("cloudtrail", "lookup-events", "--lookup-attributes",
            "AttributeKey=EventName,AttributeValue=CreateLogGroup")
    assert r.returncode == 0, r.stderr
    events = json.loads(r.stdout)["Events"]
    assert [e["EventName"] for e in events][-1] == "CreateLogGroup"
    first = json.loads(events[-1]["CloudTrailEvent"])
    assert first["requestParameters"]["logGroupName"] == "app"
    assert "aws-cli" in first["userAgent"]


def test_subscriptions_deliver_to_a_lambda_function_and_kinesis(stack):
    """The example subscriber (examples/subscriber, a real function under cargo lambda watch) and a
    Kinesis stream on the local AWS services receive what a filter matches, through the table's
    stream, local-streams and the fan-out function."""
    account = "300000000002"
    c = logs(key=account)
    s3, kinesis = moto("s3"), moto("kinesis")
    kinesis.create_stream(StreamName="e2e-errors", ShardCount=1)
    c.create_log_group(logGroupName="subscribed")
    c.create_log_stream(logGroupName="subscribed", logStreamName="s")
    c.put_subscription_filter(logGroupName="subscribed", filterName="to-lambda", filterPattern="ERROR",
                              destinationArn=f"arn:aws:lambda:us-east-1:{account}:function:subscriber")
    c.put_subscription_filter(logGroupName="subscribed", filterName="to-kinesis", filterPattern="",
                              destinationArn="arn:aws:kinesis:us-east-1:123456789012:stream/e2e-errors",
                              roleArn="arn:aws:iam::123456789012:role/logbook-target")
    filters = c.describe_subscription_filters(logGroupName="subscribed")["subscriptionFilters"]
    assert [f["filterName"] for f in filters] == ["to-kinesis", "to-lambda"]
    now = int(time.time() * 1000)
    for b in range(2):
        c.put_log_events(logGroupName="subscribed", logStreamName="s", logEvents=[
            {"timestamp": now + b * 10 + i, "message": f"{'ERROR' if i % 2 else 'INFO'} batch {b} #{i}"}
            for i in range(6)])
    want = c.filter_log_events(logGroupName="subscribed", filterPattern="ERROR")["events"]
    assert len(want) == 6

    def lambda_received():
        try:
            keys = [o["Key"] for o in s3.list_objects_v2(Bucket="logbook-subscriber",
                                                          Prefix="subscribed/").get("Contents", [])]
        except s3.exceptions.NoSuchBucket:
            return []
        messages = [json.loads(s3.get_object(Bucket="logbook-subscriber", Key=k)["Body"].read()) for k in keys]
        return messages

    deadline = time.time() + 300  # the first delivery may wait for watch to build the subscriber
    while sum(len(m["logEvents"]) for m in lambda_received()) < 6:
        assert time.time() < deadline, f"the subscriber got {lambda_received()}"
        time.sleep(1)
    messages = lambda_received()
    for m in messages:
        assert m["messageType"] == "DATA_MESSAGE" and m["owner"] == account
        assert m["logGroup"] == "subscribed" and m["logStream"] == "s"
        assert m["subscriptionFilters"] == ["to-lambda"]
    got = sorted((e["id"], e["timestamp"], e["message"]) for m in messages for e in m["logEvents"])
    assert got == sorted((e["eventId"], e["timestamp"], e["message"]) for e in want)

    shard = kinesis.list_shards(StreamName="e2e-errors")["Shards"][0]["ShardId"]
    it = kinesis.get_shard_iterator(StreamName="e2e-errors", ShardId=shard,
                                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = []
    while time.time() < deadline:
        out = kinesis.get_records(ShardIterator=it)
        records += [json.loads(gzip.decompress(r["Data"])) for r in out["Records"]]
        it = out["NextShardIterator"]
        if sum(len(m["logEvents"]) for m in records if m["messageType"] == "DATA_MESSAGE") >= 12:
            break
        time.sleep(0.5)
    assert records[0]["messageType"] == "CONTROL_MESSAGE"
    delivered = [e["message"] for m in records if m["messageType"] == "DATA_MESSAGE" for e in m["logEvents"]]
    delivered = list(dict.fromkeys(delivered))  # at least once: a repeat keeps its first place
    assert delivered == [f"{'ERROR' if i % 2 else 'INFO'} batch {b} #{i}" for b in range(2) for i in range(6)]


def test_metric_filters_publish_to_the_local_cloudwatch(stack):
    """PutLogEvents → the table's stream → the fan-out → the worker's publisher → moto's
    CloudWatch, read back with boto3's cloudwatch client and the AWS CLI within 60 seconds of
    PutLogEvents' answer (once the functions are built)."""
    account = "300000000003"
    c = logs(key=account)
    cw = moto("cloudwatch")
    c.create_log_group(logGroupName="metered")
    c.create_log_stream(logGroupName="metered", logStreamName="s")
    c.put_metric_filter(logGroupName="metered", filterName="latency", filterPattern="{ $.latency > 0 }",
                        metricTransformations=[{"metricName": "Latency", "metricNamespace": "E2E",
                                                "metricValue": "$.latency", "unit": "Milliseconds"}])
    minute = (int(time.time()) // 60 - 2) * 60
    events = [{"timestamp": minute * 1000 + i, "message": json.dumps({"latency": v})}
              for i, v in enumerate([5, 15, 10])]

    def datapoints():
        return cw.get_metric_statistics(Namespace="E2E", MetricName="Latency", StartTime=minute,
                                        EndTime=minute + 60, Period=60, Unit="Milliseconds",
                                        Statistics=["SampleCount", "Sum", "Minimum", "Maximum"])["Datapoints"]

    # The first round may wait for watch to build the fan-out and the worker.
    c.put_log_events(logGroupName="metered", logStreamName="s", logEvents=events[:1])
    deadline = time.time() + 300
    while not datapoints():
        assert time.time() < deadline, "no datapoint reached CloudWatch"
        time.sleep(1)
    answered = time.time()
    c.put_log_events(logGroupName="metered", logStreamName="s", logEvents=events[1:])
    while datapoints()[0]["SampleCount"] < 3:
        assert time.time() < answered + 60, f"not published within 60 s: {datapoints()}"
        time.sleep(1)
    [d] = datapoints()
    assert (d["SampleCount"], d["Sum"], d["Minimum"], d["Maximum"]) == (3, 30, 5, 15)
    r = subprocess.run(["aws", "cloudwatch", "get-metric-statistics", "--namespace", "E2E", "--metric-name",
                        "Latency", "--statistics", "Sum", "--period", "60", "--start-time", str(minute),
                        "--end-time", str(minute + 60), "--endpoint-url", f"http://127.0.0.1:{S3_PORT}"],
                       capture_output=True, text=True, env=dict(os.environ, **CREDS))
    assert r.returncode == 0, r.stderr
    assert [p["Sum"] for p in json.loads(r.stdout)["Datapoints"]] == [30.0]


def test_export_task_to_the_local_s3(stack):
    """CreateExportTask through boto3 and the AWS CLI: the worker scripts/serve runs writes the
    objects to moto's S3, where they are read back and compared line by line."""
    import gzip
    account = "300000000004"
    c = logs(key=account)
    s3 = moto("s3")
    s3.create_bucket(Bucket="e2e-exports")
    c.create_log_group(logGroupName="exported")
    c.create_log_stream(logGroupName="exported", logStreamName="app/1")
    now = int(time.time() * 1000)
    events = [{"timestamp": now - 5000 + i, "message": f"line {i}"} for i in range(50)]
    c.put_log_events(logGroupName="exported", logStreamName="app/1", logEvents=events)
    r = cli("logs", "create-export-task", "--log-group-name", "exported", "--from", "0", "--to", str(now),
            "--destination", "e2e-exports", "--destination-prefix", "e2e", key=account)
    assert r.returncode == 0, r.stderr
    task_id = json.loads(r.stdout)["taskId"]
    assert s3.get_object(Bucket="e2e-exports", Key="e2e/aws-logs-write-test")["Body"].read() == b"Permission Check Successful"
    deadline = time.time() + 300  # the first run may wait for watch to build the worker
    while True:
        [task] = c.describe_export_tasks(taskId=task_id)["exportTasks"]
        if task["status"]["code"] == "COMPLETED":
            break
        assert task["status"]["code"] in ("PENDING", "RUNNING"), task
        assert time.time() < deadline, f"export not done: {task}"
        time.sleep(1)
    body = s3.get_object(Bucket="e2e-exports", Key=f"e2e/{task_id}/app-1/000000.gz")["Body"].read()
    got = gzip.decompress(body).decode().splitlines()
    assert [line[25:] for line in got] == [e["message"] for e in events]
    assert all(line[23] == "Z" and line[10] == "T" for line in got), got[:2]


def test_trail_delivers_files_log_group_events_and_notifications(stack):
    """A logging trail with a bucket, a prefix, a topic and a log group, all on the local services:
    its log files appear in moto's S3 within seconds (scripts/serve delivers every 10 s at most),
    each announced on the topic (read from an SQS queue subscribed to it), and its records in the
    log group, where a JSON filter pattern finds them. Default keys map to account 123456789012,
    moto's own, so the topic and the bucket are the account's."""
    account = "123456789012"
    s3, sns, sqs = moto("s3"), moto("sns"), moto("sqs")
    s3.create_bucket(Bucket="e2e-trail-files")
    topic = sns.create_topic(Name="e2e-trail-topic")["TopicArn"]
    queue = sqs.create_queue(QueueName="e2e-trail-queue")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    c = logs()
    c.create_log_group(logGroupName="e2e-trail-logs")
    trail = boto3.client("cloudtrail", endpoint_url=ENDPOINT, region_name="us-east-1",
                         aws_access_key_id="AKIDE2E", aws_secret_access_key="secret")
    with pytest.raises(trail.exceptions.InsufficientSnsTopicPolicyException):
        trail.create_trail(Name="e2e-delivering", S3BucketName="e2e-trail-files", SnsTopicName="e2e-no-topic")
    trail.create_trail(Name="e2e-delivering", S3BucketName="e2e-trail-files", S3KeyPrefix="e2e",
                       SnsTopicName="e2e-trail-topic",
                       CloudWatchLogsLogGroupArn=f"arn:aws:logs:us-east-1:{account}:log-group:e2e-trail-logs:*",
                       CloudWatchLogsRoleArn=f"arn:aws:iam::{account}:role/CloudTrail_CloudWatchLogs_Role")
    trail.start_logging(Name="e2e-delivering")
    c.create_log_group(logGroupName="e2e-trail-watched")
    c.delete_log_group(logGroupName="e2e-trail-watched")

    prefix = f"e2e/AWSLogs/{account}/CloudTrail/us-east-1/"
    files, records = {}, []
    deadline = time.time() + 180  # the first run may wait for watch to build the worker
    while time.time() < deadline:
        for o in s3.list_objects_v2(Bucket="e2e-trail-files", Prefix=prefix).get("Contents", []):
            if o["Key"] not in files:
                body = s3.get_object(Bucket="e2e-trail-files", Key=o["Key"])["Body"].read()
                files[o["Key"]] = json.loads(gzip.decompress(body))["Records"]
        records = [r for rs in files.values() for r in rs]
        if any(r["eventName"] == "DeleteLogGroup" and r["requestParameters"]["logGroupName"] == "e2e-trail-watched"
               for r in records):
            break
        time.sleep(1)
    else:
        pytest.fail(f"no log file with the DeleteLogGroup record: {sorted(files)}")
    for key in files:
        name = key.rsplit("/", 1)[1]
        assert name.startswith(f"{account}_CloudTrail_us-east-1_") and name.endswith(".json.gz"), key
    assert len({r["eventID"] for r in records}) == len(records), "a record in two files"
    # Record by record, as LookupEvents shows them.
    for r in records:
        found = trail.lookup_events(LookupAttributes=[{"AttributeKey": "EventId", "AttributeValue": r["eventID"]}])
        assert json.loads(found["Events"][0]["CloudTrailEvent"]) == r
    assert not any(r["eventName"] == "PutLogEvents" for r in records), "management events only"

    # The log group: the same records, found by a JSON pattern.
    stream = f"{account}_CloudTrail_us-east-1"
    pattern = '{ $.eventName = "DeleteLogGroup" && $.requestParameters.logGroupName = "e2e-trail-watched" }'
    deadline = time.time() + 60
    while True:
        found = c.filter_log_events(logGroupName="e2e-trail-logs", filterPattern=pattern)["events"]
        if found or time.time() > deadline:
            break
        time.sleep(1)
    assert [e["logStreamName"] for e in found] == [stream]
    assert json.loads(found[0]["message"])["eventName"] == "DeleteLogGroup"

    # One notification per file, CloudTrail's message.
    notified = set()
    deadline = time.time() + 30
    while not set(files) <= notified and time.time() < deadline:
        for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            message = json.loads(json.loads(m["Body"])["Message"])
            assert message["s3Bucket"] == "e2e-trail-files"
            notified.update(message["s3ObjectKey"])
    assert set(files) <= notified, (sorted(files), sorted(notified))

    status = trail.get_trail_status(Name="e2e-delivering")
    for k in ("LatestDeliveryTime", "LatestNotificationTime", "LatestCloudWatchLogsDeliveryTime", "StartLoggingTime"):
        assert k in status, (k, status)
    assert "LatestDeliveryError" not in status

    # The bucket goes: GetTrailStatus reports S3's error.
    for o in s3.list_objects_v2(Bucket="e2e-trail-files").get("Contents", []):
        s3.delete_object(Bucket="e2e-trail-files", Key=o["Key"])
    s3.delete_bucket(Bucket="e2e-trail-files")
    c.create_log_group(logGroupName="e2e-trail-after-bucket")
    deadline = time.time() + 60
    while trail.get_trail_status(Name="e2e-delivering").get("LatestDeliveryError") != "NoSuchBucket":
        assert time.time() < deadline, trail.get_trail_status(Name="e2e-delivering")
        time.sleep(1)
    trail.stop_logging(Name="e2e-delivering")
    assert trail.get_trail_status(Name="e2e-delivering")["IsLogging"] is False
    # The default account is shared with later tests: leave it as it was.
    trail.delete_trail(Name="e2e-delivering")
    for g in ("e2e-trail-logs", "e2e-trail-after-bucket"):
        c.delete_log_group(logGroupName=g)


def test_background_worker_applies_retention_and_reclaims(stack):
    """scripts/serve runs the worker on a timer, as the schedule does in AWS."""
    c = logs()
    c.create_log_group(logGroupName="worker")
    for s in ("kept", "dropped"):
        c.create_log_stream(logGroupName="worker", logStreamName=s)
        c.put_log_events(logGroupName="worker", logStreamName=s,
                         logEvents=[{"timestamp": int(time.time() * 1000), "message": f"in {s}"}])
    c.put_retention_policy(logGroupName="worker", retentionInDays=7)
    c.delete_log_stream(logGroupName="worker", logStreamName="dropped")
    ddb = boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{DDB_PORT}", region_name="us-east-1",
                       aws_access_key_id="local", aws_secret_access_key="local")

    def items(**kw):
        return ddb.scan(TableName="logbook", ConsistentRead=True, **kw)["Items"]

    deadline = time.time() + 300  # the first run also builds the worker
    # A logging trail's delivery job stays queued while it logs (test_cloudtrail's does).
    while items(FilterExpression="pk = :w AND NOT contains(sk, :trail)",
                ExpressionAttributeValues={":w": {"S": "work"}, ":trail": {"S": "#trail#"}}):
        assert time.time() < deadline, "the worker never emptied its queue"
        time.sleep(1)
    # This test's account only (other tests write to accounts of their own).
    chunks = items(FilterExpression="#t = :c AND begins_with(pk, :mine)", ExpressionAttributeNames={"#t": "type"},
                   ExpressionAttributeValues={":c": {"S": "chunk"}, ":mine": {"S": "123456789012#"}})
    assert len(chunks) == 1, "the deleted stream's chunk was reclaimed"
    ttl = int(chunks[0]["expiresAt"]["N"])
    assert ttl > time.time() + 7 * 86400, "the new retention reached the stored chunk"
    c.delete_log_group(logGroupName="worker")


def test_unconfigured_serve_trusts_any_signature_and_hides_the_invoke_api(stack):
    assert "auth: off" in stack.output()
    # Locally, with nothing configured, any secret goes (the banner says so).
    assert [g["logGroupName"] for g in logs().describe_log_groups()["logGroups"]] == ["app"]
    # Lambda's own Invoke API is not on Logbook's port.
    req = urllib.request.Request(f"{ENDPOINT}/2015-03-31/functions/router/invocations", data=b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=60)
    assert e.value.code == 404


def test_ctrl_c_stops_everything_and_data_survives_a_restart(stack):
    stack.ctrl_c()
    assert stack.proc.returncode is not None
    time.sleep(1)
    assert not port_open(PORT) and not port_open(DDB_PORT) and not port_open(WATCH_PORT)
    assert leftovers(stack.data) == []
    # Back up, verifying signatures this time: the key that wrote the data maps to its account.
    stack.start(LOGBOOK_AUTH="sigv4", LOGBOOK_ACCESS_KEYS="AKIDE2E:secret=123456789012/e2e-user",
                LOGBOOK_KEY_CACHE_SECONDS="1")
    assert [g["logGroupName"] for g in logs().describe_log_groups()["logGroups"]] == ["app"]
    assert [s["logStreamName"] for s in logs().describe_log_streams(logGroupName="app")["logStreams"]] == ["web-1"]


def admin(*args):
    binary = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "debug" / "logbook-admin"
    env = dict(os.environ, LOGBOOK_S3_PORT=str(S3_PORT))
    return subprocess.run([str(binary), *args, "--local"], capture_output=True, text=True, env=env)


def test_sigv4_mode_verifies_every_call(stack):
    assert "auth: sigv4" in stack.output()[stack.mark:]
    # The right key passes, through boto3 and the AWS CLI; the audit names the verified user.
    assert logs().describe_log_groups()["logGroups"][0]["logGroupName"] == "app"
    r = cli("logs", "describe-log-groups")
    assert r.returncode == 0, r.stderr
    trail = boto3.client("cloudtrail", endpoint_url=ENDPOINT, region_name="us-east-1",
                         aws_access_key_id="AKIDE2E", aws_secret_access_key="secret")
    found = trail.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "DescribeLogGroups"}],
                                MaxResults=1)["Events"]
    assert found and found[0]["Username"] == "e2e-user"
    assert json.loads(found[0]["CloudTrailEvent"])["userIdentity"]["type"] == "IAMUser"

    def refused(client):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            client.describe_log_groups()
        return e.value.response["Error"]["Code"]

    bad = boto3.client("logs", endpoint_url=ENDPOINT, region_name="us-east-1",
                       aws_access_key_id="AKIDE2E", aws_secret_access_key="wrong")
    assert refused(bad) == "InvalidSignatureException"
    # The 12-digit shortcut exists only with signatures off.
    assert refused(logs(key="210987654321")) == "UnrecognizedClientException"
    # The console signs in the browser: a refused key shows AWS's message, the right one works.
    env = dict(os.environ, LOGBOOK_URL=ENDPOINT, LOGBOOK_AUTH="sigv4", CONSOLE_KEY="AKIDE2E", CONSOLE_SECRET="secret")
    r = subprocess.run(["node", "--test", "--test-name-pattern=signatures verified", "tests/console/"], cwd=ROOT,
                       env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "# pass 1" in r.stdout, r.stdout[-4000:] + r.stderr[-2000:]
    # A key made with the admin tool works at once, in its own account; disabled, it stops.
    r = admin("keys", "create", "--account", "222222222222", "--user", "bob")
    assert r.returncode == 0, r.stderr
    made = dict(line.split(":", 1) for line in r.stdout.splitlines())
    key, secret = made["AccessKeyId"].strip(), made["SecretAccessKey"].strip()
    bob = boto3.client("logs", endpoint_url=ENDPOINT, region_name="us-east-1",
                       aws_access_key_id=key, aws_secret_access_key=secret)
    assert bob.describe_log_groups()["logGroups"] == []
    listed = admin("keys", "list")
    assert key in listed.stdout and secret not in listed.stdout
    assert admin("keys", "disable", key).returncode == 0
    deadline = time.time() + 30
    while True:
        try:
            bob.describe_log_groups()
        except botocore.exceptions.ClientError as e:
            assert e.response["Error"]["Code"] == "UnrecognizedClientException"
            break
        assert time.time() < deadline, "a disabled key kept working"
        time.sleep(0.5)
    assert admin("keys", "delete", key).returncode == 0
