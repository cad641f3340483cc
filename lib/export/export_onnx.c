/*
 * export_onnx.c — a model as an ONNX graph; see export.h.
 *
 * The engine keeps activations NHWC; ONNX's Conv and MaxPool want NCHW.
 * The graph transposes once, before the first spatial layer, and a dense
 * layer after spatial ones flattens NCHW with its weight rows permuted to
 * match, so no transpose back is needed (state "chw" below).
 */
#include "export.h"
#include "onnx_graph.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

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
to_nchw(struct og *b, struct st *s)
{
	static const struct og_attr perm = {"perm", 4, 0, {0, 3, 1, 2}};
	if (s->lay == L_NHWC)
		s->x = og_node(b, "Transpose", NULL, OG_IN(s->x), &perm, 1);
	s->lay = L_NCHW;
}

/* [N, F] in the engine's (HWC) order, whatever the layout now. */
static void
to_flat_hwc(struct og *b, struct st *s)
{
	static const struct og_attr perm = {"perm", 4, 0, {0, 2, 3, 1}};
	static const struct og_attr axis1 = {"axis", 0, 1, {0}};
	if (s->lay == L_FLAT && s->chw) {
		int64_t shp[4] = {-1, s->mc, s->mh, s->mw};
		s->h = s->mh, s->w = s->mw, s->c = s->mc;
		s->x = og_node(b, "Reshape", NULL,
		               OG_IN(s->x, og_init_i64(b, "shape", shp, 4)),
		               NULL, 0);
		s->lay = L_NCHW;
	}
	if (s->lay == L_NCHW && (s->h > 1 || s->w > 1))
		s->x = og_node(b, "Transpose", NULL, OG_IN(s->x), &perm, 1);
	if (s->lay != L_FLAT)
		s->x = og_node(b, "Flatten", NULL, OG_IN(s->x), &axis1, 1);
	s->lay = L_FLAT;
	s->chw = 0;
}

/* [N, F] in any order, saying which (s->chw). */
static void
to_flat(struct og *b, struct st *s)
{
	static const struct og_attr axis1 = {"axis", 0, 1, {0}};
	if (s->lay == L_FLAT)
		return;
	s->chw = s->lay == L_NCHW && (s->h > 1 || s->w > 1) && s->c > 1;
	s->mh = s->h, s->mw = s->w, s->mc = s->c;
	s->x = og_node(b, "Flatten", NULL, OG_IN(s->x), &axis1, 1);
	s->lay = L_FLAT;
}

static char *
reshape(struct og *b, const char *x, const int64_t *shp, int n)
{
	return og_node(b, "Reshape", NULL,
	               OG_IN(x, og_init_i64(b, "shape", shp, n)), NULL, 0);
}

/* A 4-D map again (from [N, F]: the engine's h x w x c). */
static void
to_map(struct og *b, struct st *s)
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

