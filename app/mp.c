/*
 * mp.c — streaming multipart/form-data (RFC 7578). The parser keeps one
 * buffer; in a part body it passes on everything except the last
 * delimiter-length bytes, which might be the start of the next boundary.
 */
#include "mp.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MP_CHUNK (64 * 1024)
#define MP_HDR_MAX (16 * 1024)
#define MP_PAD_MAX 64

enum mp_state { S_PREAMBLE, S_AFTER_DELIM, S_HEADERS, S_BODY, S_END };

struct mp {
	enum mp_state state;
	enum mp_err err;
	const struct mp_callbacks *cb;
	void *ud;
	char delim[4 + MP_BOUNDARY_MAX + 1]; /* "\r\n--" boundary */
	size_t dlen;
	size_t nparts;
	char *buf;
	size_t len, cap;
	char name[MP_NAME_MAX + 1];
	char filename[MP_FILENAME_MAX + 1];
};

static int
bchar(unsigned char c)
{
	/* RFC 2046 bchars */
	return isalnum(c) || strchr("'()+_,-./:=? ", c) != NULL;
}

int
mp_boundary(const char *ct, char *out, size_t outlen)
{
	const char *p;
	size_t n = 0;

	if (!ct || strncasecmp(ct, "multipart/form-data", 19) != 0)
		return -1;
	for (p = ct + 19; (p = strchr(p, ';')) != NULL;) {
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncasecmp(p, "boundary=", 9) == 0)
			break;
	}
	if (!p)
		return -1;
	p += 9;
	if (*p == '"') {
		for (p++; *p && *p != '"'; p++) {
			if (n + 1 >= outlen || n >= MP_BOUNDARY_MAX ||
			    !bchar((unsigned char)*p))
				return -1;
			out[n++] = *p;
		}
		if (*p != '"')
			return -1;
	} else {
		for (; *p && *p != ';' && *p != ' ' && *p != '\t'; p++) {
			if (n + 1 >= outlen || n >= MP_BOUNDARY_MAX ||
			    !bchar((unsigned char)*p))
				return -1;
			out[n++] = *p;
		}
	}
	if (n == 0 || out[n - 1] == ' ')
		return -1;
	out[n] = '\0';
	return 0;
}

struct mp *
mp_new(const char *boundary, const struct mp_callbacks *cb, void *ud)
{
	struct mp *m = xcalloc(1, sizeof(*m));
	size_t bl = strlen(boundary);

	m->cb = cb;
	m->ud = ud;
	if (bl == 0 || bl > MP_BOUNDARY_MAX) {
		m->err = MP_BAD_BOUNDARY;
		bl = 0;
	}
	memcpy(m->delim, "\r\n--", 4);
	memcpy(m->delim + 4, boundary, bl);
	m->dlen = 4 + bl;
	m->delim[m->dlen] = '\0';
	m->cap = MP_CHUNK + MP_HDR_MAX + sizeof(m->delim);
	m->buf = xmalloc(m->cap);
	/* The first boundary may open the body without a CRLF before it. */
	memcpy(m->buf, "\r\n", 2);
	m->len = 2;
	return m;
}

void
mp_free(struct mp *m)
{
	if (!m)
		return;
	free(m->buf);
	free(m);
}

static void
consume(struct mp *m, size_t n)
{
	memmove(m->buf, m->buf + n, m->len - n);
	m->len -= n;
}

/* Copies a quoted-string or token value at *pp into out; advances *pp. */
static int
param_value(const char **pp, const char *end, char *out, size_t outlen)
{
	const char *p = *pp;
	size_t n = 0;

	if (p < end && *p == '"') {
		for (p++; p < end && *p != '"'; p++) {
			if (*p == '\\' && p + 1 < end)
				p++;
			if (n + 1 >= outlen)
				return -1;
			out[n++] = *p;
		}
		if (p >= end)
			return -1;
		p++;
	} else {
		for (; p < end && *p != ';' && *p != ' ' && *p != '\t'; p++) {
			if (n + 1 >= outlen)
				return -1;
			out[n++] = *p;
		}
	}
	out[n] = '\0';
	*pp = p;
	return 0;
}

/* Content-Disposition: form-data; name="a"; filename="b" */
static int
parse_disposition(struct mp *m, const char *p, const char *end, int *has_name,
                  int *has_file)
{
	char scratch[MP_FILENAME_MAX + 1];

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if ((size_t)(end - p) < 9 || strncasecmp(p, "form-data", 9) != 0)
		return -1;
	p += 9;
	while (p < end) {
		const char *key;
		size_t klen;
		if (*p == ' ' || *p == '\t' || *p == ';') {
			p++;
			continue;
		}
		key = p;
		while (p < end && *p != '=' && *p != ';')
			p++;
		klen = (size_t)(p - key);
		while (klen && (key[klen - 1] == ' ' || key[klen - 1] == '\t'))
			klen--;
		if (p >= end || *p != '=')
			continue; /* a flag without value: ignore */
		p++;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (klen == 4 && strncasecmp(key, "name", 4) == 0) {
			if (param_value(&p, end, m->name, sizeof(m->name)) < 0)
				return -1;
			*has_name = 1;
		} else if (klen == 8 && strncasecmp(key, "filename", 8) == 0) {
			if (param_value(&p, end, m->filename,
			                sizeof(m->filename)) < 0)
				return -1;
			*has_file = 1;
		} else if (param_value(&p, end, scratch, sizeof(scratch)) < 0) {
			return -1;
		}
	}
	return 0;
}

