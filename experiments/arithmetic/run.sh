#!/bin/sh
# Arithmetic-format study (issue 12): trains every run of the sweeps in this folder into
# runs/arithmetic/<sweep>/ (11 formats x 3 seeds for the length study, then Teaching
# Arithmetic's sample-complexity runs: plain, simple scratchpad and reversed, each on fixed
# training sets of 6 sizes x 2 seeds), one thread each, then writes the tables to
# experiments/arithmetic/tables.md and the plots to experiments/arithmetic/arithmetic_*.png.
# The detailed scratchpad's sample complexity (3 runs, each ~17x a plain one) runs only when
# named: SWEEPS=sample_complexity_detailed experiments/arithmetic/run.sh
#   experiments/arithmetic/run.sh                     # everything not finished yet
#   WORKERS=2 experiments/arithmetic/run.sh           # two runs side by side (one per core)
#   SWEEPS="plain abacus" experiments/arithmetic/run.sh  # only these sweeps
#   TABLE_ONLY=1 experiments/arithmetic/run.sh        # only the tables and plots of what finished
#   STATUS=1 experiments/arithmetic/run.sh            # where each sweep stands, and the training left
#   FIRST=1 experiments/arithmetic/run.sh             # only each sweep's first run (seed 1 of a
#                                                     # length sweep): every format covered once
#                                                     # before the other seeds
# Resumable: `lengen sweep` skips finished runs and resumes stopped ones from their ckpt.h5.
set -eu
cd "$(dirname "$0")/../.."
make -s lengen
EXP=experiments/arithmetic
# Finished runs are kept in git (results/: their config.ini, train.csv, eval.csv) and restored
# into runs/ on a machine that lacks them, so no finished run is trained twice (tools/run_archive.py).
archive() { /usr/bin/python3 tools/run_archive.py runs/arithmetic $EXP/results | tail -n 1; }
archive
# Runs that finished before the archive existed: their numbers are in results/recovered_*.csv
FINISHED="--finished $EXP/results/recovered.txt"
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive} GOMP_SPINCOUNT=${GOMP_SPINCOUNT:-10000}
SWEEPS=${SWEEPS:-"plain reverse_answer reverse_all index_hints index_hints_reverse abacus coupled fire_recipe simple steps detailed sample_complexity sample_complexity_reverse"}
if [ -n "${STATUS:-}" ]; then
    # shellcheck disable=SC2086
    exec tools/sweep_status.sh --finished $EXP/results/recovered.txt $(for s in $SWEEPS; do echo $EXP/$s.sweep; done)
fi
if [ -z "${TABLE_ONLY:-}" ]; then
    status=0
    for s in $SWEEPS; do
        start=$(date +%s)
        if [ -n "${FIRST:-}" ]; then
            ./lengen sweep $EXP/$s.sweep --task 0 --threads 1 $FINISHED --quiet || status=$?
        else
            ./lengen sweep $EXP/$s.sweep --workers "${WORKERS:-1}" --threads 1 $FINISHED --quiet || status=$?
        fi
        archive
        echo "sweep $s: $(($(date +%s) - start)) s wall (load average now: $(cut -d' ' -f1-3 /proc/loadavg))"
    done
    [ $status -eq 0 ] || echo "some runs failed (exit $status): see runs/arithmetic/*/*.log" >&2
fi
/usr/bin/python3 $EXP/table.py --dir $EXP --plot $EXP/arithmetic > $EXP/tables.md
cat $EXP/tables.md
