import autokitteh  # added: the seed's example uses autokitteh without importing it

def handler(event: autokitteh.Event):
    # Access via attributes
    body = event.data.body

    # Access via dict syntax
    body = event['data']['body']

    # Get session ID
    print(f"Session: {event.session_id}")
