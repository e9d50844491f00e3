"""Cut a Volta release, or check that one can be rolled back.

    python -m tools.release cut VERSION [--skip-vsix] [--skip-gates]
    python -m tools.release rollback --verify-only [VERSION]

Pure Python on purpose: it runs the same on Linux, macOS and Windows
(``pathlib`` paths, ``subprocess`` with argument lists, no shell). Every
failure is one ``release: error: …`` message with exit status 1, never a
traceback (``--debug`` shows the traceback of an unexpected failure).

``cut`` validates everything it can before changing anything (version,
clean tree, branch, tag, tools), then runs the gates, bumps the version
files, builds the artifacts, writes ``dist/SHA256SUMS`` and a changelog
section, commits ``Release VERSION`` and creates the annotated tag
``vVERSION``. A failure after the version bump restores the files it
edited, so a failed cut leaves the tree as it found it.

Configuration, all optional, in ``pyproject.toml``::

    [tool.volta.release]
    gates = ["{python} -m ruff check .", "{python} -m mypy"]   # strings or argument lists
    build = "{python} -m build --outdir {outdir} ."
    version-files = ["volta_core/__init__.py"]

``{python}`` is the running interpreter and ``{outdir}`` the directory the
build writes to; ``--gate`` and ``--build-command`` override the file.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import tomllib
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from packaging.version import InvalidVersion, Version

DEFAULT_GATES: tuple[str, ...] = (
    "{python} -m ruff check .",
    "{python} -m mypy",
    "{python} -m pytest -n 2",
)
DEFAULT_BUILD = "{python} -m build --sdist --wheel --outdir {outdir} ."
DEFAULT_VERSION_FILES: tuple[str, ...] = ("volta_core/__init__.py",)
EXTENSION_DIR = "vscode-extension"
DIST = "dist"
SUMS = "SHA256SUMS"
CHANGELOG = "CHANGELOG.md"

CHANGELOG_HEADER = """\
# Changelog

