// Notebook support: the client's document selector and contribution, and the
// `volta` cell language for Volta-kernel notebooks (pure functions, then the
// extension's activation against stand-in `vscode` and client modules).
// A real VS Code window is not started here (offline: @vscode/test-electron
// downloads VS Code); tests/lsp/test_notebooks.py checks the server's side.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";

import { cellsToMakeVolta, DOCUMENT_SELECTOR, isVoltaNotebook } from "../notebook";
import { anything } from "./stubs";

type Loader = (request: string, parent: unknown, isMain: boolean) => unknown;
const loader = createRequire(__filename)("node:module") as { _load: Loader };
const MANIFEST = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "package.json"), "utf-8")) as {
  activationEvents: string[];
  contributes: { languages: { id: string; extensions: string[] }[] };
};


const voltaKernel = { kernelspec: { name: "volta", display_name: "Volta", language: "volta" } };
const python = { kernelspec: { name: "python3", language: "python" }, language_info: { name: "python" } };

describe("document selector and contribution", () => {
  it("selects .vt files and the Volta cells of any notebook", () => {
    assert.deepEqual(DOCUMENT_SELECTOR, [
      { scheme: "file", language: "volta" },
      { scheme: "untitled", language: "volta" },
      { notebook: "*", language: "volta" },
    ]);
  });

  it("contributes the volta language and activates for Jupyter notebooks", () => {
    const [language] = MANIFEST.contributes.languages;
    assert.ok(language !== undefined);
    assert.equal(language.id, "volta");
    assert.deepEqual(language.extensions, [".vt"]);
    assert.ok(MANIFEST.activationEvents.includes("onNotebook:jupyter-notebook"), String(MANIFEST.activationEvents));
  });
});

describe("Volta-kernel notebooks", () => {
  it("are recognised by kernelspec or language_info, at the top level or under metadata", () => {
    assert.ok(isVoltaNotebook(voltaKernel));
    assert.ok(isVoltaNotebook({ metadata: voltaKernel }));
    assert.ok(isVoltaNotebook({ language_info: { name: "volta" } }));
    assert.ok(!isVoltaNotebook(python));
    assert.ok(!isVoltaNotebook(undefined));
    assert.ok(!isVoltaNotebook({ metadata: "kernelspec" }));
  });

  it("get their code cells in the volta language, markdown cells left alone", () => {
    const cells = [
      { kind: 2, languageId: "python" },
      { kind: 1, languageId: "markdown" },
      { kind: 2, languageId: "volta" },
      { kind: 2, languageId: "plaintext" },
    ];
    assert.deepEqual(cellsToMakeVolta(voltaKernel, cells), [0, 3]);
    assert.deepEqual(cellsToMakeVolta(python, cells), []);
  });
});

describe("activate", () => {
  it(
    "gives the client the notebook selector and relabels an open Volta notebook's cells",
    { skip: process.platform === "win32" ? "the stand-in interpreter is a POSIX shell script" : false, timeout: 20000 },
    async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "volta-nb-"));
      const interpreter = path.join(dir, "python");
      // The server check fails (no server is started here); the notebook is relabelled anyway.
      fs.writeFileSync(interpreter, "#!/bin/sh\necho 'no volta_lsp' >&2\nexit 2\n");
      fs.chmodSync(interpreter, 0o755);
      const disposable = { dispose: () => undefined };
      const relabelled: [string, string][] = [];
      const cell = (uri: string, kind: number, languageId: string) => ({ kind, document: { uri, languageId } });
      const notebook = {
        metadata: { metadata: voltaKernel },
        getCells: () => [cell("c0", 2, "python"), cell("c1", 1, "markdown"), cell("c2", 2, "volta")],
      };
      const shown: string[] = [];
      const api = {
        workspace: {
          getConfiguration: () => ({ get: (key: string, fallback: unknown) => (key === "interpreter" ? interpreter : fallback) }),
          onDidChangeConfiguration: () => disposable,
          onDidOpenNotebookDocument: () => disposable,
          onDidChangeNotebookDocument: () => disposable,
          createFileSystemWatcher: () => disposable,
          getWorkspaceFolder: () => undefined,
          workspaceFolders: undefined,
          notebookDocuments: [notebook],
        },
        window: {
          createOutputChannel: () => ({ appendLine: () => undefined, show: () => undefined, dispose: () => undefined }),
          onDidCloseTerminal: () => disposable,
          activeTextEditor: undefined,
          showErrorMessage: (message: string) => {
            shown.push(message);
            return Promise.resolve(undefined);
          },
        },
        languages: {
          setTextDocumentLanguage: (document: { uri: string }, language: string) => {
            relabelled.push([document.uri, language]);
            return Promise.resolve(document);
          },
        },
        commands: { registerCommand: () => disposable, executeCommand: () => Promise.resolve(undefined) },
        extensions: { getExtension: () => undefined },
      };
      const vscode = new Proxy(api, {
        get: (target, prop) => (prop in target ? target[prop as keyof typeof target] : anything()),
      });
      const original = loader._load;
      loader._load = function (request, parent, isMain) {
        if (request === "vscode") {
          return vscode;
        }
        return original.call(this, request, parent, isMain);
      };
      try {
        const extension = await import("../extension");
        await extension.activate({ subscriptions: [] } as unknown as Parameters<typeof extension.activate>[0]);
        assert.deepEqual(extension.clientOptions().documentSelector, DOCUMENT_SELECTOR);
        await extension.deactivate();
      } finally {
        loader._load = original;
        fs.rmSync(dir, { recursive: true, force: true });
      }
      assert.deepEqual(relabelled, [["c0", "volta"]]);
      assert.equal(shown.length, 1); // the server check failed, as arranged
    },
  );
});
