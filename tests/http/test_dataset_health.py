"""Dataset health: upload through the real web app, inspected by the real
preprocess worker, and the report on GET /projects/{id}/datasets/{did}."""
import html
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pngmake import png  # noqa: E402
from tylib import Service, check, free_port, run_all, test, wait_for  # noqa
from wdlib import (clean_logs_test, Stack, dataset_status, upload, wait_inspected,  # noqa
                   zip_of)

S = Stack("ty-health-")
S.start_pre()
S.start_web()


def good_zip():
    files = {}
    for i in range(12):
        files["set/cats/c%02d.png" % i] = png(8, 6, 3, fill=40 + i)
    for i in range(14):
        files["set/dogs/d%02d.png" % i] = png(10, 10, 4, fill=90 + i)
    for i in range(3):
        files["set/birds/b%d.png" % i] = png(8, 6, 1, fill=i)
    files["set/cats/notes.txt"] = b"not an image\n"
    files["set/dogs/broken.png"] = png(8, 8, 3)[:30]
    files["__MACOSX/set/cats/._c00.png"] = b"\0\5\26\7junk"
    files["set/<img src=x onerror=alert(1)>/x.png"] = png(4, 4, 1)
    return zip_of(files)


def page(c, pid, did):
    r = c.get("/projects/%d/datasets/%d" % (pid, did))
    check(r.status == 200, r)
    return r


@test
def health_report_of_a_good_upload():
    c = S.user()
    _, pid = c.create_project("health")
    did = upload(c, pid, good_zip())
    # right after the upload the page is there and refreshes itself
    r = page(c, pid, did)
    if dataset_status(S, did) in ("uploaded", "inspecting"):
        check('http-equiv="refresh"' in r.text, "no meta refresh")
        check(r.header("Refresh"), "no Refresh header")
        check("<script>" not in r.text.split("<main")[1])
    check(wait_inspected(S, did) == "ready", dataset_status(S, did))
    r = page(c, pid, did)
    t = r.text
    check('http-equiv="refresh"' not in t and not r.header("Refresh"),
          "a finished report must not refresh")
    check('id="usable"' in t and 'id="unusable"' not in t, t)
    # classes with counts and one bar each, the largest class full width
    rows = re.findall(r'class-name">([^<]*)</span>\s*<svg[^>]*>'
                      r'<rect width="([\d.]+)"[^>]*></rect></svg>\s*'
                      r'<span class="class-count">(\d+)<', t)
    got = {html.unescape(n): (float(w), int(k)) for n, w, k in rows}
    check(got.get("cats", (0, 0))[1] == 12, got)
    check(got.get("dogs") == (100.0, 14), got)
    check(got.get("birds", (0, 0))[1] == 3, got)
    check(abs(got["cats"][0] - 100 * 12 / 14) < 0.1, got)
    # a hostile class name is shown as text, never as markup
    check("&lt;img src=x onerror=alert(1)&gt;" in t, t)
    check("<img src=x" not in t, t)
    # sizes, channels, formats
    check("png: 30" in t or "PNG: 30" in t or re.search(r"png[^<]*30", t,
                                                         re.I), t)
    check("RGBA: 14" in t and "RGB: 12" in t and "gray: 4" in t, t)
    check("8x6: 15" in t and "10x10: 14" in t, t)
    # skipped files with reasons, and the total
    sk = re.search(r'id="skipped".*?</section>', t, re.S).group(0)
    check("notes.txt" in sk and "broken.png" in sk, sk)
    check("__MACOSX" in sk or "._c00.png" in sk, sk)
    check(re.search(r"(\d+) in total", sk).group(1) == "3", sk)
    # warnings: the small classes and the skipped files
    w = re.search(r'id="warnings".*?</section>', t, re.S).group(0)
    check("birds" in w and "skipped" in w, w)
    # the project page links to it and shows the status
    p = c.get("/projects/%d" % pid).text
    check('href="/projects/%d/datasets/%d"' % (pid, did) in p, p)
    check("status-ready" in p, p)


