"""moto's server, answering one request at a time.

moto's TransactWriteItems restores a snapshot of the whole table when a transaction is cancelled,
so a write that lands concurrently is lost; DynamoDB itself isolates transactions. Serving one
request at a time gives moto that isolation, so tests of concurrent writers test our code, not
moto's threading. Usage: moto_server.py HOST PORT

A Query of the base table reads only its partition (`partition_queries`), as DynamoDB does.

It also records which actions each access key id called (`GET /_m365/actions`): the least-privilege
test runs each function under its own key and compares the actions with the template's grants.
"""

import bisect
import io
import json
import os
import re
import signal
import sys
from collections import defaultdict

from werkzeug.serving import run_simple

from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app


# X-Amz-Target prefixes of the JSON protocols, by IAM service prefix.
SERVICES = {"DynamoDB_20120810": "dynamodb", "secretsmanager": "secretsmanager", "AmazonSQS": "sqs", "TrentService": "kms",
            "AWSEvents": "events", "AmazonSSM": "ssm"}
# The IAM action of each TransactWriteItems element.
TRANSACT = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem"}
CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/")


class ActionRecorder:
    """WSGI middleware: remembers `service:Action` per access key id (`/_m365/actions`), and how
    many requests of each API operation a key made (`/_m365/calls`)."""

    def __init__(self, app):
        self.app = app
        self.actions = defaultdict(set)
        self.calls = defaultdict(lambda: defaultdict(int))

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO")
        if path in ("/_m365/actions", "/_m365/calls"):
            if path == "/_m365/actions":
                record = {key: sorted(actions) for key, actions in self.actions.items()}
            else:
                record = {key: dict(calls) for key, calls in self.calls.items()}
            body = json.dumps(record).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        key = CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
        prefix, _, action = target.partition(".")
        if key and prefix in SERVICES and action:
            self.calls[key.group(1)][f"{SERVICES[prefix]}:{action}"] += 1
            actions = self.actions[key.group(1)]
            if action == "TransactWriteItems":
                # IAM authorizes each element under its own item action, not the transaction.
                actions.update(f"dynamodb:{TRANSACT[kind]}" for kind in self.transaction_elements(environ))
            else:
                actions.add(f"{SERVICES[prefix]}:{action}")
        return self.app(environ, start_response)

    @staticmethod
    def transaction_elements(environ):
        """The element kinds (Put, Update, ...) of a TransactWriteItems body; the body stays readable."""
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(body)
        items = json.loads(body or b"{}").get("TransactItems", [])
        return {kind for item in items for kind in item if kind in TRANSACT}


class OneRequestPerConnection(MotoRequestHandler):
    """Closes each connection after its answer, and one that sends nothing for a second. A server
    answering one request at a time that kept a client's idle connection open would never accept
    that client's next connection: both would wait for ever. An idle connection comes from a
    keep-alive, or from a client's pool that opened two connections for two requests in flight
    and sent both requests on the one ready first (token-refresh hung so)."""

    protocol_version = "HTTP/1.0"
    # Applied to the socket before the request line is read (StreamRequestHandler.setup).
    timeout = 1


def partition_queries(query):
    """moto answers a Query of the base table by walking and sorting every item of the table,
    then walking the earlier pages again to find where a page starts; DynamoDB reads only the
    queried partition from the start key on. Once a 100,000-user directory snapshot was in the
    table, each Query of a tenant's partition took seconds and reading the snapshot took minutes,
    so tests of a sync's deadline measured moto. With this, a base-table Query looks only at its
    partition's items after the start key."""

    def partitioned(self, hash_key, *args, **kwargs):
        index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
        if index_name is not None or hash_key is None or not self.range_key_attr or len(args) < 5:
            return query(self, hash_key, *args, **kwargs)
        partition = self.items[hash_key] if hash_key in self.items else {}
        # Sorted by the plain key value: moto sorts again, cheaply once the items are in order.
        items = sorted(partition.values(), key=lambda item: item.range_key.cast_value)
        args = list(args)
        start, forward = args[3], args[4] is not False
        if start and self.range_key_attr in start:
            after = DynamoType(start[self.range_key_attr]).cast_value
            keys = [item.range_key.cast_value for item in items]
            items = items[bisect.bisect_right(keys, after):] if forward else items[: bisect.bisect_left(keys, after)]
            args[3] = None
        self.all_items = lambda: items
        try:
            return query(self, hash_key, *args, **kwargs)
        finally:
            del self.all_items

    return partitioned


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    os.environ.setdefault("MOTO_PORT", str(port))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
    Table.query = partition_queries(Table.query)
    app = ActionRecorder(DomainDispatcherApplication(create_backend_app))
    run_simple(host, port, app, threaded=False, request_handler=OneRequestPerConnection)


if __name__ == "__main__":
    main()
