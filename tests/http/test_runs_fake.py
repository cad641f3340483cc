"""What a person reads about runs, against the fake workers (fast, no
real training): run numbers count per project, one accuracy per run (the
model's) with its epoch marked on the charts, a cancelled run without a
model never ranks above runs with one, the predict page preselects the
model it was opened for, the run form's toggle and plurals."""
import html
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tylib import check, run_all, test, wait_for  # noqa: E402
from webclient import Client  # noqa: E402
from fakeworkers import db_rows, ready_project, start_web  # noqa: E402

SLOW = 3 if os.environ.get("SAN") == "1" else 1
S = {}


def sql(q, *a):
    return db_rows(S["env"], q, *a)


def setup():
    if not S:
        S.update(start_web("ty-runsfake-", "runsuser"))
    return S


def project(name):
    """A project with one ready (fake) dataset: (pid, did)."""
    return ready_project(setup(), name)


def run(pid, did, mode="ok"):
    s = setup()
    s["train"].mode = mode
    r = s["c"].post_form("/projects/%d/runs" % pid, {"dataset_id": did})
    check(r.status == 303, r)
    rid = int(r.header("Location").rsplit("/", 1)[1])
    wait_for(lambda: sql("SELECT status FROM runs WHERE id = ?", rid)[0][0]
             in ("succeeded", "failed", "cancelled"), timeout=20 * SLOW,
             interval=0.05, what="run %d" % rid)
    s["train"].mode = "ok"
    return rid


def h1(pid, rid):
    t = S["c"].get("/projects/%d/runs/%d" % (pid, rid)).text
    return re.search(r"<h1>([^<]*)<", t).group(1).strip(), t


@test
def run_numbers_count_per_project():
    pa, da = project("first")
    pb, db = project("second")
    b1 = run(pb, db)          # the second project's run comes first
    a1 = run(pa, da)
    a2 = run(pa, da)
    check(a1 > b1, "global ids still grow")
    check(h1(pb, b1)[0] == "Run #1", h1(pb, b1)[0])
    check(h1(pa, a1)[0] == "Run #1", h1(pa, a1)[0])
    t = h1(pa, a2)[1]
    check(h1(pa, a2)[0] == "Run #2", h1(pa, a2)[0])
    check("<title>Run #2" in t, "page title")
    p = S["c"].get("/projects/%d" % pa).text
    check('href="/projects/%d/runs/%d">#2<' % (pa, a2) in p, "runs table")
    check(">run #1</a>" in p, "models table names the run by number")
    # a deleted run's number is never given again
    r = S["c"].post_form("/projects/%d/runs/%d/delete" % (pa, a2), {})
    check(r.status == 303, r)
    a3 = run(pa, da)
    check(h1(pa, a3)[0] == "Run #3", h1(pa, a3)[0])


@test
def one_accuracy_the_models_with_its_epoch_marked():
    pid, did = project("acc")
    rid = run(pid, did)
    # the best epoch (0.9) is not the one the model kept (epoch 2, 0.75)
    eps = [{"epoch": 1, "train_loss": 0.9, "train_acc": 0.5,
            "val_loss": 0.8, "val_acc": 0.9, "seconds": 0.1},
           {"epoch": 2, "train_loss": 0.5, "train_acc": 0.7,
            "val_loss": 0.5, "val_acc": 0.75, "seconds": 0.1}]
    sql("UPDATE runs SET epochs_json = ? WHERE id = ?", json.dumps(eps), rid)
    t = S["c"].get("/projects/%d/runs/%d" % (pid, rid)).text
    head = re.search(r'id="run-best">([^<]*)<', t).group(1)
    card = re.search(r'id="val-acc">([^<]*)<', t).group(1)
    check(head == card == "0.7500", (head, card))
    check("0.9000" not in t, "a second accuracy is shown")
    check(t.count('class="mark"') == 2 and "model: epoch 2" in t,
          "kept epoch not marked on the charts")


@test
def cancelled_run_without_model_ranks_below_models():
    pid, did = project("rank")
    good = run(pid, did)
    bad = run(pid, did, mode="fail")
    # as if cancelled after its first epoch: epochs, but no model
    sql("UPDATE runs SET status = 'cancelled' WHERE id = ?", bad)
    eps = [{"epoch": 1, "train_loss": 0.1, "train_acc": 0.99,
            "val_loss": 0.05, "val_acc": 0.99, "seconds": 0.1}]
    sql("UPDATE runs SET epochs_json = ? WHERE id = ?", json.dumps(eps), bad)
    for sort in ("acc", "loss"):
        p = S["c"].get("/projects/%d?sort=%s" % (pid, sort)).text
        order = [int(x) for x in re.findall(r'<tr class="[^"]*" data-run="(\d+)"', p)]
        check(order.index(good) < order.index(bad), (sort, order))
    best = re.search(r'<tr class="best-run" data-run="(\d+)"', p)
    check(best and int(best.group(1)) == good, "best run")


