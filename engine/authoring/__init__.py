"""What process owners do to procedures: checking diagrams and deploying them as immutable versions (the studio,
four-eyes publishing and migration of running cases go here)."""
