"""purrflow.compat."""
