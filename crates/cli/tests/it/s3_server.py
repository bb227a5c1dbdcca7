"""A local S3-compatible server for the object-storage tests (crates/cli/tests/it/s3.rs).

moto's S3 server on 127.0.0.1:PORT, with one change: moto checks
`If-None-Match: *` and then writes, in two steps, while its server handles
requests on many threads; real S3 does both atomically. One lock around each
request makes moto atomic too, so a lost Delta commit in the tests would be
crm's fault, never the fixture's.

Usage: python s3_server.py PORT BUCKET...
Creates the buckets, then prints "ready" on stdout and serves until killed.
With S3_SERVER_SLOW_PUTS=PREFIX, a PUT of a key containing PREFIX waits half
a second before it is handled, so that concurrent Delta commits certainly race.

The helper subcommands talk to a running server (credentials from AWS_*):
  python s3_server.py list ENDPOINT BUCKET PREFIX     keys under PREFIX, one a line
  python s3_server.py put ENDPOINT BUCKET KEY FILE    uploads FILE as KEY
"""

import os
import sys
import threading
import time


def client(endpoint):
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def serve(port, buckets):
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        create_backend_app,
    )
    from moto.server import MotoRequestHandler
    from werkzeug.serving import run_simple

    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    slow = os.environ.get("S3_SERVER_SLOW_PUTS")

    def serialised(environ, start_response):
        if slow and environ["REQUEST_METHOD"] == "PUT" and slow in environ["PATH_INFO"]:
            time.sleep(0.5)
        with lock:
            # Drain the response inside the lock: moto may work lazily.
            return [b"".join(app(environ, start_response))]

    def create_buckets():
        s3 = client(f"http://127.0.0.1:{port}")
        for _ in range(600):
            try:
                for b in buckets:
                    s3.create_bucket(Bucket=b)
                break
            except Exception:  # not listening yet
                time.sleep(0.05)
        print("ready", flush=True)

    threading.Thread(target=create_buckets, daemon=True).start()
    run_simple(
        "127.0.0.1",
        port,
        serialised,
        threaded=True,
        request_handler=MotoRequestHandler,
    )


def main():
    if sys.argv[1] == "list":
        endpoint, bucket, prefix = sys.argv[2:5]
        pages = client(endpoint).get_paginator("list_objects_v2")
        for page in pages.paginate(Bucket=bucket, Prefix=prefix):
            for o in page.get("Contents", []):
                print(o["Key"])
    elif sys.argv[1] == "put":
        endpoint, bucket, key, path = sys.argv[2:6]
        with open(path, "rb") as f:
            client(endpoint).put_object(Bucket=bucket, Key=key, Body=f.read())
    else:
        serve(int(sys.argv[1]), sys.argv[2:])


if __name__ == "__main__":
    main()
