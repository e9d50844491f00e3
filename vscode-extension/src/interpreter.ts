// Choosing the Python interpreter and building the command lines that the
// extension runs. Deliberately free of any `vscode` import so that it can be
// unit-tested in plain Node (see src/test/).

import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** Where the chosen interpreter came from (shown in logs and error messages). */
export type InterpreterSource = "setting" | "python-extension" | "default";

/** An interpreter as a command plus the arguments that always precede the rest (`py -3`). */
export interface Interpreter {
  readonly command: string;
  readonly prefixArgs: readonly string[];
  readonly source: InterpreterSource;
}

/** A process to start: `command args…`. */
export interface CommandLine {
  readonly command: string;
  readonly args: readonly string[];
}

export interface ResolveOptions {
  /** The `volta.interpreter` setting; empty or blank means "not set". */
  readonly configured?: string | undefined;
  /**
   * The Python extension's active interpreter, when that extension is
   * installed: `environments.getActiveEnvironmentPath()` of ms-python.python.
   */
  readonly activeEnvironmentPath?: (() => Promise<string | undefined> | string | undefined) | undefined;
  /** Folder substituted for `${workspaceFolder}` in the setting. */
  readonly workspaceFolder?: string | undefined;
  readonly platform?: NodeJS.Platform;
  readonly env?: NodeJS.ProcessEnv;
  readonly homeDir?: string;
  /** Whether a file exists and is not a directory (injectable for tests). */
  readonly isFile?: (file: string) => boolean;
}

/** The module the language server runs as: `python -m volta_lsp`. */
export const SERVER_MODULE = "volta_lsp";
/** The module behind the `volta` command line: `python -m volta_core`. */
export const CLI_MODULE = "volta_core";
/** What to tell people whose interpreter lacks the language server. */
export const INSTALL_HINT = "pip install 'volta-lang[lsp]'";

function defaultIsFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Expands a leading `~` and `${workspaceFolder}` in a configured path. */
export function expandPath(value: string, homeDir: string, workspaceFolder?: string): string {
  let result = value.trim();
  if (workspaceFolder !== undefined) {
    result = result.split("${workspaceFolder}").join(workspaceFolder);
  }
  if (result === "~" || result.startsWith("~/") || result.startsWith("~\\")) {
    result = path.join(homeDir, result.slice(1));
  }
  return result;
}

/**
 * Finds `name` on the PATH of `env` (with PATHEXT on Windows); returns the
 * full path, or undefined when it is not there.
 */
export function findOnPath(
  name: string,
  env: NodeJS.ProcessEnv,
  platform: NodeJS.Platform,
  isFile: (file: string) => boolean = defaultIsFile,
): string | undefined {
  const win = platform === "win32";
  const pathKey = win ? (Object.keys(env).find((k) => k.toUpperCase() === "PATH") ?? "PATH") : "PATH";
  const dirs = (env[pathKey] ?? "").split(win ? ";" : ":").filter((d) => d.length > 0);
  // Windows file names are case-insensitive; PATHEXT is upper case by convention.
  const exts = win
    ? (env.PATHEXT ?? ".EXE;.CMD;.BAT;.COM")
        .split(";")
        .filter((e) => e.length > 0)
        .map((e) => e.toLowerCase())
    : [""];
  const join = (dir: string, file: string): string => (win ? path.win32.join(dir, file) : path.posix.join(dir, file));
  for (const dir of dirs) {
    for (const ext of exts) {
      const candidate = join(dir, name + (name.toLowerCase().endsWith(ext.toLowerCase()) ? "" : ext));
      if (isFile(candidate)) {
        return candidate;
      }
    }
  }
  return undefined;
}

/** The interpreters tried, in order, when neither the setting nor the Python extension gives one. */
export function defaultCandidates(platform: NodeJS.Platform): Interpreter[] {
  if (platform === "win32") {
    // On Windows `python3` is often the Microsoft Store stub; prefer `python`, then the launcher.
    return [
      { command: "python", prefixArgs: [], source: "default" },
      { command: "py", prefixArgs: ["-3"], source: "default" },
      { command: "python3", prefixArgs: [], source: "default" },
    ];
  }
  return [
    { command: "python3", prefixArgs: [], source: "default" },
    { command: "python", prefixArgs: [], source: "default" },
  ];
}

/**
 * Picks the interpreter: the `volta.interpreter` setting when non-empty; else
 * the Python extension's active interpreter when available; else the first
 * default candidate found on PATH (`python3`, then `python`; on Windows
 * `python`, then `py -3`); else the first default candidate by name, so that
 * the error the user sees names a concrete command.
 */
