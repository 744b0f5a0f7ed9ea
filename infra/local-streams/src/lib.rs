//! What Lambda's event source mapping does for the fan-out in AWS, done locally: read the table's
//! DynamoDB stream (DynamoDB Local serves one) shard by shard, parents before children, keep only
//! the records the mappings' filters keep (inserted chunks and audit records), hand them to the
//! fan-out as a DynamoDB stream event, and move the checkpoint past them only once the fan-out
//! says they are done. The checkpoint lives in a file, so a feeder that dies (or is killed)
//! resumes where it stopped: at least once, never lost. A batch the fan-out hands back (its
//! `batchItemFailures`) is retried from its first failed record with growing delays, as the
//! mapping retries.
//!
//! The stream API is spoken as raw JSON (signed with SigV4, through the same client CloudWatch
//! metrics use): a stream record's JSON is exactly what Lambda passes a function, so records go
//! to the fan-out as they came.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use aws_credential_types::provider::SharedCredentialsProvider;
use logbook_delivery::json_api::JsonApi;
use serde_json::{Value, json};

/// Records per GetRecords call (the mapping's default batch size).
const BATCH: u32 = 100;

/// Where a feeder starts on shards it has no checkpoint for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// Only what is written from now on (a new feeder; the mapping's `LATEST`).
    Latest,
    /// Everything the stream still holds.
    TrimHorizon,
}

/// The DynamoDB (and DynamoDB Streams) JSON API of one endpoint.
struct Api(JsonApi);

impl Api {
    async fn call(&self, target: &str, body: Value) -> Result<Value, String> {
        let (status, v) = self.0.call(target, &body).await.map_err(|e| format!("{target}: {e}"))?;
        if !status.is_success() {
            return Err(format!("{target}: {status} {v}"));
        }
        Ok(v)
    }
}

pub struct Feeder {
    api: Api,
    stream_arn: String,
    /// Shard id → the last sequence number handed over and done.
    checkpoints: BTreeMap<String, String>,
    state: Option<PathBuf>,
    /// Shards known when the feeder started begin at `start`; shards that appear later (a
    /// stream's shards roll over) begin at their start, so nothing written to them is missed.
    initial: HashSet<String>,
    start: Start,
    iterators: HashMap<String, String>,
    done: HashSet<String>,
    /// Only chunks of this account (tests share one table); all when none.
    scope: Option<String>,
    failures: HashMap<String, u32>,
    /// When this feeder (or the first one on this checkpoint file) started, epoch seconds:
    /// shards without a checkpoint are read from their start, skipping what came before it.
    since: i64,
    /// What the feeder did, for logs and tests.
    pub delivered: u64,
    pub retries: u64,
}

impl Feeder {
    /// A feeder on `table`'s stream at `endpoint` (DynamoDB Local). `state`: the checkpoint
    /// file (created when missing).
    pub async fn new(
        endpoint: &str,
        table: &str,
        state: Option<PathBuf>,
        start: Start,
        scope: Option<String>,
    ) -> Result<Feeder, String> {
        let env = |k: &str, d: &str| std::env::var(k).ok().filter(|v| !v.is_empty()).unwrap_or_else(|| d.to_owned());
        let credentials = aws_credential_types::Credentials::new(
            env("AWS_ACCESS_KEY_ID", "local"),
            env("AWS_SECRET_ACCESS_KEY", "local"),
            None,
            None,
            "local",
        );
        let api = Api(JsonApi::new(
            endpoint,
            &env("AWS_REGION", "us-east-1"),
            "dynamodb",
            SharedCredentialsProvider::new(credentials),
        ));
        let described = api.call("DynamoDB_20120810.DescribeTable", json!({ "TableName": table })).await?;
        let stream_arn = described["Table"]["LatestStreamArn"]
            .as_str()
            .ok_or_else(|| format!("table {table} has no stream (StreamSpecification in template.yaml)"))?
            .to_owned();
        let saved = state
            .as_ref()
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .filter(|v| v["stream"].as_str() == Some(stream_arn.as_str()));
        let checkpoints: BTreeMap<String, String> =
            saved.as_ref().and_then(|v| serde_json::from_value(v["checkpoints"].clone()).ok()).unwrap_or_default();
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
        let fresh = if start == Start::Latest { now } else { 0 };
        let since = saved.as_ref().and_then(|v| v["since"].as_i64()).unwrap_or(fresh);
        let mut feeder = Feeder {
            api,
            stream_arn,
            checkpoints,
            state,
            initial: HashSet::new(),
            start,
            iterators: HashMap::new(),
            done: HashSet::new(),
            scope,
            failures: HashMap::new(),
            since,
            delivered: 0,
            retries: 0,
        };
        // A checkpoint file means this stream was fed before: what came since is owed, so every
        // shard is read from its checkpoint or its start. Without one, the feeder begins now, and
        // says so in a new file at once: a crash before its first checkpoint loses nothing.
        if saved.is_none() {
            feeder.initial = feeder.shards().await?.into_iter().map(|(id, _)| id).collect();
            // `LATEST` is the shard's end when the iterator is made: make them now.
            for shard in feeder.initial.clone() {
                if let Some(i) = feeder.iterator(&shard).await? {
                    feeder.iterators.insert(shard, i);
                }
            }
            feeder.save();
        }
        Ok(feeder)
    }

