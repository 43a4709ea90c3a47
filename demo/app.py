#!/usr/bin/env python3
"""Demo upstream web application for Keryu Security.

This is a demo only and is NOT part of the product. It is the "protected
application" that sits behind nginx (with the Keryu module loaded) in the
project's demo (``make run``) and in the end-to-end tests. It uses only the
Python 3 standard library, so it runs on a stock Debian 12 with ``python3``.

It offers:

* ``POST /login`` / ``POST /logout``: issue and clear an HS256 JWT (returned
  in the JSON body and in a ``session`` cookie);
* ``/api/...``: a small JSON API with per-user objects (orders);
* ``/admin/...``: an "admin" area for access-policy demos;
* ``/`` and ``/health``;
* with ``--webhook-secret-file``, ``/hooks/keryu``: a receiver for keryud's
  signed alert webhook (``POST``), and the last deliveries it verified
  (``GET``). The demo's nginx refuses ``/hooks/``: only keryud, on the
  app's own port, reaches it.

Usage::

    python3 demo/app.py --listen 127.0.0.1:8090 [--secret-file PATH]
                        [--webhook-secret-file PATH] [--pid-file PATH]

The first line written to stdout is ``listening on HOST:PORT`` (useful with
port 0, which binds an ephemeral port). One line per request is logged to
stderr. SIGTERM and SIGINT stop the server cleanly.
"""

import argparse
import base64
import collections
import hashlib
import hmac
import json
import os
import re
import secrets
import signal
import socket
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote

MAX_BODY = 64 * 1024            # request body cap (413 beyond)
TOKEN_LIFETIME = 3600           # seconds, exp = iat + TOKEN_LIFETIME
ISSUER = "keryu-demo"
PBKDF2_ITERATIONS = 200_000
IDLE_TIMEOUT = 60               # seconds before an idle keep-alive is closed
LINGER_LIMIT = 1024 * 1024      # unread body we drain before closing
LINGER_TIMEOUT = 1.0
MAX_USER_HEADER = 256           # longest X-Keryu-User value we echo back
HOOK_PATH = "/hooks/keryu"
HOOK_MAX_BODY = 1024 * 1024     # webhook body cap (413 beyond)
HOOK_MAX_AGE = 300              # seconds a signed timestamp stays valid
HOOK_KEEP = 100                 # verified deliveries kept in memory

# Demo accounts. The plain passwords only live in this start-up literal; the
# UserStore keeps salted PBKDF2 hashes.
SEED_USERS = (
    ("alice", "alice-pass", ("user",)),
    ("bob", "bob-pass", ("user",)),
    ("carol", "carol-pass", ("admin",)),
)

ORDERS = {
    1: {"id": 1, "owner": "alice", "item": "Mechanical keyboard",
        "total": 89.9},
    2: {"id": 2, "owner": "bob", "item": "USB-C docking station",
        "total": 149.0},
    3: {"id": 3, "owner": "carol", "item": "Hardware security key",
        "total": 55.5},
}

HOME_PAGE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Keryu demo shop</title></head>
<body>
<h1>Keryu demo shop</h1>
<p>Demo application protected by the Keryu Security nginx module.</p>
<form method="post" action="/login">
<label>User name <input name="username" autocomplete="username"></label>
<label>Password <input name="password" type="password"
 autocomplete="current-password"></label>
<button type="submit">Log in</button>
</form>
</body>
</html>
"""

ADMIN_PAGE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Admin console</title></head>
<body>
<h1>Admin console</h1>
<p>Restricted area. See <a href="/admin/users">users</a>.</p>
</body>
</html>
"""

JSON_TYPE = "application/json"
HTML_TYPE = "text/html; charset=utf-8"
TEXT_TYPE = "text/plain; charset=utf-8"

