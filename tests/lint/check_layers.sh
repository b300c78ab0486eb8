#!/usr/bin/env bash
# Fails when a module under src/ includes a header of a module of equal or
# higher rank (the layer table in docs/ARCHITECTURE.md), or of a module the
# table does not list. Usage: check_layers.sh [SOURCE_DIR]
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
table="$root/docs/ARCHITECTURE.md"

declare -A rank
while IFS='|' read -r _ module r _; do
  module=$(echo "$module" | tr -d ' ')
  r=$(echo "$r" | tr -d ' ')
  [[ "$r" =~ ^[0-9]+$ ]] && rank[$module]=$r
done < <(sed -n '/layer-table: begin/,/layer-table: end/p' "$table")
[[ ${#rank[@]} -gt 0 ]] || { echo "no layer table found in $table"; exit 1; }

bad=0
while IFS= read -r -d '' file; do
  rel=${file#"$root/src/"}
  module=${rel%%/*}
  if [[ -z "${rank[$module]+x}" ]]; then
    echo "$rel: module '$module' is not in the layer table of docs/ARCHITECTURE.md"
    bad=1
    continue
  fi
  while IFS= read -r inc; do
    target=${inc%%/*}
    [[ "$target" == "$module" ]] && continue
    if [[ -z "${rank[$target]+x}" ]]; then
      echo "$rel: includes \"$inc\" of unknown module '$target'"
      bad=1
    elif (( rank[$target] >= rank[$module] )); then
      echo "$rel: includes \"$inc\": $module (rank ${rank[$module]}) may not include $target (rank ${rank[$target]})"
      bad=1
    fi
  done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([a-z_]*\/[^"]*\)".*/\1/p' "$file")
done < <(find "$root/src" -name '*.[ch]' -print0)

if (( bad )); then
  echo "layering check failed (see the table in docs/ARCHITECTURE.md)"
  exit 1
fi
echo "layering ok: ${#rank[@]} modules in the table"
