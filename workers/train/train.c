/*
 * train.c — the epoch loop: data from memory-mapped .tyd files, batches
 * normalised (and augmented) on the fly, a checkpoint after every epoch,
 * model.tym and metrics.json at the end.
 *
 * Determinism: one RNG drives shuffling, augmentation and dropout; its
 * state is saved in every checkpoint with the weights and the optimiser
 * moments, so a resumed run makes exactly the same steps as an
 * uninterrupted one (for the same OpenBLAS thread count).
 */
/* The batch loops must vectorise; -O2 of GCC 12 mostly does not. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif

#include <cblas.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "model.h"
#include "nn_pool.h"
#include "svc.h"
#include "tensor.h"
#include "train.h"

/* One thread's share of a batch: its rows, scratch and results. */
struct part {
	nn_ctx *ctx;
	float *x;
	uint16_t *lab;
	uint16_t *pred;
	struct nn_rng rng; /* dropout */
	int lo, n;
	double loss;
	int correct;
};

struct run {
	const struct train_params *p;
	const struct train_hooks *h;
	struct train_data d; /* tensors, meta, normalisation table */
	nn_net *net;
	nn_pool *pool;
	nn_team *team; /* all-dense nets: each batch split by units */
	uint16_t *team_lab;
	int T, chunk;
	struct part *parts;
	struct train_aug *aug; /* drawn by the main thread, in batch order */
	/* the batch being worked on */
	const struct tensor *bt;
	const uint32_t *bidx;
	int bn, btrain;
	const uint32_t *next; /* the batch after this one, to prefetch */
	int next_n;
	struct nn_opt opt;
	struct nn_rng rng;
	float *best;
	uint32_t *perm, *cm;
	char *dir, *ckpt_path;
	cJSON *history, *params_json;
	int epoch; /* epochs finished */
	int best_epoch, bad_epochs, stopped;
	double best_val, train_secs, train_cpu, images;
};

static double
cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void
hexu64(char *buf, uint64_t v)
{
	snprintf(buf, 17, "%016" PRIx64, v);
}

/* ---- batches ---- */

/* Rows [lo, lo+n) of the batch into x / lab, elements [e0, e1) of each. */
static void
make_rows(struct run *r, int lo, int n, float *x, uint16_t *lab,
          const struct train_aug *aug, size_t e0, size_t e1)
{
	train_make_rows(&r->d, r->bt, r->bidx + lo, n, aug ? aug + lo : NULL, x,
	                lab, e0, e1);
}

/* Pool job: one part of the current batch, forward (and backward), in
 * chunks of r->chunk images so each pass stays in the cache. */
static void
part_step(void *arg, int tid, int T)
{
	struct run *r = arg;
	struct part *pt = &r->parts[tid];
	pt->lo = (int)((long)r->bn * tid / T);
	pt->n = (int)((long)r->bn * (tid + 1) / T) - pt->lo;
	pt->loss = 0;
	pt->correct = 0;
	int no = nn_out_size(r->net);
	for (int c0 = 0; c0 < pt->n; c0 += r->chunk) {
		int n = pt->n - c0 < r->chunk ? pt->n - c0 : r->chunk;
		uint16_t *lab = pt->lab + c0;
		make_rows(r, pt->lo + c0, n, pt->x, lab,
		          r->btrain ? r->aug : NULL, 0, r->bt->image_bytes);
		const float *y =
		    nn_forward(pt->ctx, pt->x, n, r->btrain, &pt->rng);
		int correct;
		if (r->btrain) {
			nn_ctx_accumulate(pt->ctx, c0 > 0);
			pt->loss +=
			    (double)nn_loss_backward_part(pt->ctx, lab, NULL, n,
			                                  r->bn, &correct) *
			    n;
			pt->correct += correct;
			continue;
		}
		pt->loss +=
		    (double)nn_loss(pt->ctx, lab, NULL, n, &correct) * n;
		pt->correct += correct;
		for (int b = 0; b < n; b++, y += no) {
			int am = 0;
			for (int j = 1; j < no; j++)
				if (y[j] > y[am])
					am = j;
			pt->pred[c0 + b] = (uint16_t)am;
		}
	}
}

