"""The LSTM and the default CNN on handwritten digits, through the real
services as a user of the token API gets them (bench/bench_digits.sh):
opencv-doc's 5,000 digits (tests/data/digits_set.py) uploaded as a zip
of class folders, inspected, then for each seed two runs on the same
split (the split follows the run's seed): the run form's defaults
(dataset_id and seed only: the gray CNN) and {"arch": "lstm", "hidden":
[128]} with every other field left to the same defaults. Prints each
run and the mean +- standard error of the validation accuracy.
   digits_bench.py WORKDIR SEEDS PER_CLASS"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "http"))
import apilib  # noqa: E402
from tylib import Service, check  # noqa: E402
from wdlib import Stack  # noqa: E402

RUNS = (("cnn (form default)", {}),
        ("lstm hidden [128]", {"arch": "lstm", "hidden": [128]}))


class BenchStack(Stack):
    """The test stack with the train worker's own thread count (all
    cores), as deployed."""

    def env(self):
        e = Stack.env(self)
        e.pop("TRAINYARD_THREADS", None)
        return e


def mean_se(v):
    m = sum(v) / len(v)
    if len(v) < 2:
        return m, float("nan")
    return m, (sum((x - m) ** 2 for x in v) / (len(v) - 1) / len(v)) ** 0.5


def main():
    work, seeds, per_class = sys.argv[1], sys.argv[2].split(), sys.argv[3]
    zpath = os.path.join(work, "digits.zip")
    subprocess.run([sys.executable,
                    os.path.join(HERE, "..", "tests", "data", "digits_set.py"),
                    "zip", zpath, "--per-class", per_class], check=True)
    S = BenchStack("ty-bench-digits-")
    S.start_pre()
    S.start_train()
    S.start_web(TRAINYARD_POLL_MS=100)
    try:
        c = S.user("bench")
        tok = apilib.new_token(c)
        r = apilib.api(S.web.port, tok, "POST", "/projects",
                       {"name": "digits"})
        check(r.status == 201, r)
        pid = r.json()["project"]["id"]
        with open(zpath, "rb") as f:
            r = apilib.upload(S.web.port, tok, pid, f.read(), "digits.zip")
        check(r.status == 201, r)
        did = r.json()["dataset"]["id"]
        check(apilib.wait_dataset(S.web.port, tok, pid, did)["status"] ==
              "ready")
        print("%-20s %5s %8s %7s %5s %9s  %s" % (
            "digits (20x20 gray)", "seed", "val acc", "epochs", "best",
            "train s", "params"))
        accs = {name: [] for name, _ in RUNS}
        for seed in seeds:
            for name, extra in RUNS:
                body = dict(extra, dataset_id=did, seed=int(seed))
                r = apilib.api(S.web.port, tok, "POST",
                               "/projects/%d/runs" % pid, body)
                check(r.status == 201, r)
                rid = r.json()["run"]["id"]
                run = apilib.wait_run(S.web.port, tok, pid, rid,
                                      timeout=3600)
                check(run["status"] == "succeeded", run)
                run = apilib.api(S.web.port, tok, "GET", "/projects/%d/runs/%d"
                                 % (pid, rid)).json()["run"]
                m, p = run["metrics"], run["params"]
                mod = p["model"]
                accs[name].append(m["val_acc"])
                print("%-20s %5s %8.4f %7d %5s %9.1f  %s %s, %d epochs, %s "
                      "%g%s" % (
                          name, seed, m["val_acc"], m["epochs_trained"],
                          m.get("best_epoch", "-"), run["train_seconds"],
                          mod["arch"], mod.get("hidden"), p["epochs"],
                          p["optimizer"], p["lr"],
                          " " + p["lr_schedule"] if p.get("lr_schedule")
                          else ""), flush=True)
        for name, v in accs.items():
            m, se = mean_se(v)
            print("%-20s mean val acc %.4f +- %.4f over %d seeds: %s" % (
                name, m, se, len(v), " ".join("%.4f" % a for a in v)))
        (mc, sc), (ml, sl) = (mean_se(accs[n]) for n, _ in RUNS)
        print("lstm - cnn: %+.1f pp (+- %.1f)" % (
            100 * (ml - mc), 100 * (sc ** 2 + sl ** 2) ** 0.5))
    finally:
        Service.stop_all()


main()
