"""The course's JupyterLite: every notebook runnable in the browser, chainrule preinstalled.

The kernel (jupyterlite-pyodide-kernel) runs Pyodide from the site itself: the npm ``pyodide``
runtime in ``lite/static/pyodide/``, with the wheels the kernel needs at start-up (micropip,
ipython, jedi and their pure dependencies, downloaded from the package index and cached),
the three wheels the kernel extension ships, and chainrule's own wheel with its pure
dependencies. ``pyodide-lock.json`` is rewritten to describe those wheels (their own hashes);
every other package of Pyodide's full distribution (numpy, matplotlib, ...) is loaded from
Pyodide's CDN online, or left out offline, where nothing may come from outside the site.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path
from typing import Iterable, Optional

from autograd.playground import PYODIDE_VERSION

#: jupyterlite-core and jupyterlite-pyodide-kernel (the ``[course]`` extra pins the same).
JUPYTERLITE_VERSION = "0.8.6"
#: ``comm``, which the kernel needs and Pyodide's distribution does not have.
COMM_VERSION = "0.2.3"
#: Pyodide's full distribution, for what the site does not bundle (online only).
PYODIDE_CDN = f"https://cdn.jsdelivr.net/pyodide/v{PYODIDE_VERSION}/full/"
#: What the kernel needs at start-up from Pyodide's distribution (their dependencies follow).
STARTUP = ("micropip", "jedi", "ipython")
#: Loaded with Pyodide, before the first cell: the kernel's packages, then chainrule.
PRELOAD = ("micropip", "piplite", "ipykernel", "comm", "pyodide-kernel", "jedi", "ipython",
           "chainrule")
#: The wheels the kernel extension ships (in its ``static/pypi`` folder).
KERNEL_WHEELS = ("ipykernel", "piplite", "pyodide-kernel")
#: The runtime files copied from the npm package (no source maps, types or demo pages).
RUNTIME = ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip",
           "package.json")
#: How micropip evaluates a wheel's dependency markers in Pyodide 314.
PYODIDE_MARKERS = {"sys_platform": "emscripten", "platform_system": "Emscripten",
                   "platform_machine": "wasm32", "python_version": "3.14",
                   "python_full_version": "3.14.2", "implementation_name": "cpython",
                   "os_name": "posix", "extra": ""}
KERNEL_PLUGIN = "@jupyterlite/pyodide-kernel-extension:kernel"


class LiteError(RuntimeError):
    """Something the JupyterLite build needs is missing, or the build failed."""


def normalize(name: str) -> str:
    """A project name as package indexes compare them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def build_lite(output: Path, notebooks: Iterable[Path], runtime: Path, *, offline: bool,
               cache: Path, work: Path) -> list[str]:
    """Write JupyterLite into ``output`` with ``notebooks`` as its files; return the imports
    the bundled wheels provide (what a notebook may import to run offline)."""
    lite_dir = work / "lite"
    pyodide_dir = lite_dir / "static" / "pyodide"
    pyodide_dir.mkdir(parents=True)
    for name in RUNTIME:
        shutil.copyfile(runtime / name, pyodide_dir / name)
    lock = json.loads((runtime / "pyodide-lock.json").read_text(encoding="utf-8"))
    wheels = [*startup_wheels(lock, cache), *kernel_wheels(), chainrule_wheel(work)]
    for wheel in wheels:
        shutil.copyfile(wheel, pyodide_dir / wheel.name)
    lock = patched_lock(lock, [pyodide_dir / w.name for w in wheels], offline=offline)
    (pyodide_dir / "pyodide-lock.json").write_text(json.dumps(lock, indent=1), encoding="utf-8")
    settings = {"loadPyodideOptions": {"packages": list(PRELOAD)},
                "disablePyPIFallback": offline}
    config = {"jupyter-lite-schema-version": 0,
              "jupyter-config-data": {"litePluginSettings": {KERNEL_PLUGIN: settings}}}
    (lite_dir / "jupyter-lite.json").write_text(json.dumps(config, indent=1), encoding="utf-8")
    # Every cell rendered, not only those in view: a lesson is read (and searched) whole.
    overrides = {"@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"}}
    (lite_dir / "overrides.json").write_text(json.dumps(overrides, indent=1), encoding="utf-8")
    contents = work / "contents"
    contents.mkdir()
    for notebook in notebooks:
        shutil.copyfile(notebook, contents / notebook.name)
    command = [sys.executable, "-m", "jupyter", "lite", "build", "--lite-dir", str(lite_dir),
               "--contents", str(contents), "--output-dir", str(output), "--apps", "lab",
               "--no-sourcemaps", "--no-unused-shared-packages"]
    done = subprocess.run(command, cwd=work, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-15:])
        raise LiteError(f"'jupyter lite build' failed:\n{tail}")
    local = [entry for entry in lock["packages"].values() if "://" not in entry["file_name"]]
    return sorted({name for entry in local for name in entry["imports"]})


