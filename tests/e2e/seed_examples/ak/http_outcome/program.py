import json  # added: the seed's example uses json without importing it
import autokitteh

def api_endpoint(event):
    # Process the request
    data = event.data.body.json
    result = process_data(data)

    # Return JSON response
    autokitteh.http_outcome(
        status_code=200,
        headers={"Content-Type": "application/json"},
        body=json.dumps({"result": result})
    )

def process_data(data):  # added: the seed leaves process_data to the reader
    return sum(data["numbers"])  # added
