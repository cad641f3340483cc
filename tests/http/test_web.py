"""HTTP tests of trainyard-web: the real binary on a loopback port with a
temporary data directory and database, driven like a browser would."""
import hashlib
import os
import re
import signal
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tylib import (Service, check, request, run_all, tempdir, test,  # noqa: E402
                   wait_for)
from webclient import Client, raw_request  # noqa: E402

PW = "correct horse battery"


def start_web(**env):
    d = tempdir("ty-web-")
    # Workers: a port nothing listens on, so these tests never talk to a
    # service someone else runs on the default ports.
    e = {"TRAINYARD_PREPROCESS_URL": "http://127.0.0.1:9",
         "TRAINYARD_TRAIN_URL": "http://127.0.0.1:9",
         "TRAINYARD_INFER_URL": "http://127.0.0.1:9",
         "TRAINYARD_DATA_DIR": os.path.join(d, "data"),
         "TRAINYARD_MODELS_DIR": os.path.join(d, "models"),
         "TRAINYARD_DB": os.path.join(d, "db", "trainyard.db")}
    e.update({k: str(v) for k, v in env.items()})
    s = Service("trainyard-web", env=e).start()
    s.dir = d
    s.data = e["TRAINYARD_DATA_DIR"]
    s.db = e["TRAINYARD_DB"]
    return s


WEB = None
_n = 0


def web():
    global WEB
    if WEB is None:
        WEB = start_web(TRAINYARD_MAX_UPLOAD_MB=1)
    return WEB


def new_user(prefix="u"):
    """A signed-up, signed-in client with a fresh username."""
    global _n
    _n += 1
    c = Client(web().port)
    name = "%s%d_%d" % (prefix, _n, os.getpid() % 1000)
    r = c.signup(name, PW)
    check(r.status == 303 and r.header("Location") == "/projects", r)
    c.get("/projects")  # the signed-in page carries the session's token
    c.name = name
    return c


def uploads(s):
    """Every file under uploads/ (the temporary area included)."""
    out = []
    for root, _, files in os.walk(os.path.join(s.data, "uploads")):
        out += [os.path.join(root, f) for f in files]
    return out


def db_rows(s, sql, args=()):
    con = sqlite3.connect(s.db)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


