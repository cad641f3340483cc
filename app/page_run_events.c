/*
 * page_run_events.c — GET /projects/{id}/runs/{rid}/events: the run's
 * updates as Server-Sent Events, read from the runs table twice a second:
 *	event: status  {status, stage, progress, message, epoch, eta, ...}
 *	event: epoch   one entry of epochs_json, once per new epoch
 *	event: done    when the run has finished (the page then reloads)
 * A stream holds one of CivetWeb's request threads, so there are at most
 * TRAINYARD_SSE_PER_USER (3) per user and TRAINYARD_SSE_MAX (half the
 * request threads) in all, and each ends after EVENTS_MAX_SECONDS; the
 * browser's EventSource reconnects by itself.
 */
#include <civetweb.h>
#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "page_run.h"
#include "pages.h"
#include "pipeline.h"
#include "runrow.h"

#define EVENTS_MAX_SECONDS 120
#define EVENTS_TICK_US (400 * 1000)
#define EVENTS_USERS_MAX 4096 /* >= TRAINYARD_SSE_MAX */

/*
 * Streams open, in all and per user: one user's many tabs must not take
 * every live view (issue 13 §3). A user with no stream has no row.
 */
static pthread_mutex_t count_mu = PTHREAD_MUTEX_INITIALIZER;
static int streams;
static struct {
	long long user;
	int n;
} per_user[EVENTS_USERS_MAX];

enum slot { SLOT_OK, SLOT_USER_FULL, SLOT_ALL_FULL };

static enum slot
take_slot(const struct web *w, long long user)
{
	enum slot res = SLOT_OK;
	int at = -1, free_at = -1;

	pthread_mutex_lock(&count_mu);
	for (int i = 0; i < EVENTS_USERS_MAX && at < 0; i++) {
		if (per_user[i].n && per_user[i].user == user)
			at = i;
		else if (!per_user[i].n && free_at < 0)
			free_at = i;
	}
	if (at >= 0 && per_user[at].n >= w->sse_per_user)
		res = SLOT_USER_FULL;
	else if (streams >= w->sse_max || (at < 0 && free_at < 0))
		res = SLOT_ALL_FULL;
	if (res == SLOT_OK) {
		if (at < 0)
			per_user[at = free_at].user = user;
		per_user[at].n++;
		streams++;
	}
	pthread_mutex_unlock(&count_mu);
	return res;
}

static void
give_slot(long long user)
{
	pthread_mutex_lock(&count_mu);
	for (int i = 0; i < EVENTS_USERS_MAX; i++) {
		if (per_user[i].n && per_user[i].user == user) {
			per_user[i].n--;
			break;
		}
	}
	streams--;
	pthread_mutex_unlock(&count_mu);
}

/*
 * Over a cap: 429 with a sentence a person can act on. The page's
 * script sees the stream fail and falls back to reloading the page
 * (static/run.js), so the run is still followed.
 */
static void
refuse(struct req *r, enum slot why)
{
	char msg[300];
	int n;

	if (why == SLOT_USER_FULL)
		n = snprintf(msg, sizeof(msg),
		             "You have %d live views of runs open (at most %d "
		             "per user): close a tab to get live updates here; "
		             "this page refreshes itself meanwhile.\n",
		             r->w->sse_per_user, r->w->sse_per_user);
	else
		n = snprintf(msg, sizeof(msg),
		             "The server has %d live views of runs open, its "
		             "limit: this page refreshes itself instead.\n",
		             r->w->sse_max);
	web_send(r, 429, "text/plain; charset=utf-8", "Retry-After: 10\r\n",
	         msg, (size_t)n);
}

/* One event; -1 when the client has gone. JSON never holds a newline. */
static int
send_event(struct req *r, const char *name, const char *data)
{
	int n = mg_printf(r->conn, "event: %s\ndata: %s\n\n", name, data);

	if (n <= 0)
		return -1;
	r->bytes_out += (size_t)n;
	return 0;
}

/* Sends the epochs after the first *sent ones. */
static int
send_epochs(struct req *r, const char *epochs_json, int *sent)
{
	cJSON *eps = cJSON_Parse(epochs_json), *e;
	int i = 0, rc = 0;

	cJSON_ArrayForEach(e, eps)
	{
		if (i++ < *sent)
			continue;
		char *s = cJSON_PrintUnformatted(e);
		rc = send_event(r, "epoch", s);
		free(s);
		if (rc < 0)
			break;
		(*sent)++;
	}
	cJSON_Delete(eps);
	return rc;
}

void
page_run_events(struct req *r)
{
	struct runrow run;
	char *last = NULL;
	double t0 = util_now(), ping = t0;
	int sent = 0;
	enum slot slot;
	char q[16];

	if (runrow_load(r->w->db, r->ids[1], r->project.id, &run) < 0) {
		web_error(r, 404, "There is no such run in this project.");
		return;
	}
	runrow_free(&run);
	if ((slot = take_slot(r->w, r->user_id)) != SLOT_OK) {
		refuse(r, slot);
		return;
	}
	/* ?epochs=N: the page already shows N epochs */
	if (web_query(r, "epochs", q, sizeof(q)) == 0)
		sent = atoi(q) > 0 && atoi(q) < 100000 ? atoi(q) : 0;
	mg_printf(r->conn,
	          "HTTP/1.1 200 OK\r\n"
	          "Content-Type: text/event-stream; charset=utf-8\r\n"
	          "Cache-Control: no-store\r\nX-Accel-Buffering: no\r\n"
	          "X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n"
	          "retry: 2000\n\n");
	r->status = 200;
	while (!pipeline_stopping() && util_now() - t0 < EVENTS_MAX_SECONDS) {
		struct wbuf js;
		int active, rc = 0;

		if (runrow_load(r->w->db, r->ids[1], r->project.id, &run) < 0)
			break; /* deleted meanwhile */
		active = runrow_active(&run);
		rc = send_epochs(r, run.epochs_json, &sent);
		wb_init(&js, 64 * 1024);
		page_run_status_json(r, &run, &js);
		if (rc == 0 && js.data && (!last || strcmp(last, js.data))) {
			rc = send_event(r, "status", js.data);
			free(last);
			last = xstrdup(js.data);
			ping = util_now();
		}
		if (rc == 0 && !active)
			(void)send_event(r, "done", js.data ? js.data : "{}");
		wb_free(&js);
		runrow_free(&run);
		if (rc < 0 || !active)
			break;
		if (util_now() - ping > 10) {
			/* a comment: finds a closed connection */
			if (mg_printf(r->conn, ": ping\n\n") <= 0)
				break;
			ping = util_now();
		}
		usleep(EVENTS_TICK_US);
	}
	free(last);
	give_slot(r->user_id);
}
