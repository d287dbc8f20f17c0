"""The JSON API under /api/ for the same use cases and access rules as the pages, with its OpenAPI document."""
