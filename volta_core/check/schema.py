"""The schemas: every block key, value kind, range, allowed values and docs,
and every layer kind with its arguments — the single source of truth.

The checker validates against these tables, and completion, hover, the
language reference (docs) and the CLI read them. Adding a key or a layer kind
means adding one entry here (plus its runtime support).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class ValueSpec:
    """What one value position accepts.

    ``kind`` is one of ``int``, ``number`` (int or float), ``string``,
    ``bool`` or ``choice`` (one word of ``choices``); an ``int`` or ``number``
    with ``choices`` also accepts those words (``pad 1`` or ``pad same``). Ranges apply to numbers:
    ``minimum``/``maximum`` are inclusive unless ``exclusive_min``/``exclusive_max``.
    ``default`` is the value the runtime uses when the key is absent (None:
    none, or one the runtime computes); the docs render it, and
    ``train/data.py`` and ``train/autopilot.py`` read it.
    """

    name: str
    kind: str
    doc: str = ""
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    exclusive_min: bool = False
    exclusive_max: bool = False
    optional: bool = False
    default: object = None

    def range_text(self) -> str:
        lo = hi = ""
        if self.minimum is not None:
            lo = f"{'>' if self.exclusive_min else '≥'} {_num(self.minimum)}"
        if self.maximum is not None:
            hi = f"{'<' if self.exclusive_max else '≤'} {_num(self.maximum)}"
        return " and ".join(p for p in (lo, hi) if p)

    def interval_text(self) -> str:
        """The range as an interval, e.g. ``(0, 1]``; ``-inf``/``inf`` for a missing bound."""
        lo = "-inf" if self.minimum is None else _num(self.minimum)
        hi = "inf" if self.maximum is None else _num(self.maximum)
        opening = "(" if self.exclusive_min or self.minimum is None else "["
        closing = ")" if self.exclusive_max or self.maximum is None else "]"
        return f"{opening}{lo}, {hi}{closing}"

    def in_range(self, value: float) -> bool:
        if self.minimum is not None and (value <= self.minimum if self.exclusive_min else value < self.minimum):
            return False
        return not (
            self.maximum is not None
            and (value >= self.maximum if self.exclusive_max else value > self.maximum)
        )

    def describe(self) -> str:
        if self.kind == "choice":
            return "one of " + ", ".join(self.choices)
        base = {"int": "an integer", "number": "a number", "string": "a string", "bool": "`true` or `false`"}[
            self.kind
        ]
        rng = self.range_text()
        text = f"{base} {rng}" if rng else base
        return text + "".join(f" or `{c}`" for c in self.choices)

    def literal(self, value: object) -> str:
        """``value`` written as it would be in a program (``true``, ``"x"``, ``0.9``, ``relu``)."""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (int, float)):
            return _num(value)
        return f'"{value}"' if self.kind == "string" else str(value)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(x)


@dataclass(frozen=True, slots=True)
class PropertySpec:
    """One ``KEY value…`` line of a block.

    ``values`` describe positional values; when ``variadic`` the last one
    repeats (``min_values`` gives the least count). ``repeatable`` keys may
    appear on several lines (``layer``). ``only_for`` limits dataset keys to
    some ``type`` values. ``default_note`` explains the default: when it
    applies, or what chooses it when it is not one value.
    """

    key: str
    doc: str
    values: tuple[ValueSpec, ...]
    example: str
    variadic: bool = False
    min_values: int = 1
    repeatable: bool = False
    only_for: tuple[str, ...] = ()
    default_note: str = ""
    #: The line opens an indented block of ``layer`` lines (``residual``, ``repeat``);
    #: any other key with an indented block under it is an error.
    block: bool = False

    @property
    def default_doc(self) -> str:
        """The default as the docs show it: the values' defaults, then the note in parentheses."""
        literal = " ".join(v.literal(v.default) for v in self.values if v.default is not None)
        if literal and self.default_note:
            return f"{literal} ({self.default_note})"
        return literal or self.default_note

    @property
    def max_values(self) -> int | None:
        return None if self.variadic else len(self.values)

    @property
    def required_values(self) -> int:
        if self.variadic:
            return self.min_values
        return sum(1 for v in self.values if not v.optional)


