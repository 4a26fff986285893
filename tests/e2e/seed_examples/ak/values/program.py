from autokitteh import set_value, get_value, del_value, list_values_keys

def on_webhook(event):
    # Store values
    set_value("counter", 0)
    set_value("last_user", event.data.user)

    # Retrieve values
    counter = get_value("counter", default=0)
    counter += 1
    set_value("counter", counter)

    # List all keys
    keys = list_values_keys()
    print(f"Stored keys: {keys}")

    # Delete a value
    del_value("last_user")
