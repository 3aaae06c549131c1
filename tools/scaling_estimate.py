#!/usr/bin/python3
"""Data-parallel step time and cost on N nodes from a measured single-node step (docs/scaling.md).

    python3 tools/scaling_estimate.py NAME PARAMS STEP_MS DATA_MS BATCH [NAME PARAMS STEP_MS DATA_MS BATCH ...]

For each model and each network of NETWORKS and N in 1, 8, 64 it prints the step time

    T(N) = DATA_MS + (STEP_MS - DATA_MS) / N + allreduce(N)
    allreduce(N) = 2 (N-1)/N * 4 PARAMS / bandwidth + 2 log2(N) * latency

(lengen-mpi: every rank draws the whole global batch, DATA_MS, then computes its 1/N of the
rows; the gradient block of PARAMS floats is summed with one allreduce, costed as
reduce-scatter + allgather), the speed-up T(1) / T(N) and the cost N T(N) / T(1) in node-time
per step relative to one node. The compute term assumes a rank's share runs as efficiently as
the whole batch; with few rows per rank it does not, so the times are lower bounds. N larger
than BATCH rows is not possible (lengen refuses it: a rank needs at least one row).
"""
import math
import sys

# name, bandwidth in bytes/s, latency in s: nominal figures for the two kinds of cluster
# network, not measurements
NETWORKS = [("10 GbE (TCP)", 1.2e9, 20e-6), ("100 Gb/s InfiniBand", 12e9, 2e-6)]
NODES = [1, 8, 64]


def allreduce_s(params, n, bandwidth, latency):
    if n == 1:
        return 0.0
    return 2 * (n - 1) / n * 4 * params / bandwidth + 2 * math.log2(n) * latency


def main(argv):
    if len(argv) < 5 or len(argv) % 5:
        sys.exit(__doc__)
    print("| model | params | network | N | rows/rank | allreduce ms | step ms | speed-up | cost |")
    print("|---|---|---|---|---|---|---|---|---|")
    for i in range(0, len(argv), 5):
        name, params, step_ms, data_ms, batch = argv[i], int(argv[i + 1]), float(argv[i + 2]), float(argv[i + 3]), int(argv[i + 4])
        for net, bw, lat in NETWORKS:
            for n in NODES:
                if n > batch:
                    print(f"| {name} | {params / 1e6:.2f}M | {net} | {n} | - | - | - (refused: batch_size {batch} "
                          f"< {n} ranks) | - | - |")
                    continue
                ar = 1e3 * allreduce_s(params, n, bw, lat)
                t = data_ms + (step_ms - data_ms) / n + ar
                rows = f"{batch / n:g}"
                print(f"| {name} | {params / 1e6:.2f}M | {net} | {n} | {rows} | {ar:.2f} | {t:.1f} | "
                      f"{step_ms / t:.1f}x | {n * t / step_ms:.2f}x |")


if __name__ == "__main__":
    main(sys.argv[1:])
