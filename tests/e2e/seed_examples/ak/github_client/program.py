from autokitteh.github import github_client

github = github_client("github_conn_name")
repo = github.get_repo("owner/repo")

def on_webhook(event):  # added: an entry point, so that a session imports the example
    print(repo.full_name)  # added: shows what the example fetched
