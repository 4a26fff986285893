"""The rules of each resource: validate, write, notify. Nothing else writes.

One service per resource — sessions, projects and deployments, triggers, values, config, secrets,
identity, analytics, prompts, events — each built from the store, the group committer, a clock and
the few collaborators it needs, and announcing what others must hear through callbacks. The API, the
host operations of a running session (`host_ops.py`) and `purr run` all call them. Writes join the
caller's write batch (`GroupCommitter`); the caller decides when to wait for the commit (the server
answers no request before it).

Import the services from their modules; the composition root (`purrflow.platform`) builds them.
"""

__all__: list[str] = []
