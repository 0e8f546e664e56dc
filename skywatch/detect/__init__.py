"""Disturbance detectors: spectral baselines now; TorchGeo models arrive with the detection issue."""
