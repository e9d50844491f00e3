"""Model interchange: the versioned contract, ONNX import and ONNX export (docs/onnx.md).

``import_model`` and ``export_graph`` are what the language's ``import "m.onnx"``
and ``export m as "f.onnx"`` statements call.
"""

from volta_core.interop.contract import (
    CONTRACT_VERSION,
    Contract,
    ContractError,
    ContractNode,
    InteropError,
    TensorSpec,
    supported_ops,
)
from volta_core.interop.onnx_export import OnnxExportError, export_graph, graph_to_onnx
from volta_core.interop.onnx_import import ImportedModel, OnnxImportError, import_model, load_onnx
from volta_core.interop.onnx_info import describe_onnx

__all__ = [
    "CONTRACT_VERSION",
    "Contract",
    "ContractError",
    "ContractNode",
    "ImportedModel",
    "InteropError",
    "OnnxExportError",
    "OnnxImportError",
    "TensorSpec",
    "describe_onnx",
    "export_graph",
    "graph_to_onnx",
    "import_model",
    "load_onnx",
    "supported_ops",
]
