"""Fair review: takes compared A/B at one loudness, and the day's selects screened together (the reel)."""
