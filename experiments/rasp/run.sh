#!/bin/sh
# RASP-L experiment (issue 13): trains every run of rasp.sweep (7 tasks x 3 seeds, one thread
# each, one run per core side by side) into runs/rasp/, then prints the tables and draws
# experiments/rasp/rasp.png (experiments/rasp/table.py).
#   experiments/rasp/run.sh              # everything not finished yet
#   WORKERS=1 experiments/rasp/run.sh    # one run at a time (leaves a core free)
#   TABLE_ONLY=1 experiments/rasp/run.sh # only the tables and the plot of what has finished
# Resumable: `lengen sweep` skips finished runs and resumes interrupted ones from their ckpt.h5,
# so rerunning the same command after a stop finishes the sweep.
set -eu
cd "$(dirname "$0")/../.."
make -s lengen
EXP=experiments/rasp
# the sweep gives its children these unless set; one thread must not spin on a shared machine
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive} GOMP_SPINCOUNT=${GOMP_SPINCOUNT:-10000}
if [ -z "${TABLE_ONLY:-}" ]; then
    start=$(date +%s)
    status=0
    ./lengen sweep $EXP/rasp.sweep ${WORKERS:+--workers $WORKERS} || status=$?
    echo "sweep: $(($(date +%s) - start)) s wall on $(nproc) cores (load average now: $(cut -d' ' -f1-3 /proc/loadavg)), exit $status"
fi
/usr/bin/python3 $EXP/table.py --sweep $EXP/rasp.sweep --plot $EXP/rasp.png
