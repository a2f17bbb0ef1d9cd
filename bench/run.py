#!/usr/bin/env python3
"""strata against its yardstick: the bundled pipeline on the same generated files, run by the
release binary and by DuckDB running the same stage SQL (../shared/bench/duck_pipeline.py).

usage: bench/run.sh [--scale S|M|L] [--pairs N] [--cache DIR] [--memory-limit SIZE]
                    [--duck-memory-limit SIZE] [--no-compare] [--regenerate]

It generates the warehouse of the scale once into the cache (S: 100,000 customers, M: 1,000,000,
L: 5,000,000; 400 days ending 2026-11-21, seed 1, as ../shared/bench/README.md measured), then
runs strata and DuckDB alternately, N pairs (default 3), each from an empty warehouse / output
directory, and prints per stage and in total the medians of wall seconds, CPU seconds (user +
system of the process, from wait4) and peak resident memory (ru_maxrss of the process), with the
ratio strata / DuckDB. Stage figures come from strata's run record (`_meta/runs/*.json`: wall,
CPU, sampled peak RSS) and from the yardstick's `stage=NAME s=SECONDS` lines (wall only). Finally
it runs the yardstick once more with `--compare` against strata's last warehouse and exits 1 when
any table differs. Results are also written as JSON next to the data.

Run through bench/run.sh, which builds the release binary and the Python environment first.
"""
import argparse
import datetime as dt
import glob
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
YARDSTICK = os.path.join(ROOT, "..", "shared", "bench", "duck_pipeline.py")
SCALES = {"S": 100_000, "M": 1_000_000, "L": 5_000_000}
DAYS, SEED, DS = 400, 1, "2026-11-21"


def run_measured(cmd, cwd, log_path):
    """Run `cmd`; return (exit code, wall s, cpu s, peak RSS bytes, stdout text)."""
    started = time.perf_counter()
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=log, text=True)
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    return proc.returncode, wall, cpu, usage.ru_maxrss * 1024, out


def stale(base):
    """A cache written by an older generator lacks a table the pipeline reads."""
    with open(os.path.join(ROOT, "pipelines", "crm.yaml"), encoding="utf-8") as f:
        tables = re.findall(r"location: data/ods/(\w+)", f.read())
    return any(not os.path.isdir(os.path.join(base, "data", "ods", t)) for t in tables)


def generate(strata, scale, cache, regenerate):
    base = os.path.join(cache, f"{scale}-{SCALES[scale]}c-{DAYS}d-seed{SEED}")
    marker = os.path.join(base, ".complete")
    if os.path.exists(marker) and stale(base):
        print(f"{base} lacks a table of pipelines/crm.yaml: generating it again", flush=True)
        regenerate = True
    if regenerate and os.path.exists(base):
        shutil.rmtree(base)
    if not os.path.exists(marker):
        os.makedirs(base, exist_ok=True)
        ods = os.path.join(base, "data", "ods")
        shutil.rmtree(ods, ignore_errors=True)
        print(f"generating {SCALES[scale]:,} customers into {base} (once)", flush=True)
        t = time.perf_counter()
        subprocess.run([strata, "generate", "crm", "--customers", str(SCALES[scale]),
                        "--days", str(DAYS), "--seed", str(SEED), "--end-date", DS,
                        "--out", ods, "--truth", os.path.join(base, "data", "truth"), "-q"],
                       check=True)
        with open(marker, "w") as f:
            f.write(f"generated in {time.perf_counter() - t:.0f} s\n")
    return base


DESCRIBED_COLUMN = re.compile(r"^(\s+)([\w]+): \{type: ([^,}]+), description: .*\}\s*$")


def fresh_project(base):
    """The project over the cached ODS files (generated inside it: strata refuses sources outside
    its root), with this checkout's pipeline, SQL and seeds copied in anew. The yardstick reads a
    `columns:` entry only as `name: type`, so the documented form `name: {type, description}` is
    written back as `name: type` in the copy (descriptions change nothing a run does)."""
    for d in ("pipelines", "sql", os.path.join("data", "seeds")):
        shutil.rmtree(os.path.join(base, d), ignore_errors=True)
        shutil.copytree(os.path.join(ROOT, d), os.path.join(base, d))
    for path in glob.glob(os.path.join(base, "pipelines", "*.yaml")):
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
        plain = [DESCRIBED_COLUMN.sub(r"\1\2: \3", line) for line in lines]
        with open(path, "w", encoding="utf-8") as f:
            f.write(without_models(base, "\n".join(plain)))
    return base


