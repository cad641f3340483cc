"""The shared job API over real HTTP, against trainyard-preprocess:
validation, idempotent job_id, 404s, cancel (queued and running),
restart keeps finished records, a job running at SIGKILL runs again after
restart, SIGTERM interrupts without failing, /healthz /readyz /metrics."""
import io
import json
import os
import re
import shutil
import signal
import sys
import time
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tylib import Service, check, run_all, tempdir, test, wait_for  # noqa
from pngmake import png  # noqa

ROOT_TMP = tempdir("ty-jobs-")


def volumes(name):
    d = os.path.join(ROOT_TMP, name)
    data, models = os.path.join(d, "data"), os.path.join(d, "models")
    os.makedirs(os.path.join(data, "uploads", "1"), exist_ok=True)
    return data, models


def small_zip(path, n=12):
    with zipfile.ZipFile(path, "w") as z:
        for cls in ("cats", "dogs"):
            for i in range(n):
                z.writestr("ds/%s/%d.png" % (cls, i),
                           png(6, 6, 1, fill=40 if cls == "cats" else 200))


def slow_zip(path, n=120):
    """Big, compressible PNGs: ~10 ms each to decode on one thread."""
    big = png(1500, 1500, 1, fill=7, level=1)
    with zipfile.ZipFile(path, "w") as z:
        for i in range(n):
            z.writestr("ds/%s/%d.png" % ("ab"[i % 2], i), big)


def service(data, models, **env):
    e = {"TRAINYARD_DATA_DIR": data, "TRAINYARD_MODELS_DIR": models,
         "TRAINYARD_THREADS": "1"}
    e.update(env)
    return Service("trainyard-preprocess", env=e).start()


def status(svc, jid):
    r = svc.get("/jobs/" + jid)
    check(r.status == 200, r)
    return r.json()


def wait_status(svc, jid, want, timeout=60):
    return wait_for(lambda: (lambda j: j if j["status"] in want else None)(
        status(svc, jid)), timeout=timeout, what="%s in %s" % (jid, want))


data, models = volumes("main")
small_zip(os.path.join(data, "uploads", "1", "small.zip"))
slow_zip(os.path.join(data, "uploads", "1", "slow.zip"))
svc = service(data, models)


@test
def health_ready_metrics():
    check(svc.get("/healthz").status == 200)
    r = svc.get("/readyz")
    check(r.status == 200, r)
    r = svc.get("/metrics")
    check(r.status == 200)
    check("# TYPE trainyard_http_requests_total counter" in r.text, r.text)
    check('trainyard_jobs{status="queued"}' in r.text)
    check("trainyard_uptime_seconds" in r.text)
    check(svc.get("/nope").status == 404)
    check(svc.post("/healthz", "").status == 405)


@test
def access_log_names_the_request_id():
    svc.get("/healthz", headers={"X-Request-Id": "run-42-prep"})
    # a header cannot forge a log line or run on forever
    raw = "run-7 \"GET /x\" 200" + "z" * 100
    svc.get("/readyz", headers={"X-Request-Id": raw})
    time.sleep(0.2)
    with open(svc.logpath, errors="replace") as f:
        log = f.read()
    check(re.search(r'"GET /healthz" 200 [0-9.]+ms id=run-42-prep\n', log), log[-2000:])
    m = re.search(r'"GET /readyz" 200 [0-9.]+ms id=(\S*)\n', log)
    want = re.sub(r"[^A-Za-z0-9._:-]", "_", raw)[:64]
    check(m and m.group(1) == want and len(want) == 64, m and m.group(1))


@test
def readyz_fails_when_volume_unwritable():
    d, m = volumes("ro")
    s = service(d, m)
    try:
        os.chmod(d, 0o500)
        r = s.get("/readyz")
        # root ignores permissions: only check when they apply
        if os.geteuid() != 0:
            check(r.status == 503 and "not writable" in r.json()["error"], r)
    finally:
        os.chmod(d, 0o755)
        s.stop()


