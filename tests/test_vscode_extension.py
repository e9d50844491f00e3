"""The VS Code extension (``vscode-extension/``) builds, lints, passes its unit
and grammar tests and packages into a .vsix that carries the bundled client.

One test runs every npm step in order, so running the suite in parallel
(``pytest -n 2``) never has two npm processes in the same folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXT = ROOT / "vscode-extension"
#: Written into node_modules after a successful ``npm ci``: the lock file's hash.
STAMP = EXT / "node_modules" / ".volta-package-lock.sha256"

NODE = shutil.which("node")
NPM = shutil.which("npm")


def _npm(*args: str, timings: dict[str, float], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    assert NPM is not None
    env = dict(os.environ, CI="1", NO_UPDATE_NOTIFIER="1", npm_config_fund="false", npm_config_audit="false")
    start = time.monotonic()
    proc = subprocess.run(
        [NPM, *args],
        cwd=EXT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    timings[" ".join(args)] = round(time.monotonic() - start, 1)
    assert proc.returncode == 0, (
        f"npm {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    )
    return proc


def _lock_hash() -> str:
    return hashlib.sha256((EXT / "package-lock.json").read_bytes()).hexdigest()


@pytest.mark.slow
@pytest.mark.skipif(NODE is None or NPM is None, reason="node/npm not installed")
def test_extension_builds_lints_tests_and_packages() -> None:
    timings: dict[str, float] = {}
    # `npm ci` only when node_modules is missing or was installed from another lock file.
    if not STAMP.is_file() or STAMP.read_text(encoding="ascii").strip() != _lock_hash():
        _npm("ci", timings=timings)
        STAMP.write_text(_lock_hash() + "\n", encoding="ascii")
    _npm("run", "build", timings=timings)
    _npm("run", "lint", timings=timings)
    tests = _npm("test", timings=timings)
    assert "# fail 0" in tests.stdout, tests.stdout
    grammar = _npm("run", "test:grammar", timings=timings)
    assert "tests/grammar/blocks.vt" in grammar.stdout, grammar.stdout

    manifest = json.loads((EXT / "package.json").read_text(encoding="utf-8"))
    vsix = EXT / f"{manifest['name']}-{manifest['version']}.vsix"
    vsix.unlink(missing_ok=True)
    _npm("run", "package", timings=timings)
    print("npm step timings (s):", timings)

    assert vsix.is_file()
    with zipfile.ZipFile(vsix) as zf:
        names = set(zf.namelist())
        packaged = json.loads(zf.read("extension/package.json"))
        bundle = zf.read("extension/out/extension.js").decode("utf-8")
    for required in (
        "extension/package.json",
        "extension/syntaxes/volta.tmLanguage.json",
        "extension/language-configuration.json",
        "extension/snippets/volta.json",
        "extension/out/extension.js",
    ):
        assert required in names, sorted(names)
    # Bundled by esbuild: no node_modules, sources or tests in the package.
    assert not any(
        n.startswith(("extension/node_modules/", "extension/src/", "extension/tests/")) for n in names
    )
    assert packaged["main"] == "./out/extension.js"
    assert packaged["contributes"]["grammars"][0]["scopeName"] == "source.volta"
    assert "volta_lsp" in bundle

    # The bundle loads with a stand-in `vscode` module (vscode-languageclient is inside it).
    assert NODE is not None
    loader = (
        "const M=require('module');const load=M._load;"
        "const stub=new Proxy(function(){},{get:(t,p)=>p==='__esModule'?false:stub,apply:()=>stub,construct:()=>stub});"
        "M._load=function(r,...a){return r==='vscode'?stub:load.call(this,r,...a)};"
        "const e=require(process.argv[1]);"
        "process.stdout.write(typeof e.activate+' '+typeof e.deactivate)"
    )
    proc = subprocess.run(
        [NODE, "-e", loader, str(EXT / "out" / "extension.js")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.stdout == "function function", proc.stderr

    # The extension's server check accepts this interpreter, which can start volta_lsp.
    probe = (
        "const i=require(process.argv[1]);"
        "const interp={command:process.argv[2],prefixArgs:[],source:'setting'};"
        "i.checkServerStarts(interp).then(r=>process.stdout.write(JSON.stringify("
        "{check:r,server:i.serverCommand(interp,['--x'])})))"
    )
    proc = subprocess.run(
        [NODE, "-e", probe, str(EXT / "out" / "interpreter.js"), sys.executable],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    result = json.loads(proc.stdout)
    assert result["check"]["ok"], result
    assert result["server"] == {"command": sys.executable, "args": ["-m", "volta_lsp", "--x"]}


def test_the_grammar_highlights_exactly_the_schema_layer_kinds() -> None:
    """The TextMate grammar's list of layer kinds is the schema's (volta_core/check/schema.py)."""
    import re

    from volta_core.check.schema import LAYER_KINDS

    grammar = (EXT / "syntaxes" / "volta.tmLanguage.json").read_text(encoding="utf-8")
    found = re.search(r"\(layer\)\\\\b\(\?:\[ \\\\t\]\+\(\?:\(([a-z_|]+)\)", grammar)
    assert found is not None
    assert set(found.group(1).split("|")) == set(LAYER_KINDS)
