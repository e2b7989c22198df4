"""Accounts and login: users are global, their rights live in workspace memberships."""
