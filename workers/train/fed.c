/*
 * fed.c — the coordinator of a parallel run (fed.h, docs/parallel.md).
 *
 * A round: encode the global weights once, start one thread per shard
 * that goes to a peer, train this worker's shards in process, join, retry
 * every failed shard once on another replica, then average what came
 * back weighted by samples. Each peer call has a timeout, so a round
 * always ends. A checkpoint after every round makes a restarted
 * coordinator continue from the next round.
 */
#include <cblas.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fed.h"
#include "fit.h"
#include "svc.h"

/*
 * A peer gets FED_SLACK times what this worker took for a shard of the
 * same round (at least FED_MIN_WAIT s, at most TRAINYARD_FED_TIMEOUT): a
 * peer that hangs without closing its connection costs a few round
 * times, not the half hour of the fixed timeout.
 */
#define FED_SLACK 5.0
#define FED_MIN_WAIT 60.0

struct slot {
	int shard;
	int peer; /* index into peers, -1: this process */
	int ok;
	float *w;
	struct fed_stats st;
	char err[400];
	struct coord *co;
	pthread_t th;
	int started;
};

struct coord {
	struct fit f; /* the global net, data, history, early stopping */
	void (*note)(void *, const char *);
	nn_net *lnet; /* the in-process replica's copy of the net */
	nn_batch *eval;
	char **peers;
	int npeers;
	int *dead;
	cJSON *params_json, *req_params;
	uint8_t *wbuf;
	size_t wlen;
	double timeout;
	_Atomic double deadline; /* of the current wave, util_now() time */
	double local_secs;       /* this worker's last shard */
	double wait_secs;        /* waiting for peers after our own shards */
	int rpe;                 /* rounds per epoch */
	int round;               /* rounds finished, all epochs */
	double ep_loss, ep_samples, ep_correct, ep_secs;
	cJSON *messages;
	double bytes_out, bytes_in;
};

static void note(struct coord *co, const char *fmt, ...) TY_PRINTF(2, 3);

static void
note(struct coord *co, const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ty_log("%s", msg);
	/* a resumed run says again what it said before the restart */
	for (const cJSON *m = co->messages->child; m; m = m->next)
		if (cJSON_IsString(m) && strcmp(m->valuestring, msg) == 0)
			return;
	cJSON_AddItemToArray(co->messages, cJSON_CreateString(msg));
	if (co->note)
		co->note(co->f.h ? co->f.h->arg : NULL, msg);
}

static int
cancelled(void *arg)
{
	struct coord *co = arg;
	return co->f.h && co->f.h->cancelled &&
	       co->f.h->cancelled(co->f.h->arg);
}

/* For peer calls: the job's cancel, or the wave's deadline passed. */
static int
give_up(void *arg)
{
	struct coord *co = arg;
	return cancelled(co) || util_now() > atomic_load(&co->deadline);
}

static double
allowed(const struct coord *co)
{
	double a = co->local_secs * FED_SLACK;
	if (co->local_secs <= 0)
		return co->timeout;
	a = a < FED_MIN_WAIT ? FED_MIN_WAIT : a;
	return a < co->timeout ? a : co->timeout;
}

/* ---- peers ---- */

/* The peer list without this process; messages for the ones unreachable. */
static int
discover(struct coord *co, char *err, size_t errlen)
{
	const char *spec = getenv("TRAINYARD_TRAIN_PEERS");
	char **all;
	int n;
	if (peer_list(spec, 8082, &all, &n, err, errlen))
		return -1;
	co->peers = xcalloc((size_t)n + 1, sizeof(char *));
	co->dead = xcalloc((size_t)n + 1, sizeof(int));
	for (int i = 0; i < n; i++) {
		char inst[33], why[300];
		if (peer_hello(all[i], 3, inst, why, sizeof(why))) {
			/* still a peer: it may come back in a later round */
			note(co, "train peer %s unreachable: %s", all[i], why);
			co->dead[co->npeers] = 1;
		} else if (strcmp(inst, peer_instance()) == 0) {
			continue;
		}
		co->peers[co->npeers++] = xstrdup(all[i]);
	}
	peer_list_free(all, n);
	return 0;
}

