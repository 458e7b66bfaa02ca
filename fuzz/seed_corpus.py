#!/usr/bin/env python3
"""Builds the fuzz targets' seed corpus from the crate's shipped responses.

Reads tests/fixtures/**/*.json, tests/cases/*.jsonl, tests/corpus/v1.jsonl, examples/bodies/*.json
and examples/errors.jsonl and writes each
response in the raw format of tests/common/response.rs (style line, status line, header lines,
empty line, body) to fuzz/corpus/<target>/<sha1>. The corpus folders are not committed; run
this from anywhere before fuzzing:

    python3 fuzz/seed_corpus.py

`normalize_structured` decodes its input with `arbitrary`, so it gets no seeds: it builds its
own envelopes from the tables.
"""

import base64
import hashlib
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
STYLES = {p.stem for p in (ROOT / "taxonomy" / "providers").glob("*.json")}


def raw(style, status, headers, body):
    """One response in the raw format."""
    head = [style if style in STYLES else "", str(status)]
    head += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\n".join(head) + "\n\n").encode() + body


def body_bytes(value):
    return value.encode() if isinstance(value, str) else json.dumps(value, separators=(",", ":")).encode()


def status_of(body):
    """The status a body repeats, else 500."""
    try:
        status = json.loads(body)["error"]["status"]
        return status if isinstance(status, int) else 500
    except (ValueError, KeyError, TypeError):
        return 500


def events(body, before=b"", after=b""):
    """A server-sent event stream whose last event before `after` carries `body` as its data."""
    return before + b"data: " + body.replace(b"\n", b" ") + b"\n\n" + after


# Stream openings and endings for the stream target's seeds: an event with output, and the
# terminator, as the tables' `stream` sections give them.
OUTPUT_EVENT = b'data: {"choices":[{"delta":{"content":"Hello"}}]}\n\n'
DONE_EVENT = b"data: [DONE]\n\n"


def stream_seeds(style, status, headers, body):
    sse = dict(headers or {}, **{"content-type": "text/event-stream"})
    yield raw(style, 200, sse, events(body))
    yield raw(style, 200, sse, events(body, before=OUTPUT_EVENT))
    yield raw(None, 200, sse, events(body, before=OUTPUT_EVENT, after=DONE_EVENT))
    yield raw(style, status, None, OUTPUT_EVENT + b"event: error\n" + events(body).replace(b"\n\n", b"\r\n\r\n"))
    yield raw(None, 200, sse, OUTPUT_EVENT)
    yield raw(None, 200, sse, OUTPUT_EVENT + DONE_EVENT)


def seeds():
    """(targets, raw input) pairs."""
    both = ("normalize_raw", "roundtrip")
    for path in sorted((ROOT / "tests" / "fixtures").rglob("*.json")):
        case = json.loads(path.read_text())
        body = body_bytes(case["body"]) if "body" in case else case.get("body_text", "").encode()
        for seed in stream_seeds(case.get("style"), case["status"], case.get("headers"), body):
            yield ("stream",), seed
        yield both, raw(case.get("style"), case["status"], case.get("headers"), body)
        # The same response with no style, read through detection.
        yield both, raw(None, case["status"], case.get("headers"), body)
        if "expect" in case:
            # A normalized envelope as the body: the roundtrip target parses it back.
            yield ("roundtrip",), raw(None, case["status"], None, body_bytes(case["expect"]))
    for path in sorted((ROOT / "examples" / "bodies").glob("*.json")):
        body = path.read_bytes()
        yield both, raw(None, status_of(body), None, body)
    jsonl = [ROOT / "examples" / "errors.jsonl", ROOT / "tests" / "corpus" / "v1.jsonl"]
    jsonl += sorted((ROOT / "tests" / "cases").glob("*.jsonl"))
    for path in jsonl:
        for line in path.read_text().splitlines():
            if not line.strip():
                continue
            case = json.loads(line)
            if "body_base64" in case:
                # The eventstream target: a mode byte (even: raw bytes), then the stream.
                yield ("eventstream",), b"\x00" + base64.b64decode(case["body_base64"])
                continue
            style = case.get("style") or case.get("provider")
            data = raw(style, case["status"], case.get("headers"), body_bytes(case.get("body") or ""))
            yield both + ("paths", "nested"), data


def main():
    written = 0
    for targets, data in seeds():
        name = hashlib.sha1(data).hexdigest()
        for target in targets:
            folder = ROOT / "fuzz" / "corpus" / target
            folder.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(data)
            written += 1
    print(f"wrote {written} seeds under {ROOT / 'fuzz' / 'corpus'}")


if __name__ == "__main__":
    main()
