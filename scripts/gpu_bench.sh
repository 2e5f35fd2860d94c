#!/usr/bin/env bash
# GPU check of dclm-train: a few train steps of a 400M-1x-shaped model on one CUDA GPU, printing
# tokens/s and MFU. The ONE prepared script for a lent H200 machine; it finishes within ~8 minutes.
#
# Usage (repository root):  scripts/gpu_bench.sh [BINARY]
#   BINARY: a prebuilt `train_step_bench` example built with `--features cuda` (default: .gpu-bench/train_step_bench,
#   as made by `scripts/gpu_bench.sh --prepare` on a build machine). Without one, and with cargo and nvcc present,
#   the script builds it (`cargo build --release -p dclm-train --features cuda --example train_step_bench`).
#   scripts/gpu_bench.sh --prepare   build here and copy the binary to .gpu-bench/ (then carry `.gpu-bench`).
#   scripts/gpu_bench.sh --toolkit DIR   install CUDA 13.0 from PyPI into DIR (no GPU or system CUDA needed) and
#   print the environment for `--prepare`; e.g. `eval "$(scripts/gpu_bench.sh --toolkit /work/cuda13 | tail -n 1)"`.
#
# Environment: GPU_BENCH_STEPS (timed steps, default 5), GPU_BENCH_ROWS (sequences of 2048 tokens per step,
# default 4; halved on failure down to 1), PEAK_TFLOPS (default 989: H200/H100 SXM dense bf16),
# GPU_BENCH_DTYPES (default "bf16 f32"), GPU_BENCH_BUDGET_S (wall-clock budget of the runs, default 450; each
# attempt gets at most 210 s), GPU_BENCH_LAYERS (override the depth; default the preset's 24),
# CUDA_COMPUTE_CAP (default 90, for a build).
set -uo pipefail

cd "$(dirname "$0")/.."
BIN_DIR=.gpu-bench
BIN=${1:-$BIN_DIR/train_step_bench}
STEPS=${GPU_BENCH_STEPS:-5}
ROWS=${GPU_BENCH_ROWS:-4}
PEAK=${PEAK_TFLOPS:-989}
DTYPES=${GPU_BENCH_DTYPES:-bf16 f32}
BUDGET=${GPU_BENCH_BUDGET_S:-450}
LAYER_ARGS=()
[[ -n "${GPU_BENCH_LAYERS:-}" ]] && LAYER_ARGS=(--layers "$GPU_BENCH_LAYERS")
export CUDA_COMPUTE_CAP=${CUDA_COMPUTE_CAP:-90}

build() {
    echo "== building train_step_bench with --features cuda (CUDA_COMPUTE_CAP=$CUDA_COMPUTE_CAP)"
    cargo build --release -p dclm-train --features cuda --example train_step_bench || return 1
    local target=${CARGO_TARGET_DIR:-target}
    mkdir -p "$BIN_DIR" && cp "$target/release/examples/train_step_bench" "$BIN_DIR/" && strip "$BIN_DIR/train_step_bench"
    ls -l "$BIN_DIR/train_step_bench"
}

# A CUDA 13.0 toolkit from PyPI for machines without one (nvcc 13.0 matches the H200 image's driver 580: PTX
# from a newer nvcc would not load there). cudarc links libcuda at build time, which only a driver provides: a
# stub with its symbols stands in (the real one is loaded at run time). Prints the environment to source.
toolkit() {
    local dir=$1 venv=$1/venv root=$1/root
    python3 -m venv "$venv" && "$venv/bin/pip" install -q "nvidia-cuda-nvcc==13.0.88" "nvidia-nvvm==13.0.88" \
        "nvidia-cuda-crt==13.0.88" "nvidia-cuda-runtime==13.0.96" "nvidia-cuda-cccl==13.0.85" \
        "nvidia-cuda-nvrtc==13.0.88" "nvidia-cublas==13.0.2.14" "nvidia-curand==10.4.0.35" || return 1
    local cu13
    cu13=$(echo "$venv"/lib/python3*/site-packages/nvidia/cu13)
    mkdir -p "$root/lib/stubs"
    ln -sfn "$cu13/bin" "$root/bin" && ln -sfn "$cu13/include" "$root/include" && ln -sfn "$cu13/nvvm" "$root/nvvm"
    for l in libcublas.so.13 libcublasLt.so.13 libcudart.so.13 libcurand.so.10 libnvrtc.so.13; do
        ln -sf "$cu13/lib/$l" "$root/lib/$l" && ln -sf "$cu13/lib/$l" "$root/lib/${l%%.so*}.so"
    done
    local sys
    sys=$(ls -d ~/.cargo/registry/src/*/cudarc-0.19.*/src/driver/sys/mod.rs 2>/dev/null | tail -n 1)
    [[ -n $sys ]] || { echo "run 'cargo fetch' first (cudarc sources needed for the libcuda stub)"; return 1; }
    grep -ohE "fn cu[A-Za-z0-9_]+\(" "$sys" | sed 's/fn //; s/(//' | sort -u |
        awk '{print "int " $1 "(void) { return 999; }"}' >"$root/lib/stubs/libcuda_stub.c"
    gcc -shared -fPIC -Wl,-soname,libcuda.so.1 -o "$root/lib/stubs/libcuda.so" "$root/lib/stubs/libcuda_stub.c" || return 1
    cat <<ENV
export PATH=$root/bin:\$PATH CUDA_ROOT=$root CUDA_PATH=$root CUDA_HOME=$root CUDA_COMPUTE_CAP=90
ENV
}

