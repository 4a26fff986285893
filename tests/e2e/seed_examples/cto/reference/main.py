"""Every function of CTO.ai's Python SDK reference, and the prompt and ux details purrflow promises.

Run with TZ=America/Los_Angeles: `sdk.events()` sends zone-less local times, as the real client does.
"""

import json
import os
from datetime import datetime, timedelta

from cto_ai import prompt, sdk, ux

result = {}
result["host_os"] = sdk.get_host_os()
result["home_dir"] = sdk.home_dir()
result["interface"] = sdk.get_interface_type()
sdk.log("for the log only")

state = sdk.get_state_path()
with open(os.path.join(state, "note.txt"), "w") as note:
    note.write("kept for the workflow")
result["state_kept"] = open(os.path.join(state, "note.txt")).read()

result["config_set"] = sdk.config.set("REF_REGION", "eu-west-1")
result["config_get"] = sdk.config.get("REF_REGION")
result["config_missing"] = sdk.config.get("REF_NOTHING")
result["config_all"] = sdk.config.get_all()
result["config_delete"] = sdk.config.delete("REF_REGION")
result["config_delete_again"] = sdk.config.delete("REF_REGION")

result["secret_set"] = sdk.set_secret("REF_TOKEN", "tok-123")
result["secret_get"] = sdk.get_secret("REF_TOKEN")
result["secret_hidden"] = sdk.get_secret("REF_TOKEN", hidden=True)

result["user"] = sorted(sdk.user())
result["team"] = sorted(sdk.team())

since = datetime.now() - timedelta(minutes=5)  # local and zone-less, as the client's own default end is
sdk.track([], "", {"event_name": "deployment", "event_action": "succeeded", "branch": "main", "repo": "ref"})
sdk.track("release", ["deploy", "prod"], {"step": 2})
found = sdk.events(since.isoformat())
result["events"] = [(e["tags"], e["event"], e.get("event_name", e.get("step"))) for e in found]

sdk.start("follow-up")

result["channel"] = prompt.list("channel", "Which channel?", choices=["3", "2", "1"])
result["pick"] = prompt.autocomplete("pick", "Which one?", choices=["a", "b", "c"])
result["note"] = prompt.input("note", "A note?")
result["features"] = prompt.checkbox("features", "Features?", choices=["a", "b", "c"], default=["b"])
result["day"] = prompt.datetime("day", "Which day?", variant="date")
result["at"] = prompt.datetime("at", "What time?", variant="time")

ux.spinner_start("working")
ux.spinner_stop("worked")
ux.progress_bar_start(10, 2, "steps")
ux.progress_bar_advance(0)
ux.progress_bar_advance()
ux.progress_bar_stop("all steps")
ux.print(ux.bold("bold") + " " + ux.italic("italic"))
print("RESULT " + json.dumps(result))
