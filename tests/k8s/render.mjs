// A small kustomize: renders a kustomization directory into a list of
// objects, with the features k8s/ and its overlays use (resources as files
// or directories, namespace, images, and patches whose patch is a
// strategic-merge YAML of maps, aimed by target kind and name). The test machines have no kustomize;
// where kubectl is installed, validate.mjs checks that this renders exactly
// what `kubectl kustomize` does.
//   node tests/k8s/render.mjs DIR      prints the rendered YAML
import fs from "node:fs";
import path from "node:path";
import { parseAllDocuments, stringify } from "yaml";

const CLUSTER_SCOPED = new Set([
	"Namespace", "PersistentVolume", "StorageClass", "ClusterRole",
	"ClusterRoleBinding", "CustomResourceDefinition", "IngressClass",
	"PriorityClass",
]);
const KNOWN = new Set(["apiVersion", "kind", "metadata", "namespace",
	"resources", "images", "patches"]);

export function parseYaml(text, where) {
	return parseAllDocuments(text).map((d) => {
		if (d.errors.length)
			throw new Error(`${where}: ${d.errors[0].message}`);
		return d.toJS();
	}).filter((o) => o != null);
}

function setImages(obj, images) {
	const pod = obj.spec?.template?.spec ?? obj.spec;
	for (const list of [pod?.containers, pod?.initContainers]) {
		for (const c of list ?? []) {
			const name = c.image.replace(/[:@].*$/, "");
			const im = images.find((i) => i.name === name);
			if (!im) continue;
			c.image = (im.newName ?? name) +
				(im.digest ? "@" + im.digest : im.newTag ? ":" + im.newTag : "");
		}
	}
}

/* Maps merge key by key; anything else is replaced (the cases used here). */
function merge(into, patch) {
	for (const [k, v] of Object.entries(patch)) {
		if (v && typeof v === "object" && !Array.isArray(v) &&
		    into[k] && typeof into[k] === "object" && !Array.isArray(into[k]))
			merge(into[k], v);
		else
			into[k] = v;
	}
}

function applyPatch(objs, p, where) {
	const [patch] = parseYaml(p.patch ?? "", where);
	const t = p.target ?? {};
	const hits = objs.filter((o) => (!t.kind || o.kind === t.kind) &&
		(!t.name || o.metadata.name === t.name));
	if (!patch || !hits.length)
		throw new Error(`${where}: a patch that matches nothing`);
	for (const o of hits) {
		const { apiVersion, kind, metadata, ...rest } = patch;
		merge(o, rest);
	}
}

export function render(dir) {
	const kfile = path.join(dir, "kustomization.yaml");
	const [k] = parseYaml(fs.readFileSync(kfile, "utf8"), kfile);
	for (const key of Object.keys(k))
		if (!KNOWN.has(key))
			throw new Error(`${kfile}: render.mjs does not support '${key}'`);
	let objs = [];
	for (const r of k.resources ?? []) {
		const p = path.join(dir, r);
		if (fs.statSync(p).isDirectory()) objs.push(...render(p));
		else objs.push(...parseYaml(fs.readFileSync(p, "utf8"), p));
	}
	for (const p of k.patches ?? [])
		applyPatch(objs, p, kfile);
	for (const o of objs) {
		if (k.namespace && !CLUSTER_SCOPED.has(o.kind))
			o.metadata.namespace = k.namespace;
		if (k.images) setImages(o, k.images);
	}
	return objs;
}

export function toYaml(objs) {
	return objs.map((o) => stringify(o)).join("---\n");
}

if (process.argv[1] && path.resolve(process.argv[1]) ===
    new URL(import.meta.url).pathname) {
	process.stdout.write(toYaml(render(process.argv[2] ?? "k8s")));
}
