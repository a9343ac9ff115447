/* SPDX-License-Identifier: MIT */
/* fuzz/replay_main.c: runs saved inputs through a fuzz target without libFuzzer.
 *
 * Linked with one fuzz/<name>_fuzz.c into the ordinary (non-fuzzing) build, where it backs the
 * ctest fuzz_regress_<name>: every file named on the command line, and every file under every
 * directory named there (recursively, in sorted order), goes once through
 * LLVMFuzzerTestOneInput(), each in a buffer of exactly its size so that sanitizers see
 * over-reads. Paths that do not exist are skipped, so a target without a corpus passes;
 * arguments starting with '-' (libFuzzer flags) are ignored. A crash ends the run, which is
 * the point; unreadable inputs are reported and make the exit status 1.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static unsigned long replayed;
static int errors;

static int read_file(const char *path, uint8_t **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t cap = 0, n = 0;

    if (f == NULL)
        return -1;
    for (;;) {
        if (n == cap) {
            uint8_t *p = realloc(buf, cap = cap ? cap * 2 : 4096);
            if (p == NULL)
                break;
            buf = p;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    int bad = ferror(f) || n == cap;
    fclose(f);
    if (bad) {
        free(buf);
        return -1;
    }
    *len = n;
    uint8_t *exact = realloc(buf, n ? n : 1); /* exact size: an over-read hits the redzone */
    *out = exact ? exact : buf;
    return 0;
}

static void replay_one(const char *path)
{
    uint8_t *data;
    size_t len;

    if (read_file(path, &data, &len) < 0) {
        fprintf(stderr, "replay: %s: cannot read: %s\n", path, strerror(errno));
        errors++;
        return;
    }
    LLVMFuzzerTestOneInput(data, len);
    free(data);
    replayed++;
}

static int skip_name(const struct dirent *d)
{
    return d->d_name[0] != '.'; /* ".", "..", and dotfiles such as .gitkeep */
}

static void replay_path(const char *path)
{
    struct stat st;
    struct dirent **names;
    int n;

    if (stat(path, &st) < 0) {
        if (errno != ENOENT) {
            fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
            errors++;
        }
        return;
    }
    if (!S_ISDIR(st.st_mode)) {
        replay_one(path);
        return;
    }
    if ((n = scandir(path, &names, skip_name, alphasort)) < 0) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        errors++;
        return;
    }
    for (int i = 0; i < n; i++) {
        size_t len = strlen(path) + strlen(names[i]->d_name) + 2;
        char *child = malloc(len);
        if (child != NULL) {
            snprintf(child, len, "%s/%s", path, names[i]->d_name);
            replay_path(child);
            free(child);
        }
        free(names[i]);
    }
    free(names);
}

int main(int argc, char **argv)
{
    if (LLVMFuzzerInitialize != NULL)
        LLVMFuzzerInitialize(&argc, &argv);
    for (int i = 1; i < argc; i++)
        if (argv[i][0] != '-')
            replay_path(argv[i]);
    printf("replay: %lu input(s) replayed, %d error(s)\n", replayed, errors);
    return errors == 0 ? 0 : 1;
}
