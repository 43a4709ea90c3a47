#!/usr/bin/env python3
"""Tests for the Keryu demo upstream application (demo/app.py).

The app is started in a subprocess on an ephemeral port; the tests read the
"listening on HOST:PORT" line it prints instead of sleeping.

Run with ``python3 -m unittest demo/test_app.py -v`` or
``python3 demo/test_app.py``.
"""

import base64
import hashlib
import hmac
import http.client
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import uuid
from urllib.parse import urlencode

APP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "app.py")
SECRET = b"test-secret-\x00\xff-not-for-production"
HOOK_SECRET = b"0123456789abcdef-webhook-test-secret"
STARTUP_TIMEOUT = 30
USERS = {
    "alice": ("alice-pass", ["user"]),
    "bob": ("bob-pass", ["user"]),
    "carol": ("carol-pass", ["admin"]),
}


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class AppProcess:
    """The demo app running in a subprocess on an ephemeral port."""

    def __init__(self, workdir, secret_file=None, pid_file=None,
                 webhook_secret_file=None):
        self.log_path = os.path.join(workdir, "app.log")
        args = [sys.executable, APP, "--listen", "127.0.0.1:0"]
        if secret_file:
            args += ["--secret-file", secret_file]
        if webhook_secret_file:
            args += ["--webhook-secret-file", webhook_secret_file]
        if pid_file:
            args += ["--pid-file", pid_file]
        # stderr goes to a file: a pipe nobody reads could fill up and
        # block the server.
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(args, stdout=subprocess.PIPE,
                                         stderr=log)
        ready, _, _ = select.select([self.proc.stdout], [], [],
                                    STARTUP_TIMEOUT)
        line = self.proc.stdout.readline().decode() if ready else ""
        if not line.startswith("listening on 127.0.0.1:"):
            self.stop()
            raise RuntimeError("app did not start (%r): %s"
                               % (line, self.log()))
        self.port = int(line.strip().rsplit(":", 1)[1])

    def log(self):
        with open(self.log_path, "rb") as log:
            return log.read().decode("utf-8", "replace")

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise
        finally:
            self.proc.stdout.close()


class AppTestCase(unittest.TestCase):
    """Requests to the app that setUpClass starts as cls.app."""

    @classmethod
    def tearDownClass(cls):
        cls.app.stop()
        cls.tmp.cleanup()

    def setUp(self):
        self.conn = http.client.HTTPConnection("127.0.0.1", self.app.port,
                                               timeout=10)

    def tearDown(self):
        self.conn.close()

    def request(self, method, path, body=None, headers=None):
        self.conn.request(method, path, body=body, headers=headers or {})
        resp = self.conn.getresponse()
        return resp, resp.read()

    def json_request(self, method, path, body=None, headers=None):
        resp, data = self.request(method, path, body, headers)
        self.assertEqual(resp.getheader("Content-Type"), "application/json")
        return resp, json.loads(data)


