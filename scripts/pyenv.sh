#!/usr/bin/env bash
# The Python environment some tests use as an independent writer of Parquet files (pyarrow):
# created once under target/pyenv from tests/requirements.txt, then reused. Prints the path of
# its python. Called by the tests themselves and by .ci/run; needs python3 and PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
env_dir="${STRATA_PYENV:-${CARGO_TARGET_DIR:-target}/pyenv}"
stamp="$env_dir/.requirements"
if [ ! -x "$env_dir/bin/python" ] || ! cmp -s tests/requirements.txt "$stamp"; then
  python3 -m venv "$env_dir" >&2
  "$env_dir/bin/pip" install --quiet --disable-pip-version-check -r tests/requirements.txt >&2
  cp tests/requirements.txt "$stamp"
fi
echo "$(cd "$env_dir" && pwd)/bin/python"
