"""The token API over the whole product (issue 16 §3), against the real
web app and the real preprocess, train and infer workers: projects,
streamed dataset uploads and health reports, runs with the run form's
rules, the events stream, cancel, models and downloads, predict with
"latest"/"best"; 401 for cookies, 404 for another user's ids on every
route; the OpenAPI description against the route table both ways; the
account page's curl lines; and examples/trainyard_api.py run as a
program."""
import html
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tylib import ROOT, check, multipart, request, run_all, test  # noqa: E402
from webclient import raw_request  # noqa: E402
from wdlib import BAR_CLASSES, Stack, bars_png, clean_logs_test  # noqa: E402
import apilib  # noqa: E402
from apilib import QUICK, SLOW, Who, bars_zip, new_token  # noqa: E402

S = Stack("ty-apip-")
S.start_pre()
S.start_train()
S.start_infer()
S.start_web(TRAINYARD_MAX_UPLOAD_MB=2, TRAINYARD_POLL_MS=150)


def api(tok, method, path, body=None, headers=None, raw=False):
    return apilib.api(S.web.port, tok, method, path, body, headers, raw)


def upload(tok, pid, data, filename="bars.zip"):
    return apilib.upload(S.web.port, tok, pid, data, filename)


def wait_dataset(tok, pid, did):
    return apilib.wait_dataset(S.web.port, tok, pid, did)


def wait_run(tok, pid, rid):
    return apilib.wait_run(S.web.port, tok, pid, rid)


A = Who(S, "a")
B = Who(S, "b")


def api_routes():
    """(METHOD, pattern) of every /api/ row of app/routes.h."""
    with open(os.path.join(ROOT, "app", "routes.h")) as f:
        text = f.read()
    rows = re.findall(r'ROUTE\(\s*\w+,\s*"(\w+)",\s*"(/api/[^"]*)"', text)
    check(len(rows) >= 15, rows)
    return {(m, p) for m, p in rows}


@test
def openapi_lists_exactly_the_api_routes_of_the_table():
    r = request(S.web.port, "GET", "/api/v1/openapi.json")
    check(r.status == 200 and r.header("Content-Type").startswith(
        "application/json"), r)
    doc = r.json()
    check(doc["openapi"].startswith("3."), doc.get("openapi"))
    with open(os.path.join(ROOT, "static", "openapi.json"), "rb") as f:
        check(json.loads(f.read()) == doc, "served != static/openapi.json")
    # {id}, {did}... are the same in both; the route table's own names
    table = api_routes()
    described = {(m.upper(), p) for p, ops in doc["paths"].items()
                 for m in ops if m in ("get", "post", "put", "delete")}
    check(table - described == set(), "not described: %s" %
          sorted(table - described))
    check(described - table == set(), "described, not routed: %s" %
          sorted(described - table))
    # every path parameter is declared, every $ref resolves
    for p, ops in doc["paths"].items():
        for m, o in ops.items():
            names = {x["name"] for x in o.get("parameters", [])
                     if x["in"] == "path"}
            check(names == set(re.findall(r"\{(\w+)\}", p)), (m, p, names))
            check(o.get("responses"), (m, p))
    for ref in re.findall(r'"\$ref": "#/([^"]+)"', json.dumps(doc)):
        node = doc
        for part in ref.split("/"):
            check(part in node, "dangling $ref " + ref)
            node = node[part]
    # the account page links it
    check('href="/api/v1/openapi.json"' in A.c.get("/account").text)


@test
def openapi_run_parameters_follow_the_parameter_table():
    """RunParams lists every run-form row of lib/engine/params_list.h
    (the IMAGE rows are the form's one image_size field), and its choices
    are the architecture and optimiser tables."""
    with open(os.path.join(ROOT, "static", "openapi.json")) as f:
        props = json.load(f)["components"]["schemas"]["RunParams"][
            "properties"]
    with open(os.path.join(ROOT, "lib", "engine", "params_list.h")) as f:
        rows = re.findall(r"^PARAM\((\w+),\s*(\w+),[^\n]*?(F_[^\n]*)$",
                          f.read(), re.M)
    form = {"image_size" if g == "IMAGE" else n for g, n, fl in rows
            if "F_FORM" in fl}
    check(len(form) >= 10, form)
    check(form - set(props) == set(), "not described: %s" %
          sorted(form - set(props)))
    with open(os.path.join(ROOT, "lib", "engine", "params.h")) as f:
        archs = re.findall(r'ARCH\(\w+, "(\w+)"', f.read())
    with open(os.path.join(ROOT, "lib", "engine", "params.c")) as f:
        opts = re.findall(r'\[NN_OPT_\w+\] = "(\w+)"', f.read())
    check(archs and props["arch"]["enum"] == archs, (archs, props["arch"]))
    check(opts and sorted(props["optimizer"]["enum"]) == sorted(opts),
          (opts, props["optimizer"]))


