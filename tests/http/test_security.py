"""Issue 13 §1-§2 replayed against the real binaries, started as CI does:
the service token between the services, the confinement of job paths,
bind addresses, and the web app's open redirect, slow clients, login
throttling, keep-alive and foreign ids. Each test is a reproduction of a
finding; it failed on the code before the fix."""
import os
import socket
import sys
import threading
import time
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tylib import (BIN, SERVICE_TOKEN, Service, check, free_port,  # noqa
                   request, run_all, tempdir, test, wait_for)
from pngmake import png  # noqa
from webclient import Client  # noqa

TMP = tempdir("ty-sec-")
WORKERS = ("trainyard-preprocess", "trainyard-train", "trainyard-infer")
METRICS_TOKEN = "m" * 40


def volumes(name):
    d = os.path.join(TMP, name)
    data, models = os.path.join(d, "data"), os.path.join(d, "models")
    os.makedirs(data, exist_ok=True)
    os.makedirs(models, exist_ok=True)
    return data, models


_started = {}


def worker(name, **env):
    """One running worker per name (shared by the tests), with the token
    of tylib and a metrics token."""
    if name not in _started:
        data, models = volumes(name)
        e = {"TRAINYARD_DATA_DIR": data, "TRAINYARD_MODELS_DIR": models,
             "TRAINYARD_THREADS": "1", "TRAINYARD_METRICS_TOKEN":
             METRICS_TOKEN}
        e.update(env)
        _started[name] = Service(name, env=e).start()
    return _started[name]


def bearer(tok):
    return {"Authorization": "Bearer " + tok}


# ---- §1 the service token ------------------------------------------------

@test
def worker_routes_need_the_service_token():
    """Before: any caller could post jobs. Now 401 JSON without the token
    or with a wrong one, on every route but the probes."""
    routes = {
        "trainyard-preprocess": [("POST", "/jobs"), ("GET", "/jobs/x"),
                                 ("DELETE", "/jobs/x"), ("GET", "/nope")],
        "trainyard-train": [("POST", "/jobs"), ("GET", "/fed/hello"),
                            ("POST", "/fed/round"), ("GET", "/jobs/x")],
        "trainyard-infer": [("POST", "/predict"), ("GET", "/nope")],
    }
    wrong = [None, {"Authorization": "Bearer " + SERVICE_TOKEN[:-1] + "x"},
             {"Authorization": "Bearer "}, {"Authorization": SERVICE_TOKEN},
             {"Authorization": "Basic " + SERVICE_TOKEN},
             {"Authorization": "Bearer " + SERVICE_TOKEN + "x"},
             bearer(METRICS_TOKEN)]
    for name, rs in routes.items():
        s = worker(name)
        for method, path in rs:
            for h in wrong:
                r = request(s.port, method, path, body="{}", headers=h,
                            auth=False)
                check(r.status == 401, (name, method, path, h, r))
                check("TRAINYARD_SERVICE_TOKEN" in r.json()["error"], r)
            r = request(s.port, method, path, body="{}",
                        headers=bearer(SERVICE_TOKEN), auth=False)
            check(r.status != 401, (name, method, path, r))
        for path in ("/healthz", "/readyz"):
            r = request(s.port, "GET", path, auth=False)
            check(r.status == 200, (name, path, r))


@test
def worker_metrics_need_a_token():
    for name in WORKERS:
        s = worker(name)
        r = request(s.port, "GET", "/metrics", auth=False)
        check(r.status == 401, (name, r))
        for tok in (SERVICE_TOKEN, METRICS_TOKEN):
            r = request(s.port, "GET", "/metrics", headers=bearer(tok),
                        auth=False)
            check(r.status == 200 and b"trainyard_" in r.body, (name, r))


@test
def worker_without_token_refuses_to_start():
    data, models = volumes("notoken")
    env = dict(os.environ, TRAINYARD_DATA_DIR=data,
               TRAINYARD_MODELS_DIR=models)
    env.pop("TRAINYARD_SERVICE_TOKEN", None)
    env.pop("TRAINYARD_INSECURE_NO_TOKEN", None)
    import subprocess
    for name in WORKERS:
        env["TRAINYARD_PORT"] = str(free_port())
        p = subprocess.run([os.path.join(BIN, name)], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=20)
        check(p.returncode != 0, (name, p.returncode))
        check(b"TRAINYARD_SERVICE_TOKEN" in p.stdout, p.stdout)
    # on purpose: it starts, says so, and is open
    s = Service("trainyard-infer", env={
        "TRAINYARD_DATA_DIR": data, "TRAINYARD_MODELS_DIR": models,
        "TRAINYARD_SERVICE_TOKEN": "", "TRAINYARD_INSECURE_NO_TOKEN": "1"})
    s.start()
    try:
        r = request(s.port, "POST", "/predict", body="{}", auth=False)
        check(r.status == 400, r)
        check("TRAINYARD_INSECURE_NO_TOKEN" in s.log_text(), s.log_text())
    finally:
        s.stop()


