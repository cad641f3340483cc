/* redir.c — local redirect targets only; see redir.h. */
#include "redir.h"

#include <string.h>

/* The bytes a path of this app may hold after its leading "/". */
static int
path_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || (c && strchr("-._~/?=&", c));
}

int
redir_local(const char *s)
{
	size_t n;

	if (!s || s[0] != '/' || (n = strlen(s)) > REDIR_MAX)
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!path_char((unsigned char)s[i]) ||
		    (s[i] == '/' && s[i - 1] == '/'))
			return 0;
	return 1;
}
