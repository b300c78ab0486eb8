/* raft/msg.c: deep copies of messages for hosts that queue them. */
#include "raft/raft.h"

#include "base/alloc.h"

#include <string.h>

int raft_msg_copy(raft_msg *dst, const raft_msg *src)
{
    *dst = *src;
    dst->entries = NULL;
    if (src->n_entries == 0)
        return 0;
    dst->entries = tarn_calloc(src->n_entries, sizeof(raft_entry));
    if (dst->entries == NULL)
        return TARN_ENOMEM;
    for (size_t k = 0; k < src->n_entries; k++) {
        dst->entries[k] = src->entries[k];
        dst->entries[k].data = NULL;
        if (src->entries[k].len == 0)
            continue;
        dst->entries[k].data = tarn_malloc(src->entries[k].len);
        if (dst->entries[k].data == NULL) {
            raft_msg_copy_free(dst);
            return TARN_ENOMEM;
        }
        memcpy(dst->entries[k].data, src->entries[k].data, src->entries[k].len);
    }
    return 0;
}

void raft_msg_copy_free(raft_msg *m)
{
    for (size_t k = 0; m->entries != NULL && k < m->n_entries; k++)
        tarn_free(m->entries[k].data);
    tarn_free(m->entries);
    m->entries = NULL;
    m->n_entries = 0;
}
