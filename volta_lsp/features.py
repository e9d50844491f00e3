"""Hover, navigation, symbols, semantic tokens and folding from one Analysis."""

from __future__ import annotations

from lsprotocol import types as lsp

from volta_core.analysis import Analysis
from volta_core.check import schema
from volta_core.check.complete import describe_at, property_blocks, token_at, value_spec
from volta_core.check.symbols import Symbol, SymbolKind
from volta_core.syntax import ast as A
from volta_core.syntax import tokens as T
from volta_core.syntax.source import Span
from volta_lsp.positions import PositionMap

# ---------------------------------------------------------------- hover


def hover_markdown(analysis: Analysis, offset: int) -> tuple[str, Span] | None:
    return describe_at(analysis, offset)


# ---------------------------------------------------------------- navigation


def symbol_at(analysis: Analysis, offset: int) -> Symbol | None:
    tok = token_at(analysis, offset)
    if tok is None or tok.kind != T.NAME:
        return None
    return analysis.symbols.at(tok.start)


def occurrences(sym: Symbol, include_declaration: bool = True) -> list[Span]:
    spans = list(sym.references)
    if include_declaration and sym.span is not None:
        spans.insert(0, sym.span)
    return sorted(set(spans), key=lambda s: s.start)


# ---------------------------------------------------------------- document symbols


def _stmt_end(stmt: A.Stmt) -> int:
    end = stmt.span.end
    if isinstance(stmt, (A.ModelDef, A.DatasetDef)):
        end = max(end, stmt.body_end - 1)
    for block in A.block_statements(stmt):
        for inner in block:
            end = max(end, _stmt_end(inner))
    if isinstance(stmt, A.Train):
        end = max([end, *(p.span.end for p in stmt.props)])
    return end


def document_symbols(analysis: Analysis, pos: PositionMap) -> list[lsp.DocumentSymbol]:
    out: list[lsp.DocumentSymbol] = []

    def props(items: tuple[A.Property, ...]) -> list[lsp.DocumentSymbol]:
        return [
            lsp.DocumentSymbol(
                name=p.key.id,
                kind=lsp.SymbolKind.Property,
                range=pos.range(p.span),
                selection_range=pos.range(p.key.span),
                detail=analysis.source.snippet(Span(p.key.span.end, p.span.end)).strip() or None,
            )
            for p in items
        ]

    for stmt in analysis.program.body:
        if not pos.contains(Span(stmt.span.start, stmt.span.start)):
            continue  # another cell's
        full = pos.range(Span(stmt.span.start, _stmt_end(stmt)))
        if isinstance(stmt, A.ModelDef):
            info = analysis.symbols.models.get(stmt.name.id)
            detail = f"{info.total_params:,} params" if info else None
            out.append(lsp.DocumentSymbol(name=stmt.name.id, kind=lsp.SymbolKind.Class, range=full,
                                          selection_range=pos.range(stmt.name.span), detail=detail,
                                          children=props(stmt.props)))
        elif isinstance(stmt, A.DatasetDef):
            out.append(lsp.DocumentSymbol(name=stmt.name.id, kind=lsp.SymbolKind.Struct, range=full,
                                          selection_range=pos.range(stmt.name.span), children=props(stmt.props)))
        elif isinstance(stmt, A.FnDef):
            sig = f"({', '.join(p.id for p in stmt.params)})"
            out.append(lsp.DocumentSymbol(name=stmt.name.id, kind=lsp.SymbolKind.Function, range=full,
                                          selection_range=pos.range(stmt.name.span), detail=sig))
        elif isinstance(stmt, A.VarDecl):
            out.append(lsp.DocumentSymbol(name=stmt.name.id, kind=lsp.SymbolKind.Variable, range=full,
                                          selection_range=pos.range(stmt.name.span)))
        elif isinstance(stmt, A.Import):
            out.append(lsp.DocumentSymbol(name=stmt.name.id, kind=lsp.SymbolKind.Class, range=full,
                                          selection_range=pos.range(stmt.name.span), detail="imported ONNX model"))
    return out


# ---------------------------------------------------------------- workspace symbols


def matches_query(name: str, query: str) -> bool:
    """Case-insensitive subsequence match (``brn`` finds ``brain``); an empty query matches all."""
    it = iter(name.lower())
    return all(ch in it for ch in query.lower())


def workspace_symbols(analysis: Analysis, pos: PositionMap, uri: str, query: str) -> list[lsp.WorkspaceSymbol]:
    """The top-level declarations of one document whose names match ``query``."""
    return [
        lsp.WorkspaceSymbol(
            name=s.name,
            kind=s.kind,
            location=lsp.Location(uri=uri, range=s.selection_range),
        )
        for s in document_symbols(analysis, pos)
        if matches_query(s.name, query)
    ]


# ---------------------------------------------------------------- semantic tokens