def startup_closure(lock: dict, names: Iterable[str]) -> list[dict]:
    """The lock's entries for ``names`` and everything they depend on."""
    by_name = {normalize(key): entry for key, entry in lock["packages"].items()}
    found: dict[str, dict] = {}
    todo = [normalize(n) for n in names]
    while todo:
        name = todo.pop()
        if name not in found:
            found[name] = by_name[name]
            todo.extend(normalize(d) for d in by_name[name]["depends"])
    return [found[name] for name in sorted(found)]


def startup_wheels(lock: dict, cache: Path) -> list[Path]:
    """The pure wheels of the kernel's start-up packages (the versions Pyodide's lock names),
    comm, and chainrule's dependencies under Pyodide: from ``cache``, else the package index."""
    pins = {normalize(e["name"]): e["version"] for e in startup_closure(lock, STARTUP)}
    pins["comm"] = COMM_VERSION
    for requirement in pyodide_requirements(metadata.requires("chainrule") or []):
        pins[requirement] = metadata.version(requirement)
    cache.mkdir(parents=True, exist_ok=True)
    missing = [f"{name}=={version}" for name, version in pins.items()
               if cached(cache, name, version) is None]
    if missing:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                   "--python-version", PYODIDE_MARKERS["python_version"], "-q",
                   "--disable-pip-version-check", "-d", str(cache), *missing]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise LiteError(f"cannot download the kernel's wheels {' '.join(missing)} from "
                            f"the package index: {done.stderr.strip().splitlines()[-1:]}")
    wheels = [cached(cache, name, version) for name, version in pins.items()]
    bad = [pin for pin, wheel in zip(pins, wheels) if wheel is None
           or not wheel.name.endswith("-none-any.whl")]
    if bad:
        raise LiteError(f"no pure-Python wheel for {', '.join(bad)} in {cache}")
    return wheels


def cached(cache: Path, name: str, version: str) -> Optional[Path]:
    """The wheel of ``name`` ``version`` in ``cache``, if it is there."""
    for wheel in sorted(cache.glob("*.whl")):
        project, found_version = wheel.name.split("-")[:2]
        if normalize(project) == normalize(name) and found_version == version:
            return wheel
    return None


def pyodide_requirements(requires: Iterable[str]) -> list[str]:
    """The names in ``requires`` (Requires-Dist lines) whose markers hold under Pyodide."""
    from packaging.requirements import Requirement

    names = []
    for line in requires:
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate(PYODIDE_MARKERS):
            names.append(normalize(requirement.name))
    return names


def kernel_wheels() -> list[Path]:
    """The kernel extension's own wheels (ipykernel's Pyodide stand-in, piplite, the kernel)."""
    from jupyter_core.paths import jupyter_path

    for folder in jupyter_path("labextensions"):
        pypi = Path(folder) / "@jupyterlite" / "pyodide-kernel-extension" / "static" / "pypi"
        wheels = [next(iter(sorted(pypi.glob(f"{n.replace('-', '_')}-*.whl"))), None)
                  for n in KERNEL_WHEELS]
        if all(wheels):
            return wheels
    raise LiteError("the JupyterLite Pyodide kernel is not installed: "
                    "pip install 'chainrule[course]'")


