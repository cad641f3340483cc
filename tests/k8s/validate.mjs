// Offline checks of k8s/: every object against the Kubernetes API schema
// (kubernetes-models, with unknown fields refused as the API server's strict
// field validation does), then what this project needs of them: probes,
// limits, securityContext, volumes, labels, and the settings that must agree
// across files. Ends with "N passed, N failed".
//   node tests/k8s/validate.mjs [K8S_DIR]
import fs from "node:fs";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { render, parseYaml } from "./render.mjs";

const require = createRequire(import.meta.url);
const dir = process.argv[2] ?? "k8s";
let passed = 0, failed = 0;

function check(name, ok, detail = "") {
	if (ok) {
		passed++;
		console.log(`PASS ${name}`);
	} else {
		failed++;
		console.log(`FAIL ${name}${detail ? ": " + detail : ""}`);
	}
}

// --- schema validation -----------------------------------------------------

function modelClass(obj) {
	const [group, version] = obj.apiVersion.includes("/")
		? obj.apiVersion.split("/") : [null, obj.apiVersion];
	const mod = group ? `kubernetes-models/${group}/${version}/${obj.kind}`
		: `kubernetes-models/${version}/${obj.kind}`;
	return require(mod)[obj.kind];
}

// The schema validators read each property they know by name, and
// enumerate the keys of maps (labels, data). A proxy records both; any key
// of a non-map object that was never read is unknown to the schema.
function strictValidate(obj) {
	const seen = new Map(); // target -> {read: Set, enumerated: bool}
	const wrap = (v) => {
		if (v === null || typeof v !== "object") return v;
		const rec = { read: new Set(), enumerated: false };
		seen.set(v, rec);
		return new Proxy(v, {
			get(t, k) {
				if (typeof k === "string") rec.read.add(k);
				return wrap(t[k]);
			},
			ownKeys(t) {
				rec.enumerated = true;
				return Reflect.ownKeys(t);
			},
		});
	};
	const cls = modelClass(obj);
	const errors = [];
	try {
		cls.prototype.validate.call(wrap(obj));
	} catch (e) {
		errors.push(e.message.split("\n")[0]);
	}
	const walk = (v, where) => {
		if (v === null || typeof v !== "object") return;
		const rec = seen.get(v);
		if (!Array.isArray(v) && rec && !rec.enumerated)
			for (const k of Object.keys(v))
				if (!rec.read.has(k)) errors.push(`${where}.${k}: unknown field`);
		for (const [k, c] of Object.entries(v)) walk(c, `${where}.${k}`);
	};
	walk(obj, "");
	return errors;
}

let objs;
try {
	objs = render(dir);
	check("kustomization renders", objs.length > 0);
} catch (e) {
	check("kustomization renders", false, e.message);
	console.log(`${passed} passed, ${failed} failed`);
	process.exit(1);
}

for (const o of objs) {
	let errs;
	try {
		errs = strictValidate(o);
	} catch (e) {
		errs = [`no schema for ${o.apiVersion} ${o.kind}: ${e.message}`];
	}
	check(`schema ${o.kind}/${o.metadata?.name}`, errs.length === 0,
		errs.join("; "));
}

// The validator must be able to fail: broken copies are refused.
{
	const dep = objs.find((o) => o.kind === "Deployment");
	const broken = [
		["misspelt field", (d) => { d.spec.template.spec.containers[0].imagePullPolcy = "Always"; }],
		["wrong type", (d) => { d.spec.replicas = "two"; }],
		["missing required", (d) => { delete d.spec.selector; }],
		["bad enum-like kind", (d) => { d.apiVersion = "apps/v2"; }],
	];
	for (const [what, mutate] of broken) {
		const d = structuredClone(dep);
		mutate(d);
		let errs;
		try {
			errs = strictValidate(d);
		} catch (e) {
			errs = [e.message];
		}
		check(`validator refuses a Deployment with a ${what}`, errs.length > 0);
	}
}

