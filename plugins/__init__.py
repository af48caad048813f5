"""Tiny one-purpose Datasette plugins for the incidentwire catalog (loaded via plugins_dir)."""
