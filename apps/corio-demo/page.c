/* SPDX-License-Identifier: MIT */
/* apps/corio-demo/page.c: the page served at GET /, kept as a C string so the binary needs no
 * file next to it and the build needs no extra step.
 *
 * It lists the endpoints with links and shows the /health numbers, refreshed every two
 * seconds by a few lines of script (the page works without script, minus the live numbers).
 * The chat and the live dashboard that DESIGN.md promises for this page come with the
 * WebSocket and SSE layers.
 */
#include "demo.h"

const char demo_index_html[] =
    "<!doctype html>\n"
    "<html lang=\"en\">\n"
    "<head>\n"
    "<meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<title>corio-demo</title>\n"
    "<style>\n"
    "body{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;"
    "color:#222}\n"
    "code,td:first-child{font-family:ui-monospace,monospace}\n"
    "table{border-collapse:collapse;width:100%}\n"
    "td{padding:.3rem .6rem;border-bottom:1px solid #ddd;vertical-align:top}\n"
    "#health{padding:.5rem .8rem;background:#f4f4f4;border-radius:4px}\n"
    "</style>\n"
    "</head>\n"
    "<body>\n"
    "<h1>corio-demo</h1>\n"
    "<p>An HTTP/1.1 service on <b>corio</b>: stackful coroutines, one event loop per worker "
    "thread, each accepting on its own <code>SO_REUSEPORT</code> socket.</p>\n"
    "<p id=\"health\">status: <span id=\"st\">?</span> &middot; uptime: <span id=\"up\">?"
    "</span> s &middot; open connections: <span id=\"cn\">?</span> &middot; workers: "
    "<span id=\"wk\">?</span> &middot; version: <span id=\"vs\">?</span></p>\n"
    "<h2>Endpoints</h2>\n"
    "<table>\n"
    "<tr><td>GET <a href=\"/plaintext\">/plaintext</a></td><td>\"Hello, World!\" as "
    "text/plain</td></tr>\n"
    "<tr><td>GET <a href=\"/json\">/json</a></td><td><code>{\"message\":\"Hello, World!\"}"
    "</code></td></tr>\n"
    "<tr><td>POST /echo</td><td>the request body back, with its Content-Type: "
    "<code>curl -d hi localhost:8080/echo</code></td></tr>\n"
    "<tr><td>GET <a href=\"/health\">/health</a></td><td>status, uptime, version, open "
    "connections, workers (503 while starting or draining)</td></tr>\n"
    "<tr><td>GET <a href=\"/metrics\">/metrics</a></td><td>Prometheus text: requests by "
    "method, route and status, latency histograms, runtime counters</td></tr>\n"
    "<tr><td>GET <a href=\"/debug/tasks\">/debug/tasks</a></td><td>every live task of every "
    "worker as JSON (<code>?limit=N</code> per worker)</td></tr>\n"
    "</table>\n"
    "<p>Coming with the next layers: <code>/api/users</code> (database), "
    "<code>/ws/echo</code> and <code>/ws/chat</code> (WebSocket), <code>/events</code> "
    "(server-sent events).</p>\n"
    "<p>Every response carries an <code>X-Request-ID</code>; every request is logged as a JSON "
    "line on the server's stderr. SIGTERM drains in-flight requests, then exits.</p>\n"
    "<script>\n"
    "function tick(){fetch('/health').then(function(r){return r.json()}).then(function(h){\n"
    "document.getElementById('st').textContent=h.status;\n"
    "document.getElementById('up').textContent=Math.round(h.uptime_s);\n"
    "document.getElementById('cn').textContent=h.connections;\n"
    "document.getElementById('wk').textContent=h.workers;\n"
    "document.getElementById('vs').textContent=h.version;\n"
    "}).catch(function(){document.getElementById('st').textContent='unreachable'})}\n"
    "tick();setInterval(tick,2000);\n"
    "</script>\n"
    "</body>\n"
    "</html>\n";

const size_t demo_index_html_len = sizeof demo_index_html - 1;
