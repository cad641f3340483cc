/*
 * export_onnx.c — a model as an ONNX graph; see export.h.
 *
 * The engine keeps activations NHWC; ONNX's Conv and MaxPool want NCHW.
 * The graph transposes once, before the first spatial layer, and a dense
 * layer after spatial ones flattens NCHW with its weight rows permuted to
 * match, so no transpose back is needed (state "chw" below).
 *
 * Every message is built in one arena (freed at the end): protobuf-c's
 * structs hold plain pointers, and a graph is a few hundred of them.
 */
#include "export.h"
#include "onnx.pb-c.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* ---- an arena of allocations, freed together ---- */
struct gb {
	void **blocks;
	size_t nblocks, cap;
	Onnx__GraphProto *g;
	size_t gcap_node, gcap_init;
	int ntensors;
	char *err;
	size_t errlen;
	int failed;
};

static void *
gb_alloc(struct gb *b, size_t n)
{
	if (b->nblocks == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 64;
		b->blocks = xrealloc(b->blocks, b->cap * sizeof(void *));
	}
	void *p = xcalloc(1, n ? n : 1);
	b->blocks[b->nblocks++] = p;
	return p;
}

static char *gb_printf(struct gb *b, const char *fmt, ...) TY_PRINTF(2, 3);

static char *
gb_printf(struct gb *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	if (b->nblocks == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 64;
		b->blocks = xrealloc(b->blocks, b->cap * sizeof(void *));
	}
	b->blocks[b->nblocks++] = s;
	return s;
}

static void
gb_free(struct gb *b)
{
	for (size_t i = 0; i < b->nblocks; i++)
		free(b->blocks[i]);
	free(b->blocks);
}

static int gb_fail(struct gb *b, const char *fmt, ...) TY_PRINTF(2, 3);

static int
gb_fail(struct gb *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (b->err && b->errlen && !b->failed)
		vsnprintf(b->err, b->errlen, fmt, ap);
	va_end(ap);
	b->failed = 1;
	return -1;
}

/* Appends p to an arena-allocated pointer array (*arr, *n, *cap). */
static void
push(struct gb *b, void ***arr, size_t *n, size_t *cap, void *p)
{
	if (*n == *cap) {
		size_t nc = *cap ? 2 * *cap : 16;
		void **na = gb_alloc(b, nc * sizeof(void *));
		if (*n)
			memcpy(na, *arr, *n * sizeof(void *));
		*arr = na, *cap = nc;
	}
	(*arr)[(*n)++] = p;
}

/* ---- tensors, attributes, nodes ---- */
static char *
fresh(struct gb *b, const char *what)
{
	return gb_printf(b, "%s_%d", what, b->ntensors++);
}

/* An initializer of float data (copied) with dims; returns its name. */
static char *
init_f(struct gb *b, const char *what, const float *data, size_t n,
       const int64_t *dims, int ndims)
{
	Onnx__TensorProto *t = gb_alloc(b, sizeof(*t));
	onnx__tensor_proto__init(t);
	t->name = fresh(b, what);
	t->n_dims = (size_t)ndims;
	t->dims = gb_alloc(b, (size_t)ndims * sizeof(int64_t));
	memcpy(t->dims, dims, (size_t)ndims * sizeof(int64_t));
	t->has_data_type = 1;
	t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
	/* raw_data is little-endian float32: this build's own order */
	t->has_raw_data = 1;
	t->raw_data.len = n * sizeof(float);
	t->raw_data.data = gb_alloc(b, t->raw_data.len);
	if (n)
		memcpy(t->raw_data.data, data, n * sizeof(float));
	push(b, (void ***)&b->g->initializer, &b->g->n_initializer,
	     &b->gcap_init, t);
	return t->name;
}

