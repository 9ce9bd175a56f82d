"""Infrastructure shared by every stage: PostgreSQL servers, DSN handling, connections."""
