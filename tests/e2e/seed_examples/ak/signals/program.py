from datetime import timedelta
import autokitteh

# Session 1: Wait for approval
def workflow(event):
    print("Waiting for approval...")
    signal_data = autokitteh.wait_for_signal("approval", timeout=timedelta(hours=24))

    if signal_data:
        print(f"Approved by: {signal_data.get('approver')}")
    else:
        print("Timeout - no approval received")

# Session 2: Send approval
def approve(event):
    autokitteh.signal("approval", {"approver": "admin", "timestamp": "2024-01-01"})
