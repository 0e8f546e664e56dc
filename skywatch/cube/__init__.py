"""Pure xarray in, xarray out: masks, indices (composites arrive with the imagery issue)."""
