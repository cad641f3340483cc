/*
 * page_dataset.c — POST /projects/{id}/datasets (the page) and
 * POST /api/v1/projects/{id}/datasets (the API): a streamed multipart
 * upload. The body is never held in memory: the parser hands the file's
 * bytes over in pieces, straight into a temporary file. On the page the
 * csrf field must come before the file field (it does in our form:
 * browsers send fields in document order), so no byte is stored for a
 * forged request; the API has no session and no csrf (its token is the
 * credential).
 */
#include <civetweb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "mp.h"
#include "pages.h"
#include "view.h"
#include "upload.h"

/* Past the limit, the rest of the body is read and dropped up to this
 * much, so the browser gets to see the error page; beyond, we hang up. */
#define DRAIN_MAX (64LL * 1024 * 1024)
#define CSRF_FIELD_MAX 128

enum part_kind { PART_NONE, PART_CSRF, PART_FILE, PART_OTHER };

struct upload_req {
	struct req *r;
	enum part_kind part;
	char csrf[CSRF_FIELD_MAX + 1];
	size_t csrf_len;
	int csrf_ok; /* always 1 for the API */
	int api;
	int have_file;
	int duplicate; /* the project had these bytes: *did is that one */
	char name[UPLOAD_NAME_MAX + 1];
	struct upload_sink sink;
	int sink_open;
	int status; /* set with msg when a callback stops the parse */
	const char *msg;
	char why[160];
};

static int
stop(struct upload_req *u, int status, const char *msg)
{
	u->status = status;
	u->msg = msg;
	return 1;
}

static int
on_begin(void *ud, const char *name, const char *filename)
{
	struct upload_req *u = ud;

	u->part = PART_OTHER;
	if (strcmp(name, "csrf") == 0 && !filename) {
		u->part = PART_CSRF;
		u->csrf_len = 0;
		return 0;
	}
	if (strcmp(name, "file") != 0)
		return 0;
	if (!u->csrf_ok)
		return stop(u, 403, web_csrf_expired);
	if (u->have_file || u->sink_open)
		return stop(u, 400, "Upload one file at a time.");
	if (!filename || !*filename)
		return stop(u, 400, "Choose a file to upload.");
	upload_safe_name(filename, u->name);
	if (upload_sink_open(u->r->w, &u->sink) != UPLOAD_OK)
		return stop(u, 500, "The server could not store the file.");
	u->sink_open = 1;
	u->part = PART_FILE;
	return 0;
}

static int
on_data(void *ud, const char *p, size_t n)
{
	struct upload_req *u = ud;

	switch (u->part) {
	case PART_CSRF:
		if (u->csrf_len + n > CSRF_FIELD_MAX)
			return stop(u, 403, "The form's token is malformed.");
		memcpy(u->csrf + u->csrf_len, p, n);
		u->csrf_len += n;
		return 0;
	case PART_FILE:
		switch (upload_sink_write(&u->sink, p, n)) {
		case UPLOAD_OK:
			return 0;
		case UPLOAD_TOO_BIG:
			return stop(u, 413, NULL);
		default:
			return stop(u, 500,
			            "The server could not store the "
			            "file (is its disk full?).");
		}
	default:
		return 0; /* unknown fields are ignored */
	}
}

static int
on_end(void *ud)
{
	struct upload_req *u = ud;

	if (u->part == PART_CSRF && !u->api) {
		u->csrf[u->csrf_len] = '\0';
		u->csrf_ok = web_csrf_ok(u->r, u->csrf);
	} else if (u->part == PART_FILE) {
		u->have_file = 1;
	}
	u->part = PART_NONE;
	return 0;
}

static const struct mp_callbacks callbacks = {on_begin, on_data, on_end};

/* The message of a 413 (the limit is configured). */
static const char *
too_big(struct req *r, char *buf, size_t len)
{
	snprintf(buf, len,
	         "The file is larger than the upload limit of %ld MB. "
	         "Nothing was saved.",
	         r->w->max_upload_mb);
	return buf;
}

/*
 * Reads the whole upload into a new dataset of r->project: 0 with *did,
 * else the HTTP status with u->msg (the temporary file is gone).
 */