@dataclass(frozen=True, slots=True)
class BlockSchema:
    name: str
    doc: str
    properties: dict[str, PropertySpec]

    def value(self, key: str) -> ValueSpec:
        """The (first) value of property ``key``: its kind, range and default."""
        return self.properties[key].values[0]

    def default(self, key: str) -> object:
        """What the runtime uses when ``key`` is absent (None: no default)."""
        return self.value(key).default


@dataclass(frozen=True, slots=True)
class LayerSpec:
    """A layer kind: positional ``args`` (optional ones last), named
    ``options`` (``stride 2``: the option's word, then its value, in any order
    after the required arguments), docs and params."""

    kind: str
    doc: str
    args: tuple[ValueSpec, ...]
    example: str
    params_doc: str = ""
    options: tuple[ValueSpec, ...] = ()

    def signature(self) -> str:
        parts = [self.kind]
        for a in self.args:
            parts.append(f"[{a.name}]" if a.optional else a.name)
        parts += [f"[{o.name} {_option_value(o)}]" for o in self.options]
        return " ".join(parts)

    def option(self, name: str) -> ValueSpec | None:
        return next((o for o in self.options if o.name == name), None)


def _option_value(o: ValueSpec) -> str:
    if o.kind == "bool":
        return "true|false"
    return "|".join(["N", *o.choices]) if o.choices else "N"


LAYER_KINDS: Final = (
    "dense", "relu", "sigmoid", "tanh", "gelu", "silu", "leaky_relu", "softmax", "dropout",
    "layernorm", "embedding", "positional", "attention", "transformer", "mean_pool", "last_token", "flatten",
    "conv", "maxpool", "avgpool", "global_avg_pool", "batchnorm",
)
ACTIVATIONS: Final = ("relu", "sigmoid", "tanh", "gelu", "silu", "leaky_relu", "softmax")
OUTPUTS: Final = ("softmax", "sigmoid", "none")
LOSSES: Final = ("mse", "cross_entropy", "bce")
OPTIMIZERS: Final = ("sgd", "momentum", "adam", "adamw", "rmsprop", "adagrad")
DATASET_TYPES: Final = ("xor", "synthetic", "blobs", "spiral", "csv", "npz", "text", "images")
AUGMENTATIONS: Final = ("flip", "crop")
TEXT_TASKS: Final = ("classify", "next_token")
TOKEN_UNITS: Final = ("char", "word")
DEVICES: Final = ("cpu", "gpu", "auto")
PRECISIONS: Final = ("fp32", "auto")
SCHEDULES: Final = ("constant", "cosine", "step")
DETERMINISM: Final = ("strict", "balanced")
DISTRIBUTED: Final = ("data_parallel",)


def _p(key: str, doc: str, *values: ValueSpec, example: str, **kw: object) -> tuple[str, PropertySpec]:
    return key, PropertySpec(key, doc, tuple(values), example, **kw)  # type: ignore[arg-type]


_INT1 = ValueSpec("N", "int", minimum=1)
_SEED = ValueSpec("SEED", "int", "seed of this block's random generator", minimum=0)
_SEED_0 = ValueSpec("SEED", "int", _SEED.doc, minimum=0, default=0)

