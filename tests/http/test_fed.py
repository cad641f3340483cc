#!/usr/bin/python3
"""HTTP tests of parallel training (workers > 1) with real trainyard-train
processes on loopback: two replicas learn a synthetic set; the same seed
and N give the same model bytes whether the shards ran on two processes
or in one; a replica SIGKILLed mid-round, a peer that never answers and
peers that answer with a bad checksum or the wrong shape are survived
and reported in the run's messages; /fed/round refuses bad bodies; a
coordinator killed mid-run resumes from its round checkpoint."""
import atexit
import hashlib
import http.server
import json
import os
import shutil
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tylib import (Service, check, free_port, make_bars_set,  # noqa
                   run_all, tempdir, test, train_model, wait_for)

ROOTDIR = tempdir("ty-fed-http-")
atexit.register(shutil.rmtree, ROOTDIR, True)
DATA = os.path.join(ROOTDIR, "data")
SIZE = 16
# job paths are prepared/<run> in, runs/<job> out (docs/jobs.md)
make_bars_set(os.path.join(DATA, "prepared"), "bars", 600, 150, size=SIZE)
PARAMS = {"data": "prepared/bars", "model": {"arch": "mlp", "hidden": [24]},
          "epochs": 4, "batch_size": 16, "lr": 0.003, "seed": 5,
          "workers": 2}


def models_dir(name):
    d = os.path.join(ROOTDIR, "models-" + name)
    os.makedirs(d, exist_ok=True)
    return d


def worker(name, peers=None, env=None, port=None):
    e = {"TRAINYARD_DATA_DIR": DATA, "TRAINYARD_MODELS_DIR": models_dir(name),
         "TRAINYARD_THREADS": "1"}
    if peers is not None:
        e["TRAINYARD_TRAIN_PEERS"] = peers
    e.update(env or {})
    return Service("trainyard-train", env=e, port=port)


def url(s):
    return "http://127.0.0.1:%d" % s.port


def run_job(svc, jid, timeout=240, **over):
    p = dict(PARAMS, job_id=jid, output="runs/" + jid)
    p.update(over)
    r = svc.post("/jobs", p)
    check(r.status == 202, r)
    return wait_for(lambda: (lambda j: j["status"] not in ("queued", "running")
                             and j)(svc.get("/jobs/" + jid).json()),
                    timeout=timeout, what=jid)


def model_bytes(svc_name, output):
    with open(os.path.join(models_dir(svc_name), output, "model.tym"),
              "rb") as f:
        return f.read()


def messages(job):
    return "\n".join(job["result"].get("messages", []))


# Replica B first, then coordinator A, whose peer list names both (it
# recognises itself by /fed/hello's instance id).
B = worker("b").start()
_port = free_port()
A = worker("a", peers="%s, http://127.0.0.1:%d" % (url(B), _port),
           port=_port).start()


@test
def two_replicas_learn():
    before = B.get("/fed/hello").json()["rounds"]
    j = run_job(A, "fed-1")
    check(j["status"] == "succeeded", j)
    res = j["result"]
    check(res["val_acc"] > 0.9, res["val_acc"])
    check(res["workers"] == 2 and res["rounds"] == 4, res)
    check(len(res["epochs"]) == 4, res["epochs"])
    for e in res["epochs"]:
        check(set(e) >= {"epoch", "train_loss", "train_acc", "val_loss",
                         "val_acc", "seconds"}, e)
    check(res["epochs"][-1]["val_loss"] < res["epochs"][0]["val_loss"],
          res["epochs"])
    check(not res.get("messages"), res.get("messages"))
    # B trained shard 1 of every round
    check(B.get("/fed/hello").json()["rounds"] - before == 4)
    # request + answer: two weights bodies, plus the request's JSON
    nparams = res["params"]
    check(2 * (nparams * 4 + 88) <= res["bytes_per_round"]
          < 2 * (nparams * 4 + 88) + 2048, res["bytes_per_round"])


@test
def same_seed_same_bytes_across_processes():
    j = run_job(A, "fed-2")
    check(j["status"] == "succeeded", j)
    check(model_bytes("a", "runs/fed-1") == model_bytes("a", "runs/fed-2"))
    # and the same as both shards trained in one process (no peers)
    env_peers = os.environ.pop("TRAINYARD_TRAIN_PEERS", None)
    try:
        res = train_model(DATA, models_dir("solo"), dict(PARAMS, output="r"))
    finally:
        if env_peers is not None:
            os.environ["TRAINYARD_TRAIN_PEERS"] = env_peers
    check("no other train replica" in " ".join(res["messages"]), res)
    check(model_bytes("solo", "r") == model_bytes("a", "runs/fed-1"))
    # another seed gives another model
    j = run_job(A, "fed-3", seed=6)
    check(model_bytes("a", "runs/fed-3") != model_bytes("a", "runs/fed-1"))


def weights_body(nparams, flip=None):
    b = b"TYW1" + struct.pack("<IQQQdQQ", 1, nparams, 0, 0, 0.0, 0, 0)
    b += struct.pack("<%df" % nparams, *([0.01] * nparams))
    b += hashlib.blake2b(b, digest_size=32).digest()
    if flip is not None:
        b = bytearray(b)
        b[flip] ^= 0x40
        b = bytes(b)
    return b


def round_body(weights, params=None, task=None):
    j = {"params": dict(PARAMS, output="x", **(params or {})),
         "task": task or {"shard": 1, "nshards": 2, "epoch": 0,
                          "step_lo": 0, "step_hi": 3}}
    js = json.dumps(j).encode()
    return b"TYFQ" + struct.pack("<I", len(js)) + js + weights