/* Pool job: the optimiser on this thread's slice of the weights. */
static void
part_update(void *arg, int tid, int T)
{
	struct run *r = arg;
	const float *g[NN_MAX_THREADS];
	int ng = 0;
	for (int i = 0; i < T; i++)
		if (r->parts[i].n)
			g[ng++] = nn_ctx_grads(r->parts[i].ctx);
	size_t np = nn_nparams(r->net);
	/* slices on 64-byte boundaries, so no cache line is shared */
	size_t lo = (np * (size_t)tid / (size_t)T) & ~(size_t)15;
	size_t hi = tid == T - 1
	                ? np
	                : (np * (size_t)(tid + 1) / (size_t)T) & ~(size_t)15;
	nn_opt_step_part(&r->opt, r->net, g, ng, lo, hi);
}

/*
 * Pool job: this thread's share of a team step. It fills its own columns
 * of every row of the input (the only ones it reads: nn_team_cols) and
 * the labels of its loss rows, so no input crosses between cores; then
 * it asks for its columns of the next batch's images, which are random
 * rows of a 47 MB tensor: their misses overlap this step's work.
 */
static void
part_team(void *arg, int tid, int T)
{
	struct run *r = arg;
	struct part *pt = &r->parts[tid];
	size_t e0, e1, isz = r->bt->image_bytes;
	nn_team_cols(r->team, tid, &e0, &e1);
	pt->lo = (int)((long)r->bn * tid / T);
	pt->n = (int)((long)r->bn * (tid + 1) / T) - pt->lo;
	for (int b = pt->lo; b < pt->lo + pt->n; b++)
		r->team_lab[b] = r->bt->labels[r->bidx[b]];
	make_rows(r, 0, r->bn, nn_team_input(r->team), NULL, r->aug, e0, e1);
	for (int b = 0; b < r->next_n; b++) {
		const uint8_t *px = r->bt->pixels + (size_t)r->next[b] * isz;
		for (size_t j = e0 & ~(size_t)63; j < e1; j += 64)
			__builtin_prefetch(px + j);
	}
	pt->loss = nn_team_step(r->team, tid, &r->opt, r->team_lab, NULL, r->bn,
	                        &pt->rng, &pt->correct);
}

/* One batch: rows idx[0..n) of t; returns summed loss and correct. */
static double
batch(struct run *r, const struct tensor *t, const uint32_t *idx, int n,
      int train, int *correct)
{
	r->bt = t, r->bidx = idx, r->bn = n, r->btrain = train;
	if (train) {
		/* every random draw on this thread, in a fixed order */
		int s = r->p->shift, fl = r->p->hflip;
		for (int b = 0; b < n; b++) {
			struct train_aug *a = &r->aug[b];
			a->dx = a->dy = a->flip = 0;
			if (s) {
				a->dx = (int8_t)((int)nn_rng_below(&r->rng,
				                                   2 * s + 1) -
				                 s);
				a->dy = (int8_t)((int)nn_rng_below(&r->rng,
				                                   2 * s + 1) -
				                 s);
			}
			if (fl)
				a->flip = (int8_t)(nn_rng_next(&r->rng) >> 63);
		}
		uint64_t seed = nn_rng_next(&r->rng);
		for (int i = 0; i < r->T; i++)
			nn_rng_seed(&r->parts[i].rng, seed + (uint64_t)i);
	}
	if (train && r->team) {
		nn_opt_begin(&r->opt);
		nn_pool_run(r->pool, part_team, r);
	} else {
		nn_pool_run(r->pool, part_step, r);
		if (train) {
			nn_opt_begin(&r->opt);
			nn_pool_run(r->pool, part_update, r);
		}
	}
	double loss = 0;
	*correct = 0;
	for (int i = 0; i < r->T; i++) {
		loss += r->parts[i].loss;
		*correct += r->parts[i].correct;
	}
	return loss;
}

