# SPDX-License-Identifier: MIT
"""bench/peers/aiohttp_app.py: the aiohttp peer of bench/http.sh, on uvloop.

    python3 bench/peers/aiohttp_app.py PORT

GET /plaintext answers "Hello, World!" as text/plain and GET /json {"message":"Hello, World!"}
(serialised per request, as TechEmpower requires) as application/json. No access log (the other
servers log nothing per request either); a listen backlog of 4096 like the other servers, so
1000 connections opened at once are not refused. Debian's python3-aiohttp and python3-uvloop.
"""
import json
import sys

import uvloop
from aiohttp import web


async def plaintext(request):
    return web.Response(text="Hello, World!", content_type="text/plain")


async def json_handler(request):
    return web.Response(text=json.dumps({"message": "Hello, World!"}, separators=(",", ":")),
                        content_type="application/json")


def main():
    port = int(sys.argv[1])
    uvloop.install()
    app = web.Application()
    app.router.add_get("/plaintext", plaintext)
    app.router.add_get("/json", json_handler)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, backlog=4096,
                print=None, handle_signals=True)


if __name__ == "__main__":
    main()