static char *
init_i64(struct gb *b, const char *what, const int64_t *v, int n)
{
	Onnx__TensorProto *t = gb_alloc(b, sizeof(*t));
	onnx__tensor_proto__init(t);
	t->name = fresh(b, what);
	t->n_dims = 1;
	t->dims = gb_alloc(b, sizeof(int64_t));
	t->dims[0] = n;
	t->has_data_type = 1;
	t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
	t->n_int64_data = (size_t)n;
	t->int64_data = gb_alloc(b, (size_t)n * sizeof(int64_t));
	memcpy(t->int64_data, v, (size_t)n * sizeof(int64_t));
	push(b, (void ***)&b->g->initializer, &b->g->n_initializer,
	     &b->gcap_init, t);
	return t->name;
}

struct attr {
	const char *name;
	int nints; /* 0: a single int i; > 0: ints */
	int64_t i;
	int64_t ints[4];
};

static Onnx__AttributeProto *
mkattr(struct gb *b, const struct attr *a)
{
	Onnx__AttributeProto *p = gb_alloc(b, sizeof(*p));
	onnx__attribute_proto__init(p);
	p->name = (char *)a->name;
	p->has_type = 1;
	if (a->nints) {
		p->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
		p->n_ints = (size_t)a->nints;
		p->ints = gb_alloc(b, (size_t)a->nints * sizeof(int64_t));
		memcpy(p->ints, a->ints, (size_t)a->nints * sizeof(int64_t));
	} else {
		p->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
		p->has_i = 1;
		p->i = a->i;
	}
	return p;
}

/*
 * A node op(inputs...) -> nout outputs (names given, "" for an unused
 * optional one); inputs end at NULL; attrs has nattrs entries.
 */
static void node_outs(struct gb *b, const char *op, char **outs, int nout,
                      const char *const *in, const struct attr *attrs,
                      int nattrs);

/* A node op(inputs...) -> a fresh tensor (or out when given); returns
 * the output's name. */
static char *
node(struct gb *b, const char *op, const char *out, const char *const *in,
     const struct attr *attrs, int nattrs)
{
	char *o = out ? (char *)out : fresh(b, "t");
	node_outs(b, op, &o, 1, in, attrs, nattrs);
	return o;
}

static void
node_outs(struct gb *b, const char *op, char **outs, int nout,
          const char *const *in, const struct attr *attrs, int nattrs)
{
	Onnx__NodeProto *n = gb_alloc(b, sizeof(*n));
	onnx__node_proto__init(n);
	n->op_type = (char *)op;
	n->name = fresh(b, op);
	size_t ni = 0;
	while (in[ni])
		ni++;
	n->n_input = ni;
	n->input = gb_alloc(b, ni * sizeof(char *));
	memcpy(n->input, in, ni * sizeof(char *));
	n->n_output = (size_t)nout;
	n->output = gb_alloc(b, (size_t)nout * sizeof(char *));
	memcpy(n->output, outs, (size_t)nout * sizeof(char *));
	n->n_attribute = (size_t)nattrs;
	n->attribute = gb_alloc(b, (size_t)nattrs * sizeof(void *));
	for (int i = 0; i < nattrs; i++)
		n->attribute[i] = mkattr(b, &attrs[i]);
	push(b, (void ***)&b->g->node, &b->g->n_node, &b->gcap_node, n);
}

#define IN(...) ((const char *const[]){__VA_ARGS__, NULL})

/* ---- the walk: where the activation is and in which order ---- */
enum layout {
	L_NHWC, /* [N, H, W, C] as the engine */
	L_NCHW, /* [N, C, H, W] for ONNX's spatial ops */
	L_FLAT, /* [N, F]; F in HWC order, or CHW when chw is set */
};

struct st {
	const char *x; /* the current tensor */
	enum layout lay;
	int h, w, c; /* the engine's per-sample shape */
	int chw;     /* L_FLAT holding a map flattened as CHW, of shape: */
	int mh, mw, mc;
};

