/*
 * preds.c — the validation predictions of a finished run, one row per
 * image, written beside metrics.json as predictions.json so the web app
 * can show the images behind each confusion-matrix cell (the mistakes
 * gallery). The rows come from the very weights saved in model.tym:
 * the top classes the validation pass that measured them kept (fit.c,
 * train_evaluate), so no forward pass of its own is on the way to the
 * job's end; a forward pass here only when a runner kept none.
 *
 *	{"split": "val", "top": 3,
 *	 "rows": [[index, true, predicted, [[class, p], ...]], ...]}
 *
 * index is the image's position in the prepared split (<split>.tyd, and
 * names.json of the preprocess output); the top list has the `top` most
 * probable classes, most probable first.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train.h"
#include "wb.h"

#define PREDS_BATCH 64
#define PREDS_MAX (256u << 20) /* bytes of predictions.json */

void
train_top_rows(const float *p, int n, int k, struct train_top *top)
{
	for (int b = 0; b < n; b++) {
		const float *q = p + (size_t)b * k;
		struct train_top *o = &top[b];
		int nt = 0;
		for (int c = 0; c < k; c++) {
			/* insertion into the small sorted top list */
			int j = nt < TRAIN_TOP ? nt++ : TRAIN_TOP;
			while (j > 0 && q[c] > o->p[j - 1]) {
				if (j < TRAIN_TOP)
					o->p[j] = o->p[j - 1],
					o->cls[j] = o->cls[j - 1];
				j--;
			}
			if (j < TRAIN_TOP)
				o->p[j] = q[c], o->cls[j] = (uint16_t)c;
		}
	}
}

/* Appends the rows of images [i0, i0+n) of t, nt classes each. */
static void
add_rows(struct wbuf *out, const struct tensor *t, uint32_t i0, int n,
         const struct train_top *top, int nt)
{
	for (int b = 0; b < n; b++) {
		const struct train_top *o = &top[b];
		uint32_t i = i0 + (uint32_t)b;
		(void)!wb_printf(out, "%s[%u,%u,%d,[", i ? ",\n" : "", i,
		                 (unsigned)t->labels[i], o->cls[0]);
		for (int j = 0; j < nt; j++)
			(void)!wb_printf(out, "%s[%d,%.4f]", j ? "," : "",
			                 o->cls[j], (double)o->p[j]);
		(void)!wb_adds(out, "]]");
	}
}

/* One thread's share of the split: rows [lo, hi) into its own buffer,
 * from s->top or else from a forward pass of its own. */
struct share {
	const struct train_summary *s;
	const struct tensor *t;
	uint32_t lo, hi;
	int B;
	struct wbuf out;
};

static void *
predict_share(void *arg)
{
	struct share *sh = arg;
	const struct train_data *d = sh->s->d;
	int k = nn_out_size(sh->s->net), isz = nn_in_size(sh->s->net);
	int nt = k < TRAIN_TOP ? k : TRAIN_TOP;
	if (sh->s->top) {
		add_rows(&sh->out, sh->t, sh->lo, (int)(sh->hi - sh->lo),
		         sh->s->top + sh->lo, nt);
		return NULL;
	}
	uint32_t idx[PREDS_BATCH];
	struct train_top top[PREDS_BATCH];
	float *x = xmalloc(sizeof(float) * (size_t)isz * (size_t)sh->B);
	nn_ctx *c = nn_ctx_new(sh->s->net, sh->B, 0);
	for (uint32_t i = sh->lo; i < sh->hi && !sh->out.toobig;
	     i += (uint32_t)sh->B) {
		int n = (int)(sh->hi - i < (uint32_t)sh->B ? sh->hi - i
		                                           : (uint32_t)sh->B);
		for (int b = 0; b < n; b++)
			idx[b] = i + (uint32_t)b;
		train_make_rows(d, sh->t, idx, n, NULL, x, NULL, 0,
		                sh->t->image_bytes);
		train_top_rows(nn_predict(c, x, n), n, k, top);
		add_rows(&sh->out, sh->t, i, n, top, nt);
	}
	nn_ctx_free(c);
	free(x);
	return NULL;
}

int
train_write_predictions(const char *dir, const struct train_summary *s,
                        char *err, size_t errlen)
{
	const struct train_data *d = s->d;
	const struct tensor *t = d->va.count ? &d->va : &d->tr;
	int k = nn_out_size(s->net);
	/* as many images a pass as keep each thread's context within
	 * ~4 MB, the training chunks' size: this pass runs while the
	 * training contexts are still held, so what it takes adds to the
	 * run's peak (a 64x64 resnet's 64-image context took ~400 MB;
	 * contexts of 16 MB, two of them, made the Fashion-MNIST CNN's
	 * peak 72 -> 99.5 MB) */
	nn_ctx *probe = nn_ctx_new(s->net, 1, 0);
	size_t per = nn_ctx_bytes(probe), fit = ((size_t)4 << 20) / per;
	nn_ctx_free(probe);
	int B = fit < 1 ? 1 : fit > PREDS_BATCH ? PREDS_BATCH : (int)fit;
	/* Without the last pass's top classes: two halves on two threads
	 * when there are two cores (BLAS is single-threaded here): this pass
	 * is on the way from the last epoch to the job's end, so to the
	 * user's time to model. */
	int T =
	    !s->top && util_ncpu() > 1 && t->count >= 2u * (uint32_t)B ? 2 : 1;
	struct share sh[2];
	pthread_t th;
	for (int i = 0; i < T; i++) {
		sh[i] = (struct share){
		    .s = s,
		    .t = t,
		    .lo = (uint32_t)((uint64_t)t->count * i / T),
		    .hi = (uint32_t)((uint64_t)t->count * (i + 1) / T),
		    .B = B,
		};
		wb_init(&sh[i].out, PREDS_MAX);
	}
	if (T > 1 && pthread_create(&th, NULL, predict_share, &sh[1]) != 0) {
		wb_free(&sh[1].out);
		T = 1, sh[0].hi = t->count;
	}
	predict_share(&sh[0]);
	if (T > 1)
		pthread_join(th, NULL);
	struct wbuf out;
	int rc = 0;

	wb_init(&out, PREDS_MAX);
	(void)!wb_printf(&out, "{\"split\":\"%s\",\"top\":%d,\"rows\":[\n",
	                 d->va.count ? "val" : "train",
	                 k < TRAIN_TOP ? k : TRAIN_TOP);
	for (int i = 0; i < T; i++) {
		if (sh[i].out.toobig)
			out.toobig = 1;
		else
			(void)!wb_add(&out, sh[i].out.data, sh[i].out.len);
		wb_free(&sh[i].out);
	}
	(void)!wb_adds(&out, "]}\n");
	if (out.toobig) {
		snprintf(err, errlen, "predictions.json over %u MB",
		         PREDS_MAX >> 20);
		rc = -1;
	} else {
		char *path = xasprintf("%s/predictions.json", dir);
		if (util_write_atomic(path, out.data, out.len) != 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			rc = -1;
		}
		free(path);
	}
	wb_free(&out);
	return rc;
}
