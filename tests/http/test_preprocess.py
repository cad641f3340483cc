"""The preprocess worker over real HTTP: the inspect report of a healthy
archive, prepare's tensors (pixel values of known images after resize,
meta.json, determinism), and one test per hostile input of issue 3, each
generated here. Every bad input must give a clear result and leave
nothing half-written."""
import gzip
import io
import json
import os
import random
import shutil
import struct
import sys
import tarfile
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tylib import Service, check, run_all, tempdir, test, wait_for  # noqa
from pngmake import gray_blocks, png  # noqa

TMP = tempdir("ty-prep-")
DATA, MODELS = os.path.join(TMP, "data"), os.path.join(TMP, "models")
UP = os.path.join(DATA, "uploads", "1")
os.makedirs(UP)

# An 8x8 gray baseline JPEG (value 90) and a 16x16 progressive RGB JPEG
# (red), made once with PIL and kept here as bytes.
JPEG_GRAY = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb0043000302020302020303030304"
    "030304050805050404050a070706080c0a0c0c0b0a0b0b0d0e12100d0e110e0b0b101610"
    "1113141515150c0f171816141812141514ffc0000b080008000801011100ffc4001f0000"
    "010501010101010100000000000000000102030405060708090a0bffc400b51000020103"
    "03020403050504040000017d01020300041105122131410613516107227114328191a108"
    "2342b1c11552d1f02433627282090a161718191a25262728292a3435363738393a434445"
    "464748494a535455565758595a636465666768696a737475767778797a83848586878889"
    "8a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9"
    "cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9faffda00080101"
    "00003f00f1aaffd9")
JPEG_PROG = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb0043000302020302020303030304"
    "030304050805050404050a070706080c0a0c0c0b0a0b0b0d0e12100d0e110e0b0b101610"
    "1113141515150c0f171816141812141514ffdb00430103040405040509050509140d0b0d"
    "141414141414141414141414141414141414141414141414141414141414141414141414"
    "1414141414141414141414141414ffc20011080010001003012200021101031101ffc400"
    "1500010100000000000000000000000000000007ffc40015010101000000000000000000"
    "00000000000607ffda000c03010002100310000001968297efffc4001410010000000000"
    "0000000000000000000020ffda00080101000105021fffc4001411010000000000000000"
    "0000000000000000ffda0008010301013f017fffc4001411010000000000000000000000"
    "0000000000ffda0008010201013f017fffc4001410010000000000000000000000000000"
    "0020ffda0008010100063f021fffc40014100100000000000000000000000000000020ff"
    "da0008010100013f211fffda000c03010002000300000010ff00ffc40014110100000000"
    "000000000000000000000000ffda0008010301013f107fffc40014110100000000000000"
    "000000000000000000ffda0008010201013f107fffc40014100100000000000000000000"
    "000000000020ffda0008010100013f101fffd9")

svc = Service("trainyard-preprocess", env={
    "TRAINYARD_DATA_DIR": DATA, "TRAINYARD_MODELS_DIR": MODELS,
    "TRAINYARD_THREADS": "2",
    # small limits so the bombs below stay cheap to build and to refuse
    "TRAINYARD_MAX_ENTRY_MB": "8", "TRAINYARD_MAX_TOTAL_MB": "64",
    "TRAINYARD_MAX_RATIO": "50", "TRAINYARD_MAX_ENTRIES": "5000",
}).start()
_n = [0]


def run_job(kind, archive, **params):
    _n[0] += 1
    jid = "%s-%d" % (kind, _n[0])
    body = dict(job_id=jid, kind=kind, dataset="uploads/1/" + archive, **params)
    if kind == "prepare":
        body.setdefault("output", "prepared/" + jid)
    r = svc.post("/jobs", body)
    check(r.status == 202, r)

    def done():
        j = svc.get("/jobs/" + jid).json()
        return j if j["status"] in ("succeeded", "failed",
                                    "cancelled") else None
    return wait_for(done, timeout=120, what=jid)


def inspect(archive):
    j = run_job("inspect", archive)
    check(j["status"] == "succeeded", j)
    return j["result"]


def write(name, data):
    with open(os.path.join(UP, name), "wb") as f:
        f.write(data)
    return name


def make_zip(name, files, compression=zipfile.ZIP_DEFLATED):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", compression) as z:
        for n, d in files:
            z.writestr(zipfile.ZipInfo(n) if isinstance(n, str) else n, d,
                       compress_type=compression)
    return write(name, b.getvalue())