@test
def round_refuses_bad_bodies():
    n = 16 * 16 * 24 + 24 + 24 * 3 + 3
    rows = [(b"", 400, "truncated"),
            (b"GET / HTTP/1.0\r\n\r\n", 400, "not a trainyard"),
            (b"TYFQ\xff\xff\xff\x7f{}", 400, "truncated"),
            (b"TYFQ\x02\x00\x00\x00[]", 400, "JSON"),
            (round_body(weights_body(n, flip=60)), 400, "checksum"),
            (round_body(weights_body(n, flip=-1)), 400, "checksum"),
            (round_body(weights_body(n)[:-5]), 400, "truncated"),
            (round_body(weights_body(10)), 400, "another model shape"),
            # right count, but the fingerprint (0 here) is wrong
            (round_body(weights_body(n)), 400, "another model shape"),
            (round_body(weights_body(n), task={"shard": 2, "nshards": 2,
                                               "epoch": 0, "step_lo": 0,
                                               "step_hi": 1}), 400, "task"),
            (round_body(weights_body(n), params={"lr": -1}), 400, "lr"),
            (round_body(weights_body(n), params={"data": "nope"}), 500,
             "meta.json")]
    for body, status, want in rows:
        r = B.post("/fed/round", body,
                   headers={"Content-Type": "application/octet-stream"})
        check(r.status == status, (want, r.status, r.body[:200]))
        check(want in r.json()["error"], (want, r.json()))
    check(B.get("/healthz").status == 200)


class FakePeer(http.server.BaseHTTPRequestHandler):
    """A peer that answers rounds wrongly: mode "checksum" (flipped byte),
    "shape" (weights of 10 floats, checksum right), "hang" (no answer)."""
    mode = "checksum"

    def log_message(self, *a):
        pass

    def do_GET(self):
        b = json.dumps({"instance": "f" * 32, "busy": 0}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        wb = body[8 + struct.unpack("<I", body[4:8])[0]:]
        if FakePeer.mode == "hang":
            time.sleep(8)
            return
        if FakePeer.mode == "shape":
            out = weights_body(10)
        else:
            out = bytearray(wb)
            out[24] = 7  # claims samples, without fixing the checksum
            out = bytes(out)
        self.send_response(200)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


@test
def bad_peer_answers_are_rejected():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakePeer)
    srv.daemon_threads = True
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    fake = "http://127.0.0.1:%d" % srv.server_address[1]
    try:
        for mode, want in (("checksum", "checksum mismatch"),
                           ("shape", "another model shape"),
                           ("hang", "timed out")):
            FakePeer.mode = mode
            c = worker("c-" + mode, peers=fake,
                       env={"TRAINYARD_FED_TIMEOUT": "2"}).start()
            try:
                j = run_job(c, "fed-" + mode, epochs=2)
                check(j["status"] == "succeeded", j)
                m = messages(j)
                check(want in m and "retrying on this worker" in m, m)
                check(j["result"]["val_acc"] > 0.8, j["result"])
            finally:
                c.stop()
    finally:
        srv.shutdown()
        srv.server_close()


@test
def replica_killed_mid_round():
    slow = worker("slow", env={"TRAINYARD_FED_TEST_DELAY_MS": "3000"}).start()
    c = worker("c-kill", peers=url(slow)).start()
    try:
        p = dict(PARAMS, job_id="fed-kill", output="runs/fed-kill", epochs=3)
        check(c.post("/jobs", p).status == 202)
        wait_for(lambda: slow.get("/fed/hello").json()["busy"] > 0,
                 timeout=60, what="the slow replica to start a round")
        slow.kill()
        j = wait_for(lambda: (lambda j: j["status"] not in
                              ("queued", "running") and j)(
            c.get("/jobs/fed-kill").json()), timeout=120, what="fed-kill")
        check(j["status"] == "succeeded", j)
        m = messages(j)
        check("round 1: shard 1 on %s failed" % url(slow) in m, m)
        check("retrying on this worker" in m, m)
        check(len(j["result"]["epochs"]) == 3)
        # the retried shard trained the same weights here: the run equals
        # the undisturbed one
        ref = run_job(A, "fed-kill-ref", epochs=3)
        check(ref["status"] == "succeeded", ref)
        check(model_bytes("c-kill", "runs/fed-kill") ==
              model_bytes("a", "runs/fed-kill-ref"))
    finally:
        c.stop()
        slow.stop()


@test
def coordinator_restart_resumes():
    slow = worker("slow2", env={"TRAINYARD_FED_TEST_DELAY_MS": "600"}).start()
    c = worker("c-restart", peers=url(slow)).start()
    try:
        p = dict(PARAMS, job_id="fed-restart", output="runs/fed-restart",
                 epochs=4)
        check(c.post("/jobs", p).status == 202)
        wait_for(lambda: len(c.get("/jobs/fed-restart").json()["result"]
                             .get("epochs", [])) >= 2,
                 timeout=120, what="two epochs")
        c.kill()
        c = worker("c-restart", peers=url(slow), port=c.port).start()
        j = wait_for(lambda: (lambda j: j["status"] not in
                              ("queued", "running") and j)(
            c.get("/jobs/fed-restart").json()), timeout=120,
            what="fed-restart")
        check(j["status"] == "succeeded", j)
        check([e["epoch"] for e in j["result"]["epochs"]] == [1, 2, 3, 4],
              j["result"]["epochs"])
        check("resuming" in c.log_text(), "no resume in the log")
        ref = run_job(A, "fed-restart-ref", epochs=4)
        check(model_bytes("c-restart", "runs/fed-restart") ==
              model_bytes("a", "runs/fed-restart-ref"))
    finally:
        c.stop()
        slow.stop()


if __name__ == "__main__":
    run_all()
