/*
 * infer.c — decode, batch, classify, thumbnail.
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stb/stb_image_write.h>

#include "img.h"
#include "infer.h"
#include "lane.h"

/* Below this many images per thread, starting threads costs more. */
#define IMAGES_PER_THREAD 8

struct slot {
	int ok;        /* pixels are in the batch */
	char err[256]; /* why not, for a person */
	char *thumb;   /* base64 PNG or NULL */
};

struct work {
	const struct infer_req *r;
	const struct model_meta *mm;
	const struct infer_limits *lim;
	uint8_t *batch; /* nimages rows of W*H*C */
	size_t isz;
	struct slot *slots;
	atomic_size_t next;
	atomic_int gone; /* the client left: decode no more */
};

struct png_buf {
	uint8_t *p;
	size_t len, cap;
};

static void
png_write(void *ctx, void *data, int size)
{
	struct png_buf *b = ctx;

	if (size <= 0)
		return;
	if (b->len + (size_t)size > b->cap) {
		b->cap = (b->len + (size_t)size) * 2;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, data, (size_t)size);
	b->len += (size_t)size;
}

/*
 * Longest side = side px, aspect kept; gray sources stay gray, the rest
 * become RGB with alpha composited onto white as the model saw them.
 */
static char *
thumbnail(const uint8_t *px, const struct img_info *info, int side, char *err,
          size_t errlen)
{
	int sw = info->width, sh = info->height, tc, tw, th;
	struct png_buf b = {0};
	uint8_t *t;
	char *s;

	tc = info->channels <= 2 ? 1 : 3;
	if (sw >= sh) {
		tw = side;
		th = (int)lround((double)sh * side / sw);
	} else {
		th = side;
		tw = (int)lround((double)sw * side / sh);
	}
	tw = tw < 1 ? 1 : tw;
	th = th < 1 ? 1 : th;
	t = xmalloc((size_t)tw * th * tc);
	if (img_fit(px, sw, sh, info->channels, tw, th, tc, t, err, errlen) !=
	    IMG_OK) {
		free(t);
		return NULL;
	}
	if (!stbi_write_png_to_func(png_write, &b, tw, th, tc, t, tw * tc)) {
		free(t);
		free(b.p);
		snprintf(err, errlen, "cannot encode the thumbnail");
		return NULL;
	}
	free(t);
	s = infer_b64_encode(b.p, b.len);
	free(b.p);
	return s;
}

static void
decode_one(struct work *w, size_t i)
{
	const struct infer_image *im = &w->r->images[i];
	struct slot *s = &w->slots[i];
	struct img_limits lim = {.max_pixels = w->lim->max_pixels};
	struct img_info info;
	uint8_t *bytes, *px;
	size_t len;
	char why[200];

	if (infer_b64_decode(im->b64, im->b64len, &bytes, &len, s->err,
	                     sizeof s->err))
		return;
	if (img_decode(bytes, len, &lim, &info, &px, why, sizeof why)) {
		free(bytes);
		snprintf(s->err, sizeof s->err, "%s", why);
		return;
	}
	free(bytes);
	/* the model's own policy: the pixels its training saw (no skew) */
	if (img_fit_as(px, info.width, info.height, info.channels, w->mm->width,
	               w->mm->height, w->mm->channels, w->mm->fit,
	               w->batch + i * w->isz, why, sizeof why) != IMG_OK) {
		img_free(px);
		snprintf(s->err, sizeof s->err, "%s", why);
		return;
	}
	s->ok = 1;
	if (w->r->thumbnail > 0) {
		s->thumb =
		    thumbnail(px, &info, w->r->thumbnail, why, sizeof why);
		/* A label without a picture is still an answer. (The
		 * index, not the caller's name: no control bytes in logs.) */
		if (!s->thumb)
			ty_log("thumbnail of image %zu: %s", i, why);
	}
	img_free(px);
}

static void *
decode_worker(void *arg)
{
	struct work *w = arg;
	size_t i;

	while ((i = atomic_fetch_add(&w->next, 1)) < w->r->nimages) {
		/* A poll per image: nothing next to decoding one. */
		if (atomic_load(&w->gone) || infer_peer_gone(w->r->peer_fd)) {
			atomic_store(&w->gone, 1);
			snprintf(w->slots[i].err, sizeof w->slots[i].err,
			         "the client left");
			continue;
		}
		decode_one(w, i);
	}
	return NULL;
}

static void
decode_all(struct work *w, int threads)
{
	size_t n = w->r->nimages, want = n / IMAGES_PER_THREAD;
	pthread_t tid[64];
	size_t nt = 0;

	if ((size_t)threads < want)
		want = (size_t)threads;
	if (want > TY_ARRAY_LEN(tid))
		want = TY_ARRAY_LEN(tid);
	/* The calling thread is one of the workers. */
	for (; want > 1 && nt < want - 1; nt++)
		if (pthread_create(&tid[nt], NULL, decode_worker, w))
			break;
	decode_worker(w);
	for (size_t i = 0; i < nt; i++)
		pthread_join(tid[i], NULL);
}

