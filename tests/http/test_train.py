#!/usr/bin/python3
"""HTTP tests of trainyard-train: the job API (validation, idempotent ids,
progress fields, cancel) and resume after SIGKILL ending with the same model
bytes as an uninterrupted run. Data: a small synthetic .tyd set written
here (layout of lib/engine/tensor.h)."""
import atexit
import json
import os
import random
import shutil
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tylib import Service, check, run_all, tempdir, test, wait_for  # noqa

ROOTDIR = tempdir("ty-train-http-")
atexit.register(shutil.rmtree, ROOTDIR, True)
DATA = os.path.join(ROOTDIR, "data")
MODELS = os.path.join(ROOTDIR, "models")
S = 20


def write_tyd(path, labels, pixels):
    n = len(labels)
    off = 32 + ((2 * n + 63) // 64) * 64
    with open(path, "wb") as f:
        f.write(b"TYD1" + struct.pack("<7I", 1, n, S, S, 1, 3, 0))
        f.write(struct.pack("<%dH" % n, *labels))
        f.write(b"\0" * (off - 32 - 2 * n))
        f.write(pixels)


def make_set(name, ntr, nva):
    """Class 0: a horizontal bar, 1: a vertical bar, 2: a square."""
    d = os.path.join(DATA, name)
    os.makedirs(d, exist_ok=True)
    rnd = random.Random(7)
    for split, n in (("train", ntr), ("val", nva)):
        labels, px = [], bytearray()
        for _ in range(n):
            c = rnd.randrange(3)
            im = bytearray(rnd.randrange(50) for _ in range(S * S))
            a, b = rnd.randrange(1, S - 5), rnd.randrange(1, S - 5)
            for k in range(S):
                if c == 0:
                    im[a * S + k] = 250
                elif c == 1:
                    im[k * S + a] = 250
            if c == 2:
                for y in range(4):
                    for x in range(4):
                        im[(a + y) * S + b + x] = 250
            labels.append(c)
            px += im
        write_tyd(os.path.join(d, split + ".tyd"), labels, bytes(px))
    with open(os.path.join(d, "meta.json"), "w") as f:
        json.dump({"classes": ["h", "v", "sq"], "mean": [0.15],
                   "std": [0.25], "image": {"width": S, "height": S,
                                            "channels": 1}}, f)


make_set("prepared/syn", 1200, 200)
ENV = {"TRAINYARD_DATA_DIR": DATA, "TRAINYARD_MODELS_DIR": MODELS,
       "TRAINYARD_THREADS": "1"}
svc = Service("trainyard-train", env=ENV).start()


def params(job_id, output, epochs=4, **kw):
    p = {"job_id": job_id, "data": "prepared/syn", "output": output,
         "model": {"arch": "cnn", "conv": [8, 16], "hidden": [32]},
         "epochs": epochs, "batch_size": 16, "optimizer": "adam",
         "lr": 0.003, "seed": 5, "augment": True}
    p.update(kw)
    return p


def job(s, jid):
    r = s.get("/jobs/" + jid)
    check(r.status == 200, r)
    return r.json()


def done(s, jid, timeout=300):
    return wait_for(lambda: job(s, jid)["status"] not in ("queued", "running")
                    and job(s, jid), timeout=timeout, what=jid)


@test
def bad_params_are_400():
    rows = [({"data": "/etc", "output": "x"}, "relative"),
            ({"data": "a/../../etc", "output": "x"}, "data"),
            ({"data": "prepared/syn", "output": "x", "workers": 65}, "workers"),
            ({"data": "prepared/syn", "output": "x", "lr": "fast"}, "lr"),
            ({"data": "prepared/syn", "output": "x", "model": {"arch": "gpt"}}, "arch")]
    for i, (p, want) in enumerate(rows):
        p["job_id"] = "bad-%d" % i
        r = svc.post("/jobs", p)
        check(r.status == 400, (p, r))
        check(want in r.json()["error"], (want, r.json()))
        check(svc.get("/jobs/bad-%d" % i).status == 404)


@test
def trains_and_reports():
    r = svc.post("/jobs", params("t1", "runs/t1"))
    check(r.status == 202, r)
    again = svc.post("/jobs", params("t1", "runs/other"))
    check(again.status == 200, again)
    check(again.json()["job_id"] == "t1")
    j = done(svc, "t1")
    check(j["status"] == "succeeded", j)
    res = j["result"]
    check(len(res["epochs"]) == 4, res["epochs"])
    for e in res["epochs"]:
        for k in ("epoch", "train_loss", "train_acc", "val_loss", "val_acc",
                  "seconds"):
            check(k in e, (k, e))
    check(res["val_acc"] > 0.9, res["val_acc"])
    check(res["model"] == "runs/t1/model.tym", res["model"])
    check(len(res["confusion"]) == 3 and len(res["per_class"]) == 3)
    check(res["images_per_second"] > 0)
    check(j["progress"] == 1.0, j["progress"])
    with open(os.path.join(MODELS, "runs/t1/metrics.json")) as f:
        m = json.load(f)
    check(m["confusion"] == res["confusion"])
    with open(os.path.join(MODELS, "runs/t1/model.tym"), "rb") as f:
        check(f.read(4) == b"TYM1")
    check(not os.path.exists(os.path.join(MODELS, "runs/other")))
    # per-image predictions beside the metrics: they add up to the matrix
    check(res["predictions"] == "runs/t1/predictions.json", res)
    with open(os.path.join(MODELS, "runs/t1/predictions.json")) as f:
        p = json.load(f)
    check(p["split"] == "val" and p["top"] == 3, p.get("split"))
    cm = [[0] * 3 for _ in range(3)]
    for i, (index, t, pred, top) in enumerate(p["rows"]):
        check(index == i and top[0][0] == pred and len(top) == 3, top)
        check(top[0][1] >= top[1][1] >= top[2][1], top)
        cm[t][pred] += 1
    check(cm == res["confusion"], (cm, res["confusion"]))


@test
def progress_then_cancel():
    check(svc.post("/jobs", params("c1", "runs/c1", epochs=500)).status == 202)
    j = wait_for(lambda: (lambda j: j if j["result"].get("live") and
                          j["result"].get("epochs") else None)(job(svc, "c1")),
                 timeout=120, what="progress")
    live = j["result"]["live"]
    for k in ("epoch", "batch", "batches", "images_per_second", "eta_seconds"):
        check(k in live, (k, live))
    check(j["status"] == "running" and 0 < j["progress"] < 1, j)
    check("images/s" in j["message"], j["message"])
    r = svc.delete("/jobs/c1")
    check(r.status in (200, 202), r)
    j = done(svc, "c1", timeout=30)
    check(j["status"] == "cancelled", j)
    d = os.path.join(MODELS, "runs/c1")
    check(os.path.exists(os.path.join(d, "checkpoint.tym")))
    check(not os.path.exists(os.path.join(d, "model.tym")))


@test
def sigkill_resume_gives_the_same_model():
    global svc
    check(svc.post("/jobs", params("ref", "runs/ref", epochs=6)).status == 202)
    check(done(svc, "ref")["status"] == "succeeded")
    check(svc.post("/jobs", params("k1", "runs/k1", epochs=6)).status == 202)
    wait_for(lambda: len(job(svc, "k1")["result"].get("epochs", [])) >= 2,
             timeout=120, what="two epochs")
    j = job(svc, "k1")
    check(j["status"] == "running", "finished before the kill: %s" % j)
    svc.kill()
    svc = Service("trainyard-train", env=ENV).start()
    j = done(svc, "k1")
    check(j["status"] == "succeeded", j)
    check(j.get("attempts", 2) >= 2, j)
    check([e["epoch"] for e in j["result"]["epochs"]] == [1, 2, 3, 4, 5, 6],
          j["result"]["epochs"])
    ref = job(svc, "ref")["result"]["epochs"]
    got = j["result"]["epochs"]
    check([e["val_loss"] for e in ref] == [e["val_loss"] for e in got])
    with open(os.path.join(MODELS, "runs/ref/model.tym"), "rb") as f:
        a = f.read()
    with open(os.path.join(MODELS, "runs/k1/model.tym"), "rb") as f:
        b = f.read()
    check(a == b, "resumed model differs from the uninterrupted one")
    check("resuming" in svc.log_text())


run_all()
