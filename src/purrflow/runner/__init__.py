"""purrflow.runner."""
