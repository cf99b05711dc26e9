#!/usr/bin/env bash
# tinyloop's examples/http_server.rs against its tokio twin (bench/src/bin/tokio_http.rs)
# under wrk, on loopback. Each server runs on one thread, wrk on one thread, 50 connections.
# Prints the median requests/s of three 5-second runs per server, and tinyloop/tokio
# (higher is better for tinyloop).
#
#   bench/http-wrk.sh            (from anywhere in the repository)
#   RUNS=5 DURATION=10s CONNECTIONS=100 bench/http-wrk.sh
set -euo pipefail

cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
DURATION=${DURATION:-5s}
CONNECTIONS=${CONNECTIONS:-50}

if ! command -v wrk >/dev/null; then
    SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
    $SUDO apt-get install -y wrk || { $SUDO apt-get update && $SUDO apt-get install -y wrk; }
fi

cargo build --release --example http_server
cargo build --release -p tinyloop-bench --bin tokio_http
TARGET=$(cargo metadata --format-version 1 --no-deps | sed 's/.*"target_directory":"\([^"]*\)".*/\1/')

LOG=$(mktemp)
SERVER_PID=
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
    rm -f "$LOG"
}
trap cleanup EXIT

# bench NAME BINARY: prints wrk's output to stderr, the median requests/s to stdout.
bench() {
    local name=$1 binary=$2 port= rates=()
    # Port 0: the kernel picks a free port; the server prints the address it got.
    "$binary" --addr 127.0.0.1:0 >"$LOG" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 100); do
        port=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$LOG")
        [ -n "$port" ] && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        port=
        sleep 0.1
    done
    [ -n "$port" ] || { echo "$name did not start:" >&2; cat "$LOG" >&2; exit 1; }
    for run in $(seq "$RUNS"); do
        echo "== $name, run $run/$RUNS (port $port)" >&2
        local out
        out=$(wrk -t1 -c"$CONNECTIONS" -d"$DURATION" "http://127.0.0.1:$port/")
        echo "$out" >&2
        if echo "$out" | grep -q 'Non-2xx\|Socket errors'; then
            echo "warning: $name had errors (see above)" >&2
        fi
        rates+=("$(echo "$out" | awk '/^Requests\/sec:/ {print $2}')")
    done
    kill "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
    printf '%s\n' "${rates[@]}" | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'
}

TINYLOOP=$(bench tinyloop "$TARGET/release/examples/http_server")
TOKIO=$(bench tokio "$TARGET/release/tokio_http")

echo
printf 'wrk -t1 -c%s -d%s, median of %s runs (requests/s, higher is better)\n' \
    "$CONNECTIONS" "$DURATION" "$RUNS"
printf '  tinyloop  %12.0f\n' "$TINYLOOP"
printf '  tokio     %12.0f\n' "$TOKIO"
awk -v a="$TINYLOOP" -v b="$TOKIO" 'BEGIN {printf "  tinyloop/tokio  %.2f\n", a / b}'
