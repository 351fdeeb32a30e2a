// Builds the page into one directory the gateway serves as is:
//   <out>/index.html
//   <out>/assets/app.js, app.css, favicon.svg
// Usage: node build.mjs [OUTDIR]   (or SCE_UI_OUTDIR=...; default ./dist)
import { build } from "esbuild";
import { copyFile, mkdir, readdir, rm } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const src = path.join(here, "src");
const out = path.resolve(process.argv[2] || process.env.SCE_UI_OUTDIR || path.join(here, "dist"));
const assets = path.join(out, "assets");
const ASSETS = ["app.js", "app.css", "favicon.svg"];

await mkdir(assets, { recursive: true });
// Drop stale files in assets/ (ours only ever lives there).
for (const name of await readdir(assets)) {
  if (!ASSETS.includes(name)) await rm(path.join(assets, name), { recursive: true, force: true });
}

const common = { bundle: true, minify: true, logLevel: "warning", legalComments: "none" };
await build({
  ...common,
  entryPoints: [path.join(src, "app.js")],
  outfile: path.join(assets, "app.js"),
  format: "iife",
  target: "es2020",
});
await build({
  ...common,
  entryPoints: [path.join(src, "app.css")],
  outfile: path.join(assets, "app.css"),
  target: ["chrome90", "firefox90", "safari15"],
});
await copyFile(path.join(src, "favicon.svg"), path.join(assets, "favicon.svg"));
await copyFile(path.join(src, "index.html"), path.join(out, "index.html"));
console.log(`sce-ui: built ${out}`);
