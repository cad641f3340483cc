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

static void
dense_call(struct cgen *g, const struct cl *l)
{
	fprintf(g->f,
	        "\tty_dense(x, y, %d, %d, ty_w%d, ty_b%d);\n\tTY_SWAP();\n",
	        l->ih * l->iw * l->ic, l->oc, l->i, l->i);
}

static void
conv_call(struct cgen *g, const struct cl *l)
{
	fprintf(g->f,
	        "\tty_conv(x, y, %d, %d, %d, %d, %d, %d, %d, %d, %d, ty_w%d, "
	        "ty_b%d);\n\tTY_SWAP();\n",
	        l->ih, l->iw, l->ic, l->oc, l->s->k, l->s->stride, l->s->pad,
	        l->oh, l->ow, l->i, l->i);
}

static void
maxpool_call(struct cgen *g, const struct cl *l)
{
	fprintf(g->f, "\tty_maxpool(x, y, %d, %d, %d);\n\tTY_SWAP();\n", l->ih,
	        l->iw, l->ic);
}

static void
relu_call(struct cgen *g, const struct cl *l)
{
	fprintf(g->f, "\tty_relu(x, %d);\n", l->oh * l->ow * l->oc);
}

static void
sigmoid_call(struct cgen *g, const struct cl *l)
{
	fprintf(g->f, "\tty_sigmoid(x, %d);\n", l->oh * l->ow * l->oc);
}

/* Dropout (identity when predicting), flatten (NHWC is already flat). */
static void
nothing(struct cgen *g, const struct cl *l)
{
	fprintf(g->f, "\t/* %s: nothing to do */\n", nn_kind_name(l->s->kind));
}

static const struct {
	void (*w)(struct cgen *, const struct cl *); /* may be NULL */
	void (*call)(struct cgen *, const struct cl *);
} rows[NN_KIND__MAX] = {
    [NN_DENSE] = {weights, dense_call},  [NN_CONV] = {weights, conv_call},
    [NN_MAXPOOL] = {NULL, maxpool_call}, [NN_RELU] = {NULL, relu_call},
    [NN_SIGMOID] = {NULL, sigmoid_call}, [NN_DROPOUT] = {NULL, nothing},
    [NN_FLATTEN] = {NULL, nothing},
};

static void
layer_at(const nn_net *net, const struct model_meta *mm, int i, struct cl *l)
{
	l->i = i;
	l->s = nn_layer_spec(net, i);
	if (i == 0)
		l->ih = mm->height, l->iw = mm->width, l->ic = mm->channels;
	else
		nn_layer_shape(net, i - 1, &l->ih, &l->iw, &l->ic);
	nn_layer_shape(net, i, &l->oh, &l->ow, &l->oc);
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

static void
header(FILE *f, const model *m, const struct export_info *info, size_t maxact)
{
	const struct model_meta *mm = model_meta(m);
	const nn_net *net = model_net_c(m);
	size_t np = nn_nparams(net);
	size_t ram = 2 * maxact * sizeof(float) +
	             (size_t)mm->width * mm->height * mm->channels + 1024 +
	             64; /* ty_dec, alignment */
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
	fprintf(f, "), %zu weights.\n", np);
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
	    " * resized to %dx%d (box filter when shrinking, Catmull-Rom when\n"
	    " * growing: the same bytes as trainyard's infer worker) and\n"
	    " * normalised as in training. probs gets %d probabilities.\n"
	    " * Returns the most likely class, or -1 for bad arguments.\n"
	    " * Not reentrant: the buffers are static (one call at a time).\n"
	    " *\n"
	    " * Compile: cc -O2 -std=c99 -c model.c; link with -lm.\n"
	    " * Size: the weights are %zu bytes of read-only data, the code\n"
	    " * about %d bytes (x86-64, -O2). RAM: %zu bytes of static\n"
	    " * buffers and about %d bytes of stack.\n"
	    " */\n",
	    mm->channels, mm->width, mm->height, mm->nclasses, 4 * np,
	    C_CODE_BYTES, ram, C_STACK_BYTES);
}

