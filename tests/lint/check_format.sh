#!/usr/bin/env bash
# Fails when a C file under src/, include/, tests/ or bench/ is not formatted
# as .clang-format says. Fix with: scripts/format
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$root"
mapfile -d '' files < <(find src include tests bench -name '*.[ch]' -print0 2>/dev/null)
bad=()
for f in "${files[@]}"; do
  clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if (( ${#bad[@]} )); then
  printf 'not clang-formatted (run scripts/format): %s\n' "${bad[@]}"
  exit 1
fi
echo "format ok: ${#files[@]} files"
