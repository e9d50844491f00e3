import assert from "node:assert/strict";
import * as path from "node:path";
import { describe, it } from "node:test";

import {
  checkServerStarts,
  cliCommand,
  defaultCandidates,
  expandPath,
  findOnPath,
  type Interpreter,
  quoteArg,
  resolveInterpreter,
  serverCheckCommand,
  serverCommand,
  terminalText,
} from "../interpreter";

/** An `isFile` that knows only the given paths. */
function files(...known: string[]): (file: string) => boolean {
  const set = new Set(known);
  return (file) => set.has(file);
}

const posixEnv = { PATH: "/usr/local/bin:/usr/bin" };

describe("resolveInterpreter", () => {
  it("uses the volta.interpreter setting when it is set", async () => {
    const interp = await resolveInterpreter({
      configured: "/opt/venv/bin/python",
      activeEnvironmentPath: () => "/from/python/extension",
      platform: "linux",
      env: posixEnv,
      isFile: files("/usr/bin/python3"),
    });
    assert.deepEqual(interp, { command: "/opt/venv/bin/python", prefixArgs: [], source: "setting" });
  });

  it("expands ${workspaceFolder} and ~ in the setting", async () => {
    const interp = await resolveInterpreter({
      configured: "  ${workspaceFolder}/.venv/bin/python ",
      workspaceFolder: "/home/me/proj",
      platform: "linux",
      env: posixEnv,
    });
    assert.equal(interp.command, "/home/me/proj/.venv/bin/python");
    assert.equal(expandPath("~/venv/bin/python", "/home/me"), path.join("/home/me", "venv/bin/python"));
  });

  it("ignores a blank setting and asks the Python extension", async () => {
    let asked = 0;
    const interp = await resolveInterpreter({
      configured: "   ",
      activeEnvironmentPath: async () => {
        asked += 1;
        return Promise.resolve("/envs/ml/bin/python");
      },
      platform: "linux",
      env: posixEnv,
      isFile: files("/usr/bin/python3"),
    });
    assert.equal(asked, 1);
    assert.deepEqual(interp, { command: "/envs/ml/bin/python", prefixArgs: [], source: "python-extension" });
  });

  it("does not ask the Python extension when the setting is set", async () => {
    await resolveInterpreter({
      configured: "python3.12",
      activeEnvironmentPath: () => {
        throw new Error("must not be called");
      },
    });
  });

  it("falls back to python3 when the Python extension has nothing or fails", async () => {
    for (const active of [() => undefined, () => "", () => Promise.reject(new Error("not ready"))]) {
      const interp = await resolveInterpreter({
        activeEnvironmentPath: active,
        platform: "linux",
        env: posixEnv,
        isFile: files("/usr/bin/python3", "/usr/bin/python"),
      });
      assert.deepEqual(interp, { command: "python3", prefixArgs: [], source: "default" });
    }
  });

  it("uses python when python3 is not on PATH", async () => {
    const interp = await resolveInterpreter({ platform: "darwin", env: posixEnv, isFile: files("/usr/local/bin/python") });
    assert.equal(interp.command, "python");
  });

  it("names python3 when nothing is found, so the error is concrete", async () => {
    const interp = await resolveInterpreter({ platform: "linux", env: { PATH: "" }, isFile: files() });
    assert.deepEqual(interp, { command: "python3", prefixArgs: [], source: "default" });
  });

  it("prefers python, then py -3, on Windows", async () => {
    const env = { Path: "C:\\Python312;C:\\Windows", PATHEXT: ".COM;.EXE;.BAT" };
    const withPython = await resolveInterpreter({
      platform: "win32",
      env,
      isFile: files("C:\\Python312\\python.exe", "C:\\Windows\\py.exe"),
    });
    assert.deepEqual(withPython, { command: "python", prefixArgs: [], source: "default" });
    const launcherOnly = await resolveInterpreter({ platform: "win32", env, isFile: files("C:\\Windows\\py.exe") });
    assert.deepEqual(launcherOnly, { command: "py", prefixArgs: ["-3"], source: "default" });
    assert.deepEqual(
      defaultCandidates("win32").map((c) => [c.command, ...c.prefixArgs].join(" ")),
      ["python", "py -3", "python3"],
    );
  });
});

describe("findOnPath", () => {
  it("finds the first match in PATH order", () => {
    assert.equal(
      findOnPath("python3", posixEnv, "linux", files("/usr/bin/python3", "/usr/local/bin/python3")),
      "/usr/local/bin/python3",
    );
    assert.equal(findOnPath("python3", posixEnv, "linux", files()), undefined);
  });
});

describe("command lines", () => {
  const venv: Interpreter = { command: "/opt/venv/bin/python", prefixArgs: [], source: "setting" };
  const launcher: Interpreter = { command: "py", prefixArgs: ["-3"], source: "default" };

  it("starts the server as <interpreter> -m volta_lsp <volta.server.args>", () => {
    assert.deepEqual(serverCommand(venv), { command: "/opt/venv/bin/python", args: ["-m", "volta_lsp"] });
    assert.deepEqual(serverCommand(launcher, ["--log-level", "debug"]), {
      command: "py",
      args: ["-3", "-m", "volta_lsp", "--log-level", "debug"],
    });
  });

  it("checks that the server can start with -m volta_lsp --check", () => {
    assert.deepEqual(serverCheckCommand(launcher), { command: "py", args: ["-3", "-m", "volta_lsp", "--check"] });
  });

  it("runs and checks files through python -m volta_core", () => {
    assert.deepEqual(cliCommand(venv, "run", "/w/a b.vt"), {
      command: "/opt/venv/bin/python",
      args: ["-m", "volta_core", "run", "/w/a b.vt"],
    });
    assert.equal(
      terminalText(cliCommand(venv, "run", "/w/a b.vt"), "linux"),
      "/opt/venv/bin/python -m volta_core run '/w/a b.vt'",
    );
    assert.equal(
      terminalText(cliCommand({ command: "C:\\Program Files\\Python\\python.exe", prefixArgs: [], source: "setting" }, "check", "C:\\w\\x.vt"), "win32"),
      '& "C:\\Program Files\\Python\\python.exe" -m volta_core check C:\\w\\x.vt',
    );
    assert.equal(quoteArg("it's", "linux"), "'it'\\''s'");
  });
});

describe("checkServerStarts", () => {
  it("reports a missing interpreter instead of throwing", async () => {
    const result = await checkServerStarts({
      command: "/nonexistent/volta-test/python",
      prefixArgs: [],
      source: "setting",
    });
    assert.equal(result.ok, false);
    assert.match(result.detail, /ENOENT/);
  });

  it("is ok exactly when the interpreter exits with status 0", async () => {
    // Node stands in for Python: `node -e SCRIPT -- -m volta_lsp --check`
    // runs SCRIPT and hands it the rest as plain arguments.
    const fake = (script: string): Interpreter => ({ command: process.execPath, prefixArgs: ["-e", script, "--"], source: "setting" });
    const seen = await checkServerStarts(fake("process.exit(process.argv.slice(1).join(' ') === '-m volta_lsp --check' ? 0 : 3)"));
    assert.deepEqual(seen, { ok: true, detail: "" });
    const ok = await checkServerStarts(fake("process.exit(0)"));
    assert.deepEqual(ok, { ok: true, detail: "" });
    const failing = await checkServerStarts(fake("console.error('No module named pygls'); process.exit(2)"));
    assert.equal(failing.ok, false);
    assert.equal(failing.detail, "No module named pygls");
  });
});
