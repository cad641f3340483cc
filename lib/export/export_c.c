/*
 * export_c.c — a model as one self-contained C99 file; see export.h.
 *
 * The file is: a header comment (the contract), the sizes as macros, the
 * class names, the normalisation and the weights as static const float
 * arrays ("%.9g": every float round-trips exactly), the runtime
 * (c_runtime.inc, the same text in every export: pixel conversion, the
 * stb-exact resize, one kernel per layer kind), and trainyard_predict,
 * whose body is one line per layer from the table below.
 *
 * Class names come from a user's folder names: in C strings every byte
 * outside printable ASCII, and '"', '\\' and '?' (trigraphs), is an
 * octal escape; in the comment they are made harmless (c_comment_text).
 */
#include "export.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static const char c_runtime[] =
#include "c_runtime.h"
    ;

/* Bytes of machine code of the runtime and trainyard_predict (x86-64,
 * gcc 12 -O2, measured with size(1) on exports; the test checks the
 * claim), for the header's size estimate. */
#define C_CODE_BYTES 5000
/* Stack of ty_fit: the taps arrays, TY_MAXTAPS 512. */
#define C_STACK_BYTES 8500

struct cgen {
	FILE *f;
	const nn_net *net;
	const float *params;
	int nw; /* weight arrays written */
};

static void
c_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\' &&
		    *p != '?')
			fputc(*p, f);
		else
			fprintf(f, "\\%03o", *p);
	fputc('"', f);
}

/* Text for the header comment: no comment delimiters, no trigraph or
 * line splice ('*', '/', '?', '\\' and control bytes become '_'); the
 * exact names are in trainyard_classes. UTF-8 stays readable. */
static void
c_comment_text(FILE *f, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		fputc((*p < 0x20 || *p == 0x7f || strchr("*/?\\", *p)) ? '_'
		                                                       : *p,
		      f);
}

static void
c_floats(FILE *f, const char *name, const float *v, size_t n)
{
	fprintf(f, "static const float %s[%zu] = {", name, n ? n : 1);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%.9g%s", i % 8 ? " " : "\n\t", (double)v[i],
		        i + 1 < n ? "," : "");
	if (!n)
		fputs("0", f);
	fputs("\n};\n", f);
}

/* ---- one row per layer kind: its weights, then its line in predict ---- */
struct cl {
	int i;
	const struct nn_spec *s;
	int ih, iw, ic; /* input shape */
	int oh, ow, oc; /* output shape */
	const char *x;  /* the input's buffer */
	const char *x2; /* NN_ADD: the other summand's */
	const char *y;  /* the output's (== x: in place) */
};

static void
weights(struct cgen *g, const struct cl *l)
{
	size_t woff, wn, boff, bn;
	char name[32];
	nn_layer_params(g->net, l->i, &woff, &wn, &boff, &bn);
	snprintf(name, sizeof(name), "ty_w%d", l->i);
	c_floats(g->f, name, g->params + woff, wn);
	snprintf(name, sizeof(name), "ty_b%d", l->i);
	c_floats(g->f, name, g->params + boff, bn);
}

/* BN that did not fold: its scale and shift, as the engine computes
 * them when predicting. */
static void
bn_w(struct cgen *g, const struct cl *l)
{
	size_t woff, wn, boff, bn, soff, sn;
	int C = l->oc;
	char name[32];
	nn_layer_params(g->net, l->i, &woff, &wn, &boff, &bn);
	nn_layer_state(g->net, l->i, &soff, &sn);
	const float *ga = g->params + boff, *be = ga + C,
	            *rm = g->params + soff, *rv = rm + C;
	float *sc = xmalloc(2 * (size_t)C * sizeof(float)), *sh = sc + C;
	for (int c = 0; c < C; c++) {
		sc[c] = ga[c] / sqrtf(rv[c] + NN_BN_EPS);
		sh[c] = be[c] - rm[c] * sc[c];
	}
	snprintf(name, sizeof(name), "ty_w%d", l->i);
	c_floats(g->f, name, sc, (size_t)C);
	snprintf(name, sizeof(name), "ty_b%d", l->i);
	c_floats(g->f, name, sh, (size_t)C);
	free(sc);
}