/* Loss, accuracy and the confusion matrix of a whole split. */
static void
evaluate(struct run *r, const struct tensor *t, double *loss, double *acc)
{
	int k = r->d.mm.nclasses, B = r->p->batch_size;
	double lsum = 0;
	uint64_t ok = 0;
	memset(r->cm, 0, sizeof(uint32_t) * (size_t)k * k);
	for (uint32_t i = 0; i < t->count; i += (uint32_t)B) {
		int n = (int)(t->count - i < (uint32_t)B ? t->count - i
		                                         : (uint32_t)B);
		for (int b = 0; b < n; b++)
			r->perm[b] = i + (uint32_t)b;
		int correct;
		lsum += batch(r, t, r->perm, n, 0, &correct);
		ok += (uint64_t)correct;
		for (int q = 0; q < r->T; q++) {
			const struct part *pt = &r->parts[q];
			for (int b = 0; b < pt->n; b++)
				if (pt->lab[b] < k)
					r->cm[(size_t)pt->lab[b] * k +
					      pt->pred[b]]++;
		}
	}
	*loss = t->count ? lsum / t->count : 0;
	*acc = t->count ? (double)ok / t->count : 0;
}

/* ---- checkpoints ---- */

static size_t
state_len(const struct run *r)
{
	return nn_opt_state_len(&r->opt) + (r->best ? nn_nparams(r->net) : 0);
}

static float *
state_pack(const struct run *r)
{
	size_t n = nn_nparams(r->net), off = 0;
	float *s = xmalloc(sizeof(float) * (state_len(r) + 1));
	memcpy(s, r->opt.m, n * sizeof(float)), off += n;
	if (r->opt.v)
		memcpy(s + off, r->opt.v, n * sizeof(float)), off += n;
	if (r->best)
		memcpy(s + off, r->best, n * sizeof(float));
	return s;
}

static int
write_checkpoint(struct run *r, char *err, size_t errlen)
{
	cJSON *extra = cJSON_CreateObject();
	cJSON_AddItemToObject(extra, "train",
	                      cJSON_Duplicate(r->params_json, 1));
	cJSON *ck = cJSON_AddObjectToObject(extra, "checkpoint");
	cJSON_AddNumberToObject(ck, "epoch", r->epoch);
	cJSON *rng = cJSON_AddArrayToObject(ck, "rng");
	for (int i = 0; i < 4; i++) {
		char h[17];
		hexu64(h, r->rng.s[i]);
		cJSON_AddItemToArray(rng, cJSON_CreateString(h));
	}
	char t[17];
	hexu64(t, r->opt.t);
	cJSON_AddStringToObject(ck, "opt_t", t);
	cJSON_AddNumberToObject(ck, "best_val", r->best_val);
	cJSON_AddNumberToObject(ck, "best_epoch", r->best_epoch);
	cJSON_AddNumberToObject(ck, "bad_epochs", r->bad_epochs);
	cJSON_AddBoolToObject(ck, "stopped", r->stopped);
	cJSON_AddNumberToObject(ck, "train_seconds", r->train_secs);
	cJSON_AddNumberToObject(ck, "train_cpu_seconds", r->train_cpu);
	cJSON_AddNumberToObject(ck, "images", r->images);
	cJSON_AddItemToObject(ck, "history", cJSON_Duplicate(r->history, 1));
	float *st = state_pack(r);
	enum model_err e = model_save(r->ckpt_path, r->net, &r->d.mm, extra, st,
	                              state_len(r), err, errlen);
	free(st);
	cJSON_Delete(extra);
	return e == MODEL_OK ? 0 : -1;
}

static int
hex_in(const cJSON *v, uint64_t *out)
{
	char *end;
	if (!cJSON_IsString(v) || strlen(v->valuestring) != 16)
		return -1;
	errno = 0;
	*out = strtoull(v->valuestring, &end, 16);
	return *end || errno ? -1 : 0;
}

