# lengen build. `make` builds ./lengen; `make test` runs the suite; `make test SAN=1` runs it
# under AddressSanitizer + UndefinedBehaviorSanitizer; `make run` trains the default
# experiment; `make bench` compares speed with PyTorch. Missing Debian packages are installed
# by tools/install-deps.sh (when root) or named with the command to run. WERROR=1 (as CI
# builds) turns warnings into errors.
# `make MPI=1` builds ./lengen-mpi instead (mpicc, -DLG_MPI, objects in build-mpi/): the same
# program that, started by mpirun, trains data-parallel (docs/scaling.md). `make test` builds
# both, since the suite runs lengen-mpi under mpirun; `make test-slurm` runs a sweep on a real
# single-node Slurm that it starts and stops (root; tools/install-deps.sh --slurm).

CC      ?= gcc
SAN     ?= 0
MPI     ?= 0
PKGS    := openblas hdf5-serial inih zlib
PYTHON  := /usr/bin/python3

ifeq ($(SAN),1)
BUILD_DIR := build-san
OPT     := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
else
BUILD_DIR := build
OPT     := -O3 -march=native -g
endif
MPI_DEF :=
ifeq ($(MPI),1)
CC      := mpicc
BUILD_DIR := $(BUILD_DIR)-mpi
MPI_DEF := -DLG_MPI
endif
BUILD   ?= $(BUILD_DIR)

# Recursively expanded on purpose: pkg-config runs when a recipe needs the flags, which is
# after the `deps` check has installed what was missing.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS))
# -fno-math-errno: nothing reads errno after a math call, and with it gcc vectorises sqrtf
# (AdamW's update, the norms' rstd); sqrt and division round the same in vector or scalar form,
# so results are unchanged. -std=c11 keeps -ffp-contract=off: no FMA contraction either way.
CFLAGS  = -std=c11 -D_DEFAULT_SOURCE $(MPI_DEF) -Wall -Wextra -Wno-unused-parameter -Wshadow -fopenmp -fno-math-errno $(OPT) $(PKG_CFLAGS)
# WERROR=1 (CI) makes every warning an error, so none slips in unseen behind a passing suite.
ifeq ($(WERROR),1)
CFLAGS += -Werror
endif
LDLIBS  = $(PKG_LIBS) -fopenmp -lm
# the OpenMP OpenBLAS lives outside the default search path: remember where
LDFLAGS = $(OPT) -Wl,-rpath,$(shell pkg-config --variable=libdir openblas)

SRC      := $(wildcard src/*.c src/ops/*.c src/posenc/*.c src/tasks/*.c)
LIB_SRC  := $(filter-out src/main.c,$(SRC))
# configs/default.ini is compiled in as the default experiment (lengen train without a config)
GEN_OBJ  := $(BUILD)/gen/default_config.o
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o) $(GEN_OBJ)
TEST_SRC := $(wildcard tests/*.c)
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/%.o)
HDRS     := $(wildcard src/*.h src/ops/*.h src/posenc/*.h src/tasks/*.h tests/*.h)

BIN      := lengen
ifeq ($(MPI),1)
BIN      := lengen-mpi
endif
ifeq ($(SAN),1)
BIN      := $(BUILD)/$(BIN)
endif
# the MPI binary the suite runs under mpirun (built by a sub-make with the same SAN)
MPI_BIN  := lengen-mpi
ifeq ($(SAN),1)
MPI_BIN  := build-san-mpi/lengen-mpi
endif

.PHONY: all deps mpi-deps mpi-bin test test-slurm run bench bench-mpi clean python-deps

all: $(BIN)

# Checks the packages every build needs; installs them when root, else says how.
deps:
	@if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists $(PKGS) || ! command -v $(CC) >/dev/null 2>&1; then \
	    if [ "$$(id -u)" = 0 ]; then sh tools/install-deps.sh || exit 1; \
	    else echo "lengen: missing build packages; run: sudo sh tools/install-deps.sh" >&2; exit 1; fi; \
	fi

# Checks OpenMPI (mpicc, mpirun); installs it when root, else says how.
mpi-deps:
	@if ! command -v mpicc >/dev/null 2>&1 || ! command -v mpirun >/dev/null 2>&1; then \
	    if [ "$$(id -u)" = 0 ]; then sh tools/install-deps.sh || exit 1; \
	    else echo "lengen: missing OpenMPI; run: sudo sh tools/install-deps.sh" >&2; exit 1; fi; \
	fi

mpi-bin: mpi-deps
	$(MAKE) MPI=1 SAN=$(SAN)

python-deps:
	@if ! $(PYTHON) -c "import torch, h5py, matplotlib" >/dev/null 2>&1; then \
	    if [ "$$(id -u)" = 0 ]; then sh tools/install-deps.sh --python || exit 1; \
	    else echo "lengen: missing Python packages; run: sudo sh tools/install-deps.sh --python" >&2; exit 1; fi; \
	fi

$(BUILD)/%.o: %.c $(HDRS) | deps $(if $(filter 1,$(MPI)),mpi-deps)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/gen/default_config.c: configs/default.ini
	@mkdir -p $(dir $@)
	{ printf 'const char lengen_default_config[] =\n'; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/    "/' -e 's/$$/\\n"/' $<; printf ';\n'; } > $@

$(BIN): $(LIB_OBJ) $(BUILD)/src/main.o | deps
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/run_tests: $(LIB_OBJ) $(TEST_OBJ) | deps
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Tests run from the repository root (fixtures are under tests/data). T=name filters.
# OpenMP threads wait passively: a suite that shares the cores with training runs or another
# suite would otherwise spin-wait and slow everything several-fold (results do not change).
test: $(BUILD)/run_tests $(BIN) mpi-bin
	OMP_WAIT_POLICY=$${OMP_WAIT_POLICY:-passive} LENGEN_BIN=$(abspath $(BIN)) LENGEN_MPI_BIN=$(abspath $(MPI_BIN)) ASAN_OPTIONS=detect_leaks=$(SAN) $(BUILD)/run_tests $(T)

# A real single-node Slurm (munge, slurmctld, slurmd with a generated slurm.conf in a temporary
# folder, stopped afterwards) runs a 4-run sweep as one job array (tests/slurm_test.sh; root).
test-slurm: $(BIN)
	sh tests/slurm_test.sh $(abspath $(BIN))

run: $(BIN)
	./$(BIN) train --force

# lengen against PyTorch on three configs, the sgemm ceiling and KV-cache decoding
# (tools/bench.sh; BENCH_QUICK=1 for a smoke run). Results go in docs/performance.md.
bench: $(BIN) python-deps
	sh tools/bench.sh

# 2 MPI ranks x 1 thread against 1 process x 2 threads on the workload rows, alternating
# (tools/bench_mpi.sh; BENCH_MPI_ROUNDS, BENCH_QUICK=1). Results go in docs/performance.md.
bench-mpi: $(BIN) mpi-bin
	sh tools/bench_mpi.sh

clean:
	rm -rf build build-san build-mpi build-san-mpi lengen lengen-mpi