/*
 * Work per thread for the network, at least: starting a thread costs
 * ~50 us, so a part should be worth a millisecond or so. It was 32
 * images, measured on the gray CNN (~2 MFLOP an image): 64 MFLOP keeps
 * that; a 64x64 resnet (~100 MFLOP an image) is worth a thread per
 * image, so the two passes of a single image's TTA run side by side.
 */
#define PREDICT_FLOPS_PER_THREAD 64e6

struct part {
	const model *m;
	const uint8_t *px;
	int n, rc;
	float *probs;
};

static void *
predict_part(void *arg)
{
	struct part *p = arg;

	p->rc = model_predict_u8(p->m, p->px, p->n, p->probs);
	return NULL;
}

/*
 * The network over n packed images, split into contiguous parts on up to
 * `threads` threads (the caller's included), each with its own context
 * and single-threaded BLAS: OpenBLAS's own threads spent more time in
 * sched_yield than in the products of a chunk of images.
 */
static int
predict_all(const model *m, const uint8_t *px, size_t isz, size_t n,
            float *probs, int threads)
{
	struct part part[64];
	pthread_t tid[64];
	size_t k = (size_t)model_meta(m)->nclasses, want, nt = 0, lo = 0;
	int rc = 0;

	double fl = nn_flops_per_sample(model_net_c(m));
	want = (size_t)((double)n * fl / PREDICT_FLOPS_PER_THREAD);
	if (want > n)
		want = n;
	if (want > (size_t)threads)
		want = (size_t)threads;
	if (want > TY_ARRAY_LEN(part))
		want = TY_ARRAY_LEN(part);
	if (want < 1)
		want = 1;
	for (size_t i = 0; i < want; i++) {
		size_t hi = n * (i + 1) / want;
		part[i] = (struct part){m, px + lo * isz, (int)(hi - lo), 0,
		                        probs + lo * k};
		lo = hi;
	}
	for (; nt + 1 < want; nt++)
		if (pthread_create(&tid[nt], NULL, predict_part, &part[nt + 1]))
			break;
	/* parts whose thread did not start run here, in order */
	predict_part(&part[0]);
	for (size_t i = nt + 1; i < want; i++)
		predict_part(&part[i]);
	for (size_t i = 0; i < nt; i++)
		pthread_join(tid[i], NULL);
	for (size_t i = 0; i < want; i++)
		rc |= part[i].rc;
	return rc;
}

/*
 * Test-time augmentation: the probabilities of every image averaged with
 * those of its mirror image (left-right), the flip colour training draws.
 * Twice the network's work, as one batch of the images and their mirrors
 * (so a single image's two passes can take a thread each).
 */
static int
predict_tta(const model *m, const uint8_t *px, size_t isz, size_t n,
            float *probs, int threads)
{
	const struct model_meta *mm = model_meta(m);
	size_t k = (size_t)mm->nclasses, c = (size_t)mm->channels;
	size_t w = (size_t)mm->width, h = (size_t)mm->height;
	uint8_t *two = xmalloc(2 * n * isz), *fl = two + n * isz;
	float *p2 = xmalloc(2 * n * k * sizeof *p2);
	int rc;

	memcpy(two, px, n * isz);
	for (size_t i = 0; i < n; i++)
		for (size_t y = 0; y < h; y++) {
			const uint8_t *row = px + i * isz + y * w * c;
			uint8_t *out = fl + i * isz + y * w * c;
			for (size_t x = 0; x < w; x++)
				memcpy(out + x * c, row + (w - 1 - x) * c, c);
		}
	rc = predict_all(m, two, isz, 2 * n, p2, threads);
	for (size_t i = 0; i < n * k; i++)
		probs[i] = 0.5f * (p2[i] + p2[n * k + i]);
	free(p2);
	free(two);
	return rc;
}

int
infer_batch_check(const struct infer_limits *lim, size_t n, int w, int h, int c,
                  char *err, size_t errlen)
{
	uint64_t isz = (uint64_t)w * (uint64_t)h * (uint64_t)c;

	if (isz && n > lim->max_batch / isz) {
		snprintf(
		    err, errlen,
		    "%zu images of %dx%dx%d are over the "
		    "batch limit of %llu MB for this model: send at most %llu "
		    "per request",
		    n, w, h, c, (unsigned long long)(lim->max_batch >> 20),
		    (unsigned long long)(lim->max_batch / isz));
		return 413;
	}
	return 0;
}

