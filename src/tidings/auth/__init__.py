"""API keys: creation, hashed storage, bearer authentication and permissions."""