@test
def post_validation():
    cases = [
        ({}, "job_id"),
        ({"job_id": "../x", "dataset": "uploads/1/small.zip"}, "job_id"),
        ({"job_id": "a/b", "dataset": "uploads/1/small.zip"}, "job_id"),
        ({"job_id": "x" * 101, "dataset": "uploads/1/small.zip"}, "job_id"),
        ({"job_id": "v1", "kind": "bake"}, "unknown kind"),
        ({"job_id": "v2", "kind": 3}, "kind"),
        ({"job_id": "v3", "kind": "inspect"}, "dataset"),
        ({"job_id": "v4", "kind": "inspect", "dataset": "/etc/passwd"},
         "relative"),
        ({"job_id": "v5", "kind": "inspect", "dataset": "../x.zip"}, ".."),
        ({"job_id": "v6", "kind": "inspect", "dataset": "uploads/1/missing.zip"},
         "not found"),
        ({"job_id": "v7", "kind": "prepare", "dataset": "uploads/1/small.zip"},
         "output"),
        ({"job_id": "v8", "kind": "prepare", "dataset": "uploads/1/small.zip",
          "output": "p/x", "image": {"width": 0}}, "width"),
        ({"job_id": "v9", "kind": "prepare", "dataset": "uploads/1/small.zip",
          "output": "p/x", "image": {"channels": 2}}, "channels"),
        ({"job_id": "v10", "kind": "prepare", "dataset": "uploads/1/small.zip",
          "output": "p/x", "val_fraction": 1.5}, "val_fraction"),
        ({"job_id": "v11", "kind": "prepare", "dataset": "uploads/1/small.zip",
          "output": "p/x", "seed": -1}, "seed"),
    ]
    for body, want in cases:
        r = svc.post("/jobs", body)
        check(r.status == 400, (body, r))
        check(want in r.json()["error"], (body, r.json()))
        if "job_id" in body and want != "job_id":
            check(svc.get("/jobs/" + body["job_id"]).status == 404)
    for raw in (b"", b"not json", b"[1,2]"):
        r = svc.post("/jobs", raw)
        check(r.status == 400, r)
    r = svc.post("/jobs", b"{" + b" " * (65 << 20) + b"}")
    check(r.status == 413, r)


@test
def unknown_job_404():
    for path in ("/jobs/nope", "/jobs/..", "/jobs/a%2Fb"):
        r = svc.get(path)
        check(r.status == 404 and "error" in r.json(), (path, r))
    check(svc.delete("/jobs/nope").status == 404)


@test
def idempotent_job_id():
    body = {"job_id": "same-1", "kind": "inspect", "dataset": "uploads/1/small.zip"}
    r1 = svc.post("/jobs", body)
    check(r1.status == 202, r1)
    check(r1.json()["status"] in ("queued", "running", "succeeded"))
    r2 = svc.post("/jobs", dict(body, dataset="uploads/1/other.zip"))
    check(r2.status == 200, r2)
    check(r2.json()["params"]["dataset"] == "uploads/1/small.zip")
    j = wait_status(svc, "same-1", ("succeeded",))
    check(j["result"]["usable"] is True, j)
    check(j["attempts"] == 1, j)
    check(svc.post("/jobs", body).json()["attempts"] == 1)
    check(os.path.exists(os.path.join(models, "jobs", "same-1.json")))


@test
def cancel_running_then_queued():
    r = svc.post("/jobs", {"job_id": "slow-c", "kind": "prepare",
                           "dataset": "uploads/1/slow.zip", "output": "prepared/slow-c"})
    check(r.status == 202, r)
    r = svc.post("/jobs", {"job_id": "behind", "kind": "inspect",
                           "dataset": "uploads/1/small.zip"})
    check(r.json()["status"] == "queued", r)
    wait_status(svc, "slow-c", ("running",))
    r = svc.delete("/jobs/behind")
    check(r.status == 200 and r.json()["status"] == "cancelled", r)
    t0 = time.time()
    r = svc.delete("/jobs/slow-c")
    check(r.status == 200, r)
    j = wait_status(svc, "slow-c", ("cancelled", "succeeded", "failed"))
    check(j["status"] == "cancelled", j)
    check(time.time() - t0 < 5, "cancel took %.1fs" % (time.time() - t0))
    check(not os.path.exists(os.path.join(data, "prep", "slow-c")))
    leftovers = os.listdir(os.path.join(data, "prep")) if os.path.isdir(
        os.path.join(data, "prep")) else []
    check(leftovers == [], leftovers)
    # a cancelled queued job never runs
    time.sleep(0.3)
    check(status(svc, "behind")["started"] is None)


