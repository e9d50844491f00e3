"""What the cursor is on and what may be typed there: cursor context,
completion candidates, the call around the cursor and the docs under it.

One implementation for the LSP (completion, hover, signature help) and the
kernel (completion, inspection). Pure: no editor or notebook protocol types;
offsets are character offsets into ``analysis.source.text``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Final

from volta_core.check import describe, schema
from volta_core.check.symbols import Symbol, SymbolKind
from volta_core.syntax import ast as A
from volta_core.syntax import tokens as T
from volta_core.syntax.source import Span
from volta_core.syntax.tokens import STATEMENT_KEYWORDS, Token

if TYPE_CHECKING:
    from volta_core.analysis import Analysis

#: Blocks whose body is ``KEY value…`` lines.
PROPERTY_BLOCKS: Final = ("model", "dataset", "train")
#: Statements allowed only at top level (not offered inside blocks).
TOP_LEVEL_ONLY: Final = ("model", "dataset", "fn", "import")
#: Words allowed inside expressions besides names.
EXPRESSION_KEYWORDS: Final = ("and", "or", "not", "true", "false")
_WORD_CHARS: Final = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_OWNER_RE: Final = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*\.$")

#: What each word position after a statement keyword wants: a kind of name,
#: a keyword, or None for a new name being declared.
_SHAPES: Final[dict[str, tuple[SymbolKind | str | None, ...]]] = {
    "train": (SymbolKind.MODEL, "on", SymbolKind.DATASET),
    "evaluate": (SymbolKind.MODEL, "on", SymbolKind.DATASET),
    "infer": (SymbolKind.MODEL, "on"),
    "save": (SymbolKind.MODEL, "as"),
    "export": (SymbolKind.MODEL, "as"),
    "load": (SymbolKind.MODEL, "from"),
    "inspect": (SymbolKind.MODEL,),
    "model": (None,),
    "dataset": (None,),
    "fn": (None,),
    "for": (None, "in"),
}

#: Block snippets, in the snippet syntax shared by LSP and TextMate (``${1:default}``, ``$0``).
SNIPPETS: Final[dict[str, tuple[str, str]]] = {
    "model": ("model block (layers shorthand)", "model ${1:name}\n    layers ${2:2} ${3:8} ${4:2}\n    activation ${5:relu}\n    loss ${6:cross_entropy}\n    seed ${7:1}"),
    "dataset": ("dataset block", "dataset ${1:name}\n    type ${2:xor}\n    batch ${3:32}"),
    "train": ("train block", "train ${1:model} on ${2:dataset}\n    epochs ${3:10}"),
    "fn": ("function", "fn ${1:name}(${2:x})\n    return ${3:x}"),
    "if": ("if block", "if ${1:condition}\n    $0"),
    "for": ("for loop over a range", "for ${1:i} in ${2:0}..${3:10}\n    $0"),
}


class ContextKind(StrEnum):
    STATEMENT = "statement"  # first word of a line outside property blocks
    PROPERTY_KEY = "property key"  # first word of a line in a model/dataset/train block
    PROPERTY_VALUE = "property value"  # after ``key`` (``index`` values typed before)
    LAYER_KIND = "layer kind"  # right after ``layer`` in a model block
    MEMBER = "member"  # after ``name.``
    NAME = "name"  # a model or dataset name is expected (``expects``)
    KEYWORD = "keyword"  # a statement's next keyword (``keywords``): ``train m on``
    NEW_NAME = "new name"  # a name being declared: nothing to offer
    EXPRESSION = "expression"
    STRING = "string"
    COMMENT = "comment"


@dataclass(frozen=True, slots=True)
class CursorContext:
    """What surrounds the cursor.

    ``word`` is the identifier being typed (from ``start`` to the cursor;
    ``end`` is where the identifier under the cursor ends); ``words`` the
    words of the line before it (comment stripped); ``block`` the keyword of
    the enclosing block's header (``model``, ``fn``, ``infer``, …; None at
    top level).
    """

    kind: ContextKind
    word: str
    start: int
    end: int
    words: tuple[str, ...]
    block: str | None
    key: str | None = None  # PROPERTY_VALUE / LAYER_KIND: the property key
    index: int = -1  # PROPERTY_VALUE: position of the value being typed
    spec: schema.ValueSpec | None = None  # PROPERTY_VALUE: what that position accepts
    owner: str | None = None  # MEMBER: the name before the dot
    owner_kind: SymbolKind | None = None  # MEMBER: its kind, when known
    expects: SymbolKind | None = None  # NAME
    keywords: tuple[str, ...] = ()  # KEYWORD


def strip_comment(line: str) -> tuple[str, bool]:
    """``line`` without its ``#``/``//`` comment, and whether a string is left open."""
    in_string = False
    i = 0
    while i < len(line):
        ch = line[i]
        if in_string:
            if ch == "\\":
                i += 1
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "#" or line.startswith("//", i):
            return line[:i], False
        i += 1
    return line, in_string


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def enclosing_block(text: str, line_start: int, indent: int) -> str | None:
    """The first word of the nearest code line above ``line_start`` indented less than ``indent``."""
    if indent <= 0:
        return None
    for line in reversed(text[:line_start].split("\n")[:-1]):
        code, _ = strip_comment(line)
        if code.strip() and _indent(code) < indent:
            word = code.split()[0]
            if word in T.BLOCK_PROPERTY_KEYS and _indent(code) > 0:
                indent = _indent(code)  # a `residual`/`repeat` block: its lines belong to the model
                continue
            return word
    return None


