"""ONNX and C exports of every architecture the engine trains, through the
web app's routes, checked against the infer worker on the same images:
the ONNX file in a real runtime (onnxruntime-node from npm) and by
python3-onnx's checker, the C file compiled with cc -std=c99 -Wall
-Werror and run. Another user's run answers 404."""
import base64
import json
import os
import random
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tylib import (ROOT, bars_image, check, make_bars_set, request,  # noqa
                   run_all, test, train_model)
from pngmake import png  # noqa: E402
from wdlib import Stack, add_model, clean_logs_test  # noqa: E402

ORT_DIR = os.path.join(ROOT, "tests", "export")
TOL = 1e-4
SIZE = 20

S = Stack("ty-export-")


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
    # batch norm (folded), stride-2 conv, 1x1 projections, residual adds,
    # global average pooling
    ("resnet", "rgb", {"arch": "resnet", "widths": [4, 8],
                       "blocks": [1, 1]}),
    # two LSTM layers: the first passes every step on
    ("lstm", "bars", {"arch": "lstm", "hidden": [8, 6]}),
]

make_bars_set(S.data, "bars", 300, 60, size=SIZE)
# bars in colour: each channel a different mix, so per-channel
# normalisation matters
make_bars_set(S.data, "rgb", 300, 60, size=SIZE, seed=11, channels=3,
              convert=rgb_of, mean=(0.2, 0.1, 0.7), std=(0.3, 0.2, 0.25))
MODELS = []  # (label, arch, relative path, channels, val_acc)
for i, (arch, data, m) in enumerate(ARCHS):
    rel = "runs/%d-%s" % (i, arch)
    res = train_model(S.data, S.models, {
        "data": data, "output": rel, "model": m, "epochs": 2,
        "batch_size": 16, "optimizer": "adam", "lr": 0.01, "seed": 3})
    MODELS.append(("%s/%s" % (arch, data), arch, rel + "/model.tym",
                   3 if data == "rgb" else 1, res.get("val_acc", -1)))


def write_tym(path, header, params):
    """A .tym file (layout of lib/engine/model.h), BLAKE2b-256 summed as
    libsodium's crypto_generichash does."""
    import hashlib
    import struct
    h = json.dumps(header).encode()
    b = (b"TYM1" + struct.pack("<III", 1, 0, len(h)) +
         struct.pack("<QQ", len(params), 0) + h +
         struct.pack("<%df" % len(params), *params))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(b + hashlib.blake2b(b, digest_size=32).digest())


def unfoldable_bn_model():
    """Batch norms that cannot fold (on the input; after pooling), a
    stride-2 conv and global average pooling: layers no architecture
    builds this way today, made by hand with random weights."""
    rnd = random.Random(4)
    layers = [{"type": "bn"},
              {"type": "conv", "out": 3, "k": 3, "stride": 2, "pad": 1},
              {"type": "relu"}, {"type": "gap"}, {"type": "bn"},
              {"type": "dense", "out": 3}]

    def bn(c):  # gamma, beta, running mean, running variance
        return ([rnd.uniform(0.5, 1.5) for _ in range(c)] +
                [rnd.uniform(-0.5, 0.5) for _ in range(c)] +
                [rnd.uniform(-0.3, 0.3) for _ in range(c)] +
                [rnd.uniform(0.3, 2.0) for _ in range(c)])
    params = (bn(1) + [rnd.gauss(0, 0.5) for _ in range(27 + 3)] + bn(3) +
              [rnd.gauss(0, 1) for _ in range(9 + 3)])
    rel = "runs/bn/model.tym"
    write_tym(os.path.join(S.models, rel), {
        "format": "trainyard model",
        "input": {"width": SIZE, "height": SIZE, "channels": 1},
        "mean": [0.15], "std": [0.25], "classes": ["h", "v", "sq"],
        "loss": "xent", "layers": layers, "nparams": len(params)}, params)
    return ("bn/hand", "cnn", rel, 1, -1)


MODELS.append(unfoldable_bn_model())