TOKEN_TYPES = [
    "keyword", "variable", "function", "parameter", "property", "number", "string", "comment", "operator", "type",
    "enumMember", "macro",
]
#: ``defaultLibrary`` marks built-in words: layer kinds (as ``function``) and ``tokens``.
TOKEN_MODIFIERS = ["defaultLibrary"]
_TYPE_INDEX = {name: i for i, name in enumerate(TOKEN_TYPES)}
_BUILTIN = "function.defaultLibrary"
_SYMBOL_TOKEN = {
    SymbolKind.VARIABLE: "variable",
    SymbolKind.LOOP_VARIABLE: "variable",
    SymbolKind.PARAMETER: "parameter",
    SymbolKind.FUNCTION: "function",
    SymbolKind.MODEL: "type",
    SymbolKind.DATASET: "type",
}
_SIMPLE = {T.KEYWORD: "keyword", T.INT: "number", T.FLOAT: "number", T.STRING: "string", T.OP: "operator"}


def _value_token(block: str, key: str, words: list[str], index: int, word: str) -> str | None:
    """How a bare word used as property value ``index`` is coloured (None: not a schema word)."""
    if block == "model" and key == "layer" and index == 0:
        return _BUILTIN if word in schema.LAYERS else None
    if block == "model" and key == "input" and index == 0 and word == "tokens":
        return "keyword.defaultLibrary"
    spec = value_spec(block, words, index)
    return "enumMember" if spec is not None and spec.kind == "choice" and word in spec.choices else None


def semantic_tokens(analysis: Analysis, pos: PositionMap) -> list[int]:
    """The LSP relative encoding (5 ints per token) of every classified token.

    Names are classified by the symbol table; property keys as ``property``;
    schema words in property values as ``enumMember`` (``relu``, ``csv``) or,
    for layer kinds, ``function`` with the ``defaultLibrary`` modifier; notebook
    magics as ``macro``. Only the tokens in ``pos``'s document (a cell) are encoded.
    """
    names: dict[int, str] = {}
    for sym in analysis.symbols.symbols:
        kind = _SYMBOL_TOKEN.get(sym.kind)
        if kind is None:
            continue
        for span in occurrences(sym):
            names[span.start] = kind
    for block, props in property_blocks(analysis):
        for p in props:
            names[p.key.span.start] = "property"
            words = [p.key.id] + [v.id if isinstance(v, A.Name) else "" for v in p.values]
            for i, v in enumerate(p.values):
                if isinstance(v, A.Name) and v.span.start not in names:
                    token = _value_token(block, p.key.id, words, i, v.id)
                    if token is not None:
                        names[v.span.start] = token
    items: list[tuple[int, int, str]] = [(c.start, c.end, "comment") for c in analysis.lex.comments]
    items += [(m.start, m.end, "macro") for m in analysis.lex.magics]  # notebook magics (`%plot m`)
    for tok in analysis.lex.tokens:
        kind = _SIMPLE.get(tok.kind) if tok.kind != T.NAME else names.get(tok.start)
        if kind is not None and tok.end > tok.start:
            items.append((tok.start, tok.end, kind))
    items = sorted(item for item in items if pos.contains(Span(item[0], item[1])))  # this cell's
    data: list[int] = []
    prev_line = prev_char = 0
    for start, end, kind in items:
        a, b = pos.position(start), pos.position(end)
        if b.line != a.line:
            continue
        delta_line = a.line - prev_line
        delta_char = a.character - prev_char if delta_line == 0 else a.character
        kind, _, modifier = kind.partition(".")
        data += [delta_line, delta_char, b.character - a.character, _TYPE_INDEX[kind], 1 if modifier else 0]
        prev_line, prev_char = a.line, a.character
    return data


# ---------------------------------------------------------------- folding


def folding_ranges(text: str) -> list[lsp.FoldingRange]:
    """Indented blocks (header line to last body line) and runs of 2+ comment lines."""
    lines = text.split("\n")
    ranges: list[lsp.FoldingRange] = []
    stack: list[tuple[int, int]] = []  # (indent, line)
    last_code = -1
    comment_run: list[int] = []

    def close(upto_indent: int) -> None:
        while stack and stack[-1][0] >= upto_indent:
            _, start = stack.pop()
            if last_code > start:
                ranges.append(lsp.FoldingRange(start_line=start, end_line=last_code))

    def flush_comments() -> None:
        if len(comment_run) >= 2:
            ranges.append(lsp.FoldingRange(start_line=comment_run[0], end_line=comment_run[-1],
                                           kind=lsp.FoldingRangeKind.Comment))
        comment_run.clear()

    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith(("#", "//")):
            comment_run.append(i)
            continue
        flush_comments()
        if not stripped:
            continue
        indent = len(line) - len(line.lstrip())
        close(indent)
        stack.append((indent, i))
        last_code = i
    flush_comments()
    close(0)
    return sorted(ranges, key=lambda r: (r.start_line, r.end_line))
