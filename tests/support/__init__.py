"""Test support: real database servers, data builders, API clients."""
