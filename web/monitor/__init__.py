"""The administrators monitor running cases."""
