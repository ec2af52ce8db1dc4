"""The work and its state: rq tasks, the take pipeline, models, the Redis store, sound check."""
