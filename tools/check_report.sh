#!/usr/bin/env bash
# Open a lightgen report page in headless Chromium and write a screenshot of it.
#   tools/check_report.sh PAGE.html OUT.png
# Needs Chromium (Debian: `apt-get install chromium`); exits 3 with a one-line message without it.
# The page is self-contained, so the browser runs with networking off (a proxy to nowhere).
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: tools/check_report.sh PAGE.html OUT.png" >&2
  exit 2
fi
page=$1 out=$2
if [ ! -f "$page" ]; then
  echo "check_report.sh: page $page does not exist" >&2
  exit 2
fi
browser=""
for name in chromium chromium-browser google-chrome; do
  if command -v "$name" >/dev/null 2>&1; then browser=$(command -v "$name"); break; fi
done
if [ -z "$browser" ]; then
  echo "check_report.sh: chromium not installed (Debian: apt-get install chromium); no screenshot taken" >&2
  exit 3
fi
page_abs=$(cd "$(dirname "$page")" && pwd)/$(basename "$page")
mkdir -p "$(dirname "$out")"
out_abs=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
rm -f "$out_abs"
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
# --no-sandbox: root in a container has no user namespaces; --proxy-server: nothing may be fetched
timeout 120 "$browser" --headless --disable-gpu --no-sandbox --disable-dev-shm-usage --hide-scrollbars \
  --no-first-run --user-data-dir="$profile" --proxy-server="127.0.0.1:9" \
  --screenshot="$out_abs" --window-size=1280,2000 "file://$page_abs" >/dev/null 2>&1 || true
if [ ! -s "$out_abs" ]; then
  echo "check_report.sh: $browser wrote no screenshot of $page" >&2
  exit 1
fi
echo "screenshot of $page: $out"
