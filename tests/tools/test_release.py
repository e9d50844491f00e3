"""``python -m tools.release`` end to end, in small temporary git repositories.

Each repository is a minimal project (a pyproject.toml, a one-module package
with ``__version__``, a .gitignore, a changelog), never a copy of Volta, so a
cut builds in a couple of seconds. The build runs ``python -m build
--no-isolation`` so no network is needed.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# `tools` is repository tooling, not an installed package: import it from the checkout.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
release = importlib.import_module("tools.release")
BUILD = "{python} -m build --no-isolation --sdist --wheel --outdir {outdir} ."

PYPROJECT = f"""\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "tinyvolta"
version = "0.1.0"
description = "A fixture for the release tool tests"
requires-python = ">=3.11"

[tool.setuptools]
packages = ["tinyvolta"]

[tool.volta.release]
gates = []
build = "{BUILD}"
version-files = ["tinyvolta/__init__.py"]
"""

CHANGELOG = """\
# Changelog

## [Unreleased]

### Added

- A hand-written note about the greeting.

## [0.1.0] - 2024-01-01

- First release.
"""

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(repo: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True)
    return proc.stdout.strip()


def make_repo(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (path / "tinyvolta").mkdir()
    (path / "tinyvolta" / "__init__.py").write_text('"""Tiny."""\n\n__version__ = "0.1.0"\n', encoding="utf-8")
    (path / ".gitignore").write_text("dist/\nbuild/\n*.egg-info/\n__pycache__/\n", encoding="utf-8")
    (path / "CHANGELOG.md").write_text(CHANGELOG, encoding="utf-8")
    git(path, "init", "-q", "-b", "main")
    for key, value in (("user.name", "Release Test"), ("user.email", "release@example.invalid"),
                       ("commit.gpgsign", "false"), ("tag.gpgsign", "false"), ("core.autocrlf", "false")):
        git(path, "config", key, value)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "Initial project")
    git(path, "tag", "-a", "v0.1.0", "-m", "Release 0.1.0")
    (path / "tinyvolta" / "greet.py").write_text("def greet() -> str:\n    return 'hi'\n", encoding="utf-8")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "Add a greeting")
    (path / "tinyvolta" / "greet.py").write_text("def greet() -> str:\n    return 'hello'\n", encoding="utf-8")
    git(path, "commit", "-q", "-am", "Fix the greeting")
    return path


@dataclass
class Run:
    code: int
    out: str
    err: str


def tool(capsys: pytest.CaptureFixture[str], repo: Path, *argv: str) -> Run:
    capsys.readouterr()
    code = release.main(["--root", str(repo), *argv])
    out, err = capsys.readouterr()
    return Run(code, out, err)


def version_of(repo: Path) -> str:
    return str(tomllib.loads((repo / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"])


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """A repository after ``cut 0.2.0`` with a trivial gate, and the cut's stdout."""
    repo = make_repo(tmp_path_factory.mktemp("released") / "repo")
    proc = subprocess.run(
        [sys.executable, "-m", "tools.release", "--root", str(repo), "cut", "0.2.0", "--skip-vsix",
         "--gate", "{python} -c pass"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    yield repo, proc.stdout


def copy_repo(repo: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(repo, target)
    return target


# ---------------------------------------------------------------- cut


def test_cut_builds_artifacts_with_checksums(released: tuple[Path, str]) -> None:
    repo, out = released
    assert "gate `{python} -c pass`" in out
    names = sorted(p.name for p in (repo / "dist").iterdir())
    assert names == ["SHA256SUMS", "tinyvolta-0.2.0-py3-none-any.whl", "tinyvolta-0.2.0.tar.gz"]
    lines = (repo / "dist" / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    for line in lines:
        digest, name = line.split("  ")
        assert hashlib.sha256((repo / "dist" / name).read_bytes()).hexdigest() == digest


def test_cut_bumps_versions_commits_and_tags(released: tuple[Path, str]) -> None:
    repo, _ = released
    assert version_of(repo) == "0.2.0"
    assert '__version__ = "0.2.0"' in (repo / "tinyvolta" / "__init__.py").read_text(encoding="utf-8")
    assert git(repo, "log", "-1", "--format=%s") == "Release 0.2.0"
    assert git(repo, "cat-file", "-t", "v0.2.0") == "tag"  # annotated
    assert git(repo, "rev-list", "-n", "1", "v0.2.0") == git(repo, "rev-parse", "HEAD")
    assert git(repo, "status", "--porcelain") == ""
    changed = git(repo, "show", "--name-only", "--format=", "HEAD").splitlines()
    assert sorted(changed) == ["CHANGELOG.md", "pyproject.toml", "tinyvolta/__init__.py"]


def test_cut_writes_a_keep_a_changelog_section(released: tuple[Path, str]) -> None:
    repo, _ = released
    text = (repo / "CHANGELOG.md").read_text(encoding="utf-8")
    unreleased = text.index("## [Unreleased]")
    section = text.index("## [0.2.0] - ")
    assert unreleased < section < text.index("## [0.1.0] - 2024-01-01")
    body = text[section : text.index("## [0.1.0]")]
    # Unreleased notes move into the release; commits since v0.1.0 are sorted by kind.
    assert "- A hand-written note about the greeting.\n- Add a greeting" in body
    assert "### Fixed\n\n- Fix the greeting" in body
    assert "Initial project" not in body
    assert text[unreleased:section].strip() == "## [Unreleased]"


def test_cut_refuses_a_dirty_tree(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo(tmp_path / "repo")
    (repo / "notes.txt").write_text("scratch\n", encoding="utf-8")
    run = tool(capsys, repo, "cut", "0.2.0", "--skip-gates", "--skip-vsix")
    assert run.code == 1
    assert "working tree is not clean" in run.err and "notes.txt" in run.err
    assert version_of(repo) == "0.1.0"


@pytest.mark.parametrize(("version", "message"), [
    ("0.1.0", "not greater than the current version 0.1.0"),
    ("0.0.9", "not greater than the current version 0.1.0"),
    ("banana", "not a valid version"),
    ("1.0.0-rc1", "write it as `1.0.0rc1`"),
])
def test_cut_refuses_bad_versions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], version: str, message: str,
) -> None:
    repo = make_repo(tmp_path / "repo")
    run = tool(capsys, repo, "cut", version, "--skip-gates", "--skip-vsix")
    assert run.code == 1
    assert message in run.err
    assert "Traceback" not in run.err
    assert git(repo, "status", "--porcelain") == "" and version_of(repo) == "0.1.0"


def test_cut_refuses_a_detached_head(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo(tmp_path / "repo")
    git(repo, "checkout", "-q", "--detach")
    run = tool(capsys, repo, "cut", "0.2.0", "--skip-gates", "--skip-vsix")
    assert run.code == 1 and "detached" in run.err


def test_a_failing_gate_stops_before_any_change(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo(tmp_path / "repo")
    run = tool(capsys, repo, "cut", "0.2.0", "--skip-vsix", "--gate", "{python} -c 'raise SystemExit(3)'")
    assert run.code == 1
    assert "failed (exit 3)" in run.err and "--skip-gates" in run.err
    assert git(repo, "status", "--porcelain") == "" and not (repo / "dist").exists()


def test_a_failing_build_restores_the_version_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo(tmp_path / "repo")
    run = tool(capsys, repo, "cut", "0.2.0", "--skip-gates", "--skip-vsix",
               "--build-command", "{python} -c 'raise SystemExit(2)'")
    assert run.code == 1 and "the build failed" in run.err
    assert git(repo, "status", "--porcelain") == ""
    assert version_of(repo) == "0.1.0"
    assert git(repo, "tag", "--list", "v0.2.0") == ""


def test_missing_npm_names_the_skip_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    repo = make_repo(tmp_path / "repo")
    (repo / "vscode-extension").mkdir()
    (repo / "vscode-extension" / "package.json").write_text('{\n  "version": "0.1.0"\n}\n', encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "Add an extension")
    monkeypatch.setattr(release, "npm_program", lambda: None)
    run = tool(capsys, repo, "cut", "0.2.0", "--skip-gates")
    assert run.code == 1
    assert "npm was not found" in run.err and "--skip-vsix" in run.err


@pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed")
def test_cut_packages_the_extension(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo(tmp_path / "repo")
    ext = repo / "vscode-extension"
    ext.mkdir()
    # A stand-in for `vsce package`: writes NAME-VERSION.vsix like vsce does.
    script = "const p=require('./package.json');require('fs').writeFileSync(p.name+'-'+p.version+'.vsix','vsix')"
    package = {"name": "tinyvolta", "version": "0.1.0", "scripts": {"package": f'node -e "{script}"'}}
    (ext / "package.json").write_text(json.dumps(package, indent=2) + "\n", encoding="utf-8")
    lock = {"name": "tinyvolta", "version": "0.1.0", "lockfileVersion": 3,
            "packages": {"": {"name": "tinyvolta", "version": "0.1.0"}}}
    (ext / "package-lock.json").write_text(json.dumps(lock, indent=2) + "\n", encoding="utf-8")
    with (repo / ".gitignore").open("a", encoding="utf-8") as handle:
        handle.write("*.vsix\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "Add an extension")
    run = tool(capsys, repo, "cut", "0.2.0", "--skip-gates")
    assert run.code == 0, run.out + run.err
    assert (repo / "dist" / "tinyvolta-0.2.0.vsix").read_text(encoding="utf-8") == "vsix"
    assert "tinyvolta-0.2.0.vsix" in (repo / "dist" / "SHA256SUMS").read_text(encoding="utf-8")
    assert json.loads((ext / "package.json").read_text(encoding="utf-8"))["version"] == "0.2.0"
    new_lock = json.loads((ext / "package-lock.json").read_text(encoding="utf-8"))
    assert new_lock["version"] == new_lock["packages"][""]["version"] == "0.2.0"
    assert git(repo, "status", "--porcelain") == ""


# ---------------------------------------------------------------- rollback


def test_rollback_verify_only_after_a_cut(released: tuple[Path, str], capsys: pytest.CaptureFixture[str]) -> None:
    repo, _ = released
    head = git(repo, "rev-parse", "HEAD")
    run = tool(capsys, repo, "rollback", "--verify-only")
    assert run.code == 0, run.err
    assert "release commit" in run.out and "(HEAD)" in run.out
    assert "restores version 0.1.0 (tag v0.1.0)" in run.out
    assert "tinyvolta-0.2.0.tar.gz" in run.out and "rollback: possible" in run.out
    assert git(repo, "rev-parse", "HEAD") == head and git(repo, "tag", "--list", "v0.2.0") == "v0.2.0"
    assert tool(capsys, repo, "rollback", "--verify-only", "0.2.0").code == 0


def test_rollback_verify_only_fails_on_a_tampered_artifact(
    released: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    repo = copy_repo(released[0], tmp_path)
    with (repo / "dist" / "tinyvolta-0.2.0.tar.gz").open("ab") as handle:
        handle.write(b"\0")
    run = tool(capsys, repo, "rollback", "--verify-only")
    assert run.code == 1
    assert "tinyvolta-0.2.0.tar.gz does not match its SHA-256" in run.err
    assert "Traceback" not in run.err


def test_rollback_verify_only_fails_without_the_tag(
    released: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    repo = copy_repo(released[0], tmp_path)
    git(repo, "tag", "-d", "v0.2.0")
    run = tool(capsys, repo, "rollback", "--verify-only")
    assert run.code == 1 and "tag v0.2.0 does not exist" in run.err


def test_rollback_verify_only_fails_off_the_release_line(
    released: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    repo = copy_repo(released[0], tmp_path)
    git(repo, "checkout", "-q", "-b", "other", "v0.1.0")
    run = tool(capsys, repo, "rollback", "--verify-only", "0.2.0")
    assert run.code == 1 and "not HEAD or an ancestor of HEAD" in run.err


def test_rollback_reverts_the_release(
    released: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    repo = copy_repo(released[0], tmp_path)
    run = tool(capsys, repo, "rollback", "0.2.0")
    assert run.code == 0, run.err
    assert version_of(repo) == "0.1.0"
    assert git(repo, "tag", "--list", "v0.2.0") == ""
    assert not (repo / "dist" / "SHA256SUMS").exists()
    assert git(repo, "status", "--porcelain") == ""


# ---------------------------------------------------------------- command line


def test_help_and_errors_as_a_process(tmp_path: Path) -> None:
    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "tools.release", *argv], cwd=ROOT,
                              capture_output=True, text=True, timeout=60, check=False)

    helped = run("--help")
    assert helped.returncode == 0 and "cut" in helped.stdout and "rollback" in helped.stdout
    assert "--skip-vsix" in run("cut", "--help").stdout
    assert "--verify-only" in run("rollback", "--help").stdout
    for argv in (("--root", str(tmp_path), "cut", "0.2.0"), ("cut",), ("frobnicate",),
                 ("--root", str(tmp_path), "rollback", "--verify-only")):
        proc = run(*argv)
        assert proc.returncode == 1, argv
        assert "release: error:" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


def test_changelog_is_created_when_missing() -> None:
    section = release.changelog_section("1.0.0", "2025-01-02", ["Remove the old flag", "Polish docs"], "")
    text = release.update_changelog(None, section)
    assert text.startswith("# Changelog")
    assert "## [Unreleased]\n\n## [1.0.0] - 2025-01-02\n\n### Changed\n\n- Polish docs\n\n### Removed\n" in text
