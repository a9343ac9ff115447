/* SPDX-License-Identifier: MIT */
/* examples/locals.c: task-local values, the contextvars analogue.
 *
 * A "request" task sets a request id; the tasks it spawns inherit the value they see at spawn
 * time. A child that sets its own value changes it for itself and its later children only.
 * corio_local_set() stores a pointer you keep alive; corio_local_set_copy() stores a private
 * copy whose lifetime corio manages. Runs in a few ms and exits 0.
 */
#include <corio/core.h>
#include <stdio.h>
#include <string.h>

static corio_local_key REQUEST_ID = CORIO_LOCAL_KEY("request_id");
static corio_local_key USER = CORIO_LOCAL_KEY("user");

static const char *get_str(const corio_local_key *k)
{
    const char *v = corio_local_get(k);
    return v ? v : "(unset)";
}

/* Any function deep in the call chain can read the context without it being passed down. */
static void log_line(const char *what)
{
    printf("[req %s, user %s] %s\n", get_str(&REQUEST_ID), get_str(&USER), what);
}

static int query(void *arg)
{
    log_line(arg);
    return 0;
}

static int audit(void *arg)
{
    (void)arg;
    corio_local_set_copy(&USER, "auditor", strlen("auditor")); /* this task only */
    log_line("audit: set user for itself");
    return 0;
}

static int handle_request(void *arg)
{
    const char *id = arg;
    int rc = corio_local_set_copy(&REQUEST_ID, id, strlen(id)); /* copied: arg may go away */
    if (rc < 0)
        return rc;
    static char alice[] = "alice";
    if ((rc = corio_local_set(&USER, alice)) < 0) /* borrowed: must outlive every reader */
        return rc;
    log_line("handler");
    corio_group *g;
    if ((rc = corio_group_open(&g)) < 0)
        return rc;
    corio_spawn(g, query, "query: inherited both values");
    corio_spawn(g, audit, NULL);
    rc = corio_group_wait(g);
    corio_group_close(g);
    log_line("handler again: the child's change did not reach us");
    return rc;
}

static int main_task(void *arg)
{
    (void)arg;
    log_line("main: nothing set");
    corio_group *g;
    int rc = corio_group_open(&g);
    if (rc < 0)
        return rc;
    /* The argument must stay valid until the child has copied it: string literals do. */
    corio_spawn(g, handle_request, "r-1");
    corio_spawn(g, handle_request, "r-2");
    rc = corio_group_wait(g);
    corio_group_close(g);
    log_line("main: still nothing set");
    return rc;
}

int main(void)
{
    return corio_run(NULL, main_task, NULL) < 0 ? 1 : 0;
}
