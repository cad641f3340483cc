/*
 * data.c — a run's data on the data volume: the memory-mapped train.tyd
 * and val.tyd, meta.json's classes and normalisation, and the table that
 * turns a stored pixel into the network's input. One loader for the
 * single-worker loop (train.c) and every federated replica (fed*.c), so
 * both feed the network exactly the floats inference will.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svc.h"
#include "train.h"

static int
read_meta(struct train_data *d, const char *dir, char *err, size_t errlen)
{
	char *path = xasprintf("%s/meta.json", dir);
	size_t len;
	char *s = util_read_file(path, 1 << 24, &len);
	if (!s) {
		snprintf(err, errlen, "cannot read %s: %s", path,
		         strerror(errno));
		free(path);
		return -1;
	}
	free(path);
	cJSON *j = cJSON_Parse(s);
	free(s);
	int rc = -1;
	const cJSON *cl = cJSON_GetObjectItemCaseSensitive(j, "classes");
	int k = cJSON_IsArray(cl) ? cJSON_GetArraySize(cl) : 0;
	if (k < 1 || k > 65535) {
		snprintf(err, errlen, "meta.json: classes missing");
		goto out;
	}
	d->mm.nclasses = k;
	d->mm.classes = xcalloc((size_t)k, sizeof(char *));
	int i = 0;
	for (const cJSON *e = cl->child; e; e = e->next, i++) {
		/* names, or objects with a name (and counts) */
		const cJSON *n =
		    cJSON_IsObject(e)
		        ? cJSON_GetObjectItemCaseSensitive(e, "name")
		        : e;
		d->mm.classes[i] =
		    xstrdup(cJSON_IsString(n) ? n->valuestring : "?");
	}
	/* the policy preprocess fitted the pictures with, for the model */
	const cJSON *fit = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(j, "image"), "fit");
	int f =
	    fit ? img_fit_parse(cJSON_GetStringValue(fit)) : IMG_FIT_STRETCH;
	if (f < 0) {
		snprintf(err, errlen,
		         "meta.json: image.fit must be %s, %s or %s",
		         img_fit_names[0], img_fit_names[1], img_fit_names[2]);
		goto out;
	}
	d->mm.fit = (enum img_fit)f;
	const cJSON *mean = cJSON_GetObjectItemCaseSensitive(j, "mean");
	const cJSON *sd = cJSON_GetObjectItemCaseSensitive(j, "std");
	for (int c = 0; c < MODEL_MAX_CHANNELS; c++) {
		const cJSON *a = cJSON_GetArrayItem(mean, c);
		const cJSON *b = cJSON_GetArrayItem(sd, c);
		d->mm.mean[c] = cJSON_IsNumber(a) ? (float)a->valuedouble : 0;
		d->mm.std[c] = cJSON_IsNumber(b) && b->valuedouble > 1e-6
		                   ? (float)b->valuedouble
		                   : 1;
	}
	rc = 0;
out:
	cJSON_Delete(j);
	return rc;
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define DATA_SIMD                                                              \
	__attribute__((target_clones("avx512f", "avx2", "default"),            \
	               optimize("O3")))
#else
#define DATA_SIMD
#endif

/* x[j] = px[j] * sc + off over [e0, e1): 8-16 pixels an instruction
 * where the table takes one (the table's loop was 6 % of the 2-thread
 * MLP's samples, this one 3 %; -O2 does not vectorise it). */
DATA_SIMD static void
affine_u8(float *restrict x, const uint8_t *restrict px, size_t e0, size_t e1,
          float sc, float off)
{
	for (size_t j = e0; j < e1; j++)
		x[j] = (float)px[j] * sc + off;
}

