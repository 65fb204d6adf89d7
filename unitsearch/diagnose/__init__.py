"""Signal propagation at initialisation (paper Eqs. 4-8)."""
