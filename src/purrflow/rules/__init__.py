"""The rules of purrflow's resources that both sides of a session check alike.

Values, config, secrets, analytics events and prompts have limits and formats. The services enforce
them on the server; the SDK's in-memory stand-in (outside a session) enforces the same ones, so a
handler's unit test fails where the server would. Stdlib-only: the SDK imports these.
"""

__all__: list[str] = []