MODEL: Final = BlockSchema(
    "model",
    "Declares a network: either the `layers` shorthand for a dense MLP or an explicit `input` + `layer` stack.",
    dict(
        [
            _p(
                "layers",
                "Dense MLP shorthand: input width, hidden widths, output width. Expands to "
                "`dense`, activation, `dense`, … (no activation after the last); `layernorm yes` and "
                "`dropout P` add their layers after each activation.",
                ValueSpec("WIDTH", "int", "a layer width", minimum=1),
                example="layers 784 256 128 10",
                variadic=True,
                min_values=2,
            ),
            _p(
                "activation",
                "Activation between the dense layers of `layers` (not after the last).",
                ValueSpec("NAME", "choice", choices=ACTIVATIONS, default="relu"),
                example="activation relu",
            ),
            _p(
                "output",
                "Final activation of the `layers` shorthand. `softmax` is folded into "
                "`cross_entropy` for training and `sigmoid` into `bce`.",
                ValueSpec("NAME", "choice", choices=OUTPUTS, default="none"),
                example="output softmax",
            ),
            _p(
                "dropout",
                "Dropout of the `layers` shorthand: a `dropout P` layer after each hidden activation "
                "(after its `layernorm`, if any); 0 adds none.",
                ValueSpec("P", "number", "drop probability", minimum=0, maximum=1, exclusive_max=True, default=0.0),
                example="dropout 0.2",
            ),
            _p(
                "layernorm",
                "Layer normalisation in the `layers` shorthand: `yes` adds a `layernorm` after each hidden "
                "activation (before its dropout).",
                ValueSpec("YES", "choice", choices=("yes", "no"), default="no"),
                example="layernorm yes",
            ),
            _p(
                "loss",
                "Training loss: `mse` (mean over all elements), `cross_entropy` (mean softmax "
                "cross-entropy on logits, integer targets), `bce` (binary cross-entropy on logits).",
                ValueSpec("NAME", "choice", choices=LOSSES),
                example="loss cross_entropy",
                default_note="by output: softmax → cross_entropy, sigmoid → bce, else mse",
            ),
            _p(
                "input",
                "Input of an explicit stack: `input N` (feature vectors of width N), "
                "`input tokens L` (sequences of L integer token ids) or `input image C H W` "
                "(images: C channels of H×W pixels, channels first as in PyTorch).",
                ValueSpec("N", "int", "feature width, or `tokens` or `image`", minimum=1),
                ValueSpec("L", "int", "sequence length after `tokens`; channels after `image`", minimum=1, optional=True),
                ValueSpec("H", "int", "image height", minimum=1, optional=True),
                ValueSpec("W", "int", "image width", minimum=1, optional=True),
                example="input 784",
            ),
            _p(
                "layer",
                "One layer of an explicit stack, in order: `layer KIND args…` (see layer kinds).",
                ValueSpec("KIND", "choice", choices=LAYER_KINDS),
                example="layer dense 128 relu",
                variadic=True,
                min_values=1,
                repeatable=True,
            ),
            _p(
                "residual",
                "A block whose output is added to its input: the indented `layer` lines (and blocks) "
                "below it form the inner stack. Without `project` the block's input and output shapes "
                "must match; with `project` a learned 1×1 `conv` (stride from the spatial ratio, no "
                "bias) and a `batchnorm` map the input to the output's shape (images only).",
                ValueSpec("project", "choice", "learn a projection of the input", choices=("project",), optional=True),
                example="residual project",
                repeatable=True,
                block=True,
            ),
            _p(
                "repeat",
                "N copies of the indented `layer` lines (and blocks) below it, each with its own weights.",
                ValueSpec("N", "int", "number of copies", minimum=1),
                example="repeat 2",
                repeatable=True,
                block=True,
            ),
            _p(
                "optimizer",
                "Default optimizer (and learning rate) for `train` statements on this model.",
                ValueSpec("NAME", "choice", choices=OPTIMIZERS),
                ValueSpec("LR", "number", "learning rate", minimum=0, exclusive_min=True, optional=True),
                example="optimizer adam 0.001",
            ),
            _p(
                "precision",
                "Numeric precision of the weights.",
                ValueSpec("P", "choice", choices=PRECISIONS, default="fp32"),
                example="precision fp32",
            ),
            _p("seed", "Seed of the weight initialisation.", _SEED_0, example="seed 7"),
        ]
    ),
)

