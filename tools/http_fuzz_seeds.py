#!/usr/bin/env python3
# tools/http_fuzz_seeds.py: grows the HTTP fuzz corpora from the unit-test inputs.
#
# Every C string literal (adjacent literals joined) in tests/unit/http/test_{parser,chunked,
# query}.c becomes a seed file named by its SHA-1: literals starting with "HTTP/" go to
# fuzz/corpus/http_response/, other test_parser.c literals of 8 bytes or more to
# fuzz/corpus/http_request/, test_chunked.c literals to fuzz/corpus/http_chunked/ and
# test_query.c literals to fuzz/corpus/http_query/. Existing files are kept, so the corpora only
# grow; rerun after adding test cases:  python3 tools/http_fuzz_seeds.py
import hashlib
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
LIT = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
ESC = re.compile(r'\\(x[0-9a-fA-F]+|[0-7]{1,3}|.)')
SIMPLE = {"n": 10, "r": 13, "t": 9, "0": 0, "\\": 92, '"': 34, "'": 39, "?": 63, "a": 7,
          "b": 8, "f": 12, "v": 11}


def unescape(s):
    out = bytearray()
    pos = 0
    for m in ESC.finditer(s):
        out += s[pos:m.start()].encode("latin-1")
        e = m.group(1)
        if e[0] == "x":
            out.append(int(e[1:], 16) & 0xFF)
        elif e[0] in "01234567":
            out.append(int(e, 8) & 0xFF)
        else:
            out.append(SIMPLE.get(e, ord(e)))
        pos = m.end()
    out += s[pos:].encode("latin-1")
    return bytes(out)


def literals(path):
    """Yields the C string literals of a file, adjacent ones joined, skipping comments,
    character constants and #include lines (a tiny lexer: regexes trip over "*/*")."""
    text = open(path, encoding="latin-1").read()
    i, n, cur = 0, len(text), None
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            i = text.index("*/", i + 2) + 2
        elif text.startswith("//", i) or (c == "#" and text.startswith("#include", i)):
            i = text.find("\n", i)
            i = n if i < 0 else i
        elif c == "'":
            j = i + 1
            while text[j] != "'":
                j += 2 if text[j] == "\\" else 1
            i = j + 1
        elif c == '"':
            j = i + 1
            while text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            piece = unescape(text[i + 1:j])
            cur = piece if cur is None else cur + piece
            i = j + 1
        elif c.isspace():
            i += 1
        else:
            if cur is not None:
                yield cur
                cur = None
            i += 1
    if cur is not None:
        yield cur


def put(target, data):
    d = os.path.join(ROOT, "fuzz", "corpus", target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    t = os.path.join(ROOT, "tests", "unit", "http")
    for s in literals(os.path.join(t, "test_parser.c")):
        if s.startswith(b"HTTP/") or s.startswith(b"\r\nHTTP/"):
            put("http_response", s)
        elif len(s) >= 8 and b"%" not in s[:1]:
            put("http_request", s)
    for s in literals(os.path.join(t, "test_chunked.c")):
        if s and b"%" not in s and b"=%" not in s:
            put("http_chunked", s)
    for s in literals(os.path.join(t, "test_query.c")):
        put("http_query", s)
    for target in ("http_request", "http_response", "http_chunked", "http_query"):
        d = os.path.join(ROOT, "fuzz", "corpus", target)
        print(target, len(os.listdir(d)) if os.path.isdir(d) else 0, file=sys.stderr)


main()