static void
to_nchw(struct gb *b, struct st *s)
{
	static const struct attr perm = {"perm", 4, 0, {0, 3, 1, 2}};
	if (s->lay == L_NHWC)
		s->x = node(b, "Transpose", NULL, IN(s->x), &perm, 1);
	s->lay = L_NCHW;
}

/* [N, F] in the engine's (HWC) order, whatever the layout now. */
static void
to_flat_hwc(struct gb *b, struct st *s)
{
	static const struct attr perm = {"perm", 4, 0, {0, 2, 3, 1}};
	static const struct attr axis1 = {"axis", 0, 1, {0}};
	if (s->lay == L_FLAT && s->chw) {
		int64_t shp[4] = {-1, s->mc, s->mh, s->mw};
		s->h = s->mh, s->w = s->mw, s->c = s->mc;
		s->x = node(b, "Reshape", NULL,
		            IN(s->x, init_i64(b, "shape", shp, 4)), NULL, 0);
		s->lay = L_NCHW;
	}
	if (s->lay == L_NCHW && (s->h > 1 || s->w > 1))
		s->x = node(b, "Transpose", NULL, IN(s->x), &perm, 1);
	if (s->lay != L_FLAT)
		s->x = node(b, "Flatten", NULL, IN(s->x), &axis1, 1);
	s->lay = L_FLAT;
	s->chw = 0;
}

/* [N, F] in any order, saying which (s->chw). */
static void
to_flat(struct gb *b, struct st *s)
{
	static const struct attr axis1 = {"axis", 0, 1, {0}};
	if (s->lay == L_FLAT)
		return;
	s->chw = s->lay == L_NCHW && (s->h > 1 || s->w > 1) && s->c > 1;
	s->mh = s->h, s->mw = s->w, s->mc = s->c;
	s->x = node(b, "Flatten", NULL, IN(s->x), &axis1, 1);
	s->lay = L_FLAT;
}

static char *
reshape(struct gb *b, const char *x, const int64_t *shp, int n)
{
	return node(b, "Reshape", NULL, IN(x, init_i64(b, "shape", shp, n)),
	            NULL, 0);
}

/* A 4-D map again (from [N, F]: the engine's h x w x c). */
static void
to_map(struct gb *b, struct st *s)
{
	if (s->lay != L_FLAT)
		return;
	if (s->chw) {
		int64_t shp[4] = {-1, s->mc, s->mh, s->mw};
		s->x = reshape(b, s->x, shp, 4);
		s->lay = L_NCHW;
		s->chw = 0;
		return;
	}
	int64_t shp[4] = {-1, s->h, s->w, s->c};
	s->x = reshape(b, s->x, shp, 4);
	s->lay = L_NHWC;
}

/* ---- one row per layer kind ---- */
struct lctx {
	const nn_net *net;
	const float *params;
	int i; /* layer index */
	const struct nn_spec *spec;
	int oh, ow, oc;   /* its output shape */
	struct st *other; /* NN_ADD: the other summand */
};

static int
emit_dense(struct gb *b, const struct lctx *l, struct st *s)
{
	size_t woff, wn, boff, bn;
	nn_layer_params(l->net, l->i, &woff, &wn, &boff, &bn);
	to_flat(b, s);
	size_t in = (size_t)s->h * s->w * s->c, out = (size_t)l->oc;
	if (in * out != wn || bn != out)
		return gb_fail(b, "layer %d: dense weights do not match", l->i);
	const float *W = l->params + woff;
	float *P = xmalloc(wn * sizeof(float));
	/* rows of W are inputs in HWC order; Gemm's B wants [in, out] in
	 * the order the flattened tensor holds */
	int H = s->chw ? s->mh : 1, Wd = s->chw ? s->mw : 1,
	    C = s->chw ? s->mc : (int)in;
	for (int y = 0; y < H; y++)
		for (int x = 0; x < Wd; x++)
			for (int c = 0; c < C; c++) {
				size_t hwc = ((size_t)y * Wd + x) * C + c;
				size_t dst =
				    s->chw ? ((size_t)c * H + y) * Wd + x : hwc;
				memcpy(P + dst * out, W + hwc * out,
				       out * sizeof(float));
			}
	int64_t wd[2] = {(int64_t)in, (int64_t)out}, bd[1] = {(int64_t)out};
	const char *wt = init_f(b, "W", P, wn, wd, 2);
	free(P);
	const char *bt = init_f(b, "B", l->params + boff, bn, bd, 1);
	s->x = node(b, "Gemm", NULL, IN(s->x, wt, bt), NULL, 0);
	s->chw = 0;
	return 0;
}