/* Peers marked dead get one quick hello per round to come back. */
static void
revive(struct coord *co)
{
	for (int i = 0; i < co->npeers; i++) {
		char inst[33], why[300];
		if (co->dead[i] &&
		    peer_hello(co->peers[i], 2, inst, why, sizeof(why)) == 0) {
			co->dead[i] = 0;
			note(co, "train peer %s is back", co->peers[i]);
		}
	}
}

/* ---- one shard ---- */

static cJSON *
task_json(struct coord *co, const struct fed_task *t)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddItemToObject(j, "params", cJSON_Duplicate(co->req_params, 1));
	cJSON *o = cJSON_AddObjectToObject(j, "task");
	cJSON_AddNumberToObject(o, "shard", t->shard);
	cJSON_AddNumberToObject(o, "nshards", t->nshards);
	cJSON_AddNumberToObject(o, "epoch", t->epoch);
	cJSON_AddNumberToObject(o, "step_lo", t->step_lo);
	cJSON_AddNumberToObject(o, "step_hi", t->step_hi);
	return j;
}

static void
make_task(struct coord *co, int shard, struct fed_task *t)
{
	int r = co->round % co->rpe, S = co->f.p->local_steps;
	t->shard = shard;
	t->nshards = co->f.p->workers;
	t->epoch = co->f.epoch;
	t->step_lo = S > 0 ? r * S : 0;
	t->step_hi = S > 0 ? (r + 1) * S : 1 << 30;
}

static pthread_mutex_t bytes_mu = PTHREAD_MUTEX_INITIALIZER;

static void *
remote(void *arg)
{
	struct slot *s = arg;
	struct coord *co = s->co;
	struct fed_task t;
	make_task(co, s->shard, &t);
	cJSON *j = task_json(co, &t);
	uint8_t *body, *resp = NULL;
	size_t len, rlen = 0;
	fed_request_encode(j, co->wbuf, co->wlen, &body, &len);
	cJSON_Delete(j);
	const char *url = co->peers[s->peer];
	if (peer_round(url, body, len, co->timeout, give_up, co, &resp, &rlen,
	               s->err, sizeof(s->err)) == 0) {
		s->w = xmalloc(sizeof(float) * co->f.np);
		enum fed_err e =
		    fed_wire_decode(resp, rlen, co->f.net, s->w, &s->st);
		if (e == FED_OK) {
			s->ok = 1;
		} else {
			snprintf(s->err, sizeof(s->err), "%s: %s", url,
			         fed_strerror(e));
			free(s->w);
			s->w = NULL;
		}
	} else if (!cancelled(co) && util_now() > atomic_load(&co->deadline)) {
		snprintf(
		    s->err, sizeof(s->err),
		    "%s: timed out (the round "
		    "waits %g times this worker's time for a shard, at least "
		    "%g s, at most TRAINYARD_FED_TIMEOUT)",
		    url, FED_SLACK, FED_MIN_WAIT);
	}
	pthread_mutex_lock(&bytes_mu);
	co->bytes_out += (double)len;
	co->bytes_in += (double)rlen;
	pthread_mutex_unlock(&bytes_mu);
	free(resp);
	free(body);
	return NULL;
}

static void
local(struct slot *s)
{
	struct coord *co = s->co;
	struct fed_task t;
	make_task(co, s->shard, &t);
	memcpy(nn_params(co->lnet), nn_params(co->f.net),
	       co->f.np * sizeof(float));
	if (fed_local_train(co->f.p, &co->f.d, co->lnet, &t, cancelled, co,
	                    &s->st)) {
		snprintf(s->err, sizeof(s->err), "cancelled");
		return;
	}
	s->w = xmalloc(sizeof(float) * co->f.np);
	memcpy(s->w, nn_params(co->lnet), co->f.np * sizeof(float));
	s->ok = 1;
}

