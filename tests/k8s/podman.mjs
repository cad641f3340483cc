// The podman overlay of k8s/ for `podman kube play` (tests/k8s/test_k8s.sh).
// podman plays Pods, Deployments, PVCs, ConfigMaps and Secrets; it has no
// Services, kube-dns, HPA or Ingress. This changes only that:
//   - Namespace, Service, HorizontalPodAutoscaler, Ingress and
//     NetworkPolicy are left out (test_k8s.sh checks instead that a worker
//     refuses a caller without the service token);
//   - a StatefulSet of N replicas (train) is played as N Deployments
//     <name>-0 .. <name>-N-1 of one pod each, with the same pod template:
//     podman 4.3 plays no StatefulSets. What a StatefulSet gives its pods
//     is written in: the pod name for a metadata.name fieldRef, $(VAR)
//     references expanded, and a hostAlias <name>-<i>.<serviceName> (the
//     stable name kube-dns would give);
//   - each pod gets a fixed IP on the test network, and every pod gets
//     hostAliases naming each Service after the IPs of the pods it selects
//     (several for the headless train), standing in for kube-dns: the
//     ConfigMap's worker URLs stay unchanged;
//   - envFrom ConfigMaps are written out as env entries, a container's own
//     env winning as on Kubernetes (podman 4.3 lets envFrom win, so
//     a container's own settings would be lost);
//   - container ports are left out, and probes name their port by number:
//     podman 4.3 publishes every containerPort on the host, where
//     train-0 and train-1 would both claim 8082 (and a local run 8080-8083);
//   - emptyDir volumes get a name per Deployment (podman 4.3 makes a named
//     volume of them, which would otherwise be shared by all pods);
//   - the image is the one the test just built;
//   - TRAINYARD_COOKIE_SECURE is 0: the test reaches the web over plain
//     HTTP, as run.sh deploy's overlay does for minikube's NodePort;
//   - the admin Secret that run.sh deploy would create is written to
//     OUT.secret.json for `podman secret create`, as podman 4.3 reads it for
//     secretKeyRef: the Secret's data map in JSON. (A Secret played from the
//     YAML is stored as YAML, which 4.3 then cannot read.) The same for
//     the service token's Secret trainyard-service, in OUT.service.json.
// Everything else (commands, env, ConfigMap, PVCs, probes, securityContext,
// resources) is played as written.
//
//   node tests/k8s/podman.mjs K8S_DIR IMAGE SUBNET_PREFIX ADMIN_PASSWORD OUT SERVICE_TOKEN
// writes OUT (the YAML to play) and prints one line per pod: NAME IP PORT
// READY_PATH, then lines "# ..." saying what was changed.
import fs from "node:fs";
import { render, toYaml } from "./render.mjs";

const [dir, image, prefix, adminPassword, out, serviceToken] = process.argv.slice(2);
if (!serviceToken) {
	console.error("usage: podman.mjs K8S_DIR IMAGE SUBNET_PREFIX ADMIN_PASSWORD OUT SERVICE_TOKEN");
	process.exit(2);
}
const objs = render(dir);
const notes = [];
const dropped = objs.filter((o) =>
	["Namespace", "Service", "HorizontalPodAutoscaler", "Ingress",
		"NetworkPolicy"].includes(o.kind));
notes.push(`left out (podman kube play has no such thing): ${dropped.map((o) =>
	`${o.kind}/${o.metadata.name}`).join(", ")}`);
const stable = []; // [pod name, its stable host name]
for (const o of objs.filter((o) => o.kind === "StatefulSet")) {
	const n = o.spec.replicas ?? 1;
	const at = objs.indexOf(o);
	const pods = [];
	for (let i = 0; i < n; i++) {
		const d = structuredClone(o);
		const name = `${o.metadata.name}-${i}`;
		d.kind = "Deployment";
		d.metadata.name = name;
		d.spec.replicas = 1;
		delete d.spec.serviceName;
		delete d.spec.podManagementPolicy;
		for (const c of d.spec.template.spec.containers) {
			const vals = {};
			for (const e of c.env ?? []) {
				if (e.valueFrom?.fieldRef?.fieldPath === "metadata.name") {
					delete e.valueFrom;
					e.value = name;
				}
				if (typeof e.value === "string")
					e.value = e.value.replace(/\$\(([A-Z0-9_]+)\)/g,
						(m, v) => vals[v] ?? m);
				vals[e.name] = e.value;
			}
		}
		stable.push([name, `${name}.${o.spec.serviceName}`]);
		pods.push(d);
	}
	objs.splice(at, 1, ...pods);
	notes.push(`StatefulSet/${o.metadata.name} played as ${n} Deployments ${pods.map((d) => d.metadata.name).join(", ")}`);
}

