#!/usr/bin/env bash
# CPU train-step throughput of dclm-train (candle) vs the same model in PyTorch, alternating in one run.
#
#   crates/dclm-train/benches/torch_compare.sh [PYTHON] [REPEATS] [PRESET]
#
# PYTHON: an interpreter with torch (and safetensors) installed (default python3); REPEATS rounds (default 3);
# PRESET tiny (default) or micro. First checks equivalence (same initial weights and batch: step-1 loss, CE,
# z-loss, grad norm and the step-2 loss must agree to 1e-4 relative), then per round runs candle and torch with
# 1 thread pinned to CPU 1 (`taskset -c 1`) and with 2 threads on CPUs 0-1, each 2 warm-up + STEPS timed steps
# (STEPS env, default 8), and prints every RESULT line and the median ratio ours/torch per thread count.
# Uses the release build of examples/train_step_bench (built here if missing; CARGO_TARGET_DIR is honoured).
set -euo pipefail
cd "$(dirname "$0")/../../.."
PY=${1:-python3}
REPEATS=${2:-3}
PRESET=${3:-tiny}
STEPS=${STEPS:-8}
TARGET=${CARGO_TARGET_DIR:-target}
BIN=$TARGET/release/examples/train_step_bench
SCRIPT=crates/dclm-train/benches/torch_tiny_step.py
cargo build --release -q -p dclm-train --example train_step_bench
DUMP=$(mktemp -d)
trap 'rm -rf "$DUMP"' EXIT
RAYON_NUM_THREADS=1 "$BIN" --preset "$PRESET" --warmup 0 --steps 2 --dump "$DUMP" >/dev/null
"$PY" "$SCRIPT" --preset "$PRESET" --check "$DUMP" --threads 1 | grep -E "rel diff|CHECK"
LOG=$DUMP/results.txt
for r in $(seq 1 "$REPEATS"); do
    for threads in 1 2; do
        cpus=$([[ $threads == 1 ]] && echo 1 || echo 0,1)
        RAYON_NUM_THREADS=$threads taskset -c "$cpus" "$BIN" --preset "$PRESET" --warmup 2 --steps "$STEPS" |
            grep ^RESULT | tee -a "$LOG"
        taskset -c "$cpus" "$PY" "$SCRIPT" --preset "$PRESET" --threads "$threads" --warmup 2 --steps "$STEPS" |
            grep ^RESULT | tee -a "$LOG"
    done
done
"$PY" - "$LOG" <<'EOF'
import re, statistics, sys
rows = [dict(re.findall(r"(\w+)=(\S+)", l)) for l in open(sys.argv[1])]
for threads in ("1", "2"):
    get = lambda impl: [float(r["tokens_per_s_median"]) for r in rows if r["impl"] == impl and r["threads"] == threads]
    ours, torch = get("candle"), get("torch")
    ratios = [a / b for a, b in zip(ours, torch)]
    print(f"threads {threads}: candle {statistics.median(ours):.0f} tok/s, torch {statistics.median(torch):.0f} tok/s, "
          f"ratio ours/torch median {statistics.median(ratios):.2f} (per round: {', '.join(f'{x:.2f}' for x in ratios)})")
EOF
