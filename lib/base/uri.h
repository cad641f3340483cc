/*
 * uri.h — the one route-pattern matcher of the web app and the svc shell.
 *
 * A pattern is literal text with two kinds of holes: "{name}" takes a
 * positive decimal id of at most 15 digits (no sign, not 0), and a final
 * "*" takes a non-empty rest of the path. Anything else must match byte
 * for byte; there is no decoding, so "%2F" is not a slash.
 */
#ifndef TY_URI_H
#define TY_URI_H

#include <stddef.h>

/*
 * 1 when path matches pattern, with the ids of its {..} holes in
 * ids[0..*nids); 0 when it does not or has more than maxids of them.
 */
int uri_match(const char *pattern, const char *path, long long *ids,
              size_t maxids, size_t *nids);

#endif
