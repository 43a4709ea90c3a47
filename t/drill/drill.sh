#!/usr/bin/env bash
#
# Copyright (C) Keryu Security
#
# An incident drill: the demo (nginx with the keryu module, the demo app and
# keryud, started by conf/demo.sh on free ports in a scratch directory,
# with keryud's default threshold policies) takes four attacks, each from
# an address of its own on the loopback network:
#
#   127.0.0.2  brute force: one account, many passwords
#   127.0.0.3  credential stuffing: one password each for many accounts
#   127.0.0.4  path scan: well-known paths of other people's software
#   127.0.0.5  enumeration: a signed-in user walking the order ids
#
# Then it prints the alerts keryud opened, the blocks it wrote and a
# metrics report, checks that each attack was caught by the default policy
# meant for it (and the blocking ones blocked its address), and says so in
# one line per attack:
#
#   drill: NAME caught by POLICY/RULE, alert ID, blocked ADDR|not blocked
#
# Exits 1 when an attack went unnoticed.  DRILL_KEEP=1 leaves the demo
# running.

set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
export KERYU_NGINX=${KERYU_NGINX:-/usr/sbin/nginx}
export KERYUD=${KERYUD:-$top/build/keryud}
export MODULE=${MODULE:-$top/build/ngx_http_keryu_module.so}

run=$(mktemp -d /tmp/keryu-drill.XXXXXX)
export DEMO_RUN=$run

read -r DEMO_PORT DEMO_API_PORT DEMO_APP_PORT <<< "$(python3 -c '
import socket
s = [socket.socket() for _ in range(3)]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))')"
export DEMO_PORT DEMO_API_PORT DEMO_APP_PORT

cleanup() {
    if [ -n "${DRILL_KEEP:-}" ]; then
        echo "drill: left running in $run (nginx on $DEMO_PORT, keryud on" \
             "$DEMO_API_PORT)"
        return
    fi

    sh "$top/conf/demo.sh" stop
    rm -rf "$run"
}
trap cleanup EXIT

sh "$top/conf/demo.sh" start > "$run/demo.out"

site=http://127.0.0.1:$DEMO_PORT
api=http://127.0.0.1:$DEMO_API_PORT/api/security
admin=$(cat "$run/admin-token")

# $1 source address, then curl's arguments: prints the status
hit() {
    local from=$1

    shift
    curl -s -o /dev/null -w '%{http_code}\n' --interface "$from" "$@"
}

# $1 method, $2 path, then curl's arguments: the API's answer
api() {
    local m=$1 p=$2

    shift 2
    curl -s -X "$m" -H "Authorization: Bearer $admin" "$@" "$api$p"
}

# the statuses an attack got, counted: "401 x12, 403 x3"
tally() {
    sort | uniq -c | awk '{ printf "%s%s x%d", (NR > 1 ? ", " : ""), $2, $1 }
    END { print "" }'
}

echo "drill: demo on 127.0.0.1:$DEMO_PORT, keryud on" \
     "127.0.0.1:$DEMO_API_PORT, in $run"
echo

echo "== brute force from 127.0.0.2: 25 passwords for bob"
for i in $(seq 25); do
    hit 127.0.0.2 -d username=bob -d "password=guess$i" "$site/login"
done | tally
echo

echo "== credential stuffing from 127.0.0.3: 40 accounts, one password each"
for i in $(seq 40); do
    hit 127.0.0.3 -d "username=user$i@example.com" -d "password=Summer2026!" \
        "$site/login"
done | tally
echo

echo "== path scan from 127.0.0.4: 60 paths"
for p in .env .git/config .git/HEAD .svn/entries .htaccess .htpasswd \
         .DS_Store wp-login.php wp-admin/ xmlrpc.php phpmyadmin/ pma/ \
         admin.php administrator/ server-status server-info backup.zip \
         backup.tar.gz db.sql dump.sql config.php config.json \
         config.yml web.config .aws/credentials .ssh/id_rsa id_rsa \
         actuator/env actuator/health api/swagger.json swagger-ui.html \
         v2/api-docs graphql console manager/html cgi-bin/test.cgi \
         shell.php cmd.php info.php phpinfo.php test.php old/ backup/ \
         tmp/ logs/ debug/ install.php setup.php vendor/phpunit/ \
         composer.json package.json .npmrc Dockerfile \
         docker-compose.yml .travis.yml jenkins/ solr/ owa/ \
         remote/login telescope
