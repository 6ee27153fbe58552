#!/usr/bin/env bash
# The workloads of ../shared/peers run natively, under sandbox-run and under
# the peer tools, in ONE run (ratios are only comparable within a run).
#
# usage: benches/workloads.sh [WORKLOAD ...]      (default: all)
# env:   TOOLS    (default "native strace proot bwrap runsc sandbox-run")
#        RESULTS  (default target/peers-results)
#        PEERS    (default ../shared/peers next to this repository)
# Peers are installed by $PEERS/install.sh (Debian packages).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PEERS="${PEERS:-$ROOT/../shared/peers}"
[ -x "$PEERS/run.sh" ] || { echo "workloads.sh: no peers suite at $PEERS" >&2; exit 2; }

(cd "$ROOT" && cargo build --release --quiet --bin sandbox-run)
export SANDBOX_RUN="$ROOT/target/release/sandbox-run --"
export TOOLS="${TOOLS:-native strace proot bwrap runsc sandbox-run}"
export RESULTS="${RESULTS:-$ROOT/target/peers-results}"
mkdir -p "$RESULTS"
"$PEERS/run.sh" "$@"
echo
echo "== summary: $RESULTS/summary.md"
cat "$RESULTS/summary.md"