static enum mp_err
parse_headers(struct mp *m, size_t hlen)
{
	const char *p = m->buf, *end = m->buf + hlen;
	int has_name = 0, has_file = 0, seen = 0;

	while (p < end) {
		const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
		if (!eol)
			eol = end;
		if ((size_t)(eol - p) >= 20 &&
		    strncasecmp(p, "Content-Disposition:", 20) == 0) {
			if (seen++ ||
			    parse_disposition(m, p + 20, eol, &has_name,
			                      &has_file) < 0)
				return MP_BAD_DISPOSITION;
		}
		p = eol + 2;
	}
	if (!has_name)
		return MP_BAD_DISPOSITION;
	if (m->cb->part_begin(m->ud, m->name, has_file ? m->filename : NULL))
		return MP_ABORTED;
	return MP_OK;
}

/* Runs the state machine over the buffer as far as it can go. */
static enum mp_err
process(struct mp *m)
{
	for (;;) {
		char *hit;
		size_t i, keep;
		enum mp_err e;

		switch (m->state) {
		case S_PREAMBLE:
			hit = memmem(m->buf, m->len, m->delim, m->dlen);
			if (!hit) {
				keep = m->dlen - 1;
				if (m->len > keep)
					consume(m, m->len - keep);
				return MP_OK;
			}
			consume(m, (size_t)(hit - m->buf) + m->dlen);
			m->state = S_AFTER_DELIM;
			break;
		case S_AFTER_DELIM:
			if (m->len < 2)
				return MP_OK;
			if (m->buf[0] == '-' && m->buf[1] == '-') {
				m->state = S_END;
				break;
			}
			/* optional transport padding, then CRLF */
			for (i = 0; i < m->len &&
			            (m->buf[i] == ' ' || m->buf[i] == '\t');
			     i++)
				;
			if (i > MP_PAD_MAX)
				return MP_BAD_FRAMING;
			if (m->len < i + 2)
				return MP_OK;
			if (m->buf[i] != '\r' || m->buf[i + 1] != '\n')
				return MP_BAD_FRAMING;
			consume(m, i + 2);
			if (++m->nparts > MP_PARTS_MAX)
				return MP_TOO_MANY_PARTS;
			m->state = S_HEADERS;
			break;
		case S_HEADERS:
			if (m->len >= 2 && m->buf[0] == '\r' &&
			    m->buf[1] == '\n') {
				hit = m->buf; /* no headers at all */
			} else {
				hit = memmem(m->buf, m->len, "\r\n\r\n", 4);
				if (hit)
					hit += 2;
			}
			if (!hit) {
				if (m->len > MP_HDR_MAX)
					return MP_HEADERS_TOO_BIG;
				return MP_OK;
			}
			if ((size_t)(hit - m->buf) > MP_HDR_MAX)
				return MP_HEADERS_TOO_BIG;
			m->name[0] = m->filename[0] = '\0';
			e = parse_headers(m, (size_t)(hit - m->buf));
			if (e != MP_OK)
				return e;
			consume(m, (size_t)(hit - m->buf) + 2);
			m->state = S_BODY;
			break;
		case S_BODY:
			hit = memmem(m->buf, m->len, m->delim, m->dlen);
			if (!hit) {
				keep = m->dlen - 1;
				if (m->len <= keep)
					return MP_OK;
				if (m->cb->part_data(m->ud, m->buf,
				                     m->len - keep))
					return MP_ABORTED;
				consume(m, m->len - keep);
				return MP_OK;
			}
			if (hit > m->buf &&
			    m->cb->part_data(m->ud, m->buf,
			                     (size_t)(hit - m->buf)))
				return MP_ABORTED;
			if (m->cb->part_end(m->ud))
				return MP_ABORTED;
			consume(m, (size_t)(hit - m->buf) + m->dlen);
			m->state = S_AFTER_DELIM;
			break;
		case S_END:
			m->len = 0; /* the epilogue is ignored */
			return MP_OK;
		}
	}
}

enum mp_err
mp_feed(struct mp *m, const char *p, size_t n)
{
	while (m->err == MP_OK && n > 0) {
		size_t room = m->cap - m->len;
		size_t take = n < room ? n : room;
		memcpy(m->buf + m->len, p, take);
		m->len += take;
		p += take;
		n -= take;
		m->err = process(m);
	}
	return m->err;
}

enum mp_err
mp_finish(struct mp *m)
{
	if (m->err == MP_OK && m->state != S_END)
		m->err = MP_TRUNCATED;
	return m->err;
}

static const char *const mp_errs[] = {
    [MP_OK] = "ok",
    [MP_BAD_BOUNDARY] = "the form has no valid multipart boundary",
    [MP_BAD_FRAMING] = "the form's multipart framing is malformed",
    [MP_HEADERS_TOO_BIG] = "a form part's headers are too large",
    [MP_BAD_DISPOSITION] = "a form part has no valid Content-Disposition",
    [MP_TOO_MANY_PARTS] = "the form has too many parts",
    [MP_TRUNCATED] = "the upload was cut off before it ended",
    [MP_ABORTED] = "the upload was stopped",
};

const char *
mp_strerror(enum mp_err e)
{
	return (unsigned)e < TY_ARRAY_LEN(mp_errs) ? mp_errs[e] : "?";
}
