"""Background work under real parts: worker processes, the broker, SMTP."""
