"""purrflow.integrations."""
