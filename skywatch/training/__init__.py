"""Training and evaluation of the shipped models (TorchGeo datasets, samplers, datamodule and task)."""
