"""Fair sharing in the web app (issue 13 §3): live run views capped per
user and in all (a clear 429, and the run page's script falls back to
reloading), the run queue taking turns between users with the position on
the run page, and the predictions table: API calls stored only when asked
("store": true) and only the newest TRAINYARD_PREDICTIONS_KEEP rows of a
project kept. The real web app, infer worker and SQLite file."""
import base64
import json
import os
import re
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tylib import check, request, run_all, test, wait_for  # noqa: E402
from wdlib import Stack, add_model, bars_png, train_tiny  # noqa: E402

S = Stack("ty-fair-web-")
MODEL, _ = train_tiny(S)
S.start_infer()
# No preprocess worker (port 9): a started run stays "preprocessing",
# retrying for ten minutes, so it holds its slot and its live view.
S.pre_port = 9
S.start_web(TRAINYARD_PREDICTIONS_KEEP=5, TRAINYARD_SSE_PER_USER=3,
            TRAINYARD_SSE_MAX=5, TRAINYARD_MAX_RUNS=1,
            TRAINYARD_RETRY_SECONDS=600, TRAINYARD_POLL_MS=50)
ROWS = "SELECT count(*) FROM predictions WHERE project_id = ?"


def api_token(c):
    c.get("/account")
    r = c.post_form("/account/tokens", {"name": "fair"})
    m = re.search(r'id="token-value">(ty_[A-Za-z0-9_-]{43})<', r.text)
    check(m, r.text[:300])
    return m.group(1)


def api_predict(pid, tok, body):
    r = request(S.web.port, "POST", "/api/v1/projects/%d/predict" % pid,
                json.dumps(body).encode(),
                headers={"Authorization": "Bearer " + tok,
                         "Content-Type": "application/json"})
    check(r.status == 200, r)
    return r


def one_image(seed):
    return [{"name": "i.png",
             "data": base64.b64encode(bars_png(0, seed)).decode()}]


@test
def api_calls_are_stored_only_when_asked():
    c = S.user()
    _, pid = c.create_project("store")
    mid = add_model(S, pid, MODEL, 0.9)
    tok = api_token(c)
    for i in range(3):
        api_predict(pid, tok, {"model_id": mid, "images": one_image(i)})
    check(S.rows(ROWS, (pid,))[0][0] == 0, S.rows(ROWS, (pid,)))
    api_predict(pid, tok, {"model_id": mid, "store": True,
                           "images": one_image(9)})
    check(S.rows(ROWS, (pid,))[0][0] == 1, S.rows(ROWS, (pid,)))
    r = request(S.web.port, "POST", "/api/v1/projects/%d/predict" % pid,
                json.dumps({"model_id": mid, "store": "yes",
                            "images": one_image(1)}).encode(),
                headers={"Authorization": "Bearer " + tok,
                         "Content-Type": "application/json"})
    check(r.status == 400 and "store" in r.json()["error"], r)


@test
def only_the_newest_rows_of_a_project_are_kept():
    c = S.user()
    _, pid = c.create_project("keep")
    _, other = c.create_project("other")
    mid = add_model(S, pid, MODEL, 0.9)
    mid2 = add_model(S, other, MODEL, 0.9)
    tok = api_token(c)
    api_predict(other, tok, {"model_id": mid2, "store": True,
                             "images": one_image(0)})
    for i in range(8):
        api_predict(pid, tok, {"model_id": mid, "store": True,
                               "images": one_image(i)})
    rows = S.rows("SELECT id FROM predictions WHERE project_id = ? "
                  "ORDER BY id", (pid,))
    check(len(rows) == 5, rows)
    # the newest five, and the other project untouched
    check(rows[-1][0] == S.rows("SELECT max(id) FROM predictions")[0][0])
    check(S.rows(ROWS, (other,))[0][0] == 1)


def active_run(pid):
    """A run row the pipeline follows (and cannot finish: no worker)."""
    did = S.execute(
        "INSERT INTO datasets (project_id, filename, path, bytes, sha256, "
        "status, created_at) VALUES (?, 'd.zip', 'uploads/x', 1, 'ab', "
        "'ready', ?)", (pid, int(time.time())))
    return S.execute(
        "INSERT INTO runs (project_id, dataset_id, status, params_json, "
        "created_at, started_at) VALUES (?, ?, 'preprocessing', ?, ?, ?)",
        (pid, did, json.dumps({"dataset_id": did}), int(time.time()),
         int(time.time())))


