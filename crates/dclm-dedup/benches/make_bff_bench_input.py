#!/usr/bin/env python3
"""Regenerate the BFF throughput input described in ../shared/conformance/dedup/README.md
("Throughput anchor"): the 499 distinct CC texts and 1,923 GPTeacher responses written once, then shuffled
passes (random.Random(99)) of exact copies (25%), 2% / 10% / 50% word replacements (35/25/15%), 30% of
perturbed copies with shuffled lines, until 200 MB; dealt round-robin into 8 files of {"id","text"}.
The same recipe, not the same bytes as the reference input (which is not stored).

usage: make_bff_bench_input.py <shared dir> <out dir> [target bytes]
"""
import json, os, random, sys

shared, out = sys.argv[1], sys.argv[2]
target = int(sys.argv[3]) if len(sys.argv) > 3 else 200_000_000
q = os.path.join(shared, "data", "quality")
seen, base = set(), []
for f in ["dclm-agreement-data.jsonl", "dclm-majority-data.jsonl"]:
    for line in open(os.path.join(q, f)):
        t = json.loads(line)["text"]
        if t not in seen:
            seen.add(t)
            base.append(t)
base += [r["response"] for r in json.load(open(os.path.join(q, "gpteacher-roleplay-instruct.json")))]
vocab = sorted({w for t in base for w in t.split()})
rng = random.Random(99)

def perturb(text, frac):
    lines = text.split("\n")
    out = []
    for line in lines:
        words = line.split(" ")
        for i in range(len(words)):
            if words[i] and rng.random() < frac:
                words[i] = rng.choice(vocab)
        out.append(" ".join(words))
    if rng.random() < 0.3:
        rng.shuffle(out)
    return "\n".join(out)

os.makedirs(out, exist_ok=True)
files = [open(os.path.join(out, f"part-{i:04d}.jsonl"), "w") for i in range(8)]
total, n = 0, 0
def emit(text):
    global total, n
    line = json.dumps({"id": f"doc-{n}", "text": text}) + "\n"
    files[n % 8].write(line)
    total += len(line.encode())
    n += 1

for t in base:
    emit(t)
while total < target:
    order = list(range(len(base)))
    rng.shuffle(order)
    for i in order:
        if total >= target:
            break
        r = rng.random()
        t = base[i]
        if r < 0.25:
            emit(t)
        elif r < 0.60:
            emit(perturb(t, 0.02))
        elif r < 0.85:
            emit(perturb(t, 0.10))
        else:
            emit(perturb(t, 0.50))
for f in files:
    f.close()
print(f"{n} documents, {total} bytes in {out}")
