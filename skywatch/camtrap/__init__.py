"""Camera-trap records: Camtrap DP reading, effort, independent events, presence surfaces."""
