"""A sweep of 4 configurations on 2 train replicas against the same sweep
run one after another (issue 17), through the real web app, preprocess
and train processes on loopback (bench/bench_sweep.sh). Prints wall times
and ratios; not pass/fail.

Setups, each a fresh stack, interleaved REPEAT times:
  2 replicas x 1 thread   TRAINYARD_MAX_RUNS=1 per replica: 2 runs at once
  1 replica  x 1 thread   one after another (the same per-run resources)
  1 replica  x 2 threads  one after another, both cores for each run
The time is from the submit to the last run's end (prep included)."""
import os
import re
import sqlite3
import sys
import time

ROOT = os.environ.get("ROOT") or os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "http"))
import tylib  # noqa: E402
from tylib import Service, tempdir, wait_for  # noqa: E402
from webclient import Client  # noqa: E402

_n = len(tylib._tests)
import test_pipeline as tp  # noqa: E402  (its dataset generator)
del tylib._tests[_n:]

PER_CLASS = int(os.environ.get("PER_CLASS", "1000"))
EPOCHS = os.environ.get("EPOCHS", "8")
LRS = "0.001,0.002,0.003,0.004"


def one(replicas, threads, data):
    d = tempdir("ty-bench-sweep-")
    vol = {"TRAINYARD_DATA_DIR": os.path.join(d, "data"),
           "TRAINYARD_MODELS_DIR": os.path.join(d, "models"),
           "TRAINYARD_THREADS": str(threads)}
    os.makedirs(vol["TRAINYARD_DATA_DIR"])
    os.makedirs(vol["TRAINYARD_MODELS_DIR"])
    procs = [Service("trainyard-preprocess",
                     env=dict(vol, TRAINYARD_MAX_JOBS="2")).start()]
    trains = [Service("trainyard-train", env=dict(
        vol, TRAINYARD_REPLICA="r%d" % i)).start() for i in range(replicas)]
    procs += trains
    db = os.path.join(d, "db", "ty.db")
    web = Service("trainyard-web", env=dict(
        vol, TRAINYARD_DB=db, TRAINYARD_MAX_RUNS="1", TRAINYARD_POLL_MS="100",
        TRAINYARD_PREPROCESS_URL="http://127.0.0.1:%d" % procs[0].port,
        TRAINYARD_TRAIN_URL=",".join("http://127.0.0.1:%d" % t.port
                                     for t in trains),
        TRAINYARD_INFER_URL="http://127.0.0.1:9")).start()
    procs.append(web)

    def sql(q, *a):
        c = sqlite3.connect(db, timeout=10)
        try:
            return c.execute(q, a).fetchall()
        finally:
            c.close()
    try:
        c = Client(web.port)
        c.signup("bench", "a long enough password")
        c.get("/projects")
        _, pid = c.create_project("sweep")
        c.get("/projects/%d" % pid)
        r = c.upload("/projects/%d/datasets" % pid, data)
        did = int(r.header("Location").rsplit("=", 1)[1])
        wait_for(lambda: sql("SELECT status FROM datasets WHERE id = ?",
                             did)[0][0] == "ready", timeout=300,
                 what="inspection")
        c.get("/projects/%d" % pid)
        t0 = time.time()
        r = c.post_form("/projects/%d/runs" % pid, {
            "dataset_id": did, "lr": LRS, "epochs": EPOCHS,
            "early_stopping": "0"})
        sid = int(re.search(r"/sweeps/(\d+)$", r.header("Location")).group(1))

        def done():
            rows = sql("SELECT status FROM runs WHERE sweep_id = ?", sid)
            return rows and all(s in ("succeeded", "failed") for s, in rows)
        wait_for(done, timeout=3600, interval=0.2, what="the sweep")
        wall = time.time() - t0
        prep, train = sql("SELECT sum(prep_seconds), sum(train_seconds) "
                          "FROM runs WHERE sweep_id = ?", sid)[0]
        print("    (summed over the 4 runs: preprocessing %.1f s, training "
              "%.1f s)" % (prep or 0, train or 0), flush=True)
        rows = sql("SELECT status, owner FROM runs WHERE sweep_id = ?", sid)
        bad = [s for s, _ in rows if s != "succeeded"]
        owners = len(set(o for _, o in rows))
        page = c.get("/projects/%d/sweeps/%d" % (pid, sid)).text
        best = "★ best" in page
        return wall, len(rows), owners, bad, best
    finally:
        for p in procs:
            p.stop()


def main():
    repeat = int(os.environ.get("REPEAT", "2"))
    data = tp.dataset_tgz(per_class=PER_CLASS, seed=11)
    setups = [("2 replicas x 1 thread", 2, 1),
              ("1 replica x 1 thread (one after another)", 1, 1),
              ("1 replica x 2 threads (one after another)", 1, 2)]
    times = {s[0]: [] for s in setups}
    print("sweep: lr=%s (4 runs), cnn, %s epochs, %d images 28x28 gray"
          % (LRS, EPOCHS, 3 * PER_CLASS))
    for rep in range(repeat):
        for name, n, th in setups:
            wall, k, owners, bad, best = one(n, th, data)
            times[name].append(wall)
            print("  round %d  %-42s %6.1f s  runs %d on %d replica(s)%s%s"
                  % (rep + 1, name, wall, k, owners,
                     "  FAILED %r" % bad if bad else "",
                     "" if best else "  (no best marked)"), flush=True)
    med = {k: sorted(v)[len(v) // 2] for k, v in times.items()}
    a = med[setups[0][0]]
    print("median wall time:")
    for name, _, _ in setups:
        print("  %-42s %6.1f s" % (name, med[name]))
    print("ratio 2 replicas / one after another (1 thread each): %.2f "
          "(target <= 0.6)" % (a / med[setups[1][0]]))
    print("ratio 2 replicas / one after another with 2 threads:   %.2f"
          % (a / med[setups[2][0]]))
    tylib.Service.stop_all()


if __name__ == "__main__":
    main()
