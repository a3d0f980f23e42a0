"""A small Enclava-shaped FastAPI + SQLAlchemy app whose audit log lives in Hashtrail (seed 003)."""
