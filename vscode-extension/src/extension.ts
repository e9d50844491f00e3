// The Volta extension: starts the Volta language server (`python -m volta_lsp`)
// over stdio and contributes the Run / Check / Restart commands. Interpreter
// choice lives in ./interpreter (no `vscode` dependency, unit-tested).

import * as vscode from "vscode";
import { LanguageClient, type LanguageClientOptions, type ServerOptions } from "vscode-languageclient/node";

import {
  checkServerStarts,
  cliCommand,
  INSTALL_HINT,
  type Interpreter,
  resolveInterpreter,
  serverCommand,
  terminalText,
} from "./interpreter";
import { cellsToMakeVolta, DOCUMENT_SELECTOR, LANGUAGE_ID } from "./notebook";

const OPEN_SETTINGS = "Open Settings";
const SHOW_OUTPUT = "Show Output";

let client: LanguageClient | undefined;
let output: vscode.OutputChannel | undefined;
let terminal: vscode.Terminal | undefined;

/** The subset of the ms-python.python extension API that we use. */
interface PythonExtensionApi {
  environments?: {
    getActiveEnvironmentPath(resource?: vscode.Uri): { path: string } | undefined;
  };
}

function config(): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration("volta");
}

function workspaceFolderPath(): string | undefined {
  const editorUri = vscode.window.activeTextEditor?.document.uri;
  const folder =
    (editorUri !== undefined ? vscode.workspace.getWorkspaceFolder(editorUri) : undefined) ??
    vscode.workspace.workspaceFolders?.[0];
  return folder?.uri.fsPath;
}

/** The Python extension's active interpreter, or undefined when it is not installed or has none. */
async function pythonExtensionInterpreter(): Promise<string | undefined> {
  const ext = vscode.extensions.getExtension<PythonExtensionApi>("ms-python.python");
  if (ext === undefined) {
    return undefined;
  }
  const api = ext.isActive ? ext.exports : await ext.activate();
  const resource = vscode.window.activeTextEditor?.document.uri ?? vscode.workspace.workspaceFolders?.[0]?.uri;
  return api.environments?.getActiveEnvironmentPath(resource)?.path;
}

async function currentInterpreter(): Promise<Interpreter> {
  return resolveInterpreter({
    configured: config().get<string>("interpreter", ""),
    activeEnvironmentPath: pythonExtensionInterpreter,
    workspaceFolder: workspaceFolderPath(),
  });
}

function describe(interpreter: Interpreter): string {
  return [interpreter.command, ...interpreter.prefixArgs].join(" ");
}

async function reportMissingServer(interpreter: Interpreter, detail: string): Promise<void> {
  output?.appendLine(`[volta] the language server cannot start with ${describe(interpreter)} (${interpreter.source}): ${detail}`);
  const choice = await vscode.window.showErrorMessage(
    `Volta: the language server is not available for \`${describe(interpreter)}\`. ` +
      `Install it with \`${INSTALL_HINT}\` or choose another interpreter in the \`volta.interpreter\` setting.`,
    OPEN_SETTINGS,
    SHOW_OUTPUT,
  );
  if (choice === OPEN_SETTINGS) {
    await vscode.commands.executeCommand("workbench.action.openSettings", "volta.interpreter");
  } else if (choice === SHOW_OUTPUT) {
    output?.show(true);
  }
}

/** What the client sends to the server: .vt files and Volta notebook cells (./notebook). */
export function clientOptions(): LanguageClientOptions {
  return {
    documentSelector: [...DOCUMENT_SELECTOR],
    outputChannel: output,
    synchronize: {
      fileEvents: vscode.workspace.createFileSystemWatcher("**/*.{vt,csv,npz}"),
    },
  };
}