# ---- §1 confinement of job paths ------------------------------------------

def small_zip(path, n=6):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with zipfile.ZipFile(path, "w") as z:
        for cls in ("cats", "dogs"):
            for i in range(n):
                z.writestr("ds/%s/%d.png" % (cls, i),
                           png(6, 6, 1, fill=40 if cls == "cats" else 200))


def refused(r, *words):
    check(r.status == 400, r)
    e = r.json()["error"]
    for w in words:
        check(w in e, (w, e))
    return e


@test
def prepare_output_cannot_wipe_uploads():
    """The issue's one request that wiped every user's uploads."""
    s = worker("trainyard-preprocess")
    data = s.env["TRAINYARD_DATA_DIR"]
    mine, other = (os.path.join(data, "uploads", d, "x.zip") for d in "12")
    small_zip(mine)
    small_zip(other)
    bodies = [
        ("w", "uploads"), ("w", "uploads/2"), ("w2", "prepared"),
        ("w3", "jobs"), ("w4", "prepared/other"), ("w5", "runs/w5"),
        ("w6", "prepared/w6/../../uploads"), ("run-7-prep", "prepared/8"),
    ]
    for jid, out in bodies:
        r = s.post("/jobs", {"job_id": jid, "kind": "prepare",
                             "dataset": "uploads/1/x.zip", "output": out})
        run = "7" if jid.startswith("run-7-") else jid
        # ".." is refused by the general volume rule, before confinement
        refused(r, out, *([] if ".." in out else
                          ["output", "refused", "prepared/" + run]))
        check(s.get("/jobs/" + jid).status == 404, "no job was created")
    time.sleep(0.3)
    check(os.path.exists(mine) and os.path.exists(other),
          "uploads untouched")
    # the form the web app uses still works, and marks its directory
    r = s.post("/jobs", {"job_id": "run-7-prep", "kind": "prepare",
                         "dataset": "uploads/1/x.zip",
                         "output": "prepared/7", "image": {
                             "width": 6, "height": 6, "channels": 1}})
    check(r.status == 202, r)
    wait_for(lambda: s.get("/jobs/run-7-prep").json()["status"] ==
             "succeeded", what="prepare run-7-prep")
    own = os.path.join(data, "prepared", "7", ".owner")
    check(open(own).read() == "run-7-prep", "owner file")
    # another job id may not take it over
    r = s.post("/jobs", {"job_id": "run-7-again", "kind": "prepare",
                         "dataset": "uploads/1/x.zip",
                         "output": "prepared/7"})
    refused(r, "not created by")
    check(os.path.exists(os.path.join(data, "prepared", "7", "train.tyd")))


@test
def train_output_cannot_overwrite_another_run():
    s = worker("trainyard-train")
    data, models = s.env["TRAINYARD_DATA_DIR"], s.env["TRAINYARD_MODELS_DIR"]
    from tylib import make_bars_set
    make_bars_set(os.path.join(data, "prepared"), "6", 30, 10, size=8)
    victim = os.path.join(models, "runs", "5", "model.tym")
    os.makedirs(os.path.dirname(victim), exist_ok=True)
    with open(victim, "wb") as f:
        f.write(b"another user's model")
    base = {"data": "prepared/6", "epochs": 1, "batch_size": 8,
            "model": {"arch": "linear"}}
    for jid, out in (("run-6-train", "runs/5"), ("run-6-train", "jobs"),
                     ("x", "runs"), ("x", "runs/x/../../jobs"),
                     ("x", "prepared/x"), ("run-5-train", "runs/5")):
        r = s.post("/jobs", dict(base, job_id=jid, output=out))
        refused(r, out)
        check(s.get("/jobs/" + jid).status == 404, "no job was created")
    time.sleep(0.3)
    check(open(victim, "rb").read() == b"another user's model",
          "the other run's model untouched")
    r = s.post("/jobs", dict(base, job_id="run-6-train", output="runs/6"))
    check(r.status == 202, r)
    wait_for(lambda: s.get("/jobs/run-6-train").json()["status"] ==
             "succeeded", what="train run-6-train", timeout=60)
    check(open(os.path.join(models, "runs", "6", ".owner")).read() ==
          "run-6-train")


