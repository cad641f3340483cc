"""ONNX and C exports of every architecture the engine trains, through the
web app's routes, checked against the infer worker on the same images:
the ONNX file in a real runtime (onnxruntime-node from npm) and by
python3-onnx's checker, the C file compiled with cc -std=c99 -Wall
-Werror and run. Another user's run answers 404."""
import base64
import json
import os
import random
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tylib import (ROOT, bars_image, check, make_bars_set, request,  # noqa
                   run_all, test, train_model, write_tyd)
from pngmake import png  # noqa: E402
from wdlib import Stack, add_model, clean_logs_test  # noqa: E402

ORT_DIR = os.path.join(ROOT, "tests", "export")
TOL = 1e-4
SIZE = 20

S = Stack("ty-export-")


def make_rgb_set(data_dir, name, ntr, nva, seed=11):
    """Bars in colour: the class is the shape, each channel a different
    mix, so per-channel normalisation matters."""
    d = os.path.join(data_dir, name)
    os.makedirs(d, exist_ok=True)
    rnd = random.Random(seed)
    for split, n in (("train", ntr), ("val", nva)):
        labels, px = [], bytearray()
        for _ in range(n):
            c = rnd.randrange(3)
            labels.append(c)
            px += rgb_of(bars_image(c, SIZE, rnd))
        write_tyd(os.path.join(d, split + ".tyd"), labels, bytes(px),
                  SIZE, SIZE, 3, 3)
    with open(os.path.join(d, "meta.json"), "w") as f:
        json.dump({"classes": ["h", "v", "sq"], "mean": [0.2, 0.1, 0.7],
                   "std": [0.3, 0.2, 0.25],
                   "image": {"width": SIZE, "height": SIZE, "channels": 3}},
                  f)


