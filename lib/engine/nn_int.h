/*
 * nn_int.h — the engine's insides, shared by nn.c (nets, contexts,
 * passes), the op files (op_*.c: one family of layers each) and nn_team.c
 * (a batch split by units across threads). Not for callers.
 *
 * Every layer kind is one row of nn_ops[] (KANN's kad_op_list is the
 * model): how it shapes its output, what a context keeps for it, its
 * forward and backward passes, its flops, its first weights, how it joins
 * a team, and which spec fields the model file stores. nn.c, nn_team.c,
 * model.c and the train worker walk that table; adding a layer is one
 * row, one op file and one gradient-check row (tests/unit/test_grad.c).
 */
#ifndef TY_NN_INT_H
#define TY_NN_INT_H

#include "nn.h"

struct layer {
	struct nn_spec s;
	int src, src2;             /* input layers (-1: the net's input) */
	int ih, iw, ic;            /* per-sample input shape */
	int oh, ow, oc;            /* per-sample output shape */
	size_t woff, wn, boff, bn; /* ranges in params (trained) */
	size_t soff, sn;           /* state in params (not trained: BN) */
	/*
	 * acc/acc2: another (later) layer already wrote d loss / d input
	 * when this one's backward runs, so it adds instead of assigning
	 * (an input read by several layers: residual shortcuts).
	 */
	int acc, acc2, consumers;
	/*
	 * ReLU then 2x2 max-pool equals max-pool then ReLU (max and ReLU
	 * are both monotonic; where the max is <= 0 both give 0 and pass no
	 * gradient). So a ReLU right before a pool is skipped (fused) and the
	 * pool clamps its 4x smaller output instead (relu_after): one pass
	 * and one buffer less over the biggest activations of a CNN.
	 */
	int fused, relu_after;
};

struct nn_net {
	int nl;
	struct layer *l;
	enum nn_loss loss;
	int in_size;
	size_t np;
	float *params;
	/* training-only loss options (nn_set_loss_opts) */
	float smoothing;
	float *class_w; /* NULL: every class weighs 1 */
	enum nn_init_kind init;
};

struct nn_ctx {
	const nn_net *net;
	int maxbatch, train;
	char *arena;
	size_t arena_len;
	float **act;    /* act[i]: output of layer i */
	float **gact;   /* gact[i]: d loss / d act[i] (train) */
	float **aux;    /* per layer, what its op keeps (nn_op.aux) */
	float *scratch; /* shared by the layers' passes (nn_op.scratch) */
	float **dtmp;   /* d input of a layer that adds it (acc), per layer */
	float *grads;
	const float *in;
	int n, total_n;
	int timing, accumulate;
	double *tf, *tb; /* seconds per layer, forward / backward */
};

typedef struct nn_team nn_team;

/* Spec fields the model file stores (nn_op.fields). */
enum nn_field {
	NN_F_OUT = 1 << 0,
	NN_F_K = 1 << 1,
	NN_F_STRIDE = 1 << 2,
	NN_F_PAD = 1 << 3,
	NN_F_P = 1 << 4,
	NN_F_SKIP = 1 << 5,
	NN_F_SEQ = 1 << 6,
};

struct nn_op {
	const char *name;
	unsigned fields; /* enum nn_field, besides "in" */
	int gemm;        /* a weight product: counts for flops and init */
	int coupled;     /* a sample's output depends on the batch (BN) */
	/* fwd may write the output over the input (x == y), and bwd does
	 * not read the input: the context may run it in place (nn_plan.c) */
	int inplace;
	int bwd_out; /* bwd reads the layer's own output */
	/* Output shape and parameter counts of l from its input shape;
	 * 0, or -1 when the spec does not fit. */
	int (*shape)(const nn_net *net, struct layer *l);
	/* Floats a context keeps for l (B samples), and what l needs of
	 * the scratch all layers share (used within one pass of l only);
	 * NULL: none. */
	size_t (*aux)(const struct layer *l, size_t B, int train);
	size_t (*scratch)(const struct layer *l, size_t B, int train);
	void (*fwd)(nn_ctx *c, const struct layer *l, int i, const float *x,
	            int n, int train, struct nn_rng *rng);
	/* dx (NULL: not wanted) is d loss / d input, assigned */
	void (*bwd)(nn_ctx *c, const struct layer *l, int i, const float *x,
	            float *dx, int n);
	/* Forward flops per sample; NULL: 0. */
	double (*flops)(const struct layer *l);
	/* First values of l's params from r; NULL: the gemm default (He or
	 * LeCun normal weights, zero biases; see nn_init). */
	void (*init)(nn_net *net, int i, struct nn_rng *r);
	/*
	 * Elementwise layers: y from x over len floats (a training dropout
	 * draws its scales into mask), and dx from dy (y: the forward's
	 * output). The whole-batch passes and the team's rows both use
	 * them.
	 */
	void (*pw_fwd)(const struct layer *l, const float *x, float *y,
	               float *mask, size_t len, int train, struct nn_rng *rng);
	void (*pw_bwd)(const struct layer *l, const float *y, const float *dy,
	               const float *mask, float *dx, size_t len);
	/* A team's share of the layer (nn_team.c); NULL: no team. */
	void (*team_fwd)(nn_team *t, int tid, int i, int n, struct nn_rng *rng);
	void (*team_bwd)(nn_team *t, int tid, int i, int n, struct nn_opt *o);
};

