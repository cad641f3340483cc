/* nn_opt.c — SGD with momentum and Adam; see nn.h. */
#include "nn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void
nn_opt_init(struct nn_opt *o, enum nn_opt_kind kind, const nn_net *net,
    float lr, float momentum, float weight_decay)
{
	memset(o, 0, sizeof(*o));
	o->kind = kind;
	o->lr = lr;
	o->momentum = momentum;
	o->weight_decay = weight_decay;
	o->beta1 = 0.9f;
	o->beta2 = 0.999f;
	o->eps = 1e-8f;
	o->n = nn_nparams(net);
	o->m = xcalloc(o->n ? o->n : 1, sizeof(float));
	if (kind == NN_OPT_ADAM)
		o->v = xcalloc(o->n ? o->n : 1, sizeof(float));
}

void
nn_opt_free(struct nn_opt *o)
{
	free(o->m);
	free(o->v);
	o->m = o->v = NULL;
}

size_t
nn_opt_state_len(const struct nn_opt *o)
{
	return o->kind == NN_OPT_ADAM ? 2 * o->n : o->n;
}

/* Updates params[lo, hi) with decay wd. */
static void
step_range(struct nn_opt *o, float *w, const float *g, size_t lo, size_t hi,
    float wd, float c1, float c2)
{
	float *m = o->m, *v = o->v, lr = o->lr, mu = o->momentum;
	if (o->kind == NN_OPT_SGD) {
		for (size_t j = lo; j < hi; j++) {
			float gj = g[j] + wd * w[j];
			m[j] = mu * m[j] + gj;
			w[j] -= lr * m[j];
		}
		return;
	}
	float b1 = o->beta1, b2 = o->beta2, eps = o->eps;
	for (size_t j = lo; j < hi; j++) {
		float gj = g[j] + wd * w[j];
		m[j] = b1 * m[j] + (1.0f - b1) * gj;
		v[j] = b2 * v[j] + (1.0f - b2) * gj * gj;
		w[j] -= lr * (m[j] / c1) / (sqrtf(v[j] / c2) + eps);
	}
}

void
nn_opt_step(struct nn_opt *o, nn_net *net, const float *grads)
{
	float *w = nn_params(net);
	o->t++;
	/* Bias corrections in double: pow of a float base drifts for big t. */
	float c1 = (float)(1.0 - pow(o->beta1, (double)o->t));
	float c2 = (float)(1.0 - pow(o->beta2, (double)o->t));
	for (int i = 0; i < nn_nlayers(net); i++) {
		size_t woff, wn, boff, bn;
		nn_layer_params(net, i, &woff, &wn, &boff, &bn);
		step_range(o, w, grads, woff, woff + wn, o->weight_decay, c1,
		    c2);
		step_range(o, w, grads, boff, boff + bn, 0.0f, c1, c2);
	}
}