static const char *
where(struct coord *co, int peer)
{
	return peer < 0 ? "this worker" : co->peers[peer];
}

/* Runs every slot: remote ones on threads, local ones here; joins. */
static void
run_slots(struct coord *co, struct slot *sl, int n)
{
	double t0 = util_now();
	int nlocal = 0;
	atomic_store(&co->deadline, t0 + allowed(co));
	for (int i = 0; i < n; i++) {
		if (sl[i].peer < 0)
			continue;
		if (pthread_create(&sl[i].th, NULL, remote, &sl[i]) == 0)
			sl[i].started = 1;
		else
			snprintf(sl[i].err, sizeof(sl[i].err),
			         "cannot start a thread");
	}
	for (int i = 0; i < n; i++)
		if (sl[i].peer < 0 && !cancelled(co)) {
			local(&sl[i]);
			nlocal++;
		}
	if (nlocal) {
		co->local_secs = (util_now() - t0) / nlocal;
		double d = t0 + allowed(co);
		if (d < atomic_load(&co->deadline))
			atomic_store(&co->deadline, d);
	}
	double tj = util_now();
	for (int i = 0; i < n; i++)
		if (sl[i].started) {
			pthread_join(sl[i].th, NULL);
			sl[i].started = 0;
		}
	co->wait_secs += util_now() - tj;
}

/* ---- rounds ---- */

/* 0 done, 1 cancelled. */
static int
run_round(struct coord *co)
{
	int N = co->f.p->workers;
	revive(co);
	int *live = xmalloc(sizeof(int) * ((size_t)co->npeers + 1));
	int nl = 0;
	for (int i = 0; i < co->npeers; i++)
		if (!co->dead[i])
			live[nl++] = i;
	free(co->wbuf);
	fed_wire_encode(co->f.net, NULL, &co->wbuf, &co->wlen);
	/* shard 0 and, with too few peers, the rest here */
	struct slot *sl = xcalloc((size_t)N, sizeof(*sl));
	for (int s = 0; s < N; s++) {
		sl[s].co = co;
		sl[s].shard = s;
		sl[s].peer = s == 0 || nl == 0 ? -1 : live[(s - 1) % nl];
	}
	double t0 = util_now();
	run_slots(co, sl, N);
	if (cancelled(co))
		goto cancel;
	/* the retry wave: each failed shard once, elsewhere */
	struct slot *rt = xcalloc((size_t)N, sizeof(*rt));
	int nr = 0, rr = 0;
	for (int s = 0; s < N; s++) {
		if (sl[s].ok)
			continue;
		int failed = sl[s].peer;
		if (failed >= 0)
			co->dead[failed] = 1;
		int alt = -1;
		for (int k = 0; k < nl; k++) {
			int c = live[(rr + k) % nl];
			if (c != failed && !co->dead[c]) {
				alt = c;
				rr = (rr + k + 1) % nl;
				break;
			}
		}
		note(co,
		     "round %d: shard %d on %s failed (%s); retrying on "
		     "%s",
		     co->round + 1, s, where(co, failed), sl[s].err,
		     where(co, alt));
		rt[nr].co = co;
		rt[nr].shard = s;
		rt[nr].peer = alt;
		nr++;
	}
	run_slots(co, rt, nr);
	for (int i = 0; i < nr; i++) {
		struct slot *a = &rt[i], *o = &sl[a->shard];
		if (a->ok) {
			o->ok = 1;
			o->w = a->w;
			o->st = a->st;
			a->w = NULL;
		} else if (!cancelled(co)) {
			if (a->peer >= 0)
				co->dead[a->peer] = 1;
			note(co,
			     "round %d: shard %d left out of this round "
			     "(retry on %s failed: %s)",
			     co->round + 1, a->shard, where(co, a->peer),
			     a->err);
		}
		free(a->w);
	}
	free(rt);
	if (cancelled(co))
		goto cancel;
	/* average in shard order: the same sums whoever answered first */
	const float **w = xcalloc((size_t)N, sizeof(float *));
	double *n = xcalloc((size_t)N, sizeof(double));
	for (int s = 0; s < N; s++) {
		if (!sl[s].ok)
			continue;
		w[s] = sl[s].w;
		n[s] = (double)sl[s].st.samples;
		co->ep_loss += sl[s].st.loss;
		co->ep_correct += (double)sl[s].st.correct;
		co->ep_samples += (double)sl[s].st.samples;
		co->f.images += (double)sl[s].st.samples;
	}
	if (fed_average(w, n, N, co->f.np, nn_params(co->f.net)))
		note(co, "round %d: no replica trained; weights unchanged",
		     co->round + 1);
	free(w);
	free(n);
	double secs = util_now() - t0;
	co->f.train_secs += secs;
	co->ep_secs += secs;
	co->round++;
	for (int s = 0; s < N; s++)
		free(sl[s].w);
	free(sl);
	free(live);
	return 0;
cancel:
	for (int s = 0; s < N; s++)
		free(sl[s].w);
	free(sl);
	free(live);
	return 1;
}

