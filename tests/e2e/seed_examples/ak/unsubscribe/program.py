import autokitteh  # added: the seed's example uses autokitteh without importing it

def on_trigger(event):
    sub_id = autokitteh.subscribe("slack_conn")

    # ... process some events ...

    # Clean up when done
    autokitteh.unsubscribe(sub_id)
