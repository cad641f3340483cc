/*
 * train.c — the single-worker run: each step of the fit loop (fit.c) is
 * one epoch of batches, drawn from memory-mapped .tyd files, normalised
 * (and augmented) on the fly and split across threads (nn_batch.c).
 *
 * Determinism: one RNG drives shuffling, augmentation and dropout; its
 * state is saved in every checkpoint with the optimiser's moments, so a
 * resumed run makes exactly the same steps as an uninterrupted one (for
 * the same thread count).
 */
#include <cblas.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fit.h"
#include "svc.h"

struct run {
	struct fit f;
	nn_batch *nb;
	struct nn_opt opt;
	struct nn_rng rng;
	struct train_aug *aug; /* drawn by the main thread, in batch order */
	uint32_t *perm;
	struct train_batch tb; /* the batch being worked on */
	double train_cpu;
};

static double
cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- the runner (fit_ops) ---- */

static void
evaluate(struct fit *f, void *arg, const struct tensor *t, double *loss,
         double *acc)
{
	struct run *r = arg;
	train_evaluate(r->nb, &f->d, t, f->p->batch_size, f->cm, loss, acc,
	               f->top);
}

/* One epoch of batches; 1 when cancelled. */
static int
step(struct fit *f, void *arg, struct fit_epoch *ep)
{
	struct run *r = arg;
	const struct train_params *p = f->p;
	const struct train_hooks *h = f->h;
	uint32_t N = f->d.tr.count;
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
		uint32_t off = (uint32_t)b * (uint32_t)B;
		int n = (int)(N - off < (uint32_t)B ? N - off : (uint32_t)B);
		r->tb.t = &f->d.tr, r->tb.idx = perm + off, r->tb.aug = r->aug;
		r->tb.next = perm + off + (uint32_t)n;
		r->tb.next_n = (int)(N - off - (uint32_t)n < (uint32_t)B
		                         ? N - off - (uint32_t)n
		                         : (uint32_t)B);
		/* every random draw on this thread, in a fixed order */
		train_aug_draw(p, &r->rng, r->aug, n, (int)f->d.tr.width,
		               (int)f->d.tr.height);
		uint64_t seed = nn_rng_next(&r->rng);
		int correct;
		if (p->lr_schedule == SCHED_COSINE)
			r->opt.lr = nn_lr_cosine(
			    p->lr, (long)f->epoch * nb + b,
			    (long)p->epochs * nb,
			    (long)(p->warmup_epochs * (float)nb + 0.5f));
		lsum += nn_batch_train(r->nb, &r->tb.src, n, seed, &correct);
		ok += (uint64_t)correct;
		double now = util_now();
		if (h && h->progress && (now - last > 0.5 || b == nb - 1)) {
			last = now;
			double done = (double)b + 1,
			       ips = done * B / (now - t0);
			double frac = (f->epoch + done / nb) / p->epochs;
			double eta =
			    ((double)(p->epochs - f->epoch) * nb - done) * B /
			    (ips > 0 ? ips : 1);
			h->progress(h->arg, frac, f->epoch + 1, p->epochs,
			            b + 1, nb, ips, eta);
		}
	}
	ep->secs = util_now() - t0;
	f->train_secs += ep->secs;
	r->train_cpu += cpu_now() - c0;
	f->images += N;
	ep->done = 1;
	ep->loss = lsum;
	ep->correct = (double)ok;
	ep->samples = N;
	return 0;
}

static void
hexu64(char *buf, uint64_t v)
{
	snprintf(buf, 17, "%016" PRIx64, v);
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

static void
save(struct fit *f, void *arg, cJSON *ck)
{
	struct run *r = arg;
	cJSON *rng = cJSON_AddArrayToObject(ck, "rng");
	for (int i = 0; i < 4; i++) {
		char h[17];
		hexu64(h, r->rng.s[i]);
		cJSON_AddItemToArray(rng, cJSON_CreateString(h));
	}
	char t[17];
	hexu64(t, r->opt.t);
	cJSON_AddStringToObject(ck, "opt_t", t);
	cJSON_AddNumberToObject(ck, "train_cpu_seconds", r->train_cpu);
}

static int
load(struct fit *f, void *arg, const cJSON *ck)
{
	struct run *r = arg;
	const cJSON *rng = cJSON_GetObjectItemCaseSensitive(ck, "rng");
	struct nn_rng g;
	uint64_t t;
	if (!cJSON_IsArray(rng) || cJSON_GetArraySize(rng) != 4 ||
	    hex_in(cJSON_GetObjectItemCaseSensitive(ck, "opt_t"), &t))
		return -1;
	for (int i = 0; i < 4; i++)
		if (hex_in(cJSON_GetArrayItem(rng, i), &g.s[i]))
			return -1;
	r->rng = g;
	r->opt.t = t;
	r->train_cpu = cJSON_GetNumberValue(
	    cJSON_GetObjectItemCaseSensitive(ck, "train_cpu_seconds"));
	return 0;
}

static cJSON *
more(struct fit *f, void *arg)
{
	struct run *r = arg;
	cJSON *m = cJSON_CreateObject();
	/* CPU of all threads while training: comparable on a busy machine */
	cJSON_AddNumberToObject(m, "cpu_seconds", r->train_cpu);
	return m;
}

static const struct fit_ops single_ops = {
    .key = "checkpoint",
    .step = step,
    .evaluate = evaluate,
    .save = save,
    .load = load,
    .more = more,
};

enum train_status
train_run(const struct train_params *p, const char *data_dir,
          const char *models_dir, int threads, const struct train_hooks *h,
          cJSON **result, char *err, size_t errlen)
{
	struct run r;
	memset(&r, 0, sizeof(r));
	*result = NULL;
	enum train_status st = TRAIN_FAILED;
	if (fit_open(&r.f, p, h, data_dir, models_dir, 1, err, errlen))
		goto out;
	nn_opt_init(&r.opt, p->optimizer, r.f.net, p->lr, p->momentum,
	            p->weight_decay);
	r.f.state[0] = r.opt.m;
	r.f.state[1] = r.opt.v;
	/* a stream apart from the init's, from the same seed */
	nn_rng_seed(&r.rng, p->seed ^ 0x5452414953ULL);
	train_batch_init(&r.tb, &r.f.d);
	/* Our threads split each batch; BLAS runs single-threaded in
	 * each (its own threading loses on matrices this small). Chunks
	 * of ~4 MiB of activations stay in L2/L3. */
	openblas_set_num_threads(1);
	r.nb = nn_batch_new(r.f.net, &r.opt, threads, p->batch_size,
	                    r.f.d.tr.image_bytes, 4u << 20);
	r.aug = xcalloc((size_t)p->batch_size, sizeof(*r.aug));
	r.perm = xmalloc(sizeof(uint32_t) * r.f.d.tr.count);
	fit_resume(&r.f, &single_ops, &r);
	st = fit_loop(&r.f, &single_ops, &r, result, err, errlen);
out:
	nn_batch_free(r.nb);
	nn_opt_free(&r.opt);
	free(r.aug);
	free(r.perm);
	fit_close(&r.f);
	return st;
}
