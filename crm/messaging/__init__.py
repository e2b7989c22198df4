"""The outbox: every email is a Message row, decided in the same transaction as its cause."""