/* ---- the runner (fit_ops) ---- */

/* One round; at the last round of an epoch, the epoch's figures. */
static int
step(struct fit *f, void *arg, struct fit_epoch *ep)
{
	struct coord *co = arg;
	if (cancelled(co) || run_round(co))
		return 1;
	if (co->round % co->rpe)
		return 0;
	*ep = (struct fit_epoch){1, co->ep_loss, co->ep_correct, co->ep_samples,
	                         co->ep_secs};
	co->ep_loss = co->ep_samples = co->ep_correct = co->ep_secs = 0;
	return 0;
}

static void
evaluate(struct fit *f, void *arg, const struct tensor *t, double *loss,
         double *acc)
{
	struct coord *co = arg;
	train_evaluate(co->eval, &f->d, t, f->p->batch_size, f->cm, loss, acc,
	               f->top);
}

static void
save(struct fit *f, void *arg, cJSON *ck)
{
	struct coord *co = arg;
	cJSON_AddNumberToObject(ck, "round", co->round);
	static const char *const keys[] = {"ep_loss",    "ep_samples",
	                                   "ep_correct", "ep_secs",
	                                   "bytes_out",  "bytes_in"};
	double vals[] = {co->ep_loss, co->ep_samples, co->ep_correct,
	                 co->ep_secs, co->bytes_out,  co->bytes_in};
	for (size_t i = 0; i < TY_ARRAY_LEN(keys); i++)
		cJSON_AddNumberToObject(ck, keys[i], vals[i]);
	cJSON_AddItemToObject(ck, "messages", cJSON_Duplicate(co->messages, 1));
}

