"""Fusion: incidents from detections, habitat risk from presence x threat."""