def with_fit(label, fit):
    """The rgb cnn with its input fitted by fit (docs/preprocess.md,
    "Square input"): the same weights, the header's input.fit set."""
    import struct
    src = [m for m in MODELS if m[0] == label][0]
    with open(os.path.join(S.models, src[2]), "rb") as f:
        b = f.read()
    hl, npar = struct.unpack("<I", b[12:16])[0], struct.unpack(
        "<Q", b[16:24])[0]
    header = json.loads(b[32:32 + hl])
    header["input"]["fit"] = fit
    params = struct.unpack("<%df" % npar, b[32 + hl:32 + hl + 4 * npar])
    rel = "runs/%s/model.tym" % fit
    write_tym(os.path.join(S.models, rel), header, list(params))
    FITS["%s %s" % (label, fit)] = fit
    return ("%s %s" % (label, fit), src[1], rel, src[3], src[4])


FITS = {}  # label -> the model's input.fit, when not stretch
MODELS.append(with_fit("cnn/rgb", "letterbox"))
MODELS.append(with_fit("cnn/rgb", "crop"))
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
def every_architecture_the_engine_trains_is_covered_here():
    # the architectures are rows ARCH(id, "name", ...) of params.h: a new
    # one fails here until it is trained and exported above
    with open(os.path.join(ROOT, "lib", "engine", "params.h")) as f:
        names = set(re.findall(r'ARCH\(\w+, "(\w+)"', f.read()))
    check(len(names) >= 5, names)
    check(names <= {a for a, _, _ in ARCHS}, names - {a for a, _, _ in ARCHS})


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
        check(props["fit"] == FITS.get(label, "stretch"), (label, props))
        imgs = held_images(ch)
        ans = ort_probs(r.body, [p for p, _ in imgs], ch)
        check(ans["inputs"] == ["image"] and
              ans["outputs"] == ["probabilities"], ans)
        compare(label, ans["probabilities"],
                worker_probs(rel, [b for _, b in imgs], classes))


