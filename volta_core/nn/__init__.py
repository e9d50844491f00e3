"""Layer and loss definitions → IR graphs, and weight initialisation."""

from volta_core.nn.network import Network, UnsupportedLayer, init_params, width_values

__all__ = ["Network", "UnsupportedLayer", "init_params", "width_values"]
