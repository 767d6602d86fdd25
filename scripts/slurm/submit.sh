#!/usr/bin/env bash
# Submits a `loraquant batch` job array and, as a job that waits for all of it, the merge of
# its summaries. Run it on a login node, from a folder every compute node sees at the same path.
#
#   scripts/slurm/submit.sh TASKS OUTDIR INPUT... [loraquant batch options]
#
#   TASKS    array tasks (shards), e.g. 16; "16%4" runs at most 4 at once. Sites cap array sizes
#            (MaxArraySize): each task takes its slice of the inputs, so 10,000 adapters need no
#            more tasks than there are nodes worth using.
#   OUTDIR   the batch's output folder (created); the jobs' logs go to OUTDIR/slurm-logs/.
#   INPUT... adapters, folders searched for adapters, --manifest FILE and quantize's options,
#            exactly as for `loraquant batch`.
#
# Environment: LQ_SBATCH_OPTIONS, more sbatch options for the array tasks, e.g.
# "--partition=cpu --time=04:00:00 --cpus-per-task=8"; LORAQUANT, the program when it is not
# `loraquant` on PATH; sbatch's own SBATCH_* variables (SBATCH_PARTITION, SBATCH_ACCOUNT, ...)
# apply to both jobs. Prints the two job ids on standard output ("ARRAY_ID MERGE_ID").
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

if [ $# -lt 3 ]; then
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
fi
tasks=$1
outdir=$2
shift 2
if ! [[ $tasks =~ ^[1-9][0-9]*(%[1-9][0-9]*)?$ ]]; then
  echo "submit.sh: TASKS must be a count like 16 or 16%4, got '$tasks'" >&2
  exit 2
fi
count=${tasks%%%*}
throttle=
[[ $tasks == *%* ]] && throttle=%${tasks#*%}

# The jobs run in this folder but maybe on another host: make a relative LORAQUANT absolute.
if [ -n "${LORAQUANT:-}" ] && [[ $LORAQUANT == */* ]]; then
  LORAQUANT=$(cd "$(dirname "$LORAQUANT")" && pwd)/$(basename "$LORAQUANT")
  export LORAQUANT
fi

mkdir -p "$outdir/slurm-logs"
read -r -a extra <<<"${LQ_SBATCH_OPTIONS:-}"
array_id=$(sbatch --parsable --array="0-$((count - 1))$throttle" "${extra[@]}" \
  --output="$outdir/slurm-logs/loraquant-batch-%A_%a.out" \
  "$here/loraquant-batch.sbatch" -o "$outdir" "$@")
array_id=${array_id%%;*} # "ID;CLUSTER" on a multi-cluster site
merge_id=$(sbatch --parsable --dependency="afterany:$array_id" \
  --output="$outdir/slurm-logs/loraquant-merge-%j.out" \
  "$here/loraquant-merge.sbatch" "$outdir")
merge_id=${merge_id%%;*}
echo "submit.sh: array job $array_id ($count tasks) and merge job $merge_id after it;" \
  "logs in $outdir/slurm-logs, totals from the merge in $outdir" >&2
echo "$array_id $merge_id"
