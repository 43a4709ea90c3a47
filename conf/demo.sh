#!/bin/sh
#
# Copyright (C) Keryu Security
#
# Starts and stops the demo: the demo app on 127.0.0.1:8090, nginx with the
# keryu module on 127.0.0.1:8080 in front of it, and keryud on
# 127.0.0.1:8081.  Everything it writes stays under run/.
#
#   sh conf/demo.sh start | stop
#
# KERYU_NGINX, KERYUD and MODULE name other binaries than the installed
# nginx and those of build/.  DEMO_RUN, DEMO_PORT, DEMO_API_PORT and
# DEMO_APP_PORT move the directory and the three ports, so that a drill
# or a scan can run its own demo next to "make run".

set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
run=${DEMO_RUN:-$top/run}
port=${DEMO_PORT:-8080}
api_port=${DEMO_API_PORT:-8081}
app_port=${DEMO_APP_PORT:-8090}
nginx=${KERYU_NGINX:-/usr/sbin/nginx}
keryud=${KERYUD:-$top/build/keryud}
module=${MODULE:-$top/build/ngx_http_keryu_module.so}

# waits up to 5 seconds for a URL to answer; $2 is an optional header
wait_for() {
    i=0
    while [ $i -lt 50 ]; do
        if curl -fs -o /dev/null ${2:+-H "$2"} "$1"; then
            return 0
        fi
        i=$((i + 1))
        sleep 0.1
    done
    echo "demo: $1 did not answer within 5 seconds" >&2
    return 1
}

stop_pid() {
    [ -f "$1" ] || return 0
    pid=$(cat "$1")
    if kill "$pid" 2>/dev/null; then
        i=0
        while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do
            i=$((i + 1))
            sleep 0.1
        done
    fi
    rm -f "$1"
}

stop() {
    stop_pid "$run/nginx.pid"
    stop_pid "$run/keryud.pid"
    stop_pid "$run/app.pid"
}

start() {
    for p in "$port" "$api_port" "$app_port"; do
        if curl -s -o /dev/null "http://127.0.0.1:$p/" 2>/dev/null; then
            echo "demo: 127.0.0.1:$p is in use; \"make stop\" first?" >&2
            exit 1
        fi
    done

    umask 077
    mkdir -p "$run/logs" "$run/tmp"
    chmod 0755 "$run" "$run/tmp"

    if [ "$(id -u)" = 0 ]; then
        user="user nobody nogroup;"
    else
        user=""
    fi

    ports="s|127\.0\.0\.1:8080|127.0.0.1:$port|g"
    ports="$ports;s|127\.0\.0\.1:8081|127.0.0.1:$api_port|g"
    ports="$ports;s|127\.0\.0\.1:8090|127.0.0.1:$app_port|g"

    sed -e "s|@RUN@|$run|g" -e "s|@MODULE@|$module|g" -e "s|@USER@|$user|" \
        -e "$ports" "$top/conf/nginx-demo.conf" > "$run/nginx.conf"
    sed -e "s|@RUN@|$run|g" -e "$ports" "$top/conf/keryud-demo.conf" \
        > "$run/keryud.conf"
    "$keryud" -c "$run/keryud.conf" -n > /dev/null

    [ -f "$run/app-secret" ] \
        || head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' \
           > "$run/app-secret"

    # wraps keryud's keys; keryud wants it 0600, and it must not change
    # once keryud has made keys under it
    [ -f "$run/master-key" ] \
        || head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' \
           > "$run/master-key"

    # signs keryud's alert webhook to the app; keryud wants it 0600
    [ -f "$run/webhook-secret" ] \
        || head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' \
           > "$run/webhook-secret"

    # the policies and the key that verifies the app's tokens, in the store
    # before nginx starts
    "$keryud" -c "$run/keryud.conf" policy apply \
        "$top/conf/policies/demo.json" > /dev/null
    "$keryud" -c "$run/keryud.conf" key delete demo > /dev/null 2>&1 || true
    "$keryud" -c "$run/keryud.conf" key add --kid demo --alg HS256 \
        --secret-file "$run/app-secret" > /dev/null

    # a block of this host, left by an earlier run's alert flow, would
    # refuse the health check below and every "Try:" request
    "$keryud" -c "$run/keryud.conf" block delete --ip 127.0.0.1 \
        > /dev/null 2>&1 || true

    python3 "$top/demo/app.py" --listen "127.0.0.1:$app_port" \
        --secret-file "$run/app-secret" --pid-file "$run/app.pid" \
        --webhook-secret-file "$run/webhook-secret" \
        > /dev/null 2>> "$run/logs/app.log" &

    "$nginx" -t -q -p "$run" -c "$run/nginx.conf"
    "$nginx" -p "$run" -c "$run/nginx.conf"

    # the workers make the store as their own user; keryud opens it after
    wait_for "http://127.0.0.1:$port/health"

    if [ ! -s "$run/admin-token" ]; then
        "$keryud" -c "$run/keryud.conf" token create --role admin \
            --name demo-admin > "$run/admin-token.new"
        mv "$run/admin-token.new" "$run/admin-token"
    fi

    "$keryud" -c "$run/keryud.conf" -d >> "$run/logs/keryud.log" 2>&1 &

    wait_for "http://127.0.0.1:$api_port/api/security/status/" \
        "Authorization: Bearer $(cat "$run/admin-token")"

    cat <<EOF

Keryu demo is running.

  app through nginx   http://127.0.0.1:$port/   (users: alice/alice-pass,
                      bob/bob-pass, carol/carol-pass)
  keryud API          http://127.0.0.1:$api_port/api/security/
  dashboard           http://127.0.0.1:$api_port/dashboard/ (sign in with the
                      admin token)
  admin token         $run/admin-token (mode 0600)
  configuration       $run/nginx.conf, $run/keryud.conf
  logs                $run/logs/

Try:
  curl -d username=alice -d password=alice-pass http://127.0.0.1:$port/login
  TOKEN=...the "token" it answered...
  curl -H "Authorization: Bearer \$TOKEN" http://127.0.0.1:$port/api/orders/1
  curl -H "Authorization: Bearer \$TOKEN" http://127.0.0.1:$port/api/orders/2
  curl -H "Authorization: Bearer \$(cat $run/admin-token)" \\
      'http://127.0.0.1:$api_port/api/security/events/?limit=5'

Ten bad logins from one address within a minute open a brute-force alert
and block the address for 15 minutes: a moment later nginx refuses it
(403). keryud posts the alert, signed, to the app's webhook receiver,
which only the app's own port serves:
  for i in \$(seq 11); do curl -s -o /dev/null -w '%{http_code} ' \\
      -d username=bob -d password=wrong http://127.0.0.1:$port/login; done
  curl -H "Authorization: Bearer \$(cat $run/admin-token)" \\
      'http://127.0.0.1:$api_port/api/security/alerts/?key=127.0.0.1'
  curl http://127.0.0.1:$app_port/hooks/keryu
  curl -X DELETE -H "Authorization: Bearer \$(cat $run/admin-token)" \\
      'http://127.0.0.1:$api_port/api/security/decisions/?ip=127.0.0.1'

Stop it with "make stop".
EOF
}

case "${1:-}" in
start)
    stop
    start
    ;;
stop)
    stop
    ;;
*)
    echo "usage: $0 start | stop" >&2
    exit 1
    ;;
esac
