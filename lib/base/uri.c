/* uri.c — route patterns; see uri.h. */
#include "uri.h"

#include <string.h>

int
uri_match(const char *pat, const char *path, long long *ids, size_t maxids,
          size_t *nids)
{
	*nids = 0;
	while (*pat) {
		if (*pat == '*' && pat[1] == '\0')
			return *path != '\0';
		if (*pat == '{') {
			long long v = 0;
			int digits = 0;
			pat = strchr(pat, '}');
			if (!pat)
				return 0;
			pat++;
			while (*path >= '0' && *path <= '9') {
				if (++digits > 15)
					return 0;
				v = v * 10 + (*path++ - '0');
			}
			if (digits == 0 || v == 0 || *nids == maxids)
				return 0;
			ids[(*nids)++] = v;
			continue;
		}
		if (*pat++ != *path++)
			return 0;
	}
	return *path == '\0';
}
