"""Diagrams in, running cases out: parsing and checking diagrams, the restricted expression language, compiled
specs, one case on SpiffWorkflow, its saved state, and the review clock read from the diagrams. No database, no
web, nothing of casework."""
