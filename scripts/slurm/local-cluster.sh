#!/usr/bin/env bash
# Start or stop a single-node Slurm cluster (munged + slurmctld + slurmd) for tests, with every file under
# <state-dir>: `local-cluster.sh start <state-dir>` then `export SLURM_CONF=<state-dir>/slurm.conf` for the
# client commands (sbatch, squeue, scontrol, sinfo); `local-cluster.sh stop <state-dir>` ends the daemons
# started there. Needs Debian's slurm-wlm and munge packages and root (jobs run as root).
#
# Environment: SLURM_LOCAL_CTLD_PORT / SLURM_LOCAL_D_PORT (defaults 6817 / 6818), SLURM_LOCAL_TIMEOUT (seconds
# to wait for the node to become idle; default 60).
set -euo pipefail

usage() { echo "usage: $0 {start|stop|status} <state-dir>" >&2; exit 2; }
[ $# -eq 2 ] || usage
action=$1
state=$(mkdir -p "$2" && cd "$2" && pwd)
conf="$state/slurm.conf"
host=$(hostname -s)

stop_pidfile() { # stop the daemon whose pid is in $1 (only that process), waiting up to 10 s
  local f=$1 pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f" 2>/dev/null || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

stop() {
  if [ -f "$conf" ]; then
    # Cancel what is left so slurmstepd processes do not outlive the cluster.
    SLURM_CONF="$conf" timeout 10 scancel --quiet --user=root 2>/dev/null || true
  fi
  stop_pidfile "$state/slurmd.pid"
  stop_pidfile "$state/slurmctld.pid"
  stop_pidfile "$state/munge/munged.pid"
}

start() {
  for bin in munged mungekey slurmctld slurmd sinfo; do
    command -v "$bin" >/dev/null || { echo "$0: $bin not found (apt-get install -y slurm-wlm munge)" >&2; exit 1; }
  done
  stop # a previous cluster in the same state folder
  mkdir -p "$state/munge" "$state/ctld" "$state/spool" "$state/log"
  chmod 0700 "$state/munge"
  # Slurm resolves the node name; containers do not always map their hostname.
  if ! getent hosts "$host" >/dev/null; then
    echo "127.0.0.1 $host" >> /etc/hosts
  fi

  [ -f "$state/munge/munge.key" ] || mungekey --create --keyfile="$state/munge/munge.key" --force
  chmod 0400 "$state/munge/munge.key"
  munged --force --key-file="$state/munge/munge.key" --socket="$state/munge/munge.socket" \
    --pid-file="$state/munge/munged.pid" --log-file="$state/munge/munged.log" --seed-file="$state/munge/munged.seed"

  local cpus mem
  cpus=$(nproc)
  mem=$(awk '/MemTotal/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)
  cat > "$conf" <<CONF
# Single-node test cluster written by scripts/slurm/local-cluster.sh
ClusterName=dclm-local
SlurmctldHost=$host
SlurmctldPort=${SLURM_LOCAL_CTLD_PORT:-6817}
SlurmdPort=${SLURM_LOCAL_D_PORT:-6818}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$state/munge/munge.socket
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=sched_min_interval=100000
MpiDefault=none
ReturnToService=2
SlurmdParameters=config_overrides
MinJobAge=3600
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
  export SLURM_CONF="$conf"
  slurmctld -f "$conf"
  slurmd -f "$conf"
  local timeout=${SLURM_LOCAL_TIMEOUT:-60} s=""
  for _ in $(seq 1 $((timeout * 2))); do
    s=$(sinfo -h -N -n "$host" -o %T 2>/dev/null | head -1 || true)
    case "$s" in
      idle) echo "slurm: node $host idle ($cpus CPUs, ${mem} MB); export SLURM_CONF=$conf"; return 0 ;;
      down*|drain*) scontrol update nodename="$host" state=resume 2>/dev/null || true ;;
    esac
    sleep 0.5
  done
  echo "$0: node $host did not become idle in ${timeout}s (state: ${s:-unknown}); logs in $state/log" >&2
  tail -n 20 "$state/log/slurmctld.log" "$state/log/slurmd.log" >&2 || true
  exit 1
}

case "$action" in
  start) start ;;
  stop) stop ;;
  status) SLURM_CONF="$conf" sinfo -N ;;
  *) usage ;;
esac