do
    hit 127.0.0.4 "$site/$p"
done | tally
echo

echo "== enumeration from 127.0.0.5: alice reads orders 1 to 150"
token=$(curl -s --interface 127.0.0.5 -d username=alice \
        -d password=alice-pass "$site/login" \
        | sed 's/.*"token": *"\([^"]*\)".*/\1/')
for i in $(seq 150); do
    hit 127.0.0.5 -H "Authorization: Bearer $token" "$site/api/orders/$i"
done | tally
echo

# each attack, the key its alert is raised for, the rule meant to catch it
# and whether that rule blocks
expect="brute-force 127.0.0.2 brute-force/auth-failures block
credential-stuffing 127.0.0.3 credential-stuffing/many-users block
path-scan 127.0.0.4 scanning/refused-paths block
enumeration alice enumeration/denied-by-user block"

# keryud reads the ring every 50 ms; give detection a few seconds
deadline=$((SECONDS + 10))
while :; do
    api GET '/alerts/?limit=1000' > "$run/alerts.json"
    missing=$(python3 - "$run/alerts.json" "$expect" <<'END'
import json, sys
seen = {(a["rule"], a["key"]) for a in json.load(open(sys.argv[1]))["items"]}
print(" ".join(l.split()[2] for l in sys.argv[2].splitlines()
               if (l.split()[2], l.split()[1]) not in seen))
END
)
    [ -z "$missing" ] || [ $SECONDS -ge $deadline ] && break
    sleep 0.2
done

echo "== alerts"
python3 - "$run/alerts.json" <<'END'
import json, sys
for a in sorted(json.load(open(sys.argv[1]))["items"], key=lambda a: a["id"]):
    b = a["block"]
    print("  #%-3d %-32s %-8s %-18s count %-4d %s" % (
        a["id"], a["rule"], a["severity"], a["key"], a["count"],
        "blocked %s for %ds" % (b["target"], b["duration_s"]) if b
        else "not blocked"))
END
echo

echo "== blocks"
api GET /decisions/ | python3 -c '
import json, sys
for d in json.load(sys.stdin)["items"]:
    print("  %-4s %-20s until %s  %s" % (d["type"], d["value"],
          d["expires"], d["reason"]))'
echo

echo "== metrics report"
# the last day; the period is given because some builds of keryud take
# "since" and "until" as required
since=$(date -u -d '-1 day' +%Y-%m-%dT%H:%M:%SZ)
until=$(date -u +%Y-%m-%dT%H:%M:%SZ)
created=$(api POST /reports/ -H 'Content-Type: application/json' \
          -d "{\"report_type\":\"metrics\",\"format\":\"json\",
               \"since\":\"$since\",\"until\":\"$until\"}")
id=$(echo "$created" | python3 -c 'import json, sys
print(json.load(sys.stdin)["id"])' 2>/dev/null) \
    || { echo "drill: the report was not made: $created" >&2; exit 1; }
echo "  report $id: $created"
api GET "/reports/$id/download" | python3 -m json.tool | sed 's/^/  /'
echo

failed=0
while read -r name key rule act; do
    line=$(python3 - "$run/alerts.json" "$rule" "$key" <<'END'
import json, sys
_, f, rule, key = sys.argv
for a in json.load(open(f))["items"]:
    if a["rule"] == rule and a["key"] == key:
        b = a["block"]
        print(a["id"], b["target"] if b else "-")
        break
END
)
    if [ -z "$line" ]; then
        echo "drill: $name NOT CAUGHT by $rule for $key"
        failed=1
        continue
    fi

    set -- $line
    if [ "$act" = block ] && [ "$2" = - ]; then
        echo "drill: $name caught by $rule, alert $1, NOT BLOCKED"
        failed=1
    elif [ "$2" = - ]; then
        echo "drill: $name caught by $rule, alert $1, not blocked"
    else
        echo "drill: $name caught by $rule, alert $1, blocked $2"
    fi
done <<< "$expect"

exit $failed
