"""Writes of member care; one module per concept (visits, surveys, improvement actions)."""
