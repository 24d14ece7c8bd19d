"""Execution infrastructure: task backends (serial, loky, dask) and the resumable task cache."""
