"""Placement over train replicas (issue 17): the web app with two real
train replicas sharing the models volume (each with its own job records,
TRAINYARD_REPLICA) and one preprocess worker, on loopback. Runs are placed
on the least busy replica (GET /capacity), the owner is recorded in the
run row, and TRAINYARD_MAX_RUNS counts per replica."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tylib  # noqa: E402
from tylib import Service, check, request, run_all, tempdir, test, wait_for  # noqa: E402
from webclient import Client  # noqa: E402

_ntests = len(tylib._tests)
import test_pipeline as tp  # noqa: E402  (its data and run helpers)
del tylib._tests[_ntests:]  # but not its tests

SLOW = tp.SLOW


class Stack(tp.Stack):
    """tp.Stack's volumes and web app, with two train replicas."""

    def __init__(self, replicas=2):
        d = tempdir("ty-scale-")
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
        self.pre = Service("trainyard-preprocess",
                           env=dict(vol, TRAINYARD_MAX_JOBS="2")).start()
        self.trains = []
        for i in range(replicas):
            self.trains.append(Service("trainyard-train", env=dict(
                vol, TRAINYARD_REPLICA="r%d" % i)).start())
        self.web_env = dict(vol)
        self.web_env.update({
            "TRAINYARD_DB": self.db,
            "TRAINYARD_PREPROCESS_URL": "http://127.0.0.1:%d" % self.pre.port,
            "TRAINYARD_TRAIN_URL": ",".join(
                "http://127.0.0.1:%d" % t.port for t in self.trains),
            "TRAINYARD_INFER_URL": "http://127.0.0.1:9",
            "TRAINYARD_MAX_RUNS": "1",
            "TRAINYARD_RETRY_SECONDS": "30",
            "TRAINYARD_POLL_MS": "150",
        })
        self.web = None
        self.start_web()

    def url(self, i):
        return "http://127.0.0.1:%d" % self.trains[i].port


def stack():
    if tp.S is None:
        tp.S = Stack()
    return tp.S


def job_record(replica, rid):
    p = os.path.join(stack().models, "jobs", replica, "run-%d-train.json" % rid)
    with open(p) as f:
        return json.load(f)


@test
def capacity_needs_the_token_and_counts_slots():
    s = stack()
    t = s.trains[0]
    r = request(t.port, "GET", "/capacity", auth=False)
    check(r.status == 401, r)
    r = t.get("/capacity")
    check(r.status == 200, r)
    cap = json.loads(r.body)
    check(cap["replica"] == "r0" and cap["slots"] == 1, cap)
    check(cap["free"] == 1 and cap["running"] == 0 and cap["queued"] == 0,
          cap)


@test
def two_runs_at_once_run_on_different_replicas():
    s = stack()
    c = tp.user_with_dataset(tp.dataset_tgz(per_class=100, seed=5))
    a = tp.start_run(c, epochs=6, early_stopping="0")
    b = tp.start_run(c, epochs=6, early_stopping="0", lr="0.01")
    for rid in (a, b):
        row = tp.wait_status(rid, ("succeeded", "failed"), timeout=120)
        check(row[0] == "succeeded", "run %d: %r" % (rid, row))
    owners = dict(s.sql("SELECT id, owner FROM runs WHERE id IN (?, ?)",
                        a, b))
    check(sorted(owners.values()) == sorted([s.url(0), s.url(1)]),
          "not one run per replica: %r" % owners)
    # each replica's own records say when it trained: the two overlap
    rec = {}
    for rid in (a, b):
        i = [s.url(0), s.url(1)].index(owners[rid])
        rec[rid] = job_record("r%d" % i, rid)
        check(rec[rid]["status"] == "succeeded", rec[rid])
        other = job_record("r%d" % (1 - i), rid) if os.path.exists(
            os.path.join(s.models, "jobs", "r%d" % (1 - i),
                         "run-%d-train.json" % rid)) else None
        check(other is None, "run %d also on the other replica" % rid)
    ra, rb = rec[a], rec[b]
    check(ra["started"] < rb["finished"] and rb["started"] < ra["finished"],
          "the two trainings did not overlap: a %.2f-%.2f, b %.2f-%.2f" % (
              ra["started"], ra["finished"], rb["started"], rb["finished"]))
    # the models are on the shared volume where the web app reads them
    for rid in (a, b):
        check(os.path.exists(os.path.join(s.models, "runs", str(rid),
                                          "model.tym")), rid)


@test
def a_third_run_waits_for_a_free_replica():
    # MAX_RUNS=1 per replica: 2 replicas -> 2 at once, the third queues
    s = stack()
    c = tp.user_with_dataset(tp.dataset_tgz(per_class=100, seed=6))
    ids = [tp.start_run(c, epochs=4, early_stopping="0") for _ in range(3)]
    for rid in ids:
        tp.wait_status(rid, ("succeeded",), timeout=180)
    rows = s.sql("SELECT id, started_at, finished_at FROM runs WHERE id IN "
                 "(?, ?, ?) ORDER BY started_at", *ids)
    (_, s1, f1), (_, s2, f2), (_, s3, f3) = rows
    check(s2 < f1, "the first two did not start together: %r" % rows)
    check(s3 >= min(f1, f2) - 0.5, "a third ran at once: %r" % rows)


if __name__ == "__main__":
    run_all()