@test
def predict_page_preselects_the_model_it_was_opened_for():
    pid, did = project("predict")
    r1, r2 = run(pid, did), run(pid, did)
    m = dict(sql("SELECT run_id, id FROM models WHERE run_id IN (?, ?)",
                 r1, r2))
    check(len(m) == 2, m)
    older = m[r1]
    run_page = S["c"].get("/projects/%d/runs/%d" % (pid, r1)).text
    check("/predict?model_id=%d" % older in run_page, "link")
    t = S["c"].get("/projects/%d/predict?model_id=%d" % (pid, older)).text
    sel = re.findall(r'<option value="(\d+)" selected>', t)
    check(sel == [str(older)], "selected %s, wanted %d" % (sel, older))
    check("run #1" in t and "run #2" in t, "options name runs by number")
    # without model_id: the newest, as before
    t = S["c"].get("/projects/%d/predict" % pid).text
    check(re.findall(r'<option value="(\d+)" selected>', t) == [str(m[r2])],
          "default")


@test
def run_form_is_folded_and_plurals_read_right():
    pid, did = project("form")
    p = S["c"].get("/projects/%d" % pid).text
    check('<details class="run-new">' in p, "the form starts folded")
    check("Hide the run form" in p, "the open toggle says what it does")
    check("with the form above" not in p, p)
    r = S["c"].post_form("/projects/%d/runs" % pid,
                         {"dataset_id": did, "epochs": "0"})
    check(r.status == 400, r)
    check("fix the 1 problem below" in r.text, r.text[:3000])


@test
def the_same_archive_twice_points_at_the_first():
    pid, did = project("dupes")
    c = S["c"]
    n = len(sql("SELECT id FROM datasets"))
    r = c.upload("/projects/%d/datasets" % pid, b"\x1f\x8b fake archive",
                 filename="again.tar.gz")
    check(r.status == 303, r)
    check(r.header("Location") == "/projects/%d?duplicate=%d" % (pid, did),
          r.header("Location"))
    check(len(sql("SELECT id FROM datasets")) == n, "a second copy stored")
    p = c.get(r.header("Location")).text
    m = re.search(r'id="duplicate">([^<]*)<a[^>]*href="([^"]*)"', p)
    check(m and "already in the project" in m.group(1), p[:3000])
    check(m.group(2) == "/projects/%d/datasets/%d" % (pid, did), m.group(2))
    # another project may hold the same archive
    pb, _ = project("dupes elsewhere")
    check(len(sql("SELECT id FROM datasets WHERE project_id = ?", pb)) == 1,
          "refused in another project")


def confirm_page(path, question):
    """GET path: the confirmation page asking question, POSTing to path."""
    r = S["c"].get(path)
    check(r.status == 200, (path, r.status))
    m = re.search(r'id="confirm-question">([^<]*)<', r.text)
    check(m and question in html.unescape(m.group(1)), (path, m and m.group(1)))
    check('<form method="post" action="%s"' % path in r.text, "no POST form")
    check(re.search(r'name="csrf" value="[0-9a-f]{64}"', r.text), "no csrf")


@test
def every_destructive_action_asks_first():
    pid, did = project("careful")
    rid = run(pid, did)
    base = "/projects/%d" % pid
    confirm_page(base + "/runs/%d/delete" % rid, "Delete run #1")
    confirm_page(base + "/runs/%d/cancel" % rid, "Cancel run #1")
    confirm_page(base + "/datasets/%d/delete" % did, "Delete the dataset")
    confirm_page(base + "/delete", "Delete the project “careful”")
    r = S["c"].post_form("/account/tokens", {"name": "ci-laptop"})
    check(r.status in (200, 303), r)
    tid = sql("SELECT max(id) FROM api_tokens")[0][0]
    confirm_page("/account/tokens/%d/revoke" % tid, "“ci-laptop”")
    # asking changes nothing; the buttons lead to the questions
    check(sql("SELECT count(*) FROM runs WHERE id = ?", rid)[0][0] == 1, "")
    for page, action in ((base + "/runs/%d" % rid, base + "/runs/%d/delete" % rid),
                         (base, base + "/delete"),
                         (base + "/datasets/%d" % did,
                          base + "/datasets/%d/delete" % did),
                         ("/account", "/account/tokens/%d/revoke" % tid)):
        t = S["c"].get(page).text
        check('<form method="get" action="%s" class="' % action in t and
              'data-confirm="' in t, (page, action))
    # another user's things: 404, not a question
    other = Client(S["web"].port)
    check(other.signup("someoneelse", "a long enough password").status == 303, "")
    check(other.get(base + "/runs/%d/delete" % rid).status == 404, "run")
    check(other.get("/account/tokens/%d/revoke" % tid).status == 404, "token")