@test
def job_inputs_are_confined():
    pre, tr, inf = (worker(n) for n in WORKERS)
    data = pre.env["TRAINYARD_DATA_DIR"]
    small_zip(os.path.join(data, "uploads", "1", "x.zip"))
    small_zip(os.path.join(data, "prepared", "3", "x.zip"))
    for ds in ("prepared/3/x.zip", "uploads/1", "uploads/.incoming/x.zip",
               "uploads/1/x.zip/", "up/1/x.zip"):
        for kind in ("inspect", "prepare"):
            r = pre.post("/jobs", {"job_id": "in-" + kind, "kind": kind,
                                   "dataset": ds,
                                   "output": "prepared/in-" + kind})
            refused(r, "dataset", "uploads/<dataset>/<file>")
    for d in ("uploads/1", "prepared/3/train.tyd", "runs/3", "prepared"):
        r = tr.post("/jobs", {"job_id": "t", "data": d, "output": "runs/t",
                              "model": {"arch": "linear"}})
        refused(r, "data", "prepared/<run>")
    for m in ("runs/3/checkpoint.tym", "jobs/x.json", "prepared/3/meta.json",
              "runs/3/model.tym/x", "model.tym"):
        r = inf.post("/predict", {"model": m, "images": [
            {"name": "a.png", "data": "AA=="}]})
        refused(r, "model", "runs/<run>/model.tym")


# ---- §1 bind addresses ----------------------------------------------------

def reachable(host, port):
    try:
        socket.create_connection((host, port), timeout=2).close()
        return True
    except OSError:
        return False


@test
def listen_address_is_honoured():
    """TRAINYARD_LISTEN binds one address (run.sh local: workers on
    127.0.0.1). 127.0.0.2 is loopback too, so both are testable here."""
    data, models = volumes("listen")
    env = {"TRAINYARD_DATA_DIR": data, "TRAINYARD_MODELS_DIR": models,
           "TRAINYARD_DB": os.path.join(TMP, "listen.db"),
           "TRAINYARD_LISTEN": "127.0.0.2"}
    for name in ("trainyard-infer", "trainyard-web"):
        s = Service(name, env=env).start(wait=False)
        try:
            wait_for(lambda: reachable("127.0.0.2", s.port), timeout=20,
                     what="%s on 127.0.0.2" % name)
            check(not reachable("127.0.0.1", s.port),
                  "%s answers on 127.0.0.1 too" % name)
        finally:
            s.stop()
    # the web app's default is unchanged: every interface
    s = Service("trainyard-web", env=dict(env, TRAINYARD_LISTEN="")).start()
    try:
        check(reachable("127.0.0.1", s.port) and
              reachable("127.0.0.2", s.port), "web on every interface")
    finally:
        s.stop()


# ---- §2 the web app --------------------------------------------------------

PW = "correct horse battery"
_webs = {}


def web(key="main", **env):
    """A web app (workers unreachable: these findings need none) per key."""
    if key not in _webs:
        d = tempdir("ty-sec-web-")
        e = {"TRAINYARD_PREPROCESS_URL": "http://127.0.0.1:9",
             "TRAINYARD_TRAIN_URL": "http://127.0.0.1:9",
             "TRAINYARD_INFER_URL": "http://127.0.0.1:9",
             "TRAINYARD_DATA_DIR": os.path.join(d, "data"),
             "TRAINYARD_MODELS_DIR": os.path.join(d, "models"),
             "TRAINYARD_DB": os.path.join(d, "db", "ty.db")}
        e.update({k: str(v) for k, v in env.items()})
        _webs[key] = Service("trainyard-web", env=e).start()
    return _webs[key]


_users = [0]


def new_user(port, prefix="s"):
    _users[0] += 1
    c = Client(port)
    c.name = "%s%d_%d" % (prefix, _users[0], os.getpid() % 1000)
    r = c.signup(c.name, PW)
    check(r.status == 303, r)
    c.get("/projects")
    return c


