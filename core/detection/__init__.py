"""Stage 4, sections II-A, III-D and IV-C: probability maps, areas, pass combination, thresholding, scoring."""