DATASET: Final = BlockSchema(
    "dataset",
    "Declares a dataset: a built-in toy (`xor`, `synthetic`, `blobs`, `spiral`) or a file (`csv`, `npz`, `text`).",
    dict(
        [
            _p(
                "type",
                "Kind of data: xor (the four XOR rows), synthetic (seeded regression data), blobs and "
                "spiral (seeded classification toys), csv, npz, text, images (a folder with one "
                "sub-folder of PNG/JPEG files per class).",
                ValueSpec("TYPE", "choice", choices=DATASET_TYPES),
                example="type csv",
            ),
            _p(
                "source",
                "Path of the data file, relative to the .vt file.",
                ValueSpec("PATH", "string"),
                example='source "data/digits.csv"',
                only_for=("csv", "npz", "text", "images"),
            ),
            _p(
                "target",
                "Column (csv, text) or array (npz) holding the label or regression target.",
                ValueSpec("NAME", "string", default="y"),
                example='target "label"',
                only_for=("csv", "npz", "text"),
                default_note="for npz; csv and text require it",
            ),
            _p(
                "features",
                "Name of the feature array in an npz file.",
                ValueSpec("NAME", "string", default="x"),
                example='features "x"',
                only_for=("npz",),
            ),
            _p(
                "text",
                "Column holding the text of a `text` dataset.",
                ValueSpec("NAME", "string"),
                example='text "review"',
                only_for=("text",),
            ),
            _p(
                "size",
                "Height and width every image is resized to (bilinear); without it all images must "
                "have the same size.",
                ValueSpec("H", "int", "height in pixels", minimum=1),
                ValueSpec("W", "int", "width in pixels", minimum=1),
                example="size 28 28",
                only_for=("images",),
            ),
            _p(
                "channels",
                "Colour channels of the decoded images: 1 (greyscale) or 3 (RGB).",
                ValueSpec("C", "int", minimum=1, maximum=3, default=3),
                example="channels 1",
                only_for=("images",),
            ),
            _p(
                "normalize",
                "Pixels (scaled to [0, 1]) become (x - MEAN) / STD: one value for all channels, or one "
                "MEAN and one STD per channel (MEAN… then STD…).",
                ValueSpec("V", "number", "means, then standard deviations (> 0)"),
                example="normalize 0.5 0.25",
                variadic=True,
                min_values=2,
                only_for=("images", "npz"),
            ),
            _p(
                "augment",
                "Random augmentation of the training split, drawn from the dataset seed and the epoch "
                "(deterministic and replayable): `augment flip` (horizontal flip with probability "
                "0.5) or `augment crop P` (zero-pad by P pixels, then a random crop back to size). "
                "One line per augmentation.",
                ValueSpec("KIND", "choice", choices=AUGMENTATIONS),
                ValueSpec("P", "int", "padding of `crop`", minimum=1, optional=True),
                example="augment flip",
                repeatable=True,
                only_for=("images", "npz"),
            ),
            _p("batch", "Mini-batch size.", ValueSpec("N", "int", minimum=1, default=32), example="batch 64"),
            _p(
                "shuffle",
                "Reshuffle the training split every epoch (from the seed).",
                ValueSpec("B", "bool", default=True),
                example="shuffle true",
            ),
            _p(
                "split",
                "Training fraction; the rest is the validation split.",
                ValueSpec("F", "number", minimum=0, maximum=1, exclusive_min=True, default=1.0),
                example="split 0.8",
                default_note="no validation split",
            ),
            _p("seed", "Seed of shuffling and of generated data.", _SEED_0, example="seed 1"),
            _p(
                "samples",
                "Number of generated examples.",
                ValueSpec("N", "int", minimum=1, default=256),
                example="samples 1000",
                only_for=("synthetic", "blobs", "spiral"),
            ),
            _p(
                "classes",
                "Number of classes of a generated classification toy.",
                ValueSpec("K", "int", minimum=2, default=2),
                example="classes 3",
                only_for=("blobs", "spiral"),
            ),
            _p(
                "vocab",
                "Vocabulary size of a `text` dataset (ids 0 = padding, 1 = unknown).",
                ValueSpec("N", "int", minimum=3),
                example="vocab 5000",
                only_for=("text",),
            ),
            _p(
                "seq_len",
                "Sequence length of a `text` dataset (padded / truncated).",
                ValueSpec("L", "int", minimum=1, default=32),
                example="seq_len 32",
                only_for=("text",),
                default_note="when the model has no `input tokens L`",
            ),
            _p(
                "task",
                "What a `text` dataset predicts: `classify` (one label per row of a CSV) or `next_token` "
                "(language modelling on a plain-text `source`: targets are the next token at every "
                "position, windows of `seq_len` tokens; the first `split` of the text trains, the rest "
                "validates).",
                ValueSpec("TASK", "choice", choices=TEXT_TASKS, default="classify"),
                example="task next_token",
                only_for=("text",),
            ),
            _p(
                "tokens",
                "Tokens of a `task next_token` dataset: `char` (every character, as is) or `word` "
                "(lower-cased words, as for classification).",
                ValueSpec("UNIT", "choice", choices=TOKEN_UNITS, default="char"),
                example="tokens char",
                only_for=("text",),
            ),
        ]
    ),
)

