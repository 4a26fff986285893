from datetime import timedelta  # added: the seed's example uses these without importing them
import autokitteh  # added

def on_trigger(event):
    # Wait for either GitHub or Slack event
    github_sub = autokitteh.subscribe("github_conn", "event_type == 'push'")
    slack_sub = autokitteh.subscribe("slack_conn", "event_type == 'message_posted'")

    # Returns whichever event arrives first
    event = autokitteh.next_event(github_sub, slack_sub, timeout=timedelta(hours=1))
    print(f"Received event from: {event.connection_id}")
