#!/bin/sh
# Where a study stands: each sweep's `lengen sweep FILE --status --quiet` line (finished, to
# resume, not started; training time left at the mean of its runs finished here), then the
# training time left over all of them.
#   tools/sweep_status.sh [--finished LIST] SWEEP_FILE...
# Both studies' run.sh call it with STATUS=1. Run from the repository's root (LENGEN=./lengen).
set -eu
LENGEN=${LENGEN:-./lengen}
FINISHED=""
if [ "${1:-}" = "--finished" ]; then
    [ $# -ge 2 ] || { echo "tools/sweep_status.sh: --finished needs the list's path" >&2; exit 2; }
    FINISHED="--finished $2"
    shift 2
fi
[ $# -gt 0 ] || { echo "usage: tools/sweep_status.sh [--finished LIST] SWEEP_FILE..." >&2; exit 2; }
for f in "$@"; do
    # shellcheck disable=SC2086
    "$LENGEN" sweep "$f" --status --quiet $FINISHED || echo "$f: cannot read its status (above)"
done | awk '
    { print }
    / runs: [0-9]+ finished/           { n++ }
    /training left: about [0-9.]+ h/   { match($0, /about [0-9.]+ h/); h += substr($0, RSTART + 6, RLENGTH - 8); next }
    /training left: about [0-9]+ min/  { match($0, /about [0-9]+ min/); h += substr($0, RSTART + 6, RLENGTH - 10) / 60; next }
    /no run has finished here yet/     { untimed++ }
    END {
        printf "all %d sweeps: about %.1f h of training left, one run after another", n, h
        if (untimed) printf " (and %d sweep%s with no run finished here to time it by)", untimed, (untimed > 1 ? "s" : "")
        printf "\n"
    }'
