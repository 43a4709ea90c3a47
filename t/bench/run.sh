#!/usr/bin/env bash
#
# Copyright (C) Keryu Security
#
# Side-by-side benchmark: stock nginx, stock nginx with a JSON access_log,
# nginx with "keryu_log on", and nginx with the full profile (logging plus
# enforcement: an HS256 token on every request, 10,000 blocks, and 50 or
# 5,000 access rules; "enforce_nocache" turns the verified-token cache off,
# so that every request verifies its token in full), serving the same
# small static file.  Each
# configuration runs in its own nginx with one worker pinned to core 0;
# wrk runs pinned to core 1.  Configurations alternate in rounds within one
# run, so the ratios hold on a noisy machine even when absolute req/s move.
#
# Prints, per configuration, the median req/s and worker CPU time per
# request (from /proc/PID/stat), and, paired with stock round by round,
# the median ratio of req/s and the median extra CPU time per request.
#
#   ROUNDS=5 DURATION=5 WARMUP=5 CONNECTIONS=32 t/bench/run.sh
#
# BENCH_KEEP=1 leaves the servers and their files for a closer look;
# ONLY='^(stock|keryu_log)$' measures only the configurations it matches
# (stock always).

set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
nginx=${KERYU_NGINX:-/usr/sbin/nginx}
module=${MODULE:-$top/build/ngx_http_keryu_module.so}
keryud=${KERYUD:-$top/build/keryud}
rounds=${ROUNDS:-5}
duration=${DURATION:-5}
conns=${CONNECTIONS:-32}
base_port=${BENCH_PORT:-18100}
work=$(mktemp -d /tmp/keryu-bench.XXXXXX)
chmod 755 "$work"
hz=$(getconf CLK_TCK)
cpus=$(nproc)

names=(stock json_log keryu_log enforce_50 enforce_5000 enforce_nocache)