def value_spec(block: str, words: tuple[str, ...] | list[str], index: int) -> schema.ValueSpec | None:
    """The spec of value ``index`` of the property line ``words`` (``[key, v0, v1, …]``) of ``block``."""
    if block not in schema.BLOCKS or not words:
        return None
    key = words[0]
    if block == "model" and key == "layer" and index >= 1:
        layer = schema.LAYERS.get(words[1]) if len(words) > 1 else None
        return None if layer is None else _layer_value_spec(layer, list(words[2:index + 1]))
    prop = schema.BLOCKS[block].properties.get(key)
    if prop is None or not prop.values:
        return None
    if index < len(prop.values):
        return prop.values[index]
    return prop.values[-1] if prop.variadic else None


def _layer_value_spec(layer: schema.LayerSpec, before: list[str]) -> schema.ValueSpec | None:
    """What the next word of a ``layer KIND`` line may be, after the words ``before`` it:
    a required argument, an option's value (after the option's name), or one of
    the option names and the words of the optional arguments left."""
    required = [a for a in layer.args if not a.optional]
    if len(before) < len(required):
        return required[len(before)]
    option = layer.option(before[-1]) if before else None
    if option is not None:
        return option
    given = {w for w in before[len(required):]}
    words = [o.name for o in layer.options if o.name not in given]
    words += [c for a in layer.args if a.optional and not given & set(a.choices) for c in a.choices]
    return schema.ValueSpec("OPTION", "choice", f"an option of `{layer.kind}`", choices=tuple(words)) if words else None


def _names(analysis: Analysis, extra: Mapping[str, Symbol] | None) -> dict[str, Symbol]:
    names = dict(extra or {})
    names.update(analysis.symbols.globals())
    return names


