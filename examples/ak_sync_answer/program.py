"""Ask with GET /webhooks/<ask>?q=…&id=<ticket>; the HTTP call stays open until someone POSTs the answer
to /webhooks/<answer>?to=<ticket>, whose body becomes the first call's response."""

import autokitteh


@autokitteh.activity
def normalise(question: str) -> str:
    return question.strip().rstrip("?") + "?"


def on_ask(event):
    query = event.data.url.query
    question = normalise(query.get("q", "anything"))
    autokitteh.add_values("questions_asked", 1)
    print(f"asked: {question}")
    sub = autokitteh.subscribe("answer", f'data.url.query.to == "{query.id}"')
    reply = autokitteh.next_event(sub, timeout=60)
    if reply is None:
        autokitteh.http_outcome(504, "nobody answered in time")
        return
    autokitteh.http_outcome(200, reply.body.text)  # the body positionally, as AutoKitteh programs do
