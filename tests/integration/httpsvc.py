"""A local HTTP service for the tests of the HTTP authenticator and authorization source."""

import json
import threading
from http.server import ThreadingHTTPServer

from conftest import free_port


def answer(handler, status, body=None, ctype="application/json"):
    """Send status with body (a dict as JSON, a str as it is, None: no body)."""
    data = b"" if body is None else (body if isinstance(body, str) else json.dumps(body)).encode()
    handler.send_response(status)
    if body is not None:
        handler.send_header("Content-Type", ctype)
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def serve(handler_class):
    """Serve on 127.0.0.1 from a thread: (server, port)."""
    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), handler_class)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, port
