/*
 * fed_local.c — what every replica does with the shared data volume: map
 * the prepared tensors, cut its shard, train on it for a round, and (on
 * the coordinator) validate the averaged model.
 *
 * Everything random in a round is seeded from (seed, epoch, shard), never
 * from which replica runs the shard, so a shard retried elsewhere gives
 * the same weights, and a run is reproducible for a seed and N.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif

#include <cblas.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fed.h"
#include "svc.h"

/* ---- shards ---- */

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

uint32_t *
fed_shard(const uint16_t *labels, uint32_t count, uint64_t seed, int n, int s,
          uint32_t *outcount)
{
	uint32_t *out = xmalloc(sizeof(uint32_t) * (count / (uint32_t)n + 1));
	uint32_t *idx = xmalloc(sizeof(uint32_t) * (count ? count : 1));
	uint32_t m = 0;
	struct nn_rng rng;
	nn_rng_seed(&rng, seed ^ 0x5348415244ULL);
	/* counting sort by label keeps each class's indices ascending */
	uint32_t maxl = 0;
	for (uint32_t i = 0; i < count; i++)
		if (labels[i] > maxl)
			maxl = labels[i];
	uint32_t *start = xcalloc((size_t)maxl + 2, sizeof(uint32_t));
	for (uint32_t i = 0; i < count; i++)
		start[labels[i] + 1]++;
	for (uint32_t c = 0; c <= maxl; c++)
		start[c + 1] += start[c];
	uint32_t *pos = xmalloc(sizeof(uint32_t) * ((size_t)maxl + 1));
	memcpy(pos, start, sizeof(uint32_t) * ((size_t)maxl + 1));
	for (uint32_t i = 0; i < count; i++)
		idx[pos[labels[i]]++] = i;
	/* shuffle each class, then deal: one running deal position across
	 * classes keeps shard sizes within one of each other */
	uint64_t deal = 0;
	for (uint32_t c = 0; c <= maxl; c++) {
		uint32_t lo = start[c], k = start[c + 1] - lo;
		for (uint32_t i = k; i > 1; i--) {
			uint32_t j = nn_rng_below(&rng, i), t = idx[lo + i - 1];
			idx[lo + i - 1] = idx[lo + j], idx[lo + j] = t;
		}
		for (uint32_t i = 0; i < k; i++, deal++)
			if (deal % (uint64_t)n == (uint64_t)s)
				out[m++] = idx[lo + i];
	}
	free(start);
	free(pos);
	free(idx);
	qsort(out, m, sizeof(uint32_t), cmp_u32);
	*outcount = m;
	return out;
}

int
fed_shard_batches(const struct train_params *p, const struct train_data *d,
                  int nshards, int s)
{
	/* sizes differ by at most one: shard s has ceil((N - s) / n) */
	uint32_t N = d->tr.count;
	uint32_t m =
	    N > (uint32_t)s
	        ? (N - (uint32_t)s + (uint32_t)nshards - 1) / (uint32_t)nshards
	        : 0;
	return (int)((m + (uint32_t)p->batch_size - 1) /
	             (uint32_t)p->batch_size);
}

/* ---- batches ---- */

/* Images per forward pass: ~512 KiB of activations, as train.c sizes
 * its chunks, so a conv batch stays in the cache. */
static int
chunk_size(const nn_net *net, int batch)
{
	nn_ctx *probe = nn_ctx_new(net, 1, 1);
	size_t per = nn_ctx_bytes(probe) - sizeof(float) * nn_nparams(net);
	nn_ctx_free(probe);
	int ch = (int)((1u << 19) / (per ? per : 1));
	return ch < 1 ? 1 : ch > batch ? batch : ch;
}

