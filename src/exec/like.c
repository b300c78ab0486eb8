/*
 * exec/like.c: SQL LIKE without regular expressions. `%` matches any run
 * of characters, `_` exactly one UTF-8 character, every other byte itself.
 * The greedy matcher remembers only the last `%`: on a mismatch it retries
 * with that `%` taking one more character. This is exact because a later
 * `%` can absorb whatever an earlier one would have, so O(len(s) *
 * len(p)) worst case, no recursion.
 */
#include "exec/exec.h"

static size_t next_char(const uint8_t *s, size_t len, size_t i)
{
    i++;
    while (i < len && (s[i] & 0xC0) == 0x80)
        i++;
    return i;
}

bool exec_like_match(const uint8_t *s, size_t slen, const uint8_t *p, size_t plen)
{
    size_t si = 0, pi = 0, star = SIZE_MAX, mark = 0;
    while (si < slen) {
        if (pi < plen && p[pi] == '%') {
            star = pi++;
            mark = si;
        } else if (pi < plen && p[pi] == '_') {
            si = next_char(s, slen, si);
            pi++;
        } else if (pi < plen && p[pi] == s[si]) {
            si++;
            pi++;
        } else if (star != SIZE_MAX) {
            pi = star + 1;
            mark = next_char(s, slen, mark);
            si = mark;
        } else {
            return false;
        }
    }
    while (pi < plen && p[pi] == '%')
        pi++;
    return pi == plen;
}
