/*
 * op_lstm.c — a long short-term memory layer over the rows of its input:
 * an h x w x c input is h steps of w*c features (an image read row by
 * row); out units; seq = 1 gives every step's hidden state (h x 1 x out,
 * the input of a second LSTM), 0 only the last (1 x 1 x out). A row of
 * nn_ops (nn_int.h).
 *
 * Gates in PyTorch's order i, f, g, o: with G = x Wx + h Wh + b,
 * i = s(G_i), f = s(G_f), g = tanh(G_g), o = s(G_o), c = f c' + i g,
 * h = o tanh(c). Params: Wx [F x 4H], then Wh [H x 4H] (PyTorch's
 * weight_ih and weight_hh transposed), then b [4H] (b_ih + b_hh).
 *
 * The input product of all steps of all samples is one GEMM; each step
 * then adds h' Wh, one GEMM of n rows. Backward through time keeps the
 * gate derivatives of every step and makes the weight gradients in two
 * GEMMs over all steps at the end.
 */
#include "nn_int.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif

#include <cblas.h>
#include <math.h>
#include <string.h>

#define STEPS(l) ((l)->ih)
#define FEAT(l) ((l)->iw * (l)->ic)

static int
shape(const nn_net *net, struct layer *l)
{
	(void)net;
	int H = l->s.out;
	if (H < 1 || H > 8192 || l->s.seq < 0 || l->s.seq > 1)
		return -1;
	l->oh = l->s.seq ? l->ih : 1, l->ow = 1, l->oc = H;
	l->wn = ((size_t)FEAT(l) + H) * 4 * H, l->bn = 4 * (size_t)H;
	if ((size_t)STEPS(l) * 7 * H > NN_MAX_ELEMS)
		return -1;
	return 0;
}

/* per sample and step: the 4H gates, then c, tanh(c) and h */
static size_t
aux(const struct layer *l, size_t B, int train)
{
	(void)train;
	return B * STEPS(l) * 7 * (size_t)l->oc;
}

/* dG for all steps, h of the step before, and d h, d c of one step */
static size_t
scratch(const struct layer *l, size_t B, int train)
{
	if (!train)
		return 0;
	return B * STEPS(l) * 5 * (size_t)l->oc + 2 * B * l->oc;
}

struct seqs {
	float *G, *C, *TC, *Hs;
};

static struct seqs
seqs_of(const nn_ctx *c, const struct layer *l, int i)
{
	size_t g = (size_t)c->maxbatch * STEPS(l) * l->oc;
	struct seqs s = {c->aux[i], NULL, NULL, NULL};
	s.C = s.G + 4 * g, s.TC = s.C + g, s.Hs = s.TC + g;
	return s;
}

static inline float
sig(float v)
{
	return 1.0f / (1.0f + expf(-v));
}

static void
init(nn_net *net, int i, struct nn_rng *r)
{
	const struct layer *l = &net->l[i];
	float k = 1.0f / sqrtf((float)l->oc), *p = net->params;
	for (size_t j = 0; j < l->wn; j++)
		p[l->woff + j] = k * (2.0f * nn_rng_uniform(r) - 1.0f);
	/* forget gates start open, so early steps reach the end */
	for (size_t j = 0; j < l->bn; j++)
		p[l->boff + j] = j >= (size_t)l->oc && j < 2 * (size_t)l->oc;
}

static void
fwd(nn_ctx *c, const struct layer *l, int i, const float *x, int n, int train,
    struct nn_rng *rng)
{
	(void)train, (void)rng;
	int T = STEPS(l), F = FEAT(l), H = l->oc, H4 = 4 * H;
	const float *Wx = c->net->params + l->woff, *Wh = Wx + (size_t)F * H4,
	            *b = c->net->params + l->boff;
	struct seqs s = seqs_of(c, l, i);
	nn_fill_bias(s.G, b, n * T, H4);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n * T, H4, F,
	            1.0f, x, F, Wx, H4, 1.0f, s.G, H4);
	for (int t = 0; t < T; t++) {
		if (t > 0)
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
			            n, H4, H, 1.0f, s.Hs + (size_t)(t - 1) * H,
			            T * H, Wh, H4, 1.0f, s.G + (size_t)t * H4,
			            T * H4);
		for (int bi = 0; bi < n; bi++) {
			size_t at = (size_t)bi * T + t;
			float *g = s.G + at * H4, *cc = s.C + at * H,
			      *tc = s.TC + at * H, *h = s.Hs + at * H;
			const float *cp = t ? cc - H : NULL;
			for (int j = 0; j < H; j++) {
				float ig = sig(g[j]), fg = sig(g[H + j]),
				      gg = tanhf(g[2 * H + j]),
				      og = sig(g[3 * H + j]);
				g[j] = ig, g[H + j] = fg, g[2 * H + j] = gg,
				g[3 * H + j] = og;
				cc[j] = (cp ? fg * cp[j] : 0.0f) + ig * gg;
				tc[j] = tanhf(cc[j]);
				h[j] = og * tc[j];
			}
		}
	}
	float *y = c->act[i];
	for (int bi = 0; bi < n; bi++)
		if (l->s.seq)
			memcpy(y + (size_t)bi * T * H,
			       s.Hs + (size_t)bi * T * H,
			       sizeof(float) * (size_t)T * H);
		else
			memcpy(y + (size_t)bi * H,
			       s.Hs + ((size_t)bi * T + T - 1) * H,
			       sizeof(float) * (size_t)H);
}