@test
def openapi_predict_body_has_the_keys_the_parser_reads():
    with open(os.path.join(ROOT, "static", "openapi.json")) as f:
        props = json.load(f)["components"]["schemas"]["PredictRequest"][
            "properties"]
    with open(os.path.join(ROOT, "app", "api_req.c")) as f:
        src = f.read()
    body = src[src.index("\napi_parse_predict("):]
    body = body[:body.index("\n}\n")]
    keys = set(re.findall(r'GetObjectItemCaseSensitive\(j, "(\w+)"\)',
                          body))
    check(len(keys) >= 4 and keys == set(props), (keys, sorted(props)))


@test
def openapi_passes_a_real_validator():
    """@apidevtools/swagger-parser from npm: the OpenAPI 3 schema and
    every $ref (installed into tests/api on first use)."""
    d = os.path.join(ROOT, "tests", "api")
    if not os.path.isdir(os.path.join(d, "node_modules",
                                      "@apidevtools")):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=d,
                       check=True, timeout=600, capture_output=True)
    p = subprocess.run(["node", os.path.join(d, "validate_openapi.mjs"),
                        os.path.join(ROOT, "static", "openapi.json")],
                       capture_output=True, text=True, timeout=120)
    check(p.returncode == 0 and p.stdout.startswith("ok "), p.stdout +
          p.stderr)


@test
def projects_list_create_get():
    r = api(A.tok, "GET", "/projects")
    check(r.status == 200, r)
    check([p["id"] for p in r.json()["projects"]] == [A.pid], r.json())
    check(r.json()["projects"][0]["name"] == "a <p>", r.json())
    r = api(A.tok, "POST", "/projects", {"name": "two", "description":
                                         "line one\nline two"})
    check(r.status == 201, r)
    p = r.json()["project"]
    g = api(A.tok, "GET", "/projects/%d" % p["id"])
    check(g.status == 200 and g.json()["project"]["description"] ==
          "line one\nline two", g)
    # the page sees the same project
    check(A.c.get("/projects/%d" % p["id"]).status == 200)
    # the page's rules and messages
    for body, status, word in (
            ({}, 400, "name"), ({"name": "  "}, 400, "name"),
            ({"name": "x" * 101}, 400, "100 characters"),
            ({"name": {"a": 1}}, 400, "name"),
            ({"name": "ok\u0007"}, 400, ""),
            (b"{nope", 400, "JSON"), (b"[]", 400, "object")):
        raw = isinstance(body, bytes)
        r = api(A.tok, "POST", "/projects", body, raw=raw,
                headers={"Content-Type": "application/json"})
        check(r.status == status and word in r.json()["error"], (body, r))
    head = ("POST /api/v1/projects HTTP/1.1\r\nHost: x\r\nAuthorization: "
            "Bearer %s\r\nContent-Type: application/json\r\n"
            "Content-Length: %d\r\n\r\n" % (A.tok, 1 << 20)).encode()
    out = raw_request(S.web.port, head, [b"{"])
    check(out.startswith(b"HTTP/1.1 413") and b'"error"' in out, out[:200])