class DemoAppTest(AppTestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        secret_file = os.path.join(cls.tmp.name, "secret")
        with open(secret_file, "wb") as handle:
            handle.write(SECRET + b"\n")   # trailing newline is stripped
        cls.app = AppProcess(cls.tmp.name, secret_file=secret_file)

    def login(self, username, password, as_json=False):
        if as_json:
            body = json.dumps({"username": username, "password": password})
            ctype = "application/json"
        else:
            body = urlencode({"username": username, "password": password})
            ctype = "application/x-www-form-urlencoded"
        return self.json_request("POST", "/login", body,
                                 {"Content-Type": ctype})

    def check_token(self, token, username, roles):
        header_b64, claims_b64, sig_b64 = token.split(".")
        self.assertEqual(json.loads(b64url_decode(header_b64)),
                         {"alg": "HS256", "typ": "JWT"})
        expected = hmac.new(SECRET, (header_b64 + "." + claims_b64).encode(),
                            hashlib.sha256).digest()
        self.assertTrue(hmac.compare_digest(b64url_decode(sig_b64),
                                            expected))
        claims = json.loads(b64url_decode(claims_b64))
        self.assertEqual(claims["sub"], username)
        self.assertEqual(claims["roles"], roles)
        self.assertEqual(claims["orders"],
                         {"alice": ["1"], "bob": ["2"],
                          "carol": ["3"]}[username])
        self.assertEqual(claims["iss"], "keryu-demo")
        self.assertEqual(claims["exp"], claims["iat"] + 3600)
        self.assertLess(abs(claims["iat"] - time.time()), 60)

    # -- pages --------------------------------------------------------------

    def test_health(self):
        resp, data = self.request("GET", "/health")
        self.assertEqual(resp.status, 200)
        self.assertEqual(data, b"ok")

    def test_head_has_length_but_no_body(self):
        resp, data = self.request("HEAD", "/health")
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.getheader("Content-Length"), "2")
        self.assertEqual(data, b"")
        # The connection is still usable afterwards.
        resp, data = self.request("GET", "/health")
        self.assertEqual(data, b"ok")

    def test_home_page_has_login_form(self):
        resp, data = self.request("GET", "/")
        self.assertEqual(resp.status, 200)
        self.assertTrue(resp.getheader("Content-Type").startswith(
            "text/html"))
        self.assertIn(b'action="/login"', data)
        self.assertIn(b'name="username"', data)
        self.assertIn(b'name="password"', data)

    def test_admin_page(self):
        resp, data = self.request("GET", "/admin/")
        self.assertEqual(resp.status, 200)
        self.assertTrue(resp.getheader("Content-Type").startswith(
            "text/html"))
        self.assertIn(b"Admin console", data)

    def test_admin_users(self):
        resp, data = self.json_request("GET", "/admin/users")
        self.assertEqual(resp.status, 200)
        self.assertEqual(
            data, [{"username": name, "roles": roles}
                   for name, (_, roles) in USERS.items()])
        self.assertNotIn("pass", json.dumps(data))

    # -- login / logout -----------------------------------------------------

    def test_login_success(self):
        for username, (password, roles) in USERS.items():
            for as_json in (False, True):
                with self.subTest(user=username, json=as_json):
                    resp, data = self.login(username, password, as_json)
                    self.assertEqual(resp.status, 200)
                    self.assertEqual(resp.getheader("X-Keryu-User"),
                                     username)
                    token = data["token"]
                    self.check_token(token, username, roles)
                    self.assertEqual(
                        resp.getheader("Set-Cookie"),
                        "session=%s; HttpOnly; SameSite=Strict; Path=/"
                        % token)

    def test_login_failure(self):
        for username, password in (("alice", "bob-pass"),
                                   ("mallory", "alice-pass"),
                                   ("carol", "")):
            with self.subTest(user=username, password=password):
                resp, data = self.login(username, password)
                self.assertEqual(resp.status, 401)
                self.assertEqual(data, {"error": "invalid credentials"})
                self.assertEqual(resp.getheader("X-Keryu-User"), username)
                self.assertIsNone(resp.getheader("Set-Cookie"))

    def test_login_missing_fields(self):
        resp, data = self.json_request(
            "POST", "/login", "password=alice-pass",
            {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(resp.status, 401)
        self.assertIsNone(resp.getheader("X-Keryu-User"))

    def test_login_user_header_cannot_inject(self):
        resp, data = self.login("eve\r\nX-Injected: 1", "x", as_json=True)
        self.assertEqual(resp.status, 401)
        self.assertIsNone(resp.getheader("X-Injected"))
        self.assertEqual(resp.getheader("X-Keryu-User"),
                         "eve%0D%0AX-Injected: 1")

    def test_login_malformed_json(self):
        resp, data = self.json_request("POST", "/login", "{not json",
                                       {"Content-Type": "application/json"})
        self.assertEqual(resp.status, 400)
        self.assertIn("error", data)

    def test_logout(self):
        resp, data = self.json_request("POST", "/logout", b"")
        self.assertEqual(resp.status, 200)
        self.assertEqual(data, {"status": "logged out"})
        cookie = resp.getheader("Set-Cookie")
        self.assertTrue(cookie.startswith("session=;"))
        self.assertIn("Max-Age=0", cookie)
        self.assertIn("Expires=Thu, 01 Jan 1970 00:00:00 GMT", cookie)

    # -- API ----------------------------------------------------------------

    def test_orders(self):
        for order_id, owner in ((1, "alice"), (2, "bob"), (3, "carol")):
            with self.subTest(order=order_id):
                resp, data = self.json_request("GET",
                                               "/api/orders/%d" % order_id)
                self.assertEqual(resp.status, 200)
                self.assertEqual(data["id"], order_id)
                self.assertEqual(data["owner"], owner)
                self.assertIsInstance(data["item"], str)
                self.assertIsInstance(data["total"], (int, float))

    def test_order_not_found(self):
        for order_id in ("4", "0", "-1", "9" * 40):
            with self.subTest(order=order_id):
                resp, data = self.json_request("GET",
                                               "/api/orders/" + order_id)
                self.assertEqual(resp.status, 404)
                self.assertEqual(data, {"error": "not found"})

    def test_order_bad_id(self):
        for order_id in ("abc", "1.5", "1e3", "%31"):
            with self.subTest(order=order_id):
                resp, data = self.json_request("GET",
                                               "/api/orders/" + order_id)
                self.assertEqual(resp.status, 400)

    def test_order_list(self):
        resp, data = self.json_request("GET", "/api/orders/?page=1")
        self.assertEqual(resp.status, 200)
        self.assertEqual([(o["id"], o["owner"]) for o in data],
                         [(1, "alice"), (2, "bob"), (3, "carol")])

    def test_me_without_identity(self):
        resp, data = self.json_request("GET", "/api/me")
        self.assertEqual(resp.status, 401)
        self.assertIn("error", data)

    def test_me_with_identity(self):
        resp, data = self.json_request(
            "GET", "/api/me",
            headers={"X-Keryu-User": "carol", "X-Keryu-Roles": "admin, ops"})
        self.assertEqual(resp.status, 200)
        self.assertEqual(data, {"user": "carol", "roles": ["admin", "ops"]})

    # -- HTTP behaviour -----------------------------------------------------

    def test_unknown_path(self):
        for path in ("/nope", "/api/orders", "/admin", "/api/orders/1/x"):
            with self.subTest(path=path):
                resp, data = self.json_request("GET", path)
                self.assertEqual(resp.status, 404)
                self.assertEqual(data, {"error": "not found"})

    def test_method_not_allowed(self):
        for method, path, allow in (("GET", "/login", "POST"),
                                    ("GET", "/logout", "POST"),
                                    ("DELETE", "/api/orders/1", "GET, HEAD"),
                                    ("POST", "/admin/users", "GET, HEAD")):
            with self.subTest(method=method, path=path):
                resp, data = self.json_request(method, path, b"")
                self.assertEqual(resp.status, 405)
                self.assertEqual(resp.getheader("Allow"), allow)
                self.assertIn("error", data)

    def test_body_limit(self):
        resp, data = self.json_request(
            "POST", "/login", b"a" * 65536,
            {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(resp.status, 401)     # at the limit: accepted
        resp, data = self.json_request(
            "POST", "/login", b"a" * 65537,
            {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(resp.status, 413)
        self.assertIn("error", data)

    def test_body_too_large_with_expect_continue(self):
        with socket.create_connection(("127.0.0.1", self.app.port),
                                      timeout=10) as sock:
            sock.sendall(b"POST /login HTTP/1.1\r\nHost: test\r\n"
                         b"Content-Length: 1000000\r\n"
                         b"Expect: 100-continue\r\n\r\n")
            reply = b""
            while True:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                reply += chunk
        self.assertTrue(reply.startswith(b"HTTP/1.1 413 "), reply)
        self.assertNotIn(b"100 Continue", reply)

    def test_no_webhook_without_secret(self):
        for method, body in (("GET", None), ("POST", b"{}")):
            with self.subTest(method=method):
                resp, data = self.json_request(method, "/hooks/keryu", body)
                self.assertEqual(resp.status, 404)
                self.assertEqual(data, {"error": "not found"})

    def test_keep_alive(self):
        self.request("GET", "/health")
        sock = self.conn.sock
        self.assertIsNotNone(sock)
        for method, path, body, status in (
                ("GET", "/nope", None, 404),
                ("POST", "/login", "username=bob&password=bob-pass", 200),
                ("POST", "/logout", "ignored", 200),
                ("GET", "/api/orders/2", None, 200)):
            resp, _ = self.request(
                method, path, body,
                {"Content-Type": "application/x-www-form-urlencoded"})
            self.assertEqual(resp.status, status)
            self.assertIsNotNone(resp.getheader("Content-Length"))
            self.assertIs(self.conn.sock, sock, "connection was reopened")


def hook_alert(alert_id, key="203.0.113.7"):
    """An alert as keryud sends it (the fields the receiver reads)."""
    return {"id": alert_id, "rule": "brute-force/auth-failures",
            "severity": "high", "status": "open", "key": key,
            "key_type": "ip", "summary": "10 auth_failure from %s" % key,
            "count": 10, "first_seen": "2026-01-01T00:00:00Z",
            "last_seen": "2026-01-01T00:00:09Z", "samples": [1, 2, 3],
            "block": {"target": key, "duration_s": 900,
                      "expires_at": "2026-01-01T00:15:09Z", "offences": 1},
            "responses": []}


def hook_headers(body, secret=HOOK_SECRET, timestamp=None, delivery=None,
                 event="alert.opened"):
    """keryud's webhook headers for ``body``, signed with ``secret``."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    mac = hmac.new(secret, ts.encode() + b"." + body, hashlib.sha256)
    return {"Content-Type": "application/json",
            "X-Keryu-Event": event,
            "X-Keryu-Delivery": delivery or str(uuid.uuid4()),
            "X-Keryu-Timestamp": ts,
            "X-Keryu-Signature": "sha256=" + mac.hexdigest()}


class WebhookTest(AppTestCase):
    """The app started with --webhook-secret-file."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        hook_file = os.path.join(cls.tmp.name, "webhook-secret")
        with open(hook_file, "wb") as handle:
            handle.write(HOOK_SECRET + b"\n")   # one newline is dropped
        cls.app = AppProcess(cls.tmp.name, webhook_secret_file=hook_file)

    def post_hook(self, body, headers):
        return self.request("POST", "/hooks/keryu", body, headers)

    def deliveries(self):
        resp, data = self.json_request("GET", "/hooks/keryu")
        self.assertEqual(resp.status, 200)
        return data["deliveries"]

    def test_hook_good_signature(self):
        body = json.dumps({"event": "alert.opened",
                           "alert": hook_alert(12)}).encode()
        headers = hook_headers(body)
        resp, data = self.post_hook(body, headers)
        self.assertEqual(resp.status, 204)
        self.assertEqual(data, b"")
        self.assertIsNone(resp.getheader("Content-Length"))

        newest = self.deliveries()[0]
        self.assertEqual(set(newest),
                         {"delivery", "event", "received_at", "alert"})
        self.assertEqual(newest["delivery"], headers["X-Keryu-Delivery"])
        self.assertEqual(newest["event"], "alert.opened")
        self.assertEqual(newest["alert"], hook_alert(12))
        received = time.mktime(time.strptime(newest["received_at"],
                                             "%Y-%m-%dT%H:%M:%SZ"))
        self.assertLess(abs(received - time.mktime(time.gmtime())), 60)

        log = self.app.log()
        self.assertIn("webhook alert.opened: alert 12 "
                      "brute-force/auth-failures, ip 203.0.113.7, count 10, "
                      "severity high, blocked 203.0.113.7, delivery "
                      + headers["X-Keryu-Delivery"], log)
        self.assertNotIn(HOOK_SECRET.decode(), log)
        self.assertNotIn(headers["X-Keryu-Signature"], log)

    def test_hook_newest_first_and_bounded(self):
        ids = []
        for alert_id in range(1000, 1105):
            body = json.dumps({"event": "alert.updated",
                               "alert": hook_alert(alert_id)}).encode()
            headers = hook_headers(body, event="alert.updated")
            resp, _ = self.post_hook(body, headers)
            self.assertEqual(resp.status, 204)
            ids.append(headers["X-Keryu-Delivery"])
        listed = self.deliveries()
        self.assertEqual([d["delivery"] for d in listed],
                         list(reversed(ids))[:100])
        self.assertEqual(listed[0]["alert"]["id"], 1104)

    def test_hook_bad_signature(self):
        body = json.dumps({"event": "alert.opened",
                           "alert": hook_alert(13)}).encode()
        wrong_key = hook_headers(body, secret=b"not-the-secret-at-all")
        tampered = hook_headers(body)
        unsigned = hook_headers(body)
        del unsigned["X-Keryu-Signature"]
        no_time = hook_headers(body)
        del no_time["X-Keryu-Timestamp"]
        garbled = hook_headers(body)
        garbled["X-Keryu-Signature"] = "sha256=\u00e9"
        for name, payload, headers in (
                ("wrong key", body, wrong_key),
                ("tampered body", body.replace(b"13", b"14"), tampered),
                ("no signature", body, unsigned),
                ("no timestamp", body, no_time),
                ("not hex", body, garbled)):
            with self.subTest(case=name):
                resp, data = self.post_hook(payload, headers)
                self.assertEqual(resp.status, 401)
                self.assertIn("error", json.loads(data))
                self.assertIsNotNone(resp.getheader("WWW-Authenticate"))
        delivered = {d["delivery"] for d in self.deliveries()}
        for headers in (wrong_key, tampered, unsigned, no_time, garbled):
            self.assertNotIn(headers["X-Keryu-Delivery"], delivered)

    def test_hook_stale_timestamp(self):
        body = json.dumps({"event": "alert.opened",
                           "alert": hook_alert(14)}).encode()
        now = int(time.time())
        for name, ts in (("old", now - 301), ("ahead", now + 301)):
            with self.subTest(case=name):
                headers = hook_headers(body, timestamp=ts)
                resp, data = self.post_hook(body, headers)
                self.assertEqual(resp.status, 401)
                self.assertEqual(json.loads(data),
                                 {"error": "stale timestamp"})
        # a few seconds old is fine
        resp, _ = self.post_hook(body, hook_headers(body, timestamp=now - 5))
        self.assertEqual(resp.status, 204)

    def test_hook_duplicate_delivery(self):
        body = json.dumps({"event": "alert.opened",
                           "alert": hook_alert(15)}).encode()
        delivery = str(uuid.uuid4())
        # a retry: same delivery id, signed again with a later timestamp
        now = int(time.time())
        for ts in (now - 2, now):
            resp, _ = self.post_hook(body, hook_headers(body, timestamp=ts,
                                                        delivery=delivery))
            self.assertEqual(resp.status, 204)
        listed = [d for d in self.deliveries() if d["delivery"] == delivery]
        self.assertEqual(len(listed), 1)
        self.assertEqual(self.app.log().count("alert 15 "), 1)

    def test_hook_bad_json(self):
        for body in (b"{not json", b"[1, 2]", b'{"event": "alert.opened"}',
                     b'{"event": 1, "alert": {}}', b"\xff\xfe"):
            with self.subTest(body=body):
                resp, data = self.post_hook(body, hook_headers(body))
                self.assertEqual(resp.status, 400)
                self.assertIn("error", json.loads(data))

    def test_hook_bad_delivery_id(self):
        body = json.dumps({"event": "alert.opened",
                           "alert": hook_alert(16)}).encode()
        for delivery in ("", "a b", "x" * 65):
            with self.subTest(delivery=delivery):
                headers = hook_headers(body)
                headers["X-Keryu-Delivery"] = delivery
                resp, _ = self.post_hook(body, headers)
                self.assertEqual(resp.status, 400)

    def test_hook_body_limit(self):
        alert = hook_alert(17)
        alert["summary"] = ""
        body = json.dumps({"event": "alert.opened", "alert": alert}).encode()
        alert["summary"] = "x" * (1024 * 1024 - len(body))
        body = json.dumps({"event": "alert.opened", "alert": alert}).encode()
        self.assertEqual(len(body), 1024 * 1024)
        resp, _ = self.post_hook(body, hook_headers(body))
        self.assertEqual(resp.status, 204)      # at the limit: accepted
        body += b" "
        resp, data = self.post_hook(body, hook_headers(body))
        self.assertEqual(resp.status, 413)
        self.assertEqual(json.loads(data), {"error": "request body too large"})


class LifecycleTest(unittest.TestCase):

    def test_pid_file_signal_and_log(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            with self.subTest(signal=sig.name), \
                    tempfile.TemporaryDirectory() as tmp:
                pid_file = os.path.join(tmp, "app.pid")
                secret_file = os.path.join(tmp, "secret")
                with open(secret_file, "wb") as handle:
                    handle.write(SECRET)
                app = AppProcess(tmp, secret_file=secret_file,
                                 pid_file=pid_file)
                try:
                    with open(pid_file) as handle:
                        self.assertEqual(int(handle.read()), app.proc.pid)
                    conn = http.client.HTTPConnection("127.0.0.1", app.port,
                                                      timeout=10)
                    conn.request("GET", "/health")
                    conn.getresponse().read()
                    conn.request("POST", "/login",
                                 "username=alice&password=alice-pass",
                                 {"Content-Type":
                                  "application/x-www-form-urlencoded"})
                    conn.getresponse().read()
                    # The open keep-alive connection must not block exit.
                    self.assertEqual(app.stop(sig), 0)
                    conn.close()
                finally:
                    if app.proc.poll() is None:
                        app.stop(signal.SIGKILL)
                self.assertFalse(os.path.exists(pid_file))
                log = app.log()
                self.assertIn('"GET /health HTTP/1.1" 200 2', log)
                self.assertIn('"POST /login HTTP/1.1" 200', log)
                self.assertNotIn(SECRET.decode("latin-1"), log)
                self.assertNotIn("alice-pass", log)

    def test_random_secret_without_secret_file(self):
        with tempfile.TemporaryDirectory() as tmp:
            app = AppProcess(tmp)
            try:
                conn = http.client.HTTPConnection("127.0.0.1", app.port,
                                                  timeout=10)
                conn.request("POST", "/login",
                             json.dumps({"username": "carol",
                                         "password": "carol-pass"}),
                             {"Content-Type": "application/json"})
                resp = conn.getresponse()
                token = json.loads(resp.read())["token"]
                conn.close()
            finally:
                self.assertEqual(app.stop(), 0)
        self.assertEqual(resp.status, 200)
        header_b64, claims_b64, sig_b64 = token.split(".")
        self.assertEqual(len(b64url_decode(sig_b64)), 32)
        self.assertEqual(json.loads(b64url_decode(claims_b64))["sub"],
                         "carol")


if __name__ == "__main__":
    unittest.main()
