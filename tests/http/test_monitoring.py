"""k8s/monitoring against the real services (issue 16 §4): the web app and
the preprocess, train and infer workers are started as in the other HTTP
suites, a dataset is uploaded, a run trained and images predicted through
the API, and then every metric name that the Grafana dashboard and the
Prometheus alert rules use must be in a live /metrics scrape (the
series a panel filters on too: infer's /predict route, the run statuses,
the volumes). Also: the files parse, the kustomization lists what exists,
the new gauges carry real values."""
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tylib import ROOT, check, request, run_all, test  # noqa: E402
from wdlib import Stack, bars_png, clean_logs_test  # noqa: E402
from apilib import Who  # noqa: E402

MON = os.path.join(ROOT, "k8s", "monitoring")
# the scrape needs a token: the web app's metrics token, which the workers
# accept too (DESIGN.md); tylib sets the service token
METRICS_TOKEN = "m" * 40
os.environ["TRAINYARD_METRICS_TOKEN"] = METRICS_TOKEN
# made by Prometheus itself, not by a service
SYNTHETIC = {"up"}
PROMQL_WORDS = {
    "sum", "min", "max", "avg", "count", "rate", "irate", "increase",
    "histogram_quantile", "absent", "by", "without", "and", "or",
    "unless", "on", "ignoring", "group_left", "group_right", "offset",
    "bool", "label_values", "topk", "bottomk", "clamp_min", "e"}

S = Stack("ty-mon-")
S.start_pre()
S.start_train()
S.start_infer()
S.start_web(TRAINYARD_POLL_MS=150)
SERVICES = {"web": S.web, "preprocess": S.pre, "train": S.train,
            "infer": S.infer}


def load_yaml(name):
    import yaml  # python3-yaml (scripts/install-deps.sh)
    with open(os.path.join(MON, name)) as f:
        return list(yaml.safe_load_all(f))


def dashboard():
    with open(os.path.join(MON, "trainyard-dashboard.json")) as f:
        return json.load(f)


def exprs():
    """(where, PromQL) of every dashboard target and alert rule."""
    out = []
    d = dashboard()
    for p in d["panels"]:
        for t in p.get("targets", []):
            out.append(("panel " + p["title"], t["expr"]))
    for v in d["templating"]["list"]:
        if v.get("type") == "query":
            # label_values(metric, label): the metric only
            m = re.match(r"label_values\((\w+),", v["definition"])
            check(m, v["definition"])
            out.append(("variable " + v["name"], m.group(1)))
    for doc in load_yaml("prometheus-rules.yaml"):
        for g in doc["spec"]["groups"]:
            for r in g["rules"]:
                out.append(("alert " + r["alert"], r["expr"]))
    return out


def metric_names(expr):
    """The metric names in a PromQL expression: what is left after the
    strings, label matchers, grouping lists, ranges and functions."""
    e = re.sub(r'"(\\.|[^"\\])*"', '""', expr)
    e = re.sub(r"\{[^}]*\}", " ", e)
    e = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", " ", e)
    e = re.sub(r"\[[^\]]*\]", " ", e)
    e = re.sub(r"\$\w+", " ", e)
    names = set(re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", e))
    return {n for n in names if n not in PROMQL_WORDS}


def selectors(expr):
    """(metric, {label: value}) for every name{label="value",...}."""
    out = []
    for m in re.finditer(r"([A-Za-z_:][A-Za-z0-9_:]*)\{([^}]*)\}", expr):
        labels = dict(re.findall(r'(\w+)\s*=\s*"([^"$]*)"', m.group(2)))
        out.append((m.group(1), labels))
    return out


def scrape(svc):
    r = request(svc.port, "GET", "/metrics",
                headers={"Authorization": "Bearer " + METRICS_TOKEN})
    check(r.status == 200, (svc.name, r))
    series = {}
    for line in r.text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'([A-Za-z_:][A-Za-z0-9_:]*)'
                     r'(\{(?:[^"}]|"(?:\\.|[^"\\])*")*\})?\s+(\S+)$', line)
        check(m, "not exposition format: %r" % line)
        labels = dict(re.findall(r'(\w+)="((?:\\.|[^"\\])*)"',
                                 m.group(2) or ""))
        series.setdefault(m.group(1), []).append((labels, float(m.group(3))))
    return series


def use_everything():
    """A dataset, a run and predictions through the API, so that every
    series the dashboard shows has been made."""
    import base64
    w = Who(S, "mon").trained()
    img = base64.b64encode(bars_png(1, 5)).decode()
    r = w.call("POST", "/projects/%d/predict" % w.pid,
               {"model_id": "latest", "images": [{"data": img},
                                                 {"data": "AAAA"}]})
    check(r.status == 200, r)
    return w


WHO = use_everything()
SCRAPES = {name: scrape(s) for name, s in SERVICES.items()}


