"""purrflow.cli."""
