"""Fake preprocess and train workers that follow the job contract of
DESIGN.md (tests/http/test_pipeline_fake.py, test_runs_fake.py): jobs
finish after two GETs; `mode` makes the next train job fail, be cancelled,
be refused (400), answer 500 or garbage. No real training."""
import json
import os
import sqlite3
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tylib import Service, check, tempdir, wait_for
from webclient import Client

EPOCH = {"epoch": 1, "train_loss": 0.9, "train_acc": 0.5, "val_loss": 0.8,
         "val_acc": 0.6, "seconds": 0.1}


class Fake:
    """One fake worker. `mode` picks how the next new train job behaves."""

    def __init__(self, name):
        self.name = name
        self.jobs = {}     # job id -> [record, remaining GETs before done]
        self.calls = []    # (method, path, X-Request-Id)
        self.mode = "ok"
        self.lock = threading.Lock()
        fake = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def reply(self, status, body):
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                fake.handle(self, "GET", None)

            def do_DELETE(self):
                fake.handle(self, "DELETE", None)

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                fake.handle(self, "POST", json.loads(self.rfile.read(n)))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def handle(self, h, method, body):
        with self.lock:
            self.calls.append((method, h.path, h.headers.get("X-Request-Id")))
            mode = self.mode
        if h.path == "/healthz":
            return h.reply(200, {"ok": True})
        if mode == "500":
            return h.reply(500, {"error": "broken"})
        if mode == "garbage":
            return h.reply(200, b"<html>not json")
        if method == "POST":
            if mode == "refuse":
                return h.reply(400, {"error": "epochs must be 1..1000"})
            jid = body["job_id"]
            with self.lock:
                if jid not in self.jobs:
                    self.jobs[jid] = [self.start(body, mode), 2]
                rec = self.jobs[jid][0]
            return h.reply(202, rec)
        jid = h.path.rsplit("/", 1)[1]
        with self.lock:
            j = self.jobs.get(jid)
            if not j:
                return h.reply(404, {"error": "no such job"})
            if method == "DELETE":
                j[0] = dict(j[0], status="cancelled")
                return h.reply(200, j[0])
            j[1] -= 1
            if j[1] <= 0:
                j[0] = self.finish(j[0])
            return h.reply(200, j[0])

    def start(self, body, mode):
        rec = {"job_id": body["job_id"], "status": "running", "progress": 0.5,
               "message": "half way", "result": {}, "mode": mode,
               "params": body}
        if body.get("kind") == "inspect":
            rec = self.finish(rec)
        elif "-train" in body["job_id"]:
            rec["result"] = {"epochs": [EPOCH],
                             "live": {"epoch": 2, "epochs": 2,
                                      "eta_seconds": 3.5,
                                      "images_per_second": 1000}}
        return rec

    def finish(self, rec):
        rec = dict(rec)
        p = rec["params"]
        mode = rec["mode"]
        if rec["status"] != "running":
            return rec
        if p.get("kind") == "inspect":
            rec.update(status="succeeded", result={
                "usable": True, "images": 30, "classes": [
                    {"name": "a", "count": 15}, {"name": "b", "count": 15}],
                "sizes": {"28x28": 30}, "channels": {"1": 30},
                "skipped": [], "skipped_total": 0, "warnings": []})
        elif p.get("kind") == "prepare":
            rec.update(status="succeeded", result={
                "images": 30, "train": 27, "val": 3, "classes": [
                    {"name": "a", "count": 15}, {"name": "b", "count": 15}],
                "counts": {"train": [14, 13], "val": [1, 2]},
                "warnings": ["a test warning"]})
        elif mode == "fail":
            rec.update(status="failed", error="out of memory (fake)")
        elif mode == "cancelled":
            rec.update(status="cancelled")
        else:
            # mode "by_lr": the accuracy follows lr, so a sweep's runs
            # differ (test_sweeps.py)
            acc = 0.75
            if mode == "by_lr":
                acc = round(min(0.99, 0.5 + 20 * float(p["lr"])), 4)
            e2 = dict(EPOCH, epoch=2, val_acc=acc)
            rec.update(status="succeeded", progress=1, result={
                "epochs": [EPOCH, e2], "val_acc": acc, "val_loss": 0.5,
                "confusion": [[1, 0], [1, 1]],
                "per_class": [{"class": "a", "precision": 0.5, "recall": 1,
                               "f1": 0.667, "support": 1},
                              {"class": "b", "precision": 1, "recall": 0.5,
                               "f1": 0.667, "support": 2}],
                "model": "runs/x/model.tym", "images_per_second": 1000,
                "params": 10, "epochs_trained": 2,
                "messages": ["train worker <b>peer-1</b> left out after "
                             "round 1: timed out"]})
        return rec


def start_web(prefix, user):
    """The web app wired to two fresh fakes, and a signed-in client:
    {pre, train, env, web, c}."""
    pre, train = Fake("preprocess"), Fake("train")
    d = tempdir(prefix)
    env = {"TRAINYARD_DATA_DIR": os.path.join(d, "data"),
           "TRAINYARD_MODELS_DIR": os.path.join(d, "models"),
           "TRAINYARD_DB": os.path.join(d, "db", "ty.db"),
           "TRAINYARD_PREPROCESS_URL": pre.url,
           "TRAINYARD_TRAIN_URL": train.url,
           "TRAINYARD_RETRY_SECONDS": "2", "TRAINYARD_POLL_MS": "100"}
    web = Service("trainyard-web", env=env).start()
    c = Client(web.port)
    check(c.signup(user, "a long enough password").status == 303, "")
    c.get("/projects")
    return {"pre": pre, "train": train, "env": env, "web": web, "c": c}


def db_rows(env, q, *a):
    """Rows of q on the web app's database (committed)."""
    con = sqlite3.connect(env["TRAINYARD_DB"], timeout=10)
    try:
        with con:
            return con.execute(q, a).fetchall()
    finally:
        con.close()


def ready_project(s, name):
    """A project of client s["c"] with one ready (fake) dataset:
    (pid, did)."""
    c = s["c"]
    _, pid = c.create_project(name)
    c.get("/projects/%d" % pid)
    r = c.upload("/projects/%d/datasets" % pid, b"\x1f\x8b fake archive")
    did = int(r.header("Location").rsplit("=", 1)[1])
    wait_for(lambda: db_rows(s["env"], "SELECT status FROM datasets WHERE "
                             "id = ?", did)[0][0] == "ready", timeout=20,
             what="inspection")
    c.get("/projects/%d" % pid)
    return pid, did
