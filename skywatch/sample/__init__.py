"""Deterministic SYNTHETIC sample scenes and camera-trap records (pure: arrays and tables, no I/O).

Everything made here is synthetic and says so: the writer in :mod:`skywatch.jobs.sample` stamps
``synthetic: true`` into every file.
"""
