#!/usr/bin/env bash
# End-to-end cost of `dclm baseline --to tokenize` (WARC → heuristics → BFF dedup → quality with a given model →
# token shards) on one core, per stage, against extraction alone (`dclm extract` writing DCLM-Pool's `.jsonl.gz`,
# and writing `.jsonl.zst` as the baseline's own stages do), and start-up on a one-record WARC.
# Every run is pinned with `taskset -c 1` and timed with `/usr/bin/time` (user+sys CPU seconds, wall seconds,
# peak RSS); binaries given together are alternated within each round, so they see the same machine load.
#
# Usage (repository root):
#   scripts/e2e_speed.sh WORKDIR BINARY [BINARY…]
# Environment: ROUNDS (default 3), SHARED (default ../shared), QUALITY_MODEL (default the fastText bigram
# classifier of $SHARED/conformance/fasttext), COPIES (bench corpus size, default 100 ≈ 5,400 WARC records).
# Output: one line per run, `round binary what user_s sys_s wall_s maxrss_kb`, plus the load average per round;
# the medians are printed at the end.
set -euo pipefail
[ $# -ge 2 ] || { sed -n 2,12p "$0"; exit 2; }
work=$1; shift
rounds=${ROUNDS:-3}
shared=$(cd "${SHARED:-../shared}" && pwd)
model=${QUALITY_MODEL:-$shared/conformance/fasttext/bigram.bin}
mkdir -p "$work"
work=$(cd "$work" && pwd)
bins=()
for b in "$@"; do bins+=("$(cd "$(dirname "$b")" && pwd)/$(basename "$b")"); done
[ -s "$work/bench.warc.gz" ] || "$shared/bench/make_warc_corpus.sh" "$work/bench.warc.gz" "${COPIES:-100}" >/dev/null
cp "$shared/data/warc/cc-single-record.warc.gz" "$work/one.warc.gz"
log=$work/e2e_speed.log
: > "$log"

timed() { # what binary-index command… → appends a line
  local what=$1 i=$2; shift 2
  /usr/bin/time -f "%U %S %e %M" -o "$work/.time" taskset -c 1 "$@" >/dev/null 2>"$work/.stderr" \
    || { cat "$work/.stderr" >&2; exit 1; }
  echo "$r $i $what $(cat "$work/.time")" | tee -a "$log"
}

common=(--assets "$shared/data" --threads 1 --quality-model "$model" --no-progress --fresh)
for r in $(seq "$rounds"); do
  echo "# round $r load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$log"
  for i in "${!bins[@]}"; do
    bin=${bins[$i]}; out=$work/run-$i
    timed full "$i" "$bin" baseline "${common[@]}" --input "$work/bench.warc.gz" --to tokenize -o "$out"
    for s in extract heuristics dedup quality tokenize; do
      timed "$s" "$i" "$bin" baseline "${common[@]}" --input "$work/bench.warc.gz" --from "$s" --to "$s" -o "$out"
    done
    timed extract-alone "$i" "$bin" extract -i "$work/bench.warc.gz" -o "$work/extract-$i" --threads 1 --no-progress --fresh
    timed extract-alone-zst "$i" "$bin" extract -i "$work/bench.warc.gz" -o "$work/extract-zst-$i" --threads 1 \
      --no-progress --fresh --output-extension jsonl.zst
    timed startup "$i" "$bin" baseline "${common[@]}" --input "$work/one.warc.gz" --to tokenize -o "$work/one-$i"
  done
done

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
echo "# medians (each column on its own): binary what cpu_s(user+sys) wall_s maxrss_MB"
for i in "${!bins[@]}"; do
  echo "# $i = ${bins[$i]}"
  for what in full extract heuristics dedup quality tokenize extract-alone extract-alone-zst startup; do
    rows=$(awk -v i="$i" -v w="$what" '$1 !~ /^#/ && $2 == i && $3 == w' "$log")
    cpu=$(awk '{ print $4 + $5 }' <<<"$rows" | median)
    wall=$(awk '{ print $6 }' <<<"$rows" | median)
    rss=$(awk '{ print $7 }' <<<"$rows" | median)
    printf "%s %-13s %6.2f %6.2f %6.0f\n" "$i" "$what" "$cpu" "$wall" "$((rss / 1024))"
  done
done
