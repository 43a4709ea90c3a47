#!/usr/bin/env bash
#
# Copyright (C) Keryu Security
#
# Side-by-side benchmark: stock nginx, stock nginx with a JSON access_log,
# nginx with "keryu_log on", and nginx with the full profile (logging plus
# enforcement: an HS256 token on every request, 10,000 blocks, and 50 or
# 5,000 access rules; "enforce_nocache" turns the verified-token cache off,
# so that every request verifies its token in full), serving the same
# small static file.  Two more serve a POST of a 4 KiB JSON body with 20
# query arguments, from the same location: "validate_on" checks the
# arguments against 20 keryu_arg types and the body against a schema as it
# is read, "validate_off" checks nothing; stock nginx has no cheap handler
# that takes a POST, so in both the static module's 405 becomes a short
# 200 from a named location.  "seal_on" and "seal_off" are "keryu_log"
# with a user agent and a query to record, with the personal fields
# sealed to a published sealing key or not ("keryu_seal on | off").  Each
# configuration runs in its own nginx with one worker pinned to core 0;
# wrk runs pinned to core 1.  Configurations alternate in rounds within one
# run, so the ratios hold on a noisy machine even when absolute req/s move.
#
# Prints, per configuration, the median req/s and worker CPU time per
# request (from /proc/PID/stat), and, paired with stock round by round,
# the median ratio of req/s and the median extra CPU time per request;
# then validate_on's req/s over validate_off's, and seal_on's over
# seal_off's, paired the same way.
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

names=(stock json_log keryu_log enforce_50 enforce_5000 enforce_nocache
       validate_on validate_off seal_on seal_off)

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

# one nginx per configuration; $1 name, $2 port, $3 main lines, $4 http
# lines, $5 server lines
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
        ${5:-}
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

# the validated POST: 20 query arguments of every type, and an order of
# about 4 KiB in JSON, each a value its check accepts

query='id=12345&page=3&per_page=50&sort=desc&status=shipped'
query+='&ref=123e4567-e89b-12d3-a456-426614174000&email=alice%40example.com'
query+='&name=Alice+Example&country=NL&currency=EUR&from=2026-01-01'
query+='&to=2026-12-31&min_total=10&max_total=5000&coupon=SPRING-2026'
query+='&channel=web&lang=en-GB&tag=gift&session=a1b2c3d4e5f6a7b8'
query+='&trace=0af7651916cd43dd8448eb211c80319c'

