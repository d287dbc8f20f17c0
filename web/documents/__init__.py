"""The case's documents: its anonymisation key, authored and uploaded documents, the chronology and the packs."""
