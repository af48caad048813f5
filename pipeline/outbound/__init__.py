"""What leaves incidentwire for others: the open data export, feeds, mail (digests and alerts)."""
