"""Loading a dataset for a model, and the run-time checks that its features
and targets fit the model (shapes the checker cannot see: they depend on the
file's contents). Used by ``train``, ``evaluate`` and dataset members.
"""

from __future__ import annotations

from collections.abc import Mapping

from volta_core.lang.arguments import error_diagnostic, unsupported
from volta_core.lang.context import Context
from volta_core.nn.network import UnsupportedLayer
from volta_core.present import format_shape
from volta_core.syntax.source import Span
from volta_core.train.data import DataError, Dataset, load_dataset
from volta_core.train.runtime import DatasetHandle, ModelHandle


def load_data(
    ctx: Context, data: DatasetHandle, model: ModelHandle | None, span: Span, at: Mapping[str, Span] | None = None
) -> Dataset:
    """``data`` loaded (shaped for ``model`` when it is generated); a data error is a
    diagnostic at the line of the property it is about when ``at`` (key → span of
    its values) has it, else at ``span``."""
    try:
        loaded = data.load(model.shape() if model is not None else None)
        if model is not None and loaded.type in ("csv", "npz") and model.net.classification:
            # A label the model cannot predict: read the file again with the model's shape,
            # which names the file, row and column of the first such label.
            limit = 2 if model.net.output_width == 1 else model.net.output_width
            labels = [s.y for s in (loaded.train, loaded.val) if s is not None and s.y.size]
            if any(y.dtype.kind in "iu" and int(y.max()) >= limit for y in labels):
                load_dataset(data.name, data.props, data.base_dir, model.shape())
        return loaded
    except DataError as err:
        where = at.get(err.key, span) if at is not None and err.key is not None else span
        raise error_diagnostic(ctx, err, where, "while loading this dataset") from None


def ready_data(ctx: Context, model: ModelHandle, handle: DatasetHandle, span: Span) -> Dataset:
    """The model's graph can be built and the dataset is loaded and fits it."""
    try:
        model.net.check_supported()
        model.net.build(1, training=True)
    except UnsupportedLayer as err:
        raise unsupported(ctx, err, span) from None
    data = load_data(ctx, handle, model, span)
    check_fit(ctx, model, data, span)
    return data


def check_fit(ctx: Context, model: ModelHandle, data: Dataset, span: Span) -> None:
    """The dataset's features and targets must fit the model's input, output and loss."""
    net = model.net
    images = (data.sample_shape, net.info.input_shape)
    if net.info.image_input and len(data.sample_shape) == 3 and images[0] != images[1]:
        raise ctx.fail(
            "E0506", f"`{data.name}` has images {format_shape(images[0])} but model `{model.name}` takes "
            f"{format_shape(images[1])}", span, label="image shapes differ",
            helps=(_image_help(data.sample_shape, net.info.input_shape),),
        )
    if not net.info.token_input and data.n_features != net.input_width:
        raise ctx.fail(
            "E0506", f"`{data.name}` has {data.n_features} features but model `{model.name}` takes "
            f"{net.input_width}", span, label="widths differ",
            helps=("make the model's input width match the dataset's feature columns",),
        )
    if net.info.token_input:
        _check_tokens(ctx, model, data, span)
    y = data.train.y
    width = net.output_width
    per_position = net.per_position and y.ndim == 2
    classes = (y.ndim == 1 or per_position) and y.dtype.kind in "iu"
    problem = help_ = ""
    if net.loss == "cross_entropy" and net.per_position and y.ndim == 1:
        problem = f"`{data.name}` has one label per example but model `{model.name}` predicts per position"
        help_ = "add `layer mean_pool` or `layer last_token` before the classification head"
    elif net.loss == "cross_entropy" and not net.per_position and y.ndim == 2 and y.dtype.kind in "iu":
        problem = f"`{data.name}` has a target per position but model `{model.name}` predicts one per example"
        help_ = "remove `mean_pool` / `last_token` so the model predicts at every position"
    elif net.loss == "cross_entropy":
        top = int(y.max()) + 1 if classes and y.size else 0
        if not classes:
            problem = f"`{data.name}` has regression targets but model `{model.name}` uses `cross_entropy`"
            help_ = "use `loss mse` for regression targets"
        elif top > width:
            problem = f"`{data.name}` has {top} classes but model `{model.name}` outputs {width} logits"
            help_ = f"make the last layer {top} wide"
    elif net.loss == "bce":
        if not classes or (y.size and int(y.max()) > 1):
            problem = f"`bce` needs 0/1 labels, but `{data.name}` has other targets"
            help_ = "use `cross_entropy` for several classes, or `mse` for regression"
    else:
        t = 1 if y.ndim == 1 else y.shape[1]
        if classes and width > 1:
            problem = (f"`{data.name}` has class labels but model `{model.name}` predicts {width} values "
                       "with `mse`")
            help_ = "use `loss cross_entropy` (or `output softmax`) for classification"
        elif t != width:
            values = "1 target value" if t == 1 else f"{t} target values"
            problem = f"`{data.name}` has {values} per example but model `{model.name}` predicts {width}"
            help_ = f"make the last layer {t} wide"
    if problem:
        raise ctx.fail("E0505", problem, span, label="targets do not fit the model", helps=(help_,))


def _image_help(found: tuple[int, ...], wanted: tuple[int, ...]) -> str:
    if found[0] != wanted[0]:
        return f"set `channels {wanted[0]}` in the dataset (images folders), or declare `input image {found[0]} …`"
    return f"set `size {wanted[1]} {wanted[2]}` in the dataset (images folders), or declare `input image {' '.join(map(str, found))}`"


def _check_tokens(ctx: Context, model: ModelHandle, data: Dataset, span: Span) -> None:
    """Token data must match a token model's sequence length and embedding vocabulary."""
    net = model.net
    length = net.input_width
    problem = help_ = ""
    if data.train.x.dtype.kind not in "iu":
        problem = f"`{data.name}` holds feature vectors but model `{model.name}` takes token ids"
        help_ = "use a `text` dataset (or integer ids in an npz file) for token models"
    elif data.n_features != length:
        problem = f"`{data.name}` has sequences of {data.n_features} tokens but model `{model.name}` takes {length}"
        help_ = f"set `seq_len {length}` in the dataset"
    else:
        first = net.info.layers[0] if net.info.layers else None
        rows = first.param_shapes[0][1][0] if first is not None and first.kind == "embedding" else None
        top = data.vocab if data.vocab is not None else int(data.train.x.max()) + 1 if data.train.x.size else 0
        if rows is not None and top > rows:
            problem = f"`{data.name}` has a vocabulary of {top} ids but `embedding` of model `{model.name}` has {rows}"
            help_ = f"use `layer embedding {top} …` or set `vocab {rows}` in the dataset"
    if problem:
        raise ctx.fail("E0506", problem, span, label="token data does not fit the model", helps=(help_,))