// Where kubectl is installed, the small renderer must agree with kustomize.
try {
	const out = execFileSync("kubectl", ["kustomize", dir],
		{ encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
	const key = (o) => `${o.kind}/${o.metadata.name}`;
	const norm = (l) => JSON.stringify(l.map((o) => [key(o), o]).sort((a, b) =>
		a[0] < b[0] ? -1 : 1), (k, v) => v && typeof v === "object" &&
		!Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort()) : v);
	check("render.mjs matches kubectl kustomize",
		norm(parseYaml(out, "kubectl")) === norm(objs));
} catch (e) {
	if (e.code !== "ENOENT") check("kubectl kustomize runs", false, e.message);
	else console.log("(kubectl not installed: renderer not compared with kustomize)");
}

// --- what this project needs of them ------------------------------------

const byKind = (k) => objs.filter((o) => o.kind === k);
const find = (k, n) => objs.find((o) => o.kind === k && o.metadata.name === n);
const deployments = byKind("Deployment");
const services = byKind("Service");
const cm = find("ConfigMap", "trainyard-config");

check("no Secret is committed in k8s/", byKind("Secret").length === 0);
check("namespace trainyard", find("Namespace", "trainyard") &&
	objs.every((o) => o.kind === "Namespace" || o.metadata.namespace === "trainyard"));
check("three Deployments web, preprocess, infer and the StatefulSet train",
	["web", "preprocess", "infer"].every((n) => find("Deployment", n)) &&
	deployments.length === 3 && find("StatefulSet", "train") &&
	byKind("StatefulSet").length === 1);

for (const o of objs) {
	const l = o.metadata.labels ?? {};
	check(`${o.kind}/${o.metadata.name} has app.kubernetes.io name and part-of labels`,
		l["app.kubernetes.io/name"] && l["app.kubernetes.io/part-of"] === "trainyard");
}

const DESIGN_VARS = ["TRAINYARD_DATA_DIR", "TRAINYARD_MODELS_DIR", "TRAINYARD_DB",
	"TRAINYARD_PREPROCESS_URL", "TRAINYARD_TRAIN_URL", "TRAINYARD_INFER_URL",
	"TRAINYARD_MAX_UPLOAD_MB", "TRAINYARD_TRAIN_PEERS"];
check("ConfigMap holds every shared TRAINYARD_* setting of DESIGN.md",
	cm && DESIGN_VARS.every((v) => v in cm.data),
	cm ? DESIGN_VARS.filter((v) => !(v in cm.data)).join(" ") : "no ConfigMap");

const PORTS = { web: 8080, preprocess: 8081, train: 8082, infer: 8083 };
const BINARY = {};
const workloads = [...deployments, ...byKind("StatefulSet")];
for (const d of workloads) {
	const n = d.metadata.name;
	const pod = d.spec.template.spec;
	const c = pod.containers[0];
	const tl = d.spec.template.metadata.labels ?? {};
	const ann = d.spec.template.metadata.annotations ?? {};
	const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e]));
	const portName = (p) => c.ports.find((x) => x.name === p || x.containerPort === p);
	check(`${n}: selector matches the pod labels`,
		Object.entries(d.spec.selector.matchLabels).every(([k, v]) => tl[k] === v));
	check(`${n}: runs trainyard-${BINARY[n] ?? n} on port ${PORTS[n]}`,
		c.command?.[0] === `trainyard-${BINARY[n] ?? n}` &&
		c.ports[0].containerPort === PORTS[n] &&
		env.TRAINYARD_PORT?.value === String(PORTS[n]));
	check(`${n}: image is the project image, never pulled from a registry`,
		/^trainyard(:|$)/.test(c.image) && c.imagePullPolicy === "IfNotPresent");
	const tok = env.TRAINYARD_SERVICE_TOKEN?.valueFrom?.secretKeyRef;
	check(`${n}: TRAINYARD_SERVICE_TOKEN from Secret trainyard-service (required)`,
		tok && tok.name === "trainyard-service" &&
		tok.key === "TRAINYARD_SERVICE_TOKEN" && !tok.optional);
	check(`${n}: takes the ConfigMap`,
		(c.envFrom ?? []).some((e) => e.configMapRef?.name === "trainyard-config"));
	const ready = c.readinessProbe?.httpGet, live = c.livenessProbe?.httpGet;
	check(`${n}: readiness and liveness probes on its own port`,
		ready && live && portName(ready.port) && portName(live.port) &&
		live.path === "/healthz" &&
		ready.path === "/readyz");
	check(`${n}: Prometheus annotations point at its port`,
		ann["prometheus.io/scrape"] === "true" &&
		ann["prometheus.io/port"] === String(PORTS[n]) &&
		ann["prometheus.io/path"] === "/metrics");
	const r = c.resources ?? {};
	check(`${n}: CPU and memory requests and limits`,
		r.requests?.cpu && r.requests?.memory && r.limits?.cpu && r.limits?.memory);
	if (env.TRAINYARD_THREADS)
		check(`${n}: TRAINYARD_THREADS fits its CPU limit`,
			Number(env.TRAINYARD_THREADS.value) <= Math.max(1, parseFloat(r.limits.cpu)));
	const ps = pod.securityContext ?? {}, cs = c.securityContext ?? {};
	check(`${n}: runs as non-root with an fsGroup for the volumes`,
		ps.runAsNonRoot === true && ps.runAsUser > 0 && ps.fsGroup > 0);
	check(`${n}: read-only root, no privilege escalation, all capabilities dropped`,
		cs.readOnlyRootFilesystem === true && cs.allowPrivilegeEscalation === false &&
		(cs.capabilities?.drop ?? []).includes("ALL") && !cs.privileged);
	const vols = Object.fromEntries((pod.volumes ?? []).map((v) => [v.name, v]));
	const mounts = c.volumeMounts ?? [];
	check(`${n}: every mount has a volume, every claim a PVC`,
		mounts.every((m) => vols[m.name]) && Object.values(vols).every((v) =>
			!v.persistentVolumeClaim ||
			find("PersistentVolumeClaim", v.persistentVolumeClaim.claimName)));
	const at = (p) => mounts.find((m) => m.mountPath === p);
	check(`${n}: /tmp is an emptyDir (the root is read-only)`,
		at("/tmp") && vols[at("/tmp").name].emptyDir);
	// Workers' /readyz writes to both volumes; the web writes uploads and db.
	// Train replicas share the models volume and keep their job records
	// apart by name (docs/deploy.md, Placement and Leases).
	if (n === "train") {
		check(`${n}: TRAINYARD_REPLICA is the pod name`,
			env.TRAINYARD_REPLICA?.valueFrom?.fieldRef?.fieldPath === "metadata.name");
		check(`${n}: TRAINYARD_REPLICA_URL is its stable name in Service ${d.spec.serviceName}`,
			env.TRAINYARD_REPLICA_URL?.value ===
			`http://$(TRAINYARD_REPLICA).${d.spec.serviceName}:${PORTS[n]}`);
	}
	const need = n === "web"
		? [[cm.data.TRAINYARD_DATA_DIR, "data", true],
			[cm.data.TRAINYARD_MODELS_DIR, "models", false],
			[path.dirname(cm.data.TRAINYARD_DB), "db", true]]
		: [[cm.data.TRAINYARD_DATA_DIR, "data", true],
			[cm.data.TRAINYARD_MODELS_DIR, "models", true]];
	for (const [p, claim, rw] of need) {
		const m = at(p);
		check(`${n}: ${p} is PVC ${claim}${rw ? ", writable" : ""}`,
			m && vols[m.name].persistentVolumeClaim?.claimName === claim &&
			(!rw || !m.readOnly));
	}
	const svc = find("Service", n);
	check(`${n}: Service selects its pods on a named container port`,
		svc && Object.entries(svc.spec.selector).every(([k, v]) => tl[k] === v) &&
		svc.spec.ports.every((p) => portName(p.targetPort)) &&
		svc.spec.ports[0].port === PORTS[n]);
	check(`${n}: Service type ${n === "web" ? "NodePort" : "ClusterIP"}`,
		svc && (svc.spec.type ?? "ClusterIP") === (n === "web" ? "NodePort" : "ClusterIP"));
}

