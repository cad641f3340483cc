"""Placement over train replicas (issue 17): the web app with two real
train replicas sharing the models volume (each with its own job records,
TRAINYARD_REPLICA) and one preprocess worker, on loopback. Runs are placed
on the least busy replica (GET /capacity), the owner is recorded in the
run row, and TRAINYARD_MAX_RUNS counts per replica."""
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tylib  # noqa: E402
from tylib import Service, check, request, run_all, test  # noqa: E402
from webclient import Client  # noqa: E402

_ntests = len(tylib._tests)
import test_pipeline as tp  # noqa: E402  (its data and run helpers)
del tylib._tests[_ntests:]  # but not its tests

SLOW = tp.SLOW


class Stack(tp.Stack):
    """tp.Stack with two train replicas, short leases and re-placement."""

    def __init__(self):
        super().__init__(replicas=2, train_env={"TRAINYARD_LEASE_S": "2"},
                         web_extra={"TRAINYARD_MAX_RUNS": "1",
                                    "TRAINYARD_RETRY_SECONDS": "60",
                                    "TRAINYARD_REPLACE_AFTER_S": "3"},
                         prefix="ty-scale-")

    def url(self, i):
        return "http://127.0.0.1:%d" % self.trains[i].port


def stack():
    if tp.S is None:
        tp.S = Stack()
    return tp.S


def brief(rec):
    return {k: rec.get(k) for k in ("status", "message", "attempts",
                                    "crashes", "lease")}


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


@test
def a_lost_replica_s_run_continues_on_the_other():
    s = stack()
    c = tp.user_with_dataset(tp.dataset_tgz(per_class=150, seed=7))
    rid = tp.start_run(c, epochs=40, early_stopping="0")
    tp.wait_for(lambda: tp.epochs_of(rid) >= 3, timeout=90 * SLOW,
                interval=0.05, what="three epochs")
    (owner,), = s.sql("SELECT owner FROM runs WHERE id = ?", rid)
    lost = [s.url(0), s.url(1)].index(owner)
    keep = 1 - lost
    s.trains[lost].kill()  # SIGKILL, mid-run; it stays down
    row = tp.wait_status(rid, ("succeeded", "failed"), timeout=240)
    check(row[0] == "succeeded", "run: %r" % (row,))
    (owner2,), = s.sql("SELECT owner FROM runs WHERE id = ?", rid)
    check(owner2 == s.url(keep), "not re-placed: %r" % owner2)
    # the survivor resumed from the checkpoint, not from scratch
    log = s.trains[keep].log_text()
    m = re.search(r"resuming \S*runs/%d/checkpoint.tym after epoch (\d+)"
                  % rid, log)
    check(m and int(m.group(1)) >= 2, "no resume from the checkpoint")
    eps = json.loads(tp.run_row(rid)[2])
    check(len(eps) == 40, "epochs %d" % len(eps))
    rec_keep = job_record("r%d" % keep, rid)
    check(rec_keep["status"] == "succeeded" and rec_keep["attempts"] == 1,
          brief(rec_keep))
    # the lost replica comes back: it resumes nothing that ran elsewhere
    rec_lost = job_record("r%d" % lost, rid)
    check(rec_lost["status"] == "running", brief(rec_lost))  # as the kill left it
    attempts = rec_lost["attempts"]
    t = s.trains[lost]
    logged = len(t.log_text())
    s.trains[lost] = Service(t.name, env=t.env, port=t.port).start()
    tp.wait_for(lambda: job_record("r%d" % lost, rid)["status"]
                not in ("queued", "running"), timeout=30 * SLOW,
                what="the old copy to be settled")
    rec_lost = job_record("r%d" % lost, rid)
    check(rec_lost["status"] == "cancelled" and "re-placed on replica r%d"
          % keep in rec_lost["message"], brief(rec_lost))
    check(rec_lost["attempts"] == attempts, "it ran again: %r" % brief(rec_lost))
    check("runs/%d/checkpoint" % rid not in
          s.trains[lost].log_text()[logged:], "it resumed the run")
    check(tp.run_row(rid)[0] == "succeeded", "run changed after the return")


if __name__ == "__main__":
    run_all()
