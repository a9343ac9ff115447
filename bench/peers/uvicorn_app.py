# SPDX-License-Identifier: MIT
"""bench/peers/uvicorn_app.py: the uvicorn peer of bench/http.sh: a raw ASGI app (no framework)
under uvicorn with uvloop and the httptools parser.

    python3 bench/peers/uvicorn_app.py PORT

GET /json answers {"message":"Hello, World!"} (serialised per request) as application/json, every
other path "Hello, World!" as text/plain. No access log; backlog 4096. Debian's python3-uvicorn,
python3-uvloop and python3-httptools.
"""
import json
import sys

import uvicorn

PLAIN_HEADERS = [(b"content-type", b"text/plain"), (b"content-length", b"13")]
JSON_HEADERS = [(b"content-type", b"application/json")]


async def app(scope, receive, send):
    if scope["type"] != "http":
        return  # lifespan: nothing to set up
    if scope["path"] == "/json":
        body = json.dumps({"message": "Hello, World!"}, separators=(",", ":")).encode()
        headers = JSON_HEADERS + [(b"content-length", str(len(body)).encode())]
    else:
        body = b"Hello, World!"
        headers = PLAIN_HEADERS
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def main():
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), loop="uvloop", http="httptools",
                lifespan="off", access_log=False, log_level="warning", backlog=4096)


if __name__ == "__main__":
    main()
