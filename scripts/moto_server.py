"""moto's server, answering one request at a time.

moto's TransactWriteItems restores a snapshot of the whole table when a transaction is cancelled,
so a write that lands concurrently is lost; DynamoDB itself isolates transactions. Serving one
request at a time gives moto that isolation, so tests of concurrent writers test our code, not
moto's threading. Usage: moto_server.py HOST PORT
"""

import os
import signal
import sys

from werkzeug.serving import run_simple

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    os.environ.setdefault("MOTO_PORT", str(port))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(host, port, app, threaded=False, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
