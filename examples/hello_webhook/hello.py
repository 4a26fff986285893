"""The smallest useful project: a webhook that logs who called it."""

from purrflow.sdk import Event


def on_hello(event: Event) -> str:
    data = event.data
    # ?name=Ada, or a JSON body {"name": "Ada"} (as `purr run … --data` sends it)
    name = data.url.query.get("name") or (data.body.json or {}).get("name") or "world"
    print(f"{data.method} {data.url.path} from {data.headers.get('User-Agent', 'someone')}")
    print(f"hello, {name}!")
    return f"hello, {name}!"
