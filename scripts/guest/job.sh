#!/bin/sh
# The job inside the guest (run by the image's dnl-guest-job unit from the shared job folder):
# mount the clone and Node read-only, wait for the guest's Docker Engine, then run the smoke
# client (smoke.ts), which starts the runner and drives a lab. job.env (written by guest.ts)
# says what to mount where. Each "mark" line is timed on the machine as it appears.
set -u
JOB=/mnt/job
. "$JOB/job.env"
mark() { echo "$1 $(cut -d' ' -f1 /proc/uptime)" >> "$JOB/marks"; }
mark job-start

for share in $SHARES; do
  tag=${share%%=*}
  dir=${share#*=}
  mkdir -p "$dir"
  mount -t 9p -o "$NINEP_OPTIONS,ro" "$tag" "$dir" || { echo "The machine's folder $dir (9p tag $tag) could not be mounted in the guest."; exit 1; }
done

waited=0
until docker info >/dev/null 2>&1; do
  waited=$((waited + 1))
  if [ "$waited" -gt "$ENGINE_WAIT_S" ]; then
    echo "The guest's Docker Engine did not answer within $ENGINE_WAIT_S s; its journal ends:"
    journalctl -u docker.service --no-pager | tail -n 40
    exit 1
  fi
  sleep 1
done
mark engine-ready

cd "$CLONE" || exit 1
"$NODE" scripts/guest/smoke.ts "$JOB"
