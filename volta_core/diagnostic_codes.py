"""The registry of diagnostic codes and their long explanations.

``E0xxx`` are errors, ``W0xxx`` warnings. Ranges: ``00xx`` lexical, ``01xx``
syntax, ``02xx`` properties and layers (schemas), ``03xx`` names and scopes,
``04xx`` types, ``05xx`` shapes, ``06xx`` runtime, ``08xx`` files, ``09xx``
features not available yet, ``9999`` internal errors. ``volta explain CODE``
prints an entry; ``docs/diagnostics.md`` is generated from this table.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CodeInfo:
    code: str
    title: str
    explanation: str


_TABLE: list[tuple[str, str, str]] = [
    # ---------------------------------------------------------------- lexical
    ("E0001", "tab character outside a string", """
Volta indents with spaces only, exactly 4 per level, so that the block
structure looks the same in every editor. A tab anywhere outside a string is
rejected. The quick fix replaces the tabs with spaces (tab stops every 4
columns).

    model m
    →   layers 2 4 1      # error: tab
        layers 2 4 1      # ok
"""),
    ("E0002", "indentation is not a multiple of 4 spaces", """
Each block level is indented by exactly 4 spaces. An indentation of 2, 3, 5,
… spaces is ambiguous and rejected; the quick fix rounds to the nearest level.
"""),
    ("E0003", "unexpected indentation", """
A line is indented deeper than the block structure allows: either it follows
a line that does not open a block (only `model`, `dataset`, `train`, `infer`,
`fn`, `loop`, `for`, `if`, `elif` and `else` open blocks), or it is indented by
more than one level at once.
"""),
    ("E0004", "unterminated string", """
Strings are double-quoted and end on the same line they start on. Add the
closing `"`; to put a newline inside a string use the escape `\\n`.
"""),
    ("E0005", "unknown escape sequence in string", """
Strings understand the escapes `\\"`, `\\\\`, `\\n`, `\\t` and `\\r`. Any other
backslash sequence is an error. To write a literal backslash, double it.
"""),
    ("E0006", "unexpected character", """
The character cannot start any token of the language. Identifiers are
`[A-Za-z_][A-Za-z0-9_]*`, comments start with `#` or `//`, and the operators
are `+ - * / % == != < <= > >= = ( ) , . ..`.
"""),
    ("E0007", "number literal out of range", """
Integers are signed 64-bit (from -9223372036854775808 to 9223372036854775807).
A literal outside that range is an error rather than a silent wrap. Write it as
a float (`1e20`) if you meant a floating-point value. Float literals are
64-bit IEEE numbers; a literal that would overflow to infinity (`1e999`) is
an error too.
"""),
    ("E0008", "malformed number", """
Numbers are `123`, `1.5`, `1e-3` or `2.5E+4`: a fraction needs digits on both
sides of the dot and an exponent needs digits after `e`.
"""),
    # ----------------------------------------------------------------- syntax
    ("E0100", "unexpected token", """
The parser expected something else at this point of the line. The message
names what it expected. Parsing resumes at the next line, so the other errors
in the file are still reported.
"""),
    ("E0101", "unknown statement", """
A line starts with a word that is neither a keyword nor a valid statement. When
the word looks like a keyword (`trian` for `train`), the fix replaces it. A
line that reads as a declaration nothing uses, named like a keyword and with a
value that keyword takes (`prnt "hi"`, `inspct brain`), is that statement
misspelt too; name it `_prnt` to declare an unused variable on purpose.
Statements are: `NAME EXPR` (declaration), `NAME = EXPR` (assignment),
`print`, `fn`, `return`, `loop`, `for`, `if/elif/else`, `model`, `dataset`,
`train`, `evaluate`, `infer`, `save`, `load`, `import`, `export`, `inspect`.
"""),
    ("E0102", "expected an indented block", """
A block header (`model`, `dataset`, `fn`, `loop`, `for`, `if`, `elif`, `else`,
`infer` without `on`) must be followed by at least one line indented 4 more
spaces.
"""),
    ("E0103", "comparisons cannot be chained", """
`a < b < c` is ambiguous in Volta and rejected. Write `a < b and b < c`.
"""),
    ("E0104", "expression nested too deeply", """
Expressions may nest at most 64 levels of parentheses, calls or operators on
one line. Deeper nesting is almost always generated code gone wrong; split the
expression with intermediate variables.
"""),
    ("E0105", "expected `on`", """
