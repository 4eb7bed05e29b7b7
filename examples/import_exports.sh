#!/usr/bin/env bash
# Import every chat export dropped into a folder, then leave it alone.
#
# Re-importing a file adds nothing (each note's source is its key), and an
# older export of a conversation, whichever order the files come in, never
# undoes a newer one, so this is safe to run on a schedule, e.g. every night
# from cron:
#
#   15 3 * * *  /path/to/import_exports.sh "$HOME/Downloads/exports" >> "$HOME/.mem-import.log" 2>&1
#
# Files that fail (wrong format, damaged) are reported and left where they are;
# the next run tries them again.
set -euo pipefail

inbox="${1:?usage: import_exports.sh FOLDER [SCOPE]}"
scope="${2:-default}"
mem="${MEM:-mem}"

reports="$inbox/.import-reports"  # a dot folder: never picked up as an export
mkdir -p "$reports"

shopt -s nullglob
status=0
for export in "$inbox"/*.json "$inbox"/*.jsonl "$inbox"/*.md "$inbox"/*.txt; do
  echo "$(date -u +%FT%TZ) importing $export"
  if ! "$mem" import "$export" --scope "$scope" --no-llm --json > "$reports/$(basename "$export").json"; then
    echo "$(date -u +%FT%TZ) failed: $export (see the error above)" >&2
    status=1
  fi
done
exit "$status"