@test
def datasets_upload_list_and_health_report():
    r = api(A.tok, "GET", "/projects/%d/datasets" % A.pid)
    check(r.status == 200 and [d["id"] for d in r.json()["datasets"]] ==
          [A.did], r)
    d = api(A.tok, "GET", "/projects/%d/datasets/%d" % (A.pid, A.did)).json()
    rep = d["dataset"]["report"]
    check(d["dataset"]["filename"] == "bars.zip", d)
    check(rep["usable"] and rep["images"] == 180, rep)
    check(sorted(c["name"] for c in rep["classes"]) == sorted(BAR_CLASSES),
          rep["classes"])
    check("path" not in d["dataset"], "the volume path is not shown")
    # not an archive: stored, then unusable with the reason
    r = upload(A.tok, A.pid, b"just text", "notes.zip")
    check(r.status == 201, r)
    bad = wait_dataset(A.tok, A.pid, r.json()["dataset"]["id"])
    check(bad["status"] == "unusable" and bad["error"], bad)
    # the upload's own refusals, as JSON
    r = upload(A.tok, A.pid, b"", "empty.zip")
    check(r.status == 400 and "empty" in r.json()["error"], r)
    body, ctype = multipart({"other": "x"}, [])
    r = api(A.tok, "POST", "/projects/%d/datasets" % A.pid, body,
            {"Content-Type": ctype}, raw=True)
    check(r.status == 400 and "file" in r.json()["error"], r)
    r = api(A.tok, "POST", "/projects/%d/datasets" % A.pid, b"{}",
            {"Content-Type": "application/json"}, raw=True)
    check(r.status == 400 and "multipart" in r.json()["error"], r)
    # past the limit (2 MB here): 413, from the stream, nothing kept
    before = S.rows("SELECT count(*) FROM datasets")[0][0]
    r = upload(A.tok, A.pid, os.urandom(3 << 20), "big.zip")
    check(r.status == 413 and "2 MB" in r.json()["error"], r)
    check(S.rows("SELECT count(*) FROM datasets")[0][0] == before)
    incoming = os.path.join(S.data, "uploads", ".incoming")
    check(not os.listdir(incoming), os.listdir(incoming))


@test
def a_run_from_json_to_model_with_events_and_downloads():
    A.trained()
    r = api(A.tok, "GET", "/projects/%d/runs/%d" % (A.pid, A.rid))
    run = r.json()["run"]
    check(run["status"] == "succeeded" and run["progress"] == 1, run)
    check(run["number"] == 1 and run["id"] == A.rid, run)
    check(run["params"]["model"]["arch"] == "cnn" and
          run["params"]["model"]["conv"] == [4] and
          run["params"]["epochs"] == 8, run["params"])
    check(len(run["epochs"]) == 8 and "val_acc" in run["epochs"][0],
          run["epochs"])
    m = run["metrics"]
    check(len(m["confusion"]) == 3 and all(len(x) == 3 for x in
                                           m["confusion"]), m)
    check(sum(map(sum, m["confusion"])) == run["prep"]["val"], m)
    check(run["live"]["stage"] == "Finished", run["live"])
    r = api(A.tok, "GET", "/projects/%d/runs" % A.pid)
    check([x["id"] for x in r.json()["runs"]] == [A.rid], r)
    # the events stream of a finished run: its status, then done
    r = api(A.tok, "GET", "/projects/%d/runs/%d/events" % (A.pid, A.rid))
    check(r.status == 200 and r.header("Content-Type").startswith(
        "text/event-stream"), r)
    check(r.text.count("event: epoch") == 8, r.text[:300])
    check("event: status" in r.text and "event: done" in r.text, r.text)
    # models and downloads
    r = api(A.tok, "GET", "/projects/%d/models" % A.pid)
    ms = r.json()["models"]
    check([x["id"] for x in ms] == [A.mid] and ms[0]["run_id"] == A.rid,
          ms)
    check(ms[0]["classes"] == sorted(BAR_CLASSES), ms)
    path = S.rows("SELECT path FROM models WHERE id = ?", (A.mid,))[0][0]
    with open(os.path.join(S.models, path), "rb") as f:
        tym = f.read()
    for q in ("", "?format=tym"):
        r = api(A.tok, "GET", "/projects/%d/models/%d/download%s" % (
            A.pid, A.mid, q))
        check(r.status == 200 and r.body == tym, r)
        check("attachment" in r.header("Content-Disposition"), r)
    # the exports: what the run page gives, or the same refusal
    for fmt in ("onnx", "c"):
        r = api(A.tok, "GET", "/projects/%d/models/%d/download?format=%s"
                % (A.pid, A.mid, fmt))
        page = A.c.get("/projects/%d/runs/%d/model.%s" % (A.pid, A.rid,
                                                          fmt))
        check(r.status == page.status, (fmt, r, page))
        if r.status == 200:
            check(r.body == page.body and len(r.body) > 100, (fmt, r))
            check(r.header("Content-Disposition").endswith(
                '.%s"' % fmt), r)
        else:
            check(r.status in (422, 501) and r.json()["error"], (fmt, r))
    check(api(A.tok, "GET", "/projects/%d/models/%d/download?format=onnx"
              % (A.pid, A.mid)).status == 200, "ONNX export")
    r = api(A.tok, "GET", "/projects/%d/models/%d/download?format=pt"
            % (A.pid, A.mid))
    check(r.status == 400 and "tym, onnx, c" in r.json()["error"], r)


