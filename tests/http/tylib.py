"""Shared pieces of the HTTP tests: start the real binaries on loopback
ports with temporary volumes, talk to them with a real HTTP client, and
count tests like tests/th.h does ("N passed, N failed").

Standard library only (runs on Debian's /usr/bin/python3).
"""
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.parse

ROOT = os.environ.get("ROOT") or os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("BIN") or os.path.join(ROOT, "bin")

_tests = []

# The shared service token (docs/jobs.md): every process the tests start
# inherits it, and request() sends it to the worker services they started.
SERVICE_TOKEN = os.environ.get("TRAINYARD_SERVICE_TOKEN") or \
    secrets.token_hex(32)
os.environ["TRAINYARD_SERVICE_TOKEN"] = SERVICE_TOKEN
# Ports of the workers started by Service: request() adds the token there
# unless the caller set an Authorization header (or auth=False).
_worker_ports = set()


def test(fn):
    """Register a test; run them all with run_all()."""
    _tests.append(fn)
    return fn


def run_all():
    passed = failed = 0
    for fn in _tests:
        t0 = time.time()
        try:
            fn()
            passed += 1
            print("ok   %s (%.1fs)" % (fn.__name__, time.time() - t0))
        except Exception:
            failed += 1
            print("FAIL %s" % fn.__name__)
            traceback.print_exc(file=sys.stdout)
        sys.stdout.flush()
    Service.stop_all()
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


def check(cond, msg="check failed"):
    if not cond:
        raise AssertionError(msg)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def tempdir(prefix="ty-test-"):
    d = tempfile.mkdtemp(prefix=prefix)
    return d


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # list of (name, value)
        self.body = body

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def headers_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "<%d %r>" % (self.status, self.body[:200])


def auth_header():
    return {"Authorization": "Bearer " + SERVICE_TOKEN}


def request(port, method, path, body=None, headers=None, timeout=60,
            auth=True):
    """One HTTP request to 127.0.0.1:port; never follows redirects. To a
    worker started by Service it carries the service token unless auth is
    False or headers has its own Authorization."""
    h = dict(headers or {})
    if auth and port in _worker_ports and \
            not any(k.lower() == "authorization" for k in h):
        h.update(auth_header())
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
        h.setdefault("Content-Type", "application/json")
    elif isinstance(body, str):
        body = body.encode()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        return Response(r.status, r.getheaders(), data)
    finally:
        c.close()


def multipart(fields, files):
    """fields: {name: value}; files: [(field, filename, bytes, ctype)]."""
    boundary = "----tyboundary%d" % int(time.time() * 1e6)
    out = []
    for k, v in fields.items():
        out.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n"
                    % (boundary, k)).encode() + str(v).encode() + b"\r\n")
    for field, fname, data, ctype in files:
        out.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\"; "
                    "filename=\"%s\"\r\nContent-Type: %s\r\n\r\n"
                    % (boundary, field, fname, ctype)).encode() + data + b"\r\n")
    out.append(("--%s--\r\n" % boundary).encode())
    return b"".join(out), "multipart/form-data; boundary=" + boundary


class Service:
    """A real binary on a loopback port. env: extra environment."""
    running = []

    def __init__(self, name, env=None, port=None, args=None):
        self.name = name
        self.port = port or free_port()
        self.env = dict(os.environ)
        self.env.update({"TRAINYARD_PORT": str(self.port)})
        self.env.update(env or {})
        self.args = args or []
        self.proc = None
        self.log = None

    def start(self, wait=True, timeout=20):
        path = os.path.join(BIN, self.name)
        logdir = os.environ.get("TEST_LOGS") or os.path.join(ROOT, "build", "test-logs")
        os.makedirs(logdir, exist_ok=True)
        self.logpath = os.path.join(logdir, "%s-%d.log" % (self.name, self.port))
        self.log = open(self.logpath, "ab")
        self.proc = subprocess.Popen([path] + self.args, env=self.env,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        Service.running.append(self)
        if self.name != "trainyard-web":
            _worker_ports.add(self.port)
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout=20, path="/healthz"):
        end = time.time() + timeout
        while time.time() < end:
            if self.proc.poll() is not None:
                raise AssertionError("%s exited with %s; log %s" % (
                    self.name, self.proc.returncode, self.logpath))
            try:
                r = request(self.port, "GET", path, timeout=2)
                if r.status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError("%s not ready on port %d" % (self.name, self.port))

    def stop(self, sig=signal.SIGTERM, timeout=20):
        """Stops the process; returns its exit code (sanitizer errors show
        as a non-zero code, so callers may check it)."""
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self in Service.running:
            Service.running.remove(self)
        return self.proc.returncode

    def kill(self):
        return self.stop(signal.SIGKILL)

    def get(self, path, **kw):
        return request(self.port, "GET", path, **kw)

    def post(self, path, body=None, **kw):
        return request(self.port, "POST", path, body, **kw)

    def delete(self, path, **kw):
        return request(self.port, "DELETE", path, **kw)

    def log_text(self):
        self.log.flush()
        with open(self.logpath, "rb") as f:
            return f.read().decode("utf-8", "replace")

    @classmethod
    def stop_all(cls):
        for s in list(cls.running):
            s.stop()