@test
def login_next_only_accepts_paths_of_this_app():
    """/login?next=%09/evil.example/ answered Location "/\t/evil.example/",
    which Chromium follows off-site."""
    port = web().port
    u = new_user(port)
    evil = ["%09/evil.example/", "/%09/evil.example/", "//evil.example/",
            "/%5Cevil.example/", "%5C%5Cevil.example", "/%0D%0ALocation:%20x",
            "/%0A/evil.example", "%2F%2Fevil.example", "/%2F/evil.example",
            "https://evil.example/", "/%20/evil.example", "/%7F/x",
            "/%C2%A0/evil.example", "/%252F%252Fevil.example",
            "javascript:alert(1)", "/x%23y"]
    for nxt in evil:
        c = Client(port)
        c.get("/login?next=" + nxt)
        r = c.post_form("/login?next=" + nxt,
                        {"username": u.name, "password": PW})
        check(r.status == 303 and r.header("Location") == "/projects",
              (nxt, r.headers))
        # the same through the form's hidden field
        import urllib.parse
        c = Client(port)
        c.get("/login")
        r = c.post_form("/login", {"username": u.name, "password": PW,
                                   "next": urllib.parse.unquote(nxt)})
        check(r.status == 303 and r.header("Location") == "/projects",
              (nxt, r.headers))
    c = Client(port)
    c.get("/login")
    r = c.post_form("/login?next=/projects/7/runs?x=1",
                    {"username": u.name, "password": PW})
    check(r.header("Location") == "/projects/7/runs?x=1", r.headers)


@test
def one_connection_two_requests():
    """Keep-alive is off: every answer must say Connection: close, or a
    client's second request on the connection fails."""
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", web().port, timeout=10)
    try:
        for path in ("/healthz", "/login", "/healthz"):
            c.request("GET", path)
            r = c.getresponse()
            r.read()
            check(r.status == 200, (path, r.status))
            check((r.getheader("Connection") or "").lower() == "close",
                  (path, r.getheaders()))
    finally:
        c.close()


@test
def foreign_ids_answer_404():
    """Cancel, delete and re-inspect of an id not in this project."""
    port = web().port
    a, b = new_user(port, "a"), new_user(port, "b")
    _, pa = a.create_project("mine")
    _, pb = b.create_project("theirs")
    b.get("/projects/%d" % pb)
    buf = __import__("io").BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("d/c/1.png", png(4, 4, 1))
    r = b.upload("/projects/%d/datasets" % pb, buf.getvalue(), "d.zip")
    check(r.status == 303, r)
    did = int(r.header("Location").split("/datasets/")[1].split("?")[0]
              .split("#")[0]) if "/datasets/" in r.header("Location") else 1
    a.get("/projects/%d" % pa)
    for path in ("/projects/%d/runs/999999/cancel" % pa,
                 "/projects/%d/runs/999999/delete" % pa,
                 "/projects/%d/datasets/%d/inspect" % (pa, did),
                 "/projects/%d/datasets/999999/inspect" % pa):
        r = a.post_form(path, {})
        check(r.status == 404, (path, r))


def login_as(port, user, password, xff=None):
    """One sign-in as a browser does it (the form's CSRF token first),
    through a proxy that says X-Forwarded-For: xff."""
    import urllib.parse
    c = Client(port)
    c.get("/login")
    h = c._headers({"Content-Type": "application/x-www-form-urlencoded"})
    if xff:
        h["X-Forwarded-For"] = xff
    body = urllib.parse.urlencode({"username": user, "password": password,
                                   "csrf": c.csrf})
    return request(port, "POST", "/login", body, headers=h)


def parallel(fn, args, workers=4):
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(workers) as ex:
        return list(ex.map(lambda a: fn(*a), args))


@test
def random_usernames_do_not_lock_out_everyone():
    """104 failed logins with random usernames from one address locked
    every user out for 15 min (behind the ingress all share one)."""
    port = web("proxy", TRAINYARD_TRUSTED_PROXIES="127.0.0.1, ::1").port
    victim = new_user(port, "v")
    rs = parallel(login_as, [(port, "nobody%d" % i, "wrong password",
                              "203.0.113.9") for i in range(104)])
    codes = [r.status for r in rs]
    check(codes.count(401) == 100 and codes.count(429) == 4, codes)
    # the attacker's address is throttled...
    r = login_as(port, victim.name, PW, "203.0.113.9")
    check(r.status == 429, r)
    # ...everyone else signs in
    r = login_as(port, victim.name, PW, "198.51.100.7")
    check(r.status == 303, r)


