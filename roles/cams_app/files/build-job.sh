#!/usr/bin/env bash
# The artifact build as a job of its own on the control node, which Ansible starts and waits for by lookups: they
# run in Ansible's process, so a deploy opens no connection to the control node (about a second each run).
#   build-job.sh start BUILD_ARGUMENT...   starts build-artifact.sh BUILD_ARGUMENT... detached; prints the job's
#                                          directory
#   build-job.sh wait JOB ARCHIVE          waits until the job has ended, or ARCHIVE exists; prints the build's
#                                          output if it failed, nothing if it built ARCHIVE
# Both exit 0 unless they could not run: a lookup drops the output of a command that fails, and here the output is
# the point.
set -euo pipefail
command=$1
shift
case $command in
  start)
    # A run that ended before its wait (interrupted, or a host unreachable) leaves its job: gone after a day.
    find "${TMPDIR:-/tmp}" -maxdepth 1 -name 'cams-build.*' -type d -mmin +1440 -exec rm -rf {} + 2> /dev/null || true
    job=$(mktemp -d -t cams-build.XXXXXX)
    # setsid and closed standard streams: the lookup returns now, and the build outlives it.
    setsid bash -c '"${@:2}" > "$1/output" 2>&1; echo $? > "$1/status"' _ "$job" \
      "$(dirname "$(readlink -f "$0")")/build-artifact.sh" "$@" < /dev/null > /dev/null 2>&1 &
    echo "$job"
    ;;
  wait)
    job=$1 archive=$2
    # The archive is written last and atomically: once it is there the build is whole, whichever job wrote it (a
    # later batch of the same run waits here again).
    for ((tick = 0; tick < 36000; tick++)); do  # an hour
      [[ -f $archive || -f $job/status ]] && break
      sleep 0.1
    done
    if [[ -f $archive ]]; then
      rm -rf "$job"
    elif [[ -f $job/status ]]; then
      echo "The build of $archive failed (exit status $(cat "$job/status")):"
      cat "$job/output"
      rm -rf "$job"
    else
      echo "The build of $archive did not end within an hour; its output so far is in $job/output."
    fi
    ;;
  *)
    echo "usage: build-job.sh start BUILD_ARGUMENT... | wait JOB ARCHIVE" >&2
    exit 2
    ;;
esac
