"""Figures for the web core: idle memory, page latency, sign-up cost
(argon2id), and upload throughput with the memory held while streaming.
Started by bench/bench_web.sh; prints figures, never pass/fail."""
import http.client
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

BIN = os.environ.get("BIN", "bin")
UPLOAD_MB = int(os.environ.get("UPLOAD_MB", "200"))
PAGES = int(os.environ.get("PAGES", "2000"))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def req(port, method, path, body=None, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r, data


def main():
    d = tempfile.mkdtemp(prefix="ty-bench-web-")
    port = free_port()
    env = dict(os.environ, TRAINYARD_PORT=str(port),
               TRAINYARD_DATA_DIR=d + "/data", TRAINYARD_MODELS_DIR=d + "/models",
               TRAINYARD_DB=d + "/db/t.db", TRAINYARD_MAX_UPLOAD_MB=str(UPLOAD_MB + 1))
    p = subprocess.Popen([os.path.join(BIN, "trainyard-web")], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                if req(port, "GET", "/healthz")[0].status == 200:
                    break
            except OSError:
                time.sleep(0.05)
        time.sleep(0.5)
        print("idle RSS after start:           %6.1f MB" % (rss_kb(p.pid) / 1024))

        t0 = time.time()
        for _ in range(PAGES):
            req(port, "GET", "/login")
        dt = time.time() - t0
        print("GET /login, %d sequential:     %6.0f req/s (%.2f ms each)" % (
            PAGES, PAGES / dt, dt / PAGES * 1000))
        print("RSS after the pages:            %6.1f MB" % (rss_kb(p.pid) / 1024))

        r, body = req(port, "GET", "/signup")
        cookie = r.getheader("Set-Cookie").split(";")[0]
        csrf = re.search(rb'name="csrf" value="([0-9a-f]+)"', body).group(1).decode()
        t0 = time.time()
        r, _ = req(port, "POST", "/signup", urllib.parse.urlencode(
            {"csrf": csrf, "username": "bench", "password": "bench password"}),
            {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
        print("sign-up (argon2id, 64 MiB):     %6.0f ms" % ((time.time() - t0) * 1000))
        cookie = r.getheader("Set-Cookie").split(";")[0]
        time.sleep(0.3)
        print("RSS after sign-up:              %6.1f MB" % (rss_kb(p.pid) / 1024))
        _, body = req(port, "GET", "/projects", headers={"Cookie": cookie})
        csrf = re.search(rb'name="csrf" value="([0-9a-f]+)"', body).group(1).decode()
        r, _ = req(port, "POST", "/projects", "csrf=%s&name=bench" % csrf,
                   {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
        pid_path = r.getheader("Location")

        # A streamed upload of UPLOAD_MB, generated on the fly (not held here
        # either), while a thread samples the server's RSS.
        boundary = "benchboundary"
        head = ("--%s\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n%s\r\n"
                "--%s\r\nContent-Disposition: form-data; name=\"file\"; "
                "filename=\"bench.tar\"\r\nContent-Type: application/x-tar\r\n\r\n"
                % (boundary, csrf, boundary)).encode()
        tail = ("\r\n--%s--\r\n" % boundary).encode()
        chunk = os.urandom(1 << 20)
        total = len(head) + UPLOAD_MB * len(chunk) + len(tail)
        peak = [0]
        done = [False]

        def sample():
            while not done[0]:
                peak[0] = max(peak[0], rss_kb(p.pid))
                time.sleep(0.02)
        th = threading.Thread(target=sample)
        th.start()
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        t0 = time.time()
        c.putrequest("POST", pid_path + "/datasets")
        c.putheader("Cookie", cookie)
        c.putheader("Content-Type", "multipart/form-data; boundary=" + boundary)
        c.putheader("Content-Length", str(total))
        c.endheaders()
        c.send(head)
        for _ in range(UPLOAD_MB):
            c.send(chunk)
        c.send(tail)
        r = c.getresponse()
        r.read()
        dt = time.time() - t0
        done[0] = True
        th.join()
        print("upload %d MB (sha256 + fsync): %6.1f MB/s (%.2f s, status %d)" % (
            UPLOAD_MB, UPLOAD_MB / dt, dt, r.status))
        print("peak RSS while uploading:       %6.1f MB  (upload/RSS ratio %.0fx)" % (
            peak[0] / 1024, UPLOAD_MB * 1024 / max(peak[0], 1)))
        t0 = time.time()
        subprocess.run(["sha256sum", d + "/data/uploads/1/bench.tar"], stdout=subprocess.DEVNULL)
        print("for scale, sha256sum of the file: %4.1f MB/s" % (UPLOAD_MB / (time.time() - t0)))
    finally:
        p.terminate()
        p.wait()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
