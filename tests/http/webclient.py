"""A browser-like client for the web app's HTTP tests: keeps cookies,
reads the CSRF token out of the last page, and sends forms the way a
browser does. Standard library only."""
import re
import socket
import urllib.parse

from tylib import request, multipart

CSRF_RE = re.compile(r'name="csrf" value="([0-9a-f]*)"')


class Client:
    def __init__(self, port):
        self.port = port
        self.cookies = {}
        self.csrf = None

    def _headers(self, extra=None):
        h = dict(extra or {})
        if self.cookies:
            h["Cookie"] = "; ".join("%s=%s" % kv for kv in self.cookies.items())
        return h

    def _keep(self, r):
        for c in r.headers_all("Set-Cookie"):
            name, _, rest = c.partition("=")
            value = rest.split(";", 1)[0]
            if "Max-Age=0" in c:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        m = CSRF_RE.search(r.text) if r.body else None
        if m:
            self.csrf = m.group(1)
        return r

    def get(self, path, follow=False):
        r = self._keep(request(self.port, "GET", path, headers=self._headers()))
        if follow and r.status == 303:
            return self.get(r.header("Location"))
        return r

    def post_form(self, path, fields, csrf=True, follow=False):
        f = dict(fields)
        if csrf is True:
            f["csrf"] = self.csrf
        elif csrf:
            f["csrf"] = csrf
        body = urllib.parse.urlencode(f)
        r = self._keep(request(self.port, "POST", path, body, headers=self._headers(
            {"Content-Type": "application/x-www-form-urlencoded"})))
        if follow and r.status == 303:
            return self.get(r.header("Location"))
        return r

    def upload(self, path, data, filename="data.tar.gz", csrf=True, field="file"):
        fields = {}
        if csrf is True:
            fields["csrf"] = self.csrf
        elif csrf:
            fields["csrf"] = csrf
        body, ctype = multipart(fields, [(field, filename, data, "application/gzip")])
        return self._keep(request(self.port, "POST", path, body,
                                  headers=self._headers({"Content-Type": ctype})))

    def signup(self, user, password):
        self.get("/signup")
        return self.post_form("/signup", {"username": user, "password": password})

    def login(self, user, password):
        self.get("/login")
        return self.post_form("/login", {"username": user, "password": password})

    def create_project(self, name, description=""):
        self.get("/projects")
        r = self.post_form("/projects", {"name": name, "description": description})
        if r.status != 303:
            return r, None
        return r, int(r.header("Location").rsplit("/", 1)[1])


def raw_request(port, head, body_parts, read=True, timeout=10):
    """Sends head (bytes) and body pieces over one socket, then closes the
    sending side; returns what came back (maybe b"")."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(head)
        for p in body_parts:
            s.sendall(p)
        if not read:
            return b""
        s.shutdown(socket.SHUT_WR)
        out = b""
        while True:
            try:
                b = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not b:
                break
            out += b
        return out
    finally:
        s.close()