perl -e '
    my @items = map {
        sprintf q({"sku":"SKU-%06d","name":"Widget number %d, blue",)
                . q("qty":%d,"price":%d.99,"tags":["blue","small"]}),
                $_, $_, $_ % 9 + 1, $_ % 90 + 9
    } 1 .. 38;
    print q({"order_id":12345,"customer":{"name":"Alice Example",),
          q("email":"alice@example.com","country":"NL"},"currency":"EUR",),
          q("note":"Leave at the door, please.","items":[),
          join(",", @items), "]}";' > "$work/order.json"

cat > "$work/order.schema.json" <<'END'
{"type": "object",
 "properties": {
   "order_id": {"type": "integer", "minimum": 1},
   "customer": {"type": "object",
     "properties": {
       "name": {"type": "string", "minLength": 1, "maxLength": 64},
       "email": {"type": "string", "maxLength": 254},
       "country": {"enum": ["NL", "BE", "DE", "FR", "GB"]}},
     "required": ["name", "email"],
     "additionalProperties": false},
   "currency": {"enum": ["EUR", "GBP", "USD"]},
   "note": {"type": "string", "maxLength": 500},
   "items": {"type": "array", "minItems": 1, "maxItems": 100,
     "items": {"type": "object",
       "properties": {
         "sku": {"type": "string", "pattern": "^SKU-[0-9]{6}$"},
         "name": {"type": "string", "maxLength": 100},
         "qty": {"type": "integer", "minimum": 1, "maximum": 99},
         "price": {"type": "number", "minimum": 0},
         "tags": {"type": "array", "maxItems": 8,
                  "items": {"type": "string", "maxLength": 32}}},
       "required": ["sku", "qty", "price"],
       "additionalProperties": false}}},
 "required": ["order_id", "customer", "items"],
 "additionalProperties": false}
END

cat > "$work/post.lua" <<END
local f = assert(io.open("$work/order.json", "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
wrk.headers["Content-Type"] = "application/json"
f:close()
END

mkdir -p "$work/api"
echo order > "$work/api/orders"

validate="keryu_validate on;
    keryu_body_schema $work/order.schema.json;
    keryu_allow_methods GET POST;
    keryu_max_uri_length 2048;
    keryu_max_args 32;
    keryu_unknown_args deny;
    keryu_arg id integer min=1 required;
    keryu_arg page integer min=1 max=10000;
    keryu_arg per_page integer min=1 max=100;
    keryu_arg sort enum values=asc|desc;
    keryu_arg status enum values=new|paid|shipped|returned;
    keryu_arg ref uuid;
    keryu_arg email email;
    keryu_arg name string minlen=1 maxlen=64;
    keryu_arg country enum values=NL|BE|DE|FR|GB;
    keryu_arg currency enum values=EUR|GBP|USD;
    keryu_arg from pattern \"pattern=[0-9]{4}-[0-9]{2}-[0-9]{2}\";
    keryu_arg to pattern \"pattern=[0-9]{4}-[0-9]{2}-[0-9]{2}\";
    keryu_arg min_total integer min=0;
    keryu_arg max_total integer min=0;
    keryu_arg coupon string maxlen=32 pattern=[A-Z0-9-]+;
    keryu_arg channel enum values=web|app|store;
    keryu_arg lang string minlen=2 maxlen=16;
    keryu_arg tag string maxlen=32;
    keryu_arg session string minlen=16 maxlen=16;
    keryu_arg trace string maxlen=32;"

# $1: what the location adds
orders() {
    echo "location = /api/orders {
            root $work;
            error_page 405 =200 @ok;
            $1
        }
        location @ok { return 200 \"ok\\n\"; }"
}

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
start validate_on $((base_port + 6)) "load_module $module;" \
    "access_log off;" "$(orders "$validate")"
start validate_off $((base_port + 7)) "load_module $module;" \
    "access_log off;" "$(orders "")"

# a sealing key published before nginx starts, as keryud would
cc -O2 -I "$top/shared" -o "$work/sealkey" "$top/t/api/sealkey.c" \
    "$top/shared/keryu_store.c" "$top/shared/keryu_record.c" \
    "$top/shared/keryu_seal.c" -llmdb -lcrypto
mkdir -p "$work/seal_on"
"$work/sealkey" publish "$work/seal_on/store" 1 "$work/seal_on/key" \
    > /dev/null

start seal_on $((base_port + 8)) "load_module $module;" \
    "access_log off; keryu_store $work/seal_on/store; keryu_log on;
     keryu_seal on;"
start seal_off $((base_port + 9)) "load_module $module;" \
    "access_log off; keryu_store $work/seal_off/store; keryu_log on;
     keryu_seal off;"

agent="Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 bench-agent"

auth="Authorization: Bearer $token"

for i in "${!names[@]}"; do
    for t in $(seq 50); do
        curl -fs -o /dev/null -H "$auth" \
            "http://127.0.0.1:$((base_port + i))/index.html" && break
        sleep 0.1
    done
done

# what wrk asks a configuration for: $1 its index; sets url and req
request() {
    case ${names[$1]} in
    validate_*)
        url="http://127.0.0.1:$((base_port + $1))/api/orders?$query"
        req=(-s "$work/post.lua")
        ;;
    seal_*)
        url="http://127.0.0.1:$((base_port + $1))/index.html?q=bench-query&p=2"
        req=(-H "User-Agent: $agent")
        ;;
    *)
        url="http://127.0.0.1:$((base_port + $1))/index.html"
        req=(-H "$auth")
        ;;
    esac
}

# the validating server must take the order and refuse a bad argument or a
# bad body, and the other must take all three
for i in 6 7; do
    request "$i"
    good=$(curl -s -o /dev/null -w '%{http_code}' \
           -H 'Content-Type: application/json' \
           --data-binary "@$work/order.json" "$url")
    badarg=$(curl -s -o /dev/null -w '%{http_code}' \
             -H 'Content-Type: application/json' \
             --data-binary "@$work/order.json" "${url/sort=desc/sort=up}")
    badbody=$(sed 's/"qty":3/"qty":300/' "$work/order.json" \
              | curl -s -o /dev/null -w '%{http_code}' \
                -H 'Content-Type: application/json' --data-binary @- "$url")
    want=$([ "$i" = 6 ] && echo "200 400 400" || echo "200 200 200")

    if [ "$good $badarg $badbody" != "$want" ]; then
        echo "bench: ${names[$i]} answered $good $badarg $badbody," \
             "not $want" >&2
        exit 1
    fi
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
    request "$i"
    taskset -c "$wrk_core" wrk -t1 -c"$conns" -d"${WARMUP:-$duration}s" \
        "${req[@]}" "$url" > /dev/null
done

for r in $(seq "$rounds"); do
    for i in "${!names[@]}"; do
        n=${names[$i]}
        measured "$n" || continue
        pid=$(worker_pid "$n")
        before=$(cpu_ticks "$pid")

        request "$i"
        out=$(taskset -c "$wrk_core" wrk -t1 -c"$conns" -d"${duration}s" \
              "${req[@]}" "$url")

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

if measured seal_on && measured seal_off; then
    ratio=$(awk '
        $1 == "seal_off" { o[$4] = $2 } $1 == "seal_on" { v[$4] = $2 }
        END { for (r in v) if (r in o) printf "%.4f\n", v[r] / o[r] }' \
        "$work/results" | median)
    extra=$(awk '
        $1 == "seal_off" { o[$4] = $3 } $1 == "seal_on" { v[$4] = $3 }
        END { for (r in v) if (r in o) printf "%.2f\n", v[r] - o[r] }' \
        "$work/results" | median)
    echo
    echo "seal_on / seal_off: $ratio, $extra us/req more" \
         "(the goal is 0.97 or more)"

    # the sealed store must hold no user agent, the other must
    if grep -q bench-agent "$work/seal_on/store/data.mdb" \
       || ! grep -q bench-agent "$work/seal_off/store/data.mdb"
    then
        echo "bench: seal_on did not seal, or seal_off did" >&2
        exit 1
    fi
fi

if measured validate_on && measured validate_off; then
    ratio=$(awk '
        $1 == "validate_off" { o[$4] = $2 } $1 == "validate_on" { v[$4] = $2 }
        END { for (r in v) if (r in o) printf "%.4f\n", v[r] / o[r] }' \
        "$work/results" | median)
    echo
    echo "validate_on / validate_off: $ratio (the goal is 0.90 or more)"
fi

echo
for n in keryu_log enforce_50 enforce_5000 enforce_nocache seal_on seal_off; do
    stored=$(mdb_stat -s ring "$work/$n/store" 2>/dev/null \
             | awk '/Entries/ { print $2 }')
    blocks=$(mdb_stat -s blocks "$work/$n/store" 2>/dev/null \
             | awk '/Entries/ { print $2 }')
    echo "$n: ${stored:-0} records in the ring, ${blocks:-0} blocks"
done