export async function resolveInterpreter(options: ResolveOptions = {}): Promise<Interpreter> {
  const platform = options.platform ?? process.platform;
  const env = options.env ?? process.env;
  const homeDir = options.homeDir ?? os.homedir();
  const isFile = options.isFile ?? defaultIsFile;

  const configured = options.configured?.trim() ?? "";
  if (configured.length > 0) {
    return { command: expandPath(configured, homeDir, options.workspaceFolder), prefixArgs: [], source: "setting" };
  }

  if (options.activeEnvironmentPath !== undefined) {
    try {
      const fromExtension = (await options.activeEnvironmentPath())?.trim();
      if (fromExtension !== undefined && fromExtension.length > 0) {
        return { command: fromExtension, prefixArgs: [], source: "python-extension" };
      }
    } catch {
      // The Python extension failed or is still activating: fall through to the defaults.
    }
  }

  const candidates = defaultCandidates(platform);
  for (const candidate of candidates) {
    if (findOnPath(candidate.command, env, platform, isFile) !== undefined) {
      return candidate;
    }
  }
  const [first] = candidates;
  if (first === undefined) {
    throw new Error("no default interpreter candidates");
  }
  return first;
}

/** `<interpreter> -m volta_lsp <serverArgs…>`: how the language server is started. */
export function serverCommand(interpreter: Interpreter, serverArgs: readonly string[] = []): CommandLine {
  return {
    command: interpreter.command,
    args: [...interpreter.prefixArgs, "-m", SERVER_MODULE, ...serverArgs],
  };
}

/** `<interpreter> -m volta_core <subcommand> <file>` (`run`, `check`). */
export function cliCommand(interpreter: Interpreter, subcommand: string, file: string): CommandLine {
  return {
    command: interpreter.command,
    args: [...interpreter.prefixArgs, "-m", CLI_MODULE, subcommand, file],
  };
}

/**
 * `<interpreter> -m volta_lsp --check`: exits 0 exactly when the server can
 * start. (`import volta_lsp` is not enough: the package imports without the
 * `lsp` extra, the server does not.)
 */
export function serverCheckCommand(interpreter: Interpreter): CommandLine {
  return {
    command: interpreter.command,
    args: [...interpreter.prefixArgs, "-m", SERVER_MODULE, "--check"],
  };
}

/** The outcome of running the server check. */
export interface ServerCheck {
  readonly ok: boolean;
  /** Why not: the interpreter's stderr, or the spawn error (e.g. ENOENT). */
  readonly detail: string;
}

/**
 * Runs `<interpreter> -m volta_lsp --check`; `ok` is true exactly when it
 * exits with status 0. Never rejects; gives up after `timeoutMs`.
 */
export function checkServerStarts(interpreter: Interpreter, timeoutMs = 20000): Promise<ServerCheck> {
  const { command, args } = serverCheckCommand(interpreter);
  return new Promise((resolve) => {
    let stderr = "";
    let settled = false;
    const finish = (result: ServerCheck): void => {
      if (!settled) {
        settled = true;
        clearTimeout(timer);
        resolve(result);
      }
    };
    const child = spawn(command, [...args], { stdio: ["ignore", "ignore", "pipe"], windowsHide: true });
    const timer = setTimeout(() => {
      child.kill();
      finish({ ok: false, detail: `\`${command}\` did not finish within ${timeoutMs} ms` });
    }, timeoutMs);
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => {
      stderr += chunk;
    });
    child.on("error", (err) => {
      finish({ ok: false, detail: err.message });
    });
    child.on("close", (code) => {
      finish({ ok: code === 0, detail: stderr.trim() });
    });
  });
}

/**
 * Quotes one argument for the integrated terminal's shell (POSIX shells, or
 * PowerShell/cmd on Windows), only when it needs quoting.
 */
export function quoteArg(arg: string, platform: NodeJS.Platform = process.platform): string {
  if (arg.length > 0 && /^[A-Za-z0-9_@%+=:,./\\-]+$/.test(arg)) {
    return arg;
  }
  if (platform === "win32") {
    return `"${arg.replace(/"/g, '""')}"`;
  }
  return `'${arg.replace(/'/g, "'\\''")}'`;
}

/** A command line as text for a terminal. On Windows PowerShell needs `&` before a quoted command. */
export function terminalText(line: CommandLine, platform: NodeJS.Platform = process.platform): string {
  const command = quoteArg(line.command, platform);
  const prefix = platform === "win32" && command.startsWith('"') ? "& " : "";
  return prefix + [command, ...line.args.map((a) => quoteArg(a, platform))].join(" ");
}
