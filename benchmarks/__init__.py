"""Volta's benchmark suite: side by side with PyTorch eager, plus the perf gate (docs/performance.md)."""