/*
 * Restores r from checkpoint.tym when it belongs to these params. Returns
 * 1 when resumed, 0 when there is none (or it is for other params, or
 * damaged: then training starts over and the log says why).
 */
static int
try_resume(struct run *r)
{
	struct stat st;
	if (stat(r->ckpt_path, &st) != 0)
		return 0;
	char err[256];
	model *m = model_load(r->ckpt_path, NULL, err, sizeof(err));
	if (!m) {
		ty_log("checkpoint %s unusable, starting over: %s",
		       r->ckpt_path, err);
		return 0;
	}
	int ok = 0;
	const cJSON *h = model_header(m);
	const cJSON *ck = cJSON_GetObjectItemCaseSensitive(h, "checkpoint");
	const cJSON *tr = cJSON_GetObjectItemCaseSensitive(h, "train");
	size_t ns, n = nn_nparams(r->net);
	const float *s = model_state(m, &ns);
	if (!cJSON_Compare(tr, r->params_json, 1) ||
	    nn_nparams(model_net(m)) != n || ns != state_len(r)) {
		ty_log("checkpoint %s is for other params, starting over",
		       r->ckpt_path);
		goto out;
	}
	const cJSON *ep = cJSON_GetObjectItemCaseSensitive(ck, "epoch");
	const cJSON *rng = cJSON_GetObjectItemCaseSensitive(ck, "rng");
	const cJSON *hist = cJSON_GetObjectItemCaseSensitive(ck, "history");
	uint64_t t;
	if (!cJSON_IsNumber(ep) || !cJSON_IsArray(rng) ||
	    cJSON_GetArraySize(rng) != 4 || !cJSON_IsArray(hist) ||
	    hex_in(cJSON_GetObjectItemCaseSensitive(ck, "opt_t"), &t))
		goto out;
	for (int i = 0; i < 4; i++)
		if (hex_in(cJSON_GetArrayItem(rng, i), &r->rng.s[i]))
			goto out;
	r->opt.t = t;
	r->epoch = ep->valueint;
	memcpy(nn_params(r->net), nn_params(model_net(m)), n * sizeof(float));
	memcpy(r->opt.m, s, n * sizeof(float)), s += n;
	if (r->opt.v)
		memcpy(r->opt.v, s, n * sizeof(float)), s += n;
	if (r->best)
		memcpy(r->best, s, n * sizeof(float));
#define NUM(name)                                                              \
	cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(ck, name))
	r->best_val = NUM("best_val");
	r->best_epoch = (int)NUM("best_epoch");
	r->bad_epochs = (int)NUM("bad_epochs");
	r->train_secs = NUM("train_seconds");
	r->train_cpu = NUM("train_cpu_seconds");
	r->images = NUM("images");
#undef NUM
	r->stopped =
	    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ck, "stopped"));
	cJSON_Delete(r->history);
	r->history = cJSON_Duplicate(hist, 1);
	ok = 1;
	ty_log("resuming %s after epoch %d", r->ckpt_path, r->epoch);
out:
	model_free(m);
	return ok;
}

/* ---- the loop ---- */

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