# Characters echoed verbatim in X-Keryu-User: printable ASCII except "%".
# Anything else (CR, LF, other controls, non-ASCII) is percent-encoded so a
# submitted user name can never inject or break response headers.
_HEADER_SAFE = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) != "%")
_LOG_ESCAPES = {c: "\\x%02x" % c for c in (*range(0x20), 0x7F)}
_DIGITS = re.compile(r"[0-9]+")
_DELIVERY_ID = re.compile(r"[A-Za-z0-9-]{1,64}")


def _hash_password(password, salt):
    return hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt,
                               PBKDF2_ITERATIONS)


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _compact_json(obj):
    return json.dumps(obj, separators=(",", ":")).encode("utf-8")


def make_jwt(secret, claims):
    """Return an HS256-signed compact JWT for ``claims``."""
    header = {"alg": "HS256", "typ": "JWT"}
    signing_input = _b64url(_compact_json(header)) + "." + \
        _b64url(_compact_json(claims))
    signature = hmac.new(secret, signing_input.encode("ascii"),
                         hashlib.sha256).digest()
    return signing_input + "." + _b64url(signature)


def _log_escape(text):
    """Make untrusted text safe for a single log line."""
    text = text.encode("ascii", "backslashreplace").decode("ascii")
    return text.translate(_LOG_ESCAPES)


class UserStore:
    """Demo accounts with salted PBKDF2-SHA256 password hashes."""

    def __init__(self, seed):
        self._users = {}
        for name, password, roles in seed:
            salt = secrets.token_bytes(16)
            self._users[name] = (salt, _hash_password(password, salt),
                                 tuple(roles))
        # Unknown user names are checked against a dummy hash so that the
        # response time does not reveal which user names exist.
        self._dummy_salt = secrets.token_bytes(16)
        self._dummy_hash = _hash_password(secrets.token_hex(16),
                                          self._dummy_salt)

    def authenticate(self, username, password):
        """Return the user's roles, or None if the credentials are wrong."""
        record = self._users.get(username)
        if record is None:
            salt, expected = self._dummy_salt, self._dummy_hash
        else:
            salt, expected = record[0], record[1]
        ok = hmac.compare_digest(_hash_password(password, salt), expected)
        return list(record[2]) if ok and record is not None else None

    def listing(self):
        return [{"username": name, "roles": list(record[2])}
                for name, record in self._users.items()]


class WebhookInbox:
    """keryud's alert deliveries that verified, the newest HOOK_KEEP."""

    def __init__(self, secret, keep=HOOK_KEEP, max_age=HOOK_MAX_AGE):
        self._secret = secret
        self._keep = keep
        self._max_age = max_age
        self._lock = threading.Lock()
        self._deliveries = collections.OrderedDict()    # oldest first

    def verify(self, headers, body):
        """Check a delivery's timestamp and signature over the raw body.

        Raises BadRequest (401) when they are missing or wrong.
        """
        timestamp = headers.get("X-Keryu-Timestamp", "")
        signature = headers.get("X-Keryu-Signature", "")
        if not timestamp or not signature:
            raise BadRequest(401, "missing signature")
        if not _DIGITS.fullmatch(timestamp) or len(timestamp) > 12:
            raise BadRequest(401, "bad timestamp")
        # a captured delivery cannot be replayed once its timestamp is
        # this old; the same bound refuses a clock far ahead of ours
        if abs(time.time() - int(timestamp)) > self._max_age:
            raise BadRequest(401, "stale timestamp")
        mac = hmac.new(self._secret, timestamp.encode("ascii") + b"." + body,
                       hashlib.sha256)
        expected = b"sha256=" + mac.hexdigest().encode("ascii")
        # header values arrive decoded as latin-1, so this cannot fail
        if not hmac.compare_digest(expected, signature.encode("latin-1")):
            raise BadRequest(401, "bad signature")

    def add(self, delivery, event, alert):
        """Keep a verified delivery; return False if it is a repeat."""
        received_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        with self._lock:
            if delivery in self._deliveries:
                return False
            self._deliveries[delivery] = {
                "delivery": delivery,
                "event": event,
                "received_at": received_at,
                "alert": alert,
            }
            while len(self._deliveries) > self._keep:
                self._deliveries.popitem(last=False)
        return True

    def listing(self):
        """The deliveries kept, newest first."""
        with self._lock:
            return list(reversed(self._deliveries.values()))


