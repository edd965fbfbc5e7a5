#!/usr/bin/env bash
# Wrap `go build` in a CI job with gohang: a build that hangs is stopped after a deadline
# and explained, instead of eating the job's whole time limit.
#
#   examples/ci/wrap-go-build.sh ./...
#
# Exit status: the build's own when it finished, 128 + N when signal N killed it (as shells
# report it: an OOM kill is 137); gohang's when the build hung (1 diagnosed, 2 unexplained)
# or could not be started.
set -uo pipefail
deadline=${GO_BUILD_DEADLINE:-20m}
report=${GOHANG_REPORT:-gohang-report.json}

gohang probe --timeout "$deadline" --json -- go build "$@" > "$report"
status=$?

python3 - "$report" "$status" <<'PY'
import json, sys
status = int(sys.argv[2])
try:
    r = json.load(open(sys.argv[1]))
except ValueError:
    # No report: gohang stopped first (no go on PATH, a usage error) and said why on stderr.
    sys.exit(status)
out = r["outcome"]
if out["kind"] == "exited":
    # Finished in time: pass the build's own output and status through. gohang exits 0
    # here whatever the build did (it did not hang), so the status comes from the report.
    sys.stdout.write(r["output"]["stdout"]["tail"])
    sys.stderr.write(r["output"]["stderr"]["tail"])
    if out.get("signal"):
        print(f"::error::go build was killed by signal {out['signal']}")
        sys.exit(128 + out["signal"])
    sys.exit(out.get("code") or 0)
v = r["verdicts"][0]
what = {
    "timed-out": "hung",
    "spawn-failed": "could not start",
    "vanished": "ended as the deadline passed, with an unknown status",
}.get(out["kind"], out["kind"])
print(f"::error::go build {what}: {v['kind']}: {v['summary']}")
for e in v["evidence"]:
    print(f"  {e}")
if v.get("remedy"):
    print(f"fix: {v['remedy']}")
# Never pass a build that did not finish, whatever gohang's own status.
sys.exit(status or 1)
PY
