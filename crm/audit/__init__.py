"""The audit log: who changed or read what, when and from where. Append-only."""