def cursor_context(
    analysis: Analysis, offset: int, extra_names: Mapping[str, Symbol] | None = None
) -> CursorContext:
    """The :class:`CursorContext` at character ``offset``."""
    text = analysis.source.text
    offset = max(0, min(offset, len(text)))
    start = offset
    while start > 0 and text[start - 1] in _WORD_CHARS:
        start -= 1
    end = offset
    while end < len(text) and text[end] in _WORD_CHARS:
        end += 1
    word = text[start:offset]
    line_start = text.rfind("\n", 0, start) + 1
    prefix = text[line_start:start]
    code, open_string = strip_comment(prefix)
    words = tuple(code.split())
    block = enclosing_block(text, line_start, _indent(prefix) if prefix.strip() else len(prefix))

    def ctx(kind: ContextKind, **kw: object) -> CursorContext:
        return CursorContext(kind, word, start, end, words, block, **kw)  # type: ignore[arg-type]

    if code != prefix:
        return ctx(ContextKind.COMMENT)
    if open_string:
        return ctx(ContextKind.STRING)
    if code.rstrip().endswith("."):
        owner = _OWNER_RE.search(code.rstrip())
        if owner is None:
            return ctx(ContextKind.MEMBER)
        sym = _names(analysis, extra_names).get(owner.group(1))
        return ctx(ContextKind.MEMBER, owner=owner.group(1), owner_kind=sym.kind if sym else None)
    if block in PROPERTY_BLOCKS:
        if not words:
            return ctx(ContextKind.PROPERTY_KEY)
        index = len(words) - 1
        if block == "model" and words[0] == "layer" and index == 0:
            return ctx(ContextKind.LAYER_KIND, key="layer", index=0)
        return ctx(ContextKind.PROPERTY_VALUE, key=words[0], index=index, spec=value_spec(block, words, index))
    if not words:
        return ctx(ContextKind.STATEMENT)
    shape = _SHAPES.get(words[0], ())
    if len(words) - 1 < len(shape):
        want = shape[len(words) - 1]
        if want is None:
            return ctx(ContextKind.NEW_NAME)
        if isinstance(want, SymbolKind):
            return ctx(ContextKind.NAME, expects=want)
        return ctx(ContextKind.KEYWORD, keywords=(want,))
    if words[0] == "import" and len(words) == 2:
        return ctx(ContextKind.KEYWORD, keywords=("as",))
    if words[0] == "import" and len(words) == 3:
        return ctx(ContextKind.NEW_NAME)
    return ctx(ContextKind.EXPRESSION)


# ---------------------------------------------------------------- completion


@dataclass(frozen=True, slots=True)
class CompletionItem:
    """One candidate. ``kind`` is keyword, property, value, layer, variable,
    function, model, dataset, member or snippet; ``documentation`` is Markdown;
    ``insert_text`` (when not the label) uses the snippet syntax if ``is_snippet``."""

    label: str
    kind: str
    detail: str = ""
    documentation: str = ""
    insert_text: str | None = None
    is_snippet: bool = False
    sort_text: str | None = None


_SYMBOL_ITEM_KIND: Final = {
    SymbolKind.VARIABLE: "variable",
    SymbolKind.PARAMETER: "variable",
    SymbolKind.LOOP_VARIABLE: "variable",
    SymbolKind.FUNCTION: "function",
    SymbolKind.MODEL: "model",
    SymbolKind.DATASET: "dataset",
}
_VARIABLES: Final = (SymbolKind.VARIABLE, SymbolKind.PARAMETER, SymbolKind.LOOP_VARIABLE)
#: Symbol types a value position of each kind accepts.
_ACCEPTS: Final = {
    "int": ("int", "unknown"),
    "number": ("int", "float", "unknown"),
    "string": ("str", "unknown"),
    "bool": ("bool", "unknown"),
}


def _top_level_range(analysis: Analysis, offset: int) -> tuple[int, int] | None:
    body = analysis.program.body
    for i, stmt in enumerate(body):
        end = body[i + 1].span.start if i + 1 < len(body) else len(analysis.source.text)
        if stmt.span.start <= offset <= end:
            return stmt.span.start, end
    return None


def visible_symbols(
    analysis: Analysis, offset: int, extra_names: Mapping[str, Symbol] | None = None
) -> dict[str, Symbol]:
    """``extra_names`` (a session's globals), the analysis' globals, and locals
    declared before ``offset`` in the top-level statement (function, loop…) around it."""
    out: dict[str, Symbol] = dict(extra_names or {})
    own: dict[str, Symbol] = {}
    around = _top_level_range(analysis, offset)
    for sym in analysis.symbols.symbols:
        if sym.scope != 0 and not (
            around and sym.span and around[0] <= sym.span.start <= around[1] and sym.span.start <= offset
        ):
            continue
        own.setdefault(sym.name, sym)
    out.update(own)
    return out


def symbol_item(sym: Symbol) -> CompletionItem:
    if sym.kind == SymbolKind.FUNCTION:
        params = ", ".join(f"${{{i + 1}:{p}}}" for i, p in enumerate(sym.params))
        return CompletionItem(sym.name, "function", describe.symbol_signature(sym),
                              insert_text=f"{sym.name}({params})", is_snippet=True)
    return CompletionItem(sym.name, _SYMBOL_ITEM_KIND[sym.kind], describe.symbol_signature(sym))


def keyword_item(word: str) -> CompletionItem:
    return CompletionItem(word, "keyword", documentation=describe.KEYWORD_DOCS.get(word, ""))