`train`, `evaluate` and `infer … on "file"` name their data after the keyword
`on`: `train brain on digits`. The fix inserts the missing `on`.
"""),
    ("E0106", "unexpected tokens at end of line", """
One statement per line: the statement ended but more tokens follow. Remove
them or move them to their own line.
"""),
    ("E0107", "`elif` or `else` without a preceding `if`", """
`elif` and `else` must directly follow an `if` (or `elif`) block at the same
indentation.
"""),
    ("E0108", "blocks nested too deeply", """
Blocks may nest at most 64 levels deep. Split deeply nested code into
functions.
"""),
    ("E0109", "keyword used as a name", """
Keywords (`model dataset train evaluate infer save load import export inspect
print fn return loop for in if elif else on as from and or not true false`)
cannot name variables, functions, parameters, models or datasets. Property
keys such as `layers` or `lr` are not keywords and may be used as names.
"""),
    ("E0110", "unclosed parenthesis", """
An opening `(` has no matching `)` on the same line. Expressions do not
continue across lines.
"""),
    ("E0111", "expected an expression", """
An expression (a number, string, `true`/`false`, a name, a call, or a
parenthesised expression) was expected here.
"""),
    ("E0112", "misplaced statement", """
Some statements only make sense in one place: property lines (`KEY value`)
belong inside `model`, `dataset` and `train` blocks; `input` rows inside
`infer` blocks; other statements cannot appear inside those blocks.
"""),
    # --------------------------------------------------------- properties
    ("E0201", "unknown property", """
The key is not a property of this block. It is an error rather than a
warning: a misspelt key would otherwise be ignored and the program would run
with the default instead (`epoch 100` would train the default 10 epochs,
`outptu softmax` would drop the output activation). The help suggests the
closest known key and the fix replaces it. `volta explain` and the language
reference list every key of every block.

    train brain on digits
        epoch 100            # error[E0201]: did you mean `epochs`?

