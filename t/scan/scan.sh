#!/usr/bin/env bash
#
# Copyright (C) Keryu Security
#
# Security scans of our own code and of what it serves:
#
#   cppcheck     shared/, sidecar/ and ngx_module/ (the module against
#                the nginx headers of build/nginx)
#   clang-tidy   the same files, bugprone-* and clang-analyzer-security.*
#   wapiti       the demo app behind a plain nginx, behind the demo's
#                nginx with keryud's threshold policies deleted (what the
#                module does inline), and the demo as it ships (keryud
#                blocks the scanner); each demo started by conf/demo.sh on
#                free ports; the findings of each, and the difference
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
    for d in demo demo2; do
        [ -f "$work/$d/nginx.pid" ] && DEMO_RUN=$work/$d sh conf/demo.sh stop
    done
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


# $1 name, $2 port: wapiti, signed in as alice, against 127.0.0.1:$2; its
# findings one a line, "category: METHOD path: what"
wapiti_run() {
    wapiti -u "http://127.0.0.1:$2/" --scope folder -f json \
        -o "$out/wapiti-$1.json" --flush-session \
        --store-session "$work/wapiti-$1" \
        --store-config "$work/wapiti-config" \
        -H "Authorization: Bearer $token" \
        -s "http://127.0.0.1:$2/api/orders/1" \
        -s "http://127.0.0.1:$2/api/me" \
        -s "http://127.0.0.1:$2/login" \
        -m "all,-nikto,-buster,-brute_login_form,-wapp,-ssrf,-xxe" \
        --max-scan-time "$scan_time" --max-attack-time 60 \
        --no-bugreport -v 0 > "$work/wapiti-$1.log" 2>&1 \
        || { tail -n 20 "$work/wapiti-$1.log"; failed=1; }

    python3 - "$out/wapiti-$1.json" > "$out/wapiti-$1.txt" <<'END'
import json, re, sys
r = json.load(open(sys.argv[1]))
for part in ("vulnerabilities", "anomalies"):
    for name, items in sorted(r.get(part, {}).items()):
        for i in items:
            info = re.sub(r"http://127\.0\.0\.1:[0-9]+", "", i["info"])
            print("%s: %s %s: %s" % (name, i["method"], i["path"], info))
END

    echo "  $1: $(grep -c . "$out/wapiti-$1.txt" || true) findings"
    sed 's/^/    /' "$out/wapiti-$1.txt"
}

# $1 demo directory, $2 its keryud port: how many requests nginx refused
# as blocked, and keryud's alerts
demo_alerts() {
    echo "  keryu refused $(grep -c 'keryu denied access: block' \
         "$1/logs/error.log" || true) requests as blocked; keryud's alerts:"
    curl -s -H "Authorization: Bearer $(cat "$1/admin-token")" \
        "http://127.0.0.1:$2/api/security/alerts/" \
        | python3 -c 'import json, sys
for a in json.load(sys.stdin)["items"]:
    print("    %s %s count %d%s" % (a["rule"], a["key"], a["count"],
          ", blocked" if a["block"] else ""))'
}

# wapiti against the same app three times: behind a plain nginx ("off");
# behind the demo's nginx with keryud's threshold policies deleted, so
# that what differs is what the module does inline ("inline"); and the
# demo as it ships, where keryud blocks the scanner once it shows itself
# ("deployed")

if wanted wapiti; then
    echo "== wapiti, ${scan_time}s a run at most"

    read -r port api_port app_port port2 api_port2 app_port2 off_port \
        <<< "$(free_ports 7)"
    mkdir -p "$work/demo" "$work/demo2" "$work/off/logs"

    # one app secret for both demos, so that one token signs in to both
    (umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' \
        > "$work/demo/app-secret")
    cp -p "$work/demo/app-secret" "$work/demo2/app-secret"

    DEMO_RUN=$work/demo DEMO_PORT=$port DEMO_API_PORT=$api_port \
        DEMO_APP_PORT=$app_port sh conf/demo.sh start > "$work/demo.out"
    DEMO_RUN=$work/demo2 DEMO_PORT=$port2 DEMO_API_PORT=$api_port2 \
        DEMO_APP_PORT=$app_port2 sh conf/demo.sh start > "$work/demo2.out"

    for p in brute-force credential-stuffing scanning enumeration; do
        curl -s -o /dev/null -X DELETE \
            -H "Authorization: Bearer $(cat "$work/demo2/admin-token")" \
            "http://127.0.0.1:$api_port2/api/security/policies/$p/"
    done

    {
        echo "worker_processes 1;"
        echo "error_log $work/off/logs/error.log;"
        echo "pid $work/off/nginx.pid;"
        echo "events { worker_connections 256; }"
        echo "http {"
        echo "    access_log off;"
        echo "    client_body_temp_path $work/off/body;"
        echo "    proxy_temp_path $work/off/proxy;"
        echo "    server {"
        echo "        listen 127.0.0.1:$off_port;"
        echo "        location / { proxy_pass http://127.0.0.1:$app_port; }"
        echo "    }"
        echo "}"
    } > "$work/off/nginx.conf"
    "$KERYU_NGINX" -p "$work/off" -c "$work/off/nginx.conf"

    token=$(curl -s -d username=alice -d password=alice-pass \
            "http://127.0.0.1:$port/login" \
            | sed 's/.*"token": *"\([^"]*\)".*/\1/')

    wapiti_run off "$off_port"
    wapiti_run inline "$port2"
    demo_alerts "$work/demo2" "$api_port2"
    wapiti_run deployed "$port"
    demo_alerts "$work/demo" "$api_port"

    # what only the protected side shows is ours to fix
    extra=$(sort "$out/wapiti-off.txt" \
            | comm -13 - <(sort "$out/wapiti-inline.txt"))
    gone=$(sort "$out/wapiti-inline.txt" \
           | comm -13 - <(sort "$out/wapiti-off.txt"))
    echo "  gone with keryu inline:"
    echo "${gone:-none}" | sed 's/^/    /'
    echo "scan: wapiti off $(grep -c . "$out/wapiti-off.txt" || true)" \
         "findings, inline $(grep -c . "$out/wapiti-inline.txt" || true)," \
         "deployed $(grep -c . "$out/wapiti-deployed.txt" || true)"
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

    # what testssl says of the throwaway certificate (self-signed, two
    # days, no CRL or OCSP, no CAA record) is about this test, not keryud
    python3 - "$out/testssl.json" <<'END' | tee "$out/testssl-findings.txt"
import json, sys
for f in json.load(open(sys.argv[1])):
    if f["severity"] in ("LOW", "MEDIUM", "HIGH", "CRITICAL", "WARN"):
        cert = f["id"].startswith("cert_") or f["id"] == "DNS_CAArecord"
        print("  %-8s %-28s %s%s" % (f["severity"], f["id"], f["finding"],
              " (the test certificate)" if cert else ""))
END
    high=$(grep -E '^  (HIGH|CRITICAL) ' "$out/testssl-findings.txt" \
           | grep -vc 'the test certificate' || true)
    echo "scan: testssl $(grep -c . "$out/testssl-findings.txt" || true)" \
         "findings at LOW or above, $high HIGH or CRITICAL beyond the" \
         "test certificate"
    [ "$high" = 0 ] || failed=1
    echo
fi

exit $failed
