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
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fed.h"
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
	const struct train_params *p;
	const struct train_hooks *h;
	void (*note)(void *, const char *);
	struct train_data d;
	int have_data;
	nn_net *net, *lnet; /* global, and the in-process replica's copy */
	size_t np;
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
	int epoch;               /* epochs finished */
	double ep_loss, ep_samples, ep_correct, ep_secs;
	cJSON *history, *messages;
	double train_secs, images, bytes_out, bytes_in;
	uint32_t *cm;
	char *dir, *ckpt;
	float *best;
	double best_val;
	int best_epoch, bad_epochs, stopped;
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
		co->note(co->h ? co->h->arg : NULL, msg);
}

static int
cancelled(void *arg)
{
	struct coord *co = arg;
	return co->h && co->h->cancelled && co->h->cancelled(co->h->arg);
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
	int r = co->round % co->rpe, S = co->p->local_steps;
	t->shard = shard;
	t->nshards = co->p->workers;
	t->epoch = co->epoch;
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
		s->w = xmalloc(sizeof(float) * co->np);
		enum fed_err e =
		    fed_wire_decode(resp, rlen, co->net, s->w, &s->st);
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
	memcpy(nn_params(co->lnet), nn_params(co->net), co->np * sizeof(float));
	if (fed_local_train(co->p, &co->d, co->lnet, &t, cancelled, co,
	                    &s->st)) {
		snprintf(s->err, sizeof(s->err), "cancelled");
		return;
	}
	s->w = xmalloc(sizeof(float) * co->np);
	memcpy(s->w, nn_params(co->lnet), co->np * sizeof(float));
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
	int N = co->p->workers;
	revive(co);
	int *live = xmalloc(sizeof(int) * ((size_t)co->npeers + 1));
	int nl = 0;
	for (int i = 0; i < co->npeers; i++)
		if (!co->dead[i])
			live[nl++] = i;
	free(co->wbuf);
	fed_wire_encode(co->net, NULL, &co->wbuf, &co->wlen);
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
		co->images += (double)sl[s].st.samples;
	}
	if (fed_average(w, n, N, co->np, nn_params(co->net)))
		note(co, "round %d: no replica trained; weights unchanged",
		     co->round + 1);
	free(w);
	free(n);
	double secs = util_now() - t0;
	co->train_secs += secs;
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

static cJSON *
epoch_entry(int epoch, double tl, double ta, double vl, double va, double secs)
{
	cJSON *e = cJSON_CreateObject();
	cJSON_AddNumberToObject(e, "epoch", epoch);
	cJSON_AddNumberToObject(e, "train_loss", tl);
	cJSON_AddNumberToObject(e, "train_acc", ta);
	cJSON_AddNumberToObject(e, "val_loss", vl);
	cJSON_AddNumberToObject(e, "val_acc", va);
	cJSON_AddNumberToObject(e, "seconds", secs);
	return e;
}

static const struct tensor *
val_split(struct coord *co)
{
	return co->d.va.count ? &co->d.va : &co->d.tr;
}

static void
end_epoch(struct coord *co)
{
	double t0 = util_now(), vl, va;
	fed_evaluate(co->p, &co->d, val_split(co), co->net, co->cm, &vl, &va);
	co->epoch++;
	double ns = co->ep_samples > 0 ? co->ep_samples : 1;
	cJSON *e = epoch_entry(co->epoch, co->ep_loss / ns, co->ep_correct / ns,
	                       vl, va, co->ep_secs + util_now() - t0);
	cJSON_AddItemToArray(co->history, e);
	if (co->h && co->h->epoch)
		co->h->epoch(co->h->arg, e, 0);
	co->ep_loss = co->ep_samples = co->ep_correct = co->ep_secs = 0;
	if (co->p->patience) {
		if (co->best_epoch == 0 || vl < co->best_val) {
			co->best_val = vl;
			co->best_epoch = co->epoch;
			co->bad_epochs = 0;
			memcpy(co->best, nn_params(co->net),
			       co->np * sizeof(float));
		} else if (++co->bad_epochs >= co->p->patience) {
			co->stopped = 1;
		}
	}
}

/* ---- checkpoints ---- */

