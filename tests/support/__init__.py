"""Helpers shared by tests: free ports, waiting for servers, real local HTTP endpoints."""