/* A map in NCHW, for ONNX's spatial ops. */
static void
to_map_nchw(struct og *b, struct st *s)
{
	to_map(b, s);
	to_nchw(b, s);
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
emit_dense(struct og *b, const struct lctx *l, struct st *s)
{
	size_t woff, wn, boff, bn;
	nn_layer_params(l->net, l->i, &woff, &wn, &boff, &bn);
	to_flat(b, s);
	size_t in = (size_t)s->h * s->w * s->c, out = (size_t)l->oc;
	if (in * out != wn || bn != out)
		return og_fail(b, "layer %d: dense weights do not match", l->i);
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
	const char *wt = og_init_f(b, "W", P, wn, wd, 2);
	free(P);
	const char *bt = og_init_f(b, "B", l->params + boff, bn, bd, 1);
	s->x = og_node(b, "Gemm", NULL, OG_IN(s->x, wt, bt), NULL, 0);
	s->chw = 0;
	return 0;
}

static int
emit_conv(struct og *b, const struct lctx *l, struct st *s)
{
	size_t woff, wn, boff, bn;
	nn_layer_params(l->net, l->i, &woff, &wn, &boff, &bn);
	to_map_nchw(b, s);
	int k = l->spec->k, ic = s->c, oc = l->oc;
	if ((size_t)k * k * ic * oc != wn || bn != (size_t)oc)
		return og_fail(b, "layer %d: conv weights do not match", l->i);
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
	const char *wt = og_init_f(b, "W", P, wn, wd, 4);
	free(P);
	const char *bt = og_init_f(b, "B", l->params + boff, bn, bd, 1);
	int p = l->spec->pad, st = l->spec->stride;
	const struct og_attr a[] = {
	    {"kernel_shape", 2, 0, {k, k}},
	    {"pads", 4, 0, {p, p, p, p}},
	    {"strides", 2, 0, {st, st}},
	};
	s->x = og_node(b, "Conv", NULL, OG_IN(s->x, wt, bt), a, 3);
	return 0;
}

static int
emit_maxpool(struct og *b, const struct lctx *l, struct st *s)
{
	const struct og_attr a[] = {
	    {"kernel_shape", 2, 0, {2, 2}},
	    {"strides", 2, 0, {2, 2}},
	};
	to_map_nchw(b, s);
	s->x = og_node(b, "MaxPool", NULL, OG_IN(s->x), a, 2);
	return 0;
}

static int
emit_gap(struct og *b, const struct lctx *l, struct st *s)
{
	to_map_nchw(b, s);
	s->x = og_node(b, "GlobalAveragePool", NULL, OG_IN(s->x), NULL, 0);
	return 0;
}

/* Batch normalisation that did not fold (nn_fold_bn): per channel
 * x * scale + shift, both computed as the engine's inference does. */
static int
emit_bn(struct og *b, const struct lctx *l, struct st *s)
{
	size_t woff, wn, boff, bn, soff, sn;
	int C = l->oc;
	nn_layer_params(l->net, l->i, &woff, &wn, &boff, &bn);
	nn_layer_state(l->net, l->i, &soff, &sn);
	if (bn != 2 * (size_t)C || sn != 2 * (size_t)C)
		return og_fail(b, "layer %d: batch norm sizes", l->i);
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
	const char *a = og_init_f(b, "bn_scale", sc, (size_t)C, d, nd),
	           *c = og_init_f(b, "bn_shift", sh, (size_t)C, d, nd);
	free(sc);
	s->x = og_node(b, "Mul", NULL, OG_IN(s->x, a), NULL, 0);
	s->x = og_node(b, "Add", NULL, OG_IN(s->x, c), NULL, 0);
	return 0;
}

/* Both summands in one layout: NCHW for maps, [N, F] HWC for vectors. */
static int
emit_add(struct og *b, const struct lctx *l, struct st *s)
{
	struct st *o = l->other;
	if (s->h * s->w > 1) {
		to_map_nchw(b, s);
		to_map_nchw(b, o);
	} else {
		to_flat_hwc(b, s);
		to_flat_hwc(b, o);
	}
	s->x = og_node(b, "Add", NULL, OG_IN(s->x, o->x), NULL, 0);
	return 0;
}

/*
 * ONNX's LSTM (one direction, no peepholes, sigmoid/tanh/tanh: the
 * engine's cell). Steps are the map's rows of w*c features (HWC). The
 * engine keeps Wx [F][4H], Wh [H][4H], b [4H] with gates i, f, g, o;
 * ONNX wants W [1][4H][F], R [1][4H][H], B [1][8H] with gates i, o, f, c.
 */
static int
emit_lstm(struct og *b, const struct lctx *l, struct st *s)
{
	static const int gate[4] = {0, 3, 1, 2}; /* ONNX gate -> engine's */
	size_t woff, wn, boff, bn;
	int T = s->h, F = s->w * s->c, H = l->oc;
	nn_layer_params(l->net, l->i, &woff, &wn, &boff, &bn);
	if (wn != (size_t)(F + H) * 4 * H || bn != 4 * (size_t)H)
		return og_fail(b, "layer %d: lstm sizes", l->i);
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
	const char *wt = og_init_f(b, "W", W, (size_t)4 * H * F, wd, 3),
	           *rt = og_init_f(b, "R", R, (size_t)4 * H * H, rd, 3),
	           *bt = og_init_f(b, "B", B, (size_t)8 * H, bd, 2);
	free(W), free(R), free(B);
	/* [N, T*F] HWC -> [N, T, F] -> [T, N, F] */
	static const struct og_attr tnf = {"perm", 3, 0, {1, 0, 2}};
	to_flat_hwc(b, s);
	int64_t ntf[3] = {-1, T, F};
	const char *x = og_node(b, "Transpose", NULL,
	                        OG_IN(reshape(b, s->x, ntf, 3)), &tnf, 1);
	const struct og_attr hs = {"hidden_size", 0, H, {0}};
	if (l->spec->seq) { /* Y [T, 1, N, H] -> [N, T, 1, H] NHWC */
		char *outs[1] = {og_fresh(b, "lstm_y")};
		og_node_outs(b, "LSTM", outs, 1, OG_IN(x, wt, rt, bt), &hs, 1);
		int64_t tnh[3] = {T, -1, H}, nt1h[4] = {-1, T, 1, H};
		const char *y =
		    og_node(b, "Transpose", NULL,
		            OG_IN(reshape(b, outs[0], tnh, 3)), &tnf, 1);
		s->x = reshape(b, y, nt1h, 4);
		s->lay = L_NHWC;
	} else { /* Y_h [1, N, H] -> [N, H] */
		char *outs[2] = {"", og_fresh(b, "lstm_h")};
		og_node_outs(b, "LSTM", outs, 2, OG_IN(x, wt, rt, bt), &hs, 1);
		int64_t nh[2] = {-1, H};
		s->x = reshape(b, outs[1], nh, 2);
		s->lay = L_FLAT;
	}
	s->chw = 0;
	return 0;
}

static int
emit_relu(struct og *b, const struct lctx *l, struct st *s)
{
	s->x = og_node(b, "Relu", NULL, OG_IN(s->x), NULL, 0);
	return 0;
}

static int
emit_sigmoid(struct og *b, const struct lctx *l, struct st *s)
{
	s->x = og_node(b, "Sigmoid", NULL, OG_IN(s->x), NULL, 0);
	return 0;
}

/* Dropout is the identity at inference. */
static int
emit_identity(struct og *b, const struct lctx *l, struct st *s)
{
	return 0;
}

static int
emit_flatten(struct og *b, const struct lctx *l, struct st *s)
{
	to_flat(b, s);
	return 0;
}

typedef int (*emit_fn)(struct og *, const struct lctx *, struct st *);

static const emit_fn emit[NN_KIND__MAX] = {
    [NN_DENSE] = emit_dense,     [NN_CONV] = emit_conv,
    [NN_MAXPOOL] = emit_maxpool, [NN_RELU] = emit_relu,
    [NN_SIGMOID] = emit_sigmoid, [NN_DROPOUT] = emit_identity,
    [NN_FLATTEN] = emit_flatten, [NN_GAP] = emit_gap,
    [NN_BN] = emit_bn,           [NN_ADD] = emit_add,
    [NN_LSTM] = emit_lstm,
};

/* ---- graph inputs, outputs, metadata ---- */
/* A float as the shortest decimal that reads back as it (0.15, not
 * 0.15000000596046448). */
static cJSON *
json_float(float v)
{
	char buf[32];
	for (int prec = 6; prec < 10; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, (double)v);
		if (strtof(buf, NULL) == v)
			break;
	}
	return cJSON_CreateNumber(strtod(buf, NULL));
}

