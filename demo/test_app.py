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
from urllib.parse import urlencode

APP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "app.py")
SECRET = b"test-secret-\x00\xff-not-for-production"
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

    def __init__(self, workdir, secret_file=None, pid_file=None):
        self.log_path = os.path.join(workdir, "app.log")
        args = [sys.executable, APP, "--listen", "127.0.0.1:0"]
        if secret_file:
            args += ["--secret-file", secret_file]
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


class DemoAppTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        secret_file = os.path.join(cls.tmp.name, "secret")
        with open(secret_file, "wb") as handle:
            handle.write(SECRET + b"\n")   # trailing newline is stripped
        cls.app = AppProcess(cls.tmp.name, secret_file=secret_file)

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
