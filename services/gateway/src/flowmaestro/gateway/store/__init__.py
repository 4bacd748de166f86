"""PostgreSQL stores of the read model; every query is scoped to its owner."""
