/*
 * nn_team.c — an all-dense net trained by T threads on each whole batch,
 * every weight matrix split by rows (input units); see nn.h.
 *
 * Split by batch rows (train.c's way for conv nets), each thread gets
 * half the batch and ALL of every weight matrix: OpenBLAS packs the whole
 * 784x128 matrix for a 32-row product, each thread makes a whole weight
 * gradient and the optimiser sums the threads' gradients, so every
 * weight crosses between the cores' caches each step. On the 784-128-10
 * MLP two threads ran 1.1x one thread that way. Here thread t owns rows
 * [r0, r1) of each W, i.e. input units r0..r1 of the layer: it multiplies
 * its columns of the layer's input by its rows of W (a partial product
 * of the whole output), and its rows' gradient, update and share of the
 * input gradient need nothing but its own rows. So weights, their
 * gradients and optimiser state stay in one core's cache, and every
 * update is one contiguous run (by columns, the same update was 3x
 * slower: 784 runs of 64 floats). What crosses cores: the partial
 * products, summed by output unit (each thread sums the units that are
 * its input rows of the next layer), and the whole d output of each
 * layer for the gradient of the layer's weights. One barrier each.
 */
#include "nn_int.h"

#include <cblas.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "nn_sync.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif

struct nn_team {
	nn_net *net;
	int T, maxbatch, first; /* first: index of the first dense layer */
	nn_ctx *c;              /* whole-batch buffers and the gradient */
	float *in;
	float ***part; /* [dense layer][thread]: partial products */
	atomic_int count, sleepers;
	atomic_uint gen;
	_Atomic long at; /* when the last barrier was released */
};

/* Does layer i's row split its weights by rows in a team? */
static int
is_dense(const nn_net *net, int i)
{
	return nn_ops[net->l[i].s.kind]->team_fwd == nn_team_dense_fwd;
}

int
nn_team_fits(const nn_net *net)
{
	int dense = 0;
	for (int i = 0; i < net->nl; i++) {
		const struct nn_op *op = nn_ops[net->l[i].s.kind];
		if (!op->team_fwd || net->l[i].src != i - 1)
			return 0;
		if (is_dense(net, i))
			dense = 1;
		/* a flatten is a free view before any unit is split; the
		 * elementwise layers work unit by unit on a dense layer's */
		else if ((op->team_fwd == nn_team_view) == dense)
			return 0;
	}
	return dense;
}

nn_team *
nn_team_new(nn_net *net, int T, int maxbatch)
{
	if (!nn_team_fits(net))
		return NULL;
	nn_team *t = xcalloc(1, sizeof(*t));
	t->net = net;
	t->T = T < 1 ? 1 : T > NN_MAX_THREADS ? NN_MAX_THREADS : T;
	t->maxbatch = maxbatch < 1 ? 1 : maxbatch;
	t->c = nn_ctx_new_flat(net, t->maxbatch, 1);
	size_t len = sizeof(float) * (size_t)net->in_size * t->maxbatch;
	if (posix_memalign((void **)&t->in, 64, len ? len : 64) != 0)
		abort();
	while (!is_dense(net, t->first))
		t->first++;
	t->part = xcalloc((size_t)net->nl, sizeof(*t->part));
	for (int i = 0; i < net->nl; i++) {
		if (!is_dense(net, i))
			continue;
		t->part[i] = xcalloc((size_t)t->T, sizeof(**t->part));
		for (int k = 0; k < t->T; k++)
			t->part[i][k] =
			    xmalloc(sizeof(float) * (size_t)t->maxbatch *
			            (size_t)net->l[i].oc);
	}
	return t;
}

void
nn_team_free(nn_team *t)
{
	if (!t)
		return;
	for (int i = 0; i < t->net->nl; i++) {
		for (int k = 0; t->part[i] && k < t->T; k++)
			free(t->part[i][k]);
		free(t->part[i]);
	}
	free(t->part);
	nn_ctx_free(t->c);
	free(t->in);
	free(t);
}

float *
nn_team_input(nn_team *t)
{
	return t->in;
}

/* this thread's waits at the barriers */
static _Thread_local struct nn_spin spin;

/* All T threads meet here (waits as nn_sync.h says). */
static void
barrier(nn_team *t)
{
	if (t->T == 1)
		return;
	unsigned g = atomic_load_explicit(&t->gen, memory_order_acquire);
	if (atomic_fetch_add_explicit(&t->count, 1, memory_order_acq_rel) ==
	    t->T - 1) {
		atomic_store_explicit(&t->count, 0, memory_order_relaxed);
		nn_sync_stamp(&t->at);
		atomic_store(&t->gen, g + 1); /* seq_cst: pairs with sleepers */
		nn_sync_wake(&t->gen, &t->sleepers);
		return;
	}
	nn_sync_wait(&t->gen, g, &t->sleepers, &t->at, &spin);
}

