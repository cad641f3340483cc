"""API tokens (account page) and the token-authenticated JSON API
POST /api/v1/projects/{id}/predict, against the real web app, the real
infer worker and a tiny model trained by the real train worker."""
import base64
import hashlib
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tylib import check, request, run_all, test  # noqa: E402
from webclient import raw_request  # noqa: E402
from wdlib import clean_logs_test, Stack, add_model, bars_png, train_tiny  # noqa: E402

S = Stack("ty-api-")
MODEL, TRAINED = train_tiny(S)
S.start_pre()
S.start_infer()
S.start_web()
TOKEN_RE = re.compile(r'id="token-value">(ty_[A-Za-z0-9_-]{43})<')


def new_token(c, name="script"):
    c.get("/account")
    r = c.post_form("/account/tokens", {"name": name})
    check(r.status == 200, r)
    m = TOKEN_RE.search(r.text)
    check(m, r.text)
    return m.group(1)


def api(pid, body, token=None, headers=None, raw=False):
    h = {"Content-Type": "application/json"}
    if token:
        h["Authorization"] = "Bearer " + token
    h.update(headers or {})
    data = body if raw else json.dumps(body).encode()
    r = request(S.web.port, "POST", "/api/v1/projects/%d/predict" % pid,
                data, headers=h)
    check(r.header("Content-Type").startswith("application/json"), r)
    return r


def img(cls, seed, name=None):
    return {"name": name or "i%d.png" % seed,
            "data": base64.b64encode(bars_png(cls, seed)).decode()}


def setup(prefix="u"):
    c = S.user(prefix)
    _, pid = c.create_project("api " + prefix)
    mid = add_model(S, pid, MODEL, 0.9)
    return c, pid, mid


@test
def token_is_shown_once_and_stored_hashed():
    c = S.user()
    tok = new_token(c, "nightly <batch>")
    rows = S.rows("SELECT name, token_hash, prefix FROM api_tokens")
    mine = [r for r in rows if r[0] == "nightly <batch>"]
    check(len(mine) == 1, rows)
    check(mine[0][1] == hashlib.blake2b(tok.encode(), digest_size=32)
          .digest(), "only the BLAKE2b-256 hash is stored")
    check(mine[0][2] == tok[:10], mine)
    with open(S.db, "rb") as f:
        check(tok.encode() not in f.read(), "the token is in the db file")
    t = c.get("/account").text
    check(tok not in t and tok[:10] in t, "shown again")
    check("nightly &lt;batch&gt;" in t and "never" in t, t)
    # two tokens differ; a name is required
    check(new_token(c) != tok)
    c.get("/account")
    r = c.post_form("/account/tokens", {"name": "  "})
    check(r.status == 400 and not TOKEN_RE.search(r.text), r)
    r = c.post_form("/account/tokens", {"name": "x"}, csrf="0" * 64)
    check(r.status == 403, r)


@test
def api_passes_tta_to_the_infer_worker():
    c, pid, mid = setup()
    tok = new_token(c)
    r = api(pid, {"model_id": mid, "tta": True,
                  "images": [img(0, 1, "a.png")]}, tok)
    check(r.status == 200 and r.json()["predictions"][0]["label"] == "h", r)
    check(r.json().get("tta") is True, r.json())


@test
def api_predicts_with_a_token_and_records_it():
    c, pid, mid = setup()
    tok = new_token(c)
    # "store": a history row only when asked (issue 13 §3)
    r = api(pid, {"model_id": mid, "top_k": 2, "store": True,
                  "images": [img(0, 1, "a.png"), img(1, 2, "b.png"),
                             {"name": "bad", "data": "!!!notbase64"}]},
            tok)
    check(r.status == 200, r)
    j = r.json()
    p = j["predictions"]
    check([x["name"] for x in p] == ["a.png", "b.png", "bad"], j)
    check(p[0]["label"] == "h" and p[1]["label"] == "v", p)
    check(len(p[0]["top"]) == 2 and 0 < p[0]["confidence"] <= 1, p)
    check(p[2]["error"] and p[2].get("label") is None, p)
    check(j["model"]["id"] == mid and j["model"]["classes"] ==
          ["h", "v", "sq"], j["model"])
    check(not p[0].get("thumbnail"), "no thumbnails unless asked")
    r = api(pid, {"model_id": mid, "thumbnail": 32, "store": True,
                  "images": [img(2, 3)]}, tok)
    check(r.status == 200 and r.json()["predictions"][0]["thumbnail"], r)
    rows = S.rows("SELECT source, images, user_id FROM predictions WHERE "
                  "project_id = ? ORDER BY id", (pid,))
    check([x[:2] for x in rows] == [("api", 3), ("api", 1)], rows)
    used = S.rows("SELECT last_used_at FROM api_tokens WHERE prefix = ?",
                  (tok[:10],))[0][0]
    check(used, "last use not recorded")
    check("never" not in re.search(r"<tbody>.*?</tbody>",
                                   c.get("/account").text, re.S).group(0))