static char *
json_array_str(const struct model_meta *mm, int what)
{
	cJSON *a = cJSON_CreateArray();
	for (int i = 0; i < (what ? mm->channels : mm->nclasses); i++)
		cJSON_AddItemToArray(a, what == 0
		                            ? cJSON_CreateString(mm->classes[i])
		                        : what == 1 ? json_float(mm->mean[i])
		                                    : json_float(mm->std[i]));
	char *s = cJSON_PrintUnformatted(a);
	cJSON_Delete(a);
	return s;
}

static void
add_prop(struct og *b, Onnx__ModelProto *mp, size_t *cap, const char *k,
         char *v)
{
	Onnx__StringStringEntryProto *e = og_alloc(b, sizeof(*e));
	onnx__string_string_entry_proto__init(e);
	e->key = (char *)k;
	e->value = og_printf(b, "%s", v);
	free(v);
	og_push(b, (void ***)&mp->metadata_props, &mp->n_metadata_props, cap,
	        e);
}

/* The normalisation (p/255 - mean)/std as p*scale + offset, per channel,
 * on the NHWC input: the same two constants model_normalize_u8 uses. */
static const char *
normalise(struct og *b, const struct model_meta *mm)
{
	float sc[MODEL_MAX_CHANNELS], off[MODEL_MAX_CHANNELS];
	for (int i = 0; i < mm->channels; i++) {
		sc[i] = 1.0f / (255.0f * mm->std[i]);
		off[i] = -mm->mean[i] / mm->std[i];
	}
	int64_t d[1] = {mm->channels};
	const char *x =
	    og_node(b, "Mul", NULL,
	            OG_IN("image", og_init_f(b, "scale", sc,
	                                     (size_t)mm->channels, d, 1)),
	            NULL, 0);
	return og_node(
	    b, "Add", NULL,
	    OG_IN(x, og_init_f(b, "offset", off, (size_t)mm->channels, d, 1)),
	    NULL, 0);
}

