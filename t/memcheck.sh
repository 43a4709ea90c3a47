#!/bin/sh
#
# Copyright (C) Keryu Security
#
# Runs nginx with the keryu module under valgrind in single-process mode,
# sends requests that fill and trim a small ring and that go through every
# kind of access decision (tokens good and bad, API keys, signed requests,
# blocks, a policy change in the middle), with every record sealed to a
# published sealing key, stops nginx, and fails if
# valgrind saw a memory error, or a leak whose stack passes through the
# module, the shared code or LMDB.  nginx itself leaves a few blocks to the
# exit of a single process; those are not ours and are not counted.

set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
nginx=${KERYU_NGINX:-/usr/sbin/nginx}
module=${MODULE:-$top/build/ngx_http_keryu_module.so}
keryud=${KERYUD:-$top/build/keryud}
port=${MEMCHECK_PORT:-18190}
work=$(mktemp -d /tmp/keryu-memcheck.XXXXXX)
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/logs"
printf 'store %s/store;\ndata %s/data;\n' "$work" "$work" > "$work/keryud.conf"
cli() { "$keryud" -c "$work/keryud.conf" "$@" > /dev/null; }

secret="a secret for the memory check, long enough for HS256"
printf '%s' "$secret" > "$work/secret"
chmod 600 "$work/secret"

cat > "$work/policy.json" <<EOF
{"name": "mem", "policy_type": "access", "rules": [
  {"id": "open", "path": "/m/", "match": "prefix", "effect": "allow",
   "anyone": true},
  {"id": "own", "path": "/o/{id}", "effect": "allow",
   "owner": {"segment": "id", "claim": "orders"}},
  {"id": "trial", "path": "/t/", "match": "prefix", "effect": "deny",
   "anyone": true, "shadow": true},
  {"id": "admin", "path": "/a/", "match": "prefix", "effect": "allow",
   "roles": ["admin"]}
]}
EOF

cli policy apply "$work/policy.json"
cli key add --kid mem --alg HS256 --secret-file "$work/secret"
cli client add --id mem-client --role admin --secret-file "$work/secret"
cli block add --ip 192.0.2.0/24
cli block add --user mallory
apikey=$("$keryud" -c "$work/keryud.conf" apikey create --name mem-key \
         --role admin)

# a sealing key, published as keryud publishes it, so that records are
# sealed (keryu_seal's default once a key is there)
cc -O2 -I "$top/shared" -o "$work/sealkey" "$top/t/api/sealkey.c" \
    "$top/shared/keryu_store.c" "$top/shared/keryu_record.c" \
    "$top/shared/keryu_seal.c" -llmdb -lcrypto
"$work/sealkey" publish "$work/store" 1 "$work/seal.key"

