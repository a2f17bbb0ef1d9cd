"""Compare every table of two local warehouses' current releases: schemas exactly, rows in any
order (sorted with pyarrow, or by a digest of each row where a column type cannot be sorted).
Prints `N of M tables equal` and each difference; exits 1 on any.

  python3 bench/compare_warehouses.py WAREHOUSE_A WAREHOUSE_B
"""
import hashlib
import os
import sys
import pyarrow as pa
import pyarrow.dataset as ds
a, b = sys.argv[1], sys.argv[2]
def tables(root):
    out = {}
    cur = os.path.join(root, "current")
    for layer in ("dwd", "dws", "ads"):
        d = os.path.join(cur, layer)
        if os.path.isdir(d):
            for n in os.listdir(d):
                out[f"{layer}/{n}"] = os.path.join(d, n)
    return out
ta, tb = tables(a), tables(b)
bad = []
for k in sorted(set(ta) | set(tb)):
    if k not in ta or k not in tb:
        bad.append(f"{k}: only in one"); continue
    def load(p):
        hive = any(e.startswith("ds=") for e in os.listdir(p))
        return ds.dataset(p, format="parquet", partitioning="hive" if hive else None).to_table()
    x, y = load(ta[k]), load(tb[k])
    if x.schema != y.schema:
        bad.append(f"{k}: schemas differ\n{x.schema}\n--\n{y.schema}"); continue
    if x.num_rows != y.num_rows:
        bad.append(f"{k}: {x.num_rows} vs {y.num_rows} rows"); continue
    # order-free digest: hash each row's repr in chunks, sum as multiset via sorted hashes
    def digest(t):
        hs = []
        for batch in t.to_batches(max_chunksize=200000):
            for row in zip(*[c.to_pylist() for c in batch.columns]):
                hs.append(hashlib.blake2b(repr(row).encode(), digest_size=8).digest())
        hs.sort()
        return hashlib.sha256(b"".join(hs)).hexdigest()
    try:
        keys = [(c, "ascending") for c in x.column_names]
        same = x.sort_by(keys).equals(y.sort_by(keys))
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid, pa.ArrowTypeError):
        same = digest(x) == digest(y)
    if not same:
        bad.append(f"{k}: rows differ")
print(f"{len(set(ta)|set(tb)) - len(bad)} of {len(set(ta)|set(tb))} tables equal")
for m in bad: print(m)
sys.exit(1 if bad else 0)