static void
dense_call(struct cgen *g, const struct cl *l)
{
	fprintf(g->f, "	ty_dense(%s, %s, %d, %d, ty_w%d, ty_b%d);\n", l->x,
	        l->y, l->ih * l->iw * l->ic, l->oc, l->i, l->i);
}

static void
conv_call(struct cgen *g, const struct cl *l)
{
	fprintf(g->f,
	        "	ty_conv(%s, %s, %d, %d, %d, %d, %d, %d, %d, %d, %d, "
	        "ty_w%d, ty_b%d);\n",
	        l->x, l->y, l->ih, l->iw, l->ic, l->oc, l->s->k, l->s->stride,
	        l->s->pad, l->oh, l->ow, l->i, l->i);
}

static void
maxpool_call(struct cgen *g, const struct cl *l)
{
	fprintf(g->f, "	ty_maxpool(%s, %s, %d, %d, %d);\n", l->x, l->y, l->ih,
	        l->iw, l->ic);
}

static void
gap_call(struct cgen *g, const struct cl *l)
{
	fprintf(g->f, "	ty_gap(%s, %s, %d, %d);\n", l->x, l->y, l->ih * l->iw,
	        l->ic);
}

static void
add_call(struct cgen *g, const struct cl *l)
{
	fprintf(g->f, "	ty_add(%s, %s, %s, %d);\n", l->x, l->x2, l->y,
	        l->oh * l->ow * l->oc);
}

static void
lstm_call(struct cgen *g, const struct cl *l)
{
	int F = l->iw * l->ic, H = l->oc;
	fprintf(g->f,
	        "	ty_lstm(%s, %s, %d, %d, %d, %d, ty_w%d, ty_w%d + %ld, "
	        "ty_b%d);\n",
	        l->x, l->y, l->ih, F, H, l->s->seq, l->i, l->i, (long)F * 4 * H,
	        l->i);
}

/* Elementwise: in place when the input dies here, else on a copy. */
static void
pointwise(struct cgen *g, const struct cl *l, const char *fn)
{
	int n = l->oh * l->ow * l->oc;
	if (strcmp(l->x, l->y) != 0)
		fprintf(g->f, "	ty_copy(%s, %s, %d);\n", l->x, l->y, n);
	if (fn)
		fprintf(g->f, "	%s(%s, %d);\n", fn, l->y, n);
}

static void
relu_call(struct cgen *g, const struct cl *l)
{
	pointwise(g, l, "ty_relu");
}

static void
sigmoid_call(struct cgen *g, const struct cl *l)
{
	pointwise(g, l, "ty_sigmoid");
}

static void
bn_call(struct cgen *g, const struct cl *l)
{
	int n = l->oh * l->ow * l->oc;
	fprintf(g->f, "	ty_bn(%s, %s, %d, %d, ty_w%d, ty_b%d);\n", l->x, l->y,
	        n / l->oc, l->oc, l->i, l->i);
}

/* Dropout (identity when predicting), flatten (NHWC is already flat). */
static void
nothing(struct cgen *g, const struct cl *l)
{
	pointwise(g, l, NULL);
}

static const struct {
	void (*w)(struct cgen *, const struct cl *); /* may be NULL */
	void (*call)(struct cgen *, const struct cl *);
	int inplace; /* may write its output over its input */
} rows[NN_KIND__MAX] = {
    [NN_DENSE] = {weights, dense_call, 0},  [NN_CONV] = {weights, conv_call, 0},
    [NN_MAXPOOL] = {NULL, maxpool_call, 0}, [NN_RELU] = {NULL, relu_call, 1},
    [NN_SIGMOID] = {NULL, sigmoid_call, 1}, [NN_DROPOUT] = {NULL, nothing, 1},
    [NN_FLATTEN] = {NULL, nothing, 1},      [NN_GAP] = {NULL, gap_call, 0},
    [NN_BN] = {bn_w, bn_call, 1},           [NN_ADD] = {NULL, add_call, 1},
    [NN_LSTM] = {weights, lstm_call, 0},
};

/*
 * Buffers: the net's input and each layer's output get one of nslots
 * static arrays of TY_MAXACT floats, reused once every reader of the
 * value has run (layers read the previous output or an earlier one).
 */