@test
def files_parse_and_the_kustomization_lists_them():
    d = dashboard()
    check(d["title"] and d["uid"] and len(d["panels"]) >= 12, d.keys())
    ids = [p["id"] for p in d["panels"]]
    check(len(ids) == len(set(ids)), ids)
    for p in d["panels"]:
        g = p["gridPos"]
        check(0 <= g["x"] and g["x"] + g["w"] <= 24, (p["title"], g))
    (k,) = load_yaml("kustomization.yaml")
    listed = list(k["resources"]) + [f for g in k["configMapGenerator"]
                                     for f in g["files"]]
    for f in listed:
        check(os.path.exists(os.path.join(MON, f)), f)
    kinds = {doc["kind"] for f in k["resources"] for doc in load_yaml(f)}
    check(kinds == {"PodMonitor", "PrometheusRule"}, kinds)
    alerts = {r["alert"] for doc in load_yaml("prometheus-rules.yaml")
              for g in doc["spec"]["groups"] for r in g["rules"]}
    for want in ("TrainyardServiceDown", "TrainyardHighErrorRatio",
                 "TrainyardRunStuck", "TrainyardVolumeNearlyFull",
                 "TrainyardPredictSlow"):
        check(want in alerts, (want, alerts))
    # the PodMonitor's port is the containers' port name
    (pm,) = load_yaml("podmonitor.yaml")
    port = pm["spec"]["podMetricsEndpoints"][0]["port"]
    for f in ("web.yaml", "preprocess.yaml", "train.yaml", "infer.yaml"):
        with open(os.path.join(ROOT, "k8s", f)) as fh:
            check("- name: %s\n" % port in fh.read(), f)


@test
def the_metric_name_parser_finds_names_and_only_names():
    check(metric_names('sum by (service, le) (rate(a_b_bucket{x="y z"}'
                       '[$__rate_interval])) / on(service) c > 0.5') ==
          {"a_b_bucket", "c"})
    check(metric_names('absent(up{service="web"}) or max(d) > 5 * 3600')
          == {"up", "d"})
    check(len(set().union(*(metric_names(e) for _, e in exprs()))) >= 10)


@test
def every_metric_of_the_dashboard_and_rules_is_exported():
    exported = set().union(*(s.keys() for s in SCRAPES.values()))
    missing = []
    for where, e in exprs():
        for n in metric_names(e) - SYNTHETIC:
            if n not in exported:
                missing.append((where, n))
    check(not missing, "not exported by any service: %s" % missing)


@test
def the_series_the_queries_select_exist():
    """name{label="value"}: some service exports a series with those
    label values (service= names the scrape; PodMonitor sets it)."""
    missing = []
    for where, e in exprs():
        for name, labels in selectors(e):
            if name in SYNTHETIC:
                continue
            want = {k: v for k, v in labels.items() if k != "service"}
            svcs = [labels["service"]] if "service" in labels else SCRAPES
            found = False
            for svc in svcs:
                for lab, _ in SCRAPES.get(svc, {}).get(name, []):
                    ok = all(re.fullmatch(v, lab.get(k, ""))
                             if k == "status" else lab.get(k) == v
                             for k, v in want.items())
                    found = found or ok
            if not found:
                missing.append((where, name, labels))
    check(not missing, missing)


@test
def the_new_gauges_hold_real_values():
    web = SCRAPES["web"]
    runs = {lab["status"]: v for lab, v in web["trainyard_runs"]}
    check(runs.get("succeeded") == 1 and runs.get("queued") == 0 and
          set(runs) == {"queued", "preprocessing", "training", "succeeded",
                        "failed", "cancelled"}, runs)
    check(web["trainyard_run_active_longest_seconds"][0][1] == 0, web)
    train = SCRAPES["train"]
    images = train["trainyard_train_images_total"][0][1]
    # 8 epochs of the training share of 180 images
    check(8 * 100 <= images <= 8 * 180, images)
    check(train["trainyard_train_images_per_second"][0][1] > 0)
    infer = SCRAPES["infer"]
    got = {lab["result"]: v for lab, v in infer[
        "trainyard_infer_images_total"]}
    check(got == {"predicted": 1, "error": 1}, got)
    for name, s in SCRAPES.items():
        rss = s["process_resident_memory_bytes"][0][1]
        check(1 << 20 < rss < 4 << 30, (name, rss))
        vols = {lab["volume"]: v for lab, v in s[
            "trainyard_volume_free_bytes"]}
        size = {lab["volume"]: v for lab, v in s[
            "trainyard_volume_size_bytes"]}
        check(set(vols) == {"data", "models"}, (name, vols))
        st = os.statvfs(S.data)
        check(abs(vols["data"] - st.f_bavail * st.f_frsize) <
              0.05 * size["data"] + (64 << 20), (name, vols))
        check(0 < vols["data"] <= size["data"], (name, vols, size))
    # the metrics still want a token: the metrics token everywhere, and
    # the workers also take the service token
    for name, svc in SERVICES.items():
        r = request(svc.port, "GET", "/metrics", auth=False)
        check(r.status == 401, (name, r))
        if name != "web":
            check(request(svc.port, "GET", "/metrics").status == 200, name)


clean_logs_test(S)
run_all()
