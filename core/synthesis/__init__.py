"""Stage 2, sections II-B and III-B: synthetic velocities (sources, atmosphere, sampling), scenes and datasets."""
