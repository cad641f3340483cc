/*
 * page_run_events.c — GET /projects/{id}/runs/{rid}/events: the run's
 * updates as Server-Sent Events, read from the runs table twice a second:
 *	event: status  {status, stage, progress, message, epoch, eta, ...}
 *	event: epoch   one entry of epochs_json, once per new epoch
 *	event: done    when the run has finished (the page then reloads)
 * A stream holds one of CivetWeb's request threads, so there are at most
 * EVENTS_MAX_STREAMS at once and each ends after EVENTS_MAX_SECONDS; the
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

#define EVENTS_MAX_STREAMS 6
#define EVENTS_MAX_SECONDS 120
#define EVENTS_TICK_US (400 * 1000)

static pthread_mutex_t count_mu = PTHREAD_MUTEX_INITIALIZER;
static int streams;

static int
take_slot(void)
{
	int ok;

	pthread_mutex_lock(&count_mu);
	ok = streams < EVENTS_MAX_STREAMS;
	if (ok)
		streams++;
	pthread_mutex_unlock(&count_mu);
	return ok;
}

static void
give_slot(void)
{
	pthread_mutex_lock(&count_mu);
	streams--;
	pthread_mutex_unlock(&count_mu);
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
	char q[16];

	if (runrow_load(r->w->db, r->ids[1], r->project.id, &run) < 0) {
		web_error(r, 404, "There is no such run in this project.");
		return;
	}
	runrow_free(&run);
	if (!take_slot()) {
		web_send(r, 503, "text/plain; charset=utf-8",
		         "Retry-After: 5\r\n", "too many live views\n", 20);
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
	give_slot();
}