static int
emit_conv(struct gb *b, const struct lctx *l, struct st *s)
{
	size_t woff, wn, boff, bn;
	nn_layer_params(l->net, l->i, &woff, &wn, &boff, &bn);
	to_map(b, s);
	to_nchw(b, s);
	int k = l->spec->k, ic = s->c, oc = l->oc;
	if ((size_t)k * k * ic * oc != wn || bn != (size_t)oc)
		return gb_fail(b, "layer %d: conv weights do not match", l->i);
	/* the engine's [ky][kx][ic][oc] -> ONNX's [oc][ic][ky][kx] */
	const float *W = l->params + woff;
	float *P = xmalloc(wn * sizeof(float));
	for (int ky = 0; ky < k; ky++)
		for (int kx = 0; kx < k; kx++)
			for (int c = 0; c < ic; c++)
				for (int o = 0; o < oc; o++)
					P[(((size_t)o * ic + c) * k + ky) * k +
					  kx] =
					    W[(((size_t)ky * k + kx) * ic + c) *
					          oc +
					      o];
	int64_t wd[4] = {oc, ic, k, k}, bd[1] = {oc};
	const char *wt = init_f(b, "W", P, wn, wd, 4);
	free(P);
	const char *bt = init_f(b, "B", l->params + boff, bn, bd, 1);
	int p = l->spec->pad, st = l->spec->stride;
	const struct attr a[] = {
	    {"kernel_shape", 2, 0, {k, k}},
	    {"pads", 4, 0, {p, p, p, p}},
	    {"strides", 2, 0, {st, st}},
	};
	s->x = node(b, "Conv", NULL, IN(s->x, wt, bt), a, 3);
	return 0;
}

static int
emit_maxpool(struct gb *b, const struct lctx *l, struct st *s)
{
	const struct attr a[] = {
	    {"kernel_shape", 2, 0, {2, 2}},
	    {"strides", 2, 0, {2, 2}},
	};
	to_map(b, s);
	to_nchw(b, s);
	s->x = node(b, "MaxPool", NULL, IN(s->x), a, 2);
	return 0;
}

static int
emit_gap(struct gb *b, const struct lctx *l, struct st *s)
{
	to_map(b, s);
	to_nchw(b, s);
	s->x = node(b, "GlobalAveragePool", NULL, IN(s->x), NULL, 0);
	return 0;
}

/* Batch normalisation that did not fold (nn_fold_bn): per channel
 * x * scale + shift, both computed as the engine's inference does. */
static int
emit_bn(struct gb *b, const struct lctx *l, struct st *s)
{
	size_t woff, wn, boff, bn, soff, sn;
	int C = l->oc;
	nn_layer_params(l->net, l->i, &woff, &wn, &boff, &bn);
	nn_layer_state(l->net, l->i, &soff, &sn);
	if (bn != 2 * (size_t)C || sn != 2 * (size_t)C)
		return gb_fail(b, "layer %d: batch norm sizes", l->i);
	const float *g = l->params + boff, *be = g + C, *rm = l->params + soff,
	            *rv = rm + C;
	float *sc = xmalloc(2 * (size_t)C * sizeof(float)), *sh = sc + C;
	for (int c = 0; c < C; c++) {
		sc[c] = g[c] / sqrtf(rv[c] + NN_BN_EPS);
		sh[c] = be[c] - rm[c] * sc[c];
	}
	if (s->lay == L_FLAT && s->chw)
		to_flat_hwc(b, s);
	int64_t d[3] = {C, 1, 1};
	int nd = s->lay == L_NCHW ? 3 : 1;
	const char *a = init_f(b, "bn_scale", sc, (size_t)C, d, nd),
	           *c = init_f(b, "bn_shift", sh, (size_t)C, d, nd);
	free(sc);
	s->x = node(b, "Mul", NULL, IN(s->x, a), NULL, 0);
	s->x = node(b, "Add", NULL, IN(s->x, c), NULL, 0);
	return 0;
}

