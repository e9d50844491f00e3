// Volta syntax highlighting in JupyterLab: registers the `volta` language
// (MIME type text/x-volta, files *.vt) with JupyterLab's CodeMirror 6 editor,
// which the Volta kernel names as its `codemirror_mode`.

import type { JupyterFrontEnd, JupyterFrontEndPlugin } from "@jupyterlab/application";
import { IEditorLanguageRegistry } from "@jupyterlab/codemirror";
import { LanguageSupport, StreamLanguage, type StringStream } from "@codemirror/language";

import { KEYWORDS, LAYER_KINDS } from "./words";

const keywords = new Set(KEYWORDS);
const layers = new Set(LAYER_KINDS);
const atoms = new Set(["true", "false"]);

/** One token of a line: CodeMirror's highlighting tag names. */
function token(stream: StringStream): string | null {
  if (stream.sol() && stream.peek() === "%") {
    stream.skipToEnd(); // a kernel magic: `%plot m`
    return "meta";
  }
  if (stream.eatSpace()) {
    return null;
  }
  if (stream.match("#") || stream.match("//")) {
    stream.skipToEnd();
    return "comment";
  }
  if (stream.match(/^"(?:[^"\\]|\\.)*"?/)) {
    return "string";
  }
  if (stream.match(/^\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/)) {
    return "number";
  }
  const word = stream.match(/^[A-Za-z_][A-Za-z0-9_]*/);
  if (word && typeof word === "object") {
    const text = word[0];
    if (atoms.has(text)) {
      return "atom";
    }
    if (keywords.has(text)) {
      return "keyword";
    }
    return layers.has(text) ? "typeName" : "variableName";
  }
  stream.next();
  return "operator";
}

export const volta = StreamLanguage.define<Record<string, never>>({
  name: "volta",
  startState: () => ({}),
  token,
  languageData: { commentTokens: { line: "#" } },
});

const plugin: JupyterFrontEndPlugin<void> = {
  id: "@volta-lang/jupyterlab-volta:language",
  description: "Volta syntax highlighting (CodeMirror 6).",
  autoStart: true,
  requires: [IEditorLanguageRegistry],
  activate: (_app: JupyterFrontEnd, languages: IEditorLanguageRegistry) => {
    languages.addLanguage({
      name: "volta",
      displayName: "Volta",
      mime: "text/x-volta",
      extensions: ["vt"],
      load: () => Promise.resolve(new LanguageSupport(volta)),
    });
  },
};

export default plugin;