extern const struct nn_op *const nn_ops[NN_KIND__MAX];

/* The rows, one op file per family. */
extern const struct nn_op nn_op_dense, nn_op_conv, nn_op_maxpool, nn_op_gap,
    nn_op_relu, nn_op_sigmoid, nn_op_dropout, nn_op_flatten, nn_op_bn,
    nn_op_add, nn_op_lstm;

/* The team's shares (nn_team.c) that the rows name. */
void nn_team_dense_fwd(nn_team *t, int tid, int i, int n, struct nn_rng *rng);
void nn_team_dense_bwd(nn_team *t, int tid, int i, int n, struct nn_opt *o);
void nn_team_pw_fwd(nn_team *t, int tid, int i, int n, struct nn_rng *rng);
void nn_team_pw_bwd(nn_team *t, int tid, int i, int n, struct nn_opt *o);
void nn_team_view(nn_team *t, int tid, int i, int n, struct nn_rng *rng);
void nn_team_view_bwd(nn_team *t, int tid, int i, int n, struct nn_opt *o);

static inline size_t
osize(const struct layer *l)
{
	return (size_t)l->oh * l->ow * l->oc;
}

static inline size_t
isize(const struct layer *l)
{
	return (size_t)l->ih * l->iw * l->ic;
}

/* Output of layer j for the current pass (-1: the pass's input). */
static inline const float *
nn_ctx_out(const nn_ctx *c, int j)
{
	return j < 0 ? c->in : c->act[j];
}

/*
 * Which buffer ("slot") of a context holds each layer's output (act[i]),
 * its gradient (grad[i]) and the d input it adds into its input's
 * gradient (tmp[i], layers with acc), -1: none; and each slot's floats a
 * sample (nn_plan.c). share = 0: every layer buffers of its own.
 */
struct nn_plan {
	int *act, *grad, *tmp;
	size_t *size;
	int nslots;
};
void nn_plan_make(const nn_net *net, int train, int share, struct nn_plan *p);
void nn_plan_free(struct nn_plan *p);
/* 1 when layer i writes its output over its input's. */
int nn_plan_in_place(const nn_net *net, int i);
/* A context whose layers have buffers of their own (nn_team: its threads
 * are at different layers between two barriers). */
nn_ctx *nn_ctx_new_flat(const nn_net *net, int maxbatch, int train);

/* Bias rows and the products shared by dense, conv and LSTM layers. */
void nn_fill_bias(float *y, const float *b, int rows, int cols);
/* db (+)= column sums of the rows x cols matrix dy. */
void nn_bias_grad(float *db, const float *dy, int rows, int cols, int acc);
/* The backward pass of a product y = a W + b (a: M x K, W: K x oc):
 * dW, db (added to when accumulating) and, when dst is not NULL, d a
 * (dst may be a: a is read before dst is written). */
void nn_gemm_bwd(nn_ctx *c, const struct layer *l, const float *a, int M, int K,
                 const float *dy, float *dst);
/* d[j] += s[j] */
void nn_addf(float *d, const float *s, size_t n);

/*
 * Direct convolution (conv_kern.c) of n images zero-padded to hp x wp
 * x c (the pad already applied: windows start at stride multiples),
 * k x k windows, oh x ow outputs of oc channels.
 */
struct nn_conv_geo {
	int n, hp, wp, c, k, st, oh, ow, oc;
};
/* Which path convolutions take: by the measured rule (op_conv.c), or
 * forced (tests compare the two). */
enum { NN_CONV_AUTO, NN_CONV_GEMM, NN_CONV_DIRECT, NN_CONV_WINO };
extern int nn_conv_path;
/* A net of a ReLU and a conv layer (layer 1), so that the conv's
 * backward pass makes d input: for tests and measurements. */
nn_net *nn_conv_probe(int h, int w, int ic, int oc, int k, int st, int pad,
                      char *err, size_t errlen);
/* Whether conv layer l takes the direct kernels (the rule, or forced). */
int nn_conv_is_direct(const struct layer *l);
/* Whether the kernels take oc output channels (16, 32, 48, 64). */
int nn_conv_direct_fits(int oc);
/* xp: the n images x (h x w x c) with p zeros around each. */
void nn_conv_pad(const float *x, int n, int h, int w, int c, int p, float *xp);
/* x: the inside of the padded xp (the inverse of nn_conv_pad). */
void nn_conv_crop(const float *xp, int n, int h, int w, int c, int p, float *x);
/* wt: the k x k x ic x oc weights w turned for the input gradient (the
 * window flipped, in and out channels swapped). */
