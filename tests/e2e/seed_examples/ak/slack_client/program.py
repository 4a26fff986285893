from autokitteh.slack import slack_client

slack = slack_client("slack_conn_name")
slack.chat_postMessage(channel="#general", text="Hello!")

def on_webhook(event):  # added: an entry point, so that a session imports the example
    print("imported")  # added
