"""qjump.analysis: pandas tables and matplotlib figures built on qjump results."""