static void
bwd(nn_ctx *c, const struct layer *l, int i, const float *x, float *dx, int n)
{
	int T = STEPS(l), F = FEAT(l), H = l->oc, H4 = 4 * H;
	const float *Wx = c->net->params + l->woff, *Wh = Wx + (size_t)F * H4;
	struct seqs s = seqs_of(c, l, i);
	/* scratch laid out for maxbatch, like the gates */
	size_t g = (size_t)c->maxbatch * T * H;
	float *dG = c->scratch, *Hp = dG + 4 * g, *dh = Hp + g,
	      *dc = dh + (size_t)c->maxbatch * H;
	const float *dy = c->gact[i];
	memset(dh, 0, sizeof(float) * (size_t)n * H);
	memset(dc, 0, sizeof(float) * (size_t)n * H);
	for (int t = T - 1; t >= 0; t--) {
		for (int bi = 0; bi < n; bi++) {
			size_t at = (size_t)bi * T + t;
			const float *gt = s.G + at * H4, *tc = s.TC + at * H,
			            *cp = t ? s.C + (at - 1) * H : NULL;
			const float *dyt = l->s.seq     ? dy + at * H
			                   : t == T - 1 ? dy + (size_t)bi * H
			                                : NULL;
			float *d = dG + at * H4, *dhb = dh + (size_t)bi * H,
			      *dcb = dc + (size_t)bi * H;
			for (int j = 0; j < H; j++) {
				float ig = gt[j], fg = gt[H + j],
				      gg = gt[2 * H + j], og = gt[3 * H + j];
				float dht = dhb[j] + (dyt ? dyt[j] : 0.0f);
				float dct =
				    dcb[j] + dht * og * (1.0f - tc[j] * tc[j]);
				d[j] = dct * gg * ig * (1.0f - ig);
				d[H + j] =
				    cp ? dct * cp[j] * fg * (1.0f - fg) : 0.0f;
				d[2 * H + j] = dct * ig * (1.0f - gg * gg);
				d[3 * H + j] = dht * tc[j] * og * (1.0f - og);
				dcb[j] = dct * fg;
			}
		}
		if (t > 0)
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n,
			            H, H4, 1.0f, dG + (size_t)t * H4, T * H4,
			            Wh, H4, 0.0f, dh, H);
	}
	for (int bi = 0; bi < n; bi++) {
		float *hp = Hp + (size_t)bi * T * H;
		memset(hp, 0, sizeof(float) * (size_t)H);
		memcpy(hp + H, s.Hs + (size_t)bi * T * H,
		       sizeof(float) * (size_t)(T - 1) * H);
	}
	float beta = c->accumulate ? 1.0f : 0.0f;
	float *dWx = c->grads + l->woff, *dWh = dWx + (size_t)F * H4;
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, F, H4, n * T, 1.0f,
	            x, F, dG, H4, beta, dWx, H4);
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, H, H4, n * T, 1.0f,
	            Hp, H, dG, H4, beta, dWh, H4);
	nn_bias_grad(c->grads + l->boff, dG, n * T, H4, c->accumulate);
	if (dx)
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n * T, F,
		            H4, 1.0f, dG, H4, Wx, H4, 0.0f, dx, F);
}

static double
flops(const struct layer *l)
{
	return 2.0 * (double)l->wn * STEPS(l);
}

const struct nn_op nn_op_lstm = {
    .name = "lstm",
    .fields = NN_F_OUT | NN_F_SEQ,
    .gemm = 1,
    .shape = shape,
    .aux = aux,
    .scratch = scratch,
    .init = init,
    .fwd = fwd,
    .bwd = bwd,
    .flops = flops,
};