def wait_for(fn, timeout=30, interval=0.05, what="condition"):
    """Polls fn() until it returns something truthy; returns that value."""
    end = time.time() + timeout
    while time.time() < end:
        v = fn()
        if v:
            return v
        time.sleep(interval)
    raise AssertionError("timed out waiting for %s" % what)


# ---- data and models for tests that need a trained model ----------------

def write_tyd(path, labels, pixels, h, w, c, nclasses):
    """A .tyd file (layout of lib/engine/tensor.h)."""
    import struct
    n = len(labels)
    off = 32 + ((2 * n + 63) // 64) * 64
    with open(path, "wb") as f:
        f.write(b"TYD1" + struct.pack("<7I", 1, n, h, w, c, nclasses, 0))
        f.write(struct.pack("<%dH" % n, *labels))
        f.write(b"\0" * (off - 32 - 2 * n))
        f.write(pixels)


def bars_image(cls, size, rnd):
    """size*size gray bytes: class 0 a horizontal bar, 1 a vertical bar,
    2 a 4x4 square, bright on a dark noisy ground."""
    im = bytearray(rnd.randrange(50) for _ in range(size * size))
    a, b = rnd.randrange(1, size - 5), rnd.randrange(1, size - 5)
    for k in range(size):
        if cls == 0:
            im[a * size + k] = 250
        elif cls == 1:
            im[k * size + a] = 250
    if cls == 2:
        for y in range(4):
            for x in range(4):
                im[(a + y) * size + b + x] = 250
    return bytes(im)


def make_bars_set(data_dir, name, ntr, nva, size=20, seed=7,
                  classes=("h", "v", "sq"), channels=1, convert=None,
                  mean=(0.15,), std=(0.25,)):
    """Prepared data (train.tyd, val.tyd, meta.json) of bars_image;
    convert maps each gray image to `channels` channels."""
    import random
    d = os.path.join(data_dir, name)
    os.makedirs(d, exist_ok=True)
    rnd = random.Random(seed)
    for split, n in (("train", ntr), ("val", nva)):
        labels, px = [], bytearray()
        for _ in range(n):
            c = rnd.randrange(3)
            labels.append(c)
            g = bars_image(c, size, rnd)
            px += convert(g) if convert else g
        write_tyd(os.path.join(d, split + ".tyd"), labels, bytes(px),
                  size, size, channels, 3)
    with open(os.path.join(d, "meta.json"), "w") as f:
        json.dump({"classes": list(classes), "mean": list(mean),
                   "std": list(std), "image": {"width": size, "height": size,
                                               "channels": channels}}, f)


def train_model(data_dir, models_dir, params, threads=1):
    """Runs trainyard-train --run in the foreground; returns its result."""
    p = os.path.join(models_dir, "params-%d.json" % os.getpid())
    os.makedirs(models_dir, exist_ok=True)
    with open(p, "w") as f:
        json.dump(params, f)
    env = dict(os.environ, TRAINYARD_DATA_DIR=data_dir,
               TRAINYARD_MODELS_DIR=models_dir,
               TRAINYARD_THREADS=str(threads))
    r = subprocess.run([os.path.join(BIN, "trainyard-train"), "--run", p],
                       env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=600)
    os.unlink(p)
    if r.returncode != 0:
        raise AssertionError("training failed: %s" % r.stderr.decode())
    return json.loads(r.stdout)


def png(width, height, raw_rows, color_type, bit_depth=8, palette=None,
        trns=None):
    """A PNG from raw scanline bytes (without filter bytes) via zlib."""
    import struct
    import zlib

    def chunk(tag, data):
        return (struct.pack(">I", len(data)) + tag + data +
                struct.pack(">I", zlib.crc32(tag + data) & 0xffffffff))
    stride = len(raw_rows) // height
    body = b"".join(b"\0" + raw_rows[y * stride:(y + 1) * stride]
                    for y in range(height))
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(
        ">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0))
    if palette is not None:
        out += chunk(b"PLTE", palette)
    if trns is not None:
        out += chunk(b"tRNS", trns)
    return out + chunk(b"IDAT", zlib.compress(body)) + chunk(b"IEND", b"")
