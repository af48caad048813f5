"""Schema and migrations for the incidentwire SQLite database."""
