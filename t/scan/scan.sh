#!/usr/bin/env bash
#
# Copyright (C) Keryu Security
#
# Security scans of our own code and of what it serves:
#
#   cppcheck     shared/, sidecar/ and ngx_module/ (the module against
#                the nginx headers of build/nginx)
#   clang-tidy   the same files, bugprone-* and clang-analyzer-security.*
#   wapiti       the demo app behind nginx twice, keryu's protections on
#                (the demo's own configuration, started by conf/demo.sh on
#                free ports, keryud and its default policies running) and
#                off (a plain proxy to the same app); the findings of each,
#                and the difference
#   testssl.sh   keryud's API over TLS with a throwaway certificate
#
# Each prints its findings and a summary line "scan: TOOL ...".  Reports
# are kept in SCAN_OUT (default build/scan).  SCAN_TIME bounds each wapiti
# run, in seconds (default 300).  SCANS picks tools (default "cppcheck
# clang-tidy wapiti testssl").  Exits 1 when cppcheck reports an error or
# clang-tidy a warning that is not in t/scan/accepted.txt, when the
# protected demo shows a finding that the unprotected one does not, or
# when testssl finds anything rated HIGH or CRITICAL.

set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"

export KERYU_NGINX=${KERYU_NGINX:-/usr/sbin/nginx}
export KERYUD=${KERYUD:-$top/build/keryud}
export MODULE=${MODULE:-$top/build/ngx_http_keryu_module.so}
out=${SCAN_OUT:-$top/build/scan}
scan_time=${SCAN_TIME:-300}
scans=${SCANS:-cppcheck clang-tidy wapiti testssl}
failed=0
work=$(mktemp -d /tmp/keryu-scan.XXXXXX)
chmod 755 "$work"

mkdir -p "$out"

cleanup() {
    [ -f "$work/off/nginx.pid" ] && kill "$(cat "$work/off/nginx.pid")" \
        2>/dev/null || true
    [ -f "$work/tls/keryud.pid" ] && kill "$(cat "$work/tls/keryud.pid")" \
        2>/dev/null || true
    if [ -f "$work/demo/nginx.pid" ]; then
        DEMO_RUN=$work/demo sh conf/demo.sh stop
    fi
    rm -rf "$work"
}
trap cleanup EXIT

wanted() {
    case " $scans " in *" $1 "*) return 0 ;; esac
    return 1
}

free_ports() {
    python3 -c '
import socket, sys
s = [socket.socket() for _ in range(int(sys.argv[1]))]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))' "$1"
}

ngx=build/nginx
ngx_inc="-I$ngx/src/core -I$ngx/src/event -I$ngx/src/event/modules
         -I$ngx/src/os/unix -I$ngx/src/http -I$ngx/src/http/modules
         -I$ngx/src/http/v2 -I$ngx/objs"