static int
generate(FILE *f, const model *m, const struct export_info *info, char *err,
         size_t errlen)
{
	const struct model_meta *mm = model_meta(m);
	const nn_net *net = model_net_c(m);
	struct cgen g = {.f = f, .net = net, .params = nn_params_c(net)};
	size_t maxact = (size_t)mm->width * mm->height * mm->channels;
	int nl = nn_nlayers(net);

	if (mm->channels != 1 && mm->channels != 3) {
		snprintf(err, errlen, "only gray or RGB models export to C");
		return -1;
	}
	for (int i = 0; i < nl; i++) {
		struct cl l;
		layer_at(net, mm, i, &l);
		if ((unsigned)l.s->kind >= NN_KIND__MAX ||
		    !rows[l.s->kind].call) {
			snprintf(err, errlen,
			         "layer %d (%s) cannot be exported to C yet", i,
			         nn_kind_name(l.s->kind)
			             ? nn_kind_name(l.s->kind)
			             : "?");
			return -1;
		}
		size_t o = (size_t)l.oh * l.ow * l.oc;
		maxact = o > maxact ? o : maxact;
	}
	header(f, m, info, maxact);
	fprintf(f,
	        "#include <math.h>\n#include <stdint.h>\n\n"
	        "#define TY_W %d\n#define TY_H %d\n#define TY_C %d\n"
	        "#define TY_K %d\n#define TY_MAXACT %zu\n\n",
	        mm->width, mm->height, mm->channels, nn_out_size(net), maxact);
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
		layer_at(net, mm, i, &l);
		if (rows[l.s->kind].w)
			rows[l.s->kind].w(&g, &l);
	}
	fputs("\n", f);
	fputs(c_runtime, f);
	fputs("\n#define TY_SWAP() (t = x, x = y, y = t)\n\n"
	      "int\ntrainyard_predict(const uint8_t *pixels, int w, int h, "
	      "int channels,\n                  float *probs)\n{\n"
	      "\tstatic uint8_t px[TY_W * TY_H * TY_C];\n"
	      "\tstatic float A[TY_MAXACT], B[TY_MAXACT];\n"
	      "\tfloat *x = A, *y = B, *t;\n\tint i, best = 0;\n\n"
	      "\t(void)ty_dense, (void)ty_conv, (void)ty_maxpool;\n"
	      "\t(void)ty_relu, (void)ty_sigmoid, (void)ty_softmax;\n"
	      "\tif (!pixels || !probs || w < 1 || h < 1 || channels < 1 ||\n"
	      "\t    channels > 4 || ty_fit(pixels, w, h, channels, px) != 0)\n"
	      "\t\treturn -1;\n"
	      "\tfor (i = 0; i < TY_W * TY_H * TY_C; i++)\n"
	      "\t\tx[i] = px[i] * ty_scale[i % TY_C] + ty_offset[i % TY_C];\n",
	      f);
	for (int i = 0; i < nl; i++) {
		struct cl l;
		layer_at(net, mm, i, &l);
		fprintf(f, "\t/* layer %d: %s -> %dx%dx%d */\n", i,
		        nn_kind_name(l.s->kind), l.oh, l.ow, l.oc);
		rows[l.s->kind].call(&g, &l);
	}
	if (nn_loss_kind(net) == NN_LOSS_XENT)
		fputs("\tty_softmax(x, TY_K);\n", f);
	fputs("\tfor (i = 0; i < TY_K; i++) {\n\t\tprobs[i] = x[i];\n"
	      "\t\tif (x[i] > x[best])\n\t\t\tbest = i;\n\t}\n"
	      "\treturn best;\n}\n",
	      f);
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
	int rc = generate(f, m, info, err, errlen);
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
