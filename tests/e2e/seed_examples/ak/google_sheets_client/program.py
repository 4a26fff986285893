from autokitteh.google import google_sheets_client

sheets = google_sheets_client("sheets_conn_name")

def on_webhook(event):  # added: an entry point, so that a session imports the example
    print(type(sheets).__name__)  # added: shows what the example built
