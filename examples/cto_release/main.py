"""A CTO.ai release workflow, written against the `cto-ai` package and run on purrflow unmodified."""

import os
from datetime import datetime, timedelta

from cto_ai import prompt, sdk, ux

me = sdk.user()
team = sdk.team()
ux.print(f"Hello {me['username']} of {team['name']}, on {sdk.get_host_os()}")
ux.spinner_start("reading the team's settings")
region = sdk.config.get("DEFAULT_REGION")
sdk.config.set("LAST_RELEASER", me["username"])
ux.spinner_stop("settings read")

service = prompt.input(name="service", message="Service to release", default="api")
replicas = prompt.number(name="replicas", message="Replicas", default=2, minimum=1, maximum=10)
channel = prompt.list(name="channel", message="Channel", choices=["stable", "beta"], default="stable")
region = prompt.autocomplete(name="region", message="Region", choices=["eu-west-1", "us-east-1"], default=region)
checks = prompt.checkbox(name="checks", message="Checks to run", choices=["lint", "unit", "e2e"])
notes = prompt.editor(name="notes", message="Release notes")
when = prompt.datetime(name="when", message="Release at", variant="date", minimum="2020-01-01T00:00:00Z")
approver_token = prompt.secret(name="approver_token", message="Approver token")
password = prompt.password(name="deploy_password", message="Deploy password")
go = prompt.confirm(name="go", message=f"Release {service} x{replicas} to {channel}?", default=True)

registry_token = sdk.get_secret("REGISTRY_TOKEN")
signing_key = sdk.get_secret("SIGNING_KEY", hidden=True)  # missing: the person is asked for it
kept = sdk.set_secret("REGISTRY_TOKEN", "rotated-value")  # exists: the person is asked before overwriting

ux.progress_bar_start(len(checks) or 1, 0, "running checks")
for _ in checks:
    ux.progress_bar_advance(1)
ux.progress_bar_stop("checks done")

sdk.track(
    ["release", service],
    "deployment",
    {
        "event_name": "deployment",
        "event_action": "succeeded" if go else "failed",
        "repo": service,
        "branch": "main",
    },
)
since = (datetime.utcnow() - timedelta(hours=1)).isoformat()
tracked = sdk.events(since)

summary = {
    "user": me,
    "team": team,
    "service": service,
    "replicas": replicas,
    "channel": channel,
    "region": region,
    "checks": checks,
    "notes": notes,
    "when": when,
    "go": go,
    "secret_lengths": [len(registry_token), len(signing_key), len(approver_token), len(password)],
    "overwrite": kept,
    "events": len(tracked),
    "release_channel": os.environ["RELEASE_CHANNEL"],
    "env_region": os.environ["DEFAULT_REGION"],
    "bold": ux.bold("done"),
}
sdk.log("summary", summary)
ux.print("RESULT " + __import__("json").dumps(summary, sort_keys=True))