SEC_HEADERS = {
    "Content-Security-Policy": "script-src 'self'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def check_security_headers(r, what):
    for h, want in SEC_HEADERS.items():
        v = r.header(h)
        check(v is not None and want in v, "%s: %s is %r" % (what, h, v))
    check("unsafe-inline" not in r.header("Content-Security-Policy"), what)


@test
def signup_login_project_upload_list():
    c = new_user()
    # sign out, then back in
    r = c.post_form("/logout", {})
    check(r.status == 303 and r.header("Location") == "/login", r)
    check(c.get("/projects").status == 303, "signed out but still in")
    r = c.login(c.name, PW)
    check(r.status == 303, r)
    r = c.get("/projects")
    check(r.status == 200 and c.name in r.text, r)
    r, pid = c.create_project("Fashion items", "shirts vs shoes")
    check(pid, r)
    data = os.urandom(200000)
    r = c.upload("/projects/%d/datasets" % pid, data, "fashion.tar.gz")
    check(r.status == 303, r)
    check(re.match(r"^/projects/%d\?uploaded=\d+$" % pid, r.header("Location")), r)
    page = c.get(r.header("Location"))
    check(page.status == 200, page)
    check("fashion.tar.gz" in page.text and "Uploaded fashion.tar.gz" in page.text, page.text)
    sha = hashlib.sha256(data).hexdigest()
    check(sha in page.text, "sha256 not on the page")
    rows = db_rows(web(), "SELECT id, filename, path, bytes, sha256, status "
                   "FROM datasets WHERE project_id = ?", (pid,))
    check(len(rows) == 1, rows)
    did, fname, path, nbytes, dsha, status = rows[0]
    check((fname, nbytes, dsha) == ("fashion.tar.gz", len(data), sha), rows)
    # inspection (another module) may already have moved the status on
    check(status in ("uploaded", "inspecting", "ready", "unusable"), status)
    check(path == "uploads/%d/fashion.tar.gz" % did, path)
    with open(os.path.join(web().data, path), "rb") as f:
        check(f.read() == data, "stored file differs")
    check(not os.listdir(os.path.join(web().data, "uploads", ".incoming")), "temp left")
    lst = c.get("/projects")
    check("Fashion items" in lst.text and "1 dataset" in lst.text, lst.text)


@test
def csrf_missing_or_wrong_is_403():
    c = new_user()
    _, pid = c.create_project("csrf target")
    bad = "0" * 64
    for csrf in (None, bad, c.csrf[:-1], c.csrf + "0", ""):
        r = c.post_form("/projects", {"name": "forged"}, csrf=csrf if csrf is not None else False)
        check(r.status == 403, "create with csrf %r: %r" % (csrf, r))
        r = c.post_form("/projects/%d/delete" % pid, {}, csrf=csrf if csrf is not None else False)
        check(r.status == 403, "delete: %r" % r)
        r = c.upload("/projects/%d/datasets" % pid, b"abc", csrf=csrf if csrf is not None else False)
        check(r.status == 403, "upload: %r" % r)
        r = c.post_form("/logout", {}, csrf=csrf if csrf is not None else False)
        check(r.status == 403, "logout: %r" % r)
    check("forged" not in c.get("/projects").text, "forged project created")
    check(c.get("/projects/%d" % pid).status == 200, "project deleted by forged form")
    check(not db_rows(web(), "SELECT id FROM datasets WHERE project_id = ?", (pid,)), "dataset")
    # sign-in forms need the pre-session token too
    a = Client(web().port)
    r = a.post_form("/login", {"username": c.name, "password": PW}, csrf=False)
    check(r.status == 403, r)
    a.get("/login")
    r = a.post_form("/login", {"username": c.name, "password": PW}, csrf=bad)
    check(r.status == 403, r)
    r = a.post_form("/signup", {"username": "zz" + c.name, "password": PW}, csrf=bad)
    check(r.status == 403, r)


@test
def other_users_project_is_404():
    alice, bob = new_user("alice"), new_user("bob")
    _, pid = alice.create_project("alice's secret")
    alice.upload("/projects/%d/datasets" % pid, b"x" * 100)
    bob.get("/projects")
    check(bob.get("/projects/%d" % pid).status == 404, "bob sees alice's project")
    check("secret" not in bob.get("/projects").text, "listed for bob")
    r = bob.post_form("/projects/%d/delete" % pid, {})
    check(r.status == 404, r)
    r = bob.upload("/projects/%d/datasets" % pid, b"y" * 10)
    check(r.status == 404, r)
    check(bob.get("/projects/999999").status == 404, "missing project")
    check(alice.get("/projects/%d" % pid).status == 200, "alice lost her project")
    check(len(db_rows(web(), "SELECT id FROM datasets WHERE project_id = ?", (pid,))) == 1, "rows")


@test
def xss_in_project_fields_is_escaped():
    c = new_user()
    payload = "<script>alert('x')</script>\"&<img src=x onerror=alert(1)>"
    r, pid = c.create_project(payload, payload)
    check(pid, r)
    for page in (c.get("/projects"), c.get("/projects/%d" % pid)):
        check(payload not in page.text, "raw payload on a page")
        check("<script>alert" not in page.text and "<img src=x" not in page.text, "tag")
        check("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&quot;&amp;&lt;img" in page.text,
              "escaped form missing")
    r = c.upload("/projects/%d/datasets" % pid, b"z" * 10, filename="<i>x<i>.zip")
    check(r.status == 303, r)
    page = c.get("/projects/%d" % pid)
    check("<i>" not in page.text and "_i_x_i_.zip" not in page.text and
          "i_x_i_.zip" in page.text, "file name")


@test
def sql_metacharacters_are_harmless():
    meta = "x'; DROP TABLE users; --\" OR 1=1 /*"
    c = Client(web().port)
    # a username with metacharacters breaks the rules: refused with a reason
    c.get("/signup")
    r = c.post_form("/signup", {"username": meta[:30], "password": meta})
    check(r.status == 400 and "Username may use" in r.text, r)
    c = new_user("sql")
    r = c.login("' OR '1'='1", meta)
    check(r.status in (401, 429), r)
    c = new_user("sql")
    r, pid = c.create_project(meta, meta)
    check(pid, r)
    page = c.get("/projects/%d" % pid)
    check("DROP TABLE users; --&quot; OR 1=1" in page.text, page.text[:500])
    r = c.upload("/projects/%d/datasets" % pid, b"q" * 10, filename=meta + ".zip")
    check(r.status == 303, r)
    # a password full of quotes works as a password
    d = Client(web().port)
    r = d.signup("meta%d" % os.getpid(), meta + "pw")
    check(r.status == 303, r)
    check(Client(web().port).login("meta%d" % os.getpid(), meta + "pw").status == 303, "login")
    check(db_rows(web(), "SELECT count(*) FROM users")[0][0] >= 3, "users table")


@test
def upload_over_limit_is_rejected_and_leaves_nothing():
    c = new_user()
    _, pid = c.create_project("big")
    before = uploads(web())
    r = c.upload("/projects/%d/datasets" % pid, os.urandom(1024 * 1024 + 10), "big.zip")
    check(r.status == 413, r)
    check("upload limit of 1 MB" in r.text, r.text)
    check_security_headers(r, "413 page")
    check(uploads(web()) == before, "files left: %r" % (set(uploads(web())) - set(before)))
    check(not db_rows(web(), "SELECT id FROM datasets WHERE project_id = ?", (pid,)), "row")
    # exactly the limit is fine
    r = c.upload("/projects/%d/datasets" % pid, b"a" * (1024 * 1024), "edge.zip")
    check(r.status == 303, r)
    # a Content-Length far past the limit is refused before any byte is read
    head = ("POST /projects/%d/datasets HTTP/1.1\r\nHost: x\r\nCookie: %s\r\n"
            "Content-Type: multipart/form-data; boundary=BB\r\n"
            "Content-Length: %d\r\n\r\n" % (
                pid, "; ".join("%s=%s" % kv for kv in c.cookies.items()),
                50 * 1024 * 1024)).encode()
    out = raw_request(web().port, head, [b"--BB\r\n"])
    check(out.startswith(b"HTTP/1.1 413"), out[:200])
    check(len(uploads(web())) == len(before) + 1, "files")


@test
def cut_off_upload_leaves_nothing():
    c = new_user()
    _, pid = c.create_project("cut")
    before = uploads(web())
    body = ("--BB\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n%s\r\n"
            "--BB\r\nContent-Disposition: form-data; name=\"file\"; filename=\"cut.zip\"\r\n"
            "Content-Type: application/zip\r\n\r\n" % c.csrf).encode() + b"k" * 300000
    head = ("POST /projects/%d/datasets HTTP/1.1\r\nHost: x\r\nCookie: %s\r\n"
            "Content-Type: multipart/form-data; boundary=BB\r\n"
            "Content-Length: %d\r\n\r\n" % (
                pid, "; ".join("%s=%s" % kv for kv in c.cookies.items()),
                len(body) + 500000)).encode()
    raw_request(web().port, head, [body])  # closes before the rest
    # and one whose body ends without the closing boundary
    head2 = head.replace(b"Content-Length: %d" % (len(body) + 500000),
                         b"Content-Length: %d" % len(body))
    out = raw_request(web().port, head2, [body])
    check(out.startswith(b"HTTP/1.1 400") and b"cut off" in out, out[:300])
    wait_for(lambda: "POST /projects/%d/datasets 400" % pid in web().log_text(), 10,
             what="the cut-off upload to be logged")
    check(uploads(web()) == before, "files left: %r" % (set(uploads(web())) - set(before)))
    check(not db_rows(web(), "SELECT id FROM datasets WHERE project_id = ?", (pid,)), "row")


@test
def bad_uploads_get_clear_errors():
    c = new_user()
    _, pid = c.create_project("bad uploads")
    path = "/projects/%d/datasets" % pid
    r = c.upload(path, b"", "empty.zip")
    check(r.status == 400 and "empty" in r.text, r)
    r = c.upload(path, b"abc", "x.zip", field="notfile")
    check(r.status == 400 and "Choose a file" in r.text, r)
    r = c.upload(path, b"abc", "")
    check(r.status == 400 and "Choose a file" in r.text, r)
    r = request(web().port, "POST", path, "plain", headers={
        "Cookie": "; ".join("%s=%s" % kv for kv in c.cookies.items()),
        "Content-Type": "text/plain"})
    check(r.status == 400 and "multipart/form-data" in r.text, r)
    check(not db_rows(web(), "SELECT id FROM datasets WHERE project_id = ?", (pid,)), "row")


@test
def account_rules_and_duplicates():
    c = Client(web().port)
    c.get("/signup")
    cases = [
        ({"username": "ab", "password": PW}, 400, "3 to 32"),
        ({"username": "a" * 33, "password": PW}, 400, "3 to 32"),
        ({"username": "_lead", "password": PW}, 400, "letters, digits"),
        ({"username": "okname", "password": "short"}, 400, "at least 8"),
        ({"username": "samepass", "password": "samepass"}, 400, "same as the username"),
        ({"username": "okname", "password": "x" * 129}, 400, "at most 128"),
        ({"username": "", "password": ""}, 400, "Enter a username"),
    ]
    for fields, status, msg in cases:
        r = c.post_form("/signup", fields)
        check(r.status == status and msg in r.text, "%r -> %r" % (fields, r))
    d = new_user("dup")
    e = Client(web().port)
    r = e.signup(d.name.upper(), PW)
    check(r.status == 409 and "taken" in r.text, r)


@test
def login_is_throttled():
    c = new_user("thr")
    a = Client(web().port)
    for i in range(5):
        r = a.login(c.name, "wrong password %d" % i)
        check(r.status == 401 and "Wrong username or password" in r.text, r)
    r = a.login(c.name, PW)
    check(r.status == 429 and "Try again in" in r.text, r)
    check(int(r.header("Retry-After")) > 0, r.headers)


@test
def sessions_end_on_logout_and_bad_cookies():
    c = new_user()
    old = dict(c.cookies)
    c.post_form("/logout", {})
    stale = Client(web().port)
    stale.cookies = old
    r = stale.get("/projects")
    check(r.status == 303 and r.header("Location").startswith("/login"), r)
    forged = Client(web().port)
    forged.cookies = {"ty_session": "ab" * 32}
    r = forged.post_form("/projects", {"name": "x"}, csrf="0" * 64)
    check(r.status == 401 and "expired" in r.text, r)
    check(any("ty_session=;" in h for h in r.headers_all("Set-Cookie")), r.headers)
    r = forged.get("/login")
    check(r.status == 200, r)
    cookie = [h for h in c.signup("fresh%d" % os.getpid(), PW).headers_all("Set-Cookie")]
    check(any("HttpOnly" in h and "SameSite=Lax" in h and "Max-Age=" in h and
              h.startswith("ty_session=") for h in cookie), cookie)


@test
def sign_in_returns_to_the_page_asked_for():
    c = new_user()
    _, pid = c.create_project("come back")
    a = Client(web().port)
    r = a.get("/projects/%d" % pid)
    check(r.status == 303 and r.header("Location").lower() == "/login?next=%%2fprojects%%2f%d" % pid,
          r.headers)
    page = a.get(r.header("Location"))
    check('name="next" value="/projects/%d"' % pid in page.text, "next not in the form")
    r = a.post_form("/login", {"username": c.name, "password": PW, "next": "/projects/%d" % pid})
    check(r.status == 303 and r.header("Location") == "/projects/%d" % pid, r.headers)
    # a very long address still gets a well-formed redirect
    r = request(web().port, "GET", "/projects/" + "9" * 3000)
    check(r.status in (303, 404) and r.header("Cache-Control") == "no-store", r.headers)
    r = request(web().port, "GET", "/projects/%d/" % pid + "x" * 2000)
    check(r.status in (303, 404) and r.header("Cache-Control") == "no-store", r.headers)
    for evil in ("//evil.example/x", "http://evil.example/", "/\\evil", "javascript:alert(1)"):
        b = Client(web().port)
        b.get("/login")
        r = b.post_form("/login", {"username": c.name, "password": PW, "next": evil})
        check(r.status == 303 and r.header("Location") == "/projects", (evil, r.headers))


@test
def delete_project_removes_uploads():
    c = new_user()
    _, pid = c.create_project("doomed")
    r = c.upload("/projects/%d/datasets" % pid, b"d" * 1000, "d.zip")
    did = int(r.header("Location").rsplit("=", 1)[1])
    path = os.path.join(web().data, "uploads", str(did))
    check(os.path.isdir(path), path)
    c.get("/projects/%d" % pid)
    r = c.post_form("/projects/%d/delete" % pid, {})
    check(r.status == 303 and r.header("Location") == "/projects", r)
    check(not os.path.exists(path), "upload dir left")
    check(c.get("/projects/%d" % pid).status == 404, "still there")
    check(not db_rows(web(), "SELECT id FROM datasets WHERE id = ?", (did,)), "row left")


@test
def project_form_validation():
    c = new_user()
    c.get("/projects")
    for fields, msg in [({"name": ""}, "Give the project a name"),
                        ({"name": "   "}, "Give the project a name"),
                        ({"name": "n" * 101}, "at most 100"),
                        ({"description": "no name"}, "name is required"),
                        ({"name": "tab\there"}, "printable"),
                        ({"name": "ok", "description": "d" * 2001}, "at most 2000")]:
        r = c.post_form("/projects", fields)
        check(r.status == 400 and msg in r.text, "%r -> %r" % (fields, r))
    r = request(web().port, "POST", "/projects", "a=%zz", headers={
        "Cookie": "; ".join("%s=%s" % kv for kv in c.cookies.items()),
        "Content-Type": "application/x-www-form-urlencoded"})
    check(r.status == 400 and "malformed" in r.text, r)
    r = request(web().port, "POST", "/projects", "x" * 70000, headers={
        "Cookie": "; ".join("%s=%s" % kv for kv in c.cookies.items()),
        "Content-Type": "application/x-www-form-urlencoded"})
    check(r.status == 413, r)


@test
def routes_statuses_and_headers():
    s = web()
    r = request(s.port, "GET", "/no/such/page")
    check(r.status == 404 and "text/html" in r.header("Content-Type"), r)
    check_security_headers(r, "404")
    r = request(s.port, "GET", "/api/v1/nothing")
    check(r.status == 404 and r.json()["error"], r)
    r = request(s.port, "DELETE", "/projects")
    check(r.status == 405 and "GET" in r.header("Allow") and "POST" in r.header("Allow"), r)
    r = request(s.port, "GET", "/projects")
    check(r.status == 303 and r.header("Location").lower() == "/login?next=%2fprojects", r.headers)
    r = request(s.port, "POST", "/projects", "name=x",
                headers={"Content-Type": "application/x-www-form-urlencoded"})
    check(r.status == 401, r)
    for path in ("/login", "/signup", "/static/app.css", "/healthz", "/metrics", "/"):
        r = request(s.port, "GET", path)
        check(r.status in (200, 303), (path, r))
        check_security_headers(r, path)
    r = request(s.port, "GET", "/static/app.css")
    check("text/css" in r.header("Content-Type") and b".card" in r.body, r)
    for p in ("/static/../migrations/001_init.sql", "/static/%2e%2e/views/layout.html",
              "/static/nothing.css"):
        r = request(s.port, "GET", p)
        check(r.status == 404 or b"CREATE TABLE" not in r.body, (p, r))
    page = request(s.port, "GET", "/login").text
    check("<script>" not in page and " style=" not in page, "inline script/style")
    check(request(s.port, "GET", "/healthz").json() == {"status": "ok"}, "healthz")
    check(request(s.port, "GET", "/readyz").json() == {"status": "ready"}, "readyz")
    # requests too broken to reach the route table still get the headers
    out = raw_request(s.port, b"GARBAGE\r\n\r\n", [])
    check(out.startswith(b"HTTP/1.0 400") or out.startswith(b"HTTP/1.1 400"), out[:100])
    for h in (b"X-Content-Type-Options: nosniff", b"X-Frame-Options: DENY",
              b"Content-Security-Policy: default-src 'none'"):
        check(h in out, (h, out[:400]))
    r = request(s.port, "HEAD", "/login")
    check(r.status == 200 and r.body == b"" and int(r.header("Content-Length")) > 0, r)


@test
def metrics_count_routes_and_statuses():
    s = web()
    request(s.port, "GET", "/no/such")
    request(s.port, "GET", "/login")
    m = request(s.port, "GET", "/metrics")
    check(m.status == 200 and m.header("Content-Type").startswith("text/plain"), m)
    t = m.text
    check(re.search(r'trainyard_http_requests_total\{route="unmatched",status="404"\} \d+', t), t)
    check(re.search(r'trainyard_http_requests_total\{route="GET /login",status="200"\} \d+', t), t)
    check('trainyard_http_request_duration_seconds_bucket{route="GET /login",le="+Inf"}' in t, t)
    check(re.search(r"trainyard_uptime_seconds [0-9.]+", t), t)
    n1 = int(re.search(r'route="GET /login",status="200"\} (\d+)', t).group(1))
    request(s.port, "GET", "/login")
    t2 = request(s.port, "GET", "/metrics").text
    n2 = int(re.search(r'route="GET /login",status="200"\} (\d+)', t2).group(1))
    check(n2 == n1 + 1, (n1, n2))


@test
def metrics_token_when_configured():
    s = start_web(TRAINYARD_METRICS_TOKEN="scrape-secret-123")
    try:
        r = request(s.port, "GET", "/metrics")
        check(r.status == 401 and "Bearer" in (r.header("WWW-Authenticate") or ""), r)
        check("trainyard_http_requests_total" not in r.text, r.text)
        for bad in ("Bearer scrape-secret-12", "Bearer scrape-secret-1234",
                    "Basic c2NyYXBlLXNlY3JldC0xMjM=", "scrape-secret-123"):
            r = request(s.port, "GET", "/metrics", headers={"Authorization": bad})
            check(r.status == 401, (bad, r.status))
        r = request(s.port, "GET", "/metrics",
                    headers={"Authorization": "Bearer scrape-secret-123"})
        check(r.status == 200 and "trainyard_uptime_seconds" in r.text, r)
        # the probes stay open
        check(request(s.port, "GET", "/healthz").status == 200)
    finally:
        s.stop()


@test
def admin_from_env_restart_and_clean_stop():
    s = start_web(TRAINYARD_ADMIN_USER="admin", TRAINYARD_ADMIN_PASSWORD="admin-password-1",
                  TRAINYARD_ALLOW_SIGNUP=0)
    c = Client(s.port)
    check(c.login("admin", "admin-password-1").status == 303, "admin login")
    _, pid = c.create_project("kept")
    check(request(s.port, "GET", "/signup").status == 404, "signup should be closed")
    check(s.stop(signal.SIGTERM) == 0, "exit code on SIGTERM")
    check("finishing requests in flight" in s.log_text(), "no graceful stop")
    # restart on the same (now up-to-date) database: nothing re-applied
    env = {k: v for k, v in s.env.items() if k != "TRAINYARD_PORT"}
    s2 = Service("trainyard-web", env=env).start()
    c2 = Client(s2.port)
    check(c2.login("admin", "admin-password-1").status == 303, "admin after restart")
    check("kept" in c2.get("/projects").text, "project after restart")
    check(s.log_text().count("applied migration 001_init.sql") == 1, "first start")
    check("applied migration" not in s2.log_text(), "migration re-applied")
    check(s2.stop() == 0, "second stop")
    # a bad admin password refuses to start
    bad = Service("trainyard-web", env=dict(env, TRAINYARD_ADMIN_USER="root2",
                                            TRAINYARD_ADMIN_PASSWORD="short"))
    try:
        bad.start(timeout=5)
        ok = False
    except AssertionError:
        ok = True
    check(ok, "started with a bad admin password")


@test
def chunked_and_concurrent_uploads():
    import http.client
    import threading
    from tylib import multipart
    c = new_user()
    _, pid = c.create_project("parallel")
    cookie = "; ".join("%s=%s" % kv for kv in c.cookies.items())

    def send(data, name, out, i):
        body, ctype = multipart({"csrf": c.csrf}, [("file", name, data, "application/zip")])
        conn = http.client.HTTPConnection("127.0.0.1", web().port, timeout=60)
        # chunked transfer: no Content-Length, the parser must find the end
        conn.request("POST", "/projects/%d/datasets" % pid,
                     body=iter([body[k:k + 7000] for k in range(0, len(body), 7000)]),
                     headers={"Cookie": cookie, "Content-Type": ctype},
                     encode_chunked=True)
        r = conn.getresponse()
        r.read()
        out[i] = r.status
        conn.close()

    blobs = [os.urandom(50000 + 1000 * i) for i in range(6)]
    out = [None] * len(blobs)
    ths = [threading.Thread(target=send, args=(b, "p%d.zip" % i, out, i))
           for i, b in enumerate(blobs)]
    for t in ths:
        t.start()
    for i in range(20):  # pages keep answering meanwhile
        check(c.get("/projects/%d" % pid).status == 200, "page during uploads")
    for t in ths:
        t.join()
    check(out == [303] * len(blobs), out)
    rows = db_rows(web(), "SELECT filename, bytes, sha256, path FROM datasets "
                   "WHERE project_id = ? ORDER BY filename", (pid,))
    check(len(rows) == len(blobs), rows)
    for i, (fname, nbytes, sha, path) in enumerate(rows):
        check(fname == "p%d.zip" % i and nbytes == len(blobs[i]), rows[i])
        check(sha == hashlib.sha256(blobs[i]).hexdigest(), "sha of %s" % fname)
        with open(os.path.join(web().data, path), "rb") as f:
            check(f.read() == blobs[i], "content of %s" % fname)


@test
def sigterm_lets_an_upload_in_flight_finish():
    import http.client
    import threading
    s = start_web()
    c = Client(s.port)
    check(c.signup("inflight", PW).status == 303, "signup")
    c.get("/projects")
    _, pid = c.create_project("in flight")
    head = ("--BB\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n%s\r\n"
            "--BB\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f.zip\"\r\n"
            "\r\n" % c.csrf).encode()
    tail = b"\r\n--BB--\r\n"
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=30)
    conn.putrequest("POST", "/projects/%d/datasets" % pid)
    conn.putheader("Cookie", "; ".join("%s=%s" % kv for kv in c.cookies.items()))
    conn.putheader("Content-Type", "multipart/form-data; boundary=BB")
    conn.putheader("Content-Length", str(len(head) + 4 * 10000 + len(tail)))
    conn.endheaders()
    conn.send(head + b"a" * 10000)
    time.sleep(0.3)
    code = []
    th = threading.Thread(target=lambda: code.append(s.stop(signal.SIGTERM)))
    th.start()
    wait_for(lambda: "finishing requests in flight" in s.log_text(), 10, what="SIGTERM seen")
    time.sleep(0.2)
    r = request(s.port, "GET", "/login")
    check(r.status == 503 and r.header("Retry-After") == "5", r)
    check(request(s.port, "GET", "/readyz").status == 503, "ready while stopping")
    for _ in range(3):
        time.sleep(0.2)
        conn.send(b"a" * 10000)
    conn.send(tail)
    r = conn.getresponse()
    r.read()
    th.join()
    check(r.status == 303, r.status)
    check(code == [0], code)
    rows = db_rows(s, "SELECT bytes FROM datasets WHERE project_id = ?", (pid,))
    check(rows == [(40000,)], rows)


@test
def server_stops_cleanly_with_no_sanitizer_reports():
    """Last: SIGTERM the shared server; under SAN=1 a leak or UB report
    anywhere above would show here as a non-zero exit or in the log."""
    s = web()
    code = s.stop(signal.SIGTERM)
    log = s.log_text()
    for bad in ("runtime error", "AddressSanitizer", "LeakSanitizer"):
        check(bad not in log, "%s in %s" % (bad, s.logpath))
    check(code == 0, "exit code %s" % code)


if __name__ == "__main__":
    run_all()
