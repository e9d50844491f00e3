// Generated from volta_core (tests/test_jupyterlab_extension.py checks it):
// the statement keywords (volta_core.syntax.tokens.KEYWORDS) and the layer
// kinds (volta_core.check.schema.LAYER_KINDS).

export const KEYWORDS: readonly string[] = [
  "and", "as", "dataset", "elif", "else", "evaluate", "export", "false", "fn", "for", "from", "if", "import",
  "in", "infer", "inspect", "load", "loop", "model", "not", "on", "or", "print", "return", "save", "train",
  "true",
];

export const LAYER_KINDS: readonly string[] = [
  "attention", "avgpool", "batchnorm", "conv", "dense", "dropout", "embedding", "flatten", "gelu",
  "global_avg_pool", "last_token", "layernorm", "leaky_relu", "maxpool", "mean_pool", "positional", "relu",
  "sigmoid", "silu", "softmax", "tanh", "transformer",
];