/* Both summands in one layout: NCHW for maps, [N, F] HWC for vectors. */
static int
emit_add(struct gb *b, const struct lctx *l, struct st *s)
{
	struct st *o = l->other;
	if (s->h * s->w > 1) {
		to_map(b, s), to_nchw(b, s);
		to_map(b, o), to_nchw(b, o);
	} else {
		to_flat_hwc(b, s);
		to_flat_hwc(b, o);
	}
	s->x = node(b, "Add", NULL, IN(s->x, o->x), NULL, 0);
	return 0;
}

/*
 * ONNX's LSTM (one direction, no peepholes, sigmoid/tanh/tanh: the
 * engine's cell). Steps are the map's rows of w*c features (HWC). The
 * engine keeps Wx [F][4H], Wh [H][4H], b [4H] with gates i, f, g, o;
 * ONNX wants W [1][4H][F], R [1][4H][H], B [1][8H] with gates i, o, f, c.
 */
static int
emit_lstm(struct gb *b, const struct lctx *l, struct st *s)
{
	static const int gate[4] = {0, 3, 1, 2}; /* ONNX gate -> engine's */
	size_t woff, wn, boff, bn;
	int T = s->h, F = s->w * s->c, H = l->oc;
	nn_layer_params(l->net, l->i, &woff, &wn, &boff, &bn);
	if (wn != (size_t)(F + H) * 4 * H || bn != 4 * (size_t)H)
		return gb_fail(b, "layer %d: lstm sizes", l->i);
	const float *Wx = l->params + woff, *Wh = Wx + (size_t)F * 4 * H,
	            *bias = l->params + boff;
	float *W = xmalloc((size_t)4 * H * F * sizeof(float)),
	      *R = xmalloc((size_t)4 * H * H * sizeof(float)),
	      *B = xcalloc((size_t)8 * H, sizeof(float));
	for (int q = 0; q < 4; q++)
		for (int j = 0; j < H; j++) {
			size_t col = (size_t)gate[q] * H + j,
			       row = (size_t)q * H + j;
			for (int f = 0; f < F; f++)
				W[row * F + f] = Wx[(size_t)f * 4 * H + col];
			for (int k = 0; k < H; k++)
				R[row * H + k] = Wh[(size_t)k * 4 * H + col];
			B[row] = bias[col]; /* Rb stays 0: b is b_ih + b_hh */
		}
	int64_t wd[3] = {1, 4 * H, F}, rd[3] = {1, 4 * H, H},
	        bd[2] = {1, 8 * H};
	const char *wt = init_f(b, "W", W, (size_t)4 * H * F, wd, 3),
	           *rt = init_f(b, "R", R, (size_t)4 * H * H, rd, 3),
	           *bt = init_f(b, "B", B, (size_t)8 * H, bd, 2);
	free(W), free(R), free(B);
	/* [N, T*F] HWC -> [N, T, F] -> [T, N, F] */
	static const struct attr tnf = {"perm", 3, 0, {1, 0, 2}};
	to_flat_hwc(b, s);
	int64_t ntf[3] = {-1, T, F};
	const char *x =
	    node(b, "Transpose", NULL, IN(reshape(b, s->x, ntf, 3)), &tnf, 1);
	const struct attr hs = {"hidden_size", 0, H, {0}};
	if (l->spec->seq) { /* Y [T, 1, N, H] -> [N, T, 1, H] NHWC */
		char *outs[1] = {fresh(b, "lstm_y")};
		node_outs(b, "LSTM", outs, 1, IN(x, wt, rt, bt), &hs, 1);
		int64_t tnh[3] = {T, -1, H}, nt1h[4] = {-1, T, 1, H};
		const char *y = node(b, "Transpose", NULL,
		                     IN(reshape(b, outs[0], tnh, 3)), &tnf, 1);
		s->x = reshape(b, y, nt1h, 4);
		s->lay = L_NHWC;
	} else { /* Y_h [1, N, H] -> [N, H] */
		char *outs[2] = {"", fresh(b, "lstm_h")};
		node_outs(b, "LSTM", outs, 2, IN(x, wt, rt, bt), &hs, 1);
		int64_t nh[2] = {-1, H};
		s->x = reshape(b, outs[1], nh, 2);
		s->lay = L_FLAT;
	}
	s->chw = 0;
	return 0;
}

