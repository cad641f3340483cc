/*
 * nn_batch.c — a batch split across a thread pool (nn_batch.h). Moved
 * here from the train worker so single and federated training take their
 * steps through one piece of code, next to the team it drives.
 */
/* The batch loops must vectorise; -O2 of GCC 12 mostly does not. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif

#include <stdlib.h>
#include <string.h>

#include "nn_batch.h"
#include "nn_pool.h"
#include "util.h"

/* One thread's share of a batch: its rows, scratch and results. */
struct part {
	nn_ctx *ctx;
	float *x;
	uint16_t *lab, *pred;
	struct nn_rng rng; /* dropout */
	int lo, n;
	double loss;
	int correct;
};

struct nn_batch {
	nn_net *net;
	struct nn_opt *opt;
	nn_pool *pool;
	nn_team *team; /* all-dense nets: each batch split by units */
	uint16_t *team_lab;
	int T, chunk, train;
	size_t isz;
	struct part *parts;
	/* the batch being worked on */
	const struct nn_batch_src *src;
	int bn, btrain;
	float *probs; /* eval: nn_predict's rows, or NULL */
};

nn_batch *
nn_batch_new(nn_net *net, struct nn_opt *opt, int threads, int maxbatch,
             size_t in_size, size_t chunk_bytes)
{
	nn_batch *b = xcalloc(1, sizeof(*b));
	b->net = net;
	b->opt = opt;
	b->isz = in_size;
	b->T = threads < 1                ? 1
	       : threads > NN_MAX_THREADS ? NN_MAX_THREADS
	                                  : threads;
	if (b->T > maxbatch)
		b->T = maxbatch;
	b->pool = nn_pool_new(b->T);
	b->parts = xcalloc((size_t)b->T, sizeof(*b->parts));
	int pb = (maxbatch + b->T - 1) / b->T;
	/* Chunk: as many images as keep the activations (measured by a
	 * 1-image context) within chunk_bytes, i.e. in L2/L3. With ReLU
	 * fused into pooling, CPU per image of the Fashion-MNIST CNN
	 * measured (bin/nn_profile) about 0.035-0.05 ms for 8 images a
	 * pass, 0.058 for 1 and 0.056 for 32. */
	nn_ctx *probe = nn_ctx_new(net, 1, 1);
	size_t per = nn_ctx_bytes(probe) - sizeof(float) * nn_nparams(net);
	nn_ctx_free(probe);
	b->chunk = (int)(chunk_bytes / (per ? per : 1));
	b->chunk = b->chunk < 1 ? 1 : b->chunk > pb ? pb : b->chunk;
	/*
	 * Batch normalisation normalises over each chunk (ghost batches,
	 * Hoffer et al. 2017): at least NN_BATCH_BN_MIN images, so that the
	 * statistics of a 64x64 resnet's last stage still see 8 x 256
	 * positions a channel, while its context stays ~30 MB a thread
	 * (nn_plan.c; its whole 32-image share took ~4x that). Same chunks,
	 * same bytes: the result depends on the thread count only.
	 */
	if (nn_batch_coupled(net) && b->chunk < NN_BATCH_BN_MIN)
		b->chunk = pb < NN_BATCH_BN_MIN ? pb : NN_BATCH_BN_MIN;
	for (int i = 0; i < b->T; i++) {
		struct part *pt = &b->parts[i];
		pt->ctx = nn_ctx_new(net, b->chunk, 1);
		pt->x = xmalloc(sizeof(float) * in_size * (size_t)b->chunk);
		pt->lab = xmalloc(sizeof(uint16_t) * (size_t)pb);
		pt->pred = xmalloc(sizeof(uint16_t) * (size_t)pb);
	}
	if (b->T > 1 && (b->team = nn_team_new(net, b->T, maxbatch)))
		b->team_lab = xcalloc((size_t)maxbatch, sizeof(uint16_t));
	return b;
}

void
nn_batch_free(nn_batch *b)
{
	if (!b)
		return;
	nn_pool_free(b->pool);
	nn_team_free(b->team);
	free(b->team_lab);
	for (int i = 0; i < b->T; i++) {
		nn_ctx_free(b->parts[i].ctx);
		free(b->parts[i].x);
		free(b->parts[i].lab);
		free(b->parts[i].pred);
	}
	free(b->parts);
	free(b);
}

int
nn_batch_threads(const nn_batch *b)
{
	return b->T;
}

/* Pool job: one part of the current batch, forward (and backward), in
 * chunks of b->chunk images so each pass stays in the cache. */
