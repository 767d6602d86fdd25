#!/usr/bin/env bash
# Runs `loraquant batch` under a real Slurm: a one-node cluster on this machine, addressed
# through the loopback interface, that lives in a temporary folder and is gone at the end.
#
#   1. installs slurm-wlm and munge from Debian when missing (through sudo when not root);
#   2. builds $LQ_BUILD_DIR/app/loraquant (default build/), or brings it up to date;
#   3. starts munged, slurmctld and slurmd with their configuration, key, sockets, state and logs
#      in the temporary folder, on free TCP ports, so that nothing clashes with a Slurm or munge
#      already on the machine; they are stopped by PID when the script ends, failed or not;
#   4. makes LQ_SLURM_ADAPTERS synthetic adapters (default 40) and broken ones (truncated
#      safetensors, NaN values, lora_A without lora_B), quantizes them once in one process, then
#      submits them with scripts/slurm/submit.sh: a job array of 4 tasks and the dependent merge
#      job, and waits for both (LQ_SLURM_TIMEOUT seconds, default 150);
#   5. checks: every adapter in exactly one shard's summary, exactly once; the broken ones
#      `failed` with the message the one-adapter command gives; each array task's exit status (3
#      when its shard had a failed adapter, else 0); the merge job completed; the packed files
#      byte-identical to the one-process run's; the merged totals equal to the one-process run's;
#   6. submits the same again, as after a time limit, and checks the same, except that every
#      finished adapter is now `skipped` and its output untouched (the broken ones fail again);
#   7. on 32 slower adapters (--refine best), sends the running tasks SIGTERM mid-shard, as Slurm
#      does at a time limit or on preemption (scancel --signal=TERM --full), and checks that each
#      stopped task exited with 143 leaving complete summary lines and outputs of its finished
#      adapters only; then submits the same again and checks that it skips those, quantizes the
#      rest, and that every output is byte-identical to a one-process run.
#
# LQ_SLURM_KEEP=1 keeps the temporary folder (logs, outputs) after the run; the daemons are
# stopped all the same. docs/FLEET.md describes what this tests and what it does not.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
build_dir=${LQ_BUILD_DIR:-build}
adapter_count=${LQ_SLURM_ADAPTERS:-40}
job_timeout=${LQ_SLURM_TIMEOUT:-150}
tasks=4
start_time=$(date +%s)

say() { echo "run-slurm-test: $*"; }
fail() {
  echo "run-slurm-test: FAILED: $*" >&2
  exit 1
}

# A scheduler around this script (run by hand inside an allocation or a pod) must neither
# reach the test cluster's commands nor give the one-process run a shard.
for v in $(compgen -e); do
  case $v in
  SLURM_* | SBATCH_* | SRUN_* | SALLOC_* | JOB_COMPLETION_INDEX | LQ_SHARD_COUNT) unset "$v" ;;
  esac
done

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  sudo_cmd=(sudo)
fi

# --- 1. packages -------------------------------------------------------------------------------
# slurm-wlm brings slurmctld, slurmd and the client commands; python3 reads the JSON lines
# below (scripts/install-deps.sh installs it for the tests stage as well).
missing=()
for p in slurm-wlm munge python3; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  # The packages' maintainer scripts try to start the services; in a container without an init
  # system that is refused, harmlessly: this script starts its own daemons below.
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
for tool in munged slurmctld slurmd sbatch squeue scontrol scancel; do
  command -v "$tool" >/dev/null || fail "$tool not found after installing slurm-wlm and munge"
done

# --- 2. loraquant ------------------------------------------------------------------------------
# Built when missing; brought up to date when the build folder exists (nothing to do in CI, where
# the tests stage has just built it; by hand, an older binary would test older code).
loraquant=$repo/$build_dir/app/loraquant
if [ ! -f "$build_dir/CMakeCache.txt" ]; then
  say "configuring $build_dir"
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLQ_WERROR=ON >/dev/null
fi
cmake --build "$build_dir" -j "$(nproc)" --target loraquant ||
  fail "building $build_dir/app/loraquant failed"

