// Boot Pyodide once (from the npm package), install wheels from local files, run Python cases.
//
//   node tests/pyodide/run_cases.mjs < request.json > results.json
//
// request: {"wheels": [path, ...], "cases": {"name": "python code", ...}}
// results: {"boot_ms": n, "cases": {"name": {"stdout": "...", "value": "...", "error": "..."}}}
// Each case runs in a fresh namespace; "value" is str() of its last expression.
import fs from "node:fs";
import { loadPyodide } from "pyodide";

const request = JSON.parse(fs.readFileSync(0, "utf8"));
const started = Date.now();
const pyodide = await loadPyodide();
const bootMs = Date.now() - started;
for (const wheel of request.wheels) {
  // What micropip does after resolving: unpack the wheel into site-packages.
  pyodide.unpackArchive(new Uint8Array(fs.readFileSync(wheel)), "wheel");
}

let stdout = [];
pyodide.setStdout({ batched: (line) => stdout.push(line) });
const results = {};
for (const [name, code] of Object.entries(request.cases)) {
  stdout = [];
  const namespace = pyodide.globals.get("dict")();
  const result = { stdout: "", value: null, error: null };
  try {
    const value = pyodide.runPython(code, { globals: namespace });
    result.value = value === undefined ? null : String(value);
  } catch (error) {
    result.error = String(error.message || error);
  }
  result.stdout = stdout.join("\n");
  namespace.destroy();
  results[name] = result;
}
process.stdout.write(JSON.stringify({ boot_ms: bootMs, cases: results }));
