/*
 * fed_http.c — the replica side of a parallel run, on every train worker:
 *
 *	GET  /fed/hello   {"instance", "busy", "rounds"}: who this process
 *	                  is (the coordinator recognises itself in the peer
 *	                  list by it) and how many rounds it is working on
 *	POST /fed/round   a round request (fed.h) -> 200 with the trained
 *	                  weights body, or a JSON error: 400 for a request
 *	                  that fails its checksum, shape or params, 500 when
 *	                  the data cannot be read here, 503 when stopping
 *
 * TRAINYARD_FED_TEST_DELAY_MS (tests only) holds every round that long
 * before training, so a test can kill a replica in the middle of one.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fed.h"
#include "job.h"
#include "metrics.h"
#include "svc.h"

static atomic_int busy;
static atomic_long rounds;

int
fed_http_hello(struct mg_connection *c, void *arg)
{
	(void)arg;
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "instance", peer_instance());
	cJSON_AddNumberToObject(j, "busy", atomic_load(&busy));
	cJSON_AddNumberToObject(j, "rounds", (double)atomic_load(&rounds));
	int st = svc_reply_json(c, 200, j);
	cJSON_Delete(j);
	return st;
}

static int
stopping(void *arg)
{
	(void)arg;
	return svc_stopping();
}

static int
int_in(const cJSON *o, const char *k, int lo, int hi, int *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	if (!cJSON_IsNumber(v) || v->valuedouble < lo || v->valuedouble > hi ||
	    v->valuedouble != (double)(int)v->valuedouble)
		return -1;
	*out = (int)v->valuedouble;
	return 0;
}

/* The task of a round request; 0 or -1 with err. */
static int
parse_task(const cJSON *j, struct fed_task *t, char *err, size_t errlen)
{
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(j, "task");
	if (!cJSON_IsObject(o) || int_in(o, "nshards", 1, 64, &t->nshards) ||
	    int_in(o, "shard", 0, t->nshards - 1, &t->shard) ||
	    int_in(o, "epoch", 0, 1000000, &t->epoch) ||
	    int_in(o, "step_lo", 0, 1 << 30, &t->step_lo) ||
	    int_in(o, "step_hi", t->step_lo, 1 << 30, &t->step_hi)) {
		snprintf(err, errlen,
		         "task must have nshards 1..64, shard, "
		         "epoch, step_lo <= step_hi");
		return -1;
	}
	return 0;
}

static void
test_delay(void)
{
	const char *s = getenv("TRAINYARD_FED_TEST_DELAY_MS");
	long ms = s ? strtol(s, NULL, 10) : 0;
	if (ms > 0 && ms < 600000) {
		struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
		nanosleep(&ts, NULL);
	}
}

int
fed_http_round(struct mg_connection *c, void *arg)
{
	(void)arg;
	char err[512];
	char *body = NULL;
	size_t len;
	cJSON *j = NULL;
	nn_net *net = NULL;
	struct train_data d;
	int have_data = 0, st;
	if (svc_stopping())
		return svc_reply_error(c, 503, "shutting down");
	if ((st = svc_read_body(c, 0, &body, &len, err, sizeof(err))))
		return svc_reply_error(c, st, "%s", err);
	const uint8_t *w;
	size_t wl;
	enum fed_err fe = fed_request_split(body, len, &j, &w, &wl);
	if (fe != FED_OK) {
		st = svc_reply_error(c, 400, "%s", fed_strerror(fe));
		goto out;
	}
	struct train_params p;
	struct fed_task t;
	if (train_params_parse(cJSON_GetObjectItemCaseSensitive(j, "params"),
	                       &p, err, sizeof(err)) ||
	    parse_task(j, &t, err, sizeof(err))) {
		st = svc_reply_error(c, 400, "%s", err);
		goto out;
	}
	if (train_data_open(&d, svc_data_dir(), p.data, err, sizeof(err))) {
		st = svc_reply_error(c, 500, "%s", err);
		goto out;
	}
	have_data = 1;
	if (!(net = train_net_new(&p, &d, err, sizeof(err)))) {
		st = svc_reply_error(c, 400, "%s", err);
		goto out;
	}
	fe = fed_wire_decode(w, wl, net, nn_params(net), NULL);
	if (fe != FED_OK) {
		metrics_counter_add("trainyard_fed_rejected_total", 1);
		st = svc_reply_error(c, 400, "%s", fed_strerror(fe));
		goto out;
	}
	atomic_fetch_add(&busy, 1);
	test_delay();
	struct fed_stats fs;
	double t0 = util_now();
	int cancelled = fed_local_train(&p, &d, net, &t, stopping, NULL, &fs);
	atomic_fetch_sub(&busy, 1);
	if (cancelled) {
		st = svc_reply_error(c, 503, "shutting down");
		goto out;
	}
	atomic_fetch_add(&rounds, 1);
	metrics_counter_add("trainyard_fed_rounds_total", 1);
	metrics_observe("trainyard_fed_round_seconds", util_now() - t0);
	uint8_t *out;
	size_t outlen;
	fed_wire_encode(net, &fs, &out, &outlen);
	st = svc_reply(c, 200, "application/octet-stream", out, outlen);
	free(out);
out:
	nn_free(net);
	if (have_data)
		train_data_close(&d);
	cJSON_Delete(j);
	free(body);
	return st;
}

void
fed_job_note(void *job, const char *msg)
{
	struct job *jb = job;
	cJSON *r = job_result_lock(jb);
	cJSON *m = cJSON_GetObjectItemCaseSensitive(r, "messages");
	if (!cJSON_IsArray(m)) {
		cJSON_DeleteItemFromObjectCaseSensitive(r, "messages");
		m = cJSON_AddArrayToObject(r, "messages");
	}
	cJSON_AddItemToArray(m, cJSON_CreateString(msg));
	job_result_unlock(jb, 1);
}