@test
def restart_keeps_finished_records():
    global svc
    body = {"job_id": "keep", "kind": "inspect", "dataset": "uploads/1/small.zip"}
    check(svc.post("/jobs", body).status == 202)
    before = wait_status(svc, "keep", ("succeeded",))
    check(svc.stop() == 0, "exit status")
    svc = service(data, models)
    after = status(svc, "keep")
    check(after["status"] == "succeeded", after)
    check(after["result"] == before["result"])
    check(after["attempts"] == 1, after)
    check(svc.post("/jobs", body).status == 200)


@test
def sigkill_while_running_reruns_after_restart():
    d, m = volumes("kill")
    slow_zip(os.path.join(d, "uploads", "1", "slow.zip"), n=60)
    s = service(d, m)
    check(s.post("/jobs", {"job_id": "k1", "kind": "prepare",
                           "dataset": "uploads/1/slow.zip",
                           "output": "prepared/k1"}).status == 202)
    wait_status(s, "k1", ("running",))
    rec_path = os.path.join(m, "jobs", "k1.json")

    def on_disk():
        with open(rec_path) as f:
            return json.load(f)["status"] == "running"
    # GET shows "running" a moment before the record on disk does
    wait_for(on_disk, what="record says running")
    s.kill()
    s = service(d, m)
    j = wait_status(s, "k1", ("succeeded", "failed"), timeout=120)
    check(j["status"] == "succeeded", j)
    check(j["attempts"] == 2 and j["crashes"] == 1, j)
    check(os.path.exists(os.path.join(d, "prepared", "k1", "train.tyd")))
    # nothing of the killed attempt is left next to the output
    check(os.listdir(os.path.join(d, "prepared")) == ["k1"],
          os.listdir(os.path.join(d, "prepared")))
    s.stop()


@test
def sigterm_interrupts_and_resumes():
    d, m = volumes("term")
    slow_zip(os.path.join(d, "uploads", "1", "slow.zip"), n=60)
    s = service(d, m)
    check(s.post("/jobs", {"job_id": "t1", "kind": "prepare",
                           "dataset": "uploads/1/slow.zip",
                           "output": "prepared/t1"}).status == 202)
    wait_status(s, "t1", ("running",))
    t0 = time.time()
    rc = s.stop(signal.SIGTERM)
    check(rc == 0, "exit status %s" % rc)
    check(time.time() - t0 < 8, "stop took %.1fs" % (time.time() - t0))
    with open(os.path.join(m, "jobs", "t1.json")) as f:
        rec = json.load(f)
    check(rec["status"] == "queued", rec)
    check(rec["error"] is None, rec)
    check(not os.path.exists(os.path.join(d, "prepared", "t1")))
    s = service(d, m)
    j = wait_status(s, "t1", ("succeeded", "failed"), timeout=120)
    check(j["status"] == "succeeded" and j["crashes"] == 0, j)
    s.stop()


@test
def corrupt_record_is_ignored():
    d, m = volumes("corrupt")
    os.makedirs(os.path.join(m, "jobs"), exist_ok=True)
    with open(os.path.join(m, "jobs", "bad.json"), "w") as f:
        f.write("{not json")
    with open(os.path.join(m, "jobs", "other.json"), "w") as f:
        json.dump({"job_id": "mismatch", "kind": "inspect",
                   "status": "succeeded", "params": {}}, f)
    s = service(d, m)
    check(s.get("/jobs/bad").status == 404)
    check(s.get("/jobs/other").status == 404)
    s.stop()


try:
    run_all()
finally:
    shutil.rmtree(ROOT_TMP, ignore_errors=True)