int
train_data_open(struct train_data *d, const char *data_dir, const char *rel,
                char *err, size_t errlen)
{
	char why[200];
	memset(d, 0, sizeof(*d));
	char *dir = svc_volume_path(data_dir, rel, why, sizeof(why));
	if (!dir) {
		snprintf(err, errlen, "data: %s", why);
		return -1;
	}
	int rc = -1;
	char *tp = xasprintf("%s/train.tyd", dir);
	char *vp = xasprintf("%s/val.tyd", dir);
	if (read_meta(d, dir, err, errlen))
		goto out;
	if (tensor_open(tp, &d->tr, why, sizeof(why))) {
		snprintf(err, errlen, "train.tyd: %s", why);
		goto out;
	}
	d->have_tr = 1;
	if (tensor_open(vp, &d->va, why, sizeof(why))) {
		snprintf(err, errlen, "val.tyd: %s", why);
		goto out;
	}
	d->have_va = 1;
	const struct tensor *a = &d->tr, *b = &d->va;
	if (a->count < 1) {
		snprintf(err, errlen, "the training split is empty");
		goto out;
	}
	if (a->height != b->height || a->width != b->width ||
	    a->channels != b->channels || a->channels > MODEL_MAX_CHANNELS ||
	    a->classes > (uint32_t)d->mm.nclasses ||
	    b->classes > (uint32_t)d->mm.nclasses) {
		snprintf(err, errlen,
		         "train.tyd, val.tyd and meta.json "
		         "disagree on the image shape or classes");
		goto out;
	}
	d->mm.width = (int)a->width;
	d->mm.height = (int)a->height;
	d->mm.channels = (int)a->channels;
	/* the very floats model_normalize_u8 gives at inference */
	for (int v = 0; v < 256; v++) {
		uint8_t px[MODEL_MAX_CHANNELS];
		float out[MODEL_MAX_CHANNELS];
		struct model_meta one = d->mm;
		one.width = one.height = 1;
		memset(px, v, sizeof(px));
		model_normalize_u8(&one, px, 1, out);
		for (int c = 0; c < d->mm.channels; c++)
			d->lut[c][v] = out[c];
	}
	d->affine = 1;
	for (int c = 0; c < d->mm.channels; c++) {
		d->sc[c] = 1.0f / (255.0f * d->mm.std[c]);
		d->off[c] = -d->mm.mean[c] / d->mm.std[c];
		/* the loop as it will run gives the table's very floats */
		uint8_t v[256];
		float x[256];
		for (int j = 0; j < 256; j++)
			v[j] = (uint8_t)j;
		affine_u8(x, v, 0, 256, d->sc[c], d->off[c]);
		d->affine &= memcmp(x, d->lut[c], sizeof(x)) == 0;
	}
	rc = 0;
out:
	free(tp);
	free(vp);
	free(dir);
	if (rc)
		train_data_close(d);
	return rc;
}

void
train_data_close(struct train_data *d)
{
	if (d->have_tr)
		tensor_close(&d->tr);
	if (d->have_va)
		tensor_close(&d->va);
	model_meta_free(&d->mm);
	memset(d, 0, sizeof(*d));
}

void
train_make_rows(const struct train_data *d, const struct tensor *t,
                const uint32_t *idx, int n, const struct train_aug *aug,
                float *x, uint16_t *lab, size_t e0, size_t e1)
{
	int H = (int)t->height, W = (int)t->width, C = (int)t->channels;
	size_t isz = t->image_bytes;
	for (int b = 0; b < n; b++, x += isz) {
		const uint8_t *px = t->pixels + (size_t)idx[b] * isz;
		if (lab)
			lab[b] = t->labels[idx[b]];
		if (aug && aug[b].colour) {
			train_aug_row(d, t, px, &aug[b], x, e0, e1);
			continue;
		}
		int dx = aug ? aug[b].dx : 0, dy = aug ? aug[b].dy : 0;
		int f = aug ? aug[b].flip : 0;
		if (!dx && !dy && !f) {
			if (C == 1 && d->affine) {
				affine_u8(x, px, e0, e1, d->sc[0], d->off[0]);
			} else if (C == 1) {
				const float *lut = d->lut[0];
				for (size_t j = e0; j < e1; j++)
					x[j] = lut[px[j]];
			} else {
				for (size_t j = e0; j < e1; j++)
					x[j] = d->lut[j % (size_t)C][px[j]];
			}
			continue;
		}
		/* pixel by pixel from the one holding element e0 */
		size_t pix = e0 / (size_t)C;
		int y = (int)(pix / (size_t)W), xx = (int)(pix % (size_t)W);
		for (size_t j = pix * (size_t)C; j < e1; j += (size_t)C) {
			int sy = y - dy, sx = (f ? W - 1 - xx : xx) - dx;
			int out = sy < 0 || sy >= H || sx < 0 || sx >= W;
			const uint8_t *q =
			    out ? NULL : px + ((size_t)sy * W + sx) * C;
			for (int c = 0; c < C; c++)
				if (j + c >= e0 && j + c < e1)
					x[j + c] = d->lut[c][out ? 0 : q[c]];
			if (++xx == W)
				xx = 0, y++;
		}
	}
}

static void
batch_rows(void *arg, int lo, int n, float *x, uint16_t *lab, size_t e0,
           size_t e1)
{
	const struct train_batch *b = arg;
	train_make_rows(b->d, b->t, b->idx + lo, n, b->aug ? b->aug + lo : NULL,
	                x, lab, e0, e1);
}

static uint16_t
batch_label(void *arg, int i)
{
	const struct train_batch *b = arg;
	return b->t->labels[b->idx[i]];
}

/* The next batch's images are random rows of a large tensor: asking for
 * them now overlaps their misses with this step's work. */
