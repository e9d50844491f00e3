// Which documents the client sends to the language server, and which notebook
// cells are Volta. No `vscode` import: unit-tested with Node's test runner.

export const LANGUAGE_ID = "volta";

/** A document filter as vscode-languageclient takes it (a text document, or a notebook cell). */
export type Filter =
  | { readonly scheme: string; readonly language: string }
  | { readonly notebook: string; readonly language: string };

/**
 * `.vt` files (saved and untitled) and the Volta cells of any notebook. The
 * server advertises `notebookDocumentSync` for `jupyter-notebook` notebooks, so
 * their cells are synchronised as one notebook document and analysed as one
 * program in cell order.
 */
export const DOCUMENT_SELECTOR: readonly Filter[] = [
  { scheme: "file", language: LANGUAGE_ID },
  { scheme: "untitled", language: LANGUAGE_ID },
  { notebook: "*", language: LANGUAGE_ID },
];

type Json = { readonly [key: string]: unknown };

function object(value: unknown): Json | undefined {
  return typeof value === "object" && value !== null ? (value as Json) : undefined;
}

/**
 * True when a notebook's metadata names the Volta kernel: `kernelspec.language`
 * or `kernelspec.name`, or `language_info.name`, is `volta`. VS Code keeps the
 * `.ipynb` metadata either at the top level or under `metadata`.
 */
export function isVoltaNotebook(metadata: unknown): boolean {
  const top = object(metadata);
  for (const level of [top, object(top?.["metadata"])]) {
    const kernelspec = object(level?.["kernelspec"]);
    const info = object(level?.["language_info"]);
    if (kernelspec?.["language"] === LANGUAGE_ID || kernelspec?.["name"] === LANGUAGE_ID || info?.["name"] === LANGUAGE_ID) {
      return true;
    }
  }
  return false;
}

/** A notebook cell as far as choosing its language goes. */
export interface CellInfo {
  /** 1 markup, 2 code (`vscode.NotebookCellKind`). */
  readonly kind: number;
  readonly languageId: string;
}

const CODE_CELL = 2;

/**
 * The indices of the code cells of a Volta-kernel notebook that are not yet in
 * the `volta` language (the Jupyter extension opens cells of an unknown kernel
 * language as `python` or `plaintext`); none for another notebook.
 */
export function cellsToMakeVolta(metadata: unknown, cells: readonly CellInfo[]): number[] {
  if (!isVoltaNotebook(metadata)) {
    return [];
  }
  return cells.flatMap((cell, i) => (cell.kind === CODE_CELL && cell.languageId !== LANGUAGE_ID ? [i] : []));
}
