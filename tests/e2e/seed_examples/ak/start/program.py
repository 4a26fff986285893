import autokitteh

def on_webhook(event):
    # Start a child session
    session_id = autokitteh.start(
        "worker.py:process_task",
        data={"task_id": 123, "priority": "high"},
        memo={"triggered_by": "webhook"}
    )
    print(f"Started session: {session_id}")
