"""Execution infrastructure: task backends (serial, loky, dask) with tqdm progress bars, and
the resumable task cache (one folder of Parquet tables and a checked JSON file per task)."""
