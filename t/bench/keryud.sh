#!/usr/bin/env bash
#
# Copyright (C) Keryu Security
#
# keryud's benchmark, in two parts.
#
# Consumption: consume_bench (t/bench/consume_bench.c) fills a new shared
# store with RECORDS realistic records and times consume_batch() moving
# them, with their index entries, into a new keryud store until the ring
# is drained, with every batch run through detection and the shipped
# threshold policies as keryud runs it, pinned to core 0.  It runs once for each of BATCHES, records
# a transaction ("batch"): keryud's default, and larger ones, which is
# what a backlog costs to catch up with at that setting.
#
# Listing latency: keryud, pinned to core 0, serves the store the first
# run left, and wrk, pinned to core 1, asks for one page (limit 100) of
# each listing below over CONNECTIONS connections for DURATION seconds;
# the script prints wrk's median and 99th percentile latencies.
#
#   RECORDS=1000000 BATCHES="16384 65536 4096" DURATION=10 \
#       CONNECTIONS=1 t/bench/keryud.sh
#
# BENCH_KEEP=1 leaves keryud running and its files in place.

set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
keryud=${KERYUD:-$top/build/keryud}
bench=${CONSUME_BENCH:-$top/build/t/consume_bench}
records=${RECORDS:-1000000}
duration=${DURATION:-10}
conns=${CONNECTIONS:-1}
port=${BENCH_PORT:-18200}
goal_rate=200000
goal_p99=10
work=$(mktemp -d /tmp/keryud-bench.XXXXXX)
pid=

cleanup() {
    if [ -n "${BENCH_KEEP:-}" ]; then
        echo "bench: left in $work"
        return
    fi

    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi

    rm -rf "$work"
}
trap cleanup EXIT

command -v wrk >/dev/null || { echo "bench: wrk is not installed" >&2; exit 1; }
[ -x "$keryud" ] || { echo "bench: $keryud is not built" >&2; exit 1; }
[ -x "$bench" ] || { echo "bench: $bench is not built" >&2; exit 1; }

keryud_core=0
wrk_core=1
if [ "$(nproc)" -lt 2 ]; then
    wrk_core=0
fi

batch=$(sed -n 's/^batch \([0-9]*\);.*/\1/p' \
        "$top/conf/keryud.conf.example")
batches=${BATCHES:-"${batch:-16384} 65536 4096"}

# $1 directory, $2 batch; prints the rate in records/s
consume() {
    local out

    mkdir -p "$1"
    out=$(taskset -c "$keryud_core" "$bench" "$1" "$records" "$2" detect \
          2>&1) || {
        echo "$out" >&2
        exit 1
    }
    echo "$out" | sed 's/^/  /' >&2
    echo "$out" | awk '/^consume rate/ { print $(NF - 5) }'
}

# $1 figure, $2 goal, $3 "above" or "below": whether the figure meets it
verdict() {
    awk -v v="$1" -v g="$2" -v dir="$3" 'BEGIN {
        ok = (dir == "above") ? (v >= g) : (v < g)
        print ok ? "meets the goal" : "misses the goal" }'
}

echo "keryud consume: $records records from the ring, on one core" >&2
: > "$work/rates"

for b in $batches; do
    echo "$b $(consume "$work/run" "$b")" >> "$work/rates"

    # the first run's store is the one keryud serves
    if [ -d "$work/default" ]; then
        rm -rf "$work/run"
    else
        mv "$work/run" "$work/default"
    fi
done


# the listing part, on the store of the default run

cat > "$work/keryud.conf" <<EOF
store $work/default/store;
data $work/default/data;
listen 127.0.0.1:$port;
data_size 8g;
pid_file $work/keryud.pid;
EOF

token=$("$keryud" -c "$work/keryud.conf" token create --role admin \
        --name bench)

taskset -c "$keryud_core" "$keryud" -d -c "$work/keryud.conf" \
    2> "$work/keryud.log" &
pid=$!

consumed=
for i in $(seq 300); do
    consumed=$(curl -fs -H "Authorization: Bearer $token" \
               "http://127.0.0.1:$port/api/security/status/" 2>/dev/null \
               | sed -n 's/.*"consumed":\([0-9]*\).*/\1/p') || true
    [ "${consumed:-0}" -ge "$records" ] && break
    sleep 0.1
done

if [ "${consumed:-0}" -lt "$records" ]; then
    echo "bench: keryud holds ${consumed:-0} of $records records" >&2
    cat "$work/keryud.log" >&2
    exit 1
fi

listings=(
    "/api/security/logs/"
    "/api/security/logs/?user=user0100@example.com"
    "/api/security/logs/?ip=10.0.0.100"
    "/api/security/logs/?event_type=auth_failure"
    "/api/security/logs/?status=403"
    "/api/security/events/"
)

# wrk's latency as milliseconds
ms() {
    awk '{ v = $1 + 0
           if ($1 ~ /us$/) v /= 1000
           else if ($1 ~ /ms$/) v += 0
           else if ($1 ~ /s$/) v *= 1000
           printf "%.2f", v }'
}

: > "$work/results"

for path in "${listings[@]}"; do
    url="http://127.0.0.1:$port$path"
    items=$(curl -fs -H "Authorization: Bearer $token" "$url" \
            | grep -o '"id":' | wc -l)

    out=$(taskset -c "$wrk_core" wrk -t1 -c"$conns" -d"${duration}s" \
          --latency -H "Authorization: Bearer $token" "$url")

    if echo "$out" | grep -q 'Non-2xx'; then
        echo "bench: $path answered errors" >&2
        echo "$out" >&2
        exit 1
    fi

    rps=$(echo "$out" | awk '/^Requests\/sec/ { printf "%.0f", $2 }')
    p50=$(echo "$out" | awk '$1 == "50%" { print $2 }' | ms)
    p99=$(echo "$out" | awk '$1 == "99%" { print $2 }' | ms)

    echo "$path $items $rps $p50 $p99" >> "$work/results"
done

kill "$pid"
wait "$pid" || true
pid=

if grep -q 'AddressSanitizer\|runtime error' "$work/keryud.log"; then
    cat "$work/keryud.log" >&2
    exit 1
fi

echo
echo "keryud consume, $records records, one core" \
     "(goal $goal_rate records/s)"

while read -r b rate; do
    printf '  batch %-7s %8.0f records/s  %s%s\n' "$b" "$rate" \
        "$(verdict "$rate" "$goal_rate" above)" \
        "$([ "$b" = "${batch:-16384}" ] && echo ', the default')"
done < "$work/rates"

echo
echo "keryud listings over $records records, limit 100, $conns" \
     "connection(s) (goal p99 under $goal_p99 ms)"
printf '  %-48s %5s %7s %8s %8s\n' listing items "req/s" "p50 ms" "p99 ms"

while read -r path items rps p50 p99; do
    printf '  %-48s %5s %7s %8s %8s  %s\n' "$path" "$items" "$rps" "$p50" \
        "$p99" "$(verdict "$p99" "$goal_p99" below)"
done < "$work/results"