static int
receive(struct req *r, struct upload_req *u, long long *did)
{
	const char *ct = mg_get_header(r->conn, "Content-Type");
	long long cl = r->ri->content_length, total = 0;
	char boundary[MP_BOUNDARY_MAX + 1];
	struct mp *m;
	enum mp_err e = MP_OK;
	char *buf;
	int n, status = 0;

	if (mp_boundary(ct, boundary, sizeof(boundary)) < 0) {
		r->close = 1;
		u->msg = "Send the dataset as multipart/form-data with a "
		         "field named \"file\".";
		return 400;
	}
	/* Headers, boundaries and the token: far less than 1 MiB. */
	if (cl > r->w->max_upload_bytes + 1024 * 1024) {
		r->close = 1;
		u->msg = NULL;
		return 413;
	}
	m = mp_new(boundary, &callbacks, u);
	buf = xmalloc(64 * 1024);
	while ((n = web_read(r, buf, 64 * 1024)) > 0) {
		total += n;
		if ((e = mp_feed(m, buf, (size_t)n)) != MP_OK)
			break;
	}
	if (r->too_slow) {
		mp_free(m);
		free(buf);
		if (u->sink_open)
			upload_sink_abort(&u->sink);
		u->msg = web_too_slow;
		return 408;
	}
	if (e == MP_OK)
		e = mp_finish(m);
	if (e == MP_OK && cl >= 0 && total < cl)
		e = MP_TRUNCATED;
	mp_free(m);
	if (e != MP_OK && (cl < 0 || cl - total > DRAIN_MAX)) {
		r->close = 1;
	} else if (e != MP_OK) {
		while (web_read(r, buf, 64 * 1024) > 0)
			;
	}
	free(buf);
	if (e == MP_ABORTED) {
		status = u->status;
	} else if (e != MP_OK) {
		snprintf(u->why, sizeof(u->why),
		         "The upload could not be read: %s. Nothing was saved.",
		         mp_strerror(e));
		u->msg = u->why;
		status = 400;
	} else if (!u->csrf_ok) {
		status = 403, u->msg = web_csrf_expired;
	} else if (!u->have_file) {
		status = 400, u->msg = "Choose a file to upload.";
	} else if (u->sink.bytes == 0) {
		status = 400, u->msg = "The file is empty. Nothing was saved.";
	}
	if (status) {
		if (u->sink_open)
			upload_sink_abort(&u->sink);
		return status;
	}
	u->sink_open = 0; /* commit closes or aborts it */
	switch (
	    upload_sink_commit(r->w, &u->sink, r->project.id, u->name, did)) {
	case UPLOAD_OK:
		break;
	case UPLOAD_DUPLICATE:
		u->duplicate = 1;
		ty_log("upload: project %lld already has it as dataset %lld",
		       r->project.id, *did);
		return 0;
	default:
		u->msg = "The server could not store the file.";
		return 500;
	}
	ty_log("upload: project %lld dataset %lld %s %lld bytes", r->project.id,
	       *did, u->name, u->sink.bytes);
	return 0;
}

void
page_dataset_upload(struct req *r)
{
	struct upload_req u;
	char back[48], big[160], loc[96];
	long long did = 0;
	int status;

	memset(&u, 0, sizeof(u));
	u.r = r;
	if ((status = receive(r, &u, &did)) != 0) {
		snprintf(back, sizeof(back), "/projects/%lld", r->project.id);
		view_error_page(r, status,
		                status == 413 && !u.msg
		                    ? too_big(r, big, sizeof(big))
		                    : u.msg,
		                back, "Back to the project");
		return;
	}
	snprintf(loc, sizeof(loc), "/projects/%lld?%s=%lld", r->project.id,
	         u.duplicate ? "duplicate" : "uploaded", did);
	web_redirect(r, loc);
}

void
api_dataset_upload(struct req *r)
{
	struct upload_req u;
	char big[160];
	long long did = 0;
	int status;

	memset(&u, 0, sizeof(u));
	u.r = r;
	u.api = u.csrf_ok = 1;
	if ((status = receive(r, &u, &did)) != 0) {
		web_error(r, status,
		          status == 413 && !u.msg ? too_big(r, big, sizeof(big))
		                                  : u.msg);
		return;
	}
	api_dataset_reply(r, u.duplicate ? 200 : 201, did);
}
