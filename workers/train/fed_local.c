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
	struct train_aug *aug = xcalloc((size_t)B, sizeof(*aug));
	struct nn_opt opt;
	nn_opt_init(&opt, p->optimizer, net, p->lr, p->momentum,
	            p->weight_decay);
	nn_batch *bt =
	    nn_batch_new(net, &opt, 1, B, d->tr.image_bytes, FED_CHUNK_BYTES);
	struct train_batch tb;
	train_batch_init(&tb, d);
	tb.t = &d->tr;
	tb.aug = aug;
	int rc = 0;
	for (int b = 0; b < hi; b++) {
		uint32_t off = (uint32_t)b * (uint32_t)B;
		int n = (int)(m - off < (uint32_t)B ? m - off : (uint32_t)B);
		/* batches before lo were another round's: draw their
		 * augmentation too, so that of batch b is the same however
		 * rounds split */
		train_aug_draw(p, &rng, aug, n, (int)d->tr.width,
		               (int)d->tr.height);
		uint64_t seed = nn_rng_next(&rng);
		if (b < lo)
			continue;
		if (cancelled && cancelled(arg)) {
			rc = 1;
			break;
		}
		tb.idx = sh + off;
		int correct;
		st->loss += nn_batch_train(bt, &tb.src, n, seed, &correct);
		st->correct += (uint64_t)correct;
		st->samples += (uint64_t)n;
	}
	nn_batch_free(bt);
	nn_opt_free(&opt);
	free(aug);
	free(sh);
	return rc;
}
