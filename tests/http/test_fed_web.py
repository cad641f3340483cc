#!/usr/bin/python3
"""A run with workers = 2 from the web page: the web app, the preprocess
worker and two train workers (the second a peer of the first, as
`TRAINYARD_TRAIN_REPLICAS=2 ./run.sh local` starts them) on loopback. The
run form's `workers` field reaches the train job, the peer trains a shard
of every round, and the run page shows the run like any other."""
import json
import os
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tylib  # noqa: E402
from tylib import (Service, check, free_port, run_all, tempdir,  # noqa: E402
                   test, wait_for)
from webclient import Client  # noqa: E402

# the synthetic dataset archive of the pipeline test (its tests are not
# ours to run: drop what importing it registered)
_n = len(tylib._tests)
import test_pipeline  # noqa: E402
del tylib._tests[_n:]

SLOW = 3 if os.environ.get("SAN") == "1" else 1
D = tempdir("ty-fed-web-")
DATA, MODELS = os.path.join(D, "data"), os.path.join(D, "models")
DB = os.path.join(D, "db", "trainyard.db")
VOL = {"TRAINYARD_DATA_DIR": DATA, "TRAINYARD_MODELS_DIR": MODELS,
       "TRAINYARD_THREADS": "1"}


def sql(q, *args):
    c = sqlite3.connect(DB, timeout=10)
    try:
        return c.execute(q, args).fetchall()
    finally:
        c.close()


@test
def web_run_with_two_workers():
    os.makedirs(DATA)
    os.makedirs(MODELS)
    pre = Service("trainyard-preprocess", env=VOL).start()
    peer = Service("trainyard-train", env=dict(
        VOL, TRAINYARD_MODELS_DIR=os.path.join(D, "peer"))).start()
    tport = free_port()
    train = Service("trainyard-train", port=tport, env=dict(
        VOL, TRAINYARD_TRAIN_PEERS="http://127.0.0.1:%d,http://127.0.0.1:%d"
        % (tport, peer.port))).start()
    web = Service("trainyard-web", env=dict(
        VOL, TRAINYARD_DB=DB,
        TRAINYARD_PREPROCESS_URL="http://127.0.0.1:%d" % pre.port,
        TRAINYARD_TRAIN_URL="http://127.0.0.1:%d" % tport,
        TRAINYARD_INFER_URL="http://127.0.0.1:9",
        TRAINYARD_POLL_MS="150")).start()
    c = Client(web.port)
    check(c.signup("fedweb", "correct horse battery").status == 303)
    c.get("/projects")
    r, pid = c.create_project("parallel")
    check(pid, r)
    c.get("/projects/%d" % pid)
    r = c.upload("/projects/%d/datasets" % pid, test_pipeline.dataset_tgz())
    check(r.status == 303, r)
    did = int(r.header("Location").rsplit("=", 1)[1])
    wait_for(lambda: sql("SELECT status FROM datasets WHERE id = ?",
                         did)[0][0] == "ready", timeout=30 * SLOW,
             what="inspection")
    page = c.get("/projects/%d" % pid).text
    check('name="workers"' in page, "the run form has no workers field")
    check('name="local_steps"' in page, "the run form has no local_steps field")
    r = c.post_form("/projects/%d/runs" % pid,
                    {"dataset_id": did, "workers": "2", "epochs": "30",
                     "batch_size": "8", "early_stopping": "0"})
    check(r.status == 303, r)
    rid = int(r.header("Location").rsplit("/", 1)[1])
    row = wait_for(lambda: (lambda r: r and r[0][0] in ("succeeded", "failed")
                            and r[0])(sql("SELECT status, error, epochs_json,"
                                          " metrics_json FROM runs WHERE id "
                                          "= ?", rid)),
                   timeout=120 * SLOW, interval=0.2, what="run %d" % rid)
    check(row[0] == "succeeded", row)
    m = json.loads(row[3])
    check(m.get("workers") == 2 and not m.get("messages"), m)
    check(m["val_acc"] >= 0.9, m["val_acc"])
    check(len(json.loads(row[2])) == 30, row[2])
    hello = peer.get("/fed/hello").json()
    check(hello["rounds"] == 30, hello)
    page = c.get("/projects/%d/runs/%d" % (pid, rid)).text
    for want in ("succeeded", 'id="confusion"', "<svg",
                 "Averaged every", "one epoch of each share"):
        check(want in page, "run page lacks %r" % want)
    for s in (web, train, peer, pre):
        check(s.stop() == 0, "%s exited non-zero" % s.name)


if __name__ == "__main__":
    try:
        run_all()
    finally:
        import shutil
        shutil.rmtree(D, True)