static void
part_step(void *arg, int tid, int T)
{
	nn_batch *b = arg;
	struct part *pt = &b->parts[tid];
	pt->lo = (int)((long)b->bn * tid / T);
	pt->n = (int)((long)b->bn * (tid + 1) / T) - pt->lo;
	pt->loss = 0;
	pt->correct = 0;
	int no = nn_out_size(b->net);
	for (int c0 = 0; c0 < pt->n; c0 += b->chunk) {
		int n = pt->n - c0 < b->chunk ? pt->n - c0 : b->chunk;
		uint16_t *lab = pt->lab + c0;
		b->src->rows(b->src->arg, pt->lo + c0, n, pt->x, lab, 0,
		             b->isz);
		const float *y =
		    nn_forward(pt->ctx, pt->x, n, b->btrain, &pt->rng);
		int correct;
		if (b->btrain) {
			nn_ctx_accumulate(pt->ctx, c0 > 0);
			pt->loss +=
			    (double)nn_loss_backward_part(pt->ctx, lab, NULL, n,
			                                  b->bn, &correct) *
			    n;
			pt->correct += correct;
			continue;
		}
		pt->loss +=
		    (double)nn_loss(pt->ctx, lab, NULL, n, &correct) * n;
		pt->correct += correct;
		if (b->probs) {
			float *p = b->probs + (size_t)(pt->lo + c0) * no;
			memcpy(p, y, sizeof(float) * (size_t)n * no);
			nn_predict_rows(b->net, p, n);
		}
		for (int r = 0; r < n; r++, y += no) {
			int am = 0;
			for (int j = 1; j < no; j++)
				if (y[j] > y[am])
					am = j;
			pt->pred[c0 + r] = (uint16_t)am;
		}
	}
}

/* Pool job: the optimiser on this thread's slice of the weights. */
static void
part_update(void *arg, int tid, int T)
{
	nn_batch *b = arg;
	const float *g[NN_MAX_THREADS];
	int ng = 0;
	for (int i = 0; i < T; i++)
		if (b->parts[i].n)
			g[ng++] = nn_ctx_grads(b->parts[i].ctx);
	size_t np = nn_nparams(b->net);
	/* slices on 64-byte boundaries, so no cache line is shared */
	size_t lo = (np * (size_t)tid / (size_t)T) & ~(size_t)15;
	size_t hi = tid == T - 1
	                ? np
	                : (np * (size_t)(tid + 1) / (size_t)T) & ~(size_t)15;
	nn_opt_step_part(b->opt, b->net, g, ng, lo, hi);
}

/*
 * Pool job: this thread's share of a team step. It fills its own columns
 * of every row of the input (the only ones it reads: nn_team_cols) and
 * the labels of its loss rows, so no input crosses between cores; then
 * it asks for its columns of the next batch's images, whose misses
 * overlap this step's work.
 */
static void
part_team(void *arg, int tid, int T)
{
	nn_batch *b = arg;
	struct part *pt = &b->parts[tid];
	const struct nn_batch_src *s = b->src;
	size_t e0, e1;
	nn_team_cols(b->team, tid, &e0, &e1);
	pt->lo = (int)((long)b->bn * tid / T);
	pt->n = (int)((long)b->bn * (tid + 1) / T) - pt->lo;
	for (int r = pt->lo; r < pt->lo + pt->n; r++)
		b->team_lab[r] = s->label(s->arg, r);
	s->rows(s->arg, 0, b->bn, nn_team_input(b->team), NULL, e0, e1);
	if (s->prefetch)
		s->prefetch(s->arg, e0, e1);
	pt->loss = nn_team_step(b->team, tid, b->opt, b->team_lab, NULL, b->bn,
	                        &pt->rng, &pt->correct);
}

static double
sum(const nn_batch *b, int *correct)
{
	double loss = 0;
	*correct = 0;
	for (int i = 0; i < b->T; i++) {
		loss += b->parts[i].loss;
		*correct += b->parts[i].correct;
	}
	return loss;
}

double
nn_batch_train(nn_batch *b, const struct nn_batch_src *src, int n,
               uint64_t seed, int *correct)
{
	b->src = src, b->bn = n, b->btrain = 1;
	for (int i = 0; i < b->T; i++)
		nn_rng_seed(&b->parts[i].rng, seed + (uint64_t)i);
	nn_opt_begin(b->opt);
	if (b->team) {
		nn_pool_run(b->pool, part_team, b);
	} else {
		nn_pool_run(b->pool, part_step, b);
		nn_pool_run(b->pool, part_update, b);
	}
	return sum(b, correct);
}

double
nn_batch_eval(nn_batch *b, const struct nn_batch_src *src, int n, uint32_t *cm,
              int k, int *correct, float *probs)
{
	b->src = src, b->bn = n, b->btrain = 0, b->probs = probs;
	nn_pool_run(b->pool, part_step, b);
	for (int q = 0; cm && q < b->T; q++) {
		const struct part *pt = &b->parts[q];
		for (int r = 0; r < pt->n; r++)
			if (pt->lab[r] < k)
				cm[(size_t)pt->lab[r] * k + pt->pred[r]]++;
	}
	return sum(b, correct);
}
