/* SPDX-License-Identifier: MIT */
/* ws/handshake.c: the key arithmetic of the opening handshake (RFC 6455 sections 4.1 and 4.2.2):
 * Sec-WebSocket-Accept from Sec-WebSocket-Key, and random client keys.
 *
 * The base64 encoder is our own (standard alphabet, '=' padding; RFC 4648 section 4); SHA-1 is
 * OpenSSL's one-shot SHA1(), which is not among the digest calls OpenSSL 3 deprecates. A key is
 * checked for shape only (24 characters, base64 of 16 bytes): that is all RFC 6455 asks, and a
 * server gains nothing from decoding it.
 *
 * Not here: the HTTP side of the handshake (headers, status codes, version and origin checks),
 * which is the connection layer's (ws.h).
 */
#include "corio/ws_frame.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/sha.h>

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/* Encodes n bytes into out (4 * ceil(n / 3) characters + NUL). */
static void b64_encode(const uint8_t *in, size_t n, char *out)
{
    size_t i = 0, o = 0;

    for (; n - i >= 3; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64_alphabet[v >> 18];
        out[o++] = b64_alphabet[(v >> 12) & 63];
        out[o++] = b64_alphabet[(v >> 6) & 63];
        out[o++] = b64_alphabet[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = b64_alphabet[v >> 18];
        out[o++] = b64_alphabet[(v >> 12) & 63];
        out[o++] = '=';
        out[o++] = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = b64_alphabet[v >> 18];
        out[o++] = b64_alphabet[(v >> 12) & 63];
        out[o++] = b64_alphabet[(v >> 6) & 63];
        out[o++] = '=';
    }
    out[o] = '\0';
}

static bool is_b64(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '+' || c == '/';
}

int corio_ws_accept_key(const char *key, size_t key_len, char out[29])
{
    unsigned char buf[24 + sizeof ws_guid - 1];
    unsigned char md[SHA_DIGEST_LENGTH];

    /* 16 bytes = 5 groups of 3 + 1: 22 significant characters and "==". */
    if (key_len != 24 || key[22] != '=' || key[23] != '=')
        return -EINVAL;
    for (size_t i = 0; i < 22; i++)
        if (!is_b64(key[i]))
            return -EINVAL;
    memcpy(buf, key, 24);
    memcpy(buf + 24, ws_guid, sizeof ws_guid - 1);
    SHA1(buf, sizeof buf, md);
    b64_encode(md, sizeof md, out);
    return 0;
}

int corio_ws_client_key(char out[25])
{
    uint8_t raw[16];
    size_t got = 0;

    while (got < sizeof raw) {
        ssize_t r = getrandom(raw + got, sizeof raw - got, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        got += (size_t)r;
    }
    b64_encode(raw, sizeof raw, out);
    return 0;
}
