"""Execution backends. Each backend imports the IR and registers its kernels with
:func:`volta_core.ir.ops.register_kernels`; the IR never imports a backend."""