@test
def locked_username_signs_in_from_another_address():
    port = web("proxy", TRAINYARD_TRUSTED_PROXIES="127.0.0.1, ::1").port
    v = new_user(port, "lock")
    for i in range(5):
        r = login_as(port, v.name, "wrong %d" % i, "192.0.2.1")
        check(r.status == 401, r)
    r = login_as(port, v.name, PW, "192.0.2.1")
    check(r.status == 429 and int(r.header("Retry-After")) > 0, r)
    r = login_as(port, v.name, PW, "192.0.2.2")
    check(r.status == 303, r)
    # a spoofed entry left of the proxy's own is not believed
    for i in range(5):
        r = login_as(port, v.name, "wrong", "10.%d.0.1, 192.0.2.3" % i)
        check(r.status == 401, r)
    r = login_as(port, v.name, PW, "10.99.0.1, 192.0.2.3")
    check(r.status == 429, r)


@test
def forwarded_for_is_ignored_without_trusted_proxies():
    port = web().port
    v = new_user(port, "xff")
    for i in range(5):
        r = login_as(port, v.name, "wrong %d" % i, "192.0.2.%d" % (10 + i))
        check(r.status == 401, r)
    r = login_as(port, v.name, PW, "192.0.2.99")
    check(r.status == 429, r)


@test
def concurrent_wrong_logins_count_before_hashing():
    """30 concurrent wrong logins for one user gave 20 attempts, not 5."""
    port = web().port
    v = new_user(port, "race")
    rs = parallel(login_as, [(port, v.name, "wrong password %d" % i)
                             for i in range(30)], workers=30)
    codes = [r.status for r in rs]
    check(codes.count(401) <= 5 and codes.count(401) + codes.count(429) ==
          30, codes)


@test
def cookies_are_secure_when_told_so():
    """TRAINYARD_COOKIE_SECURE=1 (the k8s ConfigMap): Secure on every
    cookie; unset (a local run over http): not."""
    for key, env, want in (("secure", {"TRAINYARD_COOKIE_SECURE": 1}, True),
                           ("main", {}, False)):
        port = web(key, **env).port
        c = Client(port)
        r = c.get("/login")
        cookies = r.headers_all("Set-Cookie")
        r = c.post_form("/signup", {"username": "ck%s%d" % (key, os.getpid()
                                                          % 1000),
                                    "password": PW})
        cookies += r.headers_all("Set-Cookie")
        check(len(cookies) >= 2, cookies)
        check(all(("; Secure" in h) == want for h in cookies), cookies)


# ---- §2 slow clients ---------------------------------------------------------

class Drip:
    """n connections that each send one header byte every `every` s (a
    slowloris); close() stops them. `closed` counts those the server
    ended (EOF, reset, or an error answer)."""

    def __init__(self, port, n, every=1.0, head=None):
        self.stop = threading.Event()
        self.closed = 0
        self.lock = threading.Lock()
        self.head = head or (b"GET /healthz HTTP/1.1\r\nHost: x\r\n" +
                             b"X-Pad: " + b"a" * 200)
        self.socks = [socket.create_connection(("127.0.0.1", port),
                                               timeout=5) for _ in range(n)]
        self.th = threading.Thread(target=self.run, args=(every,),
                                   daemon=True)
        self.th.start()

    def run(self, every):
        i = 0
        live = list(self.socks)
        while live and not self.stop.is_set() and i < len(self.head):
            for k in list(live):
                try:
                    k.send(self.head[i:i + 1])
                    k.setblocking(False)
                    try:
                        if k.recv(100) is not None:
                            raise ConnectionResetError  # EOF or answer
                    except BlockingIOError:
                        pass
                    k.setblocking(True)
                except OSError:
                    live.remove(k)
                    with self.lock:
                        self.closed += 1
            i += 1
            self.stop.wait(every)

    def close(self):
        self.stop.set()
        self.th.join(10)
        for k in self.socks:
            k.close()


def quick_healthz(port, tries=3, limit=3.0):
    for _ in range(tries):
        t0 = time.time()
        r = request(port, "GET", "/healthz", timeout=limit, auth=False)
        check(r.status == 200, r)
        check(time.time() - t0 < limit, "healthz took %.1fs" %
              (time.time() - t0))
        time.sleep(0.3)


