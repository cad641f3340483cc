"""Issue 13 §1-§2 replayed against the real binaries, started as CI does:
the service token between the services, the confinement of job paths,
bind addresses, and the web app's open redirect, slow clients, login
throttling, keep-alive and foreign ids. Each test is a reproduction of a
finding; it failed on the code before the fix."""
import os
import socket
import sys
import threading
import time
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tylib import (BIN, SERVICE_TOKEN, Service, check, free_port,  # noqa
                   request, run_all, tempdir, test, wait_for)
from pngmake import png  # noqa

TMP = tempdir("ty-sec-")
WORKERS = ("trainyard-preprocess", "trainyard-train", "trainyard-infer")
METRICS_TOKEN = "m" * 40


def volumes(name):
    d = os.path.join(TMP, name)
    data, models = os.path.join(d, "data"), os.path.join(d, "models")
    os.makedirs(data, exist_ok=True)
    os.makedirs(models, exist_ok=True)
    return data, models


_started = {}


def worker(name, **env):
    """One running worker per name (shared by the tests), with the token
    of tylib and a metrics token."""
    if name not in _started:
        data, models = volumes(name)
        e = {"TRAINYARD_DATA_DIR": data, "TRAINYARD_MODELS_DIR": models,
             "TRAINYARD_THREADS": "1", "TRAINYARD_METRICS_TOKEN":
             METRICS_TOKEN}
        e.update(env)
        _started[name] = Service(name, env=e).start()
    return _started[name]


def bearer(tok):
    return {"Authorization": "Bearer " + tok}


# ---- §1 the service token ------------------------------------------------

@test
def worker_routes_need_the_service_token():
    """Before: any caller could post jobs. Now 401 JSON without the token
    or with a wrong one, on every route but the probes."""
    routes = {
        "trainyard-preprocess": [("POST", "/jobs"), ("GET", "/jobs/x"),
                                 ("DELETE", "/jobs/x"), ("GET", "/nope")],
        "trainyard-train": [("POST", "/jobs"), ("GET", "/fed/hello"),
                            ("POST", "/fed/round"), ("GET", "/jobs/x")],
        "trainyard-infer": [("POST", "/predict"), ("GET", "/nope")],
    }
    wrong = [None, {"Authorization": "Bearer " + SERVICE_TOKEN[:-1] + "x"},
             {"Authorization": "Bearer "}, {"Authorization": SERVICE_TOKEN},
             {"Authorization": "Basic " + SERVICE_TOKEN},
             {"Authorization": "Bearer " + SERVICE_TOKEN + "x"},
             bearer(METRICS_TOKEN)]
    for name, rs in routes.items():
        s = worker(name)
        for method, path in rs:
            for h in wrong:
                r = request(s.port, method, path, body="{}", headers=h,
                            auth=False)
                check(r.status == 401, (name, method, path, h, r))
                check("TRAINYARD_SERVICE_TOKEN" in r.json()["error"], r)
            r = request(s.port, method, path, body="{}",
                        headers=bearer(SERVICE_TOKEN), auth=False)
            check(r.status != 401, (name, method, path, r))
        for path in ("/healthz", "/readyz"):
            r = request(s.port, "GET", path, auth=False)
            check(r.status == 200, (name, path, r))


@test
def worker_metrics_need_a_token():
    for name in WORKERS:
        s = worker(name)
        r = request(s.port, "GET", "/metrics", auth=False)
        check(r.status == 401, (name, r))
        for tok in (SERVICE_TOKEN, METRICS_TOKEN):
            r = request(s.port, "GET", "/metrics", headers=bearer(tok),
                        auth=False)
            check(r.status == 200 and b"trainyard_" in r.body, (name, r))


@test
def worker_without_token_refuses_to_start():
    data, models = volumes("notoken")
    env = dict(os.environ, TRAINYARD_DATA_DIR=data,
               TRAINYARD_MODELS_DIR=models)
    env.pop("TRAINYARD_SERVICE_TOKEN", None)
    env.pop("TRAINYARD_INSECURE_NO_TOKEN", None)
    import subprocess
    for name in WORKERS:
        env["TRAINYARD_PORT"] = str(free_port())
        p = subprocess.run([os.path.join(BIN, name)], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=20)
        check(p.returncode != 0, (name, p.returncode))
        check(b"TRAINYARD_SERVICE_TOKEN" in p.stdout, p.stdout)
    # on purpose: it starts, says so, and is open
    s = Service("trainyard-infer", env={
        "TRAINYARD_DATA_DIR": data, "TRAINYARD_MODELS_DIR": models,
        "TRAINYARD_SERVICE_TOKEN": "", "TRAINYARD_INSECURE_NO_TOKEN": "1"})
    s.start()
    try:
        r = request(s.port, "POST", "/predict", body="{}", auth=False)
        check(r.status == 400, r)
        check("TRAINYARD_INSECURE_NO_TOKEN" in s.log_text(), s.log_text())
    finally:
        s.stop()


if __name__ == "__main__":
    run_all()
