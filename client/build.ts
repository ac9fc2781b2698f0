// Builds the browser client into dist/client/, which the Worker serves as static assets:
//   app.js (+ .map)   bundle of client/agent/main.tsx (minified ESM, es2022)
//   app.css (+ .map)  the styles main.tsx imports
//   index.html        the SPA shell; unknown paths fall back to it, so asset URLs are absolute
// Run: npm run build. Exits non-zero on any error.

import { createHash } from "node:crypto";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const outdir = join(root, "dist", "client");

function indexHtml(assets: { js: string; css: string }): string {
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>Helpdesk</title>
    <link rel="stylesheet" href="${assets.css}" />
    <script type="module" src="${assets.js}"></script>
  </head>
  <body>
    <div id="app"></div>
    <noscript>The helpdesk needs JavaScript.</noscript>
  </body>
</html>
`;
}

/** `/name?v=<content hash>`: stable file names, but a new URL whenever the content changes. */
async function versioned(name: string): Promise<string> {
  const hash = createHash("sha256")
    .update(await readFile(join(outdir, name)))
    .digest("hex")
    .slice(0, 12);
  return `/${name}?v=${hash}`;
}

async function main(): Promise<void> {
  const started = performance.now();
  await rm(outdir, { recursive: true, force: true });
  await mkdir(outdir, { recursive: true });

  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: { app: "client/agent/main.tsx" },
    outdir,
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    sourcemap: true,
    jsx: "automatic",
    jsxImportSource: "preact",
    tsconfig: "client/tsconfig.json",
    legalComments: "none",
    logLevel: "warning",
    metafile: true,
  });

  const outputs = Object.keys(result.metafile.outputs).map((file) => file.replace(/^dist\/client\//, ""));
  for (const expected of ["app.js", "app.css"]) {
    if (!outputs.includes(expected)) throw new Error(`build: ${expected} was not produced (got ${outputs.join(", ")})`);
  }
  await writeFile(join(outdir, "index.html"), indexHtml({ js: await versioned("app.js"), css: await versioned("app.css") }));

  const sizes = Object.entries(result.metafile.outputs)
    .filter(([file]) => !file.endsWith(".map"))
    .map(([file, output]) => `${file.replace(/^dist\/client\//, "")} ${(output.bytes / 1024).toFixed(1)} kB`);
  console.log(`client built in ${Math.round(performance.now() - started)} ms: ${sizes.join(", ")}, index.html`);
}

try {
  await main();
} catch (error) {
  // esbuild has already printed its diagnostics; anything else is printed here.
  if (!(error instanceof Error && "errors" in error)) console.error(error);
  process.exitCode = 1;
}
