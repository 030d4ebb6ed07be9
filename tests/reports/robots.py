"""Real servers for the notification tests: an SMTP server (aiosmtpd) and an HTTP server that plays 企业微信's and
钉钉's group robots, checking each message's JSON against their documented formats and the 钉钉 signature.
Not collected by pytest (the file name does not match test_*.py)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
import time
import urllib.parse
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SMTPServer:
    """aiosmtpd on 127.0.0.1: every message it is given, parsed."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.messages = []
        server = self

        class Handler:
            async def handle_DATA(self, _server, session, envelope):
                message = message_from_bytes(envelope.original_content, policy=policy.default)
                server.messages.append({"to": list(envelope.rcpt_tos), "from": envelope.mail_from, "message": message})
                return "250 Message accepted for delivery"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()


class RobotServer:
    """One HTTP server for both robots: POST /wecom?key=… and /dingtalk?access_token=…[&timestamp=…&sign=…].

    ``script`` lists what the next requests get: "ok", "500", ("errcode", n), "redirect" or "hang" (the request is
    read, then never answered until ``release()``); when it runs out, "ok". ``accepted`` holds the messages it
    answered with errcode 0: what reached the group."""

    def __init__(self, dingtalk_secret=""):
        self.secret = dingtalk_secret
        self.script = []
        self.received, self.accepted, self.problems = [], [], []
        self.lock = threading.Lock()
        self.released = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                parts = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(parts.query))
                with server.lock:
                    step = server.script.pop(0) if server.script else "ok"
                    server.received.append({"path": parts.path, "query": query, "raw": raw})
                if step == "hang":
                    server.released.wait(120)
                    return
                if step == "500":
                    return self.answer(500, {"errcode": -1, "errmsg": "system busy"})
                if step == "redirect":
                    self.send_response(302)
                    self.send_header("Location", f"http://127.0.0.1:{server.port}/elsewhere")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                problem = server.check(parts.path, query, raw)
                if problem:
                    server.problems.append(problem)
                    return self.answer(200, {"errcode": 40035, "errmsg": problem})
                if isinstance(step, tuple):
                    return self.answer(200, {"errcode": step[1], "errmsg": "scripted"})
                with server.lock:
                    server.accepted.append({"path": parts.path, "body": json.loads(raw)})
                self.answer(200, {"errcode": 0, "errmsg": "ok"})

            def answer(self, status, payload):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.origin = f"http://127.0.0.1:{self.port}"

    def check(self, path, query, raw):
        """What is wrong with a robot message, by the platforms' documented formats ("" when nothing)."""
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return "not JSON"
        if path == "/wecom":
            if not query.get("key"):
                return "wecom: no key"
            if body.get("msgtype") != "markdown" or set(body) != {"msgtype", "markdown"}:
                return "wecom: msgtype"
            content = body["markdown"].get("content")
            if not isinstance(content, str) or not content or len(content.encode("utf-8")) > 4096:
                return "wecom: content"
            return ""
        if path == "/dingtalk":
            if not query.get("access_token"):
                return "dingtalk: no access_token"
            if body.get("msgtype") != "markdown":
                return "dingtalk: msgtype"
            markdown = body.get("markdown") or {}
            if not markdown.get("title") or not markdown.get("text"):
                return "dingtalk: title/text"
            if self.secret:
                timestamp, sign = query.get("timestamp", ""), query.get("sign", "")
                if not timestamp.isdigit() or abs(int(timestamp) - time.time() * 1000) > 3600 * 1000:
                    return "dingtalk: timestamp"
                expected = base64.b64encode(
                    hmac.new(self.secret.encode(), f"{timestamp}\n{self.secret}".encode(), hashlib.sha256).digest()
                ).decode()
                if not hmac.compare_digest(sign, expected):  # parse_qsl has already url-decoded it
                    return "dingtalk: sign"
            return ""
        return f"unknown path {path}"

    def release(self):
        self.released.set()

    def __enter__(self):
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.released.set()
        self.httpd.shutdown()
        self.httpd.server_close()
