#!/usr/bin/env python3
"""trainyard's JSON API from a script, with the Python standard library
only: upload a zip of class folders, start a run, wait for it, predict.

    export TRAINYARD_URL=http://127.0.0.1:8080
    export TRAINYARD_TOKEN=ty_...          # from the account page
    python3 examples/trainyard_api.py data.zip cat.png dog.jpg
    python3 examples/trainyard_api.py --project 3 --param epochs=5 data.zip x.png

The zip holds one folder per class (cat/1.png, dog/2.jpg, ...). Each
--param name=value is a field of the run form (docs/api.md); values that
look like numbers are sent as numbers. Prints one JSON line per image:
{"name", "label", "confidence"} and exits 0, or prints the API's error and
exits 1. tests/http/test_api_product.py runs this file."""
import argparse
import base64
import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid


class ApiError(Exception):
    pass


class Client:
    def __init__(self, url, token, timeout=120):
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def call(self, method, path, body=None, ctype="application/json"):
        if body is not None and ctype == "application/json":
            body = json.dumps(body).encode()
        req = urllib.request.Request(self.url + "/api/v1" + path, data=body,
                                     method=method)
        req.add_header("Authorization", "Bearer " + self.token)
        if body is not None:
            req.add_header("Content-Type", ctype)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            try:
                msg = json.loads(e.read()).get("error")
            except ValueError:
                msg = e.reason
            raise ApiError("%s %s: HTTP %d: %s" % (method, path, e.code, msg))

    def upload(self, pid, path):
        """POST the archive as multipart/form-data (field "file")."""
        boundary = uuid.uuid4().hex
        with open(path, "rb") as f:
            data = f.read()
        name = os.path.basename(path).replace('"', "_")
        body = (("--%s\r\nContent-Disposition: form-data; name=\"file\"; "
                 "filename=\"%s\"\r\nContent-Type: application/zip\r\n\r\n"
                 % (boundary, name)).encode() + data +
                ("\r\n--%s--\r\n" % boundary).encode())
        return self.call("POST", "/projects/%d/datasets" % pid, body,
                         "multipart/form-data; boundary=" + boundary)


def wait(what, fn, timeout, interval=1.0):
    """Calls fn until it returns something; prints progress on stderr."""
    t0 = time.time()
    while time.time() - t0 < timeout:
        got = fn()
        if got is not None:
            return got
        time.sleep(interval)
    raise ApiError("gave up waiting for %s after %d s" % (what, timeout))


def number_or_text(v):
    for kind in (int, float):
        try:
            return kind(v)
        except ValueError:
            pass
    return v


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("zip", help="dataset archive: one folder per class")
    ap.add_argument("images", nargs="+", help="images to classify")
    ap.add_argument("--url", default=os.environ.get("TRAINYARD_URL",
                                                   "http://127.0.0.1:8080"))
    ap.add_argument("--token", default=os.environ.get("TRAINYARD_TOKEN"))
    ap.add_argument("--project", type=int, help="an existing project id "
                    "(default: a new project)")
    ap.add_argument("--param", action="append", default=[],
                    metavar="NAME=VALUE", help="a run form field")
    ap.add_argument("--timeout", type=int, default=1800,
                    help="seconds to wait for the run")
    a = ap.parse_args(argv)
    if not a.token:
        ap.error("give --token or set TRAINYARD_TOKEN (account page)")
    api = Client(a.url, a.token)

    pid = a.project
    if not pid:
        pid = api.call("POST", "/projects", {
            "name": "from %s" % os.path.basename(a.zip)})["project"]["id"]
        print("project %d created" % pid, file=sys.stderr)

    did = api.upload(pid, a.zip)["dataset"]["id"]
    print("dataset %d uploaded; inspecting" % did, file=sys.stderr)
    ds = wait("the inspection", lambda: (lambda d: d if d["status"] in (
        "ready", "unusable") else None)(api.call(
            "GET", "/projects/%d/datasets/%d" % (pid, did))["dataset"]),
        600, 0.5)
    if ds["status"] != "ready":
        raise ApiError("the dataset cannot be used: %s" % ds["error"])

    params = {"dataset_id": did}
    for p in a.param:
        k, _, v = p.partition("=")
        params[k] = number_or_text(v)
    run = api.call("POST", "/projects/%d/runs" % pid, params)["run"]
    print("run %d started" % run["id"], file=sys.stderr)

    def finished():
        r = api.call("GET", "/projects/%d/runs/%d" % (pid, run["id"]))["run"]
        print("  %-13s %3.0f%%  %s" % (r["status"], 100 * r["progress"],
                                       r["message"]), file=sys.stderr)
        return None if r["active"] else r
    run = wait("run %d" % run["id"], finished, a.timeout)
    if run["status"] != "succeeded":
        raise ApiError("run %d %s: %s" % (run["id"], run["status"],
                                          run["error"] or run["message"]))
    acc = (run.get("metrics") or {}).get("val_acc")
    print("run %d: validation accuracy %s" % (
        run["id"], "%.4f" % acc if acc is not None else "unknown"),
        file=sys.stderr)

    images = []
    for path in a.images:
        with open(path, "rb") as f:
            images.append({"name": os.path.basename(path),
                           "data": base64.b64encode(f.read()).decode()})
    out = api.call("POST", "/projects/%d/predict" % pid,
                   {"model_id": run["model_id"], "images": images})
    for p in out["predictions"]:
        print(json.dumps({"name": p["name"], "label": p.get("label"),
                          "confidence": p.get("confidence"),
                          "error": p.get("error")}))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except (ApiError, urllib.error.URLError, OSError) as e:
        print("error: %s" % e, file=sys.stderr)
        sys.exit(1)