/* One epoch; returns 1 when cancelled. */
static int
run_epoch(struct run *r)
{
	const struct train_params *p = r->p;
	const struct train_hooks *h = r->h;
	uint32_t N = r->d.tr.count;
	int B = p->batch_size, nb = (int)((N + (uint32_t)B - 1) / (uint32_t)B);
	uint32_t *perm = r->perm;
	for (uint32_t i = 0; i < N; i++)
		perm[i] = i;
	for (uint32_t i = N - 1; i > 0; i--) {
		uint32_t j = nn_rng_below(&r->rng, i + 1), t = perm[i];
		perm[i] = perm[j], perm[j] = t;
	}
	double t0 = util_now(), last = t0, lsum = 0, c0 = cpu_now();
	uint64_t ok = 0;
	for (int b = 0; b < nb; b++) {
		if (h && h->cancelled && h->cancelled(h->arg))
			return 1;
		int n = (int)(N - (uint32_t)b * B < (uint32_t)B
		                  ? N - (uint32_t)b * B
		                  : (uint32_t)B);
		int correct;
		r->next = perm + (size_t)(b + 1) * B;
		r->next_n = b + 1 < nb
		                ? (int)(N - (uint32_t)(b + 1) * B < (uint32_t)B
		                            ? N - (uint32_t)(b + 1) * B
		                            : (uint32_t)B)
		                : 0;
		lsum +=
		    batch(r, &r->d.tr, perm + (size_t)b * B, n, 1, &correct);
		ok += (uint64_t)correct;
		double now = util_now();
		if (h && h->progress && (now - last > 0.5 || b == nb - 1)) {
			last = now;
			double done = (double)b + 1,
			       ips = done * B / (now - t0);
			double frac = (r->epoch + done / nb) / p->epochs;
			double eta =
			    ((double)(p->epochs - r->epoch) * nb - done) * B /
			    (ips > 0 ? ips : 1);
			h->progress(h->arg, frac, r->epoch + 1, p->epochs,
			            b + 1, nb, ips, eta);
		}
	}
	double secs = util_now() - t0;
	r->train_secs += secs;
	r->train_cpu += cpu_now() - c0;
	r->images += N;
	double vl, va;
	const struct tensor *vt = r->d.va.count ? &r->d.va : &r->d.tr;
	evaluate(r, vt, &vl, &va);
	r->epoch++;
	cJSON *e = epoch_entry(r->epoch, lsum / N, (double)ok / N, vl, va,
	                       util_now() - t0);
	cJSON_AddItemToArray(r->history, e);
	if (h && h->epoch)
		h->epoch(h->arg, e, 0);
	if (p->patience) {
		if (r->best_epoch == 0 || vl < r->best_val) {
			r->best_val = vl;
			r->best_epoch = r->epoch;
			r->bad_epochs = 0;
			memcpy(r->best, nn_params(r->net),
			       nn_nparams(r->net) * sizeof(float));
		} else if (++r->bad_epochs >= p->patience) {
			r->stopped = 1;
		}
	}
	return 0;
}

static void
run_free(struct run *r)
{
	nn_pool_free(r->pool);
	nn_team_free(r->team);
	free(r->team_lab);
	for (int i = 0; r->parts && i < r->T; i++) {
		nn_ctx_free(r->parts[i].ctx);
		free(r->parts[i].x);
		free(r->parts[i].lab);
		free(r->parts[i].pred);
	}
	free(r->parts);
	free(r->aug);
	nn_free(r->net);
	nn_opt_free(&r->opt);
	free(r->best);
	free(r->perm);
	free(r->cm);
	free(r->dir);
	free(r->ckpt_path);
	cJSON_Delete(r->history);
	cJSON_Delete(r->params_json);
	train_data_close(&r->d);
}

static cJSON *
finish(struct run *r, char *err, size_t errlen)
{
	/* early stopping keeps the weights of the best epoch */
	if (r->best && r->best_epoch > 0)
		memcpy(nn_params(r->net), r->best,
		       nn_nparams(r->net) * sizeof(float));
	struct train_summary s = {
	    .p = r->p,
	    .params_json = r->params_json,
	    .history = r->history,
	    .d = &r->d,
	    .net = r->net,
	    .cm = r->cm,
	    .epochs_trained = r->epoch,
	    .early_stopped = r->stopped,
	    .best_epoch = r->best ? r->best_epoch : -1,
	    .seconds = r->train_secs,
	    .images = r->images,
	};
	evaluate(r, r->d.va.count ? &r->d.va : &r->d.tr, &s.val_loss,
	         &s.val_acc);
	cJSON *more = cJSON_CreateObject();
	/* CPU of all threads while training: comparable on a busy machine */
	cJSON_AddNumberToObject(more, "cpu_seconds", r->train_cpu);
	return train_write_result(r->dir, &s, more, err, errlen);
}