const deployments = objs.filter((o) => o.kind === "Deployment");
const ips = new Map();
deployments.forEach((d, i) => ips.set(d.metadata.name, `${prefix}.${11 + i}`));

// Service name -> IPs of the pods whose labels it selects.
const aliases = new Map();
for (const s of objs.filter((o) => o.kind === "Service")) {
	const ds = deployments.filter((d) => Object.entries(s.spec.selector).every(
		([k, v]) => d.spec.template.metadata.labels[k] === v));
	if (!ds.length) throw new Error(`Service ${s.metadata.name} selects no pod`);
	for (const d of ds) {
		const ip = ips.get(d.metadata.name);
		if (!aliases.has(ip)) aliases.set(ip, []);
		aliases.get(ip).push(s.metadata.name);
	}
}
for (const [pod, host] of stable) {
	const ip = ips.get(pod);
	if (!aliases.has(ip)) aliases.set(ip, []);
	aliases.get(ip).push(host);
}
const hostAliases = [...aliases].map(([ip, hostnames]) => ({ ip, hostnames }));
notes.push(`Services as hostAliases: ${hostAliases.map((h) =>
	`${h.hostnames.join("/")}=${h.ip}`).join(" ")}`);

notes.push("envFrom written out as env (a container's own env wins, as on Kubernetes); TRAINYARD_COOKIE_SECURE=0 (plain HTTP)");
notes.push("container ports left out (podman would publish them on the host); probes use port numbers");
const lines = [];
for (const d of deployments) {
	const pod = d.spec.template.spec;
	pod.hostAliases = hostAliases;
	for (const c of pod.containers) c.image = image;
	for (const v of pod.volumes ?? []) {
		if (!v.emptyDir) continue;
		const name = `${d.metadata.name}-${v.name}`;
		for (const c of pod.containers)
			for (const m of c.volumeMounts ?? [])
				if (m.name === v.name) m.name = name;
		notes.push(`emptyDir ${d.metadata.name}/${v.name} named ${name}`);
		v.name = name;
	}
	const c = pod.containers[0];
	const probe = c.readinessProbe.httpGet;
	const port = c.ports.find((p) => p.name === probe.port || p.containerPort === probe.port);
	lines.push(`${d.metadata.name} ${ips.get(d.metadata.name)} ${port.containerPort} ${probe.path}`);
	for (const k of pod.containers) {
		const own = new Set((k.env ?? []).map((e) => e.name));
		for (const ef of k.envFrom ?? []) {
			const cm = objs.find((o) => o.kind === "ConfigMap" &&
				o.metadata.name === ef.configMapRef?.name);
			if (!cm) throw new Error(`envFrom: no ConfigMap ${ef.configMapRef?.name}`);
			for (const [name, value] of Object.entries(cm.data))
				if (!own.has(name)) (k.env ??= []).push({ name, value: String(value) });
		}
		delete k.envFrom;
		// reached over plain HTTP, as run.sh deploy's overlay says
		for (const e of k.env ?? [])
			if (e.name === "TRAINYARD_COOKIE_SECURE") e.value = "0";
		for (const pr of [k.readinessProbe, k.livenessProbe, k.startupProbe]) {
			if (!pr?.httpGet || typeof pr.httpGet.port === "number") continue;
			pr.httpGet.port = k.ports.find((p) => p.name === pr.httpGet.port).containerPort;
		}
		delete k.ports;
	}
}

const secret = {
	data: {
		TRAINYARD_ADMIN_USER: Buffer.from("admin").toString("base64"),
		TRAINYARD_ADMIN_PASSWORD: Buffer.from(adminPassword).toString("base64"),
	},
};
const keep = objs.filter((o) => !dropped.includes(o));
// podman plays in document order: volumes and config before the pods.
const order = ["ConfigMap", "PersistentVolumeClaim", "Deployment"];
const played = keep.sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind));
fs.writeFileSync(out, toYaml(played));
fs.writeFileSync(`${out}.secret.json`, JSON.stringify(secret.data));
fs.writeFileSync(`${out}.service.json`, JSON.stringify({
	TRAINYARD_SERVICE_TOKEN: Buffer.from(serviceToken).toString("base64"),
}));
notes.push("Secrets trainyard-admin and trainyard-service created with podman secret create");
for (const l of lines) console.log(l);
for (const n of notes) console.log(`# ${n}`);