struct plan {
	int nl, nslots;
	int *slot; /* [-1 .. nl-1] */
	char (*name)[16];
};

static void
plan_make(const nn_net *net, struct plan *p)
{
	int nl = nn_nlayers(net), *last = xcalloc((size_t)nl + 1, sizeof(int));
	int *busy = xcalloc((size_t)nl + 2, sizeof(int)); /* slot -> in use */
	p->nl = nl;
	p->slot = (int *)xcalloc((size_t)nl + 1, sizeof(int)) + 1;
	p->name = xcalloc((size_t)nl + 1, sizeof(*p->name));
	last++; /* last[-1 .. nl-1]: the last layer reading the value */
	for (int i = 0; i < nl; i++) {
		int a, b;
		nn_layer_inputs(net, i, &a, &b);
		last[a] = i;
		if (b >= 0)
			last[b] = i;
	}
	last[nl - 1] = nl; /* the answer */
	p->slot[-1] = 0, busy[0] = 1, p->nslots = 1;
	for (int i = 0; i < nl; i++) {
		int a, b, s = -1;
		nn_layer_inputs(net, i, &a, &b);
		if (rows[nn_layer_spec(net, i)->kind].inplace && last[a] == i)
			s = p->slot[a];
		for (int k = 0; s < 0; k++)
			if (!busy[k])
				s = k;
		busy[s] = 1;
		p->slot[i] = s;
		p->nslots = s + 1 > p->nslots ? s + 1 : p->nslots;
		if (last[a] == i && p->slot[a] != s)
			busy[p->slot[a]] = 0;
		if (b >= 0 && last[b] == i && p->slot[b] != s)
			busy[p->slot[b]] = 0;
	}
	for (int i = -1; i < nl; i++)
		snprintf(p->name[i + 1], sizeof(p->name[0]), "ty_s%d",
		         p->slot[i]);
	free(last - 1);
	free(busy);
}

static const char *
plan_buf(const struct plan *p, int i)
{
	return p->name[i + 1];
}

static void
plan_free(struct plan *p)
{
	free(p->slot - 1);
	free(p->name);
}

static void
layer_at(const nn_net *net, const struct model_meta *mm, const struct plan *p,
         int i, struct cl *l)
{
	int a, b;
	nn_layer_inputs(net, i, &a, &b);
	l->i = i;
	l->s = nn_layer_spec(net, i);
	if (a < 0)
		l->ih = mm->height, l->iw = mm->width, l->ic = mm->channels;
	else
		nn_layer_shape(net, a, &l->ih, &l->iw, &l->ic);
	nn_layer_shape(net, i, &l->oh, &l->ow, &l->oc);
	l->x = plan_buf(p, a);
	l->x2 = b >= 0 ? plan_buf(p, b) : NULL;
	l->y = plan_buf(p, i);
}

/* The architecture's name: the caller's, else the training parameters'. */
static const char *
arch_of(const model *m, const struct export_info *info)
{
	const cJSON *t =
	    cJSON_GetObjectItemCaseSensitive(model_header(m), "train");
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(t, "model"), "arch");
	if (info && info->arch && *info->arch)
		return info->arch;
	return cJSON_IsString(a) ? a->valuestring : "?";
}

/* What the file's static buffers take, in bytes (the header says it,
 * the test checks it against size(1)). */
struct sizes {
	size_t maxact, scratch, ram;
};

