import autokitteh

def on_trigger(event):
    # Subscribe to Slack messages
    sub_id = autokitteh.subscribe(
        "slack_conn",
        "event_type == 'message_posted' && data.channel == 'C12345'"
    )
    print(f"Subscribed with ID: {sub_id}")
