"""Workspaces (one jail system each) and the memberships that give people a role in them."""
