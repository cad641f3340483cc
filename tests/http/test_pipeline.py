"""The pipeline end to end: the web app with the real preprocess and train
workers on loopback ports and temporary volumes. A person's run from the
form to the model, then the faults of issue 6: an unusable dataset, bad
parameters, the train worker killed mid-run, the web app restarted
mid-run, the preprocess worker down at submit; plus cancel, the queue,
the events stream, comparison and delete."""
import io
import json
import os
import random
import re
import signal
import sqlite3
import sys
import tarfile
import time
import zlib
import struct

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tylib import Service, check, request, run_all, tempdir, test, wait_for  # noqa: E402
from webclient import Client  # noqa: E402

PW = "correct horse battery"
SAN = os.environ.get("SAN") == "1"
SLOW = 3 if SAN else 1  # time budget multiplier under sanitizers


# ---- data -------------------------------------------------------------

def png(w, h, px):
    raw = b"".join(b"\0" + px[y * w:(y + 1) * w] for y in range(h))

    def chunk(k, d):
        return (struct.pack(">I", len(d)) + k + d +
                struct.pack(">I", zlib.crc32(k + d) & 0xffffffff))
    return (b"\x89PNG\r\n\x1a\n" +
            chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def pattern(cls, size, rnd):
    """Gray size x size: stripes across, stripes down, or a checkerboard,
    with noise and a random phase: easy for a CNN, not trivial."""
    ph = rnd.randrange(4)
    out = bytearray(size * size)
    for y in range(size):
        for x in range(size):
            if cls == 0:
                on = ((y + ph) // 2) % 2
            elif cls == 1:
                on = ((x + ph) // 2) % 2
            else:
                on = (((x + ph) // 3) + ((y + ph) // 3)) % 2
            out[y * size + x] = max(0, min(255, (200 if on else 40) +
                                           rnd.randrange(-30, 30)))
    return bytes(out)


def dataset_tgz(per_class=50, size=28, seed=1, classes=("across", "down",
                                                        "checks")):
    rnd = random.Random(seed)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for ci, name in enumerate(classes):
            for i in range(per_class):
                data = png(size, size, pattern(ci, size, rnd))
                info = tarfile.TarInfo("set/%s/%03d.png" % (name, i))
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def junk_tgz():
    """Files that are not images: inspection says unusable."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for i in range(3):
            data = b"not an image %d" % i
            info = tarfile.TarInfo("a/%d.png" % i)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


# ---- the services -----------------------------------------------------

class Stack:
    """The services on temporary volumes. replicas > 0: that many train
    replicas sharing the models volume (TRAINYARD_REPLICA r0, r1, ...),
    all given to the web app (test_scale.py); train_env and web_extra
    are added to their environments."""

    def __init__(self, replicas=0, train_env=None, web_extra=None,
                 prefix="ty-pipe-"):
        d = tempdir(prefix)
        self.dir = d
        self.data = os.path.join(d, "data")
        self.models = os.path.join(d, "models")
        self.db = os.path.join(d, "db", "trainyard.db")
        os.makedirs(self.data)
        os.makedirs(self.models)
        vol = {"TRAINYARD_DATA_DIR": self.data,
               "TRAINYARD_MODELS_DIR": self.models,
               "TRAINYARD_THREADS": "1"}
        self.vol = vol
        self.pre = Service("trainyard-preprocess", env=dict(
            vol, **({"TRAINYARD_MAX_JOBS": "2"} if replicas else {}))).start()
        self.trains = [Service("trainyard-train", env=dict(
            vol, TRAINYARD_REPLICA="r%d" % i, **(train_env or {}))).start()
            for i in range(replicas)]
        if not replicas:
            self.train = Service("trainyard-train", env=vol).start()
        urls = [t.port for t in self.trains] or [self.train.port]
        self.web_env = dict(vol)
        self.web_env.update({
            "TRAINYARD_DB": self.db,
            "TRAINYARD_PREPROCESS_URL": "http://127.0.0.1:%d" % self.pre.port,
            "TRAINYARD_TRAIN_URL": ",".join("http://127.0.0.1:%d" % p
                                            for p in urls),
            "TRAINYARD_INFER_URL": "http://127.0.0.1:9",
            "TRAINYARD_RETRY_SECONDS": "3",
            "TRAINYARD_POLL_MS": "150",
        })
        self.web_env.update(web_extra or {})
        self.web = None
        self.start_web()

    def start_web(self, port=None):
        self.web = Service("trainyard-web", env=self.web_env,
                           port=port or (self.web.port if self.web else None))
        self.web.start()
        return self.web

    def restart(self, name):
        old = getattr(self, name)
        s = Service(old.name, env=old.env, port=old.port).start()
        setattr(self, name, s)
        return s

    def sql(self, q, *args):
        c = sqlite3.connect(self.db, timeout=10)
        try:
            return c.execute(q, args).fetchall()
        finally:
            c.close()


S = None
_n = 0


def stack():
    global S
    if S is None:
        S = Stack()
    return S


def user_with_dataset(data=None, ready=True):
    """A signed-in client with a project holding one uploaded dataset."""
    global _n
    _n += 1
    s = stack()
    c = Client(s.web.port)
    r = c.signup("pipe%d_%d" % (_n, os.getpid() % 1000), PW)
    check(r.status == 303, r)
    c.get("/projects")
    r, pid = c.create_project("p%d" % _n)
    check(pid, r)
    c.get("/projects/%d" % pid)
    r = c.upload("/projects/%d/datasets" % pid, data or dataset_tgz())
    check(r.status == 303, r)
    did = int(r.header("Location").rsplit("=", 1)[1])
    want = ("ready",) if ready else ("ready", "unusable")
    wait_for(lambda: s.sql("SELECT status FROM datasets WHERE id = ?",
                           did)[0][0] in want, timeout=30 * SLOW,
             what="inspection of dataset %d" % did)
    c.get("/projects/%d" % pid)
    c.pid, c.did = pid, did
    return c


def start_run(c, **fields):
    f = {"dataset_id": c.did}
    f.update(fields)
    r = c.post_form("/projects/%d/runs" % c.pid, f)
    check(r.status == 303, "run not started: %r" % r)
    rid = int(r.header("Location").rsplit("/", 1)[1])
    return rid


def run_row(rid):
    rows = stack().sql("SELECT status, error, epochs_json, metrics_json, "
                       "prep_json FROM runs WHERE id = ?", rid)
    return rows[0] if rows else None


def wait_status(rid, want, timeout=60):
    def done():
        row = run_row(rid)
        return row if row and row[0] in want else None
    return wait_for(done, timeout=timeout * SLOW, interval=0.1,
                    what="run %d to be %s (now %r)" % (rid, want, run_row(rid)))


def epochs_of(rid):
    row = run_row(rid)
    return len(json.loads(row[2])) if row and row[2] else 0


# ---- tests ------------------------------------------------------------

@test
def form_has_defaults_from_the_inspection():
    c = user_with_dataset()
    page = c.get("/projects/%d" % c.pid).text
    check('action="/projects/%d/runs"' % c.pid in page, "form missing")
    check('name="image_size" value="28x28x1"' in page,
          "image size default not from the dataset")
    check(re.search(r'<option value="cnn" selected>', page), "cnn default")
    check('<option value="%d" selected>' % c.did in page, "dataset chosen")


@test
def full_run_with_defaults():
    s = stack()
    c = user_with_dataset()
    rid = start_run(c)  # a person who changes nothing
    row = wait_status(rid, ("succeeded", "failed"), timeout=90)
    check(row[0] == "succeeded", "run failed: %r" % (row,))
    eps = json.loads(row[2])
    check(len(eps) >= 1 and all("val_acc" in e for e in eps), eps)
    m = json.loads(row[3])
    check(m["val_acc"] >= 0.9, "val_acc %r on an easy set" % m["val_acc"])
    prep = json.loads(row[4])
    check(prep["train"] + prep["val"] == 150, prep)
    models = s.sql("SELECT id, path, arch, val_acc, bytes, classes_json "
                   "FROM models WHERE run_id = ?", rid)
    check(len(models) == 1, models)
    mid, path, arch, acc, nbytes, classes = models[0]
    check(path == "runs/%d/model.tym" % rid and arch == "cnn", models)
    check(abs(acc - m["val_acc"]) < 1e-9, (acc, m["val_acc"]))
    check(sorted(json.loads(classes)) == ["across", "checks", "down"], classes)
    # files on the volumes
    for f in ("train.tyd", "val.tyd", "meta.json"):
        check(os.path.exists(os.path.join(s.data, "prepared", str(rid), f)), f)
    mp = os.path.join(s.models, path)
    check(os.path.getsize(mp) == nbytes and nbytes > 0, nbytes)
    # the run page
    page = c.get("/projects/%d/runs/%d" % (c.pid, rid)).text
    for want in ('id="confusion"', "<svg", "Loss", "Accuracy", "Precision",
                 'id="val-acc"', "predict?model_id=%d" % mid,
                 "/runs/%d/model" % rid, "Preprocessing", "Timing",
                 "across", "checks", "down", "succeeded"):
        check(want in page, "run page lacks %r" % want)
    check('http-equiv="refresh"' not in page, "finished page refreshes")
    check(len(re.findall(r'class="heat-\d+( diag)?"', page)) == 9, "3x3 cm")
    # the model download
    r = c.get("/projects/%d/runs/%d/model" % (c.pid, rid))
    check(r.status == 200, r)
    with open(mp, "rb") as f:
        check(r.body == f.read(), "downloaded bytes differ")
    check("attachment" in r.header("Content-Disposition") and
          ".tym" in r.header("Content-Disposition"), r.headers)
    # the events of a finished run: status then done
    r = c.get("/projects/%d/runs/%d/events" % (c.pid, rid))
    check(r.status == 200 and "text/event-stream" in r.header("Content-Type"), r)
    check("event: status" in r.text and "event: done" in r.text, r.text[:300])
    check(r.text.count("event: epoch") == len(eps), r.text[:500])
    # the project page: runs table and models
    page = c.get("/projects/%d" % c.pid).text
    check('data-run="%d"' % rid in page and "best-run" in page, "runs table")
    check("predict?model_id=%d" % mid in page, "models list")
    # another user sees nothing of it
    other = user_with_dataset()
    check(other.get("/projects/%d/runs/%d" % (c.pid, rid)).status == 404, "")
    check(other.get("/projects/%d/runs/%d/model" % (c.pid, rid)).status == 404,
          "model of another user's run")
    c.rid = rid
    full_run_with_defaults.client = c


@test
def events_stream_while_training():
    c = user_with_dataset()
    # 64x64 makes each epoch long enough that the stream's 0.4 s ticks see
    # the run while it trains (at 28x28 six epochs can pass between two)
    rid = start_run(c, epochs=6, early_stopping="0", boxes="1",
                    image_size="64x64x1")
    r = c.get("/projects/%d/runs/%d/events" % (c.pid, rid))
    text = r.text
    check("event: status" in text, text[:300])
    check(text.count("event: epoch") == 6, text)
    check('"status":"training"' in text, "no training status event")
    check(text.rstrip().split("\n\n")[-1].startswith("event: done"), text[-200:])
    check(run_row(rid)[0] == "succeeded", run_row(rid))


@test
def active_page_refreshes_without_js():
    c = user_with_dataset()
    rid = start_run(c, epochs=30, early_stopping="0", boxes="1")
    page = c.get("/projects/%d/runs/%d" % (c.pid, rid)).text
    check('<noscript><meta http-equiv="refresh"' in page, "no refresh")
    check('<progress id="run-progress"' in page, "no progress bar")
    check('src="/static/run.js"' in page, "no script")
    # cancel: the job is deleted and the run ends cancelled
    r = c.post_form("/projects/%d/runs/%d/cancel" % (c.pid, rid), {})
    check(r.status == 303, r)
    row = wait_status(rid, ("cancelled", "failed", "succeeded"), timeout=20)
    check(row[0] == "cancelled", row)


@test
def invalid_params_rerender_with_messages():
    c = user_with_dataset()
    cases = [
        ({"epochs": "0"}, "Epochs must be"),
        ({"batch_size": "0"}, "Batch size must be"),
        ({"lr": "0"}, "Learning rate must be"),
        ({"lr": "-1"}, "Learning rate must be"),
        ({"lr": "nan"}, "Learning rate must be"),
        ({"image_size": "0x0x1"}, "Image size must be"),
        ({"image_size": "5000x5000x1"}, "Image size must be"),
        ({"image_size": "28x28"}, "Image size must be"),
        ({"arch": "transformer"}, "Architecture must be"),
        ({"val_fraction": "0.9"}, "Validation fraction must be"),
        ({"conv": "16,32,64,128,256"}, "Convolution layers"),
        ({"image_size": "4x4x1", "conv": "8,8,8"}, "halve the image"),
        ({"optimizer": "rmsprop"}, "Optimiser must be"),
        ({"dataset_id": "999999"}, "Choose one of this project"),
    ]
    before = stack().sql("SELECT count(*) FROM runs")[0][0]
    for fields, msg in cases:
        f = {"dataset_id": c.did}
        f.update(fields)
        r = c.post_form("/projects/%d/runs" % c.pid, f)
        check(r.status == 400, "%r -> %r" % (fields, r))
        check(msg in r.text, "%r: message %r missing" % (fields, msg))
        # what was typed comes back in the form
        for k, v in fields.items():
            if k in ("epochs", "batch_size", "lr", "image_size", "conv"):
                check('value="%s"' % v in r.text, "%s not echoed" % k)
    # several bad fields: all messages at once
    r = c.post_form("/projects/%d/runs" % c.pid,
                    {"dataset_id": c.did, "epochs": "0", "batch_size": "0"})
    check("Epochs must be" in r.text and "Batch size must be" in r.text, "")
    check(stack().sql("SELECT count(*) FROM runs")[0][0] == before,
          "a run was created from a bad form")
    # no csrf: refused
    r = c.post_form("/projects/%d/runs" % c.pid, {"dataset_id": c.did},
                    csrf="0" * 64)
    check(r.status == 403, r)


@test
def unusable_dataset_is_refused():
    c = user_with_dataset(junk_tgz(), ready=False)
    check(stack().sql("SELECT status FROM datasets WHERE id = ?",
                      c.did)[0][0] == "unusable", "junk was usable")
    r = c.post_form("/projects/%d/runs" % c.pid, {"dataset_id": c.did})
    check(r.status == 400, r)
    check("cannot be used for training" in r.text, r.text[:2000])
    check(stack().sql("SELECT count(*) FROM runs WHERE dataset_id = ?",
                      c.did)[0][0] == 0, "run created")


@test
def queue_bounded_and_compare():
    c = user_with_dataset()
    a = start_run(c, epochs=3)
    b = start_run(c, epochs=3, lr="0.01")
    page = c.get("/projects/%d/runs/%d" % (c.pid, b)).text
    if run_row(b)[0] == "queued":
        check("Queued behind 1 run" in page, "queue position missing")
    wait_status(a, ("succeeded",), timeout=60)
    wait_status(b, ("succeeded",), timeout=60)
    # never two at once with TRAINYARD_MAX_RUNS=1: b started after a ended
    (sa, fa), = stack().sql("SELECT started_at, finished_at FROM runs "
                            "WHERE id = ?", a)
    (sb,), = stack().sql("SELECT started_at FROM runs WHERE id = ?", b)
    check(sb >= fa - 0.5, (sa, fa, sb))
    page = c.get("/projects/%d?compare=%d&compare=%d&sort=acc#runs"
                 % (c.pid, a, b)).text
    check('id="chart-compare"' in page, "no comparison chart")
    # runs are named by their number in the project (issue 15)
    (na,), (nb,) = [stack().sql("SELECT number FROM runs WHERE id = ?", x)[0]
                    for x in (a, b)]
    check("run #%d" % na in page and "run #%d" % nb in page, "legend")
    check(page.count('checked>') >= 2 or page.count(' checked') >= 2, "ticks")
    # delete a finished run: row and files go
    r = c.post_form("/projects/%d/runs/%d/delete" % (c.pid, a), {})
    check(r.status == 303, r)
    check(not run_row(a), "row left")
    check(not os.path.exists(os.path.join(stack().data, "prepared", str(a))),
          "prepared data left")
    check(not os.path.exists(os.path.join(stack().models, "runs", str(a))),
          "model files left")
    # deleting the project removes the other run's files too
    check(os.path.exists(os.path.join(stack().models, "runs", str(b))), "")
    r = c.post_form("/projects/%d/delete" % c.pid, {})
    check(r.status == 303, r)
    check(not os.path.exists(os.path.join(stack().data, "prepared", str(b))),
          "prepared data of a deleted project left")
    check(not os.path.exists(os.path.join(stack().models, "runs", str(b))),
          "model files of a deleted project left")


@test
def train_worker_killed_mid_run_then_restarted():
    s = stack()
    c = user_with_dataset(dataset_tgz(per_class=100, seed=3))
    # enough epochs that a fast machine is still training when we kill
    rid = start_run(c, epochs=20, early_stopping="0", boxes="1")
    wait_for(lambda: epochs_of(rid) >= 2, timeout=60 * SLOW, interval=0.05,
             what="two epochs")
    check(run_row(rid)[0] == "training", run_row(rid))
    s.train.kill()
    time.sleep(0.5)
    s.restart("train")
    row = wait_status(rid, ("succeeded", "failed"), timeout=120)
    check(row[0] == "succeeded", row)
    check(len(json.loads(row[2])) == 20, "epochs after resume: %s" % row[2])


@test
def web_restarted_mid_run():
    s = stack()
    c = user_with_dataset(dataset_tgz(per_class=100, seed=4))
    rid = start_run(c, epochs=6, early_stopping="0", boxes="1")
    wait_status(rid, ("training",), timeout=30)
    check(s.web.stop() == 0, "web did not stop cleanly")
    time.sleep(1)
    s.start_web()
    c.port = s.web.port
    row = wait_status(rid, ("succeeded", "failed"), timeout=120)
    check(row[0] == "succeeded", row)
    page = c.get("/projects/%d/runs/%d" % (c.pid, rid)).text
    check("succeeded" in page and 'id="confusion"' in page, "page after restart")


@test
def preprocess_down_at_submit_fails_after_retries():
    s = stack()
    c = user_with_dataset()
    s.pre.stop()
    t0 = time.time()
    rid = start_run(c)
    row = wait_status(rid, ("failed", "succeeded"), timeout=30)
    took = time.time() - t0
    check(row[0] == "failed", row)
    check("preprocess service unreachable" in row[1], row[1])
    check(took >= 2.5, "gave up after %.1f s, before the retry window" % took)
    page = c.get("/projects/%d/runs/%d" % (c.pid, rid)).text
    check("preprocess service unreachable" in page, "error not on page")
    s.restart("pre")


@test
def services_stop_cleanly():
    """Last: every service exits 0 on SIGTERM (a sanitizer report would
    make it exit non-zero)."""
    s = stack()
    for svc in (s.web, s.train, s.pre):
        code = svc.stop()
        check(code == 0, "%s exited with %r; log %s" % (svc.name, code,
                                                       svc.logpath))


if __name__ == "__main__":
    run_all()