TRAIN: Final = BlockSchema(
    "train",
    "Optional settings of a `train MODEL on DATASET` statement; anything not given is chosen by autopilot "
    "and printed with the reason.",
    dict(
        [
            _p("epochs", "Passes over the training split.", ValueSpec("N", "int", minimum=1, default=10), example="epochs 10"),
            _p(
                "steps",
                "Stop after N optimizer steps (overrides epochs).",
                ValueSpec("N", "int", minimum=1),
                example="steps 500",
            ),
            _p(
                "optimizer",
                "Optimizer (PyTorch's update formulas).",
                ValueSpec("NAME", "choice", choices=OPTIMIZERS),
                example="optimizer adam",
                default_note="autopilot: adam/adamw by model size",
            ),
            _p(
                "lr",
                "Learning rate.",
                ValueSpec("LR", "number", minimum=0, exclusive_min=True),
                example="lr 0.001",
                default_note="autopilot by model size",
            ),
            _p("batch", "Mini-batch size (overrides the dataset's).", ValueSpec("N", "int", minimum=1), example="batch 32"),
            _p(
                "momentum",
                "Momentum of `momentum` and `rmsprop`.",
                ValueSpec("M", "number", minimum=0, maximum=1, exclusive_max=True, default=0.9),
                example="momentum 0.9",
                default_note="for `momentum`; 0 for `rmsprop`",
            ),
            _p(
                "weight_decay",
                "L2 weight decay (decoupled for adamw).",
                ValueSpec("W", "number", minimum=0, default=0.0),
                example="weight_decay 0.01",
            ),
            _p(
                "clip_grad",
                "Clip the global gradient norm to this value.",
                ValueSpec("C", "number", minimum=0, exclusive_min=True),
                example="clip_grad 1.0",
            ),
            _p(
                "lr_schedule",
                "Learning-rate schedule.",
                ValueSpec("NAME", "choice", choices=SCHEDULES, default="constant"),
                example="lr_schedule cosine",
            ),
            _p(
                "warmup_steps",
                "Linear warm-up steps before the schedule.",
                ValueSpec("N", "int", minimum=0, default=0),
                example="warmup_steps 100",
            ),
            _p(
                "early_stopping",
                "Stop when the validation loss has not improved for this many epochs.",
                ValueSpec("PATIENCE", "int", minimum=1),
                example="early_stopping 3",
            ),
            _p(
                "device",
                "Where to train; `auto` says which it chose and why. No silent fallback.",
                ValueSpec("D", "choice", choices=DEVICES, default="auto"),
                example="device auto",
            ),
            _p(
                "precision",
                "Numeric precision of training.",
                ValueSpec("P", "choice", choices=PRECISIONS),
                example="precision fp32",
                default_note="fp32 on cpu",
            ),
            _p(
                "determinism",
                "`strict`: bit-identical reruns; `balanced`: may use faster non-deterministic kernels and says so.",
                ValueSpec("MODE", "choice", choices=DETERMINISM, default="strict"),
                example="determinism strict",
            ),
            _p("seed", "Seed of shuffling and dropout for this run.", _SEED, example="seed 0"),
            _p(
                "distributed",
                "Data-parallel training over MPI (docs/distributed.md): each rank trains on its shard of "
                "every batch and the gradients are summed in rank order, so a run is bit-reproducible for "
                "a given number of ranks; batchnorm uses the whole batch's statistics, as in one process. Launch with `volta run --ranks N` or `mpiexec -n N volta run`; "
                "an error without mpi4py (`pip install 'volta-lang[mpi]'`). The default when started on "
                "more than one rank.",
                ValueSpec("MODE", "choice", choices=DISTRIBUTED),
                example="distributed data_parallel",
                default_note="single process; data_parallel on more than one rank",
            ),
            _p(
                "log_every",
                "Without a terminal, print one line every N epochs.",
                ValueSpec("N", "int", minimum=1, default=1),
                example="log_every 1",
            ),
        ]
    ),
)

IMPORT: Final = BlockSchema(
    "import",
    'Options of `import "file.onnx" as NAME with KEY VALUE…`.',
    dict(
        [
            _p(
                "batch",
                "Binds a symbolic batch dimension of the ONNX graph to this size.",
                ValueSpec("N", "int", minimum=1),
                example="batch 1",
            ),
            _p(
                "loss",
                "Training loss of the imported model (default: `cross_entropy` when the graph ends in Softmax, "
                "`bce` when it ends in Sigmoid, else `mse`); a matching trailing activation is folded for training.",
                ValueSpec("NAME", "choice", choices=LOSSES),
                example="loss cross_entropy",
            ),
        ]
    ),
)

