#!/usr/bin/python3
"""The checks of `make test-k8s` once the pods are played: every pod ready
by its own readiness probe, then a small preprocess -> train -> predict
through the workers' HTTP ports, the model file on the models volume, and
the same through the web pod (sign in as the Secret's admin, project,
upload, run, predict) as far as the web app has those pages.

  pipeline.py PODS_FILE DATA_MOUNTPOINT MODELS_MOUNTPOINT ADMIN_PASSWORD

PODS_FILE: lines "NAME IP PORT READY_PATH" (from podman.mjs). Ends with
"N passed, N failed"; SKIP lines are checks of pages the web does not have
yet, not counted."""
import base64
import http.cookiejar
import io
import json
import os
import random
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "http"))
from pngmake import png  # noqa: E402

PASS = FAIL = 0
UID = 10001
S = 20
CLASSES = ["hbar", "vbar", "square"]


def check(name, ok, detail=""):
    global PASS, FAIL
    if ok:
        PASS += 1
        print("PASS", name, flush=True)
    else:
        FAIL += 1
        print("FAIL", name, (": " + str(detail)[:300]) if detail else "",
              flush=True)
    return ok


def skip(name, why):
    print("SKIP", name, "(" + why + ")", flush=True)


TOKEN = None  # the service token of Secret trainyard-service
TRAIN0 = "train-0"  # the StatefulSet's first replica (tests/k8s/podman.mjs)


def hreq(method, url, body=None, headers=None, opener=None, timeout=30):
    """(status, headers, bytes); never raises for an HTTP status. Without
    an opener (a call straight to a worker) it carries the service token."""
    if TOKEN and opener is None:
        headers = dict(headers or {},
                       **{"Authorization": "Bearer " + TOKEN})
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
        headers = dict(headers or {}, **{"Content-Type": "application/json"})
    req = urllib.request.Request(url, data=body, method=method,
                                 headers=headers or {})
    try:
        r = (opener or urllib.request.build_opener()).open(req, timeout=timeout)
        return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()
    except (urllib.error.URLError, OSError) as e:
        return 0, {}, str(e).encode()


def shape(c, rnd):
    """A 20x20 gray image of class c: a bright bar or square on noise."""
    im = bytearray(rnd.randrange(40) for _ in range(S * S))
    a, b = rnd.randrange(2, S - 6), rnd.randrange(2, S - 6)
    for k in range(S):
        if c == 0:
            im[a * S + k] = im[(a + 1) * S + k] = 250
        elif c == 1:
            im[k * S + a] = im[k * S + a + 1] = 250
    if c == 2:
        for y in range(6):
            for x in range(6):
                im[(a + y) * S + b + x] = 250
    return png(S, S, 1, bytes(im))


def dataset_zip(per_class=60):
    rnd = random.Random(42)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for c, name in enumerate(CLASSES):
            for i in range(per_class):
                z.writestr("shapes/%s/%03d.png" % (name, i), shape(c, rnd))
    return buf.getvalue()


def wait_job(base, jid, timeout=300):
    t0 = time.time()
    rec = {}
    while time.time() - t0 < timeout:
        st, _, b = hreq("GET", "%s/jobs/%s" % (base, jid))
        if st == 200:
            rec = json.loads(b)
            if rec.get("status") in ("succeeded", "failed", "cancelled"):
                return rec
        time.sleep(0.5)
    return dict(rec, status="timeout")


def test_images(rnd, n=3):
    out = []
    for c, name in enumerate(CLASSES):
        for i in range(n):
            out.append({"name": "%s-%d.png" % (name, i), "class": name,
                        "png": shape(c, rnd)})
    return out


# --- readiness ----------------------------------------------------------------