static const char onnx_contract[] =
    "input image: float32 NHWC [N, %d, %d, %d], pixel values 0..255 "
    "after the image is decoded, its alpha composited onto white, "
    "converted to %d channel(s) (gray = ITU-R 601 luma) and fitted to "
    "%dx%d by %s (box filter when shrinking, Catmull-Rom when growing; "
    "metadata_props 'fit'); the "
    "graph normalises with "
    "mean %s, std %s (on 0..1 values). Output probabilities [N, %d]: "
    "softmax over the classes in metadata_props 'classes'.";

/* The layers in order, each from the state of the layer(s) it reads
 * (the engine's nets are sequences with skips: residual blocks). */
static int
walk(struct og *b, const nn_net *net, const struct model_meta *mm,
     struct st *out)
{
	int nl = nn_nlayers(net);
	struct st *outs =
	    (struct st *)og_alloc(b, ((size_t)nl + 1) * sizeof(*outs)) + 1;
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
			return og_fail(b,
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
build(struct og *b, const model *m, const nn_net *net,
      const struct export_info *info, Onnx__ModelProto *mp)
{
	const struct model_meta *mm = model_meta(m);
	struct st s;
	if (walk(b, net, mm, &s) != 0)
		return -1;
	to_flat_hwc(b, &s);
	int k = nn_out_size(net);
	static const struct og_attr axis1 = {"axis", 0, 1, {0}};
	if (nn_loss_kind(net) == NN_LOSS_XENT)
		og_node(b, "Softmax", "probabilities", OG_IN(s.x), &axis1, 1);
	else
		og_node(b, "Identity", "probabilities", OG_IN(s.x), NULL, 0);

	Onnx__GraphProto *g = b->g;
	g->name = "trainyard";
	int64_t ind[4] = {-1, mm->height, mm->width, mm->channels},
	        outd[2] = {-1, k};
	g->n_input = 1;
	g->input = og_alloc(b, sizeof(void *));
	g->input[0] = og_value_info(b, "image", ind, 4);
	g->n_output = 1;
	g->output = og_alloc(b, sizeof(void *));
	g->output[0] = og_value_info(b, "probabilities", outd, 2);
	char *cl = json_array_str(mm, 0), *mean = json_array_str(mm, 1),
	     *sd = json_array_str(mm, 2);
	g->doc_string = og_printf(
	    b, onnx_contract, mm->height, mm->width, mm->channels, mm->channels,
	    mm->width, mm->height, export_fit_text(mm->fit), mean, sd, k);

	mp->has_ir_version = 1;
	mp->ir_version = 7; /* opset 13's IR; readable by onnx >= 1.8 */
	Onnx__OperatorSetIdProto *os = og_alloc(b, sizeof(*os));
	onnx__operator_set_id_proto__init(os);
	os->domain = "";
	os->has_version = 1;
	os->version = EXPORT_ONNX_OPSET;
	mp->n_opset_import = 1;
	mp->opset_import = og_alloc(b, sizeof(void *));
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
	add_prop(b, mp, &cap, "fit", xstrdup(img_fit_names[mm->fit]));
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
	struct og b = {.err = err, .errlen = errlen};
	Onnx__ModelProto mp;
	onnx__model_proto__init(&mp);
	b.g = og_alloc(&b, sizeof(*b.g));
	onnx__graph_proto__init(b.g);
	/* batch norms folded into their conv or dense, as inference does */
	nn_net *net = nn_fold_bn(model_net_c(m), err, errlen);
	if (!net) {
		og_free(&b);
		return -1;
	}
	int rc = build(&b, m, net, info, &mp);
	nn_free(net);
	if (rc == 0) {
		*len = onnx__model_proto__get_packed_size(&mp);
		*out = xmalloc(*len ? *len : 1);
		onnx__model_proto__pack(&mp, *out);
	}
	og_free(&b);
	return rc;
}
