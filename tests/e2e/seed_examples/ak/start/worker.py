# In worker.py:
def process_task(event):
    task_id = event.data.task_id
    priority = event.data.priority
    print(f"Processing task {task_id} with priority {priority}")