def make_tar(name, files, gz=True, encoding="utf-8"):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w:gz" if gz else "w",
                      format=tarfile.PAX_FORMAT if encoding == "utf-8"
                      else tarfile.GNU_FORMAT, encoding=encoding,
                      errors="surrogateescape") as t:
        for n, d in files:
            ti = tarfile.TarInfo(n)
            ti.size = len(d)
            t.addfile(ti, io.BytesIO(d))
    return write(name, b.getvalue())


def healthy_files(per=12):
    files = []
    for i in range(per):
        files.append(("photos/cats/c%d.png" % i, png(5, 4, 3, fill=30)))
        files.append(("photos/dogs/d%d.png" % i, png(6, 6, 1, fill=220)))
    return files


def skipped_reason(res, needle):
    for s in res["skipped"]:
        if needle in s["name"]:
            return s["reason"]
    return None


def read_tyd(path):
    with open(path, "rb") as f:
        b = f.read()
    magic, ver, n, h, w, c, k, _ = struct.unpack("<4s7I", b[:32])
    check(magic == b"TYD1" and ver == 1)
    labels = struct.unpack("<%dH" % n, b[32:32 + 2 * n])
    off = 32 + (2 * n + 63) // 64 * 64
    size = h * w * c
    check(len(b) == off + n * size, "tyd length")
    return dict(n=n, h=h, w=w, c=c, classes=k, labels=labels,
                images=[b[off + i * size:off + (i + 1) * size]
                        for i in range(n)])


def no_output_for(jid):
    d = os.path.join(DATA, "prepared")
    names = os.listdir(d) if os.path.isdir(d) else []
    return not [x for x in names if x.startswith(jid)]


# ---------------------------------------------------------------- healthy

@test
def inspect_health_report():
    files = healthy_files()
    files += [("photos/cats/notes.txt", b"not an image"),
              ("photos/.DS_Store", b"\0\0\0\1Bud1"),
              ("__MACOSX/photos/cats/._c0.png", b"junk"),
              ("photos/birds/b0.jpg", JPEG_GRAY),
              ("photos/birds/b1.jpg", JPEG_PROG)]
    res = inspect(make_zip("healthy.zip", files))
    check(res["usable"] is True and res["unusable_reason"] is None, res)
    names = [(c["name"], c["count"]) for c in res["classes"]]
    check(names == [("birds", 2), ("cats", 12), ("dogs", 12)], names)
    check(res["formats"] == {"jpeg": 2, "png": 24}, res["formats"])
    check(res["sizes"] == {"5x4": 12, "6x6": 12, "8x8": 1, "16x16": 1},
          res["sizes"])
    check(res["channels"] == {"1": 13, "3": 13}, res["channels"])
    check(res["skipped_total"] == 3, res["skipped"])
    check("not an image" in skipped_reason(res, "notes.txt"))
    check("hidden" in skipped_reason(res, ".DS_Store"))
    check("hidden" in skipped_reason(res, "__MACOSX"))
    check(any("birds" in w and "only 2" in w for w in res["warnings"]),
          res["warnings"])
    check(any("imbalance" in w for w in res["warnings"]), res["warnings"])
    # and it says the default run compensates (app/recipe.c)
    check(any("imbalance" in w and "compensated" in w
              for w in res["warnings"]), res["warnings"])
    check(not os.path.exists(os.path.join(DATA, "prepared")))