def chainrule_wheel(folder: Path) -> Path:
    """A wheel of the chainrule installed here (its ``autograd`` and ``nn`` packages as
    imported, so a checkout's own code), written into ``folder``."""
    import autograd
    import nn

    version = metadata.version("chainrule")
    dist_info = f"chainrule-{version}.dist-info"
    requires = "".join(f"Requires-Dist: {r}\n" for r in metadata.requires("chainrule") or [])
    files = {f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: chainrule\n"
                                      f"Version: {version}\n{requires}",
             f"{dist_info}/WHEEL": "Wheel-Version: 1.0\nGenerator: chainrule course\n"
                                   "Root-Is-Purelib: true\nTag: py3-none-any\n",
             f"{dist_info}/top_level.txt": "autograd\nnn\n"}
    path = folder / f"chainrule-{version}-py3-none-any.whl"
    record = []
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for package in (Path(autograd.__file__).parent, Path(nn.__file__).parent):
            for file in sorted(package.rglob("*")):
                if file.is_file() and "__pycache__" not in file.parts:
                    name = (Path(package.name) / file.relative_to(package)).as_posix()
                    files[name] = file.read_bytes()
        for name, data in files.items():
            data = data.encode("utf-8") if isinstance(data, str) else data
            archive.writestr(name, data)
            record.append(f"{name},sha256={_urlsafe_sha256(data)},{len(data)}")
        archive.writestr(f"{dist_info}/RECORD", "\n".join([*record, f"{dist_info}/RECORD,,"]))
    return path


def _urlsafe_sha256(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def patched_lock(lock: dict, wheels: list[Path], *, offline: bool) -> dict:
    """Pyodide's lock with ``wheels`` (in the runtime's folder) as the packages they provide.

    Their entries carry the wheels' own file names and hashes (the index's builds differ from
    Pyodide's); a wheel Pyodide has no entry for gets one from its metadata. Every other entry
    points at Pyodide's CDN, or, ``offline``, is dropped (with what depends on it).
    """
    packages = {normalize(k): dict(v) for k, v in lock["packages"].items()}
    local = set()
    for wheel in wheels:
        info = wheel_metadata(wheel)
        name = normalize(info["name"])
        entry = packages.get(name) or {
            "name": name, "install_dir": "site", "package_type": "package",
            "unvendored_tests": False, "tool": {},
            "imports": info["imports"], "depends": info["depends"]}
        entry.update(version=info["version"], file_name=wheel.name,
                     sha256=hashlib.sha256(wheel.read_bytes()).hexdigest())
        packages[name] = entry
        local.add(name)
    for name, entry in list(packages.items()):
        if name not in local:
            if offline:
                del packages[name]
            else:
                entry["file_name"] = PYODIDE_CDN + entry["file_name"]
    for entry in packages.values():
        entry["depends"] = [d for d in entry["depends"] if normalize(d) in packages]
    return {**lock, "packages": packages}


def wheel_metadata(wheel: Path) -> dict:
    """A wheel's name, version, top-level imports and dependencies under Pyodide."""
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        meta = next(n for n in names if n.endswith(".dist-info/METADATA"))
        lines = archive.read(meta).decode("utf-8").splitlines()
    fields: dict[str, list[str]] = {}
    for line in lines:
        if not line.strip():
            break       # the description follows the headers
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), []).append(value.strip())
    imports = sorted({n.split("/")[0].removesuffix(".py") for n in names
                      if not n.split("/")[0].endswith((".dist-info", ".data"))
                      and (n.endswith(".py") or "/" in n)})
    return {"name": fields["Name"][0], "version": fields["Version"][0], "imports": imports,
            "depends": pyodide_requirements(fields.get("Requires-Dist", []))}
