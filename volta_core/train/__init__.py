"""Training: datasets, optimizers, schedules, the training loop, checkpoints and run records."""
