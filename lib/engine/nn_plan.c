/*
 * nn_plan.c — which buffer of a context holds each layer's output and
 * each layer's gradient (nn_ctx_new carves the buffers from its arena).
 *
 * A context used to hold one output and one gradient buffer per layer.
 * Most of them are dead most of the time (issue 14: a 64x64 resnet's
 * training context took 16 MB an image), so buffers ("slots") are shared:
 *
 *   in place    a ReLU or an add writes its output over its input when
 *               nothing else reads that input, in the forward or the
 *               backward pass (PyTorch's ReLU(inplace=True)): the input's
 *               layer has no other reader and its backward pass does not
 *               read its own output (nn_op.bwd_out), and the in-place
 *               layer's backward pass does not read its input
 *               (nn_op.inplace says so).
 *   gradients   d loss / d output of layer j is live from the backward
 *               pass of its last reader (which writes it first) to j's
 *               own; a slot serves another layer once j's is done. So
 *               does the d input a layer adds into a gradient another
 *               wrote (acc), for the length of its backward pass.
 *   inference   an output is live from its layer's forward pass to its
 *               last reader's; training keeps them all for the backward
 *               pass.
 *
 * A slot freed is taken again by the next layer that needs one (the
 * smallest free slot that holds it, else the largest free one, grown).
 * The values computed are the same to the bit: only where they are
 * stored changes (tests/unit/test_ctx.c compares against the flat plan).
 */
#include <stdlib.h>

#include "nn_int.h"
#include "util.h"

/* A ReLU fused into the pool after it has its input's buffers. */
static int
root(const nn_net *net, int j)
{
	return j >= 0 && net->l[j].fused ? j - 1 : j;
}

int
nn_plan_in_place(const nn_net *net, int i)
{
	const struct layer *l = &net->l[i];
	if (!nn_ops[l->s.kind]->inplace || l->src < 0 || l->fused)
		return 0;
	const struct layer *s = &net->l[l->src];
	return !s->fused && s->consumers == 1 && !nn_ops[s->s.kind]->bwd_out;
}

/* A free slot for sz floats a sample: the smallest free one that holds
 * it, else the largest free one (grown: never more than a new one),
 * else a new one. */
static int
take(struct nn_plan *p, char *busy, size_t sz)
{
	int fit = -1, big = -1;
	for (int k = 0; k < p->nslots; k++) {
		if (busy[k])
			continue;
		if (p->size[k] >= sz && (fit < 0 || p->size[k] < p->size[fit]))
			fit = k;
		if (big < 0 || p->size[k] > p->size[big])
			big = k;
	}
	int k = fit >= 0 ? fit : big;
	if (k < 0) {
		k = p->nslots++;
		p->size[k] = 0;
	}
	if (p->size[k] < sz)
		p->size[k] = sz;
	busy[k] = 1;
	return k;
}

/* The inputs of layer i, as the layers whose buffers they are. */
static int
inputs(const nn_net *net, int i, int in[2])
{
	const struct layer *l = &net->l[i];
	int n = 0;
	if (l->src >= 0)
		in[n++] = root(net, l->src);
	if (l->src2 >= 0)
		in[n++] = root(net, l->src2);
	return n;
}

static void
plan_outputs(const nn_net *net, int train, int share, struct nn_plan *p,
             char *busy)
{
	int nl = net->nl, in[2];
	int *last = xmalloc(sizeof(int) * (size_t)nl); /* last reader */
	for (int i = 0; i < nl; i++)
		last[i] = -1;
	for (int i = 0; i < nl; i++)
		for (int k = inputs(net, i, in) - 1; k >= 0; k--)
			last[in[k]] = i;
	for (int i = 0; i < nl; i++) {
		const struct layer *l = &net->l[i];
		if (l->fused) {
			p->act[i] = p->act[i - 1];
			continue;
		}
		p->act[i] = share && nn_plan_in_place(net, i)
		                ? p->act[root(net, l->src)]
		                : take(p, busy, osize(l));
		if (!share || train)
			continue;
		for (int k = inputs(net, i, in) - 1; k >= 0; k--)
			if (last[in[k]] == i && p->act[in[k]] != p->act[i])
				busy[p->act[in[k]]] = 0;
	}
	free(last);
}

static void
plan_grads(const nn_net *net, int share, struct nn_plan *p, char *busy)
{
	int nl = net->nl, in[2];
	/* the loss writes the last one first */
	p->grad[nl - 1] = take(p, busy, osize(&net->l[nl - 1]));
	for (int i = nl - 1; i >= 0; i--) {
		if (net->l[i].fused)
			continue;
		/* i's backward pass writes d input: the first writer of
		 * each input's gradient is its last reader */
		for (int k = inputs(net, i, in) - 1; k >= 0; k--)
			if (p->grad[in[k]] < 0)
				p->grad[in[k]] =
				    take(p, busy, osize(&net->l[in[k]]));
		/* a d input added into a gradient another layer wrote */
		if (net->l[i].acc && net->l[i].src >= 0) {
			p->tmp[i] = take(p, busy, isize(&net->l[i]));
			if (share)
				busy[p->tmp[i]] = 0;
		}
		if (share)
			busy[p->grad[i]] = 0;
	}
	for (int i = 1; i < nl; i++)
		if (net->l[i].fused)
			p->grad[i] = p->grad[i - 1];
}

void
nn_plan_make(const nn_net *net, int train, int share, struct nn_plan *p)
{
	size_t nl = (size_t)net->nl;
	p->act = xmalloc(sizeof(int) * nl);
	p->grad = xmalloc(sizeof(int) * nl);
	p->tmp = xmalloc(sizeof(int) * nl);
	for (size_t i = 0; i < nl; i++)
		p->grad[i] = p->tmp[i] = -1;
	p->size = xcalloc(3 * nl, sizeof(size_t));
	p->nslots = 0;
	char *busy = xcalloc(3 * nl, 1);
	plan_outputs(net, train, share, p, busy);
	if (train)
		plan_grads(net, share, p, busy);
	free(busy);
}

void
nn_plan_free(struct nn_plan *p)
{
	free(p->act);
	free(p->grad);
	free(p->tmp);
	free(p->size);
}
