"""CloudWatch Embedded Metric Format documents among a function's log lines, checked against the
specification: its JSON schema (tests/fixtures/emf-schema.json) and the rules the schema cannot
say (each referenced member on the root, a dimension's a string, a metric's a number or at most
100 numbers; at most 100 metrics a directive).

As a program: JSON lines on stdin; prints {"documents", "problems", "metrics"} where metrics maps
each metric name to the sum of its values per dimension set ("Function=provision,Site=eu"); a
distribution (a list of values) counts how many it holds.
"""
import json
import os
import sys

import jsonschema

SCHEMA_PATH = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "emf-schema.json")


def validator():
    with open(SCHEMA_PATH, encoding="utf-8") as f:
        return jsonschema.Draft7Validator(json.load(f))


def problems_of(doc, check):
    """What is wrong with one EMF document, by the schema and the specification's rules."""
    found = [f"{'/'.join(map(str, e.path)) or '.'}: {e.message}" for e in check.iter_errors(doc)]
    if found:
        return found
    for directive in doc["_aws"]["CloudWatchMetrics"]:
        if len(directive["Metrics"]) > 100:
            found.append("more than 100 metrics in one directive")
        for dimensions in directive["Dimensions"]:
            for name in dimensions:
                if not isinstance(doc.get(name), str):
                    found.append(f"dimension {name} is not a string member of the root")
        for metric in directive["Metrics"]:
            value = doc.get(metric["Name"])
            values = value if isinstance(value, list) else [value]
            if len(values) > 100 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
                found.append(f"metric {metric['Name']} is not a number or at most 100 numbers: {value!r}")
    return found


def summarize(lines):
    """The EMF documents among `lines`: how many, what is wrong with them, the metrics' sums."""
    check = validator()
    documents, problems, metrics = 0, [], {}
    for line in lines:
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if not isinstance(doc, dict) or "_aws" not in doc:
            continue
        documents += 1
        found = problems_of(doc, check)
        problems.extend(f"{p}: {line[:200]}" for p in found)
        if found:
            continue
        for directive in doc["_aws"]["CloudWatchMetrics"]:
            for dimensions in directive["Dimensions"]:
                key = ",".join(f"{d}={doc[d]}" for d in dimensions)
                for metric in directive["Metrics"]:
                    value = doc[metric["Name"]]
                    # A distribution (a list) counts its values; a number is summed.
                    total = len(value) if isinstance(value, list) else value
                    per = metrics.setdefault(metric["Name"], {})
                    per[key] = per.get(key, 0) + total
    return {"documents": documents, "problems": problems, "metrics": metrics}


if __name__ == "__main__":
    print(json.dumps(summarize(sys.stdin.read().splitlines()), sort_keys=True))