All notable changes to Volta are documented in this file. The format is based
on [Keep a Changelog](https://keepachangelog.com/en/1.1.0/), and versions
follow [PEP 440](https://peps.python.org/pep-0440/).

## [Unreleased]
"""
# Keep a Changelog's categories, in its order.
CATEGORIES = ("Added", "Changed", "Deprecated", "Removed", "Fixed", "Security")


class ReleaseError(Exception):
    """A release step cannot go on; ``helps`` are printed as ``help:`` lines."""

    def __init__(self, message: str, *helps: str) -> None:
        super().__init__(message)
        self.helps = helps


def say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


# --------------------------------------------------------------------------
# processes


def run_process(
    argv: Sequence[str], cwd: Path, *, capture: bool = True, what: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` (never through a shell); a missing program is a ReleaseError."""
    try:
        return subprocess.run(
            list(argv), cwd=cwd, check=False, text=True, encoding="utf-8", errors="replace",
            capture_output=capture, stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        raise ReleaseError(
            f"cannot run `{what or shlex.join(argv)}`: `{argv[0]}` was not found on PATH",
        ) from None
    except OSError as exc:
        raise ReleaseError(f"cannot run `{what or shlex.join(argv)}`: {exc.strerror or exc}") from None


def git(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = run_process(["git", *args], root)
    if check and proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise ReleaseError(f"`git {' '.join(args)}` failed: {detail[-1] if detail else f'exit {proc.returncode}'}")
    return proc


def git_out(root: Path, *args: str) -> str:
    return git(root, *args).stdout.strip()


def expand_command(command: str | Sequence[str], outdir: Path | None = None) -> list[str]:
    """Split a configured command (POSIX quoting) and fill in ``{python}``/``{outdir}``."""
    parts = shlex.split(command) if isinstance(command, str) else list(command)
    values = {"{python}": sys.executable, "{outdir}": str(outdir) if outdir else ""}
    return [values.get(p, p) for p in parts]


# --------------------------------------------------------------------------
# project configuration and versions


@dataclass(slots=True)
class Project:
    root: Path
    pyproject: dict[str, Any]
    gates: list[str | list[str]]
    build: str | list[str]
    version_files: list[str]

    @property
    def version(self) -> str:
        version = self.pyproject.get("project", {}).get("version")
        if not isinstance(version, str):
            raise ReleaseError("pyproject.toml has no static `[project] version`")
        return version

    @property
    def name(self) -> str:
        return str(self.pyproject.get("project", {}).get("name", ""))


def load_project(root: Path) -> Project:
    path = root / "pyproject.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReleaseError(f"no pyproject.toml in `{root}`", "run from the repository root or pass --root")
    except tomllib.TOMLDecodeError as exc:
        raise ReleaseError(f"pyproject.toml is not valid TOML: {exc}")
    config = data.get("tool", {}).get("volta", {}).get("release", {})
    if not isinstance(config, dict):
        raise ReleaseError("`[tool.volta.release]` in pyproject.toml must be a table")
    gates = config.get("gates", list(DEFAULT_GATES))
    build = config.get("build", DEFAULT_BUILD)
    version_files = config.get("version-files", list(DEFAULT_VERSION_FILES))
    if not isinstance(gates, list) or not all(isinstance(g, str | list) for g in gates):
        raise ReleaseError("`[tool.volta.release] gates` must be a list of commands")
    if not isinstance(build, str | list):
        raise ReleaseError("`[tool.volta.release] build` must be a command")
    if not isinstance(version_files, list) or not all(isinstance(v, str) for v in version_files):
        raise ReleaseError("`[tool.volta.release] version-files` must be a list of paths")
    return Project(root, data, gates, build, version_files)


def parse_version(text: str, what: str = "version") -> Version:
    """A PEP 440 version in its normalised spelling (so the tag is unambiguous)."""
    try:
        version = Version(text)
    except InvalidVersion:
        raise ReleaseError(
            f"`{text}` is not a valid {what}: versions follow PEP 440",
            "examples: 1.2.0, 1.2.0rc1, 1.2.0.post1, 1.3.0.dev2",
        ) from None
    if str(version) != text:
        raise ReleaseError(f"`{text}` is not in normalised PEP 440 form", f"write it as `{version}`")
    return version


_PYPROJECT_VERSION = re.compile(r'^(version\s*=\s*)(["\'])([^"\']*)\2', re.M)
_PY_VERSION = re.compile(r'^(__version__\s*=\s*)(["\'])([^"\']*)\2', re.M)
_JSON_VERSION = re.compile(r'^(\s*"version"\s*:\s*")([^"]*)(")', re.M)


def bump_pyproject(text: str, new: str) -> str:
    """Replace ``version`` inside the ``[project]`` table only."""
    start = re.search(r"^\[project\]\s*$", text, re.M)
    if start is None:
        raise ReleaseError("pyproject.toml has no `[project]` table")
    end_match = re.compile(r"^\[", re.M).search(text, start.end())
    end = end_match.start() if end_match else len(text)
    section, count = _PYPROJECT_VERSION.subn(lambda m: f"{m[1]}{m[2]}{new}{m[2]}", text[start.end():end], count=1)
    if count != 1:
        raise ReleaseError("cannot find `version = \"…\"` in the `[project]` table of pyproject.toml")
    return text[: start.end()] + section + text[end:]


def bump_python(text: str, new: str, path: str) -> str:
    out, count = _PY_VERSION.subn(lambda m: f"{m[1]}{m[2]}{new}{m[2]}", text, count=1)
    if count != 1:
        raise ReleaseError(f"cannot find `__version__ = \"…\"` in {path}")
    return out


def bump_json(text: str, new: str, path: str, keys: Sequence[Sequence[str]]) -> str:
    """Replace the first ``len(keys)`` ``"version"`` fields and check they are ``keys``."""
    out, count = _JSON_VERSION.subn(lambda m: f"{m[1]}{new}{m[3]}", text, count=len(keys))
    try:
        data = json.loads(out)
        for key in keys:
            node: Any = data
            for part in key:
                node = node[part]
            if node != new:
                raise KeyError(key)
    except (ValueError, KeyError, TypeError):
        count = -1
    if count != len(keys):
        raise ReleaseError(f"cannot update the version in {path}: unexpected layout")
    return out


def python_version_of(text: str) -> str | None:
    match = _PY_VERSION.search(text)
    return match[3] if match else None


# --------------------------------------------------------------------------
# files that a cut edits, restored on failure


@dataclass(slots=True)
class Edits:
    root: Path
    originals: dict[Path, str | None] = field(default_factory=dict)

    def write(self, rel: str, text: str) -> None:
        path = self.root / rel
        if path not in self.originals:
            self.originals[path] = read_text(path) if path.exists() else None
        write_text(path, text)

    def restore(self) -> None:
        for path, original in self.originals.items():
            if original is None:
                path.unlink(missing_ok=True)
            else:
                write_text(path, original)

    @property
    def paths(self) -> list[str]:
        return [path.relative_to(self.root).as_posix() for path in self.originals]


def read_text(path: Path) -> str:
    # newline="" keeps the file's own line endings (CRLF on a Windows checkout).
    with path.open(encoding="utf-8", newline="") as handle:
        return handle.read()


def write_text(path: Path, text: str) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(text)


# --------------------------------------------------------------------------
# checksums


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_sums(dist: Path, artifacts: Sequence[Path]) -> Path:
    lines = [f"{sha256_of(p)}  {p.name}\n" for p in sorted(artifacts, key=lambda p: p.name)]
    path = dist / SUMS
    path.write_text("".join(lines), encoding="utf-8", newline="\n")
    return path


def read_sums(path: Path) -> list[tuple[str, str]]:
    entries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        match = re.fullmatch(r"([0-9a-f]{64}) [ *](.+)", line.strip())
        if match is None:
            raise ReleaseError(f"{DIST}/{SUMS} line {number} is not `<sha256>  <file>`")
        entries.append((match[1], match[2]))
    return entries


# --------------------------------------------------------------------------
# changelog


def categorise(subject: str) -> str:
    """Keep a Changelog category for a commit subject (a heuristic on its first word)."""
    word = re.split(r"[\s:(!]", subject.strip().lower(), maxsplit=1)[0]
    if word in {"fix", "fixes", "fixed", "bugfix", "hotfix"}:
        return "Fixed"
    if word in {"remove", "removes", "removed", "drop", "drops", "delete"}:
        return "Removed"
    if word in {"deprecate", "deprecates", "deprecated"}:
        return "Deprecated"
    if word in {"security", "sec"}:
        return "Security"
    if word in {"add", "adds", "added", "feat", "feature", "new", "introduce", "support"}:
        return "Added"
    return "Changed"


def last_tag(root: Path, before: str = "HEAD") -> str | None:
    proc = git(root, "describe", "--tags", "--abbrev=0", "--match", "v*", before, check=False)
    if proc.returncode != 0:
        return None
    return proc.stdout.strip() or None


def commits_since(root: Path, tag: str | None) -> list[str]:
    """Commit subjects since ``tag`` (all history without one), oldest first."""
    if git(root, "rev-parse", "-q", "--verify", "HEAD", check=False).returncode != 0:
        return []
    rng = f"{tag}..HEAD" if tag else "HEAD"
    out = git_out(root, "log", "--reverse", "--no-merges", "--format=%s", rng)
    return [s for s in out.splitlines() if s.strip() and not re.fullmatch(r"Release \S+", s.strip())]


def changelog_section(version: str, date: str, subjects: Sequence[str], unreleased: str) -> str:
    """The ``## [VERSION] - DATE`` section: hand-written Unreleased notes, then the commits."""
    groups: dict[str, list[str]] = {c: [] for c in CATEGORIES}
    current: str | None = None
    loose: list[str] = []
    for line in unreleased.splitlines():
        heading = re.fullmatch(r"###\s+(\w+)\s*", line)
        if heading and heading[1] in groups:
            current = heading[1]
        elif line.strip():
            if current is None and not line.lstrip().startswith(("-", "*")):
                loose.append(line)
            else:
                groups[current or "Changed"].append(line)
    for subject in subjects:
        groups[categorise(subject)].append(f"- {subject.strip()}")
    parts = [f"## [{version}] - {date}\n"]
    if loose:
        parts.append("\n" + "\n".join(loose) + "\n")
    for category in CATEGORIES:
        if groups[category]:
            parts.append(f"\n### {category}\n\n" + "\n".join(groups[category]) + "\n")
    if len(parts) == 1:
        parts.append("\n- No changes recorded.\n")
    return "".join(parts)


def update_changelog(text: str | None, section: str) -> str:
    """Insert ``section`` below an emptied ``## [Unreleased]`` (created when missing)."""
    text = text if text is not None else CHANGELOG_HEADER
    text = text.replace("\r\n", "\n")
    match = re.search(r"^## \[Unreleased\][^\n]*\n", text, re.M | re.I)
    if match is None:
        first = re.search(r"^## ", text, re.M)
        at = first.start() if first else len(text)
        head = text[:at].rstrip("\n") + "\n\n## [Unreleased]\n"
        return head + "\n" + section + ("\n" + text[at:] if text[at:] else "")
    nxt = re.compile(r"^## ", re.M).search(text, match.end())
    end = nxt.start() if nxt else len(text)
    rest = text[end:]
    return text[: match.end()] + "\n" + section + ("\n" + rest if rest else "")


def unreleased_notes(text: str | None) -> str:
    if not text:
        return ""
    match = re.search(r"^## \[Unreleased\][^\n]*\n(.*?)(?=^## |\Z)", text.replace("\r\n", "\n"), re.M | re.S | re.I)
    return match[1] if match else ""


def release_date() -> str:
    """Today in UTC, or the day of ``SOURCE_DATE_EPOCH`` for reproducible releases."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return _dt.datetime.fromtimestamp(int(epoch), _dt.UTC).date().isoformat()
    return _dt.datetime.now(_dt.UTC).date().isoformat()


# --------------------------------------------------------------------------
# cut


@dataclass(slots=True)
class CutOptions:
    version: str
    skip_vsix: bool
    skip_gates: bool
    gates: list[str] | None
    build_command: str | None


def current_branch(root: Path) -> str:
    proc = git(root, "symbolic-ref", "--short", "-q", "HEAD", check=False)
    if proc.returncode != 0 or not proc.stdout.strip():
        raise ReleaseError("HEAD is detached: a release is cut on a branch", "check out the release branch")
    return proc.stdout.strip()


def require_repository(root: Path) -> None:
    proc = git(root, "rev-parse", "--show-toplevel", check=False)
    if proc.returncode != 0:
        raise ReleaseError(f"`{root}` is not inside a git repository")


def require_clean(root: Path) -> None:
    dirty = git_out(root, "status", "--porcelain", "--untracked-files=all")
    if dirty:
        lines = dirty.splitlines()
        shown = ", ".join(line[3:] for line in lines[:5]) + (f" and {len(lines) - 5} more" if len(lines) > 5 else "")
        raise ReleaseError(
            f"the working tree is not clean ({len(lines)} changed or untracked: {shown})",
            "commit or stash the changes first; build outputs belong in .gitignore",
        )


def tag_exists(root: Path, tag: str) -> bool:
    return git(root, "rev-parse", "-q", "--verify", f"refs/tags/{tag}", check=False).returncode == 0


def npm_program() -> str | None:
    # shutil.which honours PATHEXT, so this finds npm.cmd on Windows.
    return shutil.which("npm")


def cut(root: Path, options: CutOptions) -> int:
    require_repository(root)
    project = load_project(root)
    old = project.version
    new = str(parse_version(options.version))
    if parse_version(options.version) <= parse_version(old, "current version"):
        raise ReleaseError(
            f"version {new} is not greater than the current version {old}",
            "pick a version above the current one (see `[project] version` in pyproject.toml)",
        )
    for rel in project.version_files:
        path = root / rel
        if not path.exists():
            raise ReleaseError(f"version file `{rel}` does not exist", "fix `version-files` in [tool.volta.release]")
        found = python_version_of(read_text(path))
        if found != old:
            raise ReleaseError(
                f"`{rel}` says version {found or '(none)'} but pyproject.toml says {old}",
                "make them agree before releasing",
            )
    branch = current_branch(root)
    require_clean(root)
    if git(root, "check-ignore", "-q", f"{DIST}/{SUMS}", check=False).returncode != 0:
        raise ReleaseError(f"{DIST}/ is not ignored by git, so the artifacts would dirty the tree",
                           f"add `{DIST}/` to .gitignore")
    tag = f"v{new}"
    if tag_exists(root, tag):
        raise ReleaseError(f"tag {tag} already exists", f"pick another version or delete the tag: git tag -d {tag}")
    extension = root / EXTENSION_DIR
    build_vsix = (extension / "package.json").exists() and not options.skip_vsix
    npm = npm_program() if build_vsix else None
    if build_vsix and npm is None:
        raise ReleaseError(
            "npm was not found on PATH, so the VS Code extension (.vsix) cannot be built",
            "install Node.js (which provides npm), or pass --skip-vsix to release without the extension",
        )
    say(f"release: cutting {new} (from {old}) on branch {branch}")

    if options.skip_gates:
        say("release: gates skipped (--skip-gates)")
    else:
        for gate in options.gates if options.gates is not None else project.gates:
            run_gate(root, gate)

    edits = Edits(root)
    try:
        bump_versions(root, project, new, extension if (extension / "package.json").exists() else None, edits)
        dist = root / DIST
        dist.mkdir(exist_ok=True)
        artifacts = build_python(root, options.build_command or project.build, dist)
        if build_vsix:
            assert npm is not None
            artifacts.append(build_extension(extension, npm, new, dist))
        sums = write_sums(dist, artifacts)
        say(f"release: wrote {DIST}/{SUMS} ({len(artifacts)} artifacts)")
        changelog = root / CHANGELOG
        previous = read_text(changelog) if changelog.exists() else None
        section = changelog_section(new, release_date(), commits_since(root, last_tag(root)),
                                    unreleased_notes(previous))
        edits.write(CHANGELOG, update_changelog(previous, section))
        say(f"release: added the {new} section to {CHANGELOG}")
        git(root, "add", "--", *edits.paths)
        git(root, "commit", "-q", "-m", f"Release {new}")
    except BaseException:
        edits.restore()
        git(root, "reset", "-q", "--", *edits.paths, check=False)
        raise
    git(root, "tag", "-a", tag, "-m", f"Release {new}")
    say(f"release: committed `Release {new}` and tagged {tag}")
    for artifact in artifacts:
        say(f"  {DIST}/{artifact.name}")
    say(f"  {DIST}/{sums.name}")
    say(f"next: push the branch and the tag (git push origin {branch} {tag}), then publish the artifacts")
    return 0


def run_gate(root: Path, gate: str | Sequence[str]) -> None:
    argv = expand_command(gate)
    if not argv:
        return
    shown = gate if isinstance(gate, str) else shlex.join(gate)
    say(f"release: gate `{shown}`")
    proc = run_process(argv, root, capture=False, what=shown)
    if proc.returncode != 0:
        raise ReleaseError(f"gate `{shown}` failed (exit {proc.returncode})", "fix it, or pass --skip-gates")


def bump_versions(root: Path, project: Project, new: str, extension: Path | None, edits: Edits) -> None:
    edits.write("pyproject.toml", bump_pyproject(read_text(root / "pyproject.toml"), new))
    for rel in project.version_files:
        edits.write(rel, bump_python(read_text(root / rel), new, rel))
    if extension is not None:
        rel = f"{EXTENSION_DIR}/package.json"
        edits.write(rel, bump_json(read_text(root / rel), new, rel, [["version"]]))
        lock = extension / "package-lock.json"
        if lock.exists():
            rel = f"{EXTENSION_DIR}/package-lock.json"
            edits.write(rel, bump_json(read_text(lock), new, rel, [["version"], ["packages", "", "version"]]))
    say(f"release: version set to {new} in {', '.join(edits.paths)}")


def build_python(root: Path, command: str | Sequence[str], dist: Path) -> list[Path]:
    """Build into a fresh directory, then move the artifacts into ``dist``."""
    with tempfile.TemporaryDirectory(prefix="volta-release-") as tmp:
        outdir = Path(tmp)
        argv = expand_command(command, outdir)
        shown = shlex.join(argv)
        say(f"release: building `{shown}`")
        proc = run_process(argv, root, what=shown)
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
            raise ReleaseError(f"the build failed (exit {proc.returncode}):\n{tail}")
        built = sorted(p for p in outdir.iterdir() if p.is_file())
        if not built:
            raise ReleaseError(f"the build wrote nothing to its output directory (`{shown}`)",
                               "the build command must write to {outdir}")
        moved = []
        for path in built:
            target = dist / path.name
            shutil.move(str(path), target)
            moved.append(target)
    return moved


def build_extension(extension: Path, npm: str, version: str, dist: Path) -> Path:
    say("release: packaging the VS Code extension (`npm run package`)")
    proc = run_process([npm, "run", "package"], extension, what="npm run package")
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise ReleaseError(f"`npm run package` failed (exit {proc.returncode}):\n{tail}",
                           "fix the extension build, or pass --skip-vsix")
    candidates = sorted(extension.glob(f"*-{version}.vsix"))
    if len(candidates) != 1:
        raise ReleaseError(f"`npm run package` did not produce one `*-{version}.vsix` in {EXTENSION_DIR}/")
    target = dist / candidates[0].name
    shutil.copy2(candidates[0], target)
    return target


# --------------------------------------------------------------------------
# rollback


@dataclass(slots=True)
class RollbackPlan:
    version: str
    tag: str
    commit: str = ""
    head_is_release: bool = False
    previous_version: str | None = None
    previous_tag: str | None = None
    artifacts: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def release_tags(root: Path) -> list[tuple[Version, str]]:
    tags = []
    for name in git_out(root, "tag", "--list", "v*").splitlines():
        try:
            tags.append((Version(name[1:]), name))
        except InvalidVersion:
            continue
    return sorted(tags)


def pyproject_version_at(root: Path, commit: str) -> str | None:
    proc = git(root, "show", f"{commit}:pyproject.toml", check=False)
    if proc.returncode != 0:
        return None
    try:
        version = tomllib.loads(proc.stdout).get("project", {}).get("version")
    except tomllib.TOMLDecodeError:
        return None
    return version if isinstance(version, str) else None


def plan_rollback(root: Path, version: str | None) -> RollbackPlan:
    require_repository(root)
    if version is None:
        version = load_project(root).version
    parsed = parse_version(version)
    plan = RollbackPlan(str(parsed), f"v{parsed}")
    if not tag_exists(root, plan.tag):
        plan.problems.append(f"tag {plan.tag} does not exist: there is no release {plan.version} to roll back")
    else:
        plan.commit = git_out(root, "rev-list", "-n", "1", plan.tag)
        head = git_out(root, "rev-parse", "HEAD")
        plan.head_is_release = plan.commit == head
        subject = git_out(root, "log", "-1", "--format=%s", plan.commit)
        if subject != f"Release {plan.version}":
            plan.problems.append(f"{plan.tag} points at `{subject}`, not a `Release {plan.version}` commit")
        if git(root, "merge-base", "--is-ancestor", plan.commit, "HEAD", check=False).returncode != 0:
            plan.problems.append(f"the release commit {plan.commit[:12]} is not HEAD or an ancestor of HEAD")
        older = [name for v, name in release_tags(root) if v < parsed]
        plan.previous_tag = older[-1] if older else None
        parent = git(root, "rev-parse", "-q", "--verify", f"{plan.commit}^", check=False).stdout.strip()
        plan.previous_version = pyproject_version_at(root, parent) if parent else None
        if plan.previous_version is None:
            plan.problems.append("the release commit has no parent with a version to restore")
    check_artifacts(root, plan)
    return plan


def check_artifacts(root: Path, plan: RollbackPlan) -> None:
    sums = root / DIST / SUMS
    if not sums.exists():
        plan.problems.append(f"{DIST}/{SUMS} is missing: the release artifacts cannot be verified")
        return
    try:
        entries = read_sums(sums)
    except ReleaseError as exc:
        plan.problems.append(str(exc))
        return
    if not entries:
        plan.problems.append(f"{DIST}/{SUMS} lists no artifacts")
    stems = {plan.version, plan.version.replace("-", "_")}
    if entries and not any(any(s in name for s in stems) for _, name in entries):
        plan.problems.append(f"{DIST}/{SUMS} lists no artifact of version {plan.version}")
    for digest, name in entries:
        path = root / DIST / name
        if not path.is_file():
            plan.problems.append(f"{DIST}/{name} is listed in {SUMS} but missing")
        elif sha256_of(path) != digest:
            plan.problems.append(f"{DIST}/{name} does not match its SHA-256 in {SUMS} (modified after the release?)")
        else:
            plan.artifacts.append(name)


def print_plan(plan: RollbackPlan, verify_only: bool) -> None:
    say(f"rollback of {plan.version} ({plan.tag}){' — verify only, nothing changes' if verify_only else ''}:")
    if plan.commit:
        where = "HEAD" if plan.head_is_release else "an ancestor of HEAD"
        say(f"  release commit: {plan.commit[:12]} ({where})")
        say(f"  1. revert the release commit: git revert --no-edit {plan.commit[:12]}")
        say(f"  2. delete the tag: git tag -d {plan.tag}")
    if plan.artifacts:
        say(f"  3. remove {len(plan.artifacts)} verified artifacts from {DIST}/ and {DIST}/{SUMS}:")
        for name in plan.artifacts:
            say(f"       {name}")
    if plan.previous_version is not None:
        tag = f" (tag {plan.previous_tag})" if plan.previous_tag else " (no earlier release tag)"
        say(f"  restores version {plan.previous_version}{tag}")


def rollback(root: Path, version: str | None, verify_only: bool) -> int:
    plan = plan_rollback(root, version)
    print_plan(plan, verify_only)
    if plan.problems:
        sys.stderr.write(f"release: error: rollback of {plan.version} is not possible:\n")
        for problem in plan.problems:
            sys.stderr.write(f"  - {problem}\n")
        return 1
    if verify_only:
        say("rollback: possible (run without --verify-only to perform it)")
        return 0
    require_clean(root)
    git(root, "revert", "--no-edit", plan.commit)
    git(root, "tag", "-d", plan.tag)
    for name in plan.artifacts:
        (root / DIST / name).unlink()
    (root / DIST / SUMS).unlink()
    say(f"rollback: {plan.version} rolled back; the version is {plan.previous_version} again")
    return 0


# --------------------------------------------------------------------------
# command line


class Parser(argparse.ArgumentParser):
    """argparse with the tool's one failure status (1) for usage errors too."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(1, f"release: error: {message}\n")


EPILOG = """\
exit status: 0 success, 1 any failure (with a message, never a traceback).
configuration: [tool.volta.release] in pyproject.toml (gates, build, version-files).
"""


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="python -m tools.release",
        description="Cut a Volta release (version bump, artifacts, checksums, changelog, tag) "
        "or verify that one can be rolled back.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--root", type=Path, default=Path.cwd(),
                        help="the repository root (default: the current directory)")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an unexpected failure")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser, metavar="COMMAND")

    p = sub.add_parser(
        "cut", help="cut release VERSION", epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Check VERSION (PEP 440, above the current one), a clean tree on a branch; run the gates; "
        "bump pyproject.toml, the version files and vscode-extension/package.json; build sdist + wheel "
        "(and the .vsix) into dist/; write dist/SHA256SUMS and a CHANGELOG.md section from the git log "
        "since the last tag; commit `Release VERSION` and tag vVERSION.",
    )
    p.add_argument("version", metavar="VERSION", help="the new version, e.g. 0.2.0")
    p.add_argument("--skip-vsix", action="store_true", help="do not build the VS Code extension")
    p.add_argument("--skip-gates", action="store_true", help="do not run the gates (ruff, mypy, pytest)")
    p.add_argument("--gate", action="append", metavar="CMD", dest="gates",
                   help="a gate command (repeatable; replaces the configured gates)")
    p.add_argument("--build-command", metavar="CMD",
                   help=f"the Python build command (default: `{DEFAULT_BUILD}`)")

    p = sub.add_parser(
        "rollback", help="verify (or perform) the rollback of a release",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Check that release VERSION (default: the current version) can be rolled back: its tag "
        "exists, its release commit is HEAD or an ancestor, dist/ matches dist/SHA256SUMS; print the plan "
        "and the version it restores. Exit 0 when possible, 1 with the reasons otherwise.",
    )
    p.add_argument("version", metavar="VERSION", nargs="?", help="the release to roll back")
    p.add_argument("--verify-only", action="store_true",
                   help="print the plan and change nothing (without it: revert the release commit, "
                   "delete the tag and the artifacts)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    root: Path = args.root.resolve()
    commands: dict[str, Callable[[], int]] = {
        "cut": lambda: cut(root, CutOptions(args.version, args.skip_vsix, args.skip_gates, args.gates,
                                            args.build_command)),
        "rollback": lambda: rollback(root, args.version, args.verify_only),
    }
    try:
        return commands[args.command]()
    except ReleaseError as exc:
        sys.stdout.flush()
        sys.stderr.write(f"release: error: {exc}\n")
        for help_text in exc.helps:
            sys.stderr.write(f"  help: {help_text}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("release: interrupted\n")
        return 130
    except Exception as exc:
        if args.debug:
            traceback.print_exc()
        sys.stderr.write(f"release: error: unexpected failure: {exc.__class__.__name__}: {exc}\n"
                         "  help: rerun with --debug for the traceback\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