STAGE_BLOCK = re.compile(r"^  - name: (\w+)\n(?:(?:    |      ).*\n|\n)*", re.M)


def without_models(base, text):
    """The pipeline without its model stages (`kind: model`) and the stages that read them: the
    yardstick runs SQL, and both engines must do the same work (a model's features query is
    SQL, its training is not)."""
    dropped = set()
    while True:
        more = set()
        for m in STAGE_BLOCK.finditer(text):
            name, block = m.group(1), m.group(0)
            if name in dropped:
                continue
            sql = re.search(r"^    sql: (\S+)", block, re.M)
            reads = ""
            if sql:
                with open(os.path.join(base, sql.group(1)), encoding="utf-8") as f:
                    reads = f.read()
            if "kind: model" in block or any(re.search(r"\b%s\b" % d, reads) for d in dropped):
                more.add(name)
        if not more:
            break
        dropped |= more
    return STAGE_BLOCK.sub(lambda m: "" if m.group(1) in dropped else m.group(0), text)


def strata_run(strata, proj, args, i):
    shutil.rmtree(os.path.join(proj, "warehouse"), ignore_errors=True)
    cmd = [strata, "run", "pipelines/crm.yaml", "--ds", DS, "--format", "json"]
    if args.memory_limit:
        cmd += ["--memory-limit", args.memory_limit]
    code, wall, cpu, peak, _ = run_measured(cmd, proj, os.path.join(proj, f"strata-{i}.log"))
    if code != 0:
        sys.exit(f"strata run {i} failed (exit {code}); see {proj}/strata-{i}.log")
    record = max(glob.glob(os.path.join(proj, "warehouse", "_meta", "runs", "*.json")))
    with open(record) as f:
        rec = json.load(f)
    stages = {}
    for s in rec["stages"]:
        out = s.get("output") or {}
        stages[s["stage"]] = {"s": out.get("elapsed", 0.0), "cpu": out.get("cpu_seconds"),
                              "peak": out.get("peak_rss_bytes"),
                              "spilled": out.get("spilled_bytes", 0)}
    return {"wall": wall, "cpu": cpu, "peak": peak, "stages": stages}


def duck_cmd(python, proj, out, args):
    cmd = [python, YARDSTICK, "--project", proj, "--ds", DS, "--out", out, "--threads", "2",
           "--memory-limit", args.duck_memory_limit,
           "--macros", os.path.join(ROOT, "bench", "duckdb_macros.sql")]
    overrides = os.path.join(ROOT, "bench", "duckdb_overrides.yaml")
    if os.path.exists(overrides):
        cmd += ["--overrides", overrides]
    return cmd


def duck_run(python, proj, args, i):
    out = os.path.join(proj, "duck-out")
    shutil.rmtree(out, ignore_errors=True)
    code, wall, cpu, peak, text = run_measured(duck_cmd(python, proj, out, args), proj,
                                               os.path.join(proj, f"duck-{i}.log"))
    if code != 0 or "FAILED" in text:
        sys.exit(f"DuckDB run {i} failed (exit {code}):\n{text[-2000:]}")
    stages = {m.group(1): {"s": float(m.group(2))}
              for m in re.finditer(r"^stage=(\S+) s=([0-9.]+)", text, re.M)}
    return {"wall": wall, "cpu": cpu, "peak": peak, "stages": stages}


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def ratio(a, b):
    return f"{a / b:.2f}" if a is not None and b else "-"


def gb(b):
    return f"{b / 1e9:.2f} GB" if b is not None else "-"


