from datetime import timedelta
import autokitteh

def on_webhook(event):
    sub_id = autokitteh.subscribe("webhook_trigger", "data.method == 'POST'")

    # Wait up to 5 minutes
    event = autokitteh.next_event(sub_id, timeout=timedelta(minutes=5))

    if event:
        print(f"Received event: {event.data}")
    else:
        print("Timeout - no event received")
