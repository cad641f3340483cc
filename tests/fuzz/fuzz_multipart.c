/*
 * libFuzzer harness for request parsing: the input is fed to the
 * streaming multipart parser (boundary "XX") in pieces whose sizes come
 * from the first byte, and the same bytes go through the urlencoded form
 * parser, the upload file-name sanitiser and the route matcher. Checks the
 * invariants: a parsed value has no NUL inside, a safe name has only safe
 * characters.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "form.h"
#include "mp.h"
#include "route.h"
#include "upload.h"
#include "uri.h"

static size_t seen;

static int
on_begin(void *ud, const char *name, const char *filename)
{
	seen += strlen(name) + (filename ? strlen(filename) : 0);
	return 0;
}

static int
on_data(void *ud, const char *p, size_t n)
{
	if (n == 0)
		abort(); /* the parser never passes empty pieces */
	seen += n;
	return 0;
}

static int
on_end(void *ud)
{
	return 0;
}

static const struct mp_callbacks cb = {on_begin, on_data, on_end};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t chunk, off = 1;
	struct mp *m;
	struct form f;
	char *s, safe[UPLOAD_NAME_MAX + 1];

	if (size < 1)
		return 0;
	chunk = (size_t)data[0] % 17 + 1;
	if (data[0] & 0x80)
		chunk = 4096;
	m = mp_new("XX", &cb, NULL);
	while (off < size) {
		size_t n = size - off < chunk ? size - off : chunk;
		if (mp_feed(m, (const char *)data + off, n) != MP_OK)
			break;
		off += n;
	}
	(void)mp_finish(m);
	mp_free(m);

	if (form_parse(&f, (const char *)data, size) == FORM_OK) {
		for (size_t i = 0; i < f.n; i++)
			(void)form_valid_utf8_line(f.f[i].value);
		form_free(&f);
	}

	s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	upload_safe_name(s, safe);
	if (strlen(safe) == 0 || strlen(safe) > UPLOAD_NAME_MAX ||
	    strspn(safe, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                 "0123456789._-") != strlen(safe) ||
	    safe[0] == '.' || strchr(safe, '/'))
		abort();
	char bnd[MP_BOUNDARY_MAX + 1];
	(void)mp_boundary(s, bnd, sizeof(bnd));
	static const char *const pats[] = {"/projects/{id}",
	                                   "/projects/{id}/runs/{rid}/events",
	                                   "/static/*", "/"};
	for (size_t i = 0; i < sizeof(pats) / sizeof(pats[0]); i++) {
		long long ids[WEB_IDS_MAX];
		size_t nids = 0;
		if (uri_match(pats[i], s, ids, WEB_IDS_MAX, &nids) &&
		    (nids > WEB_IDS_MAX || (nids && ids[0] <= 0)))
			abort();
	}
	free(s);
	return 0;
}