static int
emit_relu(struct gb *b, const struct lctx *l, struct st *s)
{
	s->x = node(b, "Relu", NULL, IN(s->x), NULL, 0);
	return 0;
}

static int
emit_sigmoid(struct gb *b, const struct lctx *l, struct st *s)
{
	s->x = node(b, "Sigmoid", NULL, IN(s->x), NULL, 0);
	return 0;
}

/* Dropout is the identity at inference. */
static int
emit_identity(struct gb *b, const struct lctx *l, struct st *s)
{
	return 0;
}

static int
emit_flatten(struct gb *b, const struct lctx *l, struct st *s)
{
	to_flat(b, s);
	return 0;
}

typedef int (*emit_fn)(struct gb *, const struct lctx *, struct st *);

static const emit_fn emit[NN_KIND__MAX] = {
    [NN_DENSE] = emit_dense,     [NN_CONV] = emit_conv,
    [NN_MAXPOOL] = emit_maxpool, [NN_RELU] = emit_relu,
    [NN_SIGMOID] = emit_sigmoid, [NN_DROPOUT] = emit_identity,
    [NN_FLATTEN] = emit_flatten, [NN_GAP] = emit_gap,
    [NN_BN] = emit_bn,           [NN_ADD] = emit_add,
    [NN_LSTM] = emit_lstm,
};

/* ---- graph inputs, outputs, metadata ---- */
static Onnx__ValueInfoProto *
value_info(struct gb *b, const char *name, const int64_t *dims, int n)
{
	Onnx__ValueInfoProto *v = gb_alloc(b, sizeof(*v));
	onnx__value_info_proto__init(v);
	v->name = (char *)name;
	Onnx__TypeProto *t = gb_alloc(b, sizeof(*t));
	onnx__type_proto__init(t);
	Onnx__TypeProto__Tensor *tt = gb_alloc(b, sizeof(*tt));
	onnx__type_proto__tensor__init(tt);
	tt->has_elem_type = 1;
	tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
	Onnx__TensorShapeProto *sh = gb_alloc(b, sizeof(*sh));
	onnx__tensor_shape_proto__init(sh);
	sh->n_dim = (size_t)n;
	sh->dim = gb_alloc(b, (size_t)n * sizeof(void *));
	for (int i = 0; i < n; i++) {
		Onnx__TensorShapeProto__Dimension *d = gb_alloc(b, sizeof(*d));
		onnx__tensor_shape_proto__dimension__init(d);
		if (dims[i] < 0) { /* the batch */
			d->value_case =
			    ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
			d->dim_param = "N";
		} else {
			d->value_case =
			    ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
			d->dim_value = dims[i];
		}
		sh->dim[i] = d;
	}
	tt->shape = sh;
	t->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
	t->tensor_type = tt;
	v->type = t;
	return v;
}