int
fed_local_train(const struct train_params *p, const struct train_data *d,
                nn_net *net, const struct fed_task *t, int (*cancelled)(void *),
                void *arg, struct fed_stats *st)
{
	memset(st, 0, sizeof(*st));
	/* one thread per replica; OpenBLAS would otherwise start a thread
	 * per core in every replica, and they spin against each other
	 * (process-wide, as train_run sets it) */
	openblas_set_num_threads(1);
	uint32_t m;
	uint32_t *sh = fed_shard(d->tr.labels, d->tr.count, p->seed, t->nshards,
	                         t->shard, &m);
	struct nn_rng rng;
	nn_rng_seed(&rng, p->seed ^ 0x4645444156ULL ^
	                      ((uint64_t)(t->epoch + 1) << 32) ^
	                      (uint64_t)t->shard * 0x9e37ULL);
	for (uint32_t i = m; i > 1; i--) {
		uint32_t j = nn_rng_below(&rng, i), x = sh[i - 1];
		sh[i - 1] = sh[j], sh[j] = x;
	}
	int B = p->batch_size;
	int nb = (int)((m + (uint32_t)B - 1) / (uint32_t)B);
	int lo = t->step_lo < 0 ? 0 : t->step_lo;
	int hi = t->step_hi > nb ? nb : t->step_hi;
	/* batches before lo were another round's: skip their draws too, so
	 * the augmentation of batch b is the same however rounds split */
	int ch = chunk_size(net, B);
	nn_ctx *ctx = nn_ctx_new(net, ch, 1);
	float *x = xmalloc(sizeof(float) * d->tr.image_bytes * (size_t)ch);
	uint16_t *lab = xmalloc(sizeof(uint16_t) * (size_t)ch);
	struct train_aug *aug = xcalloc((size_t)B, sizeof(*aug));
	struct nn_opt opt;
	nn_opt_init(&opt, p->optimizer, net, p->lr, p->momentum,
	            p->weight_decay);
	int rc = 0;
	for (int b = 0; b < hi; b++) {
		uint32_t off = (uint32_t)b * (uint32_t)B;
		int n = (int)(m - off < (uint32_t)B ? m - off : (uint32_t)B);
		for (int i = 0; i < n; i++) {
			struct train_aug *a = &aug[i];
			a->dx = a->dy = a->flip = 0;
			if (p->shift) {
				int s = p->shift;
				a->dx = (int8_t)((int)nn_rng_below(&rng,
				                                   2 * s + 1) -
				                 s);
				a->dy = (int8_t)((int)nn_rng_below(&rng,
				                                   2 * s + 1) -
				                 s);
			}
			if (p->hflip)
				a->flip = (int8_t)(nn_rng_next(&rng) >> 63);
		}
		struct nn_rng drop;
		nn_rng_seed(&drop, nn_rng_next(&rng));
		if (b < lo)
			continue;
		if (cancelled && cancelled(arg)) {
			rc = 1;
			break;
		}
		for (int c0 = 0; c0 < n; c0 += ch) {
			int k = n - c0 < ch ? n - c0 : ch;
			train_make_rows(d, &d->tr, sh + off + c0, k, aug + c0,
			                x, lab, 0, d->tr.image_bytes);
			nn_forward(ctx, x, k, 1, &drop);
			nn_ctx_accumulate(ctx, c0 > 0);
			int correct;
			float l = nn_loss_backward_part(ctx, lab, NULL, k, n,
			                                &correct);
			st->loss += (double)l * k;
			st->correct += (uint64_t)correct;
		}
		nn_opt_step(&opt, net, nn_ctx_grads(ctx));
		st->samples += (uint64_t)n;
	}
	nn_opt_free(&opt);
	free(aug);
	free(lab);
	free(x);
	nn_ctx_free(ctx);
	free(sh);
	return rc;
}

void
fed_evaluate(const struct train_params *p, const struct train_data *d,
             const struct tensor *t, nn_net *net, uint32_t *cm, double *loss,
             double *acc)
{
	int k = d->mm.nclasses, no = nn_out_size(net);
	int ch = chunk_size(net, p->batch_size);
	openblas_set_num_threads(1);
	nn_ctx *ctx = nn_ctx_new(net, ch, 0);
	float *x = xmalloc(sizeof(float) * t->image_bytes * (size_t)ch);
	uint16_t *lab = xmalloc(sizeof(uint16_t) * (size_t)ch);
	uint32_t *idx = xmalloc(sizeof(uint32_t) * (size_t)ch);
	memset(cm, 0, sizeof(uint32_t) * (size_t)k * (size_t)k);
	double lsum = 0;
	uint64_t ok = 0;
	for (uint32_t i = 0; i < t->count; i += (uint32_t)ch) {
		int n = (int)(t->count - i < (uint32_t)ch ? t->count - i
		                                          : (uint32_t)ch);
		for (int b = 0; b < n; b++)
			idx[b] = i + (uint32_t)b;
		train_make_rows(d, t, idx, n, NULL, x, lab, 0, t->image_bytes);
		const float *y = nn_forward(ctx, x, n, 0, NULL);
		int correct;
		lsum += (double)nn_loss(ctx, lab, NULL, n, &correct) * n;
		ok += (uint64_t)correct;
		for (int b = 0; b < n; b++, y += no) {
			int am = 0;
			for (int j = 1; j < no; j++)
				if (y[j] > y[am])
					am = j;
			if (lab[b] < k)
				cm[(size_t)lab[b] * k + am]++;
		}
	}
	*loss = t->count ? lsum / t->count : 0;
	*acc = t->count ? (double)ok / t->count : 0;
	free(idx);
	free(lab);
	free(x);
	nn_ctx_free(ctx);
}
