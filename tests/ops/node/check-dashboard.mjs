// Type-checks a Grafana dashboard JSON against @grafana/schema with the TypeScript compiler.
//
//   node check-dashboard.mjs deploy/grafana/dashboards/quantd.json
//
// The whole dashboard must satisfy `Dashboard`, and each panel's `options` and
// `fieldConfig.defaults.custom` must satisfy that panel plugin's `Options` / `FieldConfig`
// (timeseries, stat, table, heatmap; any other panel type is an error until added below).
// `satisfies` on an object literal rejects unknown keys and wrong value types. JSON cannot
// hold TypeScript enum members, so the types are first mapped by Json<T>: string enums
// become the union of their string values (number enums accept their numeric values as is).
//
// The checker is also run on deliberately broken copies of the dashboard, each of which must
// fail, so a check that accepts everything cannot go unnoticed.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const file = process.argv[2];
if (!file) {
  console.error("usage: node check-dashboard.mjs DASHBOARD.json");
  process.exit(2);
}
const dashboard = JSON.parse(readFileSync(file, "utf8"));

const cfg = (name, mod) => `@grafana/schema/dist/esm/raw/composable/${name}/panelcfg/x/${mod}_types.gen`;
const PANEL_TYPES = {
  timeseries: { mod: cfg("timeseries", "TimeSeriesPanelCfg"), custom: true },
  stat: { mod: cfg("stat", "StatPanelCfg"), custom: false },
  table: { mod: cfg("table", "TablePanelCfg"), custom: true },
  heatmap: { mod: cfg("heatmap", "HeatmapPanelCfg"), custom: true },
};

function source(d) {
  const lines = [
    `import type { Dashboard } from "@grafana/schema";`,
    ...Object.entries(PANEL_TYPES).map(([t, { mod }]) => `import type * as ${t}_cfg from "${mod}";`),
    `type Json<T> = T extends string ? \`\${T}\``,
    `  : T extends number | boolean | null | undefined ? T`,
    `  : T extends ReadonlyArray<infer U> ? Array<Json<U>>`,
    `  : T extends object ? { [K in keyof T]: Json<T[K]> }`,
    `  : T;`,
    `export const dashboard = (${JSON.stringify(d, null, 2)}) satisfies Json<Dashboard>;`,
  ];
  const problems = [];
  const panels = [];
  for (const p of d.panels ?? []) {
    if (p.type === "row") panels.push(...(p.panels ?? []));
    else panels.push(p);
  }
  panels.forEach((p, i) => {
    const t = PANEL_TYPES[p.type];
    if (!t) {
      problems.push(`panel "${p.title}": type "${p.type}" has no options check in check-dashboard.mjs`);
      return;
    }
    lines.push(`export const options_${i} = (${JSON.stringify(p.options ?? {})}) satisfies Json<${p.type}_cfg.Options>;`);
    const custom = p.fieldConfig?.defaults?.custom;
    if (custom !== undefined) {
      if (!t.custom) problems.push(`panel "${p.title}": ${p.type} panels take no fieldConfig.defaults.custom`);
      else lines.push(`export const custom_${i} = (${JSON.stringify(custom)}) satisfies Json<${p.type}_cfg.FieldConfig>;`);
    }
  });
  return { text: lines.join("\n") + "\n", problems };
}

// Broken copies: each must fail the check.
const clone = () => structuredClone(dashboard);
const firstOf = (d, type) => d.panels.find((p) => p.type === type);
const mutations = {
  "gridPos.w as a string": (d) => { firstOf(d, "timeseries").gridPos.w = "12"; },
  "unknown panel key": (d) => { firstOf(d, "timeseries").legendz = {}; },
  "unknown top-level key": (d) => { d.panelz = []; },
  "graphTooltip out of range": (d) => { d.graphTooltip = 7; },
  "unknown timeseries option": (d) => { firstOf(d, "timeseries").options.legend.bogus = true; },
  "bad heatmap color mode": (d) => { firstOf(d, "heatmap").options.color.mode = "rainbow"; },
  "bad stat text mode": (d) => { firstOf(d, "stat").options.textMode = "loud"; },
  "bad draw style": (d) => { firstOf(d, "timeseries").fieldConfig.defaults.custom.drawStyle = "dots"; },
  "bad variable refresh": (d) => { d.templating.list[1].refresh = 9; },
};

const dir = mkdtempSync(join(here, ".check-"));
let failed = false;
try {
  const files = { "dashboard.ts": source(dashboard) };
  for (const p of files["dashboard.ts"].problems) {
    console.error(`FAIL: ${p}`);
    failed = true;
  }
  const names = Object.keys(mutations);
  names.forEach((name, i) => {
    const d = clone();
    mutations[name](d);
    files[`broken_${i}.ts`] = source(d);
  });
  for (const [f, { text }] of Object.entries(files)) writeFileSync(join(dir, f), text);

  const tsc = join(here, "node_modules", ".bin", "tsc");
  let out = "";
  try {
    out = execFileSync(tsc, ["--noEmit", "--strict", "--skipLibCheck", "--module", "nodenext",
      "--moduleResolution", "nodenext", "--target", "es2022", ...Object.keys(files).map((f) => join(dir, f))],
    { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    out = `${e.stdout ?? ""}${e.stderr ?? ""}`;
  }
  const errorsIn = (f) => out.split("\n").filter((l) => l.includes(f) && /error TS\d+/.test(l));
  const good = errorsIn("dashboard.ts");
  if (good.length) {
    console.error(`FAIL: ${file} does not type-check against @grafana/schema:`);
    for (const l of good) console.error("  " + l.replace(dir + "/", ""));
    failed = true;
  } else {
    console.log(`ok: ${file} satisfies Dashboard and each panel's Options/FieldConfig`);
  }
  names.forEach((name, i) => {
    const errs = errorsIn(`broken_${i}.ts`);
    if (errs.length <= good.length) {
      console.error(`FAIL: a dashboard with "${name}" type-checked: the check is too weak`);
      failed = true;
    } else {
      console.log(`ok: rejected a copy with ${name} (${errs[0].replace(/^.*error /, "error ")})`);
    }
  });
  if (!good.length && out.trim() && !names.some((_, i) => out.includes(`broken_${i}.ts`))) {
    console.error(out);
    failed = true;
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