@test
def not_an_archive_says_why():
    c = S.user()
    _, pid = c.create_project("junk")
    did = upload(c, pid, os.urandom(3000), filename="photos.zip")
    check(wait_inspected(S, did) == "unusable")
    t = page(c, pid, did).text
    m = re.search(r'id="unusable".*?Why: ([^<]+)<', t, re.S)
    check(m and len(m.group(1).strip()) > 10, t)
    check("archive" in m.group(1).lower(), m.group(1))
    p = c.get("/projects/%d" % pid).text
    check("status-unusable" in p, p)


@test
def single_class_is_unusable():
    c = S.user()
    _, pid = c.create_project("one")
    files = {"only/x%02d.png" % i: png(6, 6, 3, fill=i) for i in range(15)}
    did = upload(c, pid, zip_of(files))
    check(wait_inspected(S, did) == "unusable")
    t = page(c, pid, did).text
    m = re.search(r'id="unusable".*?Why: ([^<]+)<', t, re.S)
    check(m and "one class" in m.group(1), t)
    # the report is still shown, with the one class
    check("only</span>" in t, t)


@test
def words_read_right_for_odd_uploads():
    """No "Archive: , 0 entries" for a file that is no archive; an empty
    class folder is a folder, not a file; "1 class", "1 image"."""
    c = S.user()
    _, pid = c.create_project("words")
    did = upload(c, pid, b"just some text, not an archive\n" * 50,
                 filename="notes.zip")
    check(wait_inspected(S, did) == "unusable")
    t = page(c, pid, did).text
    check(", 0 entries" not in t and "<dd>, " not in t, t)
    m = re.search(r'id="archive">([^<]*)<', t)
    check(not m or "not an archive" in m.group(1), m and m.group(1))
    files = {"one/x.png": png(6, 6, 3, fill=1)}
    files["empty/readme.txt"] = b"no images in this folder\n"
    did = upload(c, pid, zip_of(files))
    wait_inspected(S, did)
    t = page(c, pid, did).text
    check("1 class," in t and "1 image usable" in t, t)
    check("1 classes" not in t and "1 images" not in t, t)
    sk = re.search(r'id="skipped-count">([^<]*)<', t)
    check(sk and "1 folder" in sk.group(1) and "1 file," in sk.group(1),
          sk and sk.group(1))


@test
def planted_copies_and_the_leak_they_would_cause():
    import random
    c = S.user()
    _, pid = c.create_project("copies")

    def noise(seed):
        r = random.Random(seed)
        return png(10, 10, 1, bytes(r.randrange(256) for _ in range(100)))
    files = {"set/cats/c%02d.png" % i: noise(i) for i in range(12)}
    files.update({"set/dogs/d%02d.png" % i: noise(50 + i) for i in range(12)})
    files["set/cats/c00 copy.png"] = files["set/cats/c00.png"]  # the pair
    files["set/dogs/same as c05.png"] = files["set/cats/c05.png"]  # 2 labels
    did = upload(c, pid, zip_of(files))
    check(wait_inspected(S, did) == "ready")
    t = page(c, pid, did).text
    sec = re.search(r'id="duplicates".*?</section>', t, re.S)
    check(sec, "no copies section")
    sec = html.unescape(sec.group(0))
    check("set/cats/c00.png" in sec and "set/cats/c00 copy.png" in sec, sec)
    check("set/dogs/same as c05.png" in sec and "identical" in sec, sec)
    check("4 images in 2 groups" in sec, sec)
    w = html.unescape(re.search(r'id="warnings".*?</section>', t,
                                re.S).group(0))
    check("leakage" in w and "two labels" in w, w)
    # per-class samples: 8 on the page, all 13 cats behind "show more"
    rows = re.findall(r'<div class="samples"[^>]*>(.*?)</div>', t, re.S)
    check(len(rows) == 2 and all(r.count("<img ") == 8 for r in rows), rows)
    more = re.search(r'href="([^"]*/samples\?class=0)"', t)
    check(more, "no show more link")
    m = c.get(html.unescape(more.group(1))).text
    check(m.count('<img src="data:image/png;base64,') == 13, m[:2000])
    check(c.get("/projects/%d/datasets/%d/samples?class=9" % (pid, did)).status
          == 404, "no such class")