static char *
json_array_str(const struct model_meta *mm, int what)
{
	cJSON *a = cJSON_CreateArray();
	for (int i = 0; i < (what ? mm->channels : mm->nclasses); i++)
		cJSON_AddItemToArray(
		    a, what == 0   ? cJSON_CreateString(mm->classes[i])
		       : what == 1 ? cJSON_CreateNumber(mm->mean[i])
		                   : cJSON_CreateNumber(mm->std[i]));
	char *s = cJSON_PrintUnformatted(a);
	cJSON_Delete(a);
	return s;
}

static void
add_prop(struct gb *b, Onnx__ModelProto *mp, size_t *cap, const char *k,
         char *v)
{
	Onnx__StringStringEntryProto *e = gb_alloc(b, sizeof(*e));
	onnx__string_string_entry_proto__init(e);
	e->key = (char *)k;
	e->value = gb_printf(b, "%s", v);
	free(v);
	push(b, (void ***)&mp->metadata_props, &mp->n_metadata_props, cap, e);
}

/* The normalisation (p/255 - mean)/std as p*scale + offset, per channel,
 * on the NHWC input: the same two constants model_normalize_u8 uses. */
static const char *
normalise(struct gb *b, const struct model_meta *mm)
{
	float sc[MODEL_MAX_CHANNELS], off[MODEL_MAX_CHANNELS];
	for (int i = 0; i < mm->channels; i++) {
		sc[i] = 1.0f / (255.0f * mm->std[i]);
		off[i] = -mm->mean[i] / mm->std[i];
	}
	int64_t d[1] = {mm->channels};
	const char *x = node(
	    b, "Mul", NULL,
	    IN("image", init_f(b, "scale", sc, (size_t)mm->channels, d, 1)),
	    NULL, 0);
	return node(b, "Add", NULL,
	            IN(x, init_f(b, "offset", off, (size_t)mm->channels, d, 1)),
	            NULL, 0);
}

static const char onnx_contract[] =
    "input image: float32 NHWC [N, %d, %d, %d], pixel values 0..255 "
    "after the image is decoded, its alpha composited onto white, "
    "converted to %d channel(s) (gray = ITU-R 601 luma) and resized to "
    "%dx%d (box filter when shrinking); the graph normalises with "
    "mean %s, std %s (on 0..1 values). Output probabilities [N, %d]: "
    "softmax over the classes in metadata_props 'classes'.";

/* The layers in order, each from the state of the layer(s) it reads
 * (the engine's nets are sequences with skips: residual blocks). */
static int
walk(struct gb *b, const nn_net *net, const struct model_meta *mm,
     struct st *out)
{
	int nl = nn_nlayers(net);
	struct st *outs =
	    (struct st *)gb_alloc(b, ((size_t)nl + 1) * sizeof(*outs)) + 1;
	outs[-1] = (struct st){
	    .lay = L_NHWC, .h = mm->height, .w = mm->width, .c = mm->channels};
	outs[-1].x = normalise(b, mm);
	for (int i = 0; i < nl; i++) {
		int src, src2;
		nn_layer_inputs(net, i, &src, &src2);
		struct st s = outs[src], o = src2 >= 0 ? outs[src2] : s;
		struct lctx l = {.net = net,
		                 .params = nn_params_c(net),
		                 .i = i,
		                 .spec = nn_layer_spec(net, i),
		                 .other = &o};
		enum nn_kind k = l.spec->kind;
		if ((unsigned)k >= NN_KIND__MAX || !emit[k])
			return gb_fail(b,
			               "layer %d (%s) cannot be exported to "
			               "ONNX yet",
			               i,
			               nn_kind_name(k) ? nn_kind_name(k) : "?");
		nn_layer_shape(net, i, &l.oh, &l.ow, &l.oc);
		if (emit[k](b, &l, &s) != 0)
			return -1;
		s.h = l.oh, s.w = l.ow, s.c = l.oc;
		outs[i] = s;
	}
	*out = outs[nl - 1];
	return 0;
}