def rgb_of(gray):
    out = bytearray()
    for v in gray:
        out += bytes((v, v // 2, 255 - v))
    return bytes(out)


# Every architecture the engine trains: (name, data, model params).
ARCHS = [
    ("linear", "bars", {"arch": "linear", "hidden": []}),
    ("mlp", "bars", {"arch": "mlp", "hidden": [16, 8], "dropout": 0.2}),
    ("cnn", "bars", {"arch": "cnn", "conv": [4, 8], "hidden": [8]}),
    ("cnn", "rgb", {"arch": "cnn", "conv": [4], "hidden": []}),
]

make_bars_set(S.data, "bars", 300, 60, size=SIZE)
make_rgb_set(S.data, "rgb", 300, 60)
MODELS = []  # (label, arch, relative path, channels, val_acc)
for i, (arch, data, m) in enumerate(ARCHS):
    rel = "runs/%d-%s" % (i, arch)
    res = train_model(S.data, S.models, {
        "data": data, "output": rel, "model": m, "epochs": 2,
        "batch_size": 16, "optimizer": "adam", "lr": 0.01, "seed": 3})
    MODELS.append(("%s/%s" % (arch, data), arch, rel + "/model.tym",
                   3 if data == "rgb" else 1, res.get("val_acc", -1)))
S.start_infer()
S.start_pre()
S.start_web()
OWNER = S.user("owner")
_, PID = OWNER.create_project("exports")
RUNS = {}  # label -> run id
for label, arch, rel, ch, acc in MODELS:
    mid = add_model(S, PID, rel, acc, arch=arch)
    RUNS[label] = S.rows("SELECT run_id FROM models WHERE id = ?",
                         (mid,))[0][0]


def held_images(channels, n=12, seed=99):
    """n images at the model's size: (raw HWC pixels, PNG bytes)."""
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        g = bars_image(i % 3, SIZE, rnd)
        px = g if channels == 1 else rgb_of(g)
        out.append((px, png(SIZE, SIZE, channels, pixels=px)))
    return out


def worker_probs(rel, pngs, classes):
    """The infer worker's probabilities, in class order, per image."""
    body = json.dumps({"model": rel, "top_k": 100, "images": [
        {"name": "i%d" % i, "data": base64.b64encode(p).decode()}
        for i, p in enumerate(pngs)]})
    r = request(S.infer.port, "POST", "/predict", body.encode(),
                {"Content-Type": "application/json"})
    check(r.status == 200, r)
    rows = []
    for p in r.json()["predictions"]:
        check(p["error"] is None, p)
        d = {t["label"]: t["p"] for t in p["top"]}
        rows.append([d[c] for c in classes])
    return rows


def ensure_ort():
    if os.path.isdir(os.path.join(ORT_DIR, "node_modules",
                                  "onnxruntime-node")):
        return
    env = dict(os.environ, ONNXRUNTIME_NODE_INSTALL="skip")
    subprocess.run(["npm", "install", "--no-audit", "--no-fund",
                    "--silent"], cwd=ORT_DIR, env=env, check=True,
                   timeout=600)


def ort_probs(onnx_bytes, pixels, channels):
    d = S.dir
    mp, xp = os.path.join(d, "m.onnx"), os.path.join(d, "x.u8")
    with open(mp, "wb") as f:
        f.write(onnx_bytes)
    with open(xp, "wb") as f:
        f.write(b"".join(pixels))
    r = subprocess.run(["node", os.path.join(ORT_DIR, "ort_run.mjs"), mp, xp,
                        str(len(pixels)), str(SIZE), str(SIZE),
                        str(channels)], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=120)
    check(r.returncode == 0, r.stderr.decode())
    return json.loads(r.stdout)


def max_diff(a, b):
    return max(abs(x - y) for ra, rb in zip(a, b) for x, y in zip(ra, rb))


def argmaxes(rows):
    return [max(range(len(r)), key=r.__getitem__) for r in rows]


def compare(label, theirs, ours):
    d = max_diff(theirs, ours)
    print("%-10s max |p - worker| = %.2e" % (label, d))
    check(len(theirs) == len(ours), (len(theirs), len(ours)))
    check(d <= TOL, "%s: %.3g > %g" % (label, d, TOL))
    check(argmaxes(theirs) == argmaxes(ours), label)


@test
def onnx_of_every_arch_matches_the_worker_in_onnxruntime():
    import onnx
    ensure_ort()
    for label, arch, rel, ch, _ in MODELS:
        r = OWNER.get("/projects/%d/runs/%d/model.onnx" % (PID, RUNS[label]))
        check(r.status == 200, r)
        check("attachment" in r.header("Content-Disposition") and
              ".onnx" in r.header("Content-Disposition"), r)
        m = onnx.load_from_string(r.body)
        onnx.checker.check_model(m, full_check=True)
        check(m.opset_import[0].version >= 13, m.opset_import)
        props = {p.key: p.value for p in m.metadata_props}
        classes = json.loads(props["classes"])
        check(classes == ["h", "v", "sq"], props)
        imgs = held_images(ch)
        ans = ort_probs(r.body, [p for p, _ in imgs], ch)
        check(ans["inputs"] == ["image"] and
              ans["outputs"] == ["probabilities"], ans)
        compare(label, ans["probabilities"],
                worker_probs(rel, [b for _, b in imgs], classes))


@test
def another_users_run_is_404_on_the_export_routes():
    other = S.user("other")
    rid = RUNS["cnn/bars"]
    for suffix in ("model.onnx", "model.c"):
        r = other.get("/projects/%d/runs/%d/%s" % (PID, rid, suffix))
        check(r.status == 404, (suffix, r))
        check(b"ONNX" not in r.body[:64], r)
    # and a run of the owner's project that does not exist
    r = OWNER.get("/projects/%d/runs/%d/model.onnx" % (PID, rid + 1000))
    check(r.status == 404, r)


@test
def run_page_and_models_table_link_the_exports():
    rid = RUNS["cnn/bars"]
    t = OWNER.get("/projects/%d/runs/%d" % (PID, rid)).text
    for suffix in ("model.onnx", "model.c"):
        check('href="/projects/%d/runs/%d/%s"' % (PID, rid, suffix) in t,
              suffix)
    t = OWNER.get("/projects/%d" % PID).text
    check('href="/projects/%d/runs/%d/model.onnx"' % (PID, rid) in t, t)


clean_logs_test(S)

if __name__ == "__main__":
    run_all()
