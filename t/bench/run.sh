#!/usr/bin/env bash
#
# Copyright (C) Keryu Security
#
# Side-by-side benchmark: stock nginx, stock nginx with a JSON access_log,
# and nginx with "keryu_log on", serving the same small static file.  Each
# configuration runs in its own nginx with one worker pinned to core 0;
# wrk runs pinned to core 1.  Configurations alternate in rounds within one
# run, so the ratios hold on a noisy machine even when absolute req/s move.
#
# Prints, per configuration, the median req/s, the median worker CPU time
# per request (from /proc/PID/stat) and the ratio of req/s to stock.
#
#   ROUNDS=5 DURATION=5 CONNECTIONS=32 t/bench/run.sh

set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
nginx=${KERYU_NGINX:-/usr/sbin/nginx}
module=${MODULE:-$top/build/ngx_http_keryu_module.so}
rounds=${ROUNDS:-5}
duration=${DURATION:-5}
conns=${CONNECTIONS:-32}
base_port=${BENCH_PORT:-18100}
work=$(mktemp -d /tmp/keryu-bench.XXXXXX)
chmod 755 "$work"
hz=$(getconf CLK_TCK)
cpus=$(nproc)

names=(stock json_log keryu_log)

cleanup() {
    for n in "${names[@]}"; do
        [ -f "$work/$n/nginx.pid" ] && kill "$(cat "$work/$n/nginx.pid")" \
            2>/dev/null || true
    done
    sleep 0.5
    rm -rf "$work"
}
trap cleanup EXIT

command -v wrk >/dev/null || { echo "bench: wrk is not installed" >&2; exit 1; }
[ -f "$module" ] || { echo "bench: $module is not built" >&2; exit 1; }

worker_core=0
wrk_core=1
if [ "$cpus" -lt 2 ]; then
    wrk_core=0
fi

head -c 642 /dev/zero | tr '\0' 'k' > "$work/index.html"

# one nginx per configuration; $1 name, $2 port, $3 main lines, $4 http lines
start() {
    local dir=$work/$1

    mkdir -p "$dir/logs"
    cat > "$dir/nginx.conf" <<EOF
$3
worker_processes 1;
worker_cpu_affinity $(printf '%0*d' $((worker_core + 1)) 1);
error_log $dir/logs/error.log error;
pid $dir/nginx.pid;
events { worker_connections 1024; }
http {
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    open_file_cache max=16;
    $4
    server {
        listen 127.0.0.1:$2;
        location / { root $work; }
    }
}
EOF
    "$nginx" -p "$dir" -c "$dir/nginx.conf"
}

json='{"time":"$time_iso8601","addr":"$remote_addr",'
json+='"method":"$request_method","uri":"$request_uri",'
json+='"status":$status,"bytes":$bytes_sent,"rt":$request_time,'
json+='"host":"$host","ua":"$http_user_agent","ref":"$http_referer",'
json+='"user":"$remote_user"}'

start stock $((base_port)) "" "access_log off;"
start json_log $((base_port + 1)) "" \
    "log_format j escape=json '$json'; access_log $work/json_log/logs/access.log j;"
start keryu_log $((base_port + 2)) "load_module $module;" \
    "access_log off; keryu_store $work/store; keryu_log on;"

for i in 0 1 2; do
    for t in $(seq 50); do
        curl -fs -o /dev/null "http://127.0.0.1:$((base_port + i))/" && break
        sleep 0.1
    done
done

worker_pid() {
    pgrep -P "$(cat "$work/$1/nginx.pid")" | head -n 1
}

cpu_ticks() {
    awk '{ print $14 + $15 }' "/proc/$1/stat"
}

: > "$work/results"

for r in $(seq "$rounds"); do
    for i in 0 1 2; do
        n=${names[$i]}
        pid=$(worker_pid "$n")
        before=$(cpu_ticks "$pid")

        out=$(taskset -c "$wrk_core" wrk -t1 -c"$conns" -d"${duration}s" \
              "http://127.0.0.1:$((base_port + i))/index.html")

        after=$(cpu_ticks "$pid")
        reqs=$(echo "$out" | awk '/requests in/ { print $1 }')
        rps=$(echo "$out" | awk '/^Requests\/sec/ { print $2 }')

        if echo "$out" | grep -q 'Non-2xx'; then
            echo "bench: $n answered errors" >&2
            echo "$out" >&2
            exit 1
        fi

        us=$(awk -v a="$before" -v b="$after" -v n="$reqs" -v hz="$hz" \
             'BEGIN { printf "%.2f", (b - a) / hz * 1e6 / n }')

        echo "$n $rps $us" >> "$work/results"
        printf 'round %d  %-10s %10s req/s  %6s us/req\n' "$r" "$n" "$rps" "$us"
    done
done

echo
printf '%-10s %12s %8s %14s\n' configuration "req/s" ratio "worker us/req"

median() {
    sort -n | awk '{ v[NR] = $1 } END {
        if (NR % 2) print v[(NR + 1) / 2];
        else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

stock=$(awk '$1 == "stock" { print $2 }' "$work/results" | median)

for n in "${names[@]}"; do
    rps=$(awk -v n="$n" '$1 == n { print $2 }' "$work/results" | median)
    us=$(awk -v n="$n" '$1 == n { print $3 }' "$work/results" | median)
    ratio=$(awk -v a="$rps" -v b="$stock" 'BEGIN { printf "%.3f", a / b }')
    printf '%-10s %12s %8s %14s\n' "$n" "$rps" "$ratio" "$us"
done

stored=$(mdb_stat -s ring "$work/store" 2>/dev/null \
         | awk '/Entries/ { print $2 }')
echo
echo "records in the keryu ring after the run: ${stored:-unknown}"