# --- 3. the cluster ----------------------------------------------------------------------------
say "packages and loraquant ready in $(($(date +%s) - start_time)) s"
phase=$(date +%s)
# munged insists that every folder on its socket's path can be searched by everyone (clients of
# other users must reach it); mktemp makes the folder private, so open it up for searching.
work=$(mktemp -d "${TMPDIR:-/tmp}/lq-slurm.XXXXXX")
chmod 755 "$work"
conf=$work/slurm/slurm.conf
user=$(id -un)
daemon_pids=()

# Slurm's commands keep retrying when the controller or munged is gone; every call below has a
# timeout, so that a broken cluster fails the test instead of hanging CI.

# Every process of this cluster, daemons and jobs alike: they all carry SLURM_CONF=$conf in their
# environment (slurmd passes its own to slurmstepd, and sbatch exports the submitter's to the
# job). A unique path, so this never finds anything else running on the machine.
cluster_processes() {
  local environ pid entry
  for environ in /proc/[0-9]*/environ; do
    pid=${environ#/proc/}
    pid=${pid%/environ}
    if [ "$pid" = "$$" ] || [ "$pid" = "$BASHPID" ]; then continue; fi
    # Builtins only: a child process (tr, grep) would carry SLURM_CONF itself.
    while IFS= read -r -d '' entry; do
      if [ "$entry" = "SLURM_CONF=$conf" ]; then
        echo "$pid"
        break
      fi
    done 2>/dev/null <"$environ" || true
  done
}

stop_pids() {
  local signal=$1 pid
  shift
  for pid in "$@"; do
    kill "-$signal" "$pid" 2>/dev/null || true
  done
}

# Waits up to $1 seconds for the PIDs that follow to end; fails when one is still there.
wait_gone() {
  local deadline=$(($(date +%s) + $1)) pid alive
  shift
  while :; do
    alive=0
    for pid in "$@"; do
      if kill -0 "$pid" 2>/dev/null; then alive=1; fi
    done
    [ "$alive" = 1 ] || return 0
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  set +e
  # Jobs first, while the controller can still cancel them; then slurmd, slurmctld (which stops
  # its own helper, slurmscriptd) and munged last, since the other two authenticate through it
  # until they are down.
  if [ ${#daemon_pids[@]} -ge 3 ]; then
    timeout 10 scancel --quiet --user="$user" 2>/dev/null
    for _ in $(seq 50); do
      [ -z "$(timeout 5 squeue -h -o %i 2>/dev/null)" ] && break
      sleep 0.2
    done
  fi
  local i
  for ((i = ${#daemon_pids[@]} - 1; i >= 0; i--)); do
    stop_pids TERM "${daemon_pids[$i]}"
    wait_gone 15 "${daemon_pids[$i]}" || {
      say "PID ${daemon_pids[$i]} ignored SIGTERM; killing it"
      stop_pids KILL "${daemon_pids[$i]}"
    }
  done
  # Anything of this cluster still alive (a job step that outlived its slurmd) goes now.
  local rest
  mapfile -t rest < <(cluster_processes)
  if [ ${#rest[@]} -gt 0 ]; then
    say "stopping leftover processes ${rest[*]}"
    stop_pids KILL "${rest[@]}"
  fi
  if [ "$status" -ne 0 ]; then
    for log in "$work"/slurm/log/*.log "$work"/munge/munged.log; do
      [ -f "$log" ] || continue
      echo "--- last lines of $log"
      tail -n 15 "$log"
    done
  fi
  if [ "${LQ_SLURM_KEEP:-0}" = 1 ] || [ "$status" -ne 0 ]; then
    say "kept $work"
  else
    rm -rf "$work"
  fi
  say "$([ "$status" -eq 0 ] && echo ok || echo "failed (exit $status)") in $(($(date +%s) - start_time)) s"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Two free TCP ports on the loopback interface.
read -r ctld_port slurmd_port < <(python3 - <<'EOF'
import socket
ports = []
sockets = []
for _ in range(2):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    sockets.append(s)
    ports.append(s.getsockname()[1])
print(*ports)
EOF
)

mkdir -p "$work"/munge "$work"/slurm/{state,spool,log,run}
chmod 700 "$work"/munge/ "$work"/slurm/state
# munged needs a key only it can read; a fresh one per run, so no other host can talk to it.
head -c 1024 /dev/urandom >"$work/munge/munge.key"
chmod 400 "$work/munge/munge.key"
mkdir -p "$work/munge-socket"
chmod 755 "$work/munge-socket"
munge_socket=$work/munge-socket/munge.socket

# Daemons run in the foreground (munged -F, slurm*d -D) as children of this script, so that $!
# is their PID: no pid file to trust, nothing to look up by name.
# In the foreground munged logs to stderr; its pid and seed files go to the folder too, so that
# it never touches those of a munged already running on the machine.
munged -F --socket="$munge_socket" --key-file="$work/munge/munge.key" \
  --pid-file="$work/munge/munged.pid" --seed-file="$work/munge/munged.seed" \
  >"$work/munge/munged.log" 2>&1 &
daemon_pids+=($!)
for _ in $(seq 50); do
  [ -S "$munge_socket" ] && break
  sleep 0.1
done
munge -S "$munge_socket" -n | unmunge -S "$munge_socket" >/dev/null ||
  fail "munged does not answer on $munge_socket"

# The node's CPUs, sockets, cores and memory exactly as slurmd sees them: a node configured with
# more than it has is drained ("Low RealMemory"), with less it wastes the machine.
node_hw=$(slurmd -C | head -n 1 | sed 's/^NodeName=[^ ]* //')
host=$(hostname -s)
cat >"$conf" <<EOF
# One-node cluster for scripts/run-slurm-test.sh, on the loopback interface of $host.
ClusterName=lqtest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
# The daemons run as whoever runs this (root in CI): no slurm account needed. A slurmd that is
# not root can start only its own user's jobs, which is all this test submits.
SlurmUser=$user
SlurmdUser=$user
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$munge_socket
StateSaveLocation=$work/slurm/state
SlurmdSpoolDir=$work/slurm/spool
SlurmctldPidFile=$work/slurm/run/slurmctld.pid
SlurmdPidFile=$work/slurm/run/slurmd.pid
SlurmctldLogFile=$work/slurm/log/slurmctld.log
SlurmdLogFile=$work/slurm/log/slurmd.log
# No cgroups: a container usually cannot create them, and this test needs no confinement.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
# No slurmdbd: job states come from the controller (scontrol), not from sacct.
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
# slurmd listens on its NodeAddr (127.0.0.1) rather than on every interface. slurmctld 22.05
# binds every interface whatever this says, but accepts only messages signed with this run's
# munge key, which never leaves the temporary folder.
CommunicationParameters=NoInAddrAny
MailProg=/bin/true
ReturnToService=2
# Finished jobs stay visible to scontrol for the checks.
MinJobAge=600
SchedulerParameters=sched_interval=1
NodeName=lqnode NodeAddr=127.0.0.1 NodeHostname=$host $node_hw State=UNKNOWN
PartitionName=lqtest Nodes=lqnode Default=YES MaxTime=30 State=UP
EOF
export SLURM_CONF=$conf

slurmctld -D -f "$conf" >"$work/slurm/log/slurmctld.stdout" 2>&1 &
daemon_pids+=($!)
slurmd -D -f "$conf" -N lqnode >"$work/slurm/log/slurmd.stdout" 2>&1 &
daemon_pids+=($!)

ready=0
for _ in $(seq 100); do
  for pid in "${daemon_pids[@]}"; do
    kill -0 "$pid" 2>/dev/null || fail "a daemon exited at start (PID $pid)"
  done
  if [ "$(timeout 5 sinfo -h -n lqnode -o %t 2>/dev/null)" = idle ]; then
    ready=1
    break
  fi
  sleep 0.2
done
[ "$ready" = 1 ] || fail "the node did not come up: $(timeout 5 sinfo -h -N -o '%N %t %E' 2>&1)"
say "cluster up in $(($(date +%s) - phase)) s (munged ${daemon_pids[0]}, slurmctld" \
  "${daemon_pids[1]}, slurmd ${daemon_pids[2]}; ports $ctld_port, $slurmd_port)"

# A trivial job first: when this fails the problem is the cluster, not loraquant.
timeout 30 srun --time=1 hostname >/dev/null || fail "srun hostname failed on the test cluster"

if [ "${LQ_SLURM_CLUSTER_ONLY:-0}" = 1 ]; then
  say "cluster only: srun works"
  exit 0
fi

# --- 4. adapters, the one-process run, the Slurm run ----------------------------------------
phase=$(date +%s)
inputs=$work/adapters
mkdir -p "$inputs/synth" "$inputs/broken"
# Varied (ranks, targets, dtypes, spectra), so the shards get unequal work, as in real use.
"$loraquant" synth --preset tiny --count "$adapter_count" --seed 1 -o "$inputs/synth" >/dev/null
# Broken ones, as a night's batch meets them: a copy cut short, NaN values, a lora_A without its
# lora_B (the last two are the reader's test inputs).
"$loraquant" synth --preset tiny --seed 999 -o "$inputs/broken/truncated" >/dev/null
tensors=$inputs/broken/truncated/adapter_model.safetensors
truncate -s $(($(stat -c %s "$tensors") * 3 / 5)) "$tensors"
cp -r tests/data/bad/nan-values tests/data/bad/missing-lora-b "$inputs/broken/"
broken=(truncated nan-values missing-lora-b)
# What the one-adapter command says about each: the batch must record the same.
: >"$work/expected-failures.tsv"
for b in "${broken[@]}"; do
  if message=$("$loraquant" inspect "$inputs/broken/$b" 2>&1 >/dev/null); then
    message=$("$loraquant" quantize "$inputs/broken/$b" 2>&1 >/dev/null) &&
      fail "loraquant quantize accepts the broken adapter $b"
  fi
  # "loraquant inspect: FILE: PROBLEM" -> "FILE: PROBLEM", the form a summary line records.
  printf 'broken/%s\t%s\n' "$b" "${message#loraquant * }" >>"$work/expected-failures.tsv"
done
say "$adapter_count synthetic and ${#broken[@]} broken adapters in $(($(date +%s) - phase)) s"

# The reference: the same inputs in one process, no shard.
phase=$(date +%s)
status=0
"$loraquant" batch "$inputs" -o "$work/one-process" >"$work/one-process.log" 2>&1 || status=$?
[ "$status" -eq 3 ] || {
  tail -n 20 "$work/one-process.log"
  fail "the one-process batch exited with $status, not 3 (some adapters failed)"
}
"$loraquant" batch --merge "$work/one-process" >"$work/one-process-merge.log" 2>&1 ||
  fail "loraquant batch --merge on the one-process run failed: $(cat "$work/one-process-merge.log")"
say "one-process batch in $(($(date +%s) - phase)) s"

# The Slurm run, through the scripts a user runs. One CPU per task: two tasks at once on two
# cores, so the shards really run side by side.
# Submits through scripts/slurm/submit.sh: OUTDIR INPUT... [batch options]; sets array_id and
# merge_id.
submit() {
  local outdir=$1 ids
  shift
  ids=$(cd "$work" && LORAQUANT=$loraquant LQ_SBATCH_OPTIONS="--cpus-per-task=1 --time=10" \
    timeout 30 bash "$repo/scripts/slurm/submit.sh" "$tasks" "$outdir" "$@") ||
    fail "scripts/slurm/submit.sh could not submit the jobs"
  read -r array_id merge_id <<<"$ids"
}

# Waits until the queue is empty, then keeps the jobs' states in $work/LABEL-array-job.txt and
# LABEL-merge-job.txt and their output in $work/job-logs.txt.
wait_for_jobs() {
  local label=$1 outdir=$2 deadline queue log
  deadline=$(($(date +%s) + job_timeout))
  while :; do
    queue=$(timeout 10 squeue -h -o %i) || fail "squeue failed: is slurmctld still running?"
    [ -n "$queue" ] || break
    if [ "$(date +%s)" -ge "$deadline" ]; then
      timeout 10 squeue
      for log in "$outdir"/slurm-logs/*; do
        echo "--- $log"
        tail -n 10 "$log"
      done
      fail "the jobs did not finish within $job_timeout s"
    fi
    sleep 0.5
  done
  timeout 10 scontrol show job "$array_id" -o >"$work/$label-array-job.txt"
  timeout 10 scontrol show job "$merge_id" -o >"$work/$label-merge-job.txt"
  for log in "$outdir"/slurm-logs/*; do
    echo "--- $(basename "$log")"
    cat "$log"
  done >"$work/job-logs.txt"
}

submit_and_wait() {
  local label=$1 phase
  phase=$(date +%s)
  submit "$work/slurm-out" "$inputs"
  wait_for_jobs "$label" "$work/slurm-out"
  say "$label: array job $array_id ($tasks tasks) and merge job $merge_id done in" \
    "$(($(date +%s) - phase)) s"
}

# --- 5. checks -------------------------------------------------------------------------------
# Run 1 quantizes everything; run 2, the same submission again (what a user does after a time
# limit), must skip every finished adapter, leave its output untouched and retry the broken ones.
for run in first rerun; do
  submit_and_wait "$run"
  python3 - "$work" "$adapter_count" "$tasks" "$run" <<'PYTHON' ||
import json, os, re, sys, filecmp

work, adapter_count, tasks, run = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
out, ref = os.path.join(work, "slurm-out"), os.path.join(work, "one-process")
problems = []
# The first run's line count per summary and its outputs' times, for the rerun to compare.
state_file = os.path.join(work, "first-run.json")
first = {} if run == "first" else json.load(open(state_file))

def lines(path):
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()][first.get("lines", {}).get(path, 0):]

expected_failures = {}
with open(os.path.join(work, "expected-failures.tsv")) as f:
    for line in f:
        name, message = line.rstrip("\n").split("\t", 1)
        expected_failures[name] = message
expected = {"synth/adapter-%05d" % i for i in range(1, adapter_count + 1)} | set(expected_failures)

# Every adapter in exactly one shard, exactly once.
seen = {}
for shard in range(1, tasks + 1):
    path = os.path.join(out, "batch-summary.shard-%d-of-%d.jsonl" % (shard, tasks))
    if not os.path.exists(path):
        problems.append("no summary from shard %d: %s" % (shard, path))
        continue
    for record in lines(path):
        seen.setdefault(record["relative"], []).append((shard, record))
for name in sorted(expected - seen.keys()):
    problems.append("%s is in no shard's summary" % name)
for name in sorted(seen.keys() - expected):
    problems.append("%s is in a summary but is no input" % name)
for name, where in sorted(seen.items()):
    if len(where) != 1:
        problems.append("%s recorded %d times (shards %s)" % (name, len(where),
                        ", ".join(str(s) for s, _ in where)))

# Broken ones failed with the one-adapter command's message; the others ok, or in the rerun
# skipped as up to date.
good = "ok" if run == "first" else "skipped"
for name, where in seen.items():
    record = where[0][1]
    if name in expected_failures:
        if record["status"] != "failed":
            problems.append("%s: status %s, expected failed" % (name, record["status"]))
        elif record.get("error", "") != expected_failures[name]:
            problems.append("%s: message %r, but the one-adapter command says %r"
                            % (name, record.get("error"), expected_failures[name]))
    elif record["status"] != good:
        problems.append("%s: status %s (%s), expected %s"
                        % (name, record["status"], record.get("error", ""), good))

# Each array task's exit status: 3 when its shard had a failed adapter, else 0.
failed_shards = {s for where in seen.values() for s, r in where if r["status"] == "failed"}
with open(os.path.join(work, run + "-array-job.txt")) as f:
    tasks_seen = 0
    for line in f:
        task = int(re.search(r"\bArrayTaskId=(\d+)", line).group(1))
        state = re.search(r"\bJobState=(\S+)", line).group(1)
        code = re.search(r"\bExitCode=(\d+):(\d+)", line)
        shard = task + 1
        want = 3 if shard in failed_shards else 0
        tasks_seen += 1
        if int(code.group(1)) != want or int(code.group(2)) != 0:
            problems.append("array task %d (shard %d): %s, exit %s, expected exit %d"
                            % (task, shard, state, code.group(0)[9:], want))
    if tasks_seen != tasks:
        problems.append("%d array tasks, expected %d" % (tasks_seen, tasks))
with open(os.path.join(work, run + "-merge-job.txt")) as f:
    merge = f.read()
    if "JobState=COMPLETED" not in merge:
        problems.append("merge job: " + " ".join(re.findall(r"\b(?:JobState|ExitCode|Reason)=\S+", merge)))

# Packed outputs byte-identical to the one-process run's.
def packed(root):
    found = set()
    for folder, _, files in os.walk(root):
        for name in files:
            if name.endswith(".lqa.h5"):
                found.add(os.path.relpath(os.path.join(folder, name), root))
    return found
ours, theirs = packed(out), packed(ref)
if ours != theirs:
    problems.append("packed files differ in name: only under Slurm %s, only in one process %s"
                    % (sorted(ours - theirs), sorted(theirs - ours)))
different = [n for n in sorted(ours & theirs)
             if not filecmp.cmp(os.path.join(out, n), os.path.join(ref, n), shallow=False)]
if different:
    problems.append("packed files not byte-identical to the one-process run: %s" % different)
if len(ours) != adapter_count:
    problems.append("%d packed files, expected %d" % (len(ours), adapter_count))
times = {n: os.stat(os.path.join(out, n)).st_mtime_ns for n in ours}
if run != "first":
    rewritten = [n for n in sorted(ours) if times[n] != first["times"].get(n)]
    if rewritten:
        problems.append("the rerun rewrote up-to-date outputs: %s" % rewritten)

# The merged totals equal the one-process run's, times apart: the CSV (what a spreadsheet gets,
# 10 significant digits) exactly; the JSON's counts, bytes, names and messages exactly and its
# real numbers within SUM_ORDER_TOLERANCE. The merge lists records in the order the summaries
# hold them, which is the order adapters finished in: so the failures are compared as a set,
# and a mean summed in another order may differ in its last bit.
SUM_ORDER_TOLERANCE = 1e-12  # relative
def without_times(value):
    if isinstance(value, dict):
        value = {k: without_times(v) for k, v in value.items() if k != "seconds"}
        if "failures" in value:
            value["failures"] = sorted(value["failures"], key=lambda f: f["adapter"])
        return value
    if isinstance(value, list):
        return [without_times(v) for v in value]
    return value
def same(a, b):
    if isinstance(a, float) or isinstance(b, float):
        return abs(a - b) <= SUM_ORDER_TOLERANCE * max(abs(a), abs(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b
def csv_without_times(path):
    import csv
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    column = rows[0].index("seconds")
    return [row[:column] + row[column + 1:] for row in rows]
for root in (out, ref):
    for name in ("batch-totals.json", "batch-totals.csv"):
        if not os.path.exists(os.path.join(root, name)):
            problems.append("no %s in %s" % (name, root))
if not problems:
    ours = without_times(json.load(open(os.path.join(out, "batch-totals.json"))))
    theirs = without_times(json.load(open(os.path.join(ref, "batch-totals.json"))))
    if not same(ours, theirs):
        problems.append("merged totals differ:\n  Slurm:       %s\n  one process: %s"
                        % (json.dumps(ours), json.dumps(theirs)))
    ours = csv_without_times(os.path.join(out, "batch-totals.csv"))
    theirs = csv_without_times(os.path.join(ref, "batch-totals.csv"))
    if ours != theirs:
        problems.append("merged totals (CSV) differ:\n  Slurm:       %s\n  one process: %s"
                        % (ours, theirs))
    if ours[1][:4] != [str(adapter_count + len(expected_failures)), str(adapter_count),
                       str(len(expected_failures)), "0"]:
        problems.append("merged totals count %s adapters, ok, failed, skipped" % ours[1][:4])

for p in problems:
    print("run-slurm-test: %s: %s" % (run, p), file=sys.stderr)
if problems:
    sys.exit(1)
if run == "first":
    summaries = [os.path.join(out, "batch-summary.shard-%d-of-%d.jsonl" % (s, tasks))
                 for s in range(1, tasks + 1)]
    with open(state_file, "w") as f:
        json.dump({"lines": {p: sum(1 for l in open(p) if l.strip()) for p in summaries},
                   "times": times}, f)
print("run-slurm-test: %s: %d adapters, each in exactly one of %d shards, %s; %d failed with "
      "the reader's message (%s); each task's exit status right; %d packed files byte-identical "
      "to one process; merged totals equal"
      % (run, len(seen), tasks, "ok" if run == "first" else "skipped, outputs untouched",
         len(expected_failures), ", ".join(sorted(expected_failures)), len(times)))
PYTHON
    fail "$run run: see above; the jobs' output is in $work/job-logs.txt"
done

check_preemption() {
  python3 - "$work" "$slow_count" "$tasks" "$1" <<'PYTHON' ||
import csv, filecmp, json, os, re, sys

work, count, tasks, run = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
out, ref = os.path.join(work, "slow-out"), os.path.join(work, "slow-one-process")
state_file = os.path.join(work, "stopped-run.json")
before = json.load(open(state_file)) if run == "resumed" else {}
problems = []
names = ["synth/adapter-%05d" % i for i in range(1, count + 1)]

# Complete lines only: a clean stop leaves no line cut short.
records = {}
for shard in range(1, tasks + 1):
    path = os.path.join(out, "batch-summary.shard-%d-of-%d.jsonl" % (shard, tasks))
    if not os.path.exists(path):
        continue
    text = open(path).read()
    if text and not text.endswith("\n"):
        problems.append("%s ends with a line cut short" % os.path.basename(path))
    lines = [json.loads(l) for l in text.splitlines() if l.strip()]
    for record in lines[before.get("lines", {}).get(path, 0):]:
        records.setdefault(record["relative"], []).append(record["status"])
for name, statuses in sorted(records.items()):
    if len(statuses) != 1:
        problems.append("%s recorded %d times: %s" % (name, len(statuses), statuses))
if run == "stopped":
    done = sorted(n for n, st in records.items() if st == ["ok"])
    if len(done) == count:
        problems.append("every adapter finished before the signal: nothing was stopped")
    others = sorted(n for n, st in records.items() if st != ["ok"])
    if others:
        problems.append("not ok after the stop: %s" % others)
else:
    done = before["done"]
    for name in names:
        want = ["skipped"] if name in done else ["ok"]
        if records.get(name) != want:
            problems.append("%s: %s after resuming, expected %s" % (name, records.get(name), want))

# An output for each finished adapter and nothing else: no packed file, fingerprint or temporary
# of an adapter in progress.
files = set()
for folder, _, found in os.walk(out):
    for f in found:
        files.add(os.path.relpath(os.path.join(folder, f), out))
finished = set(done) if run == "stopped" else set(names)
# The resume records live in OUTDIR/.fingerprints/<name>.json (core/fleet/batchfingerprint.h).
expected = {n + ".lqa.h5" for n in finished} | {".fingerprints/" + n + ".json" for n in finished}
outputs = {f for f in files if not f.startswith("slurm-logs/") and not f.startswith("batch-")}
if outputs != expected:
    problems.append("outputs beyond the finished adapters: %s; missing: %s"
                    % (sorted(outputs - expected), sorted(expected - outputs)))

# Exit status of each task: 143 when stopped by the signal, 0 when it had finished (or had not
# started); after resuming, 0 for all.
codes = {}
for line in open(os.path.join(work, run + "-array-job.txt")):
    task = int(re.search(r"\bArrayTaskId=(\d+)", line).group(1))
    codes[task] = re.search(r"\bExitCode=(\S+)", line).group(1)
allowed = {"0:0", "143:0"} if run == "stopped" else {"0:0"}
if len(codes) != tasks or not set(codes.values()) <= allowed:
    problems.append("array tasks' exit codes %s, expected each in %s" % (codes, sorted(allowed)))
if run == "stopped" and "143:0" not in codes.values():
    problems.append("no task exited with 143 (stopped by SIGTERM): %s" % codes)

if run == "resumed":
    different = [n for n in names if not filecmp.cmp(os.path.join(out, n + ".lqa.h5"),
                                                     os.path.join(ref, n + ".lqa.h5"),
                                                     shallow=False)]
    if different:
        problems.append("not byte-identical to one process after resuming: %s" % different)
    def totals(root):
        rows = list(csv.reader(open(os.path.join(root, "batch-totals.csv"), newline="")))
        column = rows[0].index("seconds")
        return [row[:column] + row[column + 1:] for row in rows]
    if totals(out) != totals(ref):
        problems.append("merged totals differ from one process's: %s vs %s"
                        % (totals(out), totals(ref)))

for p in problems:
    print("run-slurm-test: %s: %s" % (run, p), file=sys.stderr)
if problems:
    sys.exit(1)
if run == "stopped":
    summaries = [os.path.join(out, "batch-summary.shard-%d-of-%d.jsonl" % (s, tasks))
                 for s in range(1, tasks + 1)]
    json.dump({"done": done, "lines": {p: sum(1 for l in open(p) if l.strip())
                                       for p in summaries if os.path.exists(p)}},
              open(state_file, "w"))
    print("run-slurm-test: stopped: tasks exited %s; %d of %d adapters finished, each with its "
          "output; no output, fingerprint or temporary file of an unfinished one; no line cut "
          "short" % (" ".join(codes[t] for t in sorted(codes)), len(done), count))
else:
    print("run-slurm-test: resumed: the %d finished adapters skipped, the other %d quantized; "
          "every output byte-identical to one process; merged totals equal"
          % (len(done), count - len(done)))
PYTHON
    fail "$1 run: see above; the jobs' output is in $work/job-logs.txt"
}

# --- 7. a preemption -----------------------------------------------------------------------------
# What Slurm does at a time limit or on preemption: SIGTERM to every process of the running
# tasks. --refine best makes each adapter slow enough (0.15 s of a core or more) that, with 8 per
# shard, the signal finds the tasks in the middle of their shards. The stopped tasks must leave complete summary lines, an output for
# each `ok` line and nothing else (no output or temporary file of the adapter in progress); the
# same submission again must finish the rest, with outputs byte-identical to one process.
phase=$(date +%s)
slow_inputs=$work/slow-adapters
slow_count=32
"$loraquant" synth --preset tiny --count "$slow_count" --seed 7 -o "$slow_inputs/synth" >/dev/null
"$loraquant" batch "$slow_inputs" -o "$work/slow-one-process" --refine best \
  >"$work/slow-one-process.log" 2>&1 ||
  fail "the one-process batch with --refine best failed: $(tail -n 5 "$work/slow-one-process.log")"
"$loraquant" batch --merge "$work/slow-one-process" >/dev/null 2>&1 ||
  fail "loraquant batch --merge on the one-process --refine best run failed"
say "$slow_count more adapters, one-process batch with --refine best in $(($(date +%s) - phase)) s"
phase=$(date +%s)
submit "$work/slow-out" "$slow_inputs" --refine best
# Signal as soon as a running task has recorded its first adapter: it is then mid-shard.
deadline=$(($(date +%s) + job_timeout))
until cat "$work"/slow-out/batch-summary.shard-*.jsonl 2>/dev/null | grep -q .; do
  [ "$(date +%s)" -lt "$deadline" ] || fail "no shard recorded an adapter within $job_timeout s"
  sleep 0.1
done
timeout 10 scancel --signal=TERM --full "$array_id" >"$work/scancel.log" 2>&1 || true
wait_for_jobs stopped "$work/slow-out"
say "stopped: array job $array_id signalled mid-shard; ended in $(($(date +%s) - phase)) s"
check_preemption stopped
phase=$(date +%s)
submit "$work/slow-out" "$slow_inputs" --refine best
wait_for_jobs resumed "$work/slow-out"
say "resumed: array job $array_id and merge job $merge_id done in $(($(date +%s) - phase)) s"
check_preemption resumed