def _value_items(spec: schema.ValueSpec | None, names: Mapping[str, Symbol]) -> list[CompletionItem]:
    if spec is None:
        return []
    if spec.kind == "choice":
        return [CompletionItem(c, "value", spec.doc) for c in spec.choices]
    items = [keyword_item(w) for w in ("true", "false")] if spec.kind == "bool" else []
    items += [CompletionItem(c, "value", spec.doc) for c in spec.choices]  # a number or a word (`pad same`)
    accepts = _ACCEPTS.get(spec.kind, ())
    return items + [symbol_item(s) for s in names.values() if s.kind in _VARIABLES and s.type in accepts]


def complete(
    analysis: Analysis, offset: int, extra_names: Mapping[str, Symbol] | None = None
) -> list[CompletionItem]:
    """Completion candidates at character ``offset`` (not filtered by the typed word).

    ``extra_names`` are global symbols known from elsewhere (a kernel session's
    earlier cells); the analysis' own declarations take precedence.
    """
    ctx = cursor_context(analysis, offset, extra_names)
    kind = ctx.kind
    if kind in (ContextKind.STRING, ContextKind.COMMENT, ContextKind.NEW_NAME):
        return []
    if kind == ContextKind.MEMBER:
        if ctx.owner_kind not in (SymbolKind.MODEL, SymbolKind.DATASET):
            return []
        members = schema.DATASET_MEMBERS if ctx.owner_kind == SymbolKind.DATASET else schema.MODEL_MEMBERS
        return [CompletionItem(m, "member", schema.MEMBER_TYPES.get(m, ""), doc) for m, doc in members.items()]
    if kind == ContextKind.PROPERTY_KEY:
        assert ctx.block is not None
        return [
            CompletionItem(key, "property", spec.example, describe.describe_property(ctx.block, spec))
            for key, spec in schema.BLOCKS[ctx.block].properties.items()
        ]
    if kind == ContextKind.LAYER_KIND:
        return [
            CompletionItem(k, "layer", spec.signature(), describe.describe_layer(k) or "")
            for k, spec in schema.LAYERS.items()
        ]
    if kind == ContextKind.KEYWORD:
        return [keyword_item(w) for w in ctx.keywords]
    names = visible_symbols(analysis, offset, extra_names)
    if kind == ContextKind.PROPERTY_VALUE:
        items = _value_items(ctx.spec, names)
        if ctx.block == "model" and ctx.key == "input" and ctx.index == 0:
            items.insert(0, CompletionItem("tokens", "keyword", "input tokens L", "Sequences of L integer token ids."))
            items.insert(1, CompletionItem("image", "keyword", "input image C H W", "Images: C channels of H×W pixels."))
        return items
    if kind == ContextKind.NAME:
        return [symbol_item(s) for s in names.values() if s.kind == ctx.expects]
    symbols = [symbol_item(s) for s in names.values()]
    if kind == ContextKind.STATEMENT:
        if ctx.block == "infer":
            return [CompletionItem("input", "keyword", "input v1 v2 …", "One row of model inputs.")]
        allowed = [k for k in STATEMENT_KEYWORDS if ctx.block is None or k not in TOP_LEVEL_ONLY]
        snippets = [
            CompletionItem(k, "snippet", SNIPPETS[k][0], insert_text=SNIPPETS[k][1], is_snippet=True, sort_text=f"~{k}")
            for k in allowed
            if k in SNIPPETS
        ]
        return [keyword_item(k) for k in allowed] + snippets + symbols
    return symbols + [keyword_item(k) for k in EXPRESSION_KEYWORDS]


# ---------------------------------------------------------------- tokens, calls, docs


def token_at(analysis: Analysis, offset: int) -> Token | None:
    """The non-layout token covering ``offset`` (its end counts, for a cursor after a word)."""
    best: Token | None = None
    for tok in analysis.lex.tokens:
        if tok.kind in (T.NEWLINE, T.INDENT, T.DEDENT, T.EOF):
            continue
        if tok.start <= offset < tok.end:
            return tok
        if tok.end == offset and tok.kind in (T.NAME, T.KEYWORD):
            best = tok
        if tok.start > offset:
            break
    return best


