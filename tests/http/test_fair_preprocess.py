"""The preprocess worker's memory on a dataset whose output is large
(issue 13 §3): 2,000 1x1 PNGs prepared at 256x256x3 are 393 MB of tensors,
and the worker's peak RSS must stay under 256 MB (the pixel store spills
to a file on the data volume); the pixels are still right; nothing is
left behind; and a zip whose output is over TRAINYARD_MAX_OUTPUT_MB is
refused from its central directory, before anything is decoded."""
import io
import os
import re
import sys
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tylib import Service, check, run_all, tempdir, test, wait_for  # noqa
from pngmake import png  # noqa

TMP = tempdir("ty-fair-prep-")
DATA, MODELS = os.path.join(TMP, "data"), os.path.join(TMP, "models")
UP = os.path.join(DATA, "uploads", "1")
os.makedirs(UP)
ENV = {"TRAINYARD_DATA_DIR": DATA, "TRAINYARD_MODELS_DIR": MODELS,
       "TRAINYARD_THREADS": "2"}
# AddressSanitizer adds its shadow and a quarantine of freed memory (the
# store alone took main's worker to 395 MB, ASan's to more than 600).
RSS_MAX_KB = (384 if os.environ.get("SAN") == "1" else 256) * 1024


def one_pixel_zip(name, n):
    """n 1x1 gray PNGs in two classes; image i has the value i % 251."""
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_STORED) as z:
        for i in range(n):
            z.writestr("d/%s/%05d.png" % ("ab"[i % 2], i),
                       png(1, 1, 1, bytes([i % 251])))
    with open(os.path.join(UP, name), "wb") as f:
        f.write(b.getvalue())
    return "uploads/1/" + name


def prepare(svc, jid, dataset, side):
    r = svc.post("/jobs", {"job_id": jid, "kind": "prepare",
                           "dataset": dataset, "output": "prepared/" + jid,
                           "image": {"width": side, "height": side,
                                     "channels": 3},
                           "val_fraction": 0.1})
    check(r.status == 202, r)

    def done():
        j = svc.get("/jobs/" + jid).json()
        return j if j["status"] in ("succeeded", "failed",
                                    "cancelled") else None
    return wait_for(done, timeout=600, what=jid)


def peak_rss_kb(svc):
    with open("/proc/%d/status" % svc.proc.pid) as f:
        return int(re.search(r"VmHWM:\s+(\d+) kB", f.read()).group(1))


def constant_images(path, side):
    """The values of a .tyd's images, each checked to be one value."""
    with open(path, "rb") as f:
        head = f.read(32)
        n = int.from_bytes(head[8:12], "little")
        f.seek(32 + (2 * n + 63) // 64 * 64)
        size = side * side * 3
        vals = []
        for _ in range(n):
            px = f.read(size)
            check(len(px) == size and px == bytes([px[0]]) * size,
                  "image %d is not one value" % len(vals))
            vals.append(px[0])
    return vals


@test
def a_large_output_keeps_memory_small_and_pixels_right():
    svc = Service("trainyard-preprocess", env=ENV).start()
    try:
        ds = one_pixel_zip("ones.zip", 2000)
        j = prepare(svc, "big", ds, 256)
        check(j["status"] == "succeeded", j)
        peak = peak_rss_kb(svc)
        check(peak < RSS_MAX_KB, "peak RSS %d kB for 393 MB of output"
              % peak)
        out = os.path.join(DATA, "prepared", "big")
        vals = constant_images(os.path.join(out, "train.tyd"), 256) + \
            constant_images(os.path.join(out, "val.tyd"), 256)
        check(sorted(vals) == sorted(i % 251 for i in range(2000)),
              "the pixel values are not the images'")
        # the store's file had no name: nothing beside the output
        check(os.listdir(os.path.join(DATA, "prepared")) == ["big"],
              os.listdir(os.path.join(DATA, "prepared")))
    finally:
        svc.stop()


@test
def a_zip_over_the_output_limit_is_refused_before_decoding():
    svc = Service("trainyard-preprocess", env=dict(
        ENV, TRAINYARD_MAX_OUTPUT_MB="100")).start()
    try:
        ds = one_pixel_zip("many.zip", 3000)
        j = prepare(svc, "over", ds, 256)
        check(j["status"] == "failed", j)
        check("the archive holds 3000 images" in j["error"] and
              "562 MB" in j["error"], j["error"])
        # under the limit at a smaller size: prepared
        j = prepare(svc, "under", ds, 64)
        check(j["status"] == "succeeded", j)
    finally:
        svc.stop()


if __name__ == "__main__":
    run_all()
