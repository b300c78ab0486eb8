#!/usr/bin/env bash
# Proves the layering check can fail: a scratch tree where base/ includes
# http/ must be rejected, and the same tree without that include accepted.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/docs" "$tmp/src/base" "$tmp/src/http"
cp "$here/../../docs/ARCHITECTURE.md" "$tmp/docs/"
echo '#include "base/error.h"' > "$tmp/src/http/ok.c"
echo '#include "base/error.h"' > "$tmp/src/base/x.c"
"$here/check_layers.sh" "$tmp" >/dev/null || { echo "a clean tree was rejected"; exit 1; }
echo '#include "http/http.h"' >> "$tmp/src/base/x.c"
if "$here/check_layers.sh" "$tmp" >/dev/null; then
  echo "base including http was accepted"; exit 1
fi
mkdir -p "$tmp/src/bogus" && echo '' > "$tmp/src/bogus/y.c"
sed -i '/http\/http.h/d' "$tmp/src/base/x.c"
if "$here/check_layers.sh" "$tmp" >/dev/null; then
  echo "a module missing from the table was accepted"; exit 1
fi
echo "layer checker rejects upward includes and unknown modules"