/*
 * Asks for floats [c0, c1) of rows 0..n-1 of m (row length u), written by
 * another core, all at once: read one by one as the sums come to them,
 * each line is a round trip to the other core's cache (~65 ns when the
 * host keeps both vCPUs on one CCD, ~320 ns across two), with prefetches
 * many are in flight together.
 */
static void
fetch_cols(const float *m, int n, int u, int c0, int c1)
{
	if (c1 <= c0)
		return;
	for (int r = 0; r < n; r++) {
		const char *p = (const char *)(m + (size_t)r * u + c0);
		const char *e = (const char *)(m + (size_t)r * u + c1);
		for (; p < e; p += 64)
			__builtin_prefetch(p);
	}
}

/* Thread tid's first unit of `units`, a multiple of 16 where the layer
 * is wide enough, so the threads' shares of a row of activations start
 * on cache lines of their own. */
static int
cut(int units, int tid, int T)
{
	if (tid >= T)
		return units;
	int c = (int)((long)units * tid / T);
	return units >= 16 * T ? c & ~15 : c;
}

void
nn_team_cols(const nn_team *t, int tid, size_t *c0, size_t *c1)
{
	int in = (int)isize(&t->net->l[t->first]);
	*c0 = (size_t)cut(in, tid, t->T);
	*c1 = (size_t)cut(in, tid + 1, t->T);
}

/* Output of layer i (a flatten is a view of its input; -1: the input). */
static const float *
out_of(const nn_team *t, int i)
{
	while (i >= 0 && nn_ops[t->net->l[i].s.kind]->team_fwd == nn_team_view)
		i--;
	return i < 0 ? t->in : t->c->act[i];
}

void
nn_team_dense_fwd(nn_team *t, int tid, int i, int n, struct nn_rng *rng)
{
	(void)rng;
	const nn_net *net = t->net;
	const struct layer *l = &net->l[i];
	const float *x = out_of(t, i - 1);
	float *y = t->c->act[i];
	int T = t->T, u = (int)osize(l), c0 = cut(u, tid, T),
	    c1 = cut(u, tid + 1, T);
	int in = (int)isize(l), r0 = cut(in, tid, T), r1 = cut(in, tid + 1, T);
	const float *W = net->params + l->woff, *b = net->params + l->boff;
	float *P = t->part[i][tid];
	if (r1 > r0)
		blas_sgemm_cols(CblasNoTrans, n, u, r1 - r0, x + r0, in,
		                W + (size_t)r0 * u, u, P, u);
	else
		memset(P, 0, sizeof(float) * (size_t)n * u);
	barrier(t); /* every thread's partial product */
	/* The logits: every unit of this thread's loss rows (nn_team_step),
	 * so the loss needs no barrier of its own; the same sums. */
	int rr0 = 0, rr1 = n;
	if (i == net->nl - 1)
		c0 = 0, c1 = u, rr0 = (int)((long)n * tid / T),
		rr1 = (int)((long)n * (tid + 1) / T);
	for (int k = 0; k < T; k++)
		if (k != tid)
			fetch_cols(t->part[i][k] + (size_t)rr0 * u, rr1 - rr0,
			           u, c0, c1);
	/* units c0..c1: in a fixed order of threads */
	for (int r = rr0; r < rr1; r++) {
		float *yr = y + (size_t)r * u;
		for (int j = c0; j < c1; j++)
			yr[j] = b[j];
		for (int k = 0; k < T; k++) {
			const float *pr = t->part[i][k] + (size_t)r * u;
			for (int j = c0; j < c1; j++)
				yr[j] += pr[j];
		}
	}
}

/* this thread's units of each row */
void
nn_team_pw_fwd(nn_team *t, int tid, int i, int n, struct nn_rng *rng)
{
	const struct layer *l = &t->net->l[i];
	const float *x = out_of(t, i - 1);
	float *y = t->c->act[i], *mask = t->c->aux[i];
	int u = (int)osize(l), c0 = cut(u, tid, t->T),
	    c1 = cut(u, tid + 1, t->T);
	for (int r = 0; r < n && c1 > c0; r++) {
		size_t at = (size_t)r * u + c0;
		nn_ops[l->s.kind]->pw_fwd(l, x + at, y + at,
		                          mask ? mask + at : NULL,
		                          (size_t)(c1 - c0), 1, rng);
	}
}

