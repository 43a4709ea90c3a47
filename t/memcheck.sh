#!/bin/sh
#
# Copyright (C) Keryu Security
#
# Runs nginx with the keryu module under valgrind in single-process mode,
# sends requests that fill and trim a small ring, stops nginx, and fails if
# valgrind saw a memory error, or a leak whose stack passes through the
# module, the shared code or LMDB.  nginx itself leaves a few blocks to the
# exit of a single process; those are not ours and are not counted.

set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
nginx=${KERYU_NGINX:-/usr/sbin/nginx}
module=${MODULE:-$top/build/ngx_http_keryu_module.so}
port=${MEMCHECK_PORT:-18190}
work=$(mktemp -d /tmp/keryu-memcheck.XXXXXX)
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/logs"
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
    server {
        listen 127.0.0.1:$port;
        keryu_log on;
        location / { return 200 "ok\n"; }
        location /nolog { keryu_log off; return 204; }
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

if [ "$entries" != 100 ]; then
    echo "memcheck: expected a full ring of 100 records, found $entries" >&2
    exit 1
fi

echo "memcheck: ok (ring of $entries records; valgrind counted $errors" \
     "errors, all in nginx's own exit-time allocations)"