def pods_ready(pods, timeout=120):
    for name, (ip, port, path) in pods.items():
        st, b, t0 = 0, b"", time.time()
        while time.time() - t0 < timeout:
            st, _, b = hreq("GET", "http://%s:%s%s" % (ip, port, path),
                            timeout=3)
            if st == 200:
                break
            time.sleep(0.5)
        check("pod %s ready (GET %s on %s:%s)" % (name, path, ip, port),
              st == 200, b.decode(errors="replace"))
        check("pod %s alive (GET /healthz)" % name,
              hreq("GET", "http://%s:%s/healthz" % (ip, port))[0] == 200)
        st, _, b = hreq("GET", "http://%s:%s/metrics" % (ip, port))
        check("pod %s serves Prometheus /metrics" % name,
              st == 200 and b"# TYPE" in b, b[:100])


# --- the workers, directly ------------------------------------------------------

def workers_pipeline(pods, data_dir, models_dir):
    url = {n: "http://%s:%s" % (ip, port) for n, (ip, port, _) in pods.items()}
    url["train"] = url[TRAIN0]  # jobs posted straight to one replica
    up = os.path.join(data_dir, "uploads", "k8s-test")
    os.makedirs(up, exist_ok=True)
    with open(os.path.join(up, "shapes.zip"), "wb") as f:
        f.write(dataset_zip())
    for d, _, files in os.walk(os.path.join(data_dir, "uploads")):
        os.chown(d, UID, UID)
        for x in files:
            os.chown(os.path.join(d, x), UID, UID)

    rec = {}
    st, _, b = hreq("POST", url["preprocess"] + "/jobs", {
        "job_id": "run-9000-prep", "kind": "prepare",
        "dataset": "uploads/k8s-test/shapes.zip", "output": "prepared/9000",
        "image": {"width": S, "height": S, "channels": 1},
        "val_fraction": 0.2, "seed": 1})
    if check("preprocess accepts the prepare job (202)", st == 202, b):
        rec = wait_job(url["preprocess"], "run-9000-prep")
        check("preprocess job succeeded", rec.get("status") == "succeeded", rec)
    prepared = os.path.join(data_dir, "prepared", "9000")
    check("prepared tensors are on the data volume",
          all(os.path.isfile(os.path.join(prepared, f))
              for f in ("train.tyd", "val.tyd", "meta.json")),
          os.listdir(prepared) if os.path.isdir(prepared) else "no dir")

    st, _, b = hreq("POST", url["train"] + "/jobs", {
        "job_id": "run-9000-train", "data": "prepared/9000",
        "output": "runs/9000", "model": {"arch": "mlp", "hidden": [32]},
        "epochs": 4, "batch_size": 16, "optimizer": "adam", "lr": 0.01,
        "seed": 1})
    rec = {}
    if check("train accepts the job (202)", st == 202, b):
        rec = wait_job(url["train"], "run-9000-train")
        check("train job succeeded", rec.get("status") == "succeeded", rec)
    model = os.path.join(models_dir, "runs", "9000", "model.tym")
    ok = os.path.isfile(model)
    if ok:
        with open(model, "rb") as f:
            ok = f.read(4) == b"TYM1"
    check("model.tym (magic TYM1) is on the models volume", ok, model)
    check("job records are on the models volume, under the replica's name",
          os.path.isfile(os.path.join(models_dir, "jobs", TRAIN0,
                                      "run-9000-train.json")))

    if "train-1" in pods:
        # A parallel run: train-0 coordinates, train-1 (found through the
        # headless Service train) trains the other shard.
        st, _, b = hreq("POST", url["train"] + "/jobs", {
            "job_id": "run-9001-train", "data": "prepared/9000",
            "output": "runs/9001", "model": {"arch": "mlp", "hidden": [32]},
            "epochs": 3, "batch_size": 16, "optimizer": "adam", "lr": 0.01,
            "seed": 1, "workers": 2})
        rec = {}
        if check("train accepts a workers=2 job (202)", st == 202, b):
            rec = wait_job(url["train"], "run-9001-train")
            check("workers=2 job succeeded", rec.get("status") == "succeeded", rec)
        res = rec.get("result") or {}
        check("workers=2: weights travelled to the train-1 pod and back",
              res.get("workers") == 2 and res.get("rounds", 0) > 0 and
              res.get("bytes_per_round", 0) > 0, res.get("messages"))
        check("workers=2: its model is on the models volume",
              os.path.isfile(os.path.join(models_dir, "runs", "9001",
                                          "model.tym")))

    if "infer" not in pods:
        return
    rnd = random.Random(7)
    imgs = test_images(rnd)
    st, _, b = hreq("POST", url["infer"] + "/predict", {
        "model": "runs/9000/model.tym", "top_k": 2,
        "images": [{"name": i["name"], "data": base64.b64encode(i["png"]).decode()}
                   for i in imgs]})
    if not check("infer answers /predict (200)", st == 200, b):
        return
    preds = json.loads(b).get("predictions", [])
    check("infer: one prediction per image, labels from the classes",
          len(preds) == len(imgs) and all(p.get("label") in CLASSES for p in preds),
          preds[:2])
    right = sum(p.get("label") == i["class"] for p, i in zip(preds, imgs))
    check("infer: the model learnt the shapes (%d/%d right)" % (right, len(imgs)),
          right >= len(imgs) * 2 // 3)


# --- the web pod ------------------------------------------------------------------

CSRF_RE = re.compile(rb'name="csrf" value="([0-9a-f]+)"')


class Web:
    def __init__(self, base):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar))
        self.csrf = None
        self.last_url = None

    def _keep(self, st, h, b, url):
        m = CSRF_RE.search(b)
        if m:
            self.csrf = m.group(1).decode()
        return st, h, b

    def get(self, path):
        st, h, b = hreq("GET", self.base + path, opener=self.opener)
        return self._keep(st, h, b, path)

    def form(self, path, fields):
        body = urllib.parse.urlencode(dict(fields, csrf=self.csrf)).encode()
        req = urllib.request.Request(
            self.base + path, data=body, method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded"})
        return self._send(req)

    def multipart(self, path, fields, files):
        bnd = "----trainyard%d" % random.randrange(10 ** 9)
        parts = []
        for k, v in dict(fields, csrf=self.csrf).items():
            parts.append(('--%s\r\nContent-Disposition: form-data; name="%s"'
                          '\r\n\r\n%s\r\n' % (bnd, k, v)).encode())
        for k, name, data, ctype in files:
            parts.append(('--%s\r\nContent-Disposition: form-data; name="%s"; '
                          'filename="%s"\r\nContent-Type: %s\r\n\r\n'
                          % (bnd, k, name, ctype)).encode() + data + b"\r\n")
        body = b"".join(parts) + ("--%s--\r\n" % bnd).encode()
        req = urllib.request.Request(
            self.base + path, data=body, method="POST",
            headers={"Content-Type": "multipart/form-data; boundary=" + bnd})
        return self._send(req)

    def _send(self, req):
        try:
            r = self.opener.open(req, timeout=60)
            self.last_url = r.geturl()
            return self._keep(r.status, r.headers, r.read(), None)
        except urllib.error.HTTPError as e:
            self.last_url = e.geturl()
            return e.code, e.headers, e.read()
        except (urllib.error.URLError, OSError) as e:
            return 0, {}, str(e).encode()


def web_pipeline(pods, models_dir, password):
    ip, port, _ = pods["web"]
    w = Web("http://%s:%s" % (ip, port))
    w.get("/login")
    st, _, b = w.form("/login", {"username": "admin", "password": password})
    check("web: the admin of the Secret signs in", st == 200 and
          "/login" not in (w.last_url or ""), (st, w.last_url))
    w.get("/projects")
    st, _, b = w.form("/projects", {"name": "k8s-test",
                                    "description": "made by make test-k8s"})
    m = re.search(r"/projects/(\d+)$", w.last_url or "")
    if not check("web: creates a project", st == 200 and m, (st, w.last_url)):
        return
    pid = m.group(1)
    st, _, b = w.multipart("/projects/%s/datasets" % pid, {}, [
        ("file", "shapes.zip", dataset_zip(30), "application/zip")])
    # The answer is the dataset's page or the project page linking to it.
    page = b.decode(errors="replace")
    m = (re.search(r"/datasets/(\d+)|[?&]uploaded=(\d+)", w.last_url or "")
         or re.search(r"/projects/%s/datasets/(\d+)" % pid, page)
         or re.search(r'name="dataset_id"[^>]*>\s*<option value="(\d+)"', page))
    if not check("web: uploads the dataset (into the data volume)",
                 st == 200 and m, (st, w.last_url, b[:200])):
        return
    did = next(g for g in m.groups() if g)
    t0, ok = time.time(), False
    while time.time() - t0 < 120 and not ok:
        st, _, b = w.get("/projects/%s/datasets/%s" % (pid, did))
        ok = st == 200 and all(c.encode() in b for c in CLASSES)
        if not ok:
            time.sleep(1)
    check("web: dataset page shows the classes (preprocess inspected it)", ok,
          b[-300:])

    w.get("/projects/%s" % pid)
    st, _, b = w.form("/projects/%s/runs" % pid, {
        "dataset_id": did, "arch": "mlp", "epochs": "3",
        "image_size": "%dx%dx1" % (S, S), "seed": "1"})
    if st in (404, 405):
        skip("web: run, model and predict", "the web has no runs page yet")
        return
    m = re.search(r"/runs/(\d+)", w.last_url or "")
    if not check("web: starts a run", st == 200 and m, (st, w.last_url)):
        return
    rid = m.group(1)
    # a second run at once: the web app places it on the other replica
    w.get("/projects/%s" % pid)
    st, _, b = w.form("/projects/%s/runs" % pid, {
        "dataset_id": did, "arch": "mlp", "epochs": "3",
        "image_size": "%dx%dx1" % (S, S), "seed": "2"})
    m2 = re.search(r"/runs/(\d+)", w.last_url or "")
    check("web: starts a second run", st == 200 and m2, (st, w.last_url))
    rids = [rid] + ([m2.group(1)] if m2 else [])
    for r in rids:
        t0, text = time.time(), b""
        while time.time() - t0 < 300:
            st, _, text = w.get("/projects/%s/runs/%s" % (pid, r))
            if re.search(rb"succeeded|failed|cancelled", text):
                break
            time.sleep(2)
        check("web: run %s succeeds (preprocess and train pods via their "
              "Services)" % r, b"succeeded" in text, text[-300:])
    homes = {r: [p for p in sorted(pods) if p.startswith("train-") and
                 os.path.isfile(os.path.join(models_dir, "jobs", p,
                                             "run-%s-train.json" % r))]
             for r in rids}
    check("web: the two runs were placed on different train replicas",
          len(rids) == 2 and all(len(h) == 1 for h in homes.values()) and
          homes[rids[0]] != homes[rids[1]], homes)
    st, h, body = w.get("/projects/%s/runs/%s/model" % (pid, rid))
    check("web: the model downloads from the models volume",
          st == 200 and body[:4] == b"TYM1", (st, body[:20]))
    m = re.search(rb'name="model_id" value="(\d+)"', w.get(
        "/projects/%s/predict" % pid)[2]) or re.search(
        rb'<option value="(\d+)"', w.get("/projects/%s/predict" % pid)[2])
    if not check("web: the predict page offers the model", m):
        return
    rnd = random.Random(9)
    imgs = test_images(rnd, 1)
    st, _, b = w.multipart("/projects/%s/predict" % pid,
                           {"model_id": m.group(1).decode()},
                           [("images", i["name"], i["png"], "image/png")
                            for i in imgs])
    check("web: predictions come back from the infer pod",
          st == 200 and all(i["name"].encode() in b for i in imgs) and
          any(c.encode() in b for c in CLASSES), (st, b[-300:]))


def main():
    global TOKEN
    pods_file, data_dir, models_dir, password = sys.argv[1:5]
    TOKEN = sys.argv[5] if len(sys.argv) > 5 else None
    pods = {}
    with open(pods_file) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                name, ip, port, path = line.split()
                pods[name] = (ip, port, path)
    pods_ready(pods)
    workers_pipeline(pods, data_dir, models_dir)
    if "web" in pods:
        web_pipeline(pods, models_dir, password)
    print("%d passed, %d failed" % (PASS, FAIL))
    sys.exit(1 if FAIL else 0)


if __name__ == "__main__":
    main()
