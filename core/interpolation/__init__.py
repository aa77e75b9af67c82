"""Stage 1, section III-A: sparse persistent-scatterer velocities to a dense map (modified matrix completion)."""