def survive_drip(port, n):
    """n dripping connections: /healthz still answers at once, and the
    head deadline ends every one of them."""
    d = Drip(port, n)
    try:
        time.sleep(1.0)
        quick_healthz(port)
        wait_for(lambda: d.closed == n, timeout=30,
                 what="the server to drop the slow connections")
    finally:
        d.close()


@test
def slowloris_leaves_web_healthz_answering():
    """16 connections sending 1 byte every 4 s held every CivetWeb thread;
    /healthz timed out. Now: more threads, and a header deadline."""
    survive_drip(web("slow", TRAINYARD_REQUEST_TIMEOUT_MS=8000).port, 20)


@test
def slowloris_leaves_worker_healthz_answering():
    """The workers failed at 60 slow connections (16 threads)."""
    data, models = volumes("slowworker")
    s = Service("trainyard-infer", env={
        "TRAINYARD_DATA_DIR": data, "TRAINYARD_MODELS_DIR": models,
        "TRAINYARD_REQUEST_TIMEOUT_MS": "8000"}).start()
    try:
        survive_drip(s.port, 40)
    finally:
        s.stop()


def slow_body(port, head, body, rate, seconds):
    """Sends head, then body at `rate` bytes/s for at most `seconds`;
    returns the status line's code the server answered with (or None)."""
    k = socket.create_connection(("127.0.0.1", port), timeout=5)
    k.sendall(head)
    got, t0, i = b"", time.time(), 0
    try:
        while time.time() - t0 < seconds and i < len(body):
            k.sendall(body[i:i + max(1, rate // 4)])
            i += max(1, rate // 4)
            k.setblocking(False)
            try:
                got += k.recv(4096)
            except BlockingIOError:
                pass
            k.setblocking(True)
            if got:
                break
            time.sleep(0.25)
        k.settimeout(5)
        while b"\r\n" not in got:
            b = k.recv(4096)
            if not b:
                break
            got += b
    except OSError:
        pass
    finally:
        k.close()
    return int(got.split(b" ")[1]) if got.startswith(b"HTTP/") else None


@test
def slow_upload_is_cut_with_408():
    s = web("pace", TRAINYARD_BODY_MIN_RATE=1024,
            TRAINYARD_BODY_RATE_WINDOW_S=2)
    u = new_user(s.port, "pace")
    _, pid = u.create_project("slow")
    u.get("/projects/%d" % pid)
    from tylib import multipart
    body, ctype = multipart({"csrf": u.csrf},
                            [("file", "d.zip", b"PK" + b"x" * 20000,
                              "application/zip")])
    head = ("POST /projects/%d/datasets HTTP/1.1\r\nHost: x\r\n"
            "Content-Type: %s\r\nContent-Length: %d\r\n%s\r\n" % (
                pid, ctype, len(body), "".join(
                    "%s: %s\r\n" % kv for kv in u._headers().items())))
    t0 = time.time()
    st = slow_body(s.port, head.encode(), body, 200, 12)
    check(st == 408, (st, "after %.1fs" % (time.time() - t0)))
    check(time.time() - t0 < 10, "cut after %.1fs" % (time.time() - t0))
    # nothing was kept
    page = u.get("/projects/%d" % pid).text
    check("d.zip" not in page, "the cut upload is listed")
    # a normal upload right after is fine
    quick_healthz(s.port, tries=1)


@test
def slow_worker_body_is_cut_with_408():
    data, models = volumes("paceworker")
    s = Service("trainyard-infer", env={
        "TRAINYARD_DATA_DIR": data, "TRAINYARD_MODELS_DIR": models,
        "TRAINYARD_BODY_MIN_RATE": "1024",
        "TRAINYARD_BODY_RATE_WINDOW_S": "2"}).start()
    try:
        body = b'{"model": "runs/1/model.tym", "images": [{"data": "' + \
            b"A" * 20000 + b'"}]}'
        head = ("POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: "
                "application/json\r\nAuthorization: Bearer %s\r\n"
                "Content-Length: %d\r\n\r\n" % (SERVICE_TOKEN, len(body)))
        t0 = time.time()
        st = slow_body(s.port, head.encode(), body, 200, 12)
        check(st == 408, (st, "after %.1fs" % (time.time() - t0)))
        quick_healthz(s.port, tries=1)
    finally:
        s.stop()


if __name__ == "__main__":
    run_all()
