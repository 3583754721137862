// The playground's Python: Pyodide in a Web Worker (so a long run never freezes the page,
// and the WebAssembly Graphviz may be compiled synchronously, which browsers allow only off
// the main thread). Everything is loaded from this site: no other network request.
import { loadPyodide } from "./pyodide/pyodide.mjs";

const post = (message) => self.postMessage(message);

async function start() {
  const pyodide = await loadPyodide({ indexURL: new URL("./pyodide/", import.meta.url).href });
  const packages = await fetch(new URL("./chainrule.zip", import.meta.url));
  if (!packages.ok) throw new Error("chainrule.zip: " + packages.status);
  const sitePackages = pyodide.runPython("import sysconfig; sysconfig.get_path('purelib')");
  pyodide.unpackArchive(await packages.arrayBuffer(), "zip", { extractDir: sitePackages });
  const output = (kind) => ({ batched: (text) => post({ type: "output", kind, text }) });
  pyodide.setStdout(output("text"));
  pyodide.setStderr(output("error"));
  const runner = pyodide.pyimport("autograd.playground.runner");
  const version = pyodide.runPython("import sys; sys.version.split()[0]");
  return { runner, version };
}

const ready = start();
ready.then(
  ({ version }) => post({ type: "ready", python: version }),
  (error) => post({ type: "failed", text: String(error && error.message || error) }));

self.onmessage = async (event) => {
  const { runner } = await ready;
  const ok = runner.run(event.data.code, (kind, text) => post({ type: "output", kind, text }));
  post({ type: "done", ok });
};