void
infer_top_k(const float *probs, int k, int n, int *idx)
{
	for (int j = 0; j < n; j++)
		idx[j] = -1;
	for (int c = 0; c < k; c++) {
		int j = n;

		/* Strictly greater moves up: ties keep the lower class. */
		while (j > 0 &&
		       (idx[j - 1] < 0 || probs[c] > probs[idx[j - 1]]))
			j--;
		if (j == n)
			continue;
		memmove(idx + j + 1, idx + j,
		        (size_t)(n - j - 1) * sizeof *idx);
		idx[j] = c;
	}
}

/* Six decimals are plenty, and keep float noise out of the JSON. */
static double
round6(float p)
{
	return round((double)p * 1e6) / 1e6;
}

static cJSON *
answer(const char *name, const struct model_meta *mm, const float *probs,
       int top_k, struct slot *s)
{
	cJSON *o = cJSON_CreateObject(), *top;
	int idx[INFER_MAX_TOP_K];

	cJSON_AddStringToObject(o, "name", name);
	if (!s->ok) {
		cJSON_AddNullToObject(o, "label");
		cJSON_AddNullToObject(o, "confidence");
		cJSON_AddArrayToObject(o, "top");
		cJSON_AddNullToObject(o, "thumbnail");
		cJSON_AddStringToObject(o, "error", s->err);
		return o;
	}
	if (top_k > mm->nclasses)
		top_k = mm->nclasses;
	infer_top_k(probs, mm->nclasses, top_k, idx);
	cJSON_AddStringToObject(o, "label", mm->classes[idx[0]]);
	cJSON_AddNumberToObject(o, "confidence", round6(probs[idx[0]]));
	top = cJSON_AddArrayToObject(o, "top");
	for (int j = 0; j < top_k; j++) {
		cJSON *e = cJSON_CreateObject();

		cJSON_AddStringToObject(e, "label", mm->classes[idx[j]]);
		cJSON_AddNumberToObject(e, "p", round6(probs[idx[j]]));
		cJSON_AddItemToArray(top, e);
	}
	if (s->thumb) {
		cJSON_AddStringToObject(o, "thumbnail", s->thumb);
	} else {
		cJSON_AddNullToObject(o, "thumbnail");
	}
	cJSON_AddNullToObject(o, "error");
	return o;
}

cJSON *
infer_predict(const struct infer_req *r, const model *m,
              const struct infer_limits *lim, int threads,
              struct infer_tally *t)
{
	const struct model_meta *mm = model_meta(m);
	struct work w = {.r = r, .mm = mm, .lim = lim};
	size_t n = r->nimages, nok = 0;
	cJSON *res, *preds;
	float *probs;

	w.isz = (size_t)mm->width * mm->height * mm->channels;
	w.batch = xmalloc(n * w.isz);
	w.slots = xcalloc(n, sizeof *w.slots);
	atomic_init(&w.next, 0);
	atomic_init(&w.gone, 0);
	decode_all(&w, threads);
	t->gone = atomic_load(&w.gone);
	if (t->gone)
		for (size_t i = 0; i < n; i++)
			w.slots[i].ok = 0;

	/* The good images, packed, are one batch. */
	for (size_t i = 0; i < n; i++) {
		if (!w.slots[i].ok)
			continue;
		if (nok != i)
			memcpy(w.batch + nok * w.isz, w.batch + i * w.isz,
			       w.isz);
		nok++;
	}
	probs = xmalloc((nok ? nok : 1) * (size_t)mm->nclasses * sizeof *probs);
	if (nok &&
	    (r->tta ? predict_tta(m, w.batch, w.isz, nok, probs, threads)
	            : predict_all(m, w.batch, w.isz, nok, probs, threads))) {
		/* The engine does not fail today; if it ever does, say so. */
		for (size_t i = 0; i < n; i++) {
			if (w.slots[i].ok) {
				w.slots[i].ok = 0;
				snprintf(w.slots[i].err, sizeof w.slots[i].err,
				         "the network failed on this batch");
			}
		}
	}

	res = cJSON_CreateObject();
	if (r->tta)
		cJSON_AddBoolToObject(res, "tta", 1);
	preds = cJSON_AddArrayToObject(res, "predictions");
	t->predicted = t->failed = 0;
	for (size_t i = 0, k = 0; i < n; i++) {
		struct slot *s = &w.slots[i];
		int ok = s->ok;

		cJSON_AddItemToArray(
		    preds, answer(r->images[i].name, mm,
		                  ok ? probs + k * (size_t)mm->nclasses : NULL,
		                  r->top_k, s));
		k += ok;
		if (ok)
			t->predicted++;
		else
			t->failed++;
		free(s->thumb);
	}
	free(probs);
	free(w.slots);
	free(w.batch);
	return res;
}