@test
def prepare_known_pixels_after_resize():
    # 8x8 gray images of 2x2 blocks of known values -> 4x4 exact averages;
    # an RGBA image, half transparent black -> gray over white.
    def blocks(k):
        return gray_blocks(8, 8, 2, lambda bx, by: 10 * k + 20 * bx + by)
    files = [("d/a/%d.png" % k, png(8, 8, 1, blocks(k))) for k in range(3)]
    files += [("d/b/%d.png" % k, png(4, 4, 4, bytes([0, 0, 0, 128]) * 16))
              for k in range(3)]
    j = run_job("prepare", make_tar("pixels.tar.gz", files),
                image={"width": 4, "height": 4, "channels": 1},
                val_fraction=0.0, seed=1)
    check(j["status"] == "succeeded", j)
    out = os.path.join(DATA, j["result"]["output"])
    t = read_tyd(os.path.join(out, "train.tyd"))
    check((t["n"], t["h"], t["w"], t["c"], t["classes"]) == (6, 4, 4, 1, 2))
    seen_a = set()
    for lab, px in zip(t["labels"], t["images"]):
        if lab == 1:
            check(px == bytes([127]) * 16, px)
            continue
        k = (px[0] - 0) // 10
        want = bytes(10 * k + 20 * (x) + y for y in range(4)
                     for x in range(4))
        check(px == want, (list(px), list(want)))
        seen_a.add(k)
    check(seen_a == {0, 1, 2})
    v = read_tyd(os.path.join(out, "val.tyd"))
    check(v["n"] == 0)
    with open(os.path.join(out, "meta.json")) as f:
        meta = json.load(f)
    check(meta["classes"] == ["a", "b"])
    check(meta["image"] == {"width": 4, "height": 4, "channels": 1})
    check(meta["counts"] == {"train": [3, 3], "val": [0, 0]})
    allpx = b"".join(t["images"])
    mean = sum(allpx) / len(allpx) / 255
    check(abs(meta["mean"][0] - mean) < 1e-9, (meta["mean"], mean))
    check(meta["seed"] == 1 and meta["val_fraction"] == 0)
    check(meta["source"]["images"] == 6)
    # names.json: each row's file in the archive, in .tyd order
    with open(os.path.join(out, "names.json")) as f:
        names = json.load(f)
    check(names["val"] == [] and len(names["train"]) == 6, names)
    for lab, px, name in zip(t["labels"], t["images"], names["train"]):
        if lab == 1:
            check(name.startswith("d/b/"), name)
        else:
            check(name == "d/a/%d.png" % (px[0] // 10), (name, px[0]))


def noise_png(seed, w=12, h=10):
    r = random.Random(seed)
    return png(w, h, 1, bytes(r.randrange(256) for _ in range(w * h)))


@test
def copies_are_reported_and_kept_on_one_side_of_the_split():
    files, groups = [], []
    for c, cls in enumerate(("a", "b")):
        for i in range(20):
            files.append(("d/%s/%02d.png" % (cls, i), noise_png(100 * c + i)))
        # three identical files and a near-copy (one pixel changed)
        same = noise_png(1000 + c)
        names = ["d/%s/copy%d.png" % (cls, k) for k in range(3)]
        files += [(n, same) for n in names]
        r = random.Random(1000 + c)
        px = bytearray(r.randrange(256) for _ in range(120))
        px[5] = (px[5] + 3) % 256
        files.append(("d/%s/near.png" % cls, png(12, 10, 1, bytes(px))))
        groups.append(names + ["d/%s/near.png" % cls])
    name = make_zip("copies.zip", files)
    j = run_job("inspect", name)
    check(j["status"] == "succeeded", j)
    dup = j["result"]["duplicates"]
    check(dup["groups"] == 2 and dup["images"] == 8, dup)
    check(dup["exact_groups"] == 0 and dup["cross_class_groups"] == 0, dup)
    listed = sorted(sorted(g["files"]) for g in dup["list"])
    check(listed == sorted(sorted(g) for g in groups), listed)
    check(any("leakage" in w for w in j["result"]["warnings"]),
          j["result"]["warnings"])
    for seed in range(1, 7):
        j = run_job("prepare", name, seed=seed, val_fraction=0.5,
                    image={"width": 6, "height": 5, "channels": 1})
        check(j["status"] == "succeeded", j)
        out = os.path.join(DATA, j["result"]["output"])
        with open(os.path.join(out, "names.json")) as f:
            names = json.load(f)
        for g in groups:
            sides = {("val" if n in names["val"] else "train") for n in g}
            check(len(sides) == 1, (seed, g, names["val"]))
        check(len(names["val"]) > 0 and len(names["train"]) > 0, names)


@test
def prepare_same_seed_same_split():
    name = make_zip("split.zip", healthy_files(20))
    outs = []
    for seed in (5, 5, 6):
        j = run_job("prepare", name, seed=seed, val_fraction=0.25,
                    image={"width": 3, "height": 3, "channels": 3})
        check(j["status"] == "succeeded", j)
        check(j["result"]["counts"] == {"train": [15, 15], "val": [5, 5]},
              j["result"]["counts"])
        d = os.path.join(DATA, j["result"]["output"])
        with open(os.path.join(d, "train.tyd"), "rb") as f:
            outs.append(f.read())
    check(outs[0] == outs[1], "same seed must give the same bytes")
    check(outs[0] != outs[2], "another seed should give another order")


@test
def idx_gz_in_archive():
    n = 20
    im = struct.pack(">IIII", 0x803, n, 3, 3) + bytes(
        (i * 10) % 256 for i in range(n) for _ in range(9))
    lb = struct.pack(">II", 0x801, n) + bytes(i % 2 for i in range(n))
    name = make_tar("idx.tar.gz", [
        ("mnist/train-images-idx3-ubyte.gz", gzip.compress(im)),
        ("mnist/train-labels-idx1-ubyte.gz", gzip.compress(lb))])
    res = inspect(name)
    check([c["name"] for c in res["classes"]] == ["0", "1"], res)
    check(res["images"] == n and res["formats"] == {"idx": n}, res)
    j = run_job("prepare", name, image={"width": 3, "height": 3,
                                        "channels": 1}, val_fraction=0)
    check(j["status"] == "succeeded", j)
    t = read_tyd(os.path.join(DATA, j["result"]["output"], "train.tyd"))
    check(sorted(px[0] for px in t["images"]) ==
          sorted((i * 10) % 256 for i in range(n)))
    for lab, px in zip(t["labels"], t["images"]):
        check((px[0] // 10) % 2 == lab)


# ---------------------------------------------------------------- hostile

def unusable(name, needle):
    res = inspect(name)
    check(res["usable"] is False, res)
    check(needle in res["unusable_reason"], res["unusable_reason"])
    j = run_job("prepare", name)
    check(j["status"] == "failed", j)
    check(needle in j["error"], j["error"])
    check(no_output_for(j["job_id"]), "half-written output")
    return res


@test
def hostile_not_an_archive():
    unusable(write("notarchive.zip", b"this is just text\n" * 50),
             "not a zip, tar or tar.gz")


@test
def hostile_truncated_zip():
    with open(os.path.join(UP, "healthy.zip"), "rb") as f:
        whole = f.read()
    res = inspect(write("cut.zip", whole[:len(whole) // 2]))
    check(res["usable"] is False, res)


@test
def hostile_truncated_targz():
    name = make_tar("full.tar.gz", healthy_files(30))
    with open(os.path.join(UP, name), "rb") as f:
        whole = f.read()
    unusable(write("cut.tar.gz", whole[:len(whole) * 2 // 3]),
             "truncated")


@test
def hostile_empty_archives():
    unusable(make_zip("empty.zip", []), "empty")
    unusable(write("zero.tar", b""), "empty")
    unusable(make_tar("empty.tar.gz", []), "empty")


@test
def hostile_one_class():
    res = unusable(make_zip("one.zip", [("x/only/%d.png" % i, png(2, 2, 1))
                                        for i in range(5)]), "one class")
    check(res["classes"] == [{"name": "only", "count": 5}])


@test
def hostile_zip_bomb():
    # 40 entries of 20 MB of zeros: ~800 MB from a ~800 KB zip
    zeros = bytes(20 << 20)
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z:
        for i in range(40):
            z.writestr("bomb/c%d/%d.png" % (i % 2, i), zeros)
    name = write("bomb.zip", b.getvalue())
    res = inspect(name)
    check(res["usable"] is False, res)
    check("expands to more than 64 MB" in res["unusable_reason"], res)
    # declared sizes over the entry limit are skipped unread
    check(all("too large" in s["reason"] for s in res["skipped"]
              if s["name"].endswith(".png")), res)
    # an entry without a declared size is caught by ratio/total limits
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w:gz") as t:
        for i in range(6):
            ti = tarfile.TarInfo("bomb/c%d/%d.png" % (i % 2, i))
            ti.size = 7 << 20
            t.addfile(ti, io.BytesIO(bytes(7 << 20)))
    res = unusable(write("bomb.tar.gz", b.getvalue()), "bomb")
    check(res["bytes"] < 70 << 20, res["bytes"])


@test
def hostile_huge_dimensions():
    files = healthy_files()
    files.append(("photos/cats/huge.png", png(4, 4, 1, claim=(100000,
                                                              100000))))
    res = inspect(make_zip("huge.zip", files))
    check(res["usable"] is True)
    r = skipped_reason(res, "huge.png")
    check(r and "too large" in r and "100000x100000" in r, r)


@test
def hostile_corrupt_images():
    good = png(6, 6, 3, fill=9)
    bad_crc = bytearray(good)
    idat = bad_crc.find(b"IDAT")
    bad_crc[idat + 8:idat + 16] = b"\xff" * 8
    files = healthy_files() + [
        ("photos/cats/trunc.png", good[:40]),
        ("photos/cats/garbled.png", bytes(bad_crc)),
        ("photos/dogs/trunc.jpg", JPEG_GRAY[:120]),
        ("photos/dogs/noise.jpg", JPEG_GRAY[:20] + bytes(200)),
    ]
    res = inspect(make_zip("corrupt.zip", files))
    check(res["usable"] is True, res)
    for n in ("trunc.png", "garbled.png", "trunc.jpg", "noise.jpg"):
        r = skipped_reason(res, n)
        check(r is not None and ("corrupt" in r or "cannot decode" in r),
              (n, r))
    check(res["classes"][0]["count"] == 12)
    j = run_job("prepare", "corrupt.zip")
    check(j["status"] == "succeeded" and j["result"]["train"] +
          j["result"]["val"] == 24, j)


@test
def hostile_path_traversal_names():
    files = healthy_files() + [("../../etc/passwd", b"root:x:0:0"),
                               ("/etc/shadow", b"x"),
                               ("photos/cats/../../../evil.png", png(2, 2, 1))]
    name = make_tar("traverse.tar.gz", files)
    res = inspect(name)
    check(res["usable"] is True, res)
    for n in ("etc/passwd", "etc/shadow", "evil.png"):
        r = skipped_reason(res, n)
        check(r and "unsafe path" in r, (n, r))
    j = run_job("prepare", name)
    check(j["status"] == "succeeded", j)
    check(not os.path.exists(os.path.join(TMP, "etc")))
    check(not os.path.exists(os.path.join(DATA, "evil.png")))


@test
def hostile_non_utf8_names():
    files = [("set/caf\udce9/%d.png" % i, png(2, 2, 1)) for i in range(3)]
    files += [("set/plain/%d.png" % i, png(2, 2, 1)) for i in range(3)]
    files.append(("set/plain/\udcff\udcfe.txt", b"x"))
    res = inspect(make_tar("latin1.tar", files, gz=False,
                           encoding="latin-1"))
    names = [c["name"] for c in res["classes"]]
    check(names == ["caf?", "plain"], names)
    check(res["skipped"][0]["name"] == "set/plain/??.txt", res["skipped"])


@test
def hostile_deep_nesting():
    deep = "/".join("d%d" % i for i in range(150))
    files = [(deep + "/deepclass/%d.png" % i, png(2, 2, 1)) for i in range(3)]
    files += [("shallow/%d.png" % i, png(2, 2, 1)) for i in range(3)]
    res = inspect(make_tar("deep.tar.gz", files))
    check([c["name"] for c in res["classes"]] == ["deepclass", "shallow"],
          res["classes"])


@test
def hostile_zero_byte_and_text_files():
    files = healthy_files() + [("photos/cats/empty.png", b""),
                               ("photos/dogs/readme.txt", b"hello"),
                               ("photos/empty-class/a.txt", b"text")]
    res = inspect(make_zip("zero.zip", files))
    check("empty file" in skipped_reason(res, "empty.png"))
    check("not an image" in skipped_reason(res, "readme.txt"))
    empty = [s for s in res["skipped"] if s["name"] == "empty-class/"]
    check(empty and "empty class" in empty[0]["reason"], res)
    check([c["name"] for c in res["classes"]] == ["cats", "dogs"])


@test
def hostile_too_many_entries():
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_STORED) as z:
        for i in range(5001):
            z.writestr("m/c%d/%d.txt" % (i % 2, i), b"")
    unusable(write("many.zip", b.getvalue()), "more than 5000 files")


@test
def skipped_list_is_capped():
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_STORED) as z:
        for i in range(450):
            z.writestr("s/c%d/%d.txt" % (i % 2, i), b"x")
    res = inspect(write("cap.zip", b.getvalue()))
    check(len(res["skipped"]) == 200 + 0 and res["skipped_total"] >= 450,
          (len(res["skipped"]), res["skipped_total"]))


@test
def cancel_mid_prepare():
    # 1000 blank 1024x1024 PNGs: seconds of decoding from a 3 MB zip
    big = png(1024, 1024, 1, fill=200)
    name = make_zip("slow.zip", [("s/c%d/%d.png" % (i % 2, i), big)
                                 for i in range(1000)], zipfile.ZIP_STORED)
    jid = "prepare-cancel"
    r = svc.post("/jobs", dict(job_id=jid, kind="prepare",
                               dataset="uploads/1/" + name,
                               output="prepared/" + jid))
    check(r.status == 202, r)
    def reading():  # the reader reports progress while it reads
        j = svc.get("/jobs/" + jid).json()
        busy = j["status"] in ("queued", "running")
        return j if j["progress"] > 0 or not busy else None
    j = wait_for(reading, timeout=60, what="progress")
    check(j["status"] == "running", j)
    svc.delete("/jobs/" + jid)

    def done():
        j = svc.get("/jobs/" + jid).json()
        return j if j["status"] not in ("queued", "running") else None
    j = wait_for(done, timeout=60, what="cancel")
    check(j["status"] == "cancelled", j)
    check(no_output_for(jid), "half-written output")


try:
    run_all()
finally:
    shutil.rmtree(TMP, ignore_errors=True)