def report(scale, strata_runs, duck_runs, commit):
    print(f"\nscale {scale} ({SCALES[scale]:,} customers), {len(strata_runs)} pairs, commit "
          f"{commit}, {dt.date.today()}, {os.cpu_count()} cores; medians")
    print(f"{'':24} {'strata':>12} {'DuckDB':>12} {'ratio':>7}")
    for label, key, fmt in (("wall s", "wall", "{:.1f}"), ("CPU s", "cpu", "{:.1f}")):
        a = med([r[key] for r in strata_runs])
        b = med([r[key] for r in duck_runs])
        print(f"{label:24} {fmt.format(a):>12} {fmt.format(b):>12} {ratio(a, b):>7}")
    a = med([r["peak"] for r in strata_runs])
    b = med([r["peak"] for r in duck_runs])
    print(f"{'peak RSS':24} {gb(a):>12} {gb(b):>12} {ratio(a, b):>7}")
    names = list(strata_runs[0]["stages"])
    print(f"\n{'stage':34} {'strata s':>9} {'DuckDB s':>9} {'ratio':>6} {'strata CPU':>10}"
          f" {'strata peak':>11} {'spilled':>9}")
    rows = []
    for n in names:
        a = med([r["stages"].get(n, {}).get("s") for r in strata_runs])
        b = med([r["stages"].get(n, {}).get("s") for r in duck_runs])
        cpu = med([r["stages"].get(n, {}).get("cpu") for r in strata_runs])
        peak = med([r["stages"].get(n, {}).get("peak") for r in strata_runs])
        spilled = med([r["stages"].get(n, {}).get("spilled") for r in strata_runs])
        rows.append((n, a, b))
        print(f"{n:34} {a or 0:9.2f} {b or 0:9.2f} {ratio(a, b):>6} {cpu or 0:10.1f}"
              f" {gb(peak):>11} {gb(spilled) if spilled else '-':>9}")
    slow = [(n, a / b) for n, a, b in rows if a and b and b > 0.5 and a / b > 2]
    print("\nstages slower than 2x DuckDB (DuckDB > 0.5 s): "
          + (", ".join(f"{n} {r:.1f}x" for n, r in slow) or "none"))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scale", choices=sorted(SCALES), default="M")
    p.add_argument("--pairs", type=int, default=3)
    p.add_argument("--cache", default=os.environ.get("STRATA_BENCH_CACHE",
                                                     os.path.expanduser("~/.cache/strata-bench")))
    p.add_argument("--strata", default=os.path.join(ROOT, "target", "release", "strata"))
    p.add_argument("--python", default=sys.executable, help="Python with duckdb and pyyaml")
    p.add_argument("--memory-limit", help="strata's --memory-limit (default: its own)")
    p.add_argument("--duck-memory-limit", default="12GB")
    p.add_argument("--no-compare", action="store_true")
    p.add_argument("--regenerate", action="store_true", help="generate the data again")
    args = p.parse_args()
    if args.pairs < 1:
        sys.exit("--pairs must be at least 1")
    strata = os.path.abspath(args.strata)
    base = generate(strata, args.scale, os.path.abspath(args.cache), args.regenerate)
    proj = fresh_project(base)
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip() or "?"
    strata_runs, duck_runs = [], []
    for i in range(args.pairs):
        # Alternate which engine goes first, so neither always meets a warm page cache.
        order = ("strata", "duck") if i % 2 == 0 else ("duck", "strata")
        for engine in order:
            if engine == "strata":
                r = strata_run(strata, proj, args, i)
                strata_runs.append(r)
            else:
                r = duck_run(args.python, proj, args, i)
                duck_runs.append(r)
            print(f"pair {i + 1}: {engine:6} wall {r['wall']:.1f} s, CPU {r['cpu']:.1f} s, "
                  f"peak {gb(r['peak'])}", flush=True)
    report(args.scale, strata_runs, duck_runs, commit)
    results = {"scale": args.scale, "customers": SCALES[args.scale], "commit": commit,
               "date": str(dt.date.today()), "strata": strata_runs, "duckdb": duck_runs}
    with open(os.path.join(base, f"results-{commit}-{int(time.time())}.json"), "w") as f:
        json.dump(results, f, indent=1)
    if args.no_compare:
        return
    # strata's warehouse of its last run stays (DuckDB writes elsewhere); compare with it. The
    # timed DuckDB runs' output goes first: at L each output is about 14 GB.
    shutil.rmtree(os.path.join(proj, "duck-out"), ignore_errors=True)
    out = os.path.join(proj, "duck-compare")
    shutil.rmtree(out, ignore_errors=True)
    cmd = duck_cmd(args.python, proj, out, args) + ["--compare", os.path.join(proj, "warehouse")]
    text = subprocess.run(cmd, cwd=proj, capture_output=True, text=True).stdout
    line = next((ln for ln in text.splitlines() if ln.startswith("compare:")), None)
    print("\n" + (line or "compare: no result\n" + text[-3000:]))
    if not line or not re.search(r"differ: none$", line):
        print(text[-6000:])
        sys.exit(1)


if __name__ == "__main__":
    main()
