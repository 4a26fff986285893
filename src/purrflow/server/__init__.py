"""purrflow.server."""