void nn_conv_flip(const float *w, int k, int ic, int oc, float *wt);
/* y = conv(xp, w) + bias (NULL: none), n x oh x ow x oc. */
void nn_conv_fwd_direct(const struct nn_conv_geo *g, const float *xp,
                        const float *w, const float *bias, float *y);
/* wt (N x K) = w (K x N) transposed. */
void nn_conv_transpose(const float *w, int K, int N, float *wt);
/* dxp (n padded inputs, assigned) = d input from dy, wt the weights
 * transposed; any stride; c a multiple of 16. */
void nn_conv_dx_scatter(const struct nn_conv_geo *g, const float *dy,
                        const float *wt, float *dxp);
/* The 2x2 max-pool after a conv and its fused ReLU, from which the conv's
 * d output is read (nn_conv_unpools): the pool's d output, output and
 * arg-max (op_pool.c), n x oh/2 x ow/2 x oc each. */
struct nn_conv_unpool {
	const float *dy, *y;
	const int32_t *idx;
};
/* dw += the weight gradient from xp and dy (n x oh x ow x oc), and db
 * += the bias gradient, in nn_bias_grad's order (the same bits). */
void nn_conv_dw_direct(const struct nn_conv_geo *g, const float *xp,
                       const float *dy, float *dw, float *db);
/* The same with dy unpooled from pool (a gray 3x3 layer of 16 or 32
 * channels, even map), when nn_conv_unpool_ok (AVX-512). */
void nn_conv_dw_unpool(const struct nn_conv_geo *g, const float *xp,
                       const struct nn_conv_unpool *pool, float *dw, float *db);
int nn_conv_unpool_ok(void);
/* The gray kernel (a 1-channel 3x3 stride-1 conv of 16 or 32 channels
 * whose rows it takes): whether it takes g, and rows oy0 .. oy1 - 1 of
 * one image's output (xp: its padded input) into y. */
int nn_conv_gray_ok(const struct nn_conv_geo *g);
void nn_conv_gray_rows(const struct nn_conv_geo *g, const float *xp,
                       const float *w, const float *bias, int oy0, int oy1,
                       float *y);
/* Whether conv layer i (nn_conv_unpools, on the gray kernel, at most
 * NN_POOL_CONV_W wide) makes the pool's output in its forward pass,
 * nn_pool_conv_fwd (op_pool.c): the pool i's output and arg-max from
 * the conv's weights and xp (n padded images, geometry g). */
#define NN_POOL_CONV_W 64
int nn_conv_pools(const nn_net *net, int i);
void nn_pool_conv_fwd(nn_ctx *c, int i, const struct nn_conv_geo *g,
                      const float *xp, const float *w, const float *bias,
                      int n);
/* Whether conv layer i takes its d output from the max-pool after its
 * fused ReLU, so that the pool writes no d input (op_conv.c); never
 * when nn_conv_unpool is 0 (tests compare the two). */
int nn_conv_unpools(const nn_net *net, int i);
extern int nn_conv_unpool;

/*
 * Winograd F(2x2, 3x3) (conv_wino.c) of 3x3, stride 1, pad 1 layers with
 * 16..64 output channels: g as for the direct kernels but unpadded
 * (hp x wp = oh x ow = the input's size), scratch nn_wino_scratch floats.
 */
int nn_wino_fits(const struct layer *l);
size_t nn_wino_scratch(int ic, int oc);
/* y = conv(x, w) + bias (NULL: none), w as the layer's [3][3][ic][oc]. */
void nn_wino_fwd(const struct nn_conv_geo *g, const float *x, const float *w,
                 const float *bias, float *y, float *scratch);
/* dw += the weight gradient from x and dy, image by image; db as
 * nn_conv_dw_direct's. */
void nn_wino_dw(const struct nn_conv_geo *g, const float *x, const float *dy,
                float *dw, float *db, float *scratch);
/* Which passes of conv layer l take Winograd (the rule, or forced). */
enum { NN_WINO_FWD = 1, NN_WINO_DX = 2, NN_WINO_DW = 4 };
int nn_conv_wino(const struct layer *l);

/* Layer sizes are bounded so that every count below fits an int. */
#define NN_MAX_DIM 65536
#define NN_MAX_ELEMS (1 << 26)

/* Pointwise whole-batch passes for rows that have pw_fwd/pw_bwd. */
void nn_pw_layer_fwd(nn_ctx *c, const struct layer *l, int i, const float *x,
                     int n, int train, struct nn_rng *rng);
void nn_pw_layer_bwd(nn_ctx *c, const struct layer *l, int i, const float *x,
                     float *dx, int n);

/* The elementwise loops get AVX-512 and AVX2 copies chosen at load time;
 * the build's baseline is plain x86-64 (SSE2). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define NN_SIMD __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define NN_SIMD
#endif

/*
 * Mean loss over rows y[0..n) of the last layer's output, the number
 * right in *correct, and d loss / d output into g (when not NULL) scaled
 * for a batch of total_n rows.
 */
float nn_loss_rows(const nn_net *net, const float *y, const uint16_t *labels,
                   const float *targets, int n, int total_n, int *correct,
                   float *g);

#endif
