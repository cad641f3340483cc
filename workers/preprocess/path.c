/*
 * path.c — what an archive entry name means, and names made safe to
 * show.
 */
#include <stdio.h>
#include <string.h>

#include "idx.h"
#include "prep.h"

#define PREP_NAME_MAX 4096

/* System litter that is never data. */
static const char *const litter[] = {
    "__MACOSX", "Thumbs.db", "desktop.ini", "Icon\r", "ehthumbs.db",
};

static int
is_litter(const char *p, size_t n)
{
	if (n > 0 && p[0] == '.')
		return 1;
	for (size_t i = 0; i < TY_ARRAY_LEN(litter); i++)
		if (strlen(litter[i]) == n && !strncmp(p, litter[i], n))
			return 1;
	return 0;
}

enum prep_path
prep_path_classify(const char *name, const char **cls, size_t *clslen)
{
	const char *comp[2] = {NULL, NULL}; /* parent, base */
	size_t clen[2] = {0, 0};
	const char *p = name;
	char stem[8];
	int ncomp = 0, hidden = 0;

	*cls = NULL;
	*clslen = 0;
	if (strlen(name) > PREP_NAME_MAX)
		return PREP_PATH_TOOLONG;
	if (name[0] == '/')
		return PREP_PATH_UNSAFE;
	while (*p) {
		size_t n = strcspn(p, "/");

		if (n == 2 && !strncmp(p, "..", 2))
			return PREP_PATH_UNSAFE;
		if (n > 0 && !(n == 1 && *p == '.')) {
			if (is_litter(p, n))
				hidden = 1;
			comp[0] = comp[1], clen[0] = clen[1];
			comp[1] = p, clen[1] = n;
			ncomp++;
		}
		p += n;
		if (*p == '/')
			p++;
	}
	if (hidden)
		return PREP_PATH_HIDDEN;
	if (ncomp == 0)
		return PREP_PATH_NOCLASS;
	if (clen[1] == 10 && !strncmp(comp[1], "labels.txt", 10))
		return PREP_PATH_LABELS;
	{
		char base[256];

		snprintf(base, sizeof base, "%.*s", (int)clen[1], comp[1]);
		if (clen[1] < sizeof base &&
		    idx_role_of(base, stem, sizeof stem) != IDX_NONE)
			return PREP_PATH_IDX;
	}
	if (ncomp < 2)
		return PREP_PATH_NOCLASS;
	*cls = comp[0];
	*clslen = clen[0];
	return PREP_PATH_IMAGE;
}

/* Length of the valid UTF-8 sequence at p (max n bytes), or 0. */
static size_t
utf8_len(const unsigned char *p, size_t n)
{
	size_t len;
	uint32_t cp;

	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xe0) == 0xc0)
		len = 2, cp = p[0] & 0x1f;
	else if ((p[0] & 0xf0) == 0xe0)
		len = 3, cp = p[0] & 0x0f;
	else if ((p[0] & 0xf8) == 0xf0)
		len = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	/* Overlong forms, surrogates and beyond U+10FFFF are invalid. */
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
	    (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

void
prep_name_clean(const char *in, size_t n, char *out, size_t outlen)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t o = 0, i = 0;

	if (outlen == 0)
		return;
	while (i < n && p[i]) {
		size_t l = utf8_len(p + i, n - i);

		if (l == 0 || (l == 1 && (p[i] < 0x20 || p[i] == 0x7f))) {
			if (o + 1 >= outlen)
				break;
			out[o++] = '?';
			i++;
			continue;
		}
		if (o + l >= outlen)
			break;
		memcpy(out + o, p + i, l);
		o += l;
		i += l;
	}
	out[o] = '\0';
}