case "${1:-}" in
    --prepare)
        build
        exit $?
        ;;
    --toolkit)
        toolkit "$(realpath -m "${2:?usage: --toolkit DIR}")"
        exit $?
        ;;
esac

echo "== machine"
nvidia-smi --query-gpu=name,memory.total,driver_version,compute_cap --format=csv,noheader 2>&1 || echo "nvidia-smi failed"
nproc

if [[ ! -x "$BIN" ]]; then
    if command -v cargo >/dev/null && command -v nvcc >/dev/null; then
        build || { echo "GPU_BENCH FAILED: build"; exit 1; }
        BIN=$BIN_DIR/train_step_bench
    else
        echo "GPU_BENCH FAILED: no binary at $BIN and no cargo+nvcc to build one"
        exit 1
    fi
fi

# The binary links libcuda.so.1 (driver) and CUDA 13 libcudart/libcublas/libcublasLt/libcurand/libnvrtc.
# Find them in the system or in python3's nvidia-* wheels (the H200 image's PyTorch ships CUDA 13 ones).
LIBS=()
for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/local/cuda/lib64 /usr/lib/x86_64-linux-gnu; do
    [[ -d $d ]] && LIBS+=("$d")
done
if command -v python3 >/dev/null; then
    while IFS= read -r d; do LIBS+=("$d"); done < <(python3 - <<'EOF' 2>/dev/null
import glob, os, site, sys
roots = site.getsitepackages() + [site.getusersitepackages()]
seen = set()
for r in roots:
    for pat in ("nvidia/cu13/lib", "nvidia/*/lib", "torch/lib"):
        for d in glob.glob(os.path.join(r, pat)):
            if d not in seen and glob.glob(os.path.join(d, "lib*.so*")):
                seen.add(d); print(d)
EOF
)
fi
LD_LIBRARY_PATH=$(IFS=:; echo "${LIBS[*]}")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export LD_LIBRARY_PATH
if ldd "$BIN" | grep "not found"; then
    echo "GPU_BENCH FAILED: missing shared libraries (LD_LIBRARY_PATH=$LD_LIBRARY_PATH)"
    exit 1
fi

status=1
for dtype in $DTYPES; do
    rows=$ROWS
    while ((rows >= 1)); do
        echo "== 400M-1x, dtype $dtype, $rows x 2048 tokens per step, 2 warm-up + $STEPS timed steps"
        left=$((BUDGET - SECONDS))
        if ((left < 60)); then
            echo "== time budget (${BUDGET}s) spent: skipping the rest"
            break 2
        fi
        log=$(mktemp)
        timeout $((left < 210 ? left : 210)) "$BIN" --preset 400M-1x --device cuda --dtype "$dtype" --rows "$rows" --accum 1 \
            "${LAYER_ARGS[@]}" --warmup 2 --steps "$STEPS" --peak-tflops "$PEAK" 2>&1 | tee "$log"
        rc=${PIPESTATUS[0]}
        if ((rc == 0)); then
            status=0
            break
        fi
        if ! grep -qiE "out of memory|OUT_OF_MEMORY" "$log" && ((rc != 124)); then
            echo "== attempt failed (exit $rc), not for memory: giving up on $dtype"
            break
        fi
        echo "== attempt failed (exit $rc: memory or time); retrying with fewer rows"
        rows=$((rows / 2))
    done
done
echo "== RESULT lines above: tokens_per_s_median and mfu_median (MFU against $PEAK TFLOP/s, 6N + attention FLOPs)"
exit $status
