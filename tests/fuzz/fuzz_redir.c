/*
 * fuzz_redir.c — libFuzzer harness for the redirect target check
 * (app/redir.c, ?next= of the sign-in page). Whatever it accepts must be
 * one leading "/" and then only letters, digits and "-._~/?=&", never
 * "//": nothing a browser could read as another host.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "redir.h"
#include "util.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = xmalloc(size + 1);

	memcpy(s, data, size);
	s[size] = '\0';
	if (redir_local(s)) {
		size_t n = strlen(s);

		if (s[0] != '/' || n > REDIR_MAX || strstr(s, "//"))
			abort();
		for (size_t i = 1; i < n; i++) {
			unsigned char c = (unsigned char)s[i];

			if (!((c >= 'a' && c <= 'z') ||
			      (c >= 'A' && c <= 'Z') ||
			      (c >= '0' && c <= '9') || strchr("-._~/?=&", c)))
				abort();
		}
	}
	free(s);
	return 0;
}
