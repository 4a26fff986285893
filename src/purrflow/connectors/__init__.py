"""The host's side of integrations, at the edge: checking a connection's credentials against its
service, verifying and normalising signed inbound deliveries, minting short-lived tokens.

Everything here speaks HTTP to the outside (httpx) and knows nothing of the store or the sessions; the
connection service (`services/connections.py`) calls it with a connection's fields and records what it
answers. The runner's clients live apart, in `purrflow.integrations`.
"""
