// Schema checks of rendered Kubernetes manifests (kustomize output), offline.
//
//   node validate-k8s.mjs base.yaml edge.yaml
//
// For every document:
//  1. kubernetes-models' runtime validator (JSON schema: required fields, types, enums):
//     core kinds from kubernetes-models, ServiceMonitor from @kubernetes-models/prometheus-operator;
//  2. TypeScript `satisfies I<Kind>` on the object as a literal, which also rejects unknown
//     (e.g. misspelt) fields — the runtime validator lets those through.
// Then both checks run on broken copies of the first Deployment, each of which must fail.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import yaml from "js-yaml";

const here = dirname(fileURLToPath(import.meta.url));
const files = process.argv.slice(2);
if (!files.length) {
  console.error("usage: node validate-k8s.mjs RENDERED.yaml...");
  process.exit(2);
}

function moduleOf(apiVersion) {
  if (apiVersion.startsWith("monitoring.coreos.com/")) return `@kubernetes-models/prometheus-operator/${apiVersion}`;
  return `kubernetes-models/${apiVersion}`;
}

async function runtimeErrors(o) {
  let Cls;
  try {
    Cls = (await import(moduleOf(o.apiVersion)))[o.kind];
  } catch (e) {
    return [`no model for ${o.apiVersion}: ${e.message}`];
  }
  if (!Cls) return [`no model for kind ${o.kind} in ${moduleOf(o.apiVersion)}`];
  try {
    new Cls(o).validate();
    return [];
  } catch (e) {
    return [e.message.split("\n").slice(0, 6).join("\n")];
  }
}

const docs = [];
for (const f of files) {
  for (const o of yaml.loadAll(readFileSync(f, "utf8"))) {
    if (o) docs.push({ file: f, o });
  }
}

// Broken copies.
const deployment = docs.find((d) => d.o.kind === "Deployment");
if (!deployment) {
  console.error("FAIL: no Deployment in the input");
  process.exit(1);
}
const mutations = {
  "misspelt readinessProbez": (o) => {
    const c = o.spec.template.spec.containers[0];
    c.readinessProbez = c.readinessProbe;
    delete c.readinessProbe;
  },
  "replicas: three": (o) => { o.spec.replicas = "three"; },
  "string containerPort": (o) => { o.spec.template.spec.containers[0].ports[0].containerPort = "50051"; },
  "probe without a handler port": (o) => { o.spec.template.spec.containers[0].livenessProbe.grpc = {}; },
};
const broken = Object.entries(mutations).map(([name, mutate]) => {
  const o = structuredClone(deployment.o);
  mutate(o);
  return { name, o };
});

let failed = false;
const label = (d) => `${d.file.split("/").pop()}: ${d.o.kind}/${d.o.metadata?.name}`;

// 1. Runtime validation.
for (const d of docs) {
  const errs = await runtimeErrors(d.o);
  if (errs.length) {
    console.error(`FAIL: ${label(d)}: ${errs.join("; ")}`);
    failed = true;
  } else {
    console.log(`ok: ${label(d)} validates (${moduleOf(d.o.apiVersion)})`);
  }
}
const runtimeCaught = {};
for (const b of broken) runtimeCaught[b.name] = (await runtimeErrors(b.o)).length > 0;

// 2. TypeScript, unknown fields included.
const dir = mkdtempSync(join(here, ".check-"));
try {
  const source = (items) => {
    const kinds = new Map(items.map(({ o }) => [`${o.apiVersion}/${o.kind}`, o]));
    const lines = [...kinds.values()].map((o, i) =>
      `import type { I${o.kind} as T${i} } from "${moduleOf(o.apiVersion)}/${o.kind}";`);
    const idx = new Map([...kinds.keys()].map((k, i) => [k, i]));
    items.forEach(({ o }, i) => {
      lines.push(`export const doc_${i} = (${JSON.stringify(o)}) satisfies T${idx.get(`${o.apiVersion}/${o.kind}`)};`);
    });
    return lines.join("\n") + "\n";
  };
  writeFileSync(join(dir, "manifests.ts"), source(docs));
  broken.forEach((b, i) => writeFileSync(join(dir, `broken_${i}.ts`), source([b])));
  let out = "";
  try {
    out = execFileSync(join(here, "node_modules", ".bin", "tsc"),
      ["--noEmit", "--strict", "--skipLibCheck", "--module", "nodenext", "--moduleResolution", "nodenext",
        "--target", "es2022", join(dir, "manifests.ts"), ...broken.map((_, i) => join(dir, `broken_${i}.ts`))],
      { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    out = `${e.stdout ?? ""}${e.stderr ?? ""}`;
  }
  const errorsIn = (f) => out.split("\n").filter((l) => l.includes(f) && /error TS\d+/.test(l));
  const good = errorsIn("manifests.ts");
  if (good.length) {
    console.error("FAIL: the manifests do not type-check against kubernetes-models (unknown or mistyped fields):");
    for (const l of good) console.error("  " + l.replace(dir + "/", ""));
    failed = true;
  } else {
    console.log(`ok: all ${docs.length} documents satisfy their kubernetes-models types (no unknown fields)`);
  }
  broken.forEach((b, i) => {
    const ts = errorsIn(`broken_${i}.ts`).length > 0;
    if (!ts && !runtimeCaught[b.name]) {
      console.error(`FAIL: a Deployment with ${b.name} passed both checks`);
      failed = true;
    } else {
      console.log(`ok: rejected a Deployment with ${b.name} (${[runtimeCaught[b.name] && "validator", ts && "types"].filter(Boolean).join(" + ")})`);
    }
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
