"""Stage 3, sections III-C and IV-A: what the network sees, the networks, training, model files and metrics."""
