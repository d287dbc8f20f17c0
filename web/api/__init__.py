"""The JSON API under /api/ for the same use cases and access rules as the pages, with its OpenAPI document."""

from web.api import tokens  # noqa: F401  (registers DELETE /api/token on the api blueprint)
