"""Sweeps (issue 17) against the fake workers: one submit of the run form
with lists makes one run per combination, grouped as a sweep; the sweep
page shows every run's progress, the comparison charts, and marks the
best; the token API starts and reads sweeps too. (Spreading the runs over
replicas is placement's, tested in test_scale.py.)"""
import html
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tylib import check, run_all, test, wait_for  # noqa: E402
from fakeworkers import db_rows, ready_project, start_web  # noqa: E402
from apilib import api, new_token  # noqa: E402

SLOW = 3 if os.environ.get("SAN") == "1" else 1
S = {}


def sql(q, *a):
    return db_rows(S["env"], q, *a)


def setup():
    if not S:
        S.update(start_web("ty-sweeps-", "sweepuser"))
        S["train"].mode = "by_lr"  # accuracy follows lr: a best to find
    return S


def project(name):
    """A project with one ready (fake) dataset: (pid, did)."""
    return ready_project(setup(), name)


def all_done(sid):
    rows = sql("SELECT status FROM runs WHERE sweep_id = ?", sid)
    return rows and all(r[0] in ("succeeded", "failed", "cancelled")
                        for r in rows)


@test
def form_lists_make_one_run_per_combination():
    c = setup()["c"]
    pid, did = project("sweep form")
    r = c.post_form("/projects/%d/runs" % pid, {
        "dataset_id": did, "lr": "0.002, 0.01", "arch": "cnn,mlp"})
    check(r.status == 303, r)
    m = re.search(r"/projects/%d/sweeps/(\d+)$" % pid, r.header("Location"))
    check(m, "not sent to the sweep page: %r" % r.header("Location"))
    sid = int(m.group(1))
    runs = sql("SELECT id, params_json FROM runs WHERE sweep_id = ? "
               "ORDER BY id", sid)
    check(len(runs) == 4, runs)
    import json
    combos = sorted((json.loads(p)["lr"], json.loads(p)["model"]["arch"])
                    for _, p in runs)
    check(combos == [(0.002, "cnn"), (0.002, "mlp"), (0.01, "cnn"),
                     (0.01, "mlp")], combos)
    page = c.get("/projects/%d/sweeps/%d" % (pid, sid)).text
    check("Sweep %d" % sid in page and "lr=0.002, 0.01" in page, page[:3000])
    check(page.count("run-progress") == 4, "progress of every run")
    wait_for(lambda: all_done(sid), timeout=60 * SLOW, interval=0.1,
             what="the sweep's runs")
    page = c.get("/projects/%d/sweeps/%d" % (pid, sid)).text
    check("4 of 4 finished" in page, "progress summary")
    check('id="chart-compare"' in page, "no comparison chart")
    # the fake's accuracy follows lr: one of the two lr=0.01 runs is best
    best = re.findall(r'<li class="best"><a href="/projects/%d/runs/(\d+)"'
                      % pid, page)
    check(len(best) == 1 and page.count("★ best") == 1, "one best marked")
    (lr,), = [(json.loads(p)["lr"],) for i, p in runs if i == int(best[0])]
    check(lr == 0.01, "the best is not the most accurate run: lr %r" % lr)


@test
def the_sweep_field_lists_choices_of_selects_and_boxes():
    c = setup()["c"]
    pid, did = project("sweep field")
    page = c.get("/projects/%d" % pid).text
    check('name="sweep"' in page, "the form has no sweep field")
    r = c.post_form("/projects/%d/runs" % pid, {
        "dataset_id": did, "arch": "cnn",
        "sweep": "arch=cnn,mlp; augment=0,1"})
    check(r.status == 303 and "/sweeps/" in r.header("Location"), r)
    sid = int(r.header("Location").rsplit("/", 1)[1])
    import json
    got = sorted((json.loads(p)["model"]["arch"], json.loads(p)["augment"])
                 for p, in sql("SELECT params_json FROM runs WHERE "
                               "sweep_id = ?", sid))
    check(got == [("cnn", False), ("cnn", True), ("mlp", False),
                  ("mlp", True)], got)
    r = c.post_form("/projects/%d/runs" % pid, {
        "dataset_id": did, "sweep": "hidden=1,2"})
    check(r.status == 400 and "is not one" in html.unescape(r.text) and
          'value="hidden=1,2"' in r.text, "bad sweep field not shown")


@test
def a_bad_combination_creates_nothing():
    c = setup()["c"]
    pid, did = project("sweep bad")
    n0 = sql("SELECT count(*) FROM runs")[0][0]
    r = c.post_form("/projects/%d/runs" % pid, {
        "dataset_id": did, "lr": "0.01,99"})
    check(r.status == 400, r)
    check("in the sweep" in html.unescape(r.text) and "lr=99" in r.text,
          "which combination")
    r = c.post_form("/projects/%d/runs" % pid, {
        "dataset_id": did, "lr": "0.01,,0.02"})
    check(r.status == 400 and "none empty" in r.text, r)
    r = c.post_form("/projects/%d/runs" % pid, {
        "dataset_id": did, "lr": "1e-3,2e-3,3e-3", "epochs": "1,2,3"})
    check(r.status == 400 and "at most 8" in r.text, "9 runs accepted")
    check(sql("SELECT count(*) FROM runs")[0][0] == n0, "runs created")
    check(sql("SELECT count(*) FROM sweeps WHERE project_id = ?",
              pid)[0][0] == 0, "a sweep was recorded")


@test
def api_starts_and_reads_sweeps():
    s = setup()
    pid, did = project("sweep api")
    tok = new_token(s["c"])
    port = s["web"].port
    r = api(port, tok, "POST", "/projects/%d/runs" % pid,
            {"dataset_id": did, "lr": "0.002,0.01"})
    check(r.status == 400 and "/sweeps" in r.text, r)
    r = api(port, tok, "POST", "/projects/%d/sweeps" % pid,
            {"dataset_id": did, "lr": "0.002,0.01", "epochs": 2})
    check(r.status == 201, r)
    sw = r.json()["sweep"]
    check(len(sw["runs"]) == 2 and sw["spec"] == "lr=0.002,0.01", sw)
    wait_for(lambda: api(port, tok, "GET", "/projects/%d/sweeps/%d"
                         % (pid, sw["id"])).json()["sweep"]["finished"] == 2,
             timeout=60 * SLOW, interval=0.1, what="the API sweep")
    sw2 = api(port, tok, "GET", "/projects/%d/sweeps/%d"
              % (pid, sw["id"])).json()["sweep"]
    best = [x for x in sw2["runs"] if x["id"] == sw2["best_run_id"]]
    check(best and best[0]["params"]["lr"] == 0.01, sw2)
    # a sweep that is not in the project is 404
    r = api(port, tok, "GET", "/projects/%d/sweeps/%d" % (pid, 999999))
    check(r.status == 404, r)


if __name__ == "__main__":
    run_all()