async function startClient(): Promise<void> {
  const interpreter = await currentInterpreter();
  const check = await checkServerStarts(interpreter);
  if (!check.ok) {
    void reportMissingServer(interpreter, check.detail);
    return;
  }
  const { command, args } = serverCommand(interpreter, config().get<string[]>("server.args", []));
  output?.appendLine(`[volta] starting ${command} ${args.join(" ")} (interpreter from ${interpreter.source})`);
  // No `transport` on purpose: the server speaks LSP over stdio by default and
  // `TransportKind.stdio` would append a `--stdio` argument.
  const serverOptions: ServerOptions = {
    run: { command, args: [...args] },
    debug: { command, args: [...args] },
  };
  // The id "volta" makes the client read `volta.trace.server`.
  client = new LanguageClient("volta", "Volta Language Server", serverOptions, clientOptions());
  try {
    await client.start();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    output?.appendLine(`[volta] the language server failed to start: ${message}`);
    void vscode.window
      .showErrorMessage(`Volta: the language server failed to start: ${message}`, OPEN_SETTINGS, SHOW_OUTPUT)
      .then(async (choice) => {
        if (choice === OPEN_SETTINGS) {
          await vscode.commands.executeCommand("workbench.action.openSettings", "volta.interpreter");
        } else if (choice === SHOW_OUTPUT) {
          output?.show(true);
        }
      });
  }
}

async function stopClient(): Promise<void> {
  const running = client;
  client = undefined;
  if (running !== undefined) {
    try {
      await running.stop();
    } catch (err) {
      output?.appendLine(`[volta] stopping the language server: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

async function restartServer(): Promise<void> {
  await stopClient();
  for (const notebook of vscode.workspace.notebookDocuments) {
    void makeCellsVolta(notebook);
  }
  await startClient();
}

/** Volta-kernel notebooks get the `volta` cell language (so the server sees their cells). */
async function makeCellsVolta(notebook: vscode.NotebookDocument): Promise<void> {
  const cells = notebook.getCells();
  const indices = cellsToMakeVolta(
    notebook.metadata,
    cells.map((cell) => ({ kind: cell.kind, languageId: cell.document.languageId })),
  );
  for (const i of indices) {
    const cell = cells[i];
    if (cell !== undefined) {
      await vscode.languages.setTextDocumentLanguage(cell.document, LANGUAGE_ID);
    }
  }
}

/** The .vt file to act on: the command's argument (explorer/editor title) or the active editor. */
async function targetFile(uri?: vscode.Uri): Promise<vscode.Uri | undefined> {
  const document =
    uri !== undefined
      ? await vscode.workspace.openTextDocument(uri)
      : vscode.window.activeTextEditor?.document;
  if (document === undefined || document.uri.scheme !== "file") {
    void vscode.window.showWarningMessage("Volta: open a saved .vt file first.");
    return undefined;
  }
  if (document.isDirty) {
    await document.save();
  }
  return document.uri;
}

async function runInTerminal(subcommand: "run" | "check", uri?: vscode.Uri): Promise<void> {
  const file = await targetFile(uri);
  if (file === undefined) {
    return;
  }
  const interpreter = await currentInterpreter();
  const cwd = vscode.workspace.getWorkspaceFolder(file)?.uri.fsPath;
  if (terminal === undefined || terminal.exitStatus !== undefined) {
    terminal = vscode.window.createTerminal({ name: "Volta", cwd });
  }
  terminal.show(true);
  terminal.sendText(terminalText(cliCommand(interpreter, subcommand, file.fsPath)));
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel("Volta Language Server");
  context.subscriptions.push(
    output,
    vscode.commands.registerCommand("volta.runFile", (uri?: vscode.Uri) => runInTerminal("run", uri)),
    vscode.commands.registerCommand("volta.checkFile", (uri?: vscode.Uri) => runInTerminal("check", uri)),
    vscode.commands.registerCommand("volta.restartServer", restartServer),
    vscode.window.onDidCloseTerminal((closed) => {
      if (closed === terminal) {
        terminal = undefined;
      }
    }),
    vscode.workspace.onDidOpenNotebookDocument((notebook) => void makeCellsVolta(notebook)),
    vscode.workspace.onDidChangeNotebookDocument((event) => {
      if (event.contentChanges.length > 0 || event.metadata !== undefined) {
        void makeCellsVolta(event.notebook);
      }
    }),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration("volta.interpreter") || event.affectsConfiguration("volta.server.args")) {
        void restartServer();
      }
    }),
  );
  for (const notebook of vscode.workspace.notebookDocuments) {
    void makeCellsVolta(notebook);
  }
  await startClient();
}

export function deactivate(): Promise<void> {
  return stopClient();
}
