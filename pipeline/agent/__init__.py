"""The agent interface: what the MCP tools (plugins/iw_mcp.py) answer, as plain data. Reads only."""