token() {
    perl -MDigest::SHA=hmac_sha256 -MMIME::Base64 -e '
        sub b { my $s = encode_base64(shift, ""); $s =~ tr{+/}{-_};
                $s =~ s/=+$//; $s }
        my $h = b(q({"alg":"HS256","kid":"mem"}));
        my $c = b(sprintf q({"sub":"%s","roles":["admin"],"orders":["1"],)
                  . q("exp":%d}), shift, time + 600);
        print "$h.$c.", b(hmac_sha256("$h.$c", shift));' "$1" "$secret"
}

# curl options for a signed GET of path $1 with nonce $2
signed() {
    perl -MDigest::SHA=hmac_sha256,sha256_hex -MMIME::Base64 -e '
        my ($path, $nonce, $secret) = @ARGV;
        my $t = time; my $d = sha256_hex("");
        my $s = encode_base64(hmac_sha256("GET\n$path\n\n$t\n$nonce\n$d",
                                          $secret), "");
        $s =~ tr{+/}{-_}; $s =~ s/=+$//;
        print "-H X-Keryu-Client:mem-client -H X-Keryu-Timestamp:$t ",
              "-H X-Keryu-Nonce:$nonce -H X-Keryu-Content-SHA256:$d ",
              "-H X-Keryu-Signature:$s";' "$1" "$2" "$secret"
}

cat > "$work/nginx.conf" <<EOF
load_module $module;
master_process off;
daemon off;
error_log $work/logs/error.log info;
pid $work/nginx.pid;
events { worker_connections 64; }
http {
    access_log off;
    keryu_store $work/store ring=100;
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Real-IP;
    server {
        listen 127.0.0.1:$port;
        keryu_log on;
        location / { return 200 "ok\n"; }
        location /nolog { keryu_log off; return 204; }
        location ~ ^/(m|o|t|a)/ {
            keryu_access on;
            keryu_identity bearer signature apikey=X-Api-Key;
            stub_status;
        }
    }
}
EOF

valgrind --leak-check=full --show-leak-kinds=definite,indirect \
    --num-callers=30 "$nginx" -p "$work" -c "$work/nginx.conf" \
    > "$work/valgrind.log" 2>&1 &
vg=$!

i=0
until curl -fs -o /dev/null "http://127.0.0.1:$port/"; do
    i=$((i + 1))
    if [ $i -gt 100 ]; then
        echo "memcheck: nginx under valgrind did not start" >&2
        cat "$work/valgrind.log" >&2
        exit 1
    fi
    sleep 0.2
done

long=$(head -c 5000 /dev/zero | tr '\0' a)
i=0
while [ $i -lt 300 ]; do
    curl -s -o /dev/null -A "memcheck $i" "http://127.0.0.1:$port/m/$i?$long"
    curl -s -o /dev/null "http://127.0.0.1:$port/nolog"
    i=$((i + 1))
done

good=$(token alice)
evil=$(token mallory)

# every kind of decision, each expected status checked
check() {
    want=$1
    shift
    got=$(curl -s -o /dev/null -w '%{http_code}' "$@")
    if [ "$got" != "$want" ]; then
        echo "memcheck: $* answered $got, not $want" >&2
        failed=1
    fi
}

failed=0
base=http://127.0.0.1:$port
i=0
while [ $i -lt 20 ]; do
    check 200 "$base/m/x"
    check 200 -H "Authorization: Bearer $good" "$base/o/1"
    check 403 -H "Authorization: Bearer $good" "$base/o/2"
    check 401 -H "Authorization: Bearer ${good}x" "$base/o/1"
    check 403 -H "Authorization: Bearer $evil" "$base/o/1"
    check 401 "$base/t/x"
    check 200 -H "X-Api-Key: $apikey" "$base/a/x"
    check 401 -H "X-Api-Key: kak_nothing" "$base/a/x"
    check 403 -H "X-Real-IP: 192.0.2.7" "$base/m/x"
    check 200 $(signed /a/x "memcheck-nonce-$i-0000") "$base/a/x"
    check 401 $(signed /a/x "memcheck-nonce-$i-0000") "$base/a/x"
    [ $i = 10 ] && cli policy apply "$work/policy.json"
    i=$((i + 1))
done

kill -QUIT "$(cat "$work/nginx.pid")"
wait $vg || true

errors=$(awk '/ERROR SUMMARY/ { n = $4 } END { print n + 0 }' \
         "$work/valgrind.log")

# errors other than leaks, and leak records that mention our code
bad=$(awk '
    /^==[0-9]+== [A-Z0-9]/ {
        block = $0; ours = 0; leak = ($0 ~ /lost in loss/); next
    }
    /keryu|mdb_/ { ours = 1 }
    /^==[0-9]+== $/ {
        if (block != "") {
            if (leak) {
                if (ours) print block
            } else if (block ~ /Invalid|uninitialised|overlap/) {
                print block
            }
        }
        block = ""
    }' "$work/valgrind.log")

entries=$(mdb_stat -s ring "$work/store" | awk '/Entries/ { print $2 }')

if [ -n "$bad" ]; then
    echo "memcheck: valgrind found problems in the module:" >&2
    cat "$work/valgrind.log" >&2
    exit 1
fi

if [ "$failed" != 0 ]; then
    exit 1
fi

if [ "$entries" != 100 ]; then
    echo "memcheck: expected a full ring of 100 records, found $entries" >&2
    exit 1
fi

# every record sealed, and each opens with the key
opened=$("$work/sealkey" open "$work/store" "$work/seal.key" \
         | awk -F '\t' '$2 % 4 >= 2 && $3 != "unopened"' | wc -l)

if [ "$opened" != 100 ] || grep -q 'memcheck [0-9]' "$work/store/data.mdb"
then
    echo "memcheck: records not sealed ($opened of 100 open)" >&2
    exit 1
fi

echo "memcheck: ok (ring of $entries sealed records; valgrind counted $errors" \
     "errors, all in nginx's own exit-time allocations)"
