import requests  # added: the seed's example calls requests without importing it
import autokitteh

@autokitteh.activity
def fetch_data(url):
    # This entire function runs as a single activity
    response = requests.get(url)
    return response.json()

def handler(event):
    data = fetch_data("https://api.example.com/data")
    print(data)
