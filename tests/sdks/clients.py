"""Calls a loopback server with the real OpenAI and Anthropic SDKs and reports what they raise.

Reads a JSON list of cases {"sdk": "openai" | "anthropic", "code": CODE, "mode": "plain" |
"stream"} on standard input; the server at 127.0.0.1:PORT (the first argument) answers
/SDK/CODE/MODE/... in that SDK's wire format. Prints one JSON list: each case with the
exception's class name, its status and body, and its message.
"""

import json
import sys

import anthropic
import openai

PROMPT = [{"role": "user", "content": "Hi"}]


def call(port, case):
    base = f"http://127.0.0.1:{port}/{case['sdk']}/{case['code']}/{case['mode']}"
    stream = case["mode"] == "stream"
    if case["sdk"] == "openai":
        client = openai.OpenAI(api_key="test", base_url=base + "/v1", max_retries=1)
        result = client.chat.completions.create(model="m", messages=PROMPT, stream=stream)
    else:
        client = anthropic.Anthropic(api_key="test", base_url=base, max_retries=1)
        result = client.messages.create(model="m", max_tokens=8, messages=PROMPT, stream=stream)
    if stream:
        for _ in result:
            pass


def main():
    port = int(sys.argv[1])
    results = []
    for case in json.load(sys.stdin):
        raised = None
        try:
            call(port, case)
        except Exception as e:  # the class is what is checked
            raised = {
                "class": type(e).__name__,
                "status": getattr(e, "status_code", None),
                "body": getattr(e, "body", None),
                "message": getattr(e, "message", str(e)),
            }
        results.append({**case, "raised": raised})
    json.dump(results, sys.stdout)


main()
