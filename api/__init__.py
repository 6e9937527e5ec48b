"""metakg service: the FastAPI app, the CLI and the Python HTTP client."""
