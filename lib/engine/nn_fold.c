/*
 * nn_fold.c — batch normalisation folded into the conv or dense layer
 * before it, for inference and export; see nn.h (nn_fold_bn).
 */
#include "nn_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Can BN layer i fold into its input layer (a product read by it only)? */
static int
foldable(const nn_net *net, int i)
{
	const struct layer *l = &net->l[i];
	if (l->s.kind != NN_BN || l->src < 0)
		return 0;
	const struct layer *p = &net->l[l->src];
	return (p->s.kind == NN_CONV || p->s.kind == NN_DENSE) &&
	       p->consumers == 1;
}

static void
copy_params(const nn_net *from, int i, nn_net *to, int j)
{
	const struct layer *a = &from->l[i], *b = &to->l[j];
	memcpy(to->params + b->woff, from->params + a->woff,
	       a->wn * sizeof(float));
	memcpy(to->params + b->boff, from->params + a->boff,
	       a->bn * sizeof(float));
	memcpy(to->params + b->soff, from->params + a->soff,
	       a->sn * sizeof(float));
}

/* Scales output channel o of product layer p (new index j) of `to` by
 * BN layer i of `from`. */
static void
fold_into(const nn_net *from, int i, nn_net *to, int j)
{
	const struct layer *bn = &from->l[i], *p = &to->l[j];
	const float *gamma = from->params + bn->boff, *beta = gamma + bn->oc,
	            *mean = from->params + bn->soff, *var = mean + bn->oc;
	float *W = to->params + p->woff, *b = to->params + p->boff;
	int oc = p->oc;
	size_t rows = p->wn / (size_t)oc;
	for (int o = 0; o < oc; o++) {
		float sc = gamma[o] / sqrtf(var[o] + NN_BN_EPS);
		for (size_t r = 0; r < rows; r++)
			W[r * oc + o] *= sc;
		b[o] = (b[o] - mean[o]) * sc + beta[o];
	}
}

nn_net *
nn_fold_bn(const nn_net *net, char *err, size_t errlen)
{
	int nl = net->nl, k = 0;
	for (int i = 0; i < nl; i++) {
		const struct layer *l = &net->l[i];
		for (size_t j = l->sn / 2; l->s.kind == NN_BN && j < l->sn; j++)
			if (!(net->params[l->soff + j] >= 0.0f)) {
				snprintf(err, errlen,
				         "layer %d: a negative variance", i);
				return NULL;
			}
	}
	int *map = xcalloc((size_t)nl, sizeof(int));
	struct nn_spec *s = xcalloc((size_t)nl, sizeof(*s));
	for (int i = 0; i < nl; i++) {
		const struct layer *l = &net->l[i];
		if (foldable(net, i)) {
			map[i] = map[l->src];
			continue;
		}
		s[k] = l->s;
		int src = l->src < 0 ? -1 : map[l->src];
		s[k].in = k - src == 1 ? 0 : k - src;
		if (l->src2 >= 0)
			s[k].skip = k - map[l->src2];
		map[i] = k++;
	}
	const struct layer *l0 = &net->l[0];
	/* the net's input shape is the input of any layer reading it */
	int h = l0->ih, w = l0->iw, c = l0->ic;
	for (int i = 0; i < nl; i++)
		if (net->l[i].src < 0)
			h = net->l[i].ih, w = net->l[i].iw, c = net->l[i].ic;
	nn_net *f = nn_new(h, w, c, s, k, net->loss, err, errlen);
	if (f) {
		for (int i = 0; i < nl; i++)
			if (!foldable(net, i))
				copy_params(net, i, f, map[i]);
		for (int i = 0; i < nl; i++)
			if (foldable(net, i))
				fold_into(net, i, f, map[i]);
	}
	free(map);
	free(s);
	return f;
}
