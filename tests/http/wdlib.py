"""Helpers shared by the dataset-health, predict-page and API tests: the
real web app wired to real workers on loopback ports, sharing temporary
volumes, and signed-in clients. Standard library only."""
import io
import os
import re
import shutil
import sqlite3
import atexit
import zipfile

from tylib import Service, check, tempdir, wait_for
from webclient import Client

PW = "correct horse battery"


class Stack:
    """Volumes + database in one temporary directory; services on demand."""

    def __init__(self, prefix):
        self.dir = tempdir(prefix)
        atexit.register(shutil.rmtree, self.dir, True)
        self.data = os.path.join(self.dir, "data")
        self.models = os.path.join(self.dir, "models")
        self.db = os.path.join(self.dir, "db", "trainyard.db")
        self.web = self.pre = self.infer = self.train = None
        self.pre_port = self.infer_port = self.train_port = None
        self.logs = []  # every service log, checked by clean_logs_test
        self._n = 0

    def env(self):
        return {"TRAINYARD_DATA_DIR": self.data,
                "TRAINYARD_MODELS_DIR": self.models,
                "TRAINYARD_THREADS": "1"}

    def start_pre(self, port=None):
        self.pre = Service("trainyard-preprocess", env=self.env(),
                           port=port or self.pre_port).start()
        self.pre_port = self.pre.port
        self.logs.append(self.pre.logpath)
        return self.pre

    def start_infer(self, port=None, **extra):
        e = self.env()
        e.update({k: str(v) for k, v in extra.items()})
        self.infer = Service("trainyard-infer", env=e,
                             port=port or self.infer_port).start()
        self.infer_port = self.infer.port
        self.logs.append(self.infer.logpath)
        return self.infer

    def start_train(self, port=None):
        self.train = Service("trainyard-train", env=self.env(),
                             port=port or self.train_port).start()
        self.train_port = self.train.port
        self.logs.append(self.train.logpath)
        return self.train

    def start_web(self, **extra):
        e = self.env()
        e["TRAINYARD_DB"] = self.db
        e["TRAINYARD_PREPROCESS_URL"] = "http://127.0.0.1:%d" % self.pre_port
        e["TRAINYARD_INFER_URL"] = "http://127.0.0.1:%d" % (
            self.infer_port or 9)
        e["TRAINYARD_TRAIN_URL"] = "http://127.0.0.1:%d" % (
            self.train_port or 9)
        e.update({k: str(v) for k, v in extra.items()})
        self.web = Service("trainyard-web", env=e).start()
        self.logs.append(self.web.logpath)
        return self.web

    def user(self, prefix="u"):
        self._n += 1
        c = Client(self.web.port)
        name = "%s%d_%d" % (prefix, self._n, os.getpid() % 1000)
        r = c.signup(name, PW)
        check(r.status == 303, r)
        c.get("/projects")
        c.name = name
        return c

    def rows(self, sql, args=()):
        con = sqlite3.connect(self.db)
        try:
            return con.execute(sql, args).fetchall()
        finally:
            con.close()

    def execute(self, sql, args=()):
        con = sqlite3.connect(self.db)
        try:
            cur = con.execute(sql, args)
            con.commit()
            return cur.lastrowid
        finally:
            con.close()


def zip_of(files):
    """files: {name: bytes} -> zip bytes."""
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return b.getvalue()


def upload(c, pid, data, filename="data.zip"):
    """Uploads a dataset from the project page; returns its id."""
    c.get("/projects/%d" % pid)
    r = c.upload("/projects/%d/datasets" % pid, data, filename=filename)
    check(r.status == 303, r)
    m = re.search(r"uploaded=(\d+)", r.header("Location"))
    check(m, r.header("Location"))
    return int(m.group(1))


def dataset_status(stack, did):
    return stack.rows("SELECT status FROM datasets WHERE id = ?",
                      (did,))[0][0]


