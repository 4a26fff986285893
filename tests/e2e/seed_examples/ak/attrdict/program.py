from handler import handler  # added: the seed's Event example (handler.py), whose handler this example tests

from autokitteh import AttrDict

# For testing event handlers
event = AttrDict({
    "data": {
        "body": "hello",
        "method": "POST"
    },
    "session_id": "ses_123"
})

handler(event)