@test
def missing_wrong_malformed_and_revoked_tokens_are_401():
    c, pid, mid = setup()
    tok = new_token(c)
    body = {"model_id": mid, "images": [img(0, 1)]}
    for t, h in ((None, {}), (None, {"Authorization": "Basic dTpw"}),
                 ("ty_" + "A" * 43, {}), (tok[:-1], {}),
                 (tok + "x", {}), (None, {"Authorization": "Bearer"})):
        r = api(pid, body, t, headers=h)
        check(r.status == 401 and "error" in r.json(), (t, h, r))
        check("Bearer" in (r.header("WWW-Authenticate") or ""), r)
    # a signed-in browser's cookies are no credential here
    r = api(pid, body, headers={"Cookie": "; ".join(
        "%s=%s" % kv for kv in c.cookies.items())})
    check(r.status == 401, r)
    check(api(pid, body, tok).status == 200)
    # revoke: from the account page, with the form's csrf
    c.get("/account")
    tid = int(re.search(r'/account/tokens/(\d+)/revoke', c.get(
        "/account").text).group(1))
    r = c.post_form("/account/tokens/%d/revoke" % tid, {}, csrf="0" * 64)
    check(r.status == 403, r)
    r = c.post_form("/account/tokens/%d/revoke" % tid, {})
    check(r.status == 303, r)
    r = api(pid, body, tok)
    check(r.status == 401 and "revoked" in r.json()["error"], r)
    check("revoked" in c.get("/account").text)


@test
def other_users_projects_and_models_are_404():
    a, pa, ma = setup("a")
    b, pb, mb = setup("b")
    ta, tb = new_token(a), new_token(b)
    body = {"model_id": ma, "images": [img(0, 1)]}
    r = api(pa, body, tb)
    check(r.status == 404 and r.json()["error"], r)
    r = api(pa, {"model_id": mb, "images": [img(0, 1)]}, ta)
    check(r.status == 404 and "model" in r.json()["error"], r)
    r = api(pa, {"model_id": 999999, "images": [img(0, 1)]}, ta)
    check(r.status == 404, r)
    r = api(999999, body, ta)
    check(r.status == 404, r)
    # b cannot revoke a's token: 404, and it keeps working
    tid = S.rows("SELECT id FROM api_tokens WHERE prefix = ?",
                 (ta[:10],))[0][0]
    b.get("/account")
    r = b.post_form("/account/tokens/%d/revoke" % tid, {})
    check(r.status == 404, r)
    check(api(pa, body, ta).status == 200)


@test
def bad_bodies_are_400_and_huge_ones_413():
    c, pid, mid = setup()
    tok = new_token(c)
    cases = [
        (b"{not json", "JSON"),
        (b"[1, 2]", "object"),
        (json.dumps({"images": [img(0, 1)]}).encode(), "model_id"),
        (json.dumps({"model_id": "1", "images": [img(0, 1)]}).encode(),
         "model_id"),
        (json.dumps({"model_id": 1.5, "images": [img(0, 1)]}).encode(),
         "model_id"),
        (json.dumps({"model_id": mid, "images": []}).encode(), "images"),
        (json.dumps({"model_id": mid, "images": "x"}).encode(), "images"),
        (json.dumps({"model_id": mid, "images": [{"name": "a"}]}).encode(),
         "images[0]"),
        (json.dumps({"model_id": mid, "images": [{"data": 5}]}).encode(),
         "images[0]"),
        (json.dumps({"model_id": mid, "top_k": 0,
                     "images": [img(0, 1)]}).encode(), "top_k"),
        (json.dumps({"model_id": mid, "top_k": "3",
                     "images": [img(0, 1)]}).encode(), "top_k"),
        (json.dumps({"model_id": mid, "thumbnail": 9999,
                     "images": [img(0, 1)]}).encode(), "thumbnail"),
        (json.dumps({"model_id": mid, "tta": "yes",
                     "images": [img(0, 1)]}).encode(), "tta"),
        (json.dumps({"model_id": mid, "images": [img(0, 1)] * 257}).encode(),
         "too many"),
        (b"", "JSON"),
    ]
    for body, word in cases:
        r = api(pid, body, tok, raw=True)
        check(r.status == 400, (body[:60], r))
        check(word in r.json()["error"], (body[:60], r.json()))
    # a body past the limit is refused from its Content-Length
    head = ("POST /api/v1/projects/%d/predict HTTP/1.1\r\nHost: x\r\n"
            "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
            "Content-Length: %d\r\n\r\n" % (pid, tok, 80 << 20)).encode()
    out = raw_request(S.web.port, head, [b"{"])
    check(out.startswith(b"HTTP/1.1 413"), out[:200])
    check(b'"error"' in out, out)
    # and the server still answers
    check(api(pid, {"model_id": mid, "images": [img(0, 1)]}, tok).status
          == 200)
    # 256 images in one request are fine
    r = api(pid, {"model_id": mid, "images": [img(i % 3, i)
                                              for i in range(256)]}, tok)
    check(r.status == 200 and len(r.json()["predictions"]) == 256, r)


@test
def infer_down_is_503_naming_the_service():
    c, pid, mid = setup()
    tok = new_token(c)
    port = S.infer.port
    S.infer.stop()
    r = api(pid, {"model_id": mid, "images": [img(0, 1)]}, tok)
    check(r.status == 503, r)
    check("infer service unreachable at http://127.0.0.1:%d" % port in
          r.json()["error"], r.json())
    S.start_infer(port=port)
    check(api(pid, {"model_id": mid, "images": [img(0, 1)]}, tok).status
          == 200)


clean_logs_test(S)
run_all()
