"""Video providers, one module each. Nothing here imports from `bot` or `jobs`."""
