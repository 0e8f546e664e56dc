"""Maximum-likelihood spatially explicit capture-recapture (SECR) for camera-trap re-ID records."""
