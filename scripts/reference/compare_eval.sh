#!/usr/bin/env bash
# Side-by-side eval throughput: `dclm eval` vs LLM-Foundry v0.9.0 + torch CPU (eval_llmfoundry.py) on the same
# model, task and examples, alternating, both pinned to one core; prints one JSON line per run and a summary
# (medians, examples/s per core, peak RSS, accuracy equality, load).
#
# usage: scripts/reference/compare_eval.sh [ROUNDS] [LIMIT] [LABEL]      (defaults: 3 40 arc_easy)
# env:   DCLM=path to the dclm binary (default target/release/dclm or $CARGO_TARGET_DIR/release/dclm)
#        PY=the LLM-Foundry venv's python (default ~/.cache/dclm-rs/llmfoundry-venv/bin/python)
#        LLMFOUNDRY_DIR=unpacked llm_foundry-0.9.0 wheel (default ~/.cache/dclm-rs/llmfoundry/wheel)
#        SHARED=the shared folder (default ../shared), CORE=the core to pin to (default 1), OUT=results folder
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-3}
LIMIT=${2:-40}
LABEL=${3:-arc_easy}
SHARED=${SHARED:-../shared}
CORE=${CORE:-1}
PY=${PY:-$HOME/.cache/dclm-rs/llmfoundry-venv/bin/python}
LLMFOUNDRY_DIR=${LLMFOUNDRY_DIR:-$HOME/.cache/dclm-rs/llmfoundry/wheel}
DCLM=${DCLM:-${CARGO_TARGET_DIR:-target}/release/dclm}
OUT=${OUT:-$(mktemp -d /tmp/compare_eval.XXXXXX)}
S=$SHARED/data
MODEL_DIR=$SHARED/conformance/eval
TASK_YAML=$S/dclm/eval/mmlu_and_lowvar.yaml

# The one task, with its settings copied verbatim from DCLM's CORE yaml.
"$PY" - "$TASK_YAML" "$LABEL" "$OUT/task.yaml" <<'EOF'
import sys, yaml
src, label, dst = sys.argv[1:]
cfg = yaml.safe_load(open(src))
task = [t for t in cfg["icl_tasks"] if t["label"] == label]
assert task, f"{label} not in {src}"
yaml.safe_dump({"icl_tasks": task}, open(dst, "w"), allow_unicode=True)
EOF
TASK_FILE=$S/eval/$("$PY" -c "import yaml,sys; print(yaml.safe_load(open('$OUT/task.yaml'))['icl_tasks'][0]['dataset_uri'])")

ours() {
    /usr/bin/time -v -o "$OUT/ours.$1.time" taskset -c "$CORE" "$DCLM" eval \
        --model "$MODEL_DIR/tiny_eval_model.bf16.safetensors" --model-json "$MODEL_DIR/config_tiny_eval.json" \
        --tasks "$OUT/task.yaml" --eval-dir "$S/dclm-assets/eval" --data-dir "$S/eval" \
        --tokenizer "$S/tokenizers/gpt-neox-20b.tokenizer.json" --limit "$LIMIT" --batch-size 2 --threads 1 \
        --no-progress -o "$OUT/ours.$1.json" > /dev/null 2> "$OUT/ours.$1.err"
}
theirs() {
    /usr/bin/time -v -o "$OUT/theirs.$1.time" taskset -c "$CORE" "$PY" scripts/reference/eval_llmfoundry.py \
        --llmfoundry-dir "$LLMFOUNDRY_DIR" --model-dir "$MODEL_DIR" --task-file "$TASK_FILE" \
        --task-yaml-label "$LABEL" --limit "$LIMIT" > "$OUT/theirs.$1.json" 2> "$OUT/theirs.$1.err"
}
for r in $(seq 1 "$ROUNDS"); do
    uptime > "$OUT/load.$r.ours"; ours "$r"
    uptime > "$OUT/load.$r.theirs"; theirs "$r"
done

"$PY" - "$OUT" "$ROUNDS" "$LABEL" <<'EOF'
import json, re, statistics, sys
out, rounds, label = sys.argv[1], int(sys.argv[2]), sys.argv[3]

def timev(path):
    t = open(path).read()
    get = lambda key: re.search(re.escape(key) + r": (.*)", t).group(1).strip()
    wall = [float(x) for x in get("Elapsed (wall clock) time (h:mm:ss or m:ss)").split(":")]
    wall = sum(v * 60 ** (len(wall) - 1 - i) for i, v in enumerate(wall))
    return {"wall_s": wall, "cpu_s": float(get("User time (seconds)")) + float(get("System time (seconds)")),
            "max_rss_mb": int(get("Maximum resident set size (kbytes)")) / 1024}

rows = []
for r in range(1, rounds + 1):
    o = json.load(open(f"{out}/ours.{r}.json"))
    task = next(t for t in o["dclm_rs"]["tasks"] if t["label"] == label)
    ot = timev(f"{out}/ours.{r}.time")
    th = json.loads(open(f"{out}/theirs.{r}.json").read().strip().splitlines()[-1])
    tt = timev(f"{out}/theirs.{r}.time")
    row = {"round": r, "examples": task["num_examples"],
           "ours": {"accuracy": task["accuracy"], "task_loop_s": task["seconds"], **ot},
           "theirs": {"accuracy": th["accuracy"], "eval_s": th["seconds"], "eval_cpu_s": th["cpu_seconds"],
                      "process": tt},
           "load_before": [open(f"{out}/load.{r}.{w}").read().split("load average:")[1].strip()
                           for w in ("ours", "theirs")]}
    print(json.dumps(row))
    rows.append(row)
n = rows[0]["examples"]
med = lambda xs: statistics.median(xs)
ours_cpu = med([x["ours"]["cpu_s"] for x in rows])
ours_wall = med([x["ours"]["wall_s"] for x in rows])
th_cpu = med([x["theirs"]["eval_cpu_s"] for x in rows])
th_wall = med([x["theirs"]["eval_s"] for x in rows])
summary = {
    "task": label, "examples": n, "rounds": rounds,
    "ours_examples_per_cpu_s (whole process)": n / ours_cpu,
    "theirs_examples_per_cpu_s (dataset build + eval loop, no imports/model load)": n / th_cpu,
    "ratio_cpu": th_cpu / ours_cpu,
    "ours_examples_per_s_wall (whole process)": n / ours_wall,
    "theirs_examples_per_s_wall (dataset build + eval loop)": n / th_wall,
    "ratio_wall": th_wall / ours_wall,
    "ours_peak_rss_mb": max(x["ours"]["max_rss_mb"] for x in rows),
    "theirs_peak_rss_mb": max(x["theirs"]["process"]["max_rss_mb"] for x in rows),
    "accuracy_equal": all(x["ours"]["accuracy"] == x["theirs"]["accuracy"] for x in rows),
    "accuracy": rows[0]["ours"]["accuracy"],
}
print(json.dumps(summary, indent=1))
EOF
echo "results in $OUT" >&2
