#!/usr/bin/env bash
# Headless Chromium and ChromeDriver for the docs-site browser test (tests/docs_site.rs), from
# Debian's packages, plus a CJK font so pages with Chinese text render in screenshots. Installs
# only what is missing (needs root and the Debian mirror); prints the chromedriver path.
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
fc-list 2>/dev/null | grep -qi "wenquanyi\|noto sans cjk" || missing+=(fonts-wqy-zenhei)
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -q "${missing[@]}" >&2; then
    apt-get update -q >&2
    apt-get install -y -q "${missing[@]}" >&2
  fi
fi
echo /usr/bin/chromedriver