@test
def other_users_and_other_projects_get_404():
    a, b = S.user("a"), S.user("b")
    _, pa = a.create_project("mine")
    _, pa2 = a.create_project("mine too")
    did = upload(a, pa, good_zip())
    check(b.get("/projects/%d/datasets/%d" % (pa, did)).status == 404)
    check(a.get("/projects/%d/datasets/%d" % (pa2, did)).status == 404)
    check(a.get("/projects/%d/datasets/%d" % (pa, did + 999)).status
          == 404)
    wait_inspected(S, did)


@test
def unreachable_worker_is_named_then_retried_and_restart_resumes():
    port = free_port()
    url = "http://127.0.0.1:%d" % port
    # one web app per database: the first one would inspect it meanwhile
    check(S.web.stop() == 0)
    pre = S.pre_port
    S.pre_port = port
    S.start_web()
    c = S.user("w")
    _, pid = c.create_project("waits")
    did = upload(c, pid, good_zip())

    def says_unreachable():
        t = page(c, pid, did).text
        return "preprocess service unreachable at %s" % url in t and t
    t = wait_for(says_unreachable, timeout=15, interval=0.2,
                 what="the page to name the unreachable service")
    check("will appear when it is back" in t, t)
    check(dataset_status(S, did) == "uploaded")
    # the web app restarts while the worker is still down ...
    rc = S.web.stop()
    check(rc == 0, "web exit code %s" % rc)
    S.pre_port = port
    S.start_web()
    # ... then the worker comes up on that address: it is picked up
    p2 = Service("trainyard-preprocess", env=S.env(), port=port).start()
    S.logs.append(p2.logpath)
    check(wait_inspected(S, did, timeout=60) == "ready")
    check(p2.stop() == 0)
    # back to the first worker for the tests that follow
    check(S.web.stop() == 0)
    S.pre_port = pre
    S.start_web()


@test
def given_up_inspection_can_be_asked_for_again():
    port = free_port()
    check(S.web.stop() == 0)
    pre = S.pre_port
    S.pre_port = port
    S.start_web(TRAINYARD_INSPECT_RETRY_S=1)
    c = S.user("r")
    _, pid = c.create_project("again")
    did = upload(c, pid, good_zip())
    check(wait_inspected(S, did, timeout=30) == "unusable")
    t = page(c, pid, did).text
    check("gave up after" in t and 'id="reinspect"' in t, t)
    path = "/projects/%d/datasets/%d/inspect" % (pid, did)
    # the form's token is checked; another user gets 404
    check(c.post_form(path, {}, csrf="0" * 64).status == 403)
    other = S.user("o")
    check(other.post_form(path, {}).status == 404)
    p2 = Service("trainyard-preprocess", env=S.env(), port=port).start()
    S.logs.append(p2.logpath)
    page(c, pid, did)
    r = c.post_form(path, {})
    check(r.status == 303, r)
    check(wait_inspected(S, did, timeout=60) == "ready")
    jobs = sorted(n for n in os.listdir(os.path.join(S.models, "jobs"))
                  if n.startswith("ds-%d-" % did))
    check(jobs == ["ds-%d-inspect-1.json" % did], jobs)
    # a dataset with a report is not inspected again
    page(c, pid, did)
    r = c.post_form(path, {})
    check(r.status == 409, r)
    check(p2.stop() == 0)
    check(S.web.stop() == 0)
    S.pre_port = pre
    S.start_web()


@test
def inspection_is_posted_once_per_dataset():
    c = S.user()
    _, pid = c.create_project("idem")
    did = upload(c, pid, good_zip())
    wait_inspected(S, did)
    jobs = os.path.join(S.models, "jobs")
    names = [n for n in os.listdir(jobs) if n.startswith("ds-%d-" % did)]
    check(names == ["ds-%d-inspect.json" % did], names)


clean_logs_test(S)
run_all()
