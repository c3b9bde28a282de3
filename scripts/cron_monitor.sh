#!/bin/sh
# Scheduled monitoring and retraining for StudyRec. Install with `crontab -e`, for example:
#
#   # every night at 02:30: drift + feedback; retrain (activating only past the quality gate) on drift
#   30 2 * * *  /path/to/studyrec/scripts/cron_monitor.sh >> /path/to/studyrec/runs/cron.log 2>&1
#   # every Monday at 03:00: feedback over the last half year only
#   0 3 * * 1   /path/to/studyrec/scripts/cron_monitor.sh feedback >> /path/to/studyrec/runs/cron.log 2>&1
#
# Exit codes (cron mails non-empty output; a wrapper can page on 3):
#   0 nothing to report (or too few samples to judge), 3 drift or a feedback warning, 2 the run failed.
# Two retrains never overlap: a lock beside the warehouse makes the second one skip (and say so).
# Settings come from the environment as for every studyrec command (STUDYREC_WAREHOUSE, STUDYREC_RUNS).
# Lookbacks, sample minimums, the drift threshold and the feedback alert levels are studyrec's defaults, which
# live in studyrec_lib/core/defaults.py (one home for the CLI, the notebooks and the library); add flags here
# to change them for this job only.
set -u
cd "$(dirname "$0")/.." || exit 2
STUDYREC=.venv/bin/studyrec
echo "== $(date -u +%Y-%m-%dT%H:%M:%SZ) studyrec ${1:-monitor}"
if [ "${1:-monitor}" = "feedback" ]; then
    $STUDYREC feedback --json
else
    $STUDYREC monitor --auto-retrain --json
fi
status=$?
echo "== exit $status"
exit $status
