"""dclm-rs Ray driver: runs a launch plan (plan.json written by `dclm launch ray`) on a Ray cluster.

Each phase becomes one Ray task per shard task (`<bin> <args> --rank R --world-size W`, run as a subprocess on
whichever node Ray picks); a phase starts only after every phase it depends on has finished. Failed tasks are
retried by Ray (`--max-retries`); a retried or rerun task skips the shards it already completed (the executor's
`_done/` markers on shared storage), so rerunning this driver after a failure resumes the run.

    python3 ray_driver.py plan.json --address auto      # an existing cluster (or ray://head:10001)
    python3 ray_driver.py plan.json --address local     # a local Ray started here (tests, one machine)

Ray is the user's installation; this file needs only the standard library and `ray`. Exit status: 0 when every
phase completed, 1 when a task failed after its retries, 2 on a bad plan or arguments.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import time


def phase_threads(phase):
    """The `--threads` value of a phase (its CPUs per task), at least 1."""
    args = phase["args"]
    try:
        return max(1, int(args[args.index("--threads") + 1]))
    except (ValueError, IndexError):
        return 1


def task_argv(plan, phase, rank):
    """The command line of one task of a phase."""
    argv = [plan["bin"], *phase["args"]]
    if phase["sharded"]:
        argv += ["--rank", str(rank), "--world-size", str(phase["tasks"])]
    return argv


def check_plan(plan):
    """Phases must be listed in dependency order (every `after` index earlier than the phase)."""
    for i, phase in enumerate(plan["phases"]):
        for j in phase["after"]:
            if not 0 <= j < i:
                raise ValueError(f"phase {phase['name']!r} depends on phase index {j}, which does not precede it")
        if phase["tasks"] < 1:
            raise ValueError(f"phase {phase['name']!r} has no tasks")


def run_shard_task(argv, label):
    """Body of one Ray task: run the Rust binary; raise (so Ray retries) when it fails."""
    start = time.time()
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.splitlines()[-20:])
        raise RuntimeError(f"{label} exited with status {proc.returncode} on {socket.gethostname()}:\n{tail}")
    return {"label": label, "host": socket.gethostname(), "seconds": time.time() - start}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("plan", help="plan.json written by `dclm launch ray`")
    ap.add_argument("--address", default="auto", help="Ray address: auto, ray://host:10001, or local")
    ap.add_argument("--num-cpus", type=int, default=None, help="CPUs of the local Ray (--address local)")
    ap.add_argument("--max-retries", type=int, default=3, help="retries of each failed task")
    ap.add_argument("--phases", default=None, help="comma-separated phase names to run (default: all)")
    a = ap.parse_args(argv)

    with open(a.plan, encoding="utf-8") as f:
        plan = json.load(f)
    try:
        check_plan(plan)
    except ValueError as e:
        print(f"error: {a.plan}: {e}", file=sys.stderr)
        return 2
    selected = None if a.phases is None else set(a.phases.split(","))
    if selected is not None:
        unknown = selected - {p["name"] for p in plan["phases"]}
        if unknown:
            print(f"error: unknown phase(s) {sorted(unknown)}", file=sys.stderr)
            return 2

    import ray  # the user's Ray; imported late so --help works without it

    if a.address == "local":
        ray.init(num_cpus=a.num_cpus or os.cpu_count(), include_dashboard=False)
    else:
        ray.init(address=a.address)
    remote = ray.remote(run_shard_task)
    # A task asking for more CPUs than any node has would wait forever: refuse the plan up front.
    node_cpus = [n.get("Resources", {}).get("CPU", 0) for n in ray.nodes() if n.get("Alive")]
    biggest = max(node_cpus, default=0)
    for phase in plan["phases"]:
        if (selected is None or phase["name"] in selected) and phase_threads(phase) > biggest:
            print(
                f"error: phase {phase['name']!r} needs {phase_threads(phase)} CPUs per task but the largest Ray "
                f"node has {biggest:g}; lower --threads / --reduce-threads",
                file=sys.stderr,
            )
            ray.shutdown()
            return 2

    t_run = time.time()
    try:
        for i, phase in enumerate(plan["phases"]):
            name = phase["name"]
            if selected is not None and name not in selected:
                print(f"[{name}] not selected, skipped", flush=True)
                continue
            threads = phase_threads(phase)
            n = phase["tasks"]
            opts = dict(num_cpus=threads, max_retries=a.max_retries, retry_exceptions=True)
            t0 = time.time()
            print(f"[{name}] {n} task(s), {threads} CPU(s) each → {phase['output']}", flush=True)
            pending = {}
            for rank in range(n):
                label = f"{name}[{rank}/{n}]" if phase["sharded"] else name
                ref = remote.options(name=label, **opts).remote(task_argv(plan, phase, rank), label)
                pending[ref] = label
            done, failed = 0, []
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                label = pending.pop(ready[0])
                try:
                    r = ray.get(ready[0])
                    done += 1
                    print(f"[{name}] {done}/{n} done: {label} on {r['host']} in {r['seconds']:.1f}s", flush=True)
                except Exception as e:  # a task that failed after its retries
                    failed.append(label)
                    print(f"[{name}] FAILED {label}: {e}", file=sys.stderr, flush=True)
            if failed:
                print(
                    f"[{name}] {len(failed)} of {n} task(s) failed after {a.max_retries} retries; "
                    "rerun the driver to resume (completed shards are skipped)",
                    file=sys.stderr,
                    flush=True,
                )
                return 1
            print(f"[{name}] complete in {time.time() - t0:.1f}s", flush=True)
    finally:
        ray.shutdown()
    print(f"all phases complete in {time.time() - t_run:.1f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
