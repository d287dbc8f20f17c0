"""What administrators use to watch and correct running cases: case lists, a case on its diagram, interventions
and metrics, all answered from the projection tables (empty until the monitor is built)."""