static int
build(struct gb *b, const model *m, const nn_net *net,
      const struct export_info *info, Onnx__ModelProto *mp)
{
	const struct model_meta *mm = model_meta(m);
	struct st s;
	if (walk(b, net, mm, &s) != 0)
		return -1;
	to_flat_hwc(b, &s);
	int k = nn_out_size(net);
	static const struct attr axis1 = {"axis", 0, 1, {0}};
	if (nn_loss_kind(net) == NN_LOSS_XENT)
		node(b, "Softmax", "probabilities", IN(s.x), &axis1, 1);
	else
		node(b, "Identity", "probabilities", IN(s.x), NULL, 0);

	Onnx__GraphProto *g = b->g;
	g->name = "trainyard";
	int64_t ind[4] = {-1, mm->height, mm->width, mm->channels},
	        outd[2] = {-1, k};
	g->n_input = 1;
	g->input = gb_alloc(b, sizeof(void *));
	g->input[0] = value_info(b, "image", ind, 4);
	g->n_output = 1;
	g->output = gb_alloc(b, sizeof(void *));
	g->output[0] = value_info(b, "probabilities", outd, 2);
	char *cl = json_array_str(mm, 0), *mean = json_array_str(mm, 1),
	     *sd = json_array_str(mm, 2);
	g->doc_string =
	    gb_printf(b, onnx_contract, mm->height, mm->width, mm->channels,
	              mm->channels, mm->width, mm->height, mean, sd, k);

	mp->has_ir_version = 1;
	mp->ir_version = 7; /* opset 13's IR; readable by onnx >= 1.8 */
	Onnx__OperatorSetIdProto *os = gb_alloc(b, sizeof(*os));
	onnx__operator_set_id_proto__init(os);
	os->domain = "";
	os->has_version = 1;
	os->version = EXPORT_ONNX_OPSET;
	mp->n_opset_import = 1;
	mp->opset_import = gb_alloc(b, sizeof(void *));
	mp->opset_import[0] = os;
	mp->producer_name = "trainyard";
	mp->producer_version = "1";
	mp->doc_string = g->doc_string;
	mp->graph = g;
	size_t cap = 0;
	add_prop(b, mp, &cap, "classes", cl);
	add_prop(b, mp, &cap, "mean", mean);
	add_prop(b, mp, &cap, "std", sd);
	add_prop(b, mp, &cap, "input_layout", xstrdup("NHWC"));
	add_prop(b, mp, &cap, "input_range", xstrdup("0..255"));
	if (info && info->name)
		add_prop(b, mp, &cap, "trainyard_model", xstrdup(info->name));
	if (info && info->arch)
		add_prop(b, mp, &cap, "arch", xstrdup(info->arch));
	if (info && info->accuracy >= 0)
		add_prop(b, mp, &cap, "val_accuracy",
		         xasprintf("%.4f", info->accuracy));
	return 0;
}

int
export_onnx(const model *m, const struct export_info *info, uint8_t **out,
            size_t *len, char *err, size_t errlen)
{
	struct gb b = {.err = err, .errlen = errlen};
	Onnx__ModelProto mp;
	onnx__model_proto__init(&mp);
	b.g = gb_alloc(&b, sizeof(*b.g));
	onnx__graph_proto__init(b.g);
	/* batch norms folded into their conv or dense, as inference does */
	nn_net *net = nn_fold_bn(model_net_c(m), err, errlen);
	if (!net) {
		gb_free(&b);
		return -1;
	}
	int rc = build(&b, m, net, info, &mp);
	nn_free(net);
	if (rc == 0) {
		*len = onnx__model_proto__get_packed_size(&mp);
		*out = xmalloc(*len ? *len : 1);
		onnx__model_proto__pack(&mp, *out);
	}
	gb_free(&b);
	return rc;
}