cleanup() {
    if [ -n "${BENCH_KEEP:-}" ]; then
        echo "bench: left running in $work"
        return
    fi

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
[ -x "$keryud" ] || { echo "bench: $keryud is not built" >&2; exit 1; }

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

secret="a benchmark secret that is long enough for HS256"

# a store with $2 access rules, 10,000 blocks and the HS256 key
seed_store() {
    local dir=$work/$1 n=$2

    mkdir -p "$dir"
    printf 'store %s/store;\ndata %s/data;\n' "$dir" "$dir" > "$dir/keryud.conf"
    printf '%s' "$secret" > "$dir/secret"
    chmod 600 "$dir/secret"

    perl -e '
        my $n = shift;
        my @r = map { qq({"id":"r$_","path":"/r$_/{id}","effect":"allow",)
                      . qq("roles":["user"]}) } 1 .. $n - 1;
        push @r, q({"id":"static","path":"/index.html","effect":"allow",)
                 . q("roles":["user"]});
        print q({"name":"bench","policy_type":"access","rules":[),
              join(",", @r), "]}";' "$n" > "$dir/policy.json"

    "$keryud" -c "$dir/keryud.conf" policy apply "$dir/policy.json" >/dev/null
    "$keryud" -c "$dir/keryud.conf" key add --kid bench --alg HS256 \
        --secret-file "$dir/secret" > /dev/null

    # 9,000 IPv4 and 1,000 IPv6 blocks, none covering 127.0.0.1, written
    # in one transaction the way "keryud block add" lays them out
    perl -e '
        sub hex_escape { join "", map { sprintf "\\%02x", $_ } unpack "C*", shift }
        my $value = pack("Q<Q<", 0, time * 1e6) . "bench";
        for my $i (0 .. 8999) {
            my $k = "a" . chr(128) . ("\0" x 10) . "\xff\xff"
                    . pack("C4", 10, 1 + ($i >> 16), ($i >> 8) & 255, $i & 255);
            print hex_escape($k), "\n", hex_escape($value), "\n";
        }
        for my $i (0 .. 999) {
            my $k = "a" . chr(64) . pack("n4", 0x2001, 0xdb8, $i, 0)
                    . ("\0" x 8);
            print hex_escape($k), "\n", hex_escape($value), "\n";
        }' | mdb_load -T -s blocks "$dir/store"
    "$keryud" -c "$dir/keryud.conf" block add --ip 192.0.2.1 > /dev/null
}

token=$(perl -MDigest::SHA=hmac_sha256 -MMIME::Base64 -e '
    sub b { my $s = encode_base64(shift, ""); $s =~ tr{+/}{-_};
            $s =~ s/=+$//; $s }
    my $h = b(q({"alg":"HS256","typ":"JWT","kid":"bench"}));
    my $c = b(sprintf q({"sub":"bench","roles":["user"],"exp":%d}),
              time + 86400);
    print "$h.$c.", b(hmac_sha256("$h.$c", shift));' "$secret")

seed_store enforce_50 50
seed_store enforce_5000 5000
seed_store enforce_nocache 50

enforce="keryu_log on; keryu_access on;"

start stock $((base_port)) "" "access_log off;"
start json_log $((base_port + 1)) "" \
    "log_format j escape=json '$json'; access_log $work/json_log/logs/access.log j;"
start keryu_log $((base_port + 2)) "load_module $module;" \
    "access_log off; keryu_store $work/keryu_log/store; keryu_log on;"
start enforce_50 $((base_port + 3)) "load_module $module;" \
    "access_log off; keryu_store $work/enforce_50/store; $enforce"
start enforce_5000 $((base_port + 4)) "load_module $module;" \
    "access_log off; keryu_store $work/enforce_5000/store; $enforce"
start enforce_nocache $((base_port + 5)) "load_module $module;" \
    "access_log off; keryu_store $work/enforce_nocache/store; $enforce
     keryu_jwt_cache off;"

auth="Authorization: Bearer $token"

for i in "${!names[@]}"; do
    for t in $(seq 50); do
        curl -fs -o /dev/null -H "$auth" \
            "http://127.0.0.1:$((base_port + i))/index.html" && break
        sleep 0.1
    done
done

# the enforcing servers must really refuse what the rules do not allow
for i in 3 4 5; do
    code=$(curl -s -o /dev/null -w '%{http_code}' \
           "http://127.0.0.1:$((base_port + i))/index.html")
    if [ "$code" != 401 ]; then
        echo "bench: ${names[$i]} answered $code without a token" >&2
        exit 1
    fi
done

worker_pid() {
    pgrep -P "$(cat "$work/$1/nginx.pid")" | head -n 1
}

cpu_ticks() {
    awk '{ print $14 + $15 }' "/proc/$1/stat"
}

: > "$work/results"

# a warm-up round, not counted: the rings fill up, so that the rounds
# measure the steady state in which every commit also trims
measured() {
    [ "$1" = stock ] || [ -z "${ONLY:-}" ] || [[ "$1" =~ $ONLY ]]
}

for i in "${!names[@]}"; do
    measured "${names[$i]}" || continue
    taskset -c "$wrk_core" wrk -t1 -c"$conns" -d"${WARMUP:-$duration}s" \
        -H "$auth" "http://127.0.0.1:$((base_port + i))/index.html" > /dev/null
done

for r in $(seq "$rounds"); do
    for i in "${!names[@]}"; do
        n=${names[$i]}
        measured "$n" || continue
        pid=$(worker_pid "$n")
        before=$(cpu_ticks "$pid")

        out=$(taskset -c "$wrk_core" wrk -t1 -c"$conns" -d"${duration}s" \
              -H "$auth" "http://127.0.0.1:$((base_port + i))/index.html")

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

        echo "$n $rps $us $r" >> "$work/results"
        printf 'round %d  %-16s %10s req/s  %6s us/req\n' "$r" "$n" "$rps" \
            "$us"
    done
done

echo
printf '%-16s %10s %8s %10s %9s\n' configuration "req/s" ratio "us/req" \
    "+us/req"

median() {
    sort -n | awk '{ v[NR] = $1 } END {
        if (NR % 2) print v[(NR + 1) / 2];
        else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# a configuration's ratio is the median over rounds of its req/s divided
# by stock's in the same round, and likewise its extra CPU per request:
# pairing within a round cancels the drift of a shared machine

for n in "${names[@]}"; do
    measured "$n" || continue
    rps=$(awk -v n="$n" '$1 == n { print $2 }' "$work/results" | median)
    us=$(awk -v n="$n" '$1 == n { print $3 }' "$work/results" | median)
    ratio=$(awk -v n="$n" '
        $1 == "stock" { s[$4] = $2 } $1 == n { c[$4] = $2 }
        END { for (r in c) printf "%.4f\n", c[r] / s[r] }' "$work/results" \
        | median)
    extra=$(awk -v n="$n" '
        $1 == "stock" { s[$4] = $3 } $1 == n { c[$4] = $3 }
        END { for (r in c) printf "%.2f\n", c[r] - s[r] }' "$work/results" \
        | median)
    printf '%-16s %10s %8s %10s %+9s\n' "$n" "$rps" "$ratio" "$us" "$extra"
done

echo
for n in keryu_log enforce_50 enforce_5000 enforce_nocache; do
    stored=$(mdb_stat -s ring "$work/$n/store" 2>/dev/null \
             | awk '/Entries/ { print $2 }')
    blocks=$(mdb_stat -s blocks "$work/$n/store" 2>/dev/null \
             | awk '/Entries/ { print $2 }')
    echo "$n: ${stored:-0} records in the ring, ${blocks:-0} blocks"
done