static int
save_checkpoint(struct coord *co, char *err, size_t errlen)
{
	cJSON *extra = cJSON_CreateObject();
	cJSON_AddItemToObject(extra, "train",
	                      cJSON_Duplicate(co->params_json, 1));
	cJSON *f = cJSON_AddObjectToObject(extra, "fed");
	cJSON_AddNumberToObject(f, "round", co->round);
	cJSON_AddNumberToObject(f, "epoch", co->epoch);
	static const char *const keys[] = {
	    "ep_loss", "ep_samples", "ep_correct", "ep_secs", "train_seconds",
	    "images",  "bytes_out",  "bytes_in",   "best_val"};
	double vals[] = {co->ep_loss,   co->ep_samples, co->ep_correct,
	                 co->ep_secs,   co->train_secs, co->images,
	                 co->bytes_out, co->bytes_in,   co->best_val};
	for (size_t i = 0; i < TY_ARRAY_LEN(keys); i++)
		cJSON_AddNumberToObject(f, keys[i], vals[i]);
	cJSON_AddNumberToObject(f, "best_epoch", co->best_epoch);
	cJSON_AddNumberToObject(f, "bad_epochs", co->bad_epochs);
	cJSON_AddBoolToObject(f, "stopped", co->stopped);
	cJSON_AddItemToObject(f, "history", cJSON_Duplicate(co->history, 1));
	cJSON_AddItemToObject(f, "messages", cJSON_Duplicate(co->messages, 1));
	enum model_err e =
	    model_save(co->ckpt, co->net, &co->d.mm, extra, co->best,
	               co->best ? co->np : 0, err, errlen);
	cJSON_Delete(extra);
	return e == MODEL_OK ? 0 : -1;
}

static double
num(const cJSON *o, const char *k)
{
	return cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

/* 1 when resumed from the checkpoint of these params, else 0. */
static int
try_resume(struct coord *co)
{
	struct stat st;
	if (stat(co->ckpt, &st) != 0)
		return 0;
	char err[256];
	model *m = model_load(co->ckpt, NULL, err, sizeof(err));
	if (!m) {
		ty_log("checkpoint %s unusable, starting over: %s", co->ckpt,
		       err);
		return 0;
	}
	int ok = 0;
	const cJSON *h = model_header(m);
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(h, "fed");
	const cJSON *hist = cJSON_GetObjectItemCaseSensitive(f, "history");
	const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(f, "messages");
	size_t ns;
	const float *s = model_state(m, &ns);
	if (!cJSON_Compare(cJSON_GetObjectItemCaseSensitive(h, "train"),
	                   co->params_json, 1) ||
	    nn_nparams(model_net(m)) != co->np ||
	    ns != (co->best ? co->np : 0) || !cJSON_IsArray(hist) ||
	    !cJSON_IsArray(msgs) || num(f, "round") < 0 ||
	    num(f, "epoch") < 0) {
		ty_log("checkpoint %s is for other params, starting over",
		       co->ckpt);
		goto out;
	}
	memcpy(nn_params(co->net), nn_params(model_net(m)),
	       co->np * sizeof(float));
	if (co->best)
		memcpy(co->best, s, co->np * sizeof(float));
	co->round = (int)num(f, "round");
	co->epoch = (int)num(f, "epoch");
	co->ep_loss = num(f, "ep_loss");
	co->ep_samples = num(f, "ep_samples");
	co->ep_correct = num(f, "ep_correct");
	co->ep_secs = num(f, "ep_secs");
	co->train_secs = num(f, "train_seconds");
	co->images = num(f, "images");
	co->bytes_out = num(f, "bytes_out");
	co->bytes_in = num(f, "bytes_in");
	co->best_val = num(f, "best_val");
	co->best_epoch = (int)num(f, "best_epoch");
	co->bad_epochs = (int)num(f, "bad_epochs");
	co->stopped =
	    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "stopped"));
	cJSON_Delete(co->history);
	co->history = cJSON_Duplicate(hist, 1);
	cJSON_Delete(co->messages);
	co->messages = cJSON_Duplicate(msgs, 1);
	ok = 1;
	ty_log("resuming %s after round %d (epoch %d)", co->ckpt, co->round,
	       co->epoch);
out:
	model_free(m);
	return ok;
}

/* ---- the result ---- */