BLOCKS: Final = {b.name: b for b in (MODEL, DATASET, TRAIN, IMPORT)}

_NONE: tuple[ValueSpec, ...] = ()
_CAUSAL = ValueSpec("causal", "choice", "mask future positions", choices=("causal",), optional=True)

LAYERS: Final = {
    spec.kind: spec
    for spec in (
        LayerSpec(
            "dense",
            "Fully connected layer `x @ W + b` (per position on sequences), optionally followed by an activation.",
            (
                ValueSpec("N", "int", "output width", minimum=1),
                ValueSpec("activation", "choice", choices=ACTIVATIONS, optional=True),
            ),
            "layer dense 128 relu",
            "weight [in, N] (Xavier/Glorot-uniform), bias [N] (zeros)",
        ),
        LayerSpec("relu", "max(x, 0).", _NONE, "layer relu"),
        LayerSpec("sigmoid", "1 / (1 + exp(-x)); folded into `bce` when last.", _NONE, "layer sigmoid"),
        LayerSpec("tanh", "Hyperbolic tangent.", _NONE, "layer tanh"),
        LayerSpec("gelu", "Gaussian error linear unit (exact, erf form).", _NONE, "layer gelu"),
        LayerSpec("silu", "x * sigmoid(x).", _NONE, "layer silu"),
        LayerSpec(
            "leaky_relu",
            "x if x > 0 else alpha * x.",
            (ValueSpec("alpha", "number", "negative slope", minimum=0, optional=True, default=0.01),),
            "layer leaky_relu 0.01",
        ),
        LayerSpec("softmax", "Softmax over the last axis; folded into `cross_entropy` when last.", _NONE, "layer softmax"),
        LayerSpec(
            "dropout",
            "Zeroes each activation with probability P during training (seeded), identity at inference.",
            (ValueSpec("P", "number", "drop probability", minimum=0, maximum=1, exclusive_max=True),),
            "layer dropout 0.1",
        ),
        LayerSpec(
            "layernorm",
            "Layer normalisation over the last axis.",
            _NONE,
            "layer layernorm",
            "scale [D] (ones), shift [D] (zeros)",
        ),
        LayerSpec(
            "embedding",
            "Token ids → vectors; needs `input tokens L`.",
            (ValueSpec("VOCAB", "int", "vocabulary size", minimum=1), ValueSpec("DIM", "int", "width", minimum=1)),
            "layer embedding 512 64",
            "table [VOCAB, DIM] (normal(0, 0.02))",
        ),
        LayerSpec(
            "positional",
            "Learned position embeddings added to a sequence of length LEN.",
            (ValueSpec("LEN", "int", "sequence length", minimum=1),),
            "layer positional 32",
            "table [LEN, D] (normal(0, 0.02))",
        ),
        LayerSpec(
            "attention",
            "Multi-head self-attention with a residual connection.",
            (ValueSpec("HEADS", "int", "number of heads (must divide the width)", minimum=1), _CAUSAL),
            "layer attention 4 causal",
            "query/key/value/out weights [D, D] (Xavier) and biases [D]",
        ),
        LayerSpec(
            "transformer",
            "Pre-norm transformer block: LN → MHA → residual → LN → FFN(gelu) → residual.",
            (
                ValueSpec("HEADS", "int", "number of heads (must divide the width)", minimum=1),
                ValueSpec("FF", "int", "feed-forward width", minimum=1),
                _CAUSAL,
            ),
            "layer transformer 4 128 causal",
            "attention weights, two layernorms, ff weights [D, FF] and [FF, D] with biases",
        ),
        LayerSpec("mean_pool", "Mean over the sequence positions: [L, D] → [D].", _NONE, "layer mean_pool"),
        LayerSpec("last_token", "The last position of a sequence: [L, D] → [D].", _NONE, "layer last_token"),
        LayerSpec("flatten", "[C, H, W] → [C·H·W] (row-major, as `torch.flatten`); [L, D] → [L·D].", _NONE, "layer flatten"),
        LayerSpec(
            "conv",
            "2-D cross-correlation of an image, as `torch.nn.Conv2d`: OUT channels, K×K kernel; "
            "`pad same` keeps the size (stride 1). An activation word after it adds that layer.",
            (
                ValueSpec("OUT", "int", "output channels", minimum=1),
                ValueSpec("K", "int", "kernel size", minimum=1),
                ValueSpec("activation", "choice", choices=ACTIVATIONS, optional=True),
            ),
            "layer conv 32 3 pad same",
            "weight [OUT, C/groups, K, K], bias [OUT] (uniform ±1/sqrt(fan_in), as PyTorch)",
            options=(
                ValueSpec("stride", "int", "step between windows", minimum=1, default=1),
                ValueSpec("pad", "int", "zero padding on every side, or `same`", minimum=0, choices=("same",), default=0),
                ValueSpec("dilation", "int", "spacing of the kernel's taps", minimum=1, default=1),
                ValueSpec("groups", "int", "channel groups; must divide C and OUT", minimum=1, default=1),
                ValueSpec("bias", "bool", "learn a bias", default=True),
            ),
        ),
        LayerSpec(
            "maxpool",
            "Maximum over K×K windows (stride K unless given); the gradient goes to the first "
            "maximum of a window in row-major order.",
            (ValueSpec("K", "int", "window size", minimum=1),),
            "layer maxpool 2",
            options=(
                ValueSpec("stride", "int", "step between windows; K when not given", minimum=1),
                ValueSpec("pad", "int", "padding on every side, at most K/2", minimum=0, default=0),
            ),
        ),
        LayerSpec(
            "avgpool",
            "Mean over K×K windows (stride K unless given); padding counts in the mean, as in PyTorch.",
            (ValueSpec("K", "int", "window size", minimum=1),),
            "layer avgpool 2",
            options=(
                ValueSpec("stride", "int", "step between windows; K when not given", minimum=1),
                ValueSpec("pad", "int", "zero padding on every side, at most K/2", minimum=0, default=0),
            ),
        ),
        LayerSpec("global_avg_pool", "Mean over each channel's pixels: [C, H, W] → [C].", _NONE, "layer global_avg_pool"),
        LayerSpec(
            "batchnorm",
            "Batch normalisation over channels ([C, H, W]) or features ([D]), as "
            "`torch.nn.BatchNorm2d/1d`: batch statistics and a running-statistics update in `train`, "
            "the running statistics in `evaluate` and `infer`.",
            _NONE,
            "layer batchnorm",
            "scale [C] (ones), shift [C] (zeros); buffers running_mean [C] (zeros), running_var [C] (ones), "
            "saved with the weights but not trained",
            options=(
                ValueSpec("momentum", "number", "weight of a batch in the running statistics",
                          minimum=0, maximum=1, default=0.1),
                ValueSpec("eps", "number", "added to the variance", minimum=0, exclusive_min=True, default=1e-5),
            ),
        ),
    )
}
assert tuple(LAYERS) == LAYER_KINDS