// A default minikube has 2 CPUs, about 0.85 of them requested by
// kube-system and metrics-server: one pod of each workload must fit in the
// rest, or a pod stays Pending and run.sh deploy never finishes.
{
	const cpu = (q) => q.endsWith("m") ? parseFloat(q) / 1000 : parseFloat(q);
	let total = 0;
	for (const w of workloads) {
		const n = w.kind === "Deployment" && w.spec.replicas === undefined ? 1
			: (w.spec.replicas ?? 1);
		total += n * cpu(w.spec.template.spec.containers[0].resources.requests.cpu);
	}
	check(`CPU requests (${total.toFixed(2)}) fit a default 2-CPU minikube`,
		total <= 1.1);
}

const web = find("Deployment", "web");
check("web: 1 replica with the Recreate strategy (SQLite has one writer)",
	web && web.spec.replicas === 1 && web.spec.strategy?.type === "Recreate");
check("preprocess: Recreate (a new pod resumes the old one's jobs)",
	find("Deployment", "preprocess")?.spec.strategy?.type === "Recreate");
{
	const t = find("StatefulSet", "train");
	const ts = find("Service", t?.spec.serviceName);
	check("train: StatefulSet of 2+ replicas with stable names from a headless Service",
		t && t.spec.replicas >= 2 && ts && ts.spec.clusterIP === "None" &&
		t.spec.podManagementPolicy === "Parallel");
}
check("infer: no fixed replica count (the HPA owns it)",
	find("Deployment", "infer")?.spec.replicas === undefined);