def wait_inspected(stack, did, timeout=60):
    """Waits until the dataset is ready or unusable; returns the status."""
    return wait_for(lambda: (lambda s: s if s in ("ready", "unusable")
                             else None)(dataset_status(stack, did)),
                    timeout=timeout, interval=0.1,
                    what="dataset %d inspected" % did)


# ---- a real tiny model, registered as a project's model ----------------

BAR_SIZE = 20
BAR_CLASSES = ("h", "v", "sq")


def train_tiny(stack):
    """Trains a small CNN on bars images with the real train worker;
    returns (relative model path, result)."""
    from tylib import make_bars_set, train_model
    make_bars_set(stack.data, "bars", 450, 90, size=BAR_SIZE)
    res = train_model(stack.data, stack.models, {
        "data": "bars", "output": "runs/1",
        "model": {"arch": "cnn", "conv": [4], "hidden": []},
        "epochs": 3, "batch_size": 16, "optimizer": "adam", "lr": 0.01,
        "seed": 3})
    return "runs/1/model.tym", res


def add_model(stack, pid, path, acc, arch="cnn"):
    """A datasets + runs + models row for project pid, as the pipeline
    leaves them after a successful run; returns the model id."""
    import json
    import time
    now = int(time.time())
    did = stack.execute(
        "INSERT INTO datasets (project_id, filename, path, bytes, sha256, "
        "status, created_at) VALUES (?, 'bars.zip', 'uploads/x', 1, 'ab', "
        "'ready', ?)", (pid, now))
    rid = stack.execute(
        "INSERT INTO runs (project_id, dataset_id, status, params_json, "
        "created_at) VALUES (?, ?, 'succeeded', '{}', ?)", (pid, did, now))
    return stack.execute(
        "INSERT INTO models (project_id, run_id, path, arch, classes_json, "
        "val_acc, bytes, created_at) VALUES (?, ?, ?, ?, ?, ?, 1, ?)",
        (pid, rid, path, arch, json.dumps(list(BAR_CLASSES)), acc, now))


def bars_png(cls, seed, channels=1):
    """A bars image of class cls as PNG (gray, or RGB/RGBA copies)."""
    import random
    from pngmake import png
    from tylib import bars_image
    g = bars_image(cls, BAR_SIZE, random.Random(seed))
    if channels == 1:
        return png(BAR_SIZE, BAR_SIZE, 1, pixels=g)
    px = bytearray()
    for v in g:
        px += bytes([v] * 3) + (b"\xff" if channels == 4 else b"")
    return png(BAR_SIZE, BAR_SIZE, channels, pixels=bytes(px))


def bars_jpeg(cls, seed):
    """The same as a JPEG (via PIL), or None when PIL is missing."""
    try:
        from PIL import Image
    except ImportError:
        return None
    import io
    import random
    from tylib import bars_image
    g = bars_image(cls, BAR_SIZE, random.Random(seed))
    b = io.BytesIO()
    Image.frombytes("L", (BAR_SIZE, BAR_SIZE), g).convert("RGB").save(
        b, "JPEG", quality=95)
    return b.getvalue()


def clean_logs_test(stack, extra=()):
    """The last test of a file: every service this stack started stops
    cleanly, and no sanitizer report is in any of their logs (in the SAN
    build a leak or UB in the web app shows only there)."""
    from tylib import test

    @test
    def services_stop_cleanly_without_sanitizer_reports():
        procs = [s for s in (stack.web, stack.pre, stack.infer,
                             stack.train) + tuple(extra)
                 if s]
        for s in procs:
            code = s.stop()
            check(code == 0, "%s exit code %s (log %s)" % (s.name, code,
                                                           s.logpath))
        for path in stack.logs:
            with open(path, "rb") as f:
                log = f.read().decode("utf-8", "replace")
            for bad in ("runtime error", "AddressSanitizer",
                        "LeakSanitizer"):
                check(bad not in log, "%s in %s" % (bad, path))
    return services_stop_cleanly_without_sanitizer_reports
