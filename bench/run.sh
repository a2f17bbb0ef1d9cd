#!/usr/bin/env bash
# The benchmark of issue 13: strata's release binary against DuckDB running the same stage SQL
# (../shared/bench/duck_pipeline.py) on the same generated files. Arguments go to bench/run.py:
#   bash bench/run.sh --scale S    # 100,000 customers, quick
#   bash bench/run.sh              # M: 1,000,000 customers (the targets of issue 13)
#   bash bench/run.sh --scale L    # 5,000,000 customers
# The data is generated once into ${STRATA_BENCH_CACHE:-~/.cache/strata-bench}; DuckDB and
# PyYAML (the versions of ../shared/bench/requirements.txt) go into a virtual environment under
# the target directory.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
venv="$target/benchenv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import duckdb, yaml' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r ../shared/bench/requirements.txt
fi
cargo build --release --locked --bin strata
exec "$venv/bin/python" bench/run.py --strata "$target/release/strata" --python "$venv/bin/python" "$@"
