"""Say "hello" in a channel and the bot listens to that channel until someone says "bye".

Try it without Slack:
    purr events send chat --project chat_bot --type message --data '{"channel": "C1", "text": "hello"}'
"""

from purrflow import sdk
from purrflow.sdk import Event


def converse(event: Event) -> list[str]:
    channel = event.data.channel
    sub = sdk.subscribe("chat", f'data.channel == "{channel}"')
    heard: list[str] = []
    while True:
        message = sdk.next_event(sub, timeout=3600)
        if message is None or message.text == "bye":
            break
        heard.append(message.text)
        print(f"heard in {channel}: {message.text}")
    sdk.unsubscribe(sub)
    return heard
