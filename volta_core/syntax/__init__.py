"""Front end: source text and spans, tokens, lexer, AST and the error-recovering parser."""
