"""The leak-scan corpus of RELIABILITY.md T-L1 and its tests."""