@test
def run_parameters_get_the_forms_rules_and_messages():
    base = {"dataset_id": A.did}
    cases = [({"epochs": 0}, "epochs"), ({"arch": "rnn"}, "arch"),
             ({"lr": -1}, "lr"), ({"image_size": "big"}, "image_size"),
             ({"hidden": "a,b"}, "hidden"), ({"augment": "maybe"},
                                              "augment"),
             ({"dataset_id": 999999}, "dataset_id"), ({}, None)]
    for extra, field in cases:
        body = dict(base, **extra)
        if field == "dataset_id" or field is None:
            body = dict(extra) if field else {}
        r = api(A.tok, "POST", "/projects/%d/runs" % A.pid, body)
        check(r.status == 400, (body, r))
        j = r.json()
        fields = [e["field"] for e in j["errors"]]
        check((field or "dataset_id") in fields and j["error"], (body, j))
        # the page says exactly the same
        A.c.get("/projects/%d/runs/new" % A.pid)
        page = A.c.post_form("/projects/%d/runs" % A.pid, {
            k: (",".join(map(str, v)) if isinstance(v, list) else v)
            for k, v in body.items()})
        check(page.status == 400, page)
        text = html.unescape(page.text)
        for e in j["errors"]:
            check(e["message"] in text, (e, "not on the page"))
    # two bad fields: both reported
    r = api(A.tok, "POST", "/projects/%d/runs" % A.pid,
            dict(base, epochs=0, lr=-1))
    check({"epochs", "lr"} <= {e["field"] for e in r.json()["errors"]}, r)
    # values that no form field can carry
    r = api(A.tok, "POST", "/projects/%d/runs" % A.pid,
            dict(base, epochs={"n": 3}))
    check(r.status == 400 and "epochs" in r.json()["error"], r)
    check(S.rows("SELECT count(*) FROM runs WHERE project_id = ?",
                 (A.pid,))[0][0] <= 1, "a refused run was stored")


@test
def cancel_a_run_and_409_once_finished():
    p = dict(QUICK, dataset_id=A.did, epochs=200)
    r = api(A.tok, "POST", "/projects/%d/runs" % A.pid, p)
    check(r.status == 201 and r.json()["run"]["active"], r)
    rid = r.json()["run"]["id"]
    r = api(A.tok, "POST", "/projects/%d/runs/%d/cancel" % (A.pid, rid))
    check(r.status == 202, r)
    run = wait_run(A.tok, A.pid, rid)
    check(run["status"] == "cancelled", run)
    r = api(A.tok, "POST", "/projects/%d/runs/%d/cancel" % (A.pid, rid))
    check(r.status == 409 and "finished" in r.json()["error"], r)
    r = api(A.tok, "POST", "/projects/%d/runs/999999/cancel" % A.pid)
    check(r.status == 404, r)


