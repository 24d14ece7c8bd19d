"""Studies: TOML-configured sweeps over models, run as resumable tasks, with reports."""
