"""The run supervisor against fake workers that follow the job contract of
DESIGN.md but misbehave on purpose: a job that fails, a job cancelled by
someone else, a refused job (400), answers of 500 and of garbage until the
retry window closes. Also checks the X-Request-Id of every call and that
a job's progress and epochs reach the run page while it runs. Fast: no
real training."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tylib import check, run_all, test, wait_for  # noqa: E402
from fakeworkers import db_rows, start_web  # noqa: E402

SAN = os.environ.get("SAN") == "1"
SLOW = 3 if SAN else 1


S = {}


def setup():
    if S:
        return S
    S.update(start_web("ty-pipefake-", "fakeuser"))
    c = S["c"]
    _, pid = c.create_project("fake")
    c.get("/projects/%d" % pid)
    r = c.upload("/projects/%d/datasets" % pid, b"\x1f\x8b fake archive")
    did = int(r.header("Location").rsplit("=", 1)[1])
    S.update(pid=pid, did=did)
    wait_for(lambda: sql("SELECT status FROM datasets WHERE id = ?",
                         did)[0][0] == "ready", timeout=20, what="inspection")
    c.get("/projects/%d" % pid)
    return S


def sql(q, *a):
    return db_rows(S["env"], q, *a)


def run_with(mode, **fields):
    s = setup()
    s["train"].mode = mode
    f = {"dataset_id": s["did"]}
    f.update(fields)
    r = s["c"].post_form("/projects/%d/runs" % s["pid"], f)
    check(r.status == 303, r)
    rid = int(r.header("Location").rsplit("/", 1)[1])
    row = wait_for(lambda: [x for x in sql(
        "SELECT status, coalesce(error, ''), coalesce(epochs_json, '') "
        "FROM runs WHERE id = ?", rid) if x[0] in
        ("succeeded", "failed", "cancelled")], timeout=20 * SLOW,
        interval=0.05, what="run %d (%s)" % (rid, mode))[0]
    s["train"].mode = "ok"
    return rid, row


@test
def succeeds_and_sends_request_ids():
    s = setup()
    rid, row = run_with("ok")
    check(row[0] == "succeeded", row)
    check(len(json.loads(row[2])) == 2, row)
    (acc, path, classes), = sql("SELECT val_acc, path, classes_json FROM "
                                "models WHERE run_id = ?", rid)
    check(acc == 0.75 and json.loads(classes) == ["a", "b"], (acc, classes))
    for fake, stage in ((s["pre"], "prep"), (s["train"], "train")):
        mine = [c for c in fake.calls if "run-%d-" % rid in c[1] or
                c[0] == "POST" and c[2] and c[2].startswith("run-%d-" % rid)]
        check(mine, "no calls for run %d to %s" % (rid, fake.name))
        for m, p, h in mine:
            check(h == "run-%d-%s" % (rid, stage),
                  "%s %s carried X-Request-Id %r" % (m, p, h))
    # the train job was posted with the form's defaults
    body = s["train"].jobs["run-%d-train" % rid][0]["params"]
    check(body["data"] == "prepared/%d" % rid and
          body["output"] == "runs/%d" % rid, body)
    check(body["model"]["arch"] == "cnn" and body["epochs"] >= 1, body)
    page = s["c"].get("/projects/%d/runs/%d" % (s["pid"], rid)).text
    check("a test warning" in page, "preprocessing warning not shown")
    check(page.count('class="heat-') == 4, "2x2 confusion matrix")
    # a parallel run's notes are shown, escaped
    check("train worker &lt;b&gt;peer-1&lt;/b&gt; left out after round 1: "
          "timed out" in page, "result messages not shown (escaped)")


@test
def failed_job_fails_the_run_with_its_reason():
    _, row = run_with("fail")
    check(row[0] == "failed", row)
    check(row[1] == "training failed: out of memory (fake)", row[1])


@test
def job_cancelled_elsewhere_fails_the_run():
    _, row = run_with("cancelled")
    check(row[0] == "failed" and "cancelled on the train service" in row[1],
          row)


@test
def refused_job_fails_with_the_workers_words():
    _, row = run_with("refuse")
    check(row[0] == "failed", row)
    check("train service refused the job: epochs must be 1..1000" in row[1],
          row[1])


@test
def errors_500_are_retried_then_fail():
    t0 = time.time()
    _, row = run_with("500")
    check(row[0] == "failed", row)
    check("train service unreachable" in row[1] and "500" in row[1], row[1])
    check(time.time() - t0 >= 2, "gave up before the retry window")


@test
def garbage_answers_are_retried_then_fail():
    _, row = run_with("garbage")
    check(row[0] == "failed", row)
    check("unreadable answer" in row[1], row[1])


@test
def live_progress_reaches_the_page():
    s = setup()
    s["train"].mode = "ok"
    r = s["c"].post_form("/projects/%d/runs" % s["pid"],
                         {"dataset_id": s["did"]})
    rid = int(r.header("Location").rsplit("/", 1)[1])
    jid = "run-%d-train" % rid

    def hold():
        with s["train"].lock:
            j = s["train"].jobs.get(jid)
            if j:
                j[1] = 10 ** 6  # keep it running
            return j
    wait_for(hold, timeout=20, interval=0.02, what="the train job")
    wait_for(lambda: sql("SELECT epochs_json FROM runs WHERE id = ?",
                         rid)[0][0], timeout=10, what="epochs stored")
    page = s["c"].get("/projects/%d/runs/%d" % (s["pid"], rid)).text
    check("epoch 2 of 2" in page, "live epoch missing")
    check("ETA 3.5 s" in page, "ETA missing")
    check('value="0.500"' in page and "half way" in page, "progress missing")
    check("<circle" in page, "epoch not charted")
    with s["train"].lock:
        s["train"].jobs[jid][1] = 1
    wait_for(lambda: sql("SELECT status FROM runs WHERE id = ?",
                         rid)[0][0] == "succeeded", timeout=20,
             what="the run to finish")


@test
def run_ids_are_never_reused():
    """Job ids derive from run ids; a reused id would get the old jobs."""
    s = setup()
    a, row = run_with("ok")
    check(row[0] == "succeeded", row)
    r = s["c"].post_form("/projects/%d/runs/%d/delete" % (s["pid"], a), {})
    check(r.status == 303, r)
    b, row = run_with("fail")
    check(b > a, "run id %d reused (after %d)" % (b, a))
    check(row[0] == "failed", "the new run got an old job: %r" % (row,))


@test
def web_stops_cleanly():
    s = setup()
    check(s["web"].stop() == 0, "web exited non-zero (sanitizer report?)")


if __name__ == "__main__":
    run_all()
