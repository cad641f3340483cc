/* op_dense.c — the fully connected layer; a row of nn_ops (nn_int.h). */
#include "nn_int.h"

#include <cblas.h>
#include <string.h>

static int
shape(const nn_net *net, struct layer *l)
{
	(void)net;
	if (l->s.out < 1 || l->s.out > NN_MAX_DIM)
		return -1;
	l->oh = l->ow = 1, l->oc = l->s.out;
	l->wn = isize(l) * (size_t)l->oc, l->bn = (size_t)l->oc;
	return 0;
}

static void
fwd(nn_ctx *c, const struct layer *l, int i, const float *x, int n, int train,
    struct nn_rng *rng)
{
	(void)train, (void)rng;
	const float *W = c->net->params + l->woff;
	float *y = c->act[i];
	int in = (int)isize(l), out = l->oc;
	nn_fill_bias(y, c->net->params + l->boff, n, out);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, out, in, 1.0f,
	            x, in, W, out, 1.0f, y, out);
}

/* dst may be a: a is read by the first product only */
void
nn_gemm_bwd(nn_ctx *c, const struct layer *l, const float *a, int M, int K,
            const float *dy, float *dst)
{
	int N = l->oc;
	float *dW = c->grads + l->woff, *db = c->grads + l->boff;
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, N, M, 1.0f, a,
	            K, dy, N, c->accumulate ? 1.0f : 0.0f, dW, N);
	nn_bias_grad(db, dy, M, N, c->accumulate);
	if (dst)
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, K, N,
		            1.0f, dy, N, c->net->params + l->woff, N, 0.0f, dst,
		            K);
}

static void
bwd(nn_ctx *c, const struct layer *l, int i, const float *x, float *dx, int n)
{
	nn_gemm_bwd(c, l, x, n, (int)isize(l), c->gact[i], dx);
}

static double
flops(const struct layer *l)
{
	return 2.0 * (double)l->wn;
}

const struct nn_op nn_op_dense = {
    .name = "dense",
    .fields = NN_F_OUT,
    .gemm = 1,
    .shape = shape,
    .fwd = fwd,
    .bwd = bwd,
    .flops = flops,
    .team_fwd = nn_team_dense_fwd,
    .team_bwd = nn_team_dense_bwd,
};