c_files=$(ls shared/*.c sidecar/*.c)
m_files=$(ls ngx_module/*.c)


if wanted cppcheck; then
    echo "== cppcheck"

    # style and performance notes are left out: this looks for defects
    # shellcheck disable=SC2086
    cppcheck -q --std=c99 --enable=warning,portability \
        --inline-suppr --error-exitcode=0 -D_GNU_SOURCE \
        --suppress=missingIncludeSystem \
        --template='{file}:{line}: {severity}: {message} [{id}]' \
        -Ishared -Isidecar $c_files 2> "$out/cppcheck.txt"
    # shellcheck disable=SC2086
    cppcheck -q --std=c99 --enable=warning,portability \
        --inline-suppr --error-exitcode=0 -DNGX_HAVE_VARIADIC_MACROS=1 \
        --suppress=missingIncludeSystem --suppress=unknownMacro \
        --template='{file}:{line}: {severity}: {message} [{id}]' \
        -Ishared $ngx_inc $m_files 2>> "$out/cppcheck.txt"

    sed 's/^/  /' "$out/cppcheck.txt"
    errors=$(grep -c ': error: ' "$out/cppcheck.txt" || true)
    echo "scan: cppcheck $(wc -l < "$out/cppcheck.txt") findings," \
         "$errors errors"
    [ "$errors" = 0 ] || failed=1
    echo
fi


if wanted clang-tidy; then
    echo "== clang-tidy"

    checks='-*,bugprone-*,clang-analyzer-security.*'
    checks+=',-bugprone-easily-swappable-parameters'
    checks+=',-bugprone-reserved-identifier'

    : > "$out/clang-tidy.txt"
    for f in $c_files; do
        clang-tidy -quiet --checks="$checks" "$f" -- -std=c99 \
            -D_GNU_SOURCE -Ishared -Isidecar 2>/dev/null \
            | grep -E '^[^ ].*: (warning|error): ' >> "$out/clang-tidy.txt" \
            || true
    done
    for f in $m_files; do
        # shellcheck disable=SC2086
        clang-tidy -quiet --checks="$checks" "$f" -- -std=c99 \
            -Ishared $ngx_inc 2>/dev/null \
            | grep -E '^[^ ].*: (warning|error): ' >> "$out/clang-tidy.txt" \
            || true
    done

    sort -u -o "$out/clang-tidy.txt" "$out/clang-tidy.txt"
    sed "s|^$top/||; s/^/  /" "$out/clang-tidy.txt"

    # findings read and judged harmless, one "file: check" a line, say why
    # in the README's "Security scanning"
    new=$(sed "s|^$top/||" "$out/clang-tidy.txt" \
          | awk -F: 'NR == FNR { if ($0 !~ /^#/ && NF) ok[$0] = 1; next }
                     { split($0, c, "["); k = $1 ":" c[2]; sub(/\]$/, "", k)
                       if (!(k in ok)) print }' \
                t/scan/accepted.txt - || true)
    echo "scan: clang-tidy $(wc -l < "$out/clang-tidy.txt") findings," \
         "$(printf '%s' "$new" | grep -c . || true) not accepted"
    if [ -n "$new" ]; then
        echo "$new" | sed 's/^/  not accepted: /'
        failed=1
    fi
    echo
fi


# wapiti's findings in a JSON report, one "category: N" a line
wapiti_count() {
    python3 - "$1" <<'END'
import json, sys
r = json.load(open(sys.argv[1]))
for part in ("vulnerabilities", "anomalies"):
    for name, items in sorted(r.get(part, {}).items()):
        if items:
            print("%s: %d" % (name, len(items)))
END
}

if wanted wapiti; then
    echo "== wapiti, ${scan_time}s a run"

    read -r port api_port app_port off_port <<< "$(free_ports 4)"
    mkdir -p "$work/demo" "$work/off/logs"

    DEMO_RUN=$work/demo DEMO_PORT=$port DEMO_API_PORT=$api_port \
        DEMO_APP_PORT=$app_port sh conf/demo.sh start > "$work/demo.out"

    # the same app behind nginx without keryu
    cat > "$work/off/nginx.conf" <<EOF
worker_processes 1;
error_log $work/off/logs/error.log;
pid $work/off/nginx.pid;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path $work/off/body;
    proxy_temp_path $work/off/proxy;
    server {
        listen 127.0.0.1:$off_port;
        location / { proxy_pass http://127.0.0.1:$app_port; }
    }
}
EOF
    "$KERYU_NGINX" -p "$work/off" -c "$work/off/nginx.conf"

    # a signed-in scanner: alice's token on every request
    token=$(curl -s -d username=alice -d password=alice-pass \
            "http://127.0.0.1:$port/login" \
            | sed 's/.*"token": *"\([^"]*\)".*/\1/')

    for side in off on; do
        p=$([ $side = on ] && echo "$port" || echo "$off_port")
        wapiti -u "http://127.0.0.1:$p/" --scope folder -f json \
            -o "$out/wapiti-$side.json" --flush-session \
            --store-session "$work/wapiti-$side" \
            --store-config "$work/wapiti-config" \
            -H "Authorization: Bearer $token" \
            -s "http://127.0.0.1:$p/api/orders/1" \
            -s "http://127.0.0.1:$p/api/me" \
            -s "http://127.0.0.1:$p/login" \
            -m "all,-nikto,-buster,-brute_login_form,-wapp" \
            --max-scan-time "$scan_time" --max-attack-time 60 \
            --no-bugreport -v 0 > "$work/wapiti-$side.log" 2>&1 \
            || { tail -n 20 "$work/wapiti-$side.log"; failed=1; }
        [ -f "$out/wapiti-$side.json" ] \
            && wapiti_count "$out/wapiti-$side.json" > "$out/wapiti-$side.txt"
    done

    echo "  findings with keryu off:"
    sed 's/^/    /' "$out/wapiti-off.txt"
    echo "  findings with keryu on:"
    sed 's/^/    /' "$out/wapiti-on.txt"

    blocked=$(grep -c 'keryu denied access: block' \
              "$work/demo/logs/error.log" || true)
    echo "  keryu refused $blocked of the scanner's requests as blocked;" \
         "keryud's alerts:"
    curl -s -H "Authorization: Bearer $(cat "$work/demo/admin-token")" \
        "http://127.0.0.1:$api_port/api/security/alerts/" \
        | python3 -c 'import json, sys
for a in json.load(sys.stdin)["items"]:
    print("    %s %s count %d%s" % (a["rule"], a["key"], a["count"],
          ", blocked" if a["block"] else ""))'

    # what only the protected side shows is ours to fix
    extra=$(python3 - "$out/wapiti-off.txt" "$out/wapiti-on.txt" <<'END'
import sys
def load(f):
    return dict(l.rsplit(": ", 1) for l in open(f).read().splitlines())
off, on = load(sys.argv[1]), load(sys.argv[2])
for k in sorted(on):
    d = int(on[k]) - int(off.get(k, 0))
    if d > 0:
        print("%s: +%d" % (k, d))
END
)
    echo "scan: wapiti off $(awk -F': ' '{ n += $2 } END { print n + 0 }' \
         "$out/wapiti-off.txt") findings, on $(awk -F': ' \
         '{ n += $2 } END { print n + 0 }' "$out/wapiti-on.txt") findings"
    if [ -n "$extra" ]; then
        echo "$extra" | sed 's/^/  only with keryu on: /'
        failed=1
    fi
    echo
fi


if wanted testssl; then
    echo "== testssl.sh against keryud's API over TLS"

    read -r tls_port <<< "$(free_ports 1)"
    d=$work/tls
    mkdir -p "$d"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$d/key.pem" -out "$d/cert.pem" -days 2 \
        -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
        > "$d/openssl.log" 2>&1
    chmod 600 "$d/key.pem"
    cat > "$d/keryud.conf" <<EOF
store $d/store;
data $d/data;
listen 127.0.0.1:$tls_port;
pid_file $d/keryud.pid;
data_size 16m;
tls_certificate $d/cert.pem;
tls_key $d/key.pem;
EOF
    "$KERYUD" -c "$d/keryud.conf" -d > "$d/keryud.log" 2>&1 &

    for t in $(seq 50); do
        curl -ks -o /dev/null "https://127.0.0.1:$tls_port/api/" && break
        sleep 0.1
    done

    rm -f "$out/testssl.json"
    testssl --quiet --color 0 --warnings off --openssl-timeout 5 \
        --jsonfile "$out/testssl.json" "127.0.0.1:$tls_port" \
        > "$out/testssl.txt" 2>&1 || true

    python3 - "$out/testssl.json" <<'END' | tee "$out/testssl-findings.txt"
import json, sys
for f in json.load(open(sys.argv[1])):
    if f["severity"] in ("LOW", "MEDIUM", "HIGH", "CRITICAL", "WARN"):
        print("  %-8s %-28s %s" % (f["severity"], f["id"], f["finding"]))
END
    high=$(grep -cE '^  (HIGH|CRITICAL) ' "$out/testssl-findings.txt" || true)
    echo "scan: testssl $(grep -c . "$out/testssl-findings.txt" || true)" \
         "findings at LOW or above, $high HIGH or CRITICAL"
    [ "$high" = 0 ] || failed=1
    echo
fi

exit $failed
