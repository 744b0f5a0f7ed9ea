#!/usr/bin/env python3
"""Wait until every action group of a local Logbook answers, calling one read per group.

`cargo lambda watch` builds and starts each function on its first request; doing that here means
`scripts/serve` says "ready" only when no first call will stall. Any answer that is not a server
fault counts (a ResourceNotFoundException proves the function ran).

usage: warm_up.py ENDPOINT [TIMEOUT_SECONDS]
"""
import sys
import time

import boto3
import botocore.config
import botocore.exceptions


def main():
    endpoint = sys.argv[1]
    deadline = time.time() + float(sys.argv[2] if len(sys.argv) > 2 else 900)
    config = botocore.config.Config(retries={"max_attempts": 1}, read_timeout=900, connect_timeout=5)
    kw = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="local",
              aws_secret_access_key="local", config=config)
    logs, trail = boto3.client("logs", **kw), boto3.client("cloudtrail", **kw)
    calls = {
        "log-groups": lambda: logs.describe_log_groups(limit=1),
        "log-streams": lambda: logs.describe_log_streams(logGroupName="logbook-warm-up"),
        "log-events": lambda: logs.get_log_events(logGroupName="logbook-warm-up", logStreamName="s"),
        "metric-filters": lambda: logs.describe_metric_filters(limit=1),
        "trails": lambda: trail.describe_trails(),
        "lookup": lambda: trail.lookup_events(MaxResults=1),
    }
    for name, call in calls.items():
        while True:
            try:
                call()
                break
            except botocore.exceptions.ClientError as e:
                status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 500)
                if status < 500 and e.response["Error"]["Code"] != "404":
                    break
            except (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ReadTimeoutError,
                    botocore.exceptions.ConnectionClosedError):
                pass
            if time.time() > deadline:
                sys.exit(f"{name} did not answer in time")
            time.sleep(1)
        print(f"{name} ready", file=sys.stderr)


if __name__ == "__main__":
    main()
