"""The MCP front door: tools over stdio and streamable HTTP."""