@test
def dataset_delete_refused_while_runs_use_it_and_rename():
    pid, did = project("datasets")
    rid = run(pid, did)
    c = S["c"]
    r = c.post_form("/projects/%d/datasets/%d/delete" % (pid, did), {})
    check(r.status == 409 and "run #1" in r.text and "Delete" in r.text,
          (r.status, r.text[:2000]))
    check(sql("SELECT count(*) FROM datasets WHERE id = ?", did)[0][0] == 1,
          "deleted anyway")
    r = c.post_form("/projects/%d/datasets/%d/rename" % (pid, did),
                    {"name": "clothes, cleaned"})
    check(r.status == 303, r)
    check("clothes, cleaned" in c.get("/projects/%d" % pid).text, "renamed")
    bad = c.post_form("/projects/%d/datasets/%d/rename" % (pid, did),
                      {"name": "  "})
    check(bad.status == 400, bad)
    # once its run is gone the dataset can go, with its file
    check(c.post_form("/projects/%d/runs/%d/delete" % (pid, rid), {}).status
          == 303, "run delete")
    path = sql("SELECT path FROM datasets WHERE id = ?", did)[0][0]
    full = os.path.join(S["env"]["TRAINYARD_DATA_DIR"], path)
    check(os.path.exists(full), full)
    r = c.post_form("/projects/%d/datasets/%d/delete" % (pid, did), {})
    check(r.status == 303, (r.status, r.text[:500]))
    check(sql("SELECT count(*) FROM datasets WHERE id = ?", did)[0][0] == 0,
          "row left")
    check(not os.path.exists(full), "file left")
    # without the CSRF token: refused
    pid2, did2 = project("csrf")
    r = c.post_form("/projects/%d/datasets/%d/delete" % (pid2, did2), {},
                    csrf=False)
    check(r.status == 403, r)


@test
def runs_have_a_name_and_a_note_and_compare_side_by_side():
    pid, did = project("compare")
    c = S["c"]
    a = run(pid, did)
    S["train"].mode = "ok"
    r = c.post_form("/projects/%d/runs" % pid, {"dataset_id": did,
                                                "lr": "0.0123"})
    check(r.status == 303, r)
    b = int(r.header("Location").rsplit("/", 1)[1])
    wait_for(lambda: sql("SELECT status FROM runs WHERE id = ?", b)[0][0]
             == "succeeded", timeout=20 * SLOW, what="run b")
    r = c.post_form("/projects/%d/runs/%d/describe" % (pid, b),
                    {"name": "faster <lr>", "note": "line one\nline two"})
    check(r.status == 303, r)
    t = c.get("/projects/%d/runs/%d" % (pid, b)).text
    check('id="run-name">faster &lt;lr&gt;<' in t, "name not shown escaped")
    check("line one\nline two" in t, "note")
    p = c.get("/projects/%d" % pid).text
    check('<span class="run-name">faster &lt;lr&gt;</span>' in p, "runs table")
    check(c.post_form("/projects/%d/runs/%d/describe" % (pid, b),
                      {"name": "x" * 101}).status == 400, "long name")
    t = c.get("/projects/%d/compare?compare=%d&compare=%d" % (pid, a, b)).text
    check('id="chart-compare-loss"' in t and 'id="chart-compare"' in t,
          "loss and accuracy overlays")
    diff = re.search(r'id="param-diff".*?</section>', t, re.S).group(0)
    rows = re.findall(r'<tr class="diff"><th[^>]*>([^<]*)</th>', diff)
    check(rows == ["Learning rate"], rows)
    check("0.0123" in diff, diff)
    check(t.count('<table class="confusion">') == 2, "two matrices")
    check("run #2 · faster &lt;lr&gt;" in t, "labels name the runs")
    # a run of another project is left out; one run is not a comparison
    other, odid = project("compare other")
    x = run(other, odid)
    r = c.get("/projects/%d/compare?compare=%d&compare=%d" % (pid, a, x))
    check(r.status == 400, r.status)


@test
def web_stops_cleanly():
    check(setup()["web"].stop() == 0, "web exited non-zero")


if __name__ == "__main__":
    run_all()