static double
num(const cJSON *o, const char *k)
{
	return cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

static int
load(struct fit *f, void *arg, const cJSON *ck)
{
	struct coord *co = arg;
	const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(ck, "messages");
	if (!cJSON_IsArray(msgs) || !(num(ck, "round") >= 0))
		return -1;
	co->round = (int)num(ck, "round");
	co->ep_loss = num(ck, "ep_loss");
	co->ep_samples = num(ck, "ep_samples");
	co->ep_correct = num(ck, "ep_correct");
	co->ep_secs = num(ck, "ep_secs");
	co->bytes_out = num(ck, "bytes_out");
	co->bytes_in = num(ck, "bytes_in");
	cJSON_Delete(co->messages);
	co->messages = cJSON_Duplicate(msgs, 1);
	ty_log("resuming after round %d", co->round);
	return 0;
}

static void
progress(struct fit *f, void *arg)
{
	struct coord *co = arg;
	const struct train_hooks *h = f->h;
	if (!h || !h->progress)
		return;
	int total = co->rpe * f->p->epochs;
	double ips = f->train_secs > 0 ? f->images / f->train_secs : 0;
	double per = co->round ? f->train_secs / co->round : 0;
	h->progress(h->arg, (double)co->round / total, f->epoch + 1,
	            f->p->epochs, co->round % co->rpe + 1, co->rpe, ips,
	            per * (total - co->round));
}

static cJSON *
more(struct fit *f, void *arg)
{
	struct coord *co = arg;
	cJSON *m = cJSON_CreateObject();
	cJSON_AddNumberToObject(m, "workers", f->p->workers);
	cJSON_AddNumberToObject(m, "rounds", co->round);
	cJSON_AddNumberToObject(
	    m, "bytes_per_round",
	    co->round ? (co->bytes_out + co->bytes_in) / co->round : 0);
	cJSON_AddNumberToObject(m, "weights_bytes", (double)co->wlen);
	/* time the coordinator idled for peers after its own shard: the
	 * cost of communication plus stragglers (this run only) */
	cJSON_AddNumberToObject(m, "peer_wait_seconds", co->wait_secs);
	cJSON_AddItemToObject(m, "messages", cJSON_Duplicate(co->messages, 1));
	return m;
}

static const struct fit_ops fed_ops = {
    .key = "fed",
    .step = step,
    .evaluate = evaluate,
    .save = save,
    .load = load,
    .after = progress,
    .more = more,
};

static void
coord_free(struct coord *co)
{
	nn_batch_free(co->eval);
	nn_free(co->lnet);
	fit_close(&co->f);
	peer_list_free(co->peers, co->npeers);
	free(co->dead);
	cJSON_Delete(co->req_params);
	cJSON_Delete(co->messages);
	free(co->wbuf);
}

enum train_status
fed_run(const struct train_params *p, const char *data_dir,
        const char *models_dir, int threads, const struct train_hooks *h,
        void (*notefn)(void *, const char *), cJSON **result, char *err,
        size_t errlen)
{
	(void)threads; /* each replica trains its shard on one thread */
	struct coord co;
	memset(&co, 0, sizeof(co));
	co.note = notefn;
	co.messages = cJSON_CreateArray();
	co.timeout = (double)cfg_long(0, NULL, "TRAINYARD_FED_TIMEOUT", 1800);
	*result = NULL;
	enum train_status st = TRAIN_FAILED;
	if (fit_open(&co.f, p, h, data_dir, models_dir, (uint32_t)p->workers,
	             err, errlen) ||
	    !(co.lnet = train_net_new(p, &co.f.d, err, errlen)))
		goto out;
	openblas_set_num_threads(1);
	co.eval = nn_batch_new(co.f.net, NULL, 1, p->batch_size,
	                       co.f.d.tr.image_bytes, FED_CHUNK_BYTES);
	co.req_params = cJSON_Duplicate(co.f.params_json, 1);
	cJSON_AddStringToObject(co.req_params, "output", p->output);
	int nb0 = fed_shard_batches(p, &co.f.d, p->workers, 0);
	co.rpe = p->local_steps > 0
	             ? (nb0 + p->local_steps - 1) / p->local_steps
	             : 1;
	if (co.rpe < 1)
		co.rpe = 1;
	fit_resume(&co.f, &fed_ops, &co);
	if (discover(&co, err, errlen))
		goto out;
	if (co.npeers == 0)
		note(&co,
		     "no other train replica found (TRAINYARD_TRAIN_PEERS"
		     "=%s): all %d shards train in this worker",
		     getenv("TRAINYARD_TRAIN_PEERS")
		         ? getenv("TRAINYARD_TRAIN_PEERS")
		         : "",
		     p->workers);
	st = fit_loop(&co.f, &fed_ops, &co, result, err, errlen);
out:
	coord_free(&co);
	return st;
}
