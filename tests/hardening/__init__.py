"""Hardening suite (issue 5): hostile input, faults and secrets, tested like a gateway."""
