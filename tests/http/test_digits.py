"""The lstm architecture on handwritten digits through the token API
(issue 14), against the real web app and the real preprocess and train
workers: opencv-doc's digits (tests/data/digits_set.py; a small seeded
share of the 5,000) uploaded as a zip of class folders, inspected, then
{"arch": "lstm", "hidden": [128]} trained for a few epochs. The model
must learn the digits (chance is 0.10), and the one accuracy the run
reports is the kept epoch's: the epoch of the lowest validation loss,
the same figure in the page's header and its results card."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tylib import ROOT, check, run_all, tempdir, test  # noqa: E402
from wdlib import Stack, clean_logs_test  # noqa: E402
import apilib  # noqa: E402

# 80 of each digit: 640 to train, 160 to validate; 12 epochs take ~8 s
# in the release build (the train worker on one thread)
PER_CLASS = 80
LSTM = {"arch": "lstm", "hidden": [128], "epochs": 12, "batch_size": 32,
        "val_fraction": 0.2, "seed": 1}
MIN_ACC = 0.75

S = Stack("ty-digits-")
S.start_pre()
S.start_train()
S.start_web(TRAINYARD_POLL_MS=150)


def digits_zip():
    out = os.path.join(tempdir("ty-digits-zip-"), "digits.zip")
    subprocess.run([sys.executable,
                    os.path.join(ROOT, "tests", "data", "digits_set.py"),
                    "zip", out, "--per-class", str(PER_CLASS)], check=True)
    with open(out, "rb") as f:
        return f.read()


class User:
    def __init__(self):
        self.c = S.user("digits")
        self.tok = apilib.new_token(self.c)
        r = self.call("POST", "/projects", {"name": "digits"})
        check(r.status == 201, r)
        self.pid = r.json()["project"]["id"]
        r = apilib.upload(S.web.port, self.tok, self.pid, digits_zip(),
                          "digits.zip")
        check(r.status == 201, r)
        self.did = r.json()["dataset"]["id"]
        d = apilib.wait_dataset(S.web.port, self.tok, self.pid, self.did)
        check(d["status"] == "ready", d)

    def call(self, method, path, body=None):
        return apilib.api(S.web.port, self.tok, method, path, body)

    def train(self, params):
        r = self.call("POST", "/projects/%d/runs" % self.pid,
                      dict(params, dataset_id=self.did))
        check(r.status == 201, r)
        rid = r.json()["run"]["id"]
        run = apilib.wait_run(S.web.port, self.tok, self.pid, rid,
                              timeout=300)
        check(run["status"] == "succeeded", run)
        return self.call("GET", "/projects/%d/runs/%d" % (
            self.pid, rid)).json()["run"]


U = User()


@test
def the_digit_set_is_ten_classes_of_20x20_gray():
    d = U.call("GET", "/projects/%d/datasets/%d" % (U.pid, U.did)).json()
    rep = d["dataset"]["report"]
    check(rep["images"] == 10 * PER_CLASS, rep["images"])
    check(sorted(c["name"] for c in rep["classes"]) ==
          [str(i) for i in range(10)], rep["classes"])
    check(list(rep["sizes"]) == ["20x20"], rep["sizes"])
    check(list(rep["channels"]) == ["1"], rep["channels"])


@test
def lstm_learns_handwritten_digits_through_the_api():
    run = U.train(LSTM)
    p, m = run["params"], run["metrics"]
    check(p["model"]["arch"] == "lstm" and p["model"]["hidden"] == [128], p)
    check(p["image"] == {"width": 20, "height": 20, "channels": 1}, p)
    eps = run["epochs"]
    print("lstm: val acc by epoch %s, kept %.4f" % (
        [round(e["val_acc"], 4) for e in eps], m["val_acc"]))
    check(len(eps) == m["epochs_trained"] >= 1, (len(eps), m))
    # it learned: far above chance (0.10) on the held-out digits, and
    # the training loss fell
    check(m["val_acc"] >= MIN_ACC, "lstm val acc %.4f < %.2f; epochs %s" % (
        m["val_acc"], MIN_ACC, [round(e["val_acc"], 3) for e in eps]))
    check(eps[-1]["train_loss"] < 0.7 * eps[0]["train_loss"], eps)
    # early stopping was on (the form's default) with the worker's
    # patience for 12 epochs: ceil(12 / 4) = 3
    check(m["patience"] == 3, m.get("patience"))
    # one accuracy: the kept epoch is the lowest validation loss, and
    # its accuracy is the run's, in the header and in the results card
    kept = min(eps, key=lambda e: e["val_loss"])
    check(m["best_epoch"] == kept["epoch"], (m["best_epoch"], kept))
    check(abs(m["val_acc"] - kept["val_acc"]) < 1e-9, (m, kept))
    t = U.c.get("/projects/%d/runs/%d" % (U.pid, run["id"])).text
    head = re.search(r'id="run-best">([^<]*)<', t).group(1)
    card = re.search(r'id="val-acc">([^<]*)<', t).group(1)
    check(head == card == "%.4f" % m["val_acc"], (head, card, m["val_acc"]))


clean_logs_test(S)
run_all()