def call_at(
    analysis: Analysis, offset: int, extra_names: Mapping[str, Symbol] | None = None
) -> tuple[Symbol, int] | None:
    """The function whose call's parentheses enclose ``offset``, and the index
    of the argument the cursor is in (commas before it at the call's depth)."""
    before = [t for t in analysis.lex.tokens if t.start < offset and t.kind not in (T.INDENT, T.DEDENT, T.EOF)]
    depth = commas = 0
    for i in range(len(before) - 1, -1, -1):
        tok = before[i]
        if tok.kind == T.NEWLINE:
            return None
        if tok.kind != T.OP:
            continue
        if tok.text == ")":
            depth += 1
        elif tok.text == "(":
            if depth:
                depth -= 1
                continue
            callee = before[i - 1] if i > 0 else None
            if callee is None or callee.kind != T.NAME:
                return None
            sym = visible_symbols(analysis, offset, extra_names).get(callee.text)
            return (sym, commas) if sym is not None and sym.kind == SymbolKind.FUNCTION else None
        elif tok.text == "," and depth == 0:
            commas += 1
    return None


def property_blocks(analysis: Analysis) -> list[tuple[str, tuple[A.Property, ...]]]:
    """Every ``(block kind, properties)`` of the program (``import … with`` options included)."""
    kinds = {A.ModelDef: "model", A.DatasetDef: "dataset", A.Train: "train"}
    out: list[tuple[str, tuple[A.Property, ...]]] = []
    for stmt in analysis.program.body:
        if isinstance(stmt, (A.ModelDef, A.DatasetDef, A.Train)):
            out.append((kinds[type(stmt)], stmt.props))
            blocks = [p for p in stmt.props if p.body]
            while blocks:  # the layer lines of `residual` and `repeat` blocks, nested ones too
                block = blocks.pop()
                out.append((kinds[type(stmt)], block.body))
                blocks += [p for p in block.body if p.body]
        elif isinstance(stmt, A.Import):
            out.append(("import", stmt.options))
    return out


def _member_doc(analysis: Analysis, tok: Token, extra: Mapping[str, Symbol] | None) -> str | None:
    tokens = analysis.lex.tokens
    i = next((k for k, t in enumerate(tokens) if t.start == tok.start), -1)
    if i < 2 or tokens[i - 1].text != "." or tokens[i - 2].kind != T.NAME:
        return None
    owner = _names(analysis, extra).get(tokens[i - 2].text)
    if owner is None or owner.kind not in (SymbolKind.MODEL, SymbolKind.DATASET):
        return None
    doc = describe.describe_member(owner.kind, tok.text)
    if doc is None:
        return None
    return f"```volta\n{owner.name}.{tok.text}: {schema.MEMBER_TYPES.get(tok.text, 'unknown')}\n```\n\n{doc}"


def describe_at(
    analysis: Analysis, offset: int, extra_names: Mapping[str, Symbol] | None = None
) -> tuple[str, Span] | None:
    """Markdown for what is under ``offset`` (keyword, property key or value,
    layer kind, member, declared name) and the span it covers."""
    tok = token_at(analysis, offset)
    if tok is None:
        return None
    span = Span(tok.start, tok.end)
    if tok.kind == T.KEYWORD:
        doc = describe.describe_keyword(tok.text)
        return (doc, span) if doc else None
    if tok.kind != T.NAME:
        return None
    for block, props in property_blocks(analysis):
        for prop in props:
            if prop.key.span.start <= tok.start <= prop.key.span.end:
                doc = describe.describe_key(block, prop.key.id)
                return (doc, span) if doc else None
            for i, value in enumerate(prop.values):
                if not (isinstance(value, A.Name) and value.span.start == tok.start):
                    continue
                if block == "model" and prop.key.id == "layer" and i == 0 and value.id in schema.LAYERS:
                    return describe.describe_layer(value.id) or "", span
                if analysis.symbols.at(tok.start) is None:
                    doc = describe.describe_value(block, prop.key.id, value.id)
                    if doc:
                        return doc, span
    member = _member_doc(analysis, tok, extra_names)
    if member is not None:
        return member, span
    sym = analysis.symbols.at(tok.start)
    if sym is None:
        sym = (extra_names or {}).get(tok.text)
    if sym is None:
        return None
    return describe.describe_symbol(sym, analysis.symbols.models.get(sym.name)), span
