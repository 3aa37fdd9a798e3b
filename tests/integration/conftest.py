"""The fixtures of this tier (``redis_url``, ``redis_conn``: a real redis-server) live in
tests/conftest.py, shared with the reliability tier."""
