"""An independent reader for warehouses on S3-compatible storage, for tests/s3_warehouse.rs.

boto3 lists and downloads the objects, pyarrow reads the Parquet files; nothing here uses strata.

  s3_warehouse.py bucket  ENDPOINT BUCKET
      create the bucket
  s3_warehouse.py current ENDPOINT BUCKET PREFIX
      print _meta/current.json of the warehouse at s3://BUCKET/PREFIX (`null` when absent)
  s3_warehouse.py put     ENDPOINT BUCKET KEY TEXT
      write an object
  s3_warehouse.py compare LOCAL_WAREHOUSE ENDPOINT BUCKET PREFIX
      compare every table of the two current releases, row for row (order ignored, values
      and column types exact); prints `N tables equal` or the first difference and exits 1

Credentials come from the standard AWS variables (any value works against a local moto).
"""

import json
import os
import sys
import tempfile

import boto3
import pyarrow.dataset as ds


def client(endpoint):
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")


def current(s3, bucket, prefix):
    try:
        body = s3.get_object(Bucket=bucket, Key=f"{prefix}/_meta/current.json")["Body"]
    except s3.exceptions.NoSuchKey:
        return None
    return json.loads(body.read())


def download_release(s3, bucket, prefix, run_id, into):
    """Every object of release `run_id` under `into`, keeping the layout below the release."""
    base = f"{prefix}/_releases/{run_id}/"
    n = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=base):
        for obj in page.get("Contents", []):
            target = os.path.join(into, obj["Key"][len(base):])
            os.makedirs(os.path.dirname(target), exist_ok=True)
            s3.download_file(bucket, obj["Key"], target)
            n += 1
    return n


def tables(release_dir):
    """{"layer/table": sorted rows} for every table directory of a release."""
    out = {}
    for layer in ("ods", "dwd", "dws", "ads"):
        layer_dir = os.path.join(release_dir, layer)
        if not os.path.isdir(layer_dir):
            continue
        for name in sorted(os.listdir(layer_dir)):
            path = os.path.join(layer_dir, name)
            hive = any(e.startswith("ds=") for e in os.listdir(path))
            data = ds.dataset(path, format="parquet", partitioning="hive" if hive else None)
            table = data.to_table()
            rows = sorted(repr(r) for r in table.to_pylist())
            out[f"{layer}/{name}"] = (str(table.schema), rows)
    return out


def main():
    cmd = sys.argv[1]
    if cmd == "bucket":
        client(sys.argv[2]).create_bucket(Bucket=sys.argv[3])
    elif cmd == "put":
        client(sys.argv[2]).put_object(Bucket=sys.argv[3], Key=sys.argv[4],
                                       Body=sys.argv[5].encode())
    elif cmd == "current":
        print(json.dumps(current(client(sys.argv[2]), sys.argv[3], sys.argv[4])))
    elif cmd == "compare":
        local, endpoint, bucket, prefix = sys.argv[2:6]
        s3 = client(endpoint)
        remote = current(s3, bucket, prefix)
        if remote is None:
            sys.exit(f"no current release at s3://{bucket}/{prefix}")
        with open(os.path.join(local, "_meta", "current.json")) as f:
            mine = json.load(f)
        with tempfile.TemporaryDirectory() as tmp:
            download_release(s3, bucket, prefix, remote["run_id"], tmp)
            a = tables(os.path.join(local, "_releases", mine["run_id"]))
            b = tables(tmp)
        if sorted(a) != sorted(b):
            sys.exit(f"tables differ: local only {sorted(set(a) - set(b))}, "
                     f"s3 only {sorted(set(b) - set(a))}")
        for name in sorted(a):
            if a[name][0] != b[name][0]:
                sys.exit(f"{name}: schemas differ:\n{a[name][0]}\n--\n{b[name][0]}")
            if a[name][1] != b[name][1]:
                diff = next(i for i, (x, y) in enumerate(zip(a[name][1], b[name][1])) if x != y) \
                    if len(a[name][1]) == len(b[name][1]) else None
                sys.exit(f"{name}: {len(a[name][1])} local rows, {len(b[name][1])} on s3; "
                         f"first differing sorted row {diff}")
        print(f"{len(a)} tables equal")
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
