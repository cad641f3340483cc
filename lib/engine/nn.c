/*
 * nn.c — nets, contexts and the passes over them; see nn.h. What each
 * layer kind does is a row of nn_ops[] (nn_int.h), in the op files.
 *
 * Tensors are NHWC: a convolution over a whole batch is then ONE im2col
 * matrix [n*oh*ow, k*k*ic] times ONE weight matrix [k*k*ic, oc], and its
 * result is already the next layer's NHWC input; flattening is free.
 */
#include "nn.h"
#include "nn_int.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const struct nn_op *const nn_ops[NN_KIND__MAX] = {
    [NN_DENSE] = &nn_op_dense,     [NN_CONV] = &nn_op_conv,
    [NN_MAXPOOL] = &nn_op_maxpool, [NN_RELU] = &nn_op_relu,
    [NN_SIGMOID] = &nn_op_sigmoid, [NN_DROPOUT] = &nn_op_dropout,
    [NN_FLATTEN] = &nn_op_flatten, [NN_GAP] = &nn_op_gap,
    [NN_BN] = &nn_op_bn,           [NN_ADD] = &nn_op_add,
    [NN_LSTM] = &nn_op_lstm,
};

static double
now(void)
{
	struct timespec ts;
	/* CPU time of this thread: a profile that holds on a busy machine */
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void
nn_ctx_accumulate(nn_ctx *c, int on)
{
	c->accumulate = on;
}

void
nn_ctx_timing(nn_ctx *c, int on)
{
	c->timing = on;
	memset(c->tf, 0, sizeof(double) * (size_t)c->net->nl);
	memset(c->tb, 0, sizeof(double) * (size_t)c->net->nl);
}

void
nn_ctx_layer_seconds(const nn_ctx *c, int i, double *fwd, double *bwd)
{
	*fwd = c->tf[i];
	*bwd = c->tb[i];
}

const char *
nn_kind_name(enum nn_kind k)
{
	return (unsigned)k < NN_KIND__MAX ? nn_ops[k]->name : NULL;
}

int
nn_kind_from_name(const char *s)
{
	for (int i = 0; i < NN_KIND__MAX; i++)
		if (strcmp(s, nn_ops[i]->name) == 0)
			return i;
	return -1;
}

nn_net *
nn_new(int h, int w, int c, const struct nn_spec *specs, int nspecs,
       enum nn_loss loss, char *err, size_t errlen)
{
	return nn_new_limited(h, w, c, specs, nspecs, loss, NN_MAX_PARAMS, err,
	                      errlen);
}

/* Input shape of layer i from its source's output; -1 when the source
 * is out of range. */
static int
link_input(nn_net *net, int i, int h, int w, int c)
{
	struct layer *l = &net->l[i];
	int in = l->s.in ? l->s.in : 1;
	l->src = i - in;
	l->src2 = -1;
	if (l->s.in < 0 || l->src < -1)
		return -1;
	if (l->src < 0)
		l->ih = h, l->iw = w, l->ic = c;
	else
		l->ih = net->l[l->src].oh, l->iw = net->l[l->src].ow,
		l->ic = net->l[l->src].oc;
	if (nn_ops[l->s.kind]->fields & NN_F_SKIP) {
		l->src2 = i - l->s.skip;
		if (l->s.skip < 1 || l->src2 < -1)
			return -1;
	}
	return 0;
}

/*
 * Who reads whom: every output but the last must be read, a backward
 * pass writing d input into a layer read by a later layer too adds
 * (acc), and a ReLU fuses into the max-pool after it only when nothing
 * else reads either.
 */
static int
link_consumers(nn_net *net)
{
	int nl = net->nl;
	char *seen = xcalloc((size_t)nl + 1, 1); /* [j + 1]: -1 = input */
	for (int i = nl - 1; i >= 0; i--) {
		struct layer *l = &net->l[i];
		l->acc = seen[l->src + 1];
		seen[l->src + 1] = 1;
		if (l->src >= 0)
			net->l[l->src].consumers++;
		if (l->src2 != -1 || (nn_ops[l->s.kind]->fields & NN_F_SKIP)) {
			l->acc2 = seen[l->src2 + 1];
			seen[l->src2 + 1] = 1;
			if (l->src2 >= 0)
				net->l[l->src2].consumers++;
		}
	}
	free(seen);
	for (int i = 0; i + 1 < nl; i++)
		if (!net->l[i].consumers)
			return i;
	for (int i = 1; i + 1 < nl; i++) {
		struct layer *a = &net->l[i - 1], *r = &net->l[i],
		             *p = &net->l[i + 1];
		if (r->s.kind == NN_RELU && p->s.kind == NN_MAXPOOL &&
		    r->src == i - 1 && p->src == i && a->consumers == 1 &&
		    r->consumers == 1)
			r->fused = p->relu_after = 1;
	}
	return -1;
}

nn_net *
nn_new_limited(int h, int w, int c, const struct nn_spec *specs, int nspecs,
               enum nn_loss loss, size_t max_params, char *err, size_t errlen)
{
	if (h < 1 || w < 1 || c < 1 || h > NN_MAX_DIM || w > NN_MAX_DIM ||
	    c > NN_MAX_DIM || (long)h * w * c > NN_MAX_ELEMS) {
		snprintf(err, errlen, "bad input shape %dx%dx%d", w, h, c);
		return NULL;
	}
	if (nspecs < 1 || nspecs > 256 || (unsigned)loss >= NN_LOSS__MAX) {
		snprintf(err, errlen, "bad layer count %d or loss", nspecs);
		return NULL;
	}
	nn_net *net = xcalloc(1, sizeof(*net));
	net->l = xcalloc((size_t)nspecs, sizeof(*net->l));
	net->nl = nspecs;
	net->loss = loss;
	net->in_size = h * w * c;
	size_t np = 0;
	for (int i = 0; i < nspecs; i++) {
		struct layer *l = &net->l[i];
		l->s = specs[i];
		if ((unsigned)l->s.kind >= NN_KIND__MAX ||
		    link_input(net, i, h, w, c) ||
		    nn_ops[l->s.kind]->shape(net, l) != 0 || osize(l) < 1 ||
		    osize(l) > NN_MAX_ELEMS || l->wn > NN_MAX_ELEMS) {
			snprintf(err, errlen,
			         "layer %d (%s) does not fit input %dx%dx%d", i,
			         nn_kind_name(l->s.kind)
			             ? nn_kind_name(l->s.kind)
			             : "?",
			         l->iw, l->ih, l->ic);
			nn_free(net);
			return NULL;
		}
		l->woff = np, np += l->wn;
		l->boff = np, np += l->bn;
		l->soff = np, np += l->sn;
	}
	int unused = link_consumers(net);
	if (unused >= 0) {
		snprintf(err, errlen, "layer %d's output is never read",
		         unused);
		nn_free(net);
		return NULL;
	}
	if (np > max_params) {
		snprintf(err, errlen, "%zu weights, more than %zu", np,
		         max_params);
		nn_free(net);
		return NULL;
	}
	net->np = np;
	net->params = xcalloc(np ? np : 1, sizeof(float));
	return net;
}

void
nn_free(nn_net *net)
{
	if (!net)
		return;
	free(net->l);
	free(net->params);
	free(net->class_w);
	free(net);
}

void
nn_set_loss_opts(nn_net *net, float smoothing, const float *class_w)
{
	net->smoothing = smoothing;
	free(net->class_w);
	net->class_w = NULL;
	if (class_w) {
		int k = nn_out_size(net);
		net->class_w = xmalloc(sizeof(float) * (size_t)k);
		memcpy(net->class_w, class_w, sizeof(float) * (size_t)k);
	}
}

int
nn_batch_coupled(const nn_net *net)
{
	for (int i = 0; i < net->nl; i++)
		if (nn_ops[net->l[i].s.kind]->coupled)
			return 1;
	return 0;
}

/* Is layer i's output (through a BN) the input of a ReLU? */
static int
relu_follows(const nn_net *net, int i)
{
	int j = i + 1;
	if (j < net->nl && net->l[j].s.kind == NN_BN && net->l[j].src == i)
		j++;
	return j < net->nl && net->l[j].s.kind == NN_RELU &&
	       net->l[j].src == j - 1;
}

void
nn_set_init(nn_net *net, enum nn_init_kind kind)
{
	net->init = kind;
}

/* n values of U(-a, a) from r */
static void
fill_uniform(float *x, size_t n, float a, struct nn_rng *r)
{
	for (size_t j = 0; j < n; j++)
		x[j] = a * (2.0f * nn_rng_uniform(r) - 1.0f);
}

void
nn_init(nn_net *net, uint64_t seed)
{
	struct nn_rng r;
	nn_rng_seed(&r, seed);
	for (int i = 0; i < net->nl; i++) {
		struct layer *l = &net->l[i];
		const struct nn_op *op = nn_ops[l->s.kind];
		if (op->init) {
			op->init(net, i, &r);
			continue;
		}
		if (!l->wn)
			continue;
		size_t fan_in = l->wn / (size_t)l->oc;
		if (net->init == NN_INIT_UNIFORM) {
			float a = 1.0f / sqrtf((float)fan_in);
			fill_uniform(net->params + l->woff, l->wn, a, &r);
			fill_uniform(net->params + l->boff, l->bn, a, &r);
			continue;
		}
		/* He (2/fan_in) where a ReLU follows; LeCun (1/fan_in)
		 * elsewhere: before a sigmoid (which saturates with He's
		 * spread) and for the logits, where a big spread only makes
		 * the first steps overshoot. */
		float sd =
		    sqrtf((relu_follows(net, i) ? 2.0f : 1.0f) / (float)fan_in);
		for (size_t j = 0; j < l->wn; j++)
			net->params[l->woff + j] = sd * nn_rng_normal(&r);
		memset(net->params + l->boff, 0, l->bn * sizeof(float));
	}
}

int
nn_nlayers(const nn_net *net)
{
	return net->nl;
}

const struct nn_spec *
nn_layer_spec(const nn_net *net, int i)
{
	return &net->l[i].s;
}

void
nn_layer_shape(const nn_net *net, int i, int *h, int *w, int *c)
{
	*h = net->l[i].oh, *w = net->l[i].ow, *c = net->l[i].oc;
}

void
nn_layer_inputs(const nn_net *net, int i, int *src, int *src2)
{
	*src = net->l[i].src, *src2 = net->l[i].src2;
}

enum nn_loss
nn_loss_kind(const nn_net *net)
{
	return net->loss;
}

int
nn_in_size(const nn_net *net)
{
	return net->in_size;
}

int
nn_out_size(const nn_net *net)
{
	return (int)osize(&net->l[net->nl - 1]);
}

size_t
nn_nparams(const nn_net *net)
{
	return net->np;
}

void
nn_layer_params(const nn_net *net, int i, size_t *woff, size_t *wn,
                size_t *boff, size_t *bn)
{
	const struct layer *l = &net->l[i];
	*woff = l->woff, *wn = l->wn, *boff = l->boff, *bn = l->bn;
}

void
nn_layer_state(const nn_net *net, int i, size_t *soff, size_t *sn)
{
	*soff = net->l[i].soff, *sn = net->l[i].sn;
}

float *
nn_params(nn_net *net)
{
	return net->params;
}

const float *
nn_params_c(const nn_net *net)
{
	return net->params;
}

static double
layer_flops(const struct layer *l)
{
	const struct nn_op *op = nn_ops[l->s.kind];
	return op->flops ? op->flops(l) : 0.0;
}

double
nn_flops_per_sample(const nn_net *net)
{
	double f = 0;
	for (int i = 0; i < net->nl; i++)
		f += layer_flops(&net->l[i]);
	return f;
}

double
nn_train_flops_per_sample(const nn_net *net)
{
	double f = 0;
	int first = 1;
	for (int i = 0; i < net->nl; i++) {
		const struct layer *l = &net->l[i];
		if (nn_ops[l->s.kind]->gemm) {
			/* forward, weight gradient, input gradient but the
			 * first layer's */
			f += (first ? 2.0 : 3.0) * layer_flops(l);
			first = 0;
		}
	}
	return f;
}

/* ---- context: one arena, carved at creation ---- */

static size_t
align64(size_t n)
{
	return (n + 63) & ~(size_t)63;
}

/*
 * Two passes over the same plan: the first measures, the second carves.
 * Buffers are staggered by a few cache lines: equal-sized activations
 * would otherwise sit a multiple of 4 KiB apart, and a loop reading one
 * while writing another then stalls on 4K aliasing (measured: ReLU's
 * backward pass 20x slower).
 */
#define STAGGER 320
static void
ctx_plan(nn_ctx *c, const struct nn_plan *p, float **slot, char *base,
         size_t *off)
{
	const nn_net *net = c->net;
	size_t B = (size_t)c->maxbatch, scratch = 0;
#define TAKE(ptr, type, count)                                                 \
	do {                                                                   \
		size_t n_ = align64((size_t)(count) * sizeof(type)) + STAGGER; \
		if (base)                                                      \
			(ptr) = (type *)(void *)(base + *off);                 \
		*off += n_;                                                    \
	} while (0)
	for (int k = 0; k < p->nslots; k++)
		TAKE(slot[k], float, B * p->size[k]);
	for (int i = 0; i < net->nl; i++) {
		const struct layer *l = &net->l[i];
		const struct nn_op *op = nn_ops[l->s.kind];
		if (base) {
			c->act[i] = slot[p->act[i]];
			c->gact[i] = p->grad[i] >= 0 ? slot[p->grad[i]] : NULL;
			c->dtmp[i] = p->tmp[i] >= 0 ? slot[p->tmp[i]] : NULL;
		}
		if (l->fused)
			continue; /* its input's buffers (nn_plan.c) */
		size_t a = op->aux ? op->aux(l, B, c->train) : 0;
		if (a)
			TAKE(c->aux[i], float, a);
		if (op->scratch && op->scratch(l, B, c->train) > scratch)
			scratch = op->scratch(l, B, c->train);
	}
	if (scratch)
		TAKE(c->scratch, float, scratch);
	if (c->train)
		TAKE(c->grads, float, net->np ? net->np : 1);
#undef TAKE
}

static nn_ctx *
ctx_new(const nn_net *net, int maxbatch, int train, int share)
{
	nn_ctx *c = xcalloc(1, sizeof(*c));
	c->net = net;
	c->maxbatch = maxbatch < 1 ? 1 : maxbatch;
	c->train = train;
	size_t nl = (size_t)net->nl;
	c->act = xcalloc(nl, sizeof(*c->act));
	c->gact = xcalloc(nl, sizeof(*c->gact));
	c->aux = xcalloc(nl, sizeof(*c->aux));
	c->dtmp = xcalloc(nl, sizeof(*c->dtmp));
	c->tf = xcalloc(nl, sizeof(double));
	c->tb = xcalloc(nl, sizeof(double));
	struct nn_plan p;
	nn_plan_make(net, train, share, &p);
	float **slot = xcalloc((size_t)p.nslots + 1, sizeof(*slot));
	size_t len = 0;
	ctx_plan(c, &p, slot, NULL, &len);
	if (posix_memalign((void **)&c->arena, 64, len ? len : 64) != 0)
		c->arena = NULL;
	if (!c->arena) {
		fprintf(stderr, "out of memory allocating %zu bytes\n", len);
		abort();
	}
	c->arena_len = len;
	len = 0;
	ctx_plan(c, &p, slot, c->arena, &len);
	free(slot);
	nn_plan_free(&p);
	return c;
}

nn_ctx *
nn_ctx_new(const nn_net *net, int maxbatch, int train)
{
	return ctx_new(net, maxbatch, train, 1);
}

nn_ctx *
nn_ctx_new_flat(const nn_net *net, int maxbatch, int train)
{
	return ctx_new(net, maxbatch, train, 0);
}

void
nn_ctx_free(nn_ctx *c)
{
	if (!c)
		return;
	free(c->arena);
	free(c->act);
	free(c->gact);
	free(c->aux);
	free(c->dtmp);
	free(c->tf);
	free(c->tb);
	free(c);
}

size_t
nn_ctx_bytes(const nn_ctx *c)
{
	return c->arena_len;
}

float *
nn_ctx_grads(nn_ctx *c)
{
	return c->grads;
}

/* ---- passes ---- */

const float *
nn_forward(nn_ctx *c, const float *x, int n, int train, struct nn_rng *rng)
{
	const nn_net *net = c->net;
	if (n > c->maxbatch)
		abort(); /* a programming error, not an input error */
	train = train && c->train;
	c->in = x;
	c->n = n;
	for (int i = 0; i < net->nl; i++) {
		const struct layer *l = &net->l[i];
		if (l->fused)
			continue; /* done by the pool after it */
		double t0 = c->timing ? now() : 0;
		nn_ops[l->s.kind]->fwd(c, l, i, nn_ctx_out(c, l->src), n, train,
		                       rng);
		if (c->timing)
			c->tf[i] += now() - t0;
	}
	return c->act[net->nl - 1];
}

static void
softmax_rows(float *y, int n, int k)
{
	for (int r = 0; r < n; r++, y += k) {
		float mx = y[0], s = 0.0f;
		for (int j = 1; j < k; j++)
			mx = y[j] > mx ? y[j] : mx;
		for (int j = 0; j < k; j++)
			s += (y[j] = expf(y[j] - mx));
		for (int j = 0; j < k; j++)
			y[j] /= s;
	}
}

void
nn_predict_rows(const nn_net *net, float *y, int n)
{
	if (net->loss == NN_LOSS_XENT)
		softmax_rows(y, n, nn_out_size(net));
}

const float *
nn_predict(nn_ctx *c, const float *x, int n)
{
	float *y = (float *)nn_forward(c, x, n, 0, NULL);
	nn_predict_rows(c->net, y, n);
	return y;
}

/* Softmax cross-entropy of one row of logits, with label smoothing eps
 * and weight wt; its gradient, times inv, into g when not NULL. */
static double
xent_row(const float *y, int k, int lab, float eps, float wt, float inv,
         float *g, int *am_out)
{
	int am = 0;
	float mx = y[0], s = 0.0f;
	for (int j = 1; j < k; j++)
		if (y[j] > mx)
			mx = y[j], am = j;
	for (int j = 0; j < k; j++)
		s += expf(y[j] - mx);
	float ls = logf(s);
	double l = (double)(ls - (y[lab] - mx));
	if (eps > 0.0f) {
		/* - sum_j (eps / k) log p_j, next to (1 - eps) * -log p_lab */
		double mean_nl = 0.0;
		for (int j = 0; j < k; j++)
			mean_nl += (double)(ls - (y[j] - mx));
		l = (1.0 - eps) * l + eps * mean_nl / k;
	}
	if (g) {
		float sc = inv * wt;
		for (int j = 0; j < k; j++)
			g[j] = (expf(y[j] - mx - ls) - eps / (float)k) * sc;
		g[lab] -= (1.0f - eps) * sc;
	}
	*am_out = am;
	return wt * l;
}

float
nn_loss_rows(const nn_net *net, const float *y, const uint16_t *labels,
             const float *targets, int n, int total_n, int *correct, float *g)
{
	int k = nn_out_size(net), ok = 0;
	double total = 0.0;
	if (net->loss == NN_LOSS_XENT) {
		float inv = 1.0f / (float)total_n;
		for (int r = 0; r < n; r++, y += k) {
			int lab = labels[r] < k ? labels[r] : 0, am;
			float wt = net->class_w ? net->class_w[lab] : 1.0f;
			total += xent_row(y, k, lab, net->smoothing, wt, inv, g,
			                  &am);
			ok += am == lab;
			if (g)
				g += k;
		}
		total /= n;
	} else {
		float sc = 2.0f / ((float)total_n * k);
		for (int r = 0; r < n; r++, y += k, targets += k) {
			int all = 1;
			for (int j = 0; j < k; j++) {
				float d = y[j] - targets[j];
				total += (double)d * d;
				all &= (y[j] >= 0.5f) == (targets[j] >= 0.5f);
				if (g)
					*g++ = sc * d;
			}
			ok += all;
		}
		total /= (double)n * k;
	}
	if (correct)
		*correct = ok;
	return n ? (float)total : 0.0f;
}

float
nn_loss(nn_ctx *c, const uint16_t *labels, const float *targets, int n,
        int *correct)
{
	return nn_loss_rows(c->net, c->act[c->net->nl - 1], labels, targets, n,
	                    n, correct, NULL);
}

float
nn_loss_backward(nn_ctx *c, const uint16_t *labels, const float *targets, int n,
                 int *correct)
{
	return nn_loss_backward_part(c, labels, targets, n, n, correct);
}

static void
bwd_layer(nn_ctx *c, int i, int n)
{
	const struct layer *l = &c->net->l[i];
	float *dx = NULL;
	if (l->src >= 0)
		dx = l->acc ? c->dtmp[i] : c->gact[l->src];
	nn_ops[l->s.kind]->bwd(c, l, i, nn_ctx_out(c, l->src), dx, n);
	if (dx && l->acc)
		nn_addf(c->gact[l->src], c->dtmp[i], (size_t)n * isize(l));
}

float
nn_loss_backward_part(nn_ctx *c, const uint16_t *labels, const float *targets,
                      int n, int total_n, int *correct)
{
	const nn_net *net = c->net;
	if (!c->train || total_n < n)
		abort();
	c->total_n = total_n;
	float loss = nn_loss_rows(net, c->act[net->nl - 1], labels, targets, n,
	                          total_n, correct, c->gact[net->nl - 1]);
	for (int i = net->nl - 1; i >= 0; i--) {
		double t0 = c->timing ? now() : 0;
		bwd_layer(c, i, n);
		if (c->timing)
			c->tb[i] += now() - t0;
	}
	return loss;
}

/* ---- helpers the op files share ---- */

/* y[r][:] = b for every row: the bias, before the GEMM adds into it. */
NN_SIMD void
nn_fill_bias(float *restrict y, const float *restrict b, int rows, int cols)
{
	for (int r = 0; r < rows; r++, y += cols)
		for (int j = 0; j < cols; j++)
			y[j] = b[j];
}

void
nn_bias_grad(float *restrict db, const float *restrict dy, int rows, int cols,
             int acc)
{
	if (!acc)
		memset(db, 0, (size_t)cols * sizeof(float));
	for (int r = 0; r < rows; r++)
		for (int j = 0; j < cols; j++)
			db[j] += dy[(size_t)r * cols + j];
}

NN_SIMD void
nn_addf(float *restrict d, const float *restrict s, size_t n)
{
	for (size_t j = 0; j < n; j++)
		d[j] += s[j];
}

void
nn_pw_layer_fwd(nn_ctx *c, const struct layer *l, int i, const float *x, int n,
                int train, struct nn_rng *rng)
{
	nn_ops[l->s.kind]->pw_fwd(l, x, c->act[i], c->aux[i],
	                          (size_t)n * osize(l), train, rng);
}

void
nn_pw_layer_bwd(nn_ctx *c, const struct layer *l, int i, const float *x,
                float *dx, int n)
{
	(void)x;
	if (dx)
		nn_ops[l->s.kind]->pw_bwd(l, c->act[i], c->gact[i], c->aux[i],
		                          dx, (size_t)n * osize(l));
}