static cJSON *
finish(struct coord *co, char *err, size_t errlen)
{
	if (co->best && co->best_epoch > 0)
		memcpy(nn_params(co->net), co->best, co->np * sizeof(float));
	struct train_summary s = {
	    .p = co->p,
	    .params_json = co->params_json,
	    .history = co->history,
	    .d = &co->d,
	    .net = co->net,
	    .cm = co->cm,
	    .epochs_trained = co->epoch,
	    .early_stopped = co->stopped,
	    .best_epoch = co->best ? co->best_epoch : -1,
	    .seconds = co->train_secs,
	    .images = co->images,
	};
	fed_evaluate(co->p, &co->d, val_split(co), co->net, co->cm, &s.val_loss,
	             &s.val_acc);
	cJSON *more = cJSON_CreateObject();
	cJSON_AddNumberToObject(more, "workers", co->p->workers);
	cJSON_AddNumberToObject(more, "rounds", co->round);
	cJSON_AddNumberToObject(
	    more, "bytes_per_round",
	    co->round ? (co->bytes_out + co->bytes_in) / co->round : 0);
	cJSON_AddNumberToObject(more, "weights_bytes", (double)co->wlen);
	/* time the coordinator idled for peers after its own shard: the
	 * cost of communication plus stragglers (this run only) */
	cJSON_AddNumberToObject(more, "peer_wait_seconds", co->wait_secs);
	cJSON_AddItemToObject(more, "messages",
	                      cJSON_Duplicate(co->messages, 1));
	return train_write_result(co->dir, &s, more, err, errlen);
}

static void
coord_free(struct coord *co)
{
	nn_free(co->net);
	nn_free(co->lnet);
	if (co->have_data)
		train_data_close(&co->d);
	peer_list_free(co->peers, co->npeers);
	free(co->dead);
	cJSON_Delete(co->params_json);
	cJSON_Delete(co->req_params);
	cJSON_Delete(co->history);
	cJSON_Delete(co->messages);
	free(co->wbuf);
	free(co->cm);
	free(co->dir);
	free(co->ckpt);
	free(co->best);
}

static void
progress(struct coord *co)
{
	const struct train_hooks *h = co->h;
	if (!h || !h->progress)
		return;
	int total = co->rpe * co->p->epochs;
	double ips = co->train_secs > 0 ? co->images / co->train_secs : 0;
	double per = co->round ? co->train_secs / co->round : 0;
	h->progress(h->arg, (double)co->round / total, co->epoch + 1,
	            co->p->epochs, co->round % co->rpe + 1, co->rpe, ips,
	            per * (total - co->round));
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
	co.p = p;
	co.h = h;
	co.note = notefn;
	co.history = cJSON_CreateArray();
	co.messages = cJSON_CreateArray();
	co.timeout = (double)cfg_long(0, NULL, "TRAINYARD_FED_TIMEOUT", 1800);
	*result = NULL;
	enum train_status st = TRAIN_FAILED;
	if (train_data_open(&co.d, data_dir, p->data, err, errlen))
		goto out;
	co.have_data = 1;
	if (co.d.tr.count < (uint32_t)p->workers) {
		snprintf(err, errlen,
		         "%u training images cannot be split "
		         "across %d workers",
		         co.d.tr.count, p->workers);
		goto out;
	}
	co.dir = train_output_dir(models_dir, p->output, &co.ckpt, err, errlen);
	if (!co.dir)
		goto out;
	if (!(co.net = train_net_new(p, &co.d, err, errlen)) ||
	    !(co.lnet = train_net_new(p, &co.d, err, errlen)))
		goto out;
	nn_init(co.net, p->seed);
	co.np = nn_nparams(co.net);
	co.cm = xcalloc((size_t)co.d.mm.nclasses * co.d.mm.nclasses,
	                sizeof(uint32_t));
	if (p->patience)
		co.best = xcalloc(co.np, sizeof(float));
	co.params_json = train_params_json(p);
	co.req_params = cJSON_Duplicate(co.params_json, 1);
	cJSON_AddStringToObject(co.req_params, "output", p->output);
	int nb0 = fed_shard_batches(p, &co.d, p->workers, 0);
	co.rpe = p->local_steps > 0
	             ? (nb0 + p->local_steps - 1) / p->local_steps
	             : 1;
	if (co.rpe < 1)
		co.rpe = 1;
	if (try_resume(&co) && h && h->epoch)
		for (const cJSON *e = co.history->child; e; e = e->next)
			h->epoch(h->arg, e, 1);
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
	while (co.epoch < p->epochs && !co.stopped) {
		if (cancelled(&co) || run_round(&co)) {
			st = TRAIN_CANCELLED;
			goto out;
		}
		if (co.round % co.rpe == 0)
			end_epoch(&co);
		progress(&co);
		if (save_checkpoint(&co, err, errlen))
			goto out;
	}
	*result = finish(&co, err, errlen);
	if (*result)
		st = TRAIN_DONE;
out:
	coord_free(&co);
	return st;
}
