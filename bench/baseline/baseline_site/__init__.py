"""The smallest Django project that answers like an ingest endpoint: the benchmark's ceiling."""