def open_stream(c, pid, rid):
    """Opens the run's event stream; (status, first bytes, socket)."""
    s = socket.create_connection(("127.0.0.1", S.web.port), timeout=10)
    h = c._headers()
    head = "GET /projects/%d/runs/%d/events HTTP/1.1\r\nHost: x\r\n" % (
        pid, rid) + "".join("%s: %s\r\n" % kv for kv in h.items()) + "\r\n"
    s.sendall(head.encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    if b" 200 " not in data.split(b"\r\n")[0]:
        while True:  # the whole refusal
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    return int(data.split(b" ")[1]), data, s


@test
def live_views_are_capped_per_user_and_in_all():
    a, b, d = S.user("sa"), S.user("sb"), S.user("sd")
    runs = {}
    for who, c in (("a", a), ("b", b), ("d", d)):
        _, pid = c.create_project("live " + who)
        runs[who] = (pid, active_run(pid))
    held = []
    try:
        for _ in range(3):
            st, _, s = open_stream(a, *runs["a"])
            check(st == 200, st)
            held.append(s)
        st, data, s = open_stream(a, *runs["a"])
        s.close()
        check(st == 429, data[:300])
        check(b"at most 3 per user" in data and b"refreshes" in data,
              data)
        # another user still gets live views, up to the server's cap (5)
        for _ in range(2):
            st, _, s = open_stream(b, *runs["b"])
            check(st == 200, st)
            held.append(s)
        st, data, s = open_stream(d, *runs["d"])
        s.close()
        check(st == 429 and b"limit" in data, data[:300])
        # one closes: a stream is free again
        held.pop(0).close()

        def reopened():
            st, _, s = open_stream(d, *runs["d"])
            if st == 200:
                held.append(s)
                return True
            s.close()
            return False
        wait_for(reopened, timeout=30, interval=0.3, what="a freed view")
    finally:
        for s in held:
            s.close()
    # the page knows how to fall back
    r = a.get("/static/run.js")
    check(r.status == 200 and "EventSource.CLOSED" in r.text and
          "location.reload" in r.text, r.text[:200])
    t = a.get("/projects/%d/runs/%d" % runs["a"]).text
    check('id="run-live"' in t, "no place for the fallback note")


@test
def the_queue_takes_turns_between_users():
    a, b = S.user("qa"), S.user("qb")
    _, pa = a.create_project("queue a")
    _, pb = b.create_project("queue b")
    # wait for earlier tests' runs to be out of the way: one slot
    S.execute("UPDATE runs SET status = 'failed' WHERE status IN "
              "('queued', 'preprocessing', 'training')")
    first = active_run(pa)
    did = S.rows("SELECT dataset_id FROM runs WHERE id = ?", (first,))[0][0]
    mine = []
    for pid, n in ((pa, 3), (pb, 1)):
        d = did if pid == pa else S.execute(
            "INSERT INTO datasets (project_id, filename, path, bytes, "
            "sha256, status, created_at) VALUES (?, 'd.zip', 'uploads/y', "
            "1, 'ab', 'ready', 1)", (pid,))
        for _ in range(n):
            mine.append(S.execute(
                "INSERT INTO runs (project_id, dataset_id, status, "
                "params_json, created_at) VALUES (?, ?, 'queued', ?, ?)",
                (pid, d, json.dumps({"dataset_id": d}), int(time.time()))))
    a1, a2, a3, b1 = mine
    # b's run, made last, is next: a already has one running
    t = b.get("/projects/%d/runs/%d" % (pb, b1)).text
    check("Queued behind 1 run (1 running" in t and
          "position 1 in the queue" in t,
          re.findall(r'run-queued">[^<]*', t))
    t = a.get("/projects/%d/runs/%d" % (pa, a3)).text
    check("Queued behind 4 runs" in t and "position 4 in the queue" in t,
          re.findall(r'run-queued">[^<]*', t))
    # the slot frees: runs start b1, a1, a2, a3 (each then holds it, so
    # free it again each time)
    started = []
    for _ in range(4):
        S.execute("UPDATE runs SET status = 'failed' WHERE status IN "
                  "('preprocessing', 'training')")

        def next_started():
            r = S.rows("SELECT id FROM runs WHERE status = 'preprocessing'")
            return r[0][0] if r else None
        started.append(wait_for(next_started, timeout=30,
                                what="the next run started"))
    check(started == [b1, a1, a2, a3], (started, [b1, a1, a2, a3]))


if __name__ == "__main__":
    run_all()
