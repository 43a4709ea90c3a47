#!/usr/bin/env bash
#
# Copyright (C) Keryu Security
#
# Keryu next to what people run instead, in one session, against the same
# 642-byte static file (GET /index.html?id=12345&sort=desc, with an HS256
# bearer token, Host, Accept and User-Agent headers):
#
#   stock            stock nginx, access_log off (the ceiling)
#   json-log         stock nginx with an 11-field JSON access_log
#   keryu-log        keryu_log on
#   keryu-full       the production profile: logging, JWT, 50 access
#                    rules, 10,000 blocks, argument validation, security
#                    headers, and keryu_seal when this build accepts it
#   modsecurity-few  ModSecurity with a handful of rules doing what
#                    keryu-full does, as far as SecLang can (methods, a
#                    block list of 10,000 addresses, a bearer token's shape
#                    but not its signature, allowed paths, arguments)
#   modsecurity-crs  ModSecurity with the OWASP Core Rule Set, paranoia 1
#
# Each runs in its own nginx, one worker pinned to core 0, wrk -t1 pinned
# to core 1; configurations alternate in rounds, and every ratio is taken
# within a round and then the median over rounds, so the ratios hold on a
# busy machine even when absolute req/s move.  Before measuring, each
# configuration must refuse what it is meant to refuse.
#
# Prints each round, then per configuration the median req/s, the ratio to
# stock, the median 99th percentile latency (wrk --latency) and its excess
# over stock, worker CPU time per request, the 99th percentile with one
# connection (a second, shorter wrk run each round: at saturation p99 is
# mostly time spent queueing) and the worker's peak resident memory
# (VmHWM); then the goals, and last one line per configuration:
#
#   bench: NAME rps=N p99_ms=N rss_kb=N ratio=R
#
#   ROUNDS=5 DURATION=5 WARMUP=5 CONNECTIONS=32 LATENCY_DURATION=5 \
#       t/bench/compare.sh
#
# BENCH_KEEP=1 leaves the servers and their files for a closer look.

set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
nginx=${KERYU_NGINX:-/usr/sbin/nginx}
module=${MODULE:-$top/build/ngx_http_keryu_module.so}
keryud=${KERYUD:-$top/build/keryud}
modsec=${MODSECURITY_MODULE:-/usr/lib/nginx/modules}
modsec=$modsec/ngx_http_modsecurity_module.so
crs=${CRS_DIR:-/usr/share/modsecurity-crs}
crs_etc=${CRS_ETC:-/etc/modsecurity/crs}
rounds=${ROUNDS:-5}
duration=${DURATION:-5}
latency_duration=${LATENCY_DURATION:-$duration}
conns=${CONNECTIONS:-32}
work=$(mktemp -d /tmp/keryu-compare.XXXXXX)
chmod 755 "$work"
hz=$(getconf CLK_TCK)

names=(stock json-log keryu-log keryu-full modsecurity-few modsecurity-crs)

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

fail() {
    echo "bench: $*" >&2
    exit 1
}

command -v wrk >/dev/null || fail "wrk is not installed"
[ -f "$module" ] || fail "$module is not built"
[ -x "$keryud" ] || fail "$keryud is not built"
[ -f "$modsec" ] || fail "$modsec is missing (libnginx-mod-http-modsecurity)"
[ -d "$crs/rules" ] || fail "$crs/rules is missing (modsecurity-crs)"

worker_core=0
wrk_core=1
[ "$(nproc)" -ge 2 ] || wrk_core=0

# free ports from the kernel, so that runs by others do not collide
read -r -a ports <<< "$(python3 -c '
import socket
s = [socket.socket() for _ in range(6)]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))')"

head -c 642 /dev/zero | tr '\0' 'k' > "$work/index.html"

