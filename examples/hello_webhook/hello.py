"""The smallest useful project: a webhook that logs who called it."""

from purrflow.sdk import Event


def on_hello(event: Event) -> str:
    data = event.data
    name = data.url.query.get("name", "world")
    print(f"{data.method} {data.url.path} from {data.headers.get('User-Agent', 'someone')}")
    print(f"hello, {name}!")
    return f"hello, {name}!"