@test
def predict_with_latest_and_best():
    A.trained()
    img = {"name": "v.png", "data": __import__("base64").b64encode(
        bars_png(1, 77)).decode()}
    # a second, worse model registered later: "latest" is it, "best" not
    rid2 = S.execute("INSERT INTO runs (project_id, dataset_id, status, "
                     "params_json, created_at) VALUES (?, ?, 'succeeded', "
                     "'{}', 1)", (A.pid, A.did))
    path = S.rows("SELECT path FROM models WHERE id = ?", (A.mid,))[0][0]
    worse = S.execute(
        "INSERT INTO models (project_id, run_id, path, arch, classes_json, "
        "val_acc, bytes, created_at) VALUES (?, ?, ?, 'cnn', ?, 0.1, 1, 1)",
        (A.pid, rid2, path, json.dumps(list(BAR_CLASSES))))
    for pick, want in (("latest", worse), ("best", A.mid), (A.mid, A.mid)):
        r = api(A.tok, "POST", "/projects/%d/predict" % A.pid,
                {"model_id": pick, "images": [img]})
        check(r.status == 200, (pick, r))
        check(r.json()["model"]["id"] == want, (pick, r.json()["model"]))
        check(r.json()["predictions"][0]["label"] == "v", r.json())
    r = api(A.tok, "POST", "/projects/%d/predict" % A.pid,
            {"model_id": "newest", "images": [img]})
    check(r.status == 400 and "latest" in r.json()["error"], r)
    # a project without models: "latest" is 404, as a missing id is
    r = api(A.tok, "POST", "/projects", {"name": "empty"})
    pid = r.json()["project"]["id"]
    r = api(A.tok, "POST", "/projects/%d/predict" % pid,
            {"model_id": "best", "images": [img]})
    check(r.status == 404 and "model" in r.json()["error"], r)


def every_route(pid, did, rid, mid):
    """(method, path, body) of every token route with these ids."""
    p = "/projects/%d" % pid
    return [("GET", p, None), ("GET", p + "/datasets", None),
            ("POST", p + "/datasets", b""),
            ("GET", p + "/datasets/%d" % did, None),
            ("GET", p + "/runs", None), ("POST", p + "/runs", {}),
            ("GET", p + "/runs/%d" % rid, None),
            ("POST", p + "/runs/%d/cancel" % rid, None),
            ("GET", p + "/runs/%d/events" % rid, None),
            ("GET", p + "/models", None),
            ("GET", p + "/models/%d/download" % mid, None),
            ("POST", p + "/predict", {"model_id": mid, "images": [
                {"data": "AA=="}]}),
            ("POST", p + "/sweeps", {}),
            ("GET", p + "/sweeps/1", None)]


@test
def another_users_ids_are_404_on_every_route():
    A.trained()
    B.trained()
    routes = every_route(A.pid, A.did, A.rid, A.mid)
    # the route list covers every {id} route of the table
    table = {(m, p) for m, p in api_routes() if "{id}" in p}
    check(len(table) == len(routes), (sorted(table), len(routes)))
    for m, path, body in routes:
        r = api(B.tok, m, path, body)
        check(r.status == 404 and r.json()["error"], (m, path, r))
    # B's own project with A's dataset, run and model ids: 404 too
    for m, path, body in every_route(B.pid, A.did, A.rid, A.mid):
        if re.search(r"/(datasets|runs|models)/\d+|predict", path):
            r = api(B.tok, m, path, body)
            check(r.status == 404 and r.json()["error"], (m, path, r))
    # and a's list is not in b's
    ids = [p["id"] for p in api(B.tok, "GET", "/projects").json()[
        "projects"]]
    check(A.pid not in ids and B.pid in ids, ids)
    # A's still work for A
    for m, path, body in routes[:2]:
        check(api(A.tok, m, path, body).status == 200)


@test
def cookies_never_authenticate_the_api():
    cookie = "; ".join("%s=%s" % kv for kv in A.c.cookies.items())
    A.c.get("/projects")
    routes = [("GET", "/projects", None), ("POST", "/projects",
                                           {"name": "x", "csrf": A.c.csrf})]
    routes += every_route(A.pid, A.did, A.rid or 1, A.mid or 1)
    for m, path, body in routes:
        r = api(None, m, path, body, headers={"Cookie": cookie})
        check(r.status == 401 and r.json()["error"], (m, path, r))
        check("Bearer" in (r.header("WWW-Authenticate") or ""), r)
    for bad in ("Basic dTpw", "Bearer ty_" + "A" * 43, "Bearer"):
        r = api(None, "GET", "/projects", headers={"Authorization": bad})
        check(r.status == 401, (bad, r))
    check(api(None, "GET", "/projects/x").status in (401, 404))
    # the API answers unknown addresses and methods in JSON
    r = api(A.tok, "GET", "/nothing")
    check(r.status == 404 and r.json()["error"], r)
    r = api(A.tok, "DELETE", "/projects")
    check(r.status == 405 and r.json()["error"], r)


