"""Runtime handles for models and datasets held by a Session."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from volta_core.nn.network import Network
from volta_core.train.data import Dataset, ModelShape, load_dataset, reuse_for
from volta_core.train.optim import Optimizer
from volta_core.train.report import TrainReport


@dataclass(eq=False)
class ModelHandle:
    """A model value: its network (weights), optimizer state and training history."""

    volta_type = "model"

    name: str
    net: Network
    seed: int
    optimizer_default: tuple[str, float | None] | None = None
    optimizer: Optimizer | None = None
    steps: int = 0
    epochs: int = 0
    metrics: dict[str, float] = field(default_factory=dict)
    last_report: TrainReport | None = None
    #: The dataset it was last trained on and that dataset's ``normalize`` values, when it
    #: normalises (``infer`` on raw values says that it does not apply them).
    normalized_by: tuple[str, str] | None = None

    def shape(self) -> ModelShape:
        return ModelShape(
            self.net.input_width, self.net.output_width, self.net.info.token_input, self.net.classification
        )


@dataclass(eq=False)
class DatasetHandle:
    """A dataset value. Generated data shaped by a model (``synthetic``) is
    built on first use with that model, once per model shape. A file is read
    without a model first (the ``dataset`` statement checks it); a model
    whose loss reads the targets differently gets its own read, once per
    model shape (the model's loss decides: docs/formats.md)."""

    volta_type = "dataset"

    name: str
    props: Mapping[str, object]
    base_dir: Path | None
    loaded: Dataset | None = None
    _by_shape: dict[ModelShape, Dataset] = field(default_factory=dict)

    @property
    def needs_model(self) -> bool:
        return self.props.get("type") == "synthetic"

    def load(self, shape: ModelShape | None = None) -> Dataset:
        if not self.needs_model:
            if self.loaded is None:
                self.loaded = load_dataset(self.name, self.props, self.base_dir)
            if shape is None:
                return self.loaded
            if shape not in self._by_shape:
                reused = reuse_for(self.loaded, shape, "seq_len" in self.props)
                self._by_shape[shape] = reused or load_dataset(self.name, self.props, self.base_dir, shape)
            return self._by_shape[shape]
        if shape is None:
            if self.loaded is not None:
                return self.loaded
            return load_dataset(self.name, self.props, self.base_dir, None)  # raises the DataError
        if shape not in self._by_shape:
            self._by_shape[shape] = load_dataset(self.name, self.props, self.base_dir, shape)
        self.loaded = self._by_shape[shape]
        return self.loaded