static void
header(FILE *f, const model *m, const nn_net *net,
       const struct export_info *info, const struct sizes *z)
{
	const struct model_meta *mm = model_meta(m);
	size_t np = 0;
	for (int i = 0; i < nn_nlayers(net); i++) {
		size_t woff, wn, boff, bn;
		nn_layer_params(net, i, &woff, &wn, &boff, &bn);
		np += wn + bn;
	}
	fputs("/*\n * trainyard model exported as one C99 file", f);
	if (info && info->name) {
		fputs(": ", f);
		c_comment_text(f, info->name);
	}
	fputs(".\n *\n * Architecture: ", f);
	c_comment_text(f, arch_of(m, info));
	fputs(" (", f);
	for (int i = 0; i < nn_nlayers(net); i++)
		fprintf(f, "%s%s", i ? " " : "",
		        nn_kind_name(nn_layer_spec(net, i)->kind));
	fprintf(f, "), %zu weights (batch norms folded in).\n", np);
	if (info && info->accuracy >= 0)
		fprintf(f, " * Validation accuracy: %.2f%%.\n",
		        100 * info->accuracy);
	fprintf(f, " * Classes (%d, trainyard_classes[i] is class i):\n",
	        mm->nclasses);
	for (int i = 0; i < mm->nclasses; i++) {
		fprintf(f, " *   %d  ", i);
		c_comment_text(f, mm->classes[i]);
		fputs("\n", f);
	}
	fprintf(
	    f,
	    " *\n"
	    " * int trainyard_predict(const uint8_t *pixels, int w, int h,\n"
	    " *                       int channels, float *probs);\n"
	    " * pixels: w x h decoded pixels, row by row, channels (1 gray, 2\n"
	    " * gray+alpha, 3 RGB, 4 RGBA) bytes each. They are converted to\n"
	    " * %d channel(s) (alpha over white, gray = ITU-R 601 luma),\n"
	    " * fitted to %dx%d by %s (box filter when shrinking,\n"
	    " * Catmull-Rom when growing: the same bytes as trainyard's\n"
	    " * infer worker) and\n"
	    " * normalised as in training. probs gets %d probabilities.\n"
	    " * Returns the most likely class, or -1 for bad arguments.\n"
	    " * Not reentrant: the buffers are static (one call at a time).\n"
	    " *\n"
	    " * Compile: cc -O2 -std=c99 -c model.c; link with -lm.\n"
	    " * Size: the weights are %zu bytes of read-only data, the code\n"
	    " * about %d bytes (x86-64, -O2). RAM: %zu bytes of static\n"
	    " * buffers and about %d bytes of stack.\n"
	    " */\n",
	    mm->channels, mm->width, mm->height, export_fit_text(mm->fit),
	    mm->nclasses, 4 * np, C_CODE_BYTES, z->ram, C_STACK_BYTES);
}