static void
batch_prefetch(void *arg, size_t e0, size_t e1)
{
	const struct train_batch *b = arg;
	size_t isz = b->t->image_bytes;
	for (int i = 0; i < b->next_n; i++) {
		const uint8_t *px = b->t->pixels + (size_t)b->next[i] * isz;
		for (size_t j = e0 & ~(size_t)63; j < e1; j += 64)
			__builtin_prefetch(px + j);
	}
}

void
train_batch_init(struct train_batch *b, const struct train_data *d)
{
	memset(b, 0, sizeof(*b));
	b->d = d;
	b->src =
	    (struct nn_batch_src){b, batch_rows, batch_label, batch_prefetch};
}

void
train_evaluate(nn_batch *nb, const struct train_data *d, const struct tensor *t,
               int batch, uint32_t *cm, double *loss, double *acc,
               struct train_top *top)
{
	int k = d->mm.nclasses;
	uint32_t *idx = xmalloc(sizeof(uint32_t) * (size_t)batch);
	float *p = top ? xmalloc(sizeof(float) * (size_t)batch * k) : NULL;
	struct train_batch tb;
	train_batch_init(&tb, d);
	tb.t = t;
	tb.idx = idx;
	double lsum = 0;
	uint64_t ok = 0;
	memset(cm, 0, sizeof(uint32_t) * (size_t)k * (size_t)k);
	for (uint32_t i = 0; i < t->count; i += (uint32_t)batch) {
		int n = (int)(t->count - i < (uint32_t)batch ? t->count - i
		                                             : (uint32_t)batch);
		for (int b = 0; b < n; b++)
			idx[b] = i + (uint32_t)b;
		int correct;
		lsum += nn_batch_eval(nb, &tb.src, n, cm, k, &correct, p);
		ok += (uint64_t)correct;
		if (top)
			train_top_rows(p, n, k, top + i);
	}
	*loss = t->count ? lsum / t->count : 0;
	*acc = t->count ? (double)ok / t->count : 0;
	free(idx);
	free(p);
}

/*
 * Inverse class frequency of the training split, scaled so that the
 * weights average 1 over its images (the loss keeps its scale): w_c =
 * N / (k n_c). A class with no training image gets weight 1.
 */
static float *
class_weights(const struct train_data *d)
{
	int k = d->mm.nclasses;
	float *w = xmalloc(sizeof(float) * (size_t)k);
	uint64_t *cnt = xcalloc((size_t)k, sizeof(uint64_t));
	for (uint32_t i = 0; d->have_tr && i < d->tr.count; i++)
		if (d->tr.labels[i] < k)
			cnt[d->tr.labels[i]]++;
	for (int c = 0; c < k; c++)
		w[c] = cnt[c] ? (float)((double)d->tr.count /
		                        ((double)k * (double)cnt[c]))
		              : 1.0f;
	free(cnt);
	return w;
}

nn_net *
train_net_new(const struct train_params *p, const struct train_data *d,
              char *err, size_t errlen)
{
	struct nn_spec specs[TRAIN_MAX_LAYERS];
	int ns = train_arch_specs(p, d->mm.nclasses, specs, TRAIN_MAX_LAYERS,
	                          err, errlen);
	if (ns < 0)
		return NULL;
	char why[160];
	nn_net *net = nn_new(d->mm.height, d->mm.width, d->mm.channels, specs,
	                     ns, NN_LOSS_XENT, why, sizeof(why));
	if (!net) {
		snprintf(err, errlen, "model does not fit %dx%dx%d images: %s",
		         d->mm.width, d->mm.height, d->mm.channels, why);
		return NULL;
	}
	/* All-dense nets start as PyTorch's nn.Linear does: on the
	 * preprocess worker's standardised inputs He's wider spread cost
	 * the bench MLP (SGD 0.1/0.9) 2 pp over 20 seeds, in both engines
	 * (docs/engine.md, "Initialisation and optimisers"). */
	if (p->arch == ARCH_LINEAR || p->arch == ARCH_MLP)
		nn_set_init(net, NN_INIT_UNIFORM);
	float *w = p->class_weights ? class_weights(d) : NULL;
	nn_set_loss_opts(net, p->label_smoothing, w);
	free(w);
	return net;
}

char *
train_output_dir(const char *models_dir, const char *output, char **ckpt,
                 char *err, size_t errlen)
{
	char why[200];
	char *dir = svc_volume_path(models_dir, output, why, sizeof(why));
	if (!dir) {
		snprintf(err, errlen, "output: %s", why);
		return NULL;
	}
	if (util_mkdirs(dir, 0755)) {
		snprintf(err, errlen, "cannot create %s: %s", dir,
		         strerror(errno));
		free(dir);
		return NULL;
	}
	*ckpt = xasprintf("%s/checkpoint.tym", dir);
	return dir;
}
