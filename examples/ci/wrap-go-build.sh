#!/usr/bin/env bash
# Wrap `go build` in a CI job with gohang: a build that hangs is stopped after a deadline
# and explained, instead of eating the job's whole time limit.
#
#   examples/ci/wrap-go-build.sh ./...
#
# Exit status: the build's own when it finished; 1 or 2 when it hung (gohang's).
set -uo pipefail
deadline=${GO_BUILD_DEADLINE:-20m}
report=${GOHANG_REPORT:-gohang-report.json}

gohang probe --timeout "$deadline" --json -- go build "$@" > "$report"
status=$?

python3 - "$report" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
out = r["outcome"]
if out["kind"] == "exited":
    # Finished in time: pass the build's own output and status through.
    sys.stdout.write(r["output"]["stdout"]["tail"])
    sys.stderr.write(r["output"]["stderr"]["tail"])
    sys.exit(out.get("code") or 0)
v = r["verdicts"][0]
print(f"::error::go build hung: {v['kind']}: {v['summary']}")
for e in v["evidence"]:
    print(f"  {e}")
if v.get("remedy"):
    print(f"fix: {v['remedy']}")
sys.exit(0)
PY
code=$?
# The build finished: its own status. It hung: gohang's (1 diagnosed, 2 unexplained).
if [[ $status -eq 0 ]]; then exit "$code"; fi
exit "$status"
