#!/usr/bin/env python3
"""Create Logbook's table in a local DynamoDB engine from template.yaml's `Table` resource.

template.yaml is the only definition of the table; this reads its Properties so the local table
and the deployed one cannot drift apart. Idempotent: an existing table is left as it is.

usage: create_table.py ENDPOINT_URL [TABLE_NAME]
"""
import os
import sys
from pathlib import Path

import boto3
import yaml


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation short-form tags (!Ref, !Sub, ...) as plain values."""


_CfnLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def table_properties():
    template = Path(__file__).resolve().parent.parent / "template.yaml"
    doc = yaml.load(template.read_text(), Loader=_CfnLoader)
    return doc["Resources"]["Table"]["Properties"]


def add_missing_indexes(ddb, name, props):
    """A table made by an older checkout gets the indexes added since (data kept on disk)."""
    have = {i["IndexName"] for i in ddb.describe_table(TableName=name)["Table"].get("GlobalSecondaryIndexes", [])}
    for index in props["GlobalSecondaryIndexes"]:
        if index["IndexName"] in have:
            continue
        keys = {k["AttributeName"] for k in index["KeySchema"]}
        ddb.update_table(
            TableName=name,
            AttributeDefinitions=[a for a in props["AttributeDefinitions"] if a["AttributeName"] in keys],
            GlobalSecondaryIndexUpdates=[{"Create": index}],
        )
        print(f"added index {index['IndexName']} to table {name}")
    print(f"table {name} is ready")


def add_missing_stream(ddb, name, props):
    """The table's stream feeds the fan-out (subscriptions); a table made before it gets it."""
    spec = props.get("StreamSpecification")
    if not spec:
        return
    table = ddb.describe_table(TableName=name)["Table"]
    if table.get("StreamSpecification", {}).get("StreamEnabled"):
        return
    ddb.update_table(
        TableName=name,
        StreamSpecification={"StreamEnabled": True, "StreamViewType": spec["StreamViewType"]},
    )
    print(f"enabled the stream of table {name}")


def main():
    endpoint = sys.argv[1]
    name = sys.argv[2] if len(sys.argv) > 2 else "logbook"
    props = table_properties()
    # A local engine takes any credentials; a real table's endpoint takes yours (from the
    # environment), when given.
    creds = {} if os.environ.get("AWS_ACCESS_KEY_ID") and "127.0.0.1" not in endpoint and "localhost" not in endpoint \
        else {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
    ddb = boto3.client("dynamodb", endpoint_url=endpoint, region_name=os.environ.get("AWS_REGION", "us-east-1"), **creds)
    if name in ddb.list_tables()["TableNames"]:
        add_missing_stream(ddb, name, props)
        add_missing_indexes(ddb, name, props)
        return
    ddb.create_table(
        TableName=name,
        BillingMode=props["BillingMode"],
        AttributeDefinitions=props["AttributeDefinitions"],
        KeySchema=props["KeySchema"],
        GlobalSecondaryIndexes=props["GlobalSecondaryIndexes"],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": props["StreamSpecification"]["StreamViewType"]},
    )
    ddb.get_waiter("table_exists").wait(TableName=name)
    ttl = props["TimeToLiveSpecification"]
    ddb.update_time_to_live(
        TableName=name,
        TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": ttl["Enabled"]},
    )
    print(f"created table {name}")


if __name__ == "__main__":
    main()
