"""incidentwire: AI agent safety incident tracker."""