#: Members readable in expressions (``m.loss``), with their docs.
MODEL_MEMBERS: Final = {
    "loss": "training loss of the last epoch (float)",
    "accuracy": "training accuracy of the last epoch (classification, float)",
    "val_loss": "validation loss of the last epoch (float)",
    "val_accuracy": "validation accuracy of the last epoch (float)",
    "steps": "optimizer steps taken so far (int)",
    "epochs": "epochs trained so far (int)",
    "params": "number of trainable parameters (int)",
}
DATASET_MEMBERS: Final = {
    "size": "number of examples (int)",
    "train_size": "examples in the training split (int)",
    "val_size": "examples in the validation split (int)",
    "batch": "mini-batch size (int)",
}
MEMBER_TYPES: Final = {
    "loss": "float", "accuracy": "float", "val_loss": "float", "val_accuracy": "float",
    "steps": "int", "epochs": "int", "params": "int",
    "size": "int", "train_size": "int", "val_size": "int", "batch": "int",
}

#: Which keys each dataset type requires.
DATASET_REQUIRED: Final = {
    "csv": ("source", "target"),
    "npz": ("source",),
    "text": ("source", "text", "target"),
}
#: Keys a `text` dataset with `task next_token` requires (instead of the above).
NEXT_TOKEN_REQUIRED: Final = ("source",)