@test
def account_page_has_curl_lines_with_real_ids():
    A.trained()
    # the newest model of the user, in its project
    mid, pid = S.rows("SELECT m.id, m.project_id FROM models m JOIN "
                      "projects p ON p.id = m.project_id JOIN users u ON "
                      "u.id = p.owner_id WHERE u.username = ? ORDER BY "
                      "m.id DESC LIMIT 1", (A.c.name,))[0]
    t = A.c.get("/account").text
    for line in ("/api/v1/projects/%d/runs" % pid,
                 "/api/v1/projects/%d/predict" % pid,
                 "/api/v1/projects/%d/models/%d/download" % (pid, mid),
                 'model_id\\": %d,' % mid):
        check(line in t, line)
    check("curl " in t and "Authorization: Bearer" in t, "no curl lines")
    check("a &lt;p&gt;" in t and "a <p>" not in t, "project name escaped")
    # the lines work as pasted: a real curl in a shell, $TOKEN set
    lines = [html.unescape(x) for x in re.findall(
        r'<pre class="curl">(.*?)</pre>', t, re.S)]
    check(len(lines) >= 5, lines)
    d = os.path.join(S.dir, "curl")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "x.png"), "wb") as f:
        f.write(bars_png(2, 4242))
    env = dict(os.environ, TOKEN=A.tok)
    out = {}
    for line in lines:
        if "-F file=" in line or "dataset_id" in line:
            continue  # the upload and run lines need a file and an id
        p = subprocess.run(["bash", "-c", line], cwd=d, env=env,
                           capture_output=True, timeout=60)
        check(p.returncode == 0, (line, p.stderr))
        out[line] = p.stdout
    got = [json.loads(v) for k, v in out.items() if "/predict" in k]
    check(got and got[0]["model"]["id"] == mid and
          got[0]["predictions"][0]["label"] == "sq", got)
    got = [json.loads(v) for k, v in out.items() if k.endswith(
        "/api/v1/projects")]
    check(got and pid in [x["id"] for x in got[0]["projects"]], got)
    files = os.listdir(d)
    check(any(f.endswith(".tym") for f in files), files)
    # a user without projects gets the lines with placeholders
    c = S.user("np")
    t = c.get("/account").text
    check("curl " in t and "/api/v1/projects" in t, t[-400:])


@test
def the_python_example_uploads_trains_and_predicts():
    c = S.user("ex")
    tok = new_token(c)
    d = os.path.join(S.dir, "example")
    os.makedirs(d)
    with open(os.path.join(d, "bars.zip"), "wb") as f:
        f.write(bars_zip())
    imgs = []
    for ci in range(3):
        imgs.append(os.path.join(d, "%s.png" % BAR_CLASSES[ci]))
        with open(imgs[-1], "wb") as f:
            f.write(bars_png(ci, 9000 + ci))
    env = dict(os.environ, TRAINYARD_URL="http://127.0.0.1:%d" % S.web.port,
               TRAINYARD_TOKEN=tok)
    args = [sys.executable, os.path.join(ROOT, "examples",
                                         "trainyard_api.py"),
            os.path.join(d, "bars.zip")] + imgs
    for k, v in QUICK.items():
        v = ",".join(map(str, v)) if isinstance(v, list) else v
        args += ["--param", "%s=%s" % (k, "0" if v is False else v)]
    t0 = time.time()
    p = subprocess.run(args, env=env, capture_output=True, text=True,
                       timeout=300 * SLOW)
    check(p.returncode == 0, (p.returncode, p.stderr[-2000:]))
    lines = [json.loads(x) for x in p.stdout.splitlines()]
    check([x["name"] for x in lines] == [os.path.basename(i) for i in imgs],
          lines)
    check([x["label"] for x in lines] == list(BAR_CLASSES), lines)
    check("validation accuracy" in p.stderr, p.stderr)
    print("  example took %.1f s" % (time.time() - t0))
    # a wrong token: exit 1 with the API's message
    env["TRAINYARD_TOKEN"] = "ty_" + "B" * 43
    p = subprocess.run(args, env=env, capture_output=True, text=True,
                       timeout=60)
    check(p.returncode == 1 and "HTTP 401" in p.stderr, p.stderr)


clean_logs_test(S)
run_all()
