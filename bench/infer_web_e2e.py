#!/usr/bin/python3
"""The web API end to end for bench_infer.sh: the real web app, infer and
preprocess workers (the test helpers of tests/http/wdlib.py), a user, a
project, the benchmark's model registered as that project's model, an API
token; then POST /api/v1/projects/{id}/predict with one PNG, N sequential
requests, and once with 256 PNGs. Prints one JSON line. With "tta" the
sequential requests are timed twice, without and with test-time
augmentation (p50_ms / tta_p50_ms), and the same single image is also
sent to the infer worker directly (worker_p50_ms, and the worker's own
"ms" of its answer, worker_own_p50_ms): where the time goes.

    infer_web_e2e.py MODEL_FILE REQ_DIR N [tta]
"""
import base64
import json
import os
import re
import shutil
import sys
import time
import http.client

ROOT = os.environ.get("ROOT") or os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "http"))
from wdlib import Stack, add_model  # noqa: E402

TOKEN_RE = re.compile(r'id="token-value">(ty_[A-Za-z0-9_-]{43})<')


def timed_post(port, path, body, hdr, who):
    """One POST on a new connection: (seconds, answer bytes)."""
    cn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    t0 = time.perf_counter()
    cn.request("POST", path, body, hdr)
    r = cn.getresponse()
    data = r.read()
    dt = time.perf_counter() - t0
    cn.close()
    if r.status != 200:
        raise SystemExit("%s: %d %s" % (who, r.status, data[:300]))
    return dt, data


def direct(port, images, n):
    """The infer worker without the web app in front: wall time and the
    worker's own time, p50 over n sequential requests."""
    body = json.dumps({"model": "runs/cnn/model.tym", "top_k": 3,
                       "images": images}).encode()
    hdr = {"Content-Type": "application/json", "Authorization":
           "Bearer " + os.environ["TRAINYARD_SERVICE_TOKEN"]}
    walls, own = [], []
    for i in range(n + 30):
        dt, data = timed_post(port, "/predict", body, hdr, "infer")
        if i >= 30:
            walls.append(dt)
            own.append(json.loads(data)["ms"])
    walls.sort()
    own.sort()
    return {"worker_p50_ms": 1e3 * walls[n // 2],
            "worker_own_p50_ms": own[n // 2]}


def main():
    model_file, req_dir, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    want_tta = sys.argv[4:5] == ["tta"]
    S = Stack("ty-bench-web-")
    dst = os.path.join(S.models, "runs", "cnn", "model.tym")
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    shutil.copy(model_file, dst)
    S.start_pre()
    S.start_infer(TRAINYARD_THREADS=os.environ.get("THREADS", "2"))
    S.start_web()
    try:
        c = S.user("bench")
        _, pid = c.create_project("bench")
        mid = add_model(S, pid, "runs/cnn/model.tym", 0.8)
        c.get("/account")
        m = TOKEN_RE.search(c.post_form("/account/tokens",
                                        {"name": "bench"}).text)
        tok = m.group(1)
        single = json.load(open(os.path.join(req_dir, "single.json")))
        batch = json.load(open(os.path.join(req_dir, "batch256.json")))
        path = "/api/v1/projects/%d/predict" % pid
        hdr = {"Content-Type": "application/json",
               "Authorization": "Bearer " + tok}

        def post(images, tta=False):
            q = {"model_id": mid, "top_k": 3, "images": images}
            if tta:
                q["tta"] = True
            return timed_post(S.web.port, path, json.dumps(q).encode(),
                              hdr, "web API")[0]
        for _ in range(30):
            post(single["images"])
        lat = sorted(post(single["images"]) for _ in range(n))
        out = {}
        if want_tta:
            for _ in range(30):
                post(single["images"], True)
            tl = sorted(post(single["images"], True) for _ in range(n))
            out = {"tta_p50_ms": 1e3 * tl[n // 2],
                   "tta_p99_ms": 1e3 * tl[int(n * 0.99)]}
            out.update(direct(S.infer.port, single["images"], n))
        # the web API takes at most 64 images per request
        b64 = batch["images"][:64]
        post(b64)
        bt = sorted(post(b64) for _ in range(5))
        out.update({"n": n, "p50_ms": 1e3 * lat[n // 2],
                    "p99_ms": 1e3 * lat[int(n * 0.99)],
                    "batch64_s": bt[2]})
        print(json.dumps(out))
    finally:
        for s in (S.web, S.infer, S.pre):
            if s:
                s.stop()


main()
