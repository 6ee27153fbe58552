#!/usr/bin/env bash
# Soak: N intercepted calls (notified uname) in one guest, sampling the
# supervisor's resident memory and open fds every second. Flat numbers mean
# nothing leaks per call.
#
# usage: benches/soak.sh [CALLS]     (default 10,000,000; ~65 s on the reference VM)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
N="${1:-10000000}"
(cd "$ROOT" && cargo build --release --quiet --bin sandbox-run)
G="$(mktemp -d)/syscall_loop"
gcc -O2 -static -o "$G" "$ROOT/benches/guests/syscall_loop.c"
"$ROOT/target/release/sandbox-run" --hostname soak -- "$G" uname "$N" > "$G.out" &
SR=$!
echo "second  supervisor_rss_kib  supervisor_fds  threads"
t=0
while kill -0 "$SR" 2>/dev/null; do
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$SR/status" 2>/dev/null || true)
  fds=$(ls "/proc/$SR/fd" 2>/dev/null | wc -l)
  thr=$(awk '/^Threads/ {print $2}' "/proc/$SR/status" 2>/dev/null || true)
  [ -n "$rss" ] && printf '%6d  %18s  %14s  %7s\n' "$t" "$rss" "$fds" "$thr"
  sleep 1; t=$((t + 1))
done
wait "$SR"
ns=$(cat "$G.out")
echo "calls $N, $((ns / N)) ns/call"