secret="a benchmark secret that is long enough for HS256"
token=$(perl -MDigest::SHA=hmac_sha256 -MMIME::Base64 -e '
    sub b { my $s = encode_base64(shift, ""); $s =~ tr{+/}{-_};
            $s =~ s/=+$//; $s }
    my $h = b(q({"alg":"HS256","typ":"JWT","kid":"bench"}));
    my $c = b(sprintf q({"sub":"bench","roles":["user"],"exp":%d}),
              time + 86400);
    print "$h.$c.", b(hmac_sha256("$h.$c", shift));' "$secret")

path="/index.html?id=12345&sort=desc"
headers=(-H "Authorization: Bearer $token" -H "Host: bench.example"
         -H "Accept: */*" -H "User-Agent: keryu-bench")

# $1 name: the nginx.conf of that configuration, from $2 main lines, $3
# http lines
write_conf() {
    local dir=$work/$1 port=${ports[$4]}

    mkdir -p "$dir/logs"
    cat > "$dir/nginx.conf" <<EOF
$2
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
    $3
    server {
        listen 127.0.0.1:$port;
        location / { root $work; }
    }
}
EOF
}

# keryu's store: 49 rules for other paths and one for the file, all for
# role "user", 10,000 blocks (127.0.0.2 among them, not 127.0.0.1) and the
# HS256 key
seed_store() {
    local dir=$work/$1

    mkdir -p "$dir"
    printf 'store %s/store;\ndata %s/data;\n' "$dir" "$dir" > "$dir/keryud.conf"
    printf '%s' "$secret" > "$dir/secret"
    chmod 600 "$dir/secret"

    perl -e '
        my @r = map { qq({"id":"r$_","path":"/r$_/{id}","effect":"allow",)
                      . qq("roles":["user"]}) } 1 .. 49;
        push @r, q({"id":"static","path":"/index.html","effect":"allow",)
                 . q("roles":["user"]});
        print q({"name":"bench","policy_type":"access","rules":[),
              join(",", @r), "]}";' > "$dir/policy.json"

    "$keryud" -c "$dir/keryud.conf" policy apply "$dir/policy.json" >/dev/null
    "$keryud" -c "$dir/keryud.conf" key add --kid bench --alg HS256 \
        --secret-file "$dir/secret" > /dev/null

    # laid out as "keryud block add" does, in one transaction
    perl -e '
        sub hex_escape {
            join "", map { sprintf "\\%02x", $_ } unpack "C*", shift
        }
        my $value = pack("Q<Q<", 0, time * 1e6) . "bench";
        for my $i (0 .. 8999) {
            my $k = "a" . chr(128) . ("\0" x 10) . "\xff\xff"
                    . pack("C4", 10, 1 + ($i >> 16), ($i >> 8) & 255, $i & 255);
            print hex_escape($k), "\n", hex_escape($value), "\n";
        }
        for my $i (0 .. 998) {
            my $k = "a" . chr(64) . pack("n4", 0x2001, 0xdb8, $i, 0)
                    . ("\0" x 8);
            print hex_escape($k), "\n", hex_escape($value), "\n";
        }' | mdb_load -T -s blocks "$dir/store"
    "$keryud" -c "$dir/keryud.conf" block add --ip 127.0.0.2 > /dev/null
}

# the same 10,000 addresses for ModSecurity's @ipMatchFromFile
perl -e '
    for my $i (0 .. 8999) {
        printf "10.%d.%d.%d\n", 1 + ($i >> 16), ($i >> 8) & 255, $i & 255;
    }
    printf "2001:db8:%x::/64\n", $_ for 0 .. 998;
    print "127.0.0.2\n";' > "$work/blocks.txt"

# ModSecurity's engine settings, as Debian's recommended file has them
# but with the rule engine on, no response body inspection (keryu does
# none) and the audit log only for refusals
modsec_base() {
    cat <<EOF
SecRuleEngine On
SecRequestBodyAccess On
SecRequestBodyLimit 13107200
SecRequestBodyNoFilesLimit 131072
SecRequestBodyLimitAction Reject
SecRule REQUEST_HEADERS:Content-Type "^application/json" \\
    "id:200001,phase:1,t:none,t:lowercase,pass,nolog,\\
    ctl:requestBodyProcessor=JSON"
SecRule REQBODY_ERROR "!@eq 0" "id:200002,phase:2,t:none,log,deny,status:400"
SecPcreMatchLimit 1000
SecPcreMatchLimitRecursion 1000
SecResponseBodyAccess Off
SecTmpDir $1
SecDataDir $1
SecAuditEngine RelevantOnly
SecAuditLogRelevantStatus "^(?:5|4(?!04))"
SecAuditLogParts ABIJDEFHZ
SecAuditLogType Serial
SecAuditLog $1/logs/modsec_audit.log
SecArgumentSeparator &
SecCookieFormat 0
EOF
}

mkdir -p "$work/modsecurity-few/logs" "$work/modsecurity-crs/logs"

{
    modsec_base "$work/modsecurity-few"
    cat <<EOF
SecRule REMOTE_ADDR "@ipMatchFromFile $work/blocks.txt" \\
    "id:10001,phase:1,t:none,log,deny,status:403,msg:'blocked address'"
SecRule REQUEST_METHOD "!@within GET HEAD POST" \\
    "id:10002,phase:1,t:none,log,deny,status:405,msg:'method'"
SecRule &REQUEST_HEADERS:Authorization "@eq 0" \\
    "id:10003,phase:1,t:none,log,deny,status:401,msg:'no credentials'"
SecRule REQUEST_HEADERS:Authorization \\
    "!@rx ^Bearer [A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$" \\
    "id:10004,phase:1,t:none,log,deny,status:401,msg:'bad token'"
SecRule REQUEST_FILENAME \\
    "!@rx ^/(?:index\\.html|r(?:[1-9]|[1-4][0-9])/[^/]+)$" \\
    "id:10005,phase:1,t:none,log,deny,status:403,msg:'no rule'"
SecRule &ARGS "@gt 32" "id:10006,phase:2,t:none,log,deny,status:400"
SecRule ARGS_NAMES "!@within id sort" \\
    "id:10007,phase:2,t:none,log,deny,status:400,msg:'unknown argument'"
SecRule ARGS:id "!@rx ^[1-9][0-9]{0,8}$" \\
    "id:10008,phase:2,t:none,log,deny,status:400,msg:'id'"
SecRule ARGS:sort "!@within asc desc" \\
    "id:10009,phase:2,t:none,log,deny,status:400,msg:'sort'"
EOF
} > "$work/modsecurity-few/rules.conf"

{
    modsec_base "$work/modsecurity-crs"
    echo "Include $crs_etc/crs-setup.conf"
    for f in "$crs_etc/REQUEST-900-EXCLUSION-RULES-BEFORE-CRS.conf" \
             "$crs"/rules/*.conf \
             "$crs_etc/RESPONSE-999-EXCLUSION-RULES-AFTER-CRS.conf"
    do
        [ -f "$f" ] && echo "Include $f"
    done
} > "$work/modsecurity-crs/rules.conf"

seed_store keryu-full

json='{"time":"$time_iso8601","addr":"$remote_addr",'
json+='"method":"$request_method","uri":"$request_uri",'
json+='"status":$status,"bytes":$bytes_sent,"rt":$request_time,'
json+='"host":"$host","ua":"$http_user_agent","ref":"$http_referer",'
json+='"user":"$remote_user"}'

full="access_log off;
    keryu_store $work/keryu-full/store;
    keryu_log on;
    keryu_access on;
    keryu_security_headers strict;
    keryu_validate on;
    keryu_allow_methods GET HEAD POST;
    keryu_max_uri_length 2048;
    keryu_max_args 32;
    keryu_unknown_args deny;
    keryu_arg id integer min=1 max=999999999 required;
    keryu_arg sort enum values=asc|desc;"

write_conf stock "" "access_log off;" 0
write_conf json-log "" \
    "log_format j escape=json '$json';
    access_log $work/json-log/logs/access.log j;" 1
write_conf keryu-log "load_module $module;" \
    "access_log off; keryu_store $work/keryu-log/store; keryu_log on;" 2

# sealing joins the profile when this build of the module takes it; any
# other reason to refuse it is shown
sealing=on
write_conf keryu-full "load_module $module;" "$full
    keryu_seal on;" 3
if "$nginx" -t -q -p "$work/keryu-full" -c "$work/keryu-full/nginx.conf" \
    2> "$work/keryu-full/seal-probe.log"
then
    # "on" with no key published writes no personal fields at all, which
    # costs less than sealing them: publish one, as keryud would
    if [ -f "$top/t/api/sealkey.c" ] && [ -f "$top/shared/keryu_seal.c" ]
    then
        cc -O2 -I "$top/shared" -o "$work/sealkey" "$top/t/api/sealkey.c" \
            "$top/shared/keryu_store.c" "$top/shared/keryu_record.c" \
            "$top/shared/keryu_seal.c" -llmdb -lcrypto
        "$work/sealkey" publish "$work/keryu-full/store" 1 \
            "$work/keryu-full/seal.key" > /dev/null
    else
        sealing="off (no way to publish a sealing key here)"
        write_conf keryu-full "load_module $module;" "$full" 3
    fi

else
    if grep -q 'unknown directive "keryu_seal"' \
        "$work/keryu-full/seal-probe.log"
    then
        sealing="off (not in this build)"
    else
        sealing="off ($(grep -m1 emerg "$work/keryu-full/seal-probe.log" \
                       | sed 's/.*\[emerg\] [0-9#]*: //'))"
    fi
    write_conf keryu-full "load_module $module;" "$full" 3
fi

write_conf modsecurity-few "load_module $modsec;" \
    "access_log off; modsecurity on;
    modsecurity_rules_file $work/modsecurity-few/rules.conf;" 4
write_conf modsecurity-crs "load_module $modsec;" \
    "access_log off; modsecurity on;
    modsecurity_rules_file $work/modsecurity-crs/rules.conf;" 5

for i in "${!names[@]}"; do
    d=$work/${names[$i]}
    "$nginx" -p "$d" -c "$d/nginx.conf" 2> "$d/logs/start.log" \
        || fail "${names[$i]} did not start:" \
                "$(tail -n 3 "$d/logs/start.log")"
done

url() {
    echo "http://127.0.0.1:${ports[$1]}$2"
}

# $1 index, $2 path, then curl's options: prints the status
status() {
    local i=$1 p=$2

    shift 2
    curl -s -o /dev/null -w '%{http_code}' -H "Host: bench.example" \
        -H "Accept: */*" -H "User-Agent: keryu-bench" "$@" "$(url "$i" "$p")"
}

for i in "${!names[@]}"; do
    for t in $(seq 50); do
        [ "$(status "$i" "$path" "${headers[@]}")" = 200 ] && break
        [ "$t" = 50 ] && fail "${names[$i]} does not answer 200: " \
            "$(tail -n 3 "$work/${names[$i]}/logs/error.log")"
        sleep 0.1
    done
done

# what each configuration must refuse, as "name path status curl-options";
# the benchmark's own request must pass everywhere (checked above)
auth="Authorization: Bearer $token"
checks=$(cat <<EOF
keryu-full|$path|401|
keryu-full|/index.html?id=abc&sort=desc|400|-H|$auth
keryu-full|/index.html?id=1&debug=1|400|-H|$auth
keryu-full|/secret.html?id=1|403|-H|$auth
keryu-full|$path|405|-X|DELETE|-H|$auth
keryu-full|$path|403|--interface|127.0.0.2|-H|$auth
modsecurity-few|$path|401|
modsecurity-few|$path|401|-H|Authorization: Basic YTpi
modsecurity-few|/index.html?id=abc&sort=desc|400|-H|$auth
modsecurity-few|/index.html?id=1&debug=1|400|-H|$auth
modsecurity-few|/secret.html?id=1|403|-H|$auth
modsecurity-few|$path|405|-X|DELETE|-H|$auth
modsecurity-few|$path|403|--interface|127.0.0.2|-H|$auth
modsecurity-crs|/index.html?id=1%27%20union%20select%20a%20from%20t--|403|
modsecurity-crs|/index.html?q=%3Cscript%3Ealert(1)%3C/script%3E|403|
modsecurity-crs|/index.html?f=../../../../etc/passwd|403|
EOF
)

while IFS='|' read -r -a c; do
    for i in "${!names[@]}"; do
        [ "${names[$i]}" = "${c[0]}" ] && break
    done
    got=$(status "$i" "${c[1]}" "${c[@]:3}")
    [ "$got" = "${c[2]}" ] \
        || fail "${c[0]} answered $got, not ${c[2]}, to ${c[1]} ${c[*]:3}"
done <<< "$checks"

hdr=$(curl -s -D - -o /dev/null "${headers[@]}" "$(url 3 "$path")")
echo "$hdr" | grep -qi '^x-content-type-options: nosniff' \
    || fail "keryu-full sends no security headers"

echo "bench: side by side on $(nproc) CPUs ($(grep -m1 'model name' \
    /proc/cpuinfo | sed 's/.*: //')), $rounds rounds of ${duration}s," \
    "$conns connections; keryu-full sealing: $sealing"

worker_pid() {
    pgrep -P "$(cat "$work/$1/nginx.pid")" | head -n 1
}

cpu_ticks() {
    awk '{ print $14 + $15 }' "/proc/$1/stat"
}

# wrk's 99% line in milliseconds
p99_ms() {
    awk '$1 == "99%" {
        v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
        if (u == "us") v /= 1000; else if (u == "s") v *= 1000;
        else if (u == "m") v *= 60000;
        printf "%.3f", v }'
}

: > "$work/results"

# $1 index, $2 seconds, $3 connections
run_wrk() {
    taskset -c "$wrk_core" wrk -t1 -c"${3:-$conns}" -d"$2s" --latency \
        "${headers[@]}" "$(url "$1" "$path")"
}

for i in "${!names[@]}"; do
    run_wrk "$i" "${WARMUP:-$duration}" > /dev/null
done

for r in $(seq "$rounds"); do
    for i in "${!names[@]}"; do
        n=${names[$i]}
        pid=$(worker_pid "$n")
        before=$(cpu_ticks "$pid")
        out=$(run_wrk "$i" "$duration")
        after=$(cpu_ticks "$pid")

        if echo "$out" | grep -q 'Non-2xx'; then
            echo "$out" >&2
            fail "$n answered errors"
        fi
        echo "$out" | grep 'Socket errors' \
            | sed "s/^ */bench: $n round $r: /" >&2

        reqs=$(echo "$out" | awk '/requests in/ { print $1 }')
        rps=$(echo "$out" | awk '/^Requests\/sec/ { print $2 }')
        p99=$(echo "$out" | p99_ms)
        us=$(awk -v a="$before" -v b="$after" -v n="$reqs" -v hz="$hz" \
             'BEGIN { printf "%.2f", (b - a) / hz * 1e6 / n }')

        # saturated, p99 is mostly queueing; one connection at a time
        # shows what a request itself waits for
        lat=$(run_wrk "$i" "$latency_duration" 1 | p99_ms)

        echo "$n $rps $p99 $us $r $lat" >> "$work/results"
        printf 'round %d  %-16s %10s req/s  p99 %7s ms  %7s us/req' \
            "$r" "$n" "$rps" "$p99" "$us"
        printf '  p99 at 1 conn %6s ms\n' "$lat"
    done
done

median() {
    sort -g | awk '{ v[NR] = $1 } END {
        if (NR % 2) print v[(NR + 1) / 2];
        else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# $1 field (2 req/s, 3 p99, 4 us/req, 6 p99 at one connection), $2
# name: the median over rounds
med() {
    awk -v f="$1" -v n="$2" '$1 == n { print $f }' "$work/results" | median
}

# $1 field, $2 name, $3 other, $4 "ratio" or "diff": the median over
# rounds of name's figure against other's in the same round
paired() {
    awk -v f="$1" -v n="$2" -v o="$3" -v op="$4" '
        $1 == o { s[$5] = $f } $1 == n { c[$5] = $f }
        END { for (r in c) if (r in s) {
            if (op == "ratio") printf "%.4f\n", c[r] / s[r];
            else printf "%.3f\n", c[r] - s[r] } }' "$work/results" | median
}

echo
printf '%-16s %8s %6s %8s %8s %7s %8s %8s %8s %8s\n' configuration \
    "req/s" ratio "p99 ms" "+p99 ms" "us/req" "+us/req" "1c p99" "+1c p99" \
    "VmHWM kB"

declare -A rps ratio p99 rss

for n in "${names[@]}"; do
    rps[$n]=$(med 2 "$n")
    p99[$n]=$(med 3 "$n")
    ratio[$n]=$(paired 2 "$n" stock ratio)
    rss[$n]=$(awk '/^VmHWM/ { print $2 }' "/proc/$(worker_pid "$n")/status")
    printf '%-16s %8.0f %6.3f %8.3f %+8.3f %7.2f %+8.2f %8.3f %+8.3f %8s\n' \
        "$n" "${rps[$n]}" "${ratio[$n]}" "${p99[$n]}" \
        "$(paired 3 "$n" stock diff)" "$(med 4 "$n")" \
        "$(paired 4 "$n" stock diff)" "$(med 6 "$n")" \
        "$(paired 6 "$n" stock diff)" "${rss[$n]}"
done

# $1 label, $2 measured, $3 operator, $4 goal
goal() {
    local met

    met=$(awk -v a="$2" -v b="$4" -v op="$3" 'BEGIN {
        print ((op == ">=" ? a >= b : a < b) ? "met" : "NOT MET") }')
    printf '%-40s %9s  (goal %s %s)  %s\n' "$1" "$2" "$3" "$4" "$met"
}

echo
goal "keryu-log / stock" "${ratio[keryu-log]}" ">=" 0.95
goal "keryu-full / stock" "${ratio[keryu-full]}" ">=" 0.85
goal "keryu-full / modsecurity-few" \
    "$(paired 2 keryu-full modsecurity-few ratio)" ">=" 5
goal "keryu-full / modsecurity-crs" \
    "$(paired 2 keryu-full modsecurity-crs ratio)" ">=" 20
goal "p99 added by keryu-log, 1 conn (ms)" \
    "$(paired 6 keryu-log stock diff)" "<" 0.2
goal "p99 added by keryu-full, 1 conn (ms)" \
    "$(paired 6 keryu-full stock diff)" "<" 0.2
goal "p99 added by keryu-full, saturated (ms)" \
    "$(paired 3 keryu-full stock diff)" "<" 0.2

echo
for n in "${names[@]}"; do
    printf 'bench: %s rps=%.0f p99_ms=%.3f rss_kb=%s ratio=%.3f\n' "$n" \
        "${rps[$n]}" "${p99[$n]}" "${rss[$n]}" "${ratio[$n]}"
done