static int
generate(FILE *f, const model *m, const nn_net *net,
         const struct export_info *info, char *err, size_t errlen)
{
	const struct model_meta *mm = model_meta(m);
	struct cgen g = {.f = f, .net = net, .params = nn_params_c(net)};
	struct sizes z = {.maxact =
	                      (size_t)mm->width * mm->height * mm->channels,
	                  .scratch = 1};
	struct plan p;
	int nl = nn_nlayers(net);

	if (mm->channels != 1 && mm->channels != 3) {
		snprintf(err, errlen, "only gray or RGB models export to C");
		return -1;
	}
	for (int i = 0; i < nl; i++) {
		const struct nn_spec *s = nn_layer_spec(net, i);
		int oh, ow, oc;
		if ((unsigned)s->kind >= NN_KIND__MAX || !rows[s->kind].call) {
			snprintf(err, errlen,
			         "layer %d (%s) cannot be exported to C yet", i,
			         nn_kind_name(s->kind) ? nn_kind_name(s->kind)
			                               : "?");
			return -1;
		}
		nn_layer_shape(net, i, &oh, &ow, &oc);
		size_t o = (size_t)oh * ow * oc;
		z.maxact = o > z.maxact ? o : z.maxact;
		if (s->kind == NN_LSTM && 6 * (size_t)oc > z.scratch)
			z.scratch = 6 * (size_t)oc;
	}
	plan_make(net, &p);
	z.ram = (size_t)p.nslots * z.maxact * sizeof(float) +
	        z.scratch * sizeof(float) +
	        (size_t)mm->width * mm->height * mm->channels + 1024 +
	        64; /* ty_dec, alignment */
	header(f, m, net, info, &z);
	fprintf(f,
	        "#include <math.h>\n#include <stdint.h>\n\n"
	        "#define TY_W %d\n#define TY_H %d\n#define TY_C %d\n"
	        "#define TY_K %d\n#define TY_MAXACT %zu\n"
	        "#define TY_SCRATCH %zu\n#define TY_FIT %d\n"
	        "#define TY_PAD %d\n\n",
	        mm->width, mm->height, mm->channels, nn_out_size(net), z.maxact,
	        z.scratch, (int)mm->fit, IMG_PAD);
	fputs("int trainyard_predict(const uint8_t *pixels, int w, int h, "
	      "int channels,\n                      float *probs);\n",
	      f);
	fprintf(f, "extern const char *const trainyard_classes[%d];\n",
	        mm->nclasses);
	fprintf(f, "const char *const trainyard_classes[%d] = {", mm->nclasses);
	for (int i = 0; i < mm->nclasses; i++) {
		fputs(i ? ",\n\t" : "\n\t", f);
		c_string(f, mm->classes[i]);
	}
	fputs("\n};\n\n", f);
	float sc[MODEL_MAX_CHANNELS], off[MODEL_MAX_CHANNELS];
	for (int i = 0; i < mm->channels; i++) { /* model_normalize_u8's */
		sc[i] = 1.0f / (255.0f * mm->std[i]);
		off[i] = -mm->mean[i] / mm->std[i];
	}
	c_floats(f, "ty_scale", sc, (size_t)mm->channels);
	c_floats(f, "ty_offset", off, (size_t)mm->channels);
	for (int i = 0; i < nl; i++) {
		struct cl l;
		layer_at(net, mm, &p, i, &l);
		if (rows[l.s->kind].w)
			rows[l.s->kind].w(&g, &l);
	}
	fputs("\n", f);
	fputs(c_runtime, f);
	fputs("\n/* the activations: buffers shared by values that are never "
	      "needed at once */\n",
	      f);
	for (int k = 0; k < p.nslots; k++)
		fprintf(f, "static float ty_s%d[TY_MAXACT];\n", k);
	fputs("\nint\ntrainyard_predict(const uint8_t *pixels, int w, int h, "
	      "int channels,\n                  float *probs)\n{\n"
	      "\tstatic uint8_t px[TY_W * TY_H * TY_C];\n"
	      "\tint i, best = 0;\n\n"
	      "\tTY_USED();\n"
	      "\tif (!pixels || !probs || w < 1 || h < 1 || channels < 1 ||\n"
	      "\t    channels > 4 || ty_fit(pixels, w, h, channels, px) != 0)\n"
	      "\t\treturn -1;\n",
	      f);
	fprintf(f,
	        "\tfor (i = 0; i < TY_W * TY_H * TY_C; i++)\n"
	        "\t\t%s[i] = px[i] * ty_scale[i %% TY_C] + "
	        "ty_offset[i %% TY_C];\n",
	        plan_buf(&p, -1));
	for (int i = 0; i < nl; i++) {
		struct cl l;
		layer_at(net, mm, &p, i, &l);
		fprintf(f, "\t/* layer %d: %s -> %dx%dx%d */\n", i,
		        nn_kind_name(l.s->kind), l.oh, l.ow, l.oc);
		rows[l.s->kind].call(&g, &l);
	}
	const char *y = plan_buf(&p, nl - 1);
	if (nn_loss_kind(net) == NN_LOSS_XENT)
		fprintf(f, "\tty_softmax(%s, TY_K);\n", y);
	fprintf(f,
	        "\tfor (i = 0; i < TY_K; i++) {\n\t\tprobs[i] = %s[i];\n"
	        "\t\tif (%s[i] > %s[best])\n\t\t\tbest = i;\n\t}\n"
	        "\treturn best;\n}\n",
	        y, y, y);
	plan_free(&p);
	return 0;
}

int
export_c(const model *m, const struct export_info *info, uint8_t **out,
         size_t *len, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	if (!f) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* batch norms folded into their conv or dense, as inference does */
	nn_net *net = nn_fold_bn(model_net_c(m), err, errlen);
	int rc = net ? generate(f, m, net, info, err, errlen) : -1;
	nn_free(net);
	if (fclose(f) != 0 && rc == 0) {
		snprintf(err, errlen, "out of memory");
		rc = -1;
	}
	if (rc != 0) {
		free(buf);
		return -1;
	}
	*out = (uint8_t *)buf;
	*len = n;
	return 0;
}