`use FN` (the original Volta's models backed by a function) is not supported:
describe the layers with an explicit `input` + `layer` stack instead.
"""),
    ("W0201", "property not used by this dataset type", """
The key is a dataset property, but not one that this `type` of dataset reads
(e.g. `samples` on a `csv` dataset, whose size is the file's). It has no
effect; the help lists the types that use it and the fix removes the line.
"""),
    ("E0202", "wrong kind of value for a property", """
Each property expects values of a particular kind (an integer, a number, a
string, a boolean or one word of a fixed set). The message names what was
expected. Variables may be used where a number, string or boolean is expected.
"""),
    ("E0203", "unknown value for a property", """
The value is not one of the allowed words for this property. The help lists
the allowed values and suggests the closest one.

    activation reluu     # error[E0203]: did you mean `relu`?
"""),
    ("E0204", "value out of range", """
The value is of the right kind but outside the allowed range: `epochs` and
`batch` must be at least 1, `lr` must be positive, `split` lies in (0, 1],
`dropout` in [0, 1), and so on. The message states the range.
"""),
    ("E0205", "missing required property", """
A block lacks a property it cannot work without, e.g. a model without
`layers` or `input`, a dataset without `type`, a csv dataset without
`source`. The fix inserts a skeleton line to complete.
"""),
    ("E0206", "duplicate property", """
A property is given twice in one block. Only `layer` lines may repeat (they
stack in order). Remove one of the lines.
"""),
    ("E0207", "wrong number of values for a property", """
The property takes a fixed number of values (or a range of numbers of values)
and got a different count. `layers` needs at least an input and an output
width.
"""),
    ("E0208", "unknown layer kind", """
`layer KIND args…` names one of the layer kinds in the language reference:
dense, relu, sigmoid, tanh, gelu, silu, leaky_relu, softmax, dropout,
layernorm, embedding, positional, attention, transformer, mean_pool,
last_token, flatten.
"""),
    ("E0209", "wrong arguments for a layer", """
Each layer kind takes positional arguments in a fixed order (`dense N
[activation]`, `embedding VOCAB DIM`, `attention HEADS [causal]`, …). The
message says which argument is missing, extra or of the wrong kind.
"""),
    ("E0210", "conflicting model properties", """
A model is described either by the `layers` shorthand or by an explicit
`input` + `layer` stack, not both. Properties that only apply to one form
(e.g. `activation` with an explicit stack) are rejected.
"""),
    # ---------------------------------------------------------------- names
    ("E0301", "undefined name", """
The name is not declared in this scope or any enclosing one. Declare it first
(`NAME value`) or fix the spelling: the help suggests the closest name in
scope. Functions see global names and their own parameters, never the
locals of their caller.
"""),
    ("E0302", "declaration shadows an outer name", """
Volta forbids declaring a name that already exists in an enclosing scope (as
the original Volta did): a shadowed variable is a frequent source of silent
bugs. Rename the inner one, or assign with `NAME = value` if you meant to
update the outer variable.
"""),
    ("E0303", "name declared twice in the same scope", """
`NAME value` declares a new name. To change an existing variable use
assignment: `NAME = value` (the fix rewrites the line). Models, datasets and
functions can be declared only once per program.
"""),
    ("E0304", "assignment to an undeclared variable", """
`NAME = value` updates an existing variable. To create one, declare it with
`NAME value` (the fix removes the `=`).
"""),
    ("E0305", "undefined function", """
The called name is not a function in scope. Functions are declared with
`fn NAME(params)` at top level.
"""),
    ("E0306", "wrong number of arguments", """
A function was called with a different number of arguments than it declares.
"""),
    ("E0307", "`return` outside a function", """
`return` ends the enclosing `fn`; at top level (or in a notebook cell outside
a function) there is nothing to return from.
"""),
    ("E0308", "undefined model", """
The statement names a model that is not declared. Declare it with a `model
NAME` block first; the help suggests the closest declared model.
"""),
    ("E0309", "undefined dataset", """
The statement names a dataset that is not declared. Declare it with a
`dataset NAME` block first; the help suggests the closest declared dataset.
"""),
    ("E0310", "name refers to the wrong kind of thing", """
The name exists but is not what the statement needs: e.g. `train x on d` where
`x` is a variable rather than a model, or calling a model like a function.
"""),
    ("E0311", "duplicate parameter name", """
Each parameter of a function must have a distinct name.
"""),
    ("E0312", "unknown member", """
Models expose `loss`, `accuracy`, `val_loss`, `val_accuracy`, `steps`,
`epochs` and `params`; datasets expose `size`, `train_size`, `val_size`,
`batch`. The help suggests the closest member.
"""),
    ("E0313", "cannot assign to this name", """
Only variables can be assigned with `=`. Models, datasets, functions and loop
variables cannot be reassigned.
"""),
    ("E0314", "name used before its declaration", """
At top level a name must be declared before the line that uses it (the file
runs top to bottom). Functions are the exception for their bodies: a function
body may use globals declared later, because it runs when called.
"""),
    # ---------------------------------------------------------------- types
    ("E0401", "operand types do not match the operator", """
Arithmetic needs numbers (`int` widens to `float`), `+` also joins two
strings, and comparisons `< <= > >=` need two numbers or two strings. Nothing
else is converted implicitly: `"a" + 1` is an error.
"""),
    ("E0402", "condition is not a boolean", """
`if`, `elif`, `and`, `or` and `not` need `bool` values; numbers and strings
are not truthy in Volta. Compare explicitly, e.g. `if n != 0`.
"""),
    ("E0403", "wrong type for a unary operator", """
Unary `-` needs a number; `not` needs a boolean.
"""),
    ("E0404", "wrong type for a loop bound", """
`loop N`, `for i in N` and `for i in A..B` need integers.
"""),
    ("E0405", "member access on a value without members", """
Only models and datasets have members (`m.loss`, `d.size`).
"""),
    ("E0406", "wrong type for an argument", """
The value passed has the wrong type for this position (e.g. a path must be a
string).
"""),
    # ---------------------------------------------------------------- shapes
    ("E0501", "layer input has the wrong shape", """
The layer cannot accept the shape produced by the layer before it, e.g. an
`embedding` fed with feature vectors instead of token ids, or `positional`
on a non-sequence. The message shows both shapes.
"""),
    ("E0502", "attention heads do not divide the width", """
Multi-head attention splits the model width into `HEADS` equal parts, so the
width must be divisible by the number of heads.
"""),
    ("E0503", "loss does not match the model output", """
`cross_entropy` needs class logits (output width ≥ 2), `bce` needs one logit
per example (width 1), `mse` regresses the raw output. A trailing `softmax`
only goes with `cross_entropy` and a trailing `sigmoid` with `bce` (they are
folded into the loss).
"""),
    ("E0504", "sequence length mismatch", """
`positional LEN` learns positions for sequences of exactly `LEN` tokens: it
must equal the `input tokens L` length.
"""),
    ("E0505", "model output does not match the dataset's labels", """
The model emits one prediction per sequence position but the dataset has one
label per example (or the reverse). Pool the sequence (`layer mean_pool` or
`layer last_token`) before the classification head.
"""),
    ("E0506", "model and dataset widths differ", """
The dataset's feature width (or number of classes) does not fit the model's
input (or output) width.
"""),
    ("E0507", "a residual block's shapes do not fit", """
A `residual` block adds its input to the output of its inner layers, so both
must have the same shape. When the inner layers change the shape (more
channels, a strided convolution), write `residual project`: a learned 1×1
convolution with the spatial ratio as its stride, followed by a batchnorm,
maps the input to the output's shape. A projection needs images whose height
and width shrink by the same whole factor.
"""),
    ("E0508", "a convolution or pooling window does not fit", """
A `conv`, `maxpool` or `avgpool` layer does not fit its input: the window
(kernel size, dilated) is larger than the padded image, `groups` does not divide
the input and output channels, `pad same` is used with a stride other than 1,
or a pooling layer pads by more than half its window (as PyTorch requires).
The message names the sizes; change the kernel, padding, stride or groups.
"""),
    # --------------------------------------------------------------- runtime
    ("E0601", "division by zero", """
Integer and float division and `%` by zero are errors (no `inf` or `nan` is
produced silently). Check the divisor first.
"""),
    ("E0602", "integer overflow", """
Integers are signed 64-bit; an operation whose result does not fit is an error
instead of wrapping around. Use floats (`2.0 * x`) for large magnitudes.
"""),
    ("E0603", "call depth limit exceeded", """
Function calls may nest at most 256 deep (the default limit). Deeper
recursion almost always means a missing base case.
"""),
    ("E0604", "type error at run time", """
A value had the wrong type when the operation ran; the message names the
types involved.
"""),
    ("E0605", "negative count", """
`loop N` needs `N ≥ 0`.
"""),
    ("E0606", "value is not a finite number", """
An operation produced `inf` or `nan` where a finite number is required
(for example a loop bound or an integer conversion), or a model's prediction
(`infer`) is not finite: its output overflows float32, and no such prediction
is printed or written.
"""),
    ("E0607", "execution interrupted", """
Execution was stopped by the user (Ctrl-C or the notebook's interrupt) at a
statement boundary. Everything that finished before the interrupt is kept.
"""),
    ("E0608", "value too large", """
A string grew past the maximum length (2**27 characters), something would
need more memory than the machine has, or the program ran out of memory. A
string that doubles in a loop reaches the limit quickly; build smaller values.
Before allocating in proportion to a number in the program — a model's
weights (a layer 2**63 − 1 wide), generated `samples`, a text dataset's
`seq_len`, a training batch — Volta estimates the memory and stops with this
error, naming the statement and the size, instead of swapping or failing
half-way.
"""),
    ("E0620", "loss is not finite", """
The loss became `nan` or `inf` during training, on the validation split after
an epoch, or in `evaluate`. Training stops at once (no silent continuation,
no early stopping on `nan`); the message names the optimizer step and epoch.
The failing step's update is not applied, so the weights are those after the
previous step. Usual causes: a learning rate that is too high, exploding
gradients (try `clip_grad 1.0`), or values that overflow float32 in the
forward pass. When the loss is not finite before the `train` statement
changed any weight, the learning rate cannot be the cause: look at layer
arguments (such as `leaky_relu`'s slope) and the scale of the data.
"""),
    ("E0621", "model metric not available", """
A model member such as `m.loss` or `m.val_accuracy` was read before it had a
value: metrics exist after `train` (or `evaluate`). `accuracy` exists only
for classification models (`cross_entropy`, `bce`), and the `val_` metrics
only when the dataset has a validation split (`split 0.8`).
"""),
    ("E0622", "training device not available", """
`device gpu` was requested but no usable GPU is available; the message says
what is missing (PyCUDA not installed, the NVIDIA driver not loadable, or no
CUDA device). Volta never falls back to the CPU silently: use `device cpu`,
or `device auto` to let autopilot choose and print its reason. `volta doctor`
reports the CUDA state.
"""),
    ("E0624", "GPU failure during training", """
The GPU backend failed while training: its kernels did not compile, cuBLAS
could not be loaded, the device ran out of memory, or a kernel found an index
out of range (a class label or token id outside the model's range). The
message names which. The weights are those after the last completed step;
the session stays usable, and `device cpu` trains the same program on the CPU.
"""),
    ("E0625", "weights are not finite", """
An optimizer step made a weight `nan` or `inf`: training stops at once and
the message names the step and the first such parameter (unlike a non-finite
loss, which is caught before the update, this step was applied). The usual
cause is a learning rate so large that the update overflows float32
(`lr 1e39`). `save` refuses a model whose weights are not finite, so such
weights never reach a checkpoint; `load` a good checkpoint or declare the
model again, then train with a smaller `lr` (or `clip_grad`).
"""),
    ("E0626", "distributed training needs MPI", """
`distributed data_parallel` (or `volta run --ranks N`, or a process started
by `mpiexec` on more than one rank) trains over MPI, but mpi4py or an MPI
library is missing. Volta never falls back to a single process silently:
install them with `pip install 'volta-lang[mpi]'` (mpi4py and the MPICH
wheel, which brings `mpiexec`), or remove `distributed`. Distributed
training runs on the CPU, so `device gpu` is refused with it. See
docs/distributed.md.
"""),
    ("E0627", "distributed training stopped", """
A data-parallel job could not continue: a rank stopped answering within
`VOLTA_MPI_TIMEOUT` seconds (default 120) while the ranks exchanged
gradients, a rank ended (killed, out of memory), or, in strict determinism,
the ranks' weights stopped being identical. One diagnostic names what
happened and every rank is stopped; rank 0 writes no checkpoint or record
after it (writes are atomic, so none is half-written). See docs/distributed.md.
"""),
    ("E0628", "native CPU kernels not available", """
`VOLTA_CPU_KERNELS=native` asks for the CPU backend's native convolution kernels,
but this install cannot run them: the extension was not built (no C compiler
at install time, or not an x86-64 machine) or the CPU lacks AVX2 and FMA. The
message says which. Volta never switches kernels silently: unset the variable
(native where available, else NumPy), or set `VOLTA_CPU_KERNELS=numpy`. `volta
doctor` shows which convolution kernels run. See docs/performance.md.
"""),
    ("E0623", "invalid inference input file", """
`infer MODEL on "in.csv" as "out.csv"` needs a CSV file with a header row
and one numeric column per model input feature, in the model's order. The
message names the file, row and column of the first problem.
"""),
    # ----------------------------------------------------------------- files
    ("E0801", "cannot read or write a file", """
The file does not exist or cannot be read, or a file cannot be written. Paths
in a `.vt` program are relative to the file that contains them. Volta reads
regular files only (not a named pipe or device such as `/dev/zero`, which could
block or never end). It never replaces a read-only file, writes through a
symbolic link only to an existing file, and refuses a dangling link or a loop
of links (see "Writing files" in docs/formats.md).
"""),
    ("E0802", "file is not valid UTF-8", """
Volta sources are UTF-8. The message gives the byte offset of the first
invalid byte; re-save the file as UTF-8.
"""),
    ("E0803", "invalid dataset file", """
A `csv`, `npz` or `text` dataset file cannot be used. The message names the
file and, where it applies, the row (1-based, the header is row 1) and the
column: a missing header or target column, a non-numeric or empty cell, a
ragged row (wrong number of columns), a class label that is negative, not an
integer or out of range for the model, `nan`/`inf` values or values beyond
float32's range (models compute in float32), an `npz` archive
without the named arrays or with pickled objects, features and targets of
different lengths. Files over 2 GiB are rejected. See `docs/formats.md`.
"""),
    ("E0804", "invalid checkpoint file", """
`load` read a file that is not a valid Volta checkpoint (a safetensors file):
it is truncated, its header is not valid JSON, a tensor has an unknown dtype
(or one NumPy cannot hold), too many dimensions or offsets that do not match
its shape, the format version is newer than this Volta, the checksum does not
match because the file was modified after it was written, the weights are not
finite, or the training metadata is invalid (`steps`/`epochs` that are not
counts, optimizer settings or state that are incomplete or do not fit the
model). A failing `load` changes nothing. Save the model again to get a valid
file.
"""),
    ("E0805", "checkpoint does not match the model", """
The checkpoint's parameters differ from the model's: the message names the
first parameter (in sorted order) that is missing, extra or shaped
differently, with both shapes. The checkpoint was saved from a model with a
different architecture; declare the same layers, or save a new checkpoint.
"""),
    ("E0806", "invalid run record", """
`volta verify` read a file that is not a valid run record: it is not JSON,
nests arrays and objects too deeply, repeats a key in one object or a setting
in one train statement, has an unsupported `format`, or a field is missing or
has the wrong type (the message names it, e.g. `trains[0].epochs[2].loss`).
Records are written by `volta run FILE --record R`.
"""),
    ("E0807", "invalid ONNX file", """
`import "m.onnx"` (or `volta info m.onnx`) read a file that is not a usable
ONNX model: the bytes are not an ONNX protobuf (truncated, or another kind of
file), the model fails `onnx.checker` (a node uses a value before it is
defined, a cycle, a missing initializer or graph input, an unknown opset, a
type mismatch…), the file is over the 2 GiB limit, or its external data is
missing, too short or outside the model's folder. The message repeats the
checker's first line. `volta check` validates imported files that exist when
the program is checked. See docs/onnx.md.
"""),
    ("E0808", "unsupported ONNX operator", """
The ONNX graph uses operators Volta cannot import (or ones from another
domain, named with it: `ai.onnx.ml::Scaler`). The message names the first such
node, its op and opset, and lists every unsupported op of the model with its
count; `volta info m.onnx` lists all the file's ops and docs/onnx.md the
supported ones. Export the model without those ops (e.g. decompose them), or
ask for them to be supported.
"""),
    ("E0809", "unsupported ONNX type or shape", """
A graph input, initializer, constant or cast uses a dtype Volta does not
support (only float32, float64, int32, int64 and bool), or a dimension cannot
be resolved statically: only axis 0 (the batch) may be symbolic, and it needs
a size (`import "m.onnx" as m with batch N`) unless the model is used at any
batch size.
"""),
    ("E0810", "ONNX graph cannot be lowered", """
The ONNX file is valid and uses supported ops, but one node cannot be turned
into Volta's IR: a value that must be known at import time (a Reshape's shape,
Slice bounds, Pad widths, Resize scales, a Pow exponent) depends on runtime
data (the message names the input), an attribute or input is not supported
(named), shapes do not broadcast, an attribute is out of range, or names are
defined twice. The message names the node, its op type, the opset and the
reason.
"""),
    ("E0811", "cannot export to ONNX", """
`export m as "f.onnx"` could not express the model's inference graph in ONNX
opset 17 (the message names the IR node and op), or the result failed
`onnx.checker`. Nothing was written; a previous file at the path is unchanged.
"""),
    ("E0812", "ONNX graph is not a single-input model", """
The file imports, but Volta models take exactly one input and give exactly
one floating-point output that share the batch dimension at axis 0 (and
`cross_entropy` needs a `[batch, classes]` output). Export a graph with one
input and one output, or choose another `loss`.
"""),
    # ------------------------------------------------------------ not yet
    ("E0901", "statement cannot run yet", """
The statement parses and checks fully (so editors and `volta check` validate
it), but this build cannot execute it: a model whose layer widths are not
known when the program is checked, or a layer the compiler cannot build into
its graph. Nothing was silently skipped: execution stops here, saying what is
missing.
"""),
    # -------------------------------------------------------------- warnings
    ("W0101", "unused variable", """
The variable is declared but never read. Remove it, use it, or start its
name with `_` to say it is intentionally unused.
"""),
    ("W0102", "unused function", """
The function is declared but never called. Start its name with `_` to keep
it without the warning.
"""),
    ("W0103", "unused parameter", """
The parameter is never read in the function body. Start its name with `_` to
mark it intentionally unused.
"""),
    ("W0104", "condition is constant", """
The condition is built only from literals, so it is always true or always
false and one branch can never run.
"""),
    ("W0105", "unreachable code", """
The statement follows a `return` in the same block and can never run.
"""),
    ("W0106", "empty range", """
The range's end is not greater than its start, so the loop body never runs.
"""),
    ("W0107", "unused model or dataset", """
The model or dataset is declared but no statement uses it.
"""),
    # -------------------------------------------------------------- internal
    ("E9999", "internal error", """
Volta hit a bug in itself. Please report it with the input that triggered it
and the output of `volta doctor`; run with `--debug` to include the Python
traceback in the report.
"""),
]

CODES: dict[str, CodeInfo] = {code: CodeInfo(code, title, text) for code, title, text in _TABLE}