for (const v of ["PREPROCESS", "INFER"]) {
	const u = new URL(cm.data[`TRAINYARD_${v}_URL`]);
	const svc = find("Service", u.hostname);
	check(`TRAINYARD_${v}_URL names a Service and its port`,
		svc && svc.spec.ports.some((p) => p.port === Number(u.port)));
}
const selects = (svc, w) => w && Object.entries(svc.spec.selector).every(
	([k, v]) => w.spec.template.metadata.labels[k] === v);
for (const v of ["TRAINYARD_TRAIN_URL", "TRAINYARD_TRAIN_PEERS"]) {
	// a DNS name[:port] resolving to every replica (lib/base/urls.c)
	const [host, port] = String(cm.data[v]).split(":");
	const svc = find("Service", host);
	check(`${v} is the headless Service over every train replica, port 8082`,
		svc && svc.spec.clusterIP === "None" && (port ?? "8082") === "8082" &&
		selects(svc, find("StatefulSet", "train")) &&
		svc.spec.ports.some((p) => p.port === 8082));
}
{
	// optional, not in kustomization.yaml: off by default (docs/deploy.md)
	const f = path.join(dir, "train-hpa.yaml");
	const h = fs.existsSync(f) ? parseYaml(fs.readFileSync(f, "utf8"))[0] : null;
	const kz = fs.readFileSync(path.join(dir, "kustomization.yaml"), "utf8");
	check("train-hpa.yaml scales StatefulSet train on CPU and is off by default",
		h && h.kind === "HorizontalPodAutoscaler" &&
		h.spec.scaleTargetRef.kind === "StatefulSet" &&
		h.spec.scaleTargetRef.name === "train" &&
		h.spec.metrics[0].resource.name === "cpu" && !kz.includes("train-hpa.yaml") &&
		!find("HorizontalPodAutoscaler", "train"));
}

const pvc = (n) => find("PersistentVolumeClaim", n);
check("PVCs data and models are ReadWriteMany (several pods mount them)",
	pvc("data")?.spec.accessModes.includes("ReadWriteMany") &&
	pvc("models")?.spec.accessModes.includes("ReadWriteMany"));
check("PVC db is ReadWriteOnce (one SQLite writer)",
	pvc("db")?.spec.accessModes.join() === "ReadWriteOnce");
