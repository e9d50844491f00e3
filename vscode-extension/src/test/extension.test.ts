// The extension's start-up against a stand-in `vscode` module: when the
// chosen interpreter cannot start the language server, the user is told how
// to install it instead of getting a server that exits at once.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";

import { INSTALL_HINT } from "../interpreter";
import { anything } from "./stubs";

type Loader = (request: string, parent: unknown, isMain: boolean) => unknown;
// The CommonJS loader itself (not an ES namespace copy), so that replacing `_load` takes effect.
const loader = createRequire(__filename)("node:module") as { _load: Loader };


interface Shown {
  readonly message: string;
  readonly items: readonly string[];
}

/** A `vscode` module whose `volta.interpreter` setting is `interpreter`; error messages are recorded. */
function fakeVscode(interpreter: string, shown: Shown[]): unknown {
  const disposable = { dispose: () => undefined };
  const api = {
    workspace: {
      getConfiguration: () => ({
        get: (key: string, fallback: unknown) => (key === "interpreter" ? interpreter : fallback),
      }),
      onDidChangeConfiguration: () => disposable,
      onDidOpenNotebookDocument: () => disposable,
      onDidChangeNotebookDocument: () => disposable,
      getWorkspaceFolder: () => undefined,
      workspaceFolders: undefined,
      notebookDocuments: [],
    },
    window: {
      createOutputChannel: () => ({ appendLine: () => undefined, show: () => undefined, dispose: () => undefined }),
      onDidCloseTerminal: () => disposable,
      activeTextEditor: undefined,
      showErrorMessage: (message: string, ...items: string[]) => {
        shown.push({ message, items });
        return Promise.resolve(undefined);
      },
    },
    commands: { registerCommand: () => disposable, executeCommand: () => Promise.resolve(undefined) },
    extensions: { getExtension: () => undefined },
  };
  return new Proxy(api, {
    get: (target, prop) => (prop in target ? target[prop as keyof typeof target] : anything()),
  });
}

describe("activate", () => {
  it(
    "shows the install notification when the interpreter has volta_lsp but not its server's frameworks",
    { skip: process.platform === "win32" ? "the stand-in interpreter is a POSIX shell script" : false, timeout: 20000 },
    async () => {
      // A plain install (no `lsp` extra): `import volta_lsp` works, starting the server does not.
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "volta-ext-"));
      const python = path.join(dir, "python");
      fs.writeFileSync(
        python,
        '#!/bin/sh\nif [ "$1" = "-c" ]; then exit 0; fi\n' +
          "echo \"volta_lsp: No module named 'pygls'; install the lsp extra\" >&2\nexit 2\n",
      );
      fs.chmodSync(python, 0o755);
      const shown: Shown[] = [];
      const vscode = fakeVscode(python, shown);
      const original = loader._load;
      loader._load = function (request, parent, isMain) {
        return request === "vscode" ? vscode : original.call(this, request, parent, isMain);
      };
      try {
        const extension = await import("../extension");
        await extension.activate({ subscriptions: [] } as unknown as Parameters<typeof extension.activate>[0]);
        await extension.deactivate();
      } finally {
        loader._load = original;
        fs.rmSync(dir, { recursive: true, force: true });
      }
      assert.equal(shown.length, 1, JSON.stringify(shown));
      const [notice] = shown;
      assert.ok(notice !== undefined);
      assert.match(notice.message, /language server is not available/);
      assert.ok(notice.message.includes(INSTALL_HINT), notice.message);
      assert.ok(notice.message.includes(python), notice.message);
      assert.deepEqual(notice.items, ["Open Settings", "Show Output"]);
    },
  );
});
