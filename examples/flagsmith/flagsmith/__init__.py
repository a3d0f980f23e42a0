"""A small Flagsmith-shaped Django project that records its audit log in Hashtrail (seed 000)."""
