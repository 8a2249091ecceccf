"""Lifecycle events as a rule's SQS target receives them, checked against the documented schema
(docs/events.schema.json).

As a program: JSON lines on stdin (one event each); prints {"events", "problems", "changes"}
where changes counts the events of each detail-type.
"""
import json
import os
import sys

import jsonschema

SCHEMA_PATH = os.path.join(os.path.dirname(__file__), "..", "docs", "events.schema.json")


def summarize(lines):
    """The events among `lines`: how many, what is wrong with them, how many of each change."""
    with open(SCHEMA_PATH, encoding="utf-8") as f:
        schema = json.load(f)
    check = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    events, problems, changes = 0, [], {}
    for line in lines:
        line = line.strip()
        if not line:
            continue
        events += 1
        try:
            event = json.loads(line)
        except ValueError as err:
            problems.append(f"not JSON ({err}): {line[:200]}")
            continue
        found = sorted(check.iter_errors(event), key=lambda e: list(e.path))
        if found:
            # oneOf reports one error for all its branches; its context names what each lacks.
            best = jsonschema.exceptions.best_match(found)
            where = "/".join(map(str, best.path)) or "."
            problems.append(f"{where}: {best.message[:300]} (detail-type {event.get('detail-type')!r})")
            continue
        kind = event["detail-type"]
        changes[kind] = changes.get(kind, 0) + 1
    return {"events": events, "problems": problems, "changes": changes}


if __name__ == "__main__":
    print(json.dumps(summarize(sys.stdin.read().splitlines()), sort_keys=True))