enum train_status
train_run(const struct train_params *p, const char *data_dir,
          const char *models_dir, int threads, const struct train_hooks *h,
          cJSON **result, char *err, size_t errlen)
{
	struct run r;
	memset(&r, 0, sizeof(r));
	r.p = p;
	r.h = h;
	*result = NULL;
	enum train_status st = TRAIN_FAILED;
	if (train_data_open(&r.d, data_dir, p->data, err, errlen))
		goto out;
	r.dir =
	    train_output_dir(models_dir, p->output, &r.ckpt_path, err, errlen);
	if (!r.dir || !(r.net = train_net_new(p, &r.d, err, errlen)))
		goto out;
	nn_init(r.net, p->seed);
	nn_opt_init(&r.opt, p->optimizer, r.net, p->lr, p->momentum,
	            p->weight_decay);
	/* a stream apart from the init's, from the same seed */
	nn_rng_seed(&r.rng, p->seed ^ 0x5452414953ULL);
	/* Our threads split each batch; BLAS runs single-threaded in
	 * each (its own threading loses on matrices this small). */
	r.T = threads < 1                ? 1
	      : threads > NN_MAX_THREADS ? NN_MAX_THREADS
	                                 : threads;
	if (r.T > p->batch_size)
		r.T = p->batch_size;
	openblas_set_num_threads(1);
	r.pool = nn_pool_new(r.T);
	r.parts = xcalloc((size_t)r.T, sizeof(*r.parts));
	int pb = (p->batch_size + r.T - 1) / r.T;
	size_t isz = r.d.tr.image_bytes;
	/* Chunk: as many images as keep the activations (measured by a
	 * 1-image context) within ~4 MiB, i.e. in L2/L3. With ReLU fused
	 * into pooling, CPU per image of the Fashion-MNIST CNN measured
	 * (bin/nn_profile) about 0.035-0.05 ms for 8 images a pass, 0.058
	 * for 1 and 0.056 for 32. */
	nn_ctx *probe = nn_ctx_new(r.net, 1, 1);
	size_t per = nn_ctx_bytes(probe) - sizeof(float) * nn_nparams(r.net);
	nn_ctx_free(probe);
	r.chunk = (int)((4u << 20) / (per ? per : 1));
	r.chunk = r.chunk < 1 ? 1 : r.chunk > pb ? pb : r.chunk;
	for (int i = 0; i < r.T; i++) {
		struct part *pt = &r.parts[i];
		pt->ctx = nn_ctx_new(r.net, r.chunk, 1);
		pt->x = xmalloc(sizeof(float) * isz * (size_t)r.chunk);
		pt->lab = xmalloc(sizeof(uint16_t) * (size_t)pb);
		pt->pred = xmalloc(sizeof(uint16_t) * (size_t)pb);
	}
	r.aug = xcalloc((size_t)p->batch_size, sizeof(*r.aug));
	if (r.T > 1 && (r.team = nn_team_new(r.net, r.T, p->batch_size)))
		r.team_lab = xcalloc((size_t)p->batch_size, sizeof(uint16_t));
	uint32_t maxn = r.d.tr.count > (uint32_t)p->batch_size
	                    ? r.d.tr.count
	                    : (uint32_t)p->batch_size;
	r.perm = xmalloc(sizeof(uint32_t) * maxn);
	r.cm = xcalloc((size_t)r.d.mm.nclasses * r.d.mm.nclasses,
	               sizeof(uint32_t));
	if (p->patience)
		r.best = xcalloc(nn_nparams(r.net), sizeof(float));
	r.params_json = train_params_json(p);
	r.history = cJSON_CreateArray();
	if (try_resume(&r) && h && h->epoch)
		for (const cJSON *e = r.history->child; e; e = e->next)
			h->epoch(h->arg, e, 1);
	while (r.epoch < p->epochs && !r.stopped) {
		if (run_epoch(&r)) {
			st = TRAIN_CANCELLED;
			goto out;
		}
		if (write_checkpoint(&r, err, errlen))
			goto out;
	}
	*result = finish(&r, err, errlen);
	if (*result)
		st = TRAIN_DONE;
out:
	run_free(&r);
	return st;
}