    /// Every shard with its parent.
    async fn shards(&self) -> Result<Vec<(String, Option<String>)>, String> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut req = json!({ "StreamArn": self.stream_arn });
            if let Some(a) = &after {
                req["ExclusiveStartShardId"] = json!(a);
            }
            let d = self.api.call("DynamoDBStreams_20120810.DescribeStream", req).await?;
            let desc = &d["StreamDescription"];
            for s in desc["Shards"].as_array().into_iter().flatten() {
                if let Some(id) = s["ShardId"].as_str() {
                    out.push((id.to_owned(), s["ParentShardId"].as_str().map(str::to_owned)));
                }
            }
            match desc["LastEvaluatedShardId"].as_str() {
                Some(l) => after = Some(l.to_owned()),
                None => break,
            }
        }
        Ok(out)
    }

    async fn iterator(&mut self, shard: &str) -> Result<Option<String>, String> {
        if let Some(i) = self.iterators.get(shard) {
            return Ok(Some(i.clone()));
        }
        let mut req = json!({ "StreamArn": self.stream_arn, "ShardId": shard });
        match self.checkpoints.get(shard) {
            Some(seq) => {
                req["ShardIteratorType"] = json!("AFTER_SEQUENCE_NUMBER");
                req["SequenceNumber"] = json!(seq);
            }
            None if self.initial.contains(shard) && self.start == Start::Latest => {
                req["ShardIteratorType"] = json!("LATEST");
            }
            None => req["ShardIteratorType"] = json!("TRIM_HORIZON"),
        }
        let out = self.api.call("DynamoDBStreams_20120810.GetShardIterator", req).await?;
        Ok(out["ShardIterator"].as_str().map(str::to_owned))
    }

    fn save(&self) {
        let Some(path) = &self.state else { return };
        let body =
            json!({ "stream": self.stream_arn, "since": self.since, "checkpoints": self.checkpoints }).to_string();
        let tmp = path.with_extension("tmp");
        // Written whole, then renamed over the old one: a crash leaves one or the other.
        if std::fs::write(&tmp, body).is_ok() {
            let _ = std::fs::rename(&tmp, path);
        }
    }

    /// One pass over the shards: reads what is new and hands what the filter keeps to `sink` (a
    /// DynamoDB stream event in, the fan-out's answer out). Returns how many records were read
    /// (0: caught up).
    pub async fn poll<F, Fut>(&mut self, sink: &F) -> Result<usize, String>
    where
        F: Fn(Value) -> Fut,
        Fut: Future<Output = Result<Value, String>>,
    {
        let shards = self.shards().await?;
        let known: HashSet<&String> = shards.iter().map(|(id, _)| id).collect();
        let mut read = 0;
        for (shard, parent) in &shards {
            if self.done.contains(shard) {
                continue;
            }
            // A child waits for its parent to be drained (per-key order spans shards).
            if let Some(p) = parent
                && known.contains(p)
                && !self.done.contains(p)
            {
                continue;
            }
            let Some(iterator) = self.iterator(shard).await? else {
                self.done.insert(shard.clone());
                continue;
            };
            let out = match self
                .api
                .call("DynamoDBStreams_20120810.GetRecords", json!({ "ShardIterator": iterator, "Limit": BATCH }))
                .await
            {
                Ok(o) => o,
                Err(e) => {
                    // Expired or trimmed iterators are made again from the checkpoint.
                    self.iterators.remove(shard);
                    if e.contains("ExpiredIterator") || e.contains("TrimmedDataAccess") {
                        continue;
                    }
                    return Err(e);
                }
            };
            let records: Vec<Value> = out["Records"].as_array().cloned().unwrap_or_default();
            read += records.len();
            let next = out["NextShardIterator"].as_str().map(str::to_owned);
            let seq = |r: &Value| r["dynamodb"]["SequenceNumber"].as_str().map(str::to_owned);
            let wanted: Vec<&Value> = records.iter().filter(|r| self.wanted(r)).collect();
            if !wanted.is_empty() {
                let answer = sink(json!({ "Records": wanted })).await;
                let failed_at = match &answer {
                    Ok(v) => v["batchItemFailures"]
                        .as_array()
                        .and_then(|a| a.first())
                        .and_then(|f| f["itemIdentifier"].as_str())
                        .map(str::to_owned),
                    Err(_) => wanted.first().and_then(|r| seq(r)),
                };
                if let Some(failed) = failed_at {
                    // Everything before the failed record is done; retry from it, later. (A
                    // failure the batch does not hold should not happen: all of it is retried.)
                    let seqs: Vec<String> = records.iter().filter_map(seq).collect();
                    let before: &[String] = match seqs.iter().position(|s| *s == failed) {
                        Some(i) => &seqs[..i],
                        None => &[],
                    };
                    if let Some(last) = before.last() {
                        self.checkpoints.insert(shard.clone(), last.clone());
                        self.save();
                    }
                    self.iterators.remove(shard);
                    self.retries += 1;
                    let n = self.failures.entry(shard.clone()).or_insert(0);
                    *n += 1;
                    let delay =
                        Duration::from_millis(250u64.saturating_mul(1 << (*n).min(7))).min(Duration::from_secs(30));
                    match &answer {
                        Err(e) => eprintln!("local-streams: the fan-out failed ({e}); retrying in {delay:?}"),
                        Ok(_) => eprintln!("local-streams: the fan-out handed back {failed}; retrying in {delay:?}"),
                    }
                    tokio::time::sleep(delay).await;
                    continue;
                }
                self.failures.remove(shard);
                self.delivered += wanted.len() as u64;
            }
            if let Some(last) = records.last().and_then(seq) {
                self.checkpoints.insert(shard.clone(), last);
                self.save();
            }
            match next {
                Some(n) => {
                    self.iterators.insert(shard.clone(), n);
                }
                None => {
                    self.iterators.remove(shard);
                    self.done.insert(shard.clone());
                }
            }
        }
        Ok(read)
    }

    /// The event source mappings' filters: inserted chunks and audit records.
    fn wanted(&self, r: &Value) -> bool {
        // Written before the feeder (or its first run) started: not owed. (DynamoDB Local
        // rounds creation times down to the minute: two minutes' leeway, at least once.)
        let created = r["dynamodb"]["ApproximateCreationDateTime"].as_f64();
        if created.is_some_and(|c| (c as i64) < self.since - 120) {
            return false;
        }
        let image = &r["dynamodb"]["NewImage"];
        let in_scope = self
            .scope
            .as_ref()
            .is_none_or(|a| image["pk"]["S"].as_str().is_some_and(|pk| pk.starts_with(&format!("{a}#"))));
        // Every chunk: its stream's metadata is settled from it (AWS: a second mapping, batched
        // for a minute, takes the chunks the first one does not).
        let chunk = image["type"]["S"] == "chunk";
        // Audit records: trails deliver them to their log groups.
        let audit = image["type"]["S"] == "audit";
        r["eventName"] == "INSERT" && in_scope && (chunk || audit)
    }

    /// Polls for ever, pausing `idle` when there is nothing new.
    pub async fn run<F, Fut>(&mut self, sink: F, idle: Duration)
    where
        F: Fn(Value) -> Fut,
        Fut: Future<Output = Result<Value, String>>,
    {
        loop {
            match self.poll(&sink).await {
                Ok(0) => tokio::time::sleep(idle).await,
                Ok(_) => {}
                Err(e) => {
                    eprintln!("local-streams: {e}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }
}
