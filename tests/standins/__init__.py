"""Stand-in HTTP servers for the video providers (real servers on 127.0.0.1, one per test)."""