const gi = (q) => parseFloat(q) * ({ Gi: 1, Mi: 1 / 1024, Ti: 1024 }[q.replace(/^[\d.]+/, "")] ?? NaN);
check("data volume holds at least 10 uploads of the largest size",
	gi(pvc("data").spec.resources.requests.storage) * 1024 >=
	10 * Number(cm.data.TRAINYARD_MAX_UPLOAD_MB));

const hpa = find("HorizontalPodAutoscaler", "infer");
check("HPA scales Deployment infer 1-4 on CPU",
	hpa && hpa.spec.scaleTargetRef.kind === "Deployment" &&
	hpa.spec.scaleTargetRef.name === "infer" && hpa.spec.minReplicas === 1 &&
	hpa.spec.maxReplicas === 4 && hpa.spec.metrics[0].resource.name === "cpu");

const ing = byKind("Ingress")[0];
check("Ingress: nginx class, body size = TRAINYARD_MAX_UPLOAD_MB, routes to web",
	ing && ing.spec.ingressClassName === "nginx" &&
	ing.metadata.annotations["nginx.ingress.kubernetes.io/proxy-body-size"] ===
	`${cm.data.TRAINYARD_MAX_UPLOAD_MB}m` &&
	ing.spec.rules[0].http.paths[0].backend.service.name === "web");

// Issue 13 §1: only the web app reaches the workers.
check("Ingress routes every path to web only, request buffering on",
	ing && ing.spec.rules.every((r) => r.http.paths.every((p) =>
		p.backend.service.name === "web")) &&
	ing.metadata.annotations["nginx.ingress.kubernetes.io/proxy-request-buffering"] !== "off");
check("ConfigMap: TRAINYARD_COOKIE_SECURE=1 (cookies only over TLS)",
	cm.data.TRAINYARD_COOKIE_SECURE === "1");
const policies = byKind("NetworkPolicy");
const npSelects = (np, labels) => Object.entries(np.spec.podSelector.matchLabels ?? {})
	.every(([k, v]) => labels[k] === v);
const fromNames = (rule) => (rule.from ?? []).map((f) =>
	f.podSelector?.matchLabels?.["app.kubernetes.io/name"]);
for (const d of workloads.filter((d) => d.metadata.name !== "web")) {
	const n = d.metadata.name;
	const labels = d.spec.template.metadata.labels;
	const nps = policies.filter((np) => npSelects(np, labels));
	const rules = nps.flatMap((np) => np.spec.ingress ?? []);
	const allowed = new Set(rules.flatMap(fromNames));
	const want = labels["app.kubernetes.io/name"] === "train" ? ["web", "train"] : ["web"];
	check(`${n}: a NetworkPolicy admits only ${want.join(" and ")} pods, on port ${PORTS[n]}`,
		nps.length > 0 && nps.every((np) => np.spec.policyTypes.includes("Ingress")) &&
		rules.length > 0 &&
		rules.every((r) => (r.from ?? []).length > 0 && r.from.every((f) =>
			f.podSelector && !f.namespaceSelector && !f.ipBlock)) &&
		allowed.size === want.length && want.every((w) => allowed.has(w)) &&
		rules.every((r) => (r.ports ?? []).length > 0 &&
			r.ports.every((p) => p.port === PORTS[n])),
		JSON.stringify(rules));
}
check("web: no NetworkPolicy closes it (the Ingress and NodePort reach it)",
	!policies.some((np) => npSelects(np, web.spec.template.metadata.labels)));

// The image sets the same paths and user the manifests expect.
const dockerfile = fs.readFileSync(path.join(dir, "..", "Dockerfile"), "utf8");
check("Dockerfile runs as the uid of runAsUser",
	dockerfile.includes(`USER ${web.spec.template.spec.securityContext.runAsUser}`));
for (const v of ["TRAINYARD_DATA_DIR", "TRAINYARD_MODELS_DIR", "TRAINYARD_DB"])
	check(`Dockerfile default ${v} = ConfigMap`,
		dockerfile.includes(`${v}=${cm.data[v]}`));

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
