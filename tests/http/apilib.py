"""Helpers for the tests that drive trainyard through its token API
(test_api_product.py, test_monitoring.py): a token from the account page,
JSON calls, a bars dataset as a zip, and waits on inspection and runs.
Standard library only."""
import json
import os
import re

from tylib import check, multipart, request, wait_for
from wdlib import BAR_CLASSES, bars_png, zip_of

SLOW = 3 if os.environ.get("SAN") == "1" else 1
TOKEN_RE = re.compile(r'id="token-value">(ty_[A-Za-z0-9_-]{43})<')
# a quick run: the bars images are easy for a tiny CNN
QUICK = {"arch": "cnn", "conv": [4], "hidden": [], "epochs": 8,
         "batch_size": 16, "lr": 0.01, "image_size": "20x20x1",
         "early_stopping": False}


def new_token(c):
    """A new API token of the signed-in client c."""
    c.get("/account")
    r = c.post_form("/account/tokens", {"name": "api test"})
    check(r.status == 200, r)
    return TOKEN_RE.search(r.text).group(1)


def api(port, tok, method, path, body=None, headers=None, raw=False):
    """One call of /api/v1 + path; dicts and lists go as JSON."""
    h = {"Authorization": "Bearer " + tok} if tok else {}
    if body is not None and not raw and not isinstance(body, bytes):
        body = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    h.update(headers or {})
    return request(port, method, "/api/v1" + path, body, headers=h)


def bars_zip(n=60):
    return zip_of({"set/%s/%03d.png" % (name, i): bars_png(ci, 1000 * ci + i)
                   for ci, name in enumerate(BAR_CLASSES) for i in range(n)})


def upload(port, tok, pid, data, filename="bars.zip"):
    body, ctype = multipart({}, [("file", filename, data,
                                  "application/zip")])
    return api(port, tok, "POST", "/projects/%d/datasets" % pid, body,
               {"Content-Type": ctype}, raw=True)


def wait_dataset(port, tok, pid, did):
    def done():
        d = api(port, tok, "GET", "/projects/%d/datasets/%d" % (pid, did))
        d = d.json()["dataset"]
        return d if d["status"] in ("ready", "unusable") else None
    return wait_for(done, timeout=60 * SLOW, interval=0.1,
                    what="dataset %d inspected" % did)


def wait_run(port, tok, pid, rid, timeout=120):
    def done():
        r = api(port, tok, "GET", "/projects/%d/runs/%d" % (pid, rid)).json()
        return None if r["run"]["active"] else r["run"]
    return wait_for(done, timeout=timeout * SLOW, interval=0.2,
                    what="run %d to finish" % rid)


class Who:
    """A user of stack S with a token, a project, a ready dataset and
    (after trained()) a finished run with its model."""

    def __init__(self, S, prefix):
        self.S = S
        self.port = S.web.port
        self.c = S.user(prefix)
        self.tok = new_token(self.c)
        r = self.call("POST", "/projects", {"name": prefix + " <p>"})
        check(r.status == 201, r)
        self.pid = r.json()["project"]["id"]
        r = upload(self.port, self.tok, self.pid, bars_zip())
        check(r.status == 201, r)
        self.did = r.json()["dataset"]["id"]
        check(wait_dataset(self.port, self.tok, self.pid, self.did)[
            "status"] == "ready")
        self.rid = self.mid = None

    def call(self, method, path, body=None, headers=None, raw=False):
        return api(self.port, self.tok, method, path, body, headers, raw)

    def trained(self):
        if not self.mid:
            p = dict(QUICK, dataset_id=self.did)
            r = self.call("POST", "/projects/%d/runs" % self.pid, p)
            check(r.status == 201, r)
            self.rid = r.json()["run"]["id"]
            run = wait_run(self.port, self.tok, self.pid, self.rid)
            check(run["status"] == "succeeded", run)
            self.mid = run["model_id"]
        return self
