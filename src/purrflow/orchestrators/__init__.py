"""purrflow.orchestrators."""