/* flatten: a view (out_of) */
void
nn_team_view(nn_team *t, int tid, int i, int n, struct nn_rng *rng)
{
	(void)t, (void)tid, (void)i, (void)n, (void)rng;
}

void
nn_team_view_bwd(nn_team *t, int tid, int i, int n, struct nn_opt *o)
{
	(void)t, (void)tid, (void)i, (void)n, (void)o;
}

void
nn_team_dense_bwd(nn_team *t, int tid, int i, int n, struct nn_opt *o)
{
	nn_net *net = t->net;
	nn_ctx *c = t->c;
	const struct layer *l = &net->l[i];
	const float *g = c->grads;
	const float *dy = c->gact[i];
	float *dx = i > 0 ? c->gact[i - 1] : NULL;
	int T = t->T, u = (int)osize(l), c0 = cut(u, tid, T),
	    c1 = cut(u, tid + 1, T);
	int in = (int)isize(l), r0 = cut(in, tid, T), r1 = cut(in, tid + 1, T);
	const float *W = net->params + l->woff;
	const float *x = out_of(t, i - 1);
	float *dW = c->grads + l->woff, *db = c->grads + l->boff;
	if (i < net->nl - 1) {
		barrier(t); /* every unit of dy */
		/* the other threads' units, for the weight gradient */
		fetch_cols(dy, n, u, 0, c0);
		fetch_cols(dy, n, u, c1, u);
	}
	if (r1 > r0) {
		size_t w0 = (size_t)r0 * u, wn = (size_t)(r1 - r0) * u;
		blas_sgemm_cols(CblasTrans, r1 - r0, u, n, x + r0, in, dy, u,
		                dW + w0, u);
		if (i > t->first)
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n,
			            r1 - r0, u, 1.0f, dy, u, W + w0, u, 0.0f,
			            dx + r0, in);
		/* nobody else reads these rows of W */
		nn_opt_step_part(o, net, &g, 1, l->woff + w0,
		                 l->woff + w0 + wn);
	}
	if (c1 > c0) {
		memset(db + c0, 0, sizeof(float) * (c1 - c0));
		for (int r = 0; r < n; r++)
			for (int j = c0; j < c1; j++)
				db[j] += dy[(size_t)r * u + j];
		nn_opt_step_part(o, net, &g, 1, l->boff + c0, l->boff + c1);
	}
}

/* this thread's units of each row */
void
nn_team_pw_bwd(nn_team *t, int tid, int i, int n, struct nn_opt *o)
{
	(void)o;
	nn_ctx *c = t->c;
	const struct layer *l = &t->net->l[i];
	const float *dy = c->gact[i], *y = c->act[i];
	float *dx = c->gact[i - 1], *mask = c->aux[i];
	int u = (int)osize(l), c0 = cut(u, tid, t->T),
	    c1 = cut(u, tid + 1, t->T);
	for (int r = 0; r < n && c1 > c0; r++) {
		size_t at = (size_t)r * u + c0;
		nn_ops[l->s.kind]->pw_bwd(l, y + at, dy + at,
		                          mask ? mask + at : NULL, dx + at,
		                          (size_t)(c1 - c0));
	}
}

static void
forward(nn_team *t, int tid, int n, struct nn_rng *rng)
{
	for (int i = 0; i < t->net->nl; i++)
		nn_ops[t->net->l[i].s.kind]->team_fwd(t, tid, i, n, rng);
}

static void
backward(nn_team *t, int tid, int n, struct nn_opt *o)
{
	for (int i = t->net->nl - 1; i >= 0; i--)
		nn_ops[t->net->l[i].s.kind]->team_bwd(t, tid, i, n, o);
}

double
nn_team_step(nn_team *t, int tid, struct nn_opt *o, const uint16_t *labels,
             const float *targets, int n, struct nn_rng *rng, int *correct)
{
	nn_net *net = t->net;
	int T = t->T, last = net->nl - 1, k = nn_out_size(net);
	if (n > t->maxbatch || tid >= T)
		abort(); /* a programming error, not an input error */
	forward(t, tid, n, rng);
	/* a dense last layer summed this thread's rows of the output */
	if (!is_dense(net, last))
		barrier(t); /* every unit of the output */
	int r0 = (int)((long)n * tid / T), r1 = (int)((long)n * (tid + 1) / T);
	size_t off = (size_t)r0 * k;
	double loss =
	    (double)nn_loss_rows(net, out_of(t, last) + off, labels + r0,
	                         targets ? targets + off : NULL, r1 - r0, n,
	                         correct, t->c->gact[last] + off) *
	    (r1 - r0);
	barrier(t); /* every row of d loss / d output */
	backward(t, tid, n, o);
	return loss;
}