def parse_delivery(body):
    """Return (event, alert) from a webhook body; raise BadRequest (400)."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise BadRequest(400, "malformed JSON body") from None
    if not isinstance(data, dict) or not isinstance(data.get("event"), str) \
            or not isinstance(data.get("alert"), dict):
        raise BadRequest(400, "body must be {\"event\":...,\"alert\":{...}}")
    return data["event"], data["alert"]


class DemoApp:
    """Application state shared by all request handler threads."""

    def __init__(self, secret, hooks=None):
        self.secret = secret
        self.users = UserStore(SEED_USERS)
        self.hooks = hooks      # a WebhookInbox, or None: no /hooks/keryu

    def issue_token(self, username, roles):
        # "orders" lists the objects the user owns, so that the proxy can
        # enforce object-level access without asking the app
        now = int(time.time())
        owned = [str(order["id"]) for order in ORDERS.values()
                 if order["owner"] == username]
        return make_jwt(self.secret, {
            "sub": username,
            "roles": roles,
            "orders": owned,
            "iat": now,
            "exp": now + TOKEN_LIFETIME,
            "iss": ISSUER,
        })


class BadRequest(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def parse_credentials(content_type, body):
    """Return (username, password) from a form or JSON login body.

    A missing field is returned as None. Raises BadRequest for bodies that
    cannot be parsed.
    """
    media_type = content_type.split(";", 1)[0].strip().lower()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest(400, "body is not valid UTF-8") from None
    if media_type == "application/json":
        try:
            data = json.loads(text) if text else {}
        except ValueError:
            raise BadRequest(400, "malformed JSON body") from None
        if not isinstance(data, dict):
            raise BadRequest(400, "JSON body must be an object")
        fields = (data.get("username"), data.get("password"))
    elif media_type in ("application/x-www-form-urlencoded", ""):
        try:
            form = parse_qs(text, keep_blank_values=True, max_num_fields=64)
        except ValueError:
            raise BadRequest(400, "malformed form body") from None
        fields = (form.get("username", [None])[0],
                  form.get("password", [None])[0])
    else:
        raise BadRequest(415, "unsupported media type")
    for value in fields:
        if value is None:
            continue
        if not isinstance(value, str):
            raise BadRequest(400, "username and password must be strings")
        try:
            value.encode("utf-8")   # rejects lone surrogates from JSON
        except UnicodeEncodeError:
            raise BadRequest(400, "invalid characters in credentials") \
                from None
    return fields


class DemoHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "keryu-demo/1.0"
    timeout = IDLE_TIMEOUT

    # (path regex, {method: handler method name}); HEAD is served for GET.
    ROUTES = [
        (re.compile(r"/"), {"GET": "_home"}),
        (re.compile(r"/health"), {"GET": "_health"}),
        (re.compile(r"/login"), {"POST": "_login"}),
        (re.compile(r"/logout"), {"POST": "_logout"}),
        (re.compile(r"/api/me"), {"GET": "_me"}),
        (re.compile(r"/api/orders/"), {"GET": "_list_orders"}),
        (re.compile(r"/api/orders/(?P<order_id>[^/]+)"),
         {"GET": "_get_order"}),
        (re.compile(r"/admin/"), {"GET": "_admin"}),
        (re.compile(r"/admin/users"), {"GET": "_admin_users"}),
    ]

    # only with --webhook-secret-file; else the path is not found
    HOOK_ROUTES = [
        (re.compile(re.escape(HOOK_PATH)),
         {"GET": "_hook_list", "POST": "_hook_receive"}),
    ]

    def version_string(self):
        return self.server_version   # no Python version in Server header

    @property
    def app(self):
        return self.server.app

    # -- dispatch ---------------------------------------------------------

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        body = self._read_body(self._body_limit(path))
        if body is None:
            return
        routes = self.ROUTES
        if self.app.hooks is not None:
            routes = routes + self.HOOK_ROUTES
        for pattern, methods in routes:
            match = pattern.fullmatch(path)
            if match:
                break
        else:
            self._send_json(404, {"error": "not found"})
            return
        method = "GET" if self.command == "HEAD" else self.command
        if method not in methods:
            allow = ["GET", "HEAD"] if "GET" in methods else []
            allow += [m for m in methods if m != "GET"]
            self._send_json(405, {"error": "method not allowed"},
                            [("Allow", ", ".join(allow))])
            return
        getattr(self, methods[method])(body, **match.groupdict())

    do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_GET

    def _body_limit(self, path):
        if self.app.hooks is not None and path == HOOK_PATH:
            return HOOK_MAX_BODY
        return MAX_BODY

    def _read_body(self, limit):
        """Read the request body; on error send a response, return None."""
        if "Transfer-Encoding" in self.headers:
            # Chunked uploads are not needed by the demo (nginx sends
            # Content-Length when it buffers request bodies).
            self._send_json(411, {"error": "length required"}, close=True)
            self._linger(LINGER_LIMIT)
            return None
        lengths = self.headers.get_all("Content-Length", [])
        if not lengths:
            return b""
        if len(lengths) > 1 or not _DIGITS.fullmatch(lengths[0]):
            self._send_json(400, {"error": "invalid Content-Length"},
                            close=True)
            return None
        length = int(lengths[0])
        if length > limit:
            self._send_json(413, {"error": "request body too large"},
                            close=True)
            self._linger(length)
            return None
        body = self.rfile.read(length)
        if len(body) < length:      # client went away mid-body
            self.close_connection = True
            return None
        return body

    def handle_expect_100(self):
        # Refuse oversized bodies before the client sends them.
        length = self.headers.get("Content-Length", "")
        limit = self._body_limit(self.path.split("?", 1)[0])
        if _DIGITS.fullmatch(length) and int(length) > limit:
            self._send_json(413, {"error": "request body too large"},
                            close=True)
            return False
        return super().handle_expect_100()

    def _linger(self, remaining):
        """Drain (part of) an unread body after replying and closing our
        side, so the client sees the response rather than a TCP reset."""
        budget = min(remaining, LINGER_LIMIT)
        try:
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(LINGER_TIMEOUT)
            while budget > 0:
                chunk = self.rfile.read1(min(budget, 65536))
                if not chunk:
                    break
                budget -= len(chunk)
        except OSError:
            pass

    # -- responses --------------------------------------------------------

    def _send(self, status, body, content_type, headers=(), close=False):
        self.send_response(status)
        if status != 204:       # 204 has neither body nor length
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        for name, value in headers:
            self.send_header(name, value)
        if close:
            self.send_header("Connection", "close")  # sets close_connection
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.log_message('"%s" %d %d', self.requestline, status, len(body))

    def _send_json(self, status, obj, headers=(), close=False):
        self._send(status, _compact_json(obj), JSON_TYPE, headers, close)

    def send_error(self, code, message=None, explain=None):
        # Errors detected by http.server itself (bad request line, header
        # too long, unknown method...): answer in JSON like everything else.
        if message is None:
            message = self.responses.get(code, ("error",))[0]
        self._send_json(code, {"error": message}, close=True)

    def log_request(self, code="-", size="-"):
        pass    # _send() logs once the status and size are known

    def log_message(self, fmt, *args):
        sys.stderr.write("%s - [%s] %s\n" % (
            self.address_string(),
            time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            _log_escape(fmt % args)))
        sys.stderr.flush()

    # -- handlers ---------------------------------------------------------

    def _home(self, body):
        self._send(200, HOME_PAGE.encode("utf-8"), HTML_TYPE)

    def _health(self, body):
        self._send(200, b"ok", TEXT_TYPE)

    def _login(self, body):
        try:
            username, password = parse_credentials(
                self.headers.get("Content-Type", ""), body)
        except BadRequest as exc:
            self._send_json(exc.status, {"error": exc.message})
            return
        headers = []
        if username is not None:
            # Read (and stripped from the client response) by the nginx
            # module to classify the login event.
            headers.append(("X-Keryu-User", quote(
                username[:MAX_USER_HEADER], safe=_HEADER_SAFE)))
        roles = None
        if username is not None and password is not None:
            roles = self.app.users.authenticate(username, password)
        if roles is None:
            headers.append(("WWW-Authenticate", 'Bearer realm="%s"' % ISSUER))
            self._send_json(401, {"error": "invalid credentials"}, headers)
            return
        token = self.app.issue_token(username, roles)
        headers.append(("Set-Cookie", "session=%s; HttpOnly; SameSite=Strict;"
                        " Path=/" % token))
        self._send_json(200, {"token": token}, headers)

    def _logout(self, body):
        cookie = ("session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0;"
                  " Expires=Thu, 01 Jan 1970 00:00:00 GMT")
        self._send_json(200, {"status": "logged out"},
                        [("Set-Cookie", cookie)])

    # NOTE: the app does not verify tokens on /api/ or /admin/. It trusts
    # the reverse proxy: nginx with the Keryu module verifies the JWT,
    # enforces the access policy and passes the identity in X-Keryu-User /
    # X-Keryu-Roles. The app must therefore only be reachable through nginx.

    def _me(self, body):
        user = self.headers.get("X-Keryu-User", "").strip()
        if not user:
            self._send_json(401, {"error": "not authenticated"},
                            [("WWW-Authenticate",
                              'Bearer realm="%s"' % ISSUER)])
            return
        roles = [role.strip()
                 for role in self.headers.get("X-Keryu-Roles", "").split(",")
                 if role.strip()]
        self._send_json(200, {"user": user, "roles": roles})

    def _list_orders(self, body):
        self._send_json(200, [ORDERS[key] for key in sorted(ORDERS)])

    def _get_order(self, body, order_id):
        if not re.fullmatch(r"-?[0-9]+", order_id):
            self._send_json(400, {"error": "order id must be an integer"})
            return
        # Very long digit strings cannot be a known id (and would hit
        # Python's int() digit limit).
        order = ORDERS.get(int(order_id)) if len(order_id) <= 20 else None
        if order is None:
            self._send_json(404, {"error": "not found"})
        else:
            self._send_json(200, order)

    def _admin(self, body):
        self._send(200, ADMIN_PAGE.encode("utf-8"), HTML_TYPE)

    def _admin_users(self, body):
        self._send_json(200, self.app.users.listing())

    # keryud's alert webhook: the signature covers the timestamp and the
    # raw body, so it is checked before the body is parsed
    def _hook_receive(self, body):
        hooks = self.app.hooks
        delivery = self.headers.get("X-Keryu-Delivery", "")
        try:
            hooks.verify(self.headers, body)
            # XXX the delivery id is not signed: a captured delivery sent
            # again under a new id within HOOK_MAX_AGE is kept twice
            if not _DELIVERY_ID.fullmatch(delivery):
                raise BadRequest(400, "missing or invalid X-Keryu-Delivery")
            event, alert = parse_delivery(body)
        except BadRequest as exc:
            self.log_message("webhook: delivery refused: %s", exc.message)
            headers = []
            if exc.status == 401:
                headers.append(("WWW-Authenticate",
                                'Keryu-Signature realm="%s"' % ISSUER))
            self._send_json(exc.status, {"error": exc.message}, headers)
            return
        if hooks.add(delivery, event, alert):
            block = alert.get("block")
            if isinstance(block, dict):
                outcome = "blocked %s" % block.get("target")
            else:
                outcome = "no block"
            self.log_message(
                "webhook %s: alert %s %s, %s %s, count %s, severity %s, %s, "
                "delivery %s", event, alert.get("id"), alert.get("rule"),
                alert.get("key_type"), alert.get("key"), alert.get("count"),
                alert.get("severity"), outcome, delivery)
        else:
            self.log_message("webhook: delivery %s repeated, ignored",
                             delivery)
        self._send(204, b"", None)

    def _hook_list(self, body):
        self._send_json(200, {"deliveries": self.app.hooks.listing()})


class DemoServer(ThreadingHTTPServer):
    daemon_threads = True   # idle keep-alive connections don't block exit

    def __init__(self, address, app):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.app = app
        super().__init__(address, DemoHandler)

    def server_bind(self):
        # Skip HTTPServer's reverse DNS lookup (socket.getfqdn), which can
        # stall start-up on hosts with slow resolvers.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


def parse_listen(value):
    """Parse HOST:PORT or [IPv6]:PORT."""
    match = re.fullmatch(r"\[([^\]]+)\]:([0-9]+)|([^:\[\]]+):([0-9]+)",
                         value)
    if not match:
        raise argparse.ArgumentTypeError(
            "expected HOST:PORT or [IPV6]:PORT, got %r" % value)
    host = match.group(1) or match.group(3)
    port = int(match.group(2) or match.group(4))
    if port > 65535:
        raise argparse.ArgumentTypeError("port out of range: %d" % port)
    return host, port


def load_secret(path):
    with open(path, "rb") as handle:
        secret = handle.read().rstrip(b"\r\n")
    if not secret:
        raise ValueError("secret file %s is empty" % path)
    return secret


def load_webhook_secret(path):
    """Read the secret as keryud does: one trailing newline dropped."""
    with open(path, "rb") as handle:
        secret = handle.read()
    if secret.endswith(b"\n"):
        secret = secret[:-1]
    if not secret:
        raise ValueError("webhook secret file %s is empty" % path)
    return secret


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Keryu Security demo upstream application.")
    parser.add_argument("--listen", required=True, type=parse_listen,
                        metavar="HOST:PORT",
                        help="address to listen on (port 0: ephemeral)")
    parser.add_argument("--secret-file", metavar="PATH",
                        help="HS256 key file (default: random key)")
    parser.add_argument("--webhook-secret-file", metavar="PATH",
                        help="keryud's webhook_secret: receive its alerts "
                             "on %s (default: no receiver)" % HOOK_PATH)
    parser.add_argument("--pid-file", metavar="PATH",
                        help="write the process id to PATH")
    args = parser.parse_args(argv)

    if args.secret_file:
        try:
            secret = load_secret(args.secret_file)
        except (OSError, ValueError) as exc:
            parser.exit(2, "app.py: cannot load secret: %s\n" % exc)
    else:
        secret = secrets.token_bytes(32)

    hooks = None
    if args.webhook_secret_file:
        try:
            hooks = WebhookInbox(load_webhook_secret(args.webhook_secret_file))
        except (OSError, ValueError) as exc:
            parser.exit(2, "app.py: cannot load webhook secret: %s\n" % exc)

    try:
        server = DemoServer(args.listen, DemoApp(secret, hooks))
    except OSError as exc:
        parser.exit(1, "app.py: cannot listen on %s:%d: %s\n"
                    % (args.listen + (exc,)))
    host, port = server.server_address[:2]
    if args.pid_file:
        with open(args.pid_file, "w") as handle:
            handle.write("%d\n" % os.getpid())

    def stop(signum, frame):
        # shutdown() waits for serve_forever() to return, so it must not
        # run in the main thread, where the signal handler runs.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    display = "[%s]" % host if ":" in host else host
    print("listening on %s:%d" % (display, port), flush=True)
    sys.stderr.write("keryu-demo: listening on %s:%d\n" % (display, port))
    try:
        server.serve_forever()
    finally:
        server.server_close()
        if args.pid_file:
            try:
                os.unlink(args.pid_file)
            except OSError:
                pass
    sys.stderr.write("keryu-demo: stopped\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