def varied_images(seed=5):
    """Pixels of every channel count at sizes that make the resize shrink,
    grow, keep one axis, and a 1x1: (w, h, channels, pixels, PNG)."""
    rnd = random.Random(seed)
    out = []
    for w, h, c in ((SIZE, SIZE, 1), (SIZE, SIZE, 3), (37, 29, 3),
                    (13, 11, 1), (SIZE, 45, 4), (64, 64, 2), (1, 1, 3),
                    (97, 23, 4), (21, 19, 1), (400, 300, 1)):
        # bars drawn large, plus noise, so every class shows up
        cls, a = rnd.randrange(3), rnd.randrange(h)
        px = bytearray()
        for y in range(h):
            for x in range(w):
                on = (cls == 0 and abs(y - a) < max(1, h // 12)) or \
                     (cls == 1 and abs(x - a % w) < max(1, w // 12)) or \
                     (cls == 2 and abs(x - w // 2) < w // 5 and
                      abs(y - h // 2) < h // 5)
                v = 250 if on else rnd.randrange(60)
                px += bytes((v, v // 2 + rnd.randrange(9), 255 - v,
                             rnd.choice((255, 255, 0, 128, 7)))[:c]
                            if c >= 3 else
                            (v, rnd.choice((255, 0, 99)))[:c])
        out.append((w, h, c, bytes(px), png(w, h, c, pixels=bytes(px))))
    return out


def run_c_export(src, nclasses, images):
    """Compiles model.c as the issue says and runs it on images; returns
    (per-image (class, probabilities), class names, object size)."""
    d = os.path.join(S.dir, "c")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "model.c"), "wb") as f:
        f.write(src)
    cc = ["cc", "-O2", "-std=c99", "-Wall", "-Werror"]
    r = subprocess.run(cc + ["-o", "m", "model.c",
                             os.path.join(ORT_DIR, "c_main.c"), "-lm"],
                       cwd=d, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    check(r.returncode == 0, r.stderr.decode()[:2000])
    r = subprocess.run(cc + ["-c", "-o", "m.o", "model.c"], cwd=d)
    check(r.returncode == 0, "compiling alone")
    size = subprocess.run(["size", "m.o"], cwd=d, stdout=subprocess.PIPE,
                          check=True).stdout.decode().split("\n")[1]
    text, bss = int(size.split()[0]), int(size.split()[2])
    feed = b"".join(b"%d %d %d\n" % (w, h, c) + px
                    for w, h, c, px, _ in images)
    r = subprocess.run([os.path.join(d, "m"), str(nclasses)], input=feed,
                       stdout=subprocess.PIPE, timeout=60)
    check(r.returncode == 0, r)
    lines = r.stdout.decode().splitlines()
    preds = [(int(ln.split()[0]), [float(v) for v in ln.split()[1:]])
             for ln in lines[:len(images)]]
    names = [bytes.fromhex(ln.split(" ", 2)[2]).decode()
             for ln in lines[len(images):]]
    return preds, names, text, bss


@test
def c_file_of_every_arch_matches_the_worker_after_resizing():
    imgs = varied_images()
    for label, arch, rel, ch, _ in MODELS:
        r = OWNER.get("/projects/%d/runs/%d/model.c" % (PID, RUNS[label]))
        check(r.status == 200, r)
        check(".c\"" in r.header("Content-Disposition"), r)
        src = r.body
        check(b"#define TY_FIT %d\n" % ["stretch", "letterbox", "crop"].index(
            FITS.get(label, "stretch")) in src, label)
        check(b"static const float" in src and b"#include <math.h>" in src,
              src[:300])
        preds, names, text, bss = run_c_export(src, 3, imgs)
        check(names == ["h", "v", "sq"], names)
        ours = worker_probs(rel, [p for *_, p in imgs], names)
        compare(label + " C", [p for _, p in preds], ours)
        check([b for b, _ in preds] == argmaxes(ours), preds)
        # the header's size and RAM claims hold for this file
        head = src.split(b"*/")[0].decode()
        wbytes = int(re.search(r"weights are (\d+) bytes", head).group(1))
        code = int(re.search(r"code\s+\*?\s*about (\d+) bytes", head)
                   .group(1))
        ram = int(re.search(r"RAM: (\d+) bytes", head).group(1))
        print("%-10s C: .text %d (header: %d + %d), .bss %d (header %d)" % (
            label, text, wbytes, code, bss, ram))
        check(wbytes <= text <= wbytes + 2 * code, (text, wbytes, code))
        check(bss <= ram, (bss, ram))


@test
def hostile_class_names_stay_data_in_both_exports():
    import onnx
    names = ['a*/ int x; /*', 'q"\\??/', "\u00fcn\u00efc\u00f6d\u00e9 \u2603",
             "tab\tnew\nline"]
    make_bars_set(S.data, "hostile", 120, 30, size=SIZE, classes=names[:3])
    # a fourth name cannot be trained on (3 classes); swap one in
    with open(os.path.join(S.data, "hostile", "meta.json")) as f:
        meta = json.load(f)
    meta["classes"][2] = names[3] + names[2]
    with open(os.path.join(S.data, "hostile", "meta.json"), "w") as f:
        json.dump(meta, f)
    want = meta["classes"]
    train_model(S.data, S.models, {
        "data": "hostile", "output": "runs/hostile",
        "model": {"arch": "linear", "hidden": []}, "epochs": 1,
        "batch_size": 16, "optimizer": "adam", "lr": 0.01, "seed": 1})
    mid = add_model(S, PID, "runs/hostile/model.tym", 0.5, arch="linear")
    rid = S.rows("SELECT run_id FROM models WHERE id = ?", (mid,))[0][0]
    src = OWNER.get("/projects/%d/runs/%d/model.c" % (PID, rid)).body
    imgs = held_images(1, n=3)
    preds, got, _, _ = run_c_export(src, 3, [(SIZE, SIZE, 1, p, b)
                                             for p, b in imgs])
    check(got == want, (got, want))
    # the header comment ends where it should, not inside a name
    check(b"RAM:" in src.split(b"*/")[0], "comment closed early")
    m = onnx.load_from_string(OWNER.get(
        "/projects/%d/runs/%d/model.onnx" % (PID, rid)).body)
    props = {p.key: p.value for p in m.metadata_props}
    check(json.loads(props["classes"]) == want, props)


@test
def c_file_refuses_bad_arguments():
    label, arch, rel, ch, _ = MODELS[0]
    src = OWNER.get("/projects/%d/runs/%d/model.c" % (
        PID, RUNS[label])).body
    preds, _, _, _ = run_c_export(src, 3, [(0, 0, 1, b"", None),
                                           (2, 2, 5, b"\0" * 20, None)])
    check([b for b, _ in preds] == [-1, -1], preds)


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
