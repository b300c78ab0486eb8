/*
 * catalog/actions.c: what a commit's actions are, as far as the catalog's
 * rules care (catalog.h rule 6): whether they only add files (a blind
 * append may then land on a stale base) and whether they change the
 * table's metadata or protocol (later blind appends based before them
 * must then conflict). The actions are Delta's newline-delimited JSON
 * (PROTOCOL.md "Actions"): one object per line whose single key names the
 * action. The catalog otherwise stores them as opaque bytes.
 */
#include "catalog/catalog_int.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static int msg_set(char *msg, size_t cap, size_t line, const char *why)
{
    if (msg != NULL && cap > 0)
        snprintf(msg, cap, "actions line %zu: %s", line, why);
    return TARN_EINVAL;
}

/* The action one line names: its object's first key. */
static int line_action(const char *p, size_t n, size_t line, char *kind, size_t kind_cap, char *msg,
                       size_t cap)
{
    json_error_t je;
    json_t *o = json_loadb(p, n, JSON_REJECT_DUPLICATES, &je);
    if (o == NULL) {
        if (json_error_code(&je) == json_error_out_of_memory)
            return TARN_ENOMEM;
        return msg_set(msg, cap, line, je.text);
    }
    int rc = 0;
    void *it = json_is_object(o) ? json_object_iter(o) : NULL;
    if (it == NULL || json_object_size(o) != 1)
        rc = msg_set(msg, cap, line, "an action is an object with one key naming it");
    else if (!json_is_object(json_object_iter_value(it)))
        rc = msg_set(msg, cap, line, "the action's value must be an object");
    else
        snprintf(kind, kind_cap, "%s", json_object_iter_key(it));
    json_decref(o);
    return rc;
}

int catalog_actions_classify(const void *actions, size_t len, int *add_only_out, int *metadata_out,
                             char *msg, size_t msg_cap)
{
    const char *p = actions, *end = p + len;
    size_t line = 0, adds = 0;
    int others = 0, metadata = 0;
    *add_only_out = 0;
    *metadata_out = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        const char *start = p;
        p += n + (nl != NULL);
        line++;
        if (n > 0 && start[n - 1] == '\r')
            n--;
        if (n == 0)
            continue;
        char kind[32];
        int rc = line_action(start, n, line, kind, sizeof(kind), msg, msg_cap);
        if (rc != 0)
            return rc;
        if (strcmp(kind, "add") == 0)
            adds++;
        else if (strcmp(kind, "metaData") == 0 || strcmp(kind, "protocol") == 0)
            metadata = 1;
        else if (strcmp(kind, "commitInfo") != 0)
            others = 1;
    }
    *metadata_out = metadata;
    *add_only_out = adds > 0 && !others && !metadata;
    return 0;
}
