"""The predict page: the real web app, the real infer worker and a tiny
model trained by the real train worker; results, errors in place,
history on the project page, CSRF and ownership."""
import base64
import html
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tylib import check, multipart, request, run_all, test  # noqa: E402
from wdlib import (clean_logs_test, Stack, add_model, bars_jpeg, bars_png,  # noqa: E402
                   train_tiny)

S = Stack("ty-predict-web-")
MODEL, TRAINED = train_tiny(S)
S.start_pre()
S.start_infer()
S.start_web()
ACC = max((e.get("val_acc", 0) for e in TRAINED.get("epochs", [])),
          default=0)
print("tiny model: validation accuracy %.3f" % ACC)
check(ACC >= 0.9, "the tiny model should learn bars: %s" % ACC)


def post_images(c, pid, mid, files, csrf=True, extra=None):
    fields = {}
    if csrf:
        fields["csrf"] = c.csrf
    fields["model_id"] = str(mid)
    fields.update(extra or {})
    body, ctype = multipart(fields, [("images", n, d, "application/"
                                      "octet-stream") for n, d in files])
    return c._keep(request(c.port, "POST", "/projects/%d/predict" % pid,
                           body, headers=c._headers(
                               {"Content-Type": ctype})))


def results(t):
    """[(name, label or None, error or None, has_thumb)] from the page."""
    out = []
    for fig in re.findall(r'<figure class="result">(.*?)</figure>', t, re.S):
        name = re.search(r'<span class="file">([^<]*)</span>', fig)
        label = re.search(r'<strong class="label">([^<]*)</strong>', fig)
        err = re.search(r'img-error">([^<]*)</span>', fig)
        out.append((html.unescape(name.group(1)) if name else None,
                    label.group(1) if label else None,
                    err.group(1) if err else None,
                    'src="data:image/png;base64,' in fig))
    return out


@test
def page_without_models_says_so():
    c = S.user()
    _, pid = c.create_project("empty")
    r = c.get("/projects/%d/predict" % pid)
    check(r.status == 200 and 'id="no-models"' in r.text, r)


@test
def models_newest_first_with_accuracy():
    c = S.user()
    _, pid = c.create_project("two models")
    old = add_model(S, pid, MODEL, 0.5, arch="mlp")
    new = add_model(S, pid, MODEL, 0.934)
    t = c.get("/projects/%d/predict" % pid).text
    opts = re.findall(r'<option value="(\d+)"( selected)?>([^<]*)', t)
    check([int(o[0]) for o in opts] == [new, old], opts)
    check(opts[0][1] == " selected" and "93.4%" in opts[0][2], opts)
    check("50.0%" in opts[1][2] and "mlp" in opts[1][2], opts)


@test
def png_rgba_jpeg_get_labels_and_bad_files_their_own_error():
    c = S.user()
    _, pid = c.create_project("classify")
    mid = add_model(S, pid, MODEL, ACC)
    c.get("/projects/%d/predict" % pid)
    files = [("h gray.png", bars_png(0, 1)), ("v-rgba.png", bars_png(1, 2, 4)),
             ("sq-rgb.png", bars_png(2, 3, 3)), ("junk.png", b"not an image"),
             ("<b>x</b>.png", bars_png(0, 4))]
    jpg = bars_jpeg(1, 5)
    if jpg:
        files.append(("v.jpg", jpg))
    r = post_images(c, pid, mid, files, extra={"top_k": "2"})
    check(r.status == 200, r)
    got = results(r.text)
    check(len(got) == len(files), got)
    byname = {g[0]: g for g in got}
    check(byname["junk.png"][1] is None and byname["junk.png"][2], got)
    want = {"h gray.png": "h", "v-rgba.png": "v", "sq-rgb.png": "sq",
            "<b>x</b>.png": "h", "v.jpg": "v"}
    for name, lab in want.items():
        if name not in byname:
            continue
        g = byname[name]
        check(g[1] in ("h", "v", "sq") and g[2] is None and g[3], g)
        if ACC >= 0.9:
            check(g[1] == lab, "%s: %s, want %s" % (name, g[1], lab))
    check("<b>x</b>" not in r.text, "file name not escaped")
    # a confidence bar and the top-2 per image
    check(len(re.findall(r'<ol class="topk">(?:<li>.*?</li>){2}</ol>',
                         r.text)) == len(files) - 1, r.text)
    check(re.search(r'aria-label="confidence [\d.]+%"><rect width="[\d.]+"',
                    r.text), r.text)
    # thumbnails are real PNGs
    th = re.search(r'src="data:image/png;base64,([^"]+)"', r.text).group(1)
    check(base64.b64decode(th)[:8] == b"\x89PNG\r\n\x1a\n")
    # one history row, shown on the project page
    rows = S.rows("SELECT source, images, model_id, results_json FROM "
                  "predictions WHERE project_id = ?", (pid,))
    check(len(rows) == 1 and rows[0][:3] == ("page", len(files), mid), rows)
    check("base64" not in rows[0][3] and "junk.png" in rows[0][3], rows)
    p = c.get("/projects/%d" % pid).text
    sec = re.search(r'id="predictions".*?</section>', p, re.S).group(0)
    check("#%d" % mid in sec and "1 error" in sec, sec)


@test
def csrf_is_checked_and_nothing_is_stored():
    c = S.user()
    _, pid = c.create_project("csrf")
    mid = add_model(S, pid, MODEL, ACC)
    c.get("/projects/%d/predict" % pid)
    r = post_images(c, pid, mid, [("a.png", bars_png(0, 1))], csrf=False)
    check(r.status == 403, r)
    check(S.rows("SELECT count(*) FROM predictions WHERE project_id = ?",
                 (pid,))[0][0] == 0)


@test
def other_projects_models_and_other_users_projects():
    a, b = S.user("a"), S.user("b")
    _, pa = a.create_project("a's")
    _, pb = b.create_project("b's")
    mb = add_model(S, pb, MODEL, ACC)
    add_model(S, pa, MODEL, ACC)
    a.get("/projects/%d/predict" % pa)
    r = post_images(a, pa, mb, [("a.png", bars_png(0, 1))])
    check(r.status == 400, r)
    check("Choose one of this project's models" in html.unescape(r.text), r)
    check(b.get("/projects/%d/predict" % pa).status == 404)
    b.get("/projects/%d/predict" % pb)
    r = post_images(b, pa, mb, [("a.png", bars_png(0, 1))])
    check(r.status in (403, 404), r)
    check(S.rows("SELECT count(*) FROM predictions WHERE project_id IN "
                 "(?, ?)", (pa, pb))[0][0] == 0)


@test
def no_files_and_unreachable_infer_say_why():
    c = S.user()
    _, pid = c.create_project("down")
    mid = add_model(S, pid, MODEL, ACC)
    c.get("/projects/%d/predict" % pid)
    r = post_images(c, pid, mid, [])
    check(r.status == 400 and "Choose one or more image files" in r.text, r)
    port = S.infer.port
    S.infer.stop()
    r = post_images(c, pid, mid, [("a.png", bars_png(0, 1))])
    check(r.status == 503, r)
    check("infer service unreachable at http://127.0.0.1:%d" % port
          in r.text, r.text)
    S.start_infer(port=port)


clean_logs_test(S)
run_all()
