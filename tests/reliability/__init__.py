"""Fast tests of RELIABILITY.md items no other test carried (docs/reliability.md maps every item to its tests)."""
