"""Schemas (the single source of truth for keys, values and layer kinds),
semantic analysis, shape checking and the symbol table."""
