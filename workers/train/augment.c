/*
 * augment.c — augmentation in the batch builder (docs/pipeline.md
 * "Augmentation"): what each image gets is drawn by one thread in batch
 * order (train_aug_draw), so a seed gives the same bytes whatever the
 * thread count, and applied while the rows are written (train_make_rows).
 *
 * Two paths: the legacy integer shift + horizontal flip (the gray
 * default; a plain table look-up per pixel), and the colour path, one
 * affine map per image from output pixel to source position — random
 * resized crop (scale, aspect), rotation, flip and shift folded together
 * — sampled bilinearly, then colour jitter (brightness, contrast,
 * saturation, as torchvision's ColorJitter) and cutout. Normalisation is
 * linear (model_normalize_u8: p * sc + off), so it is applied to the
 * interpolated value.
 * Pixels the map takes off the image are black, as with shifts.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "train.h"

/* ---- params ---- */

/* The "colour" preset: what the run form's colour recipe turns on. */
static void
colour_preset(struct train_params *a)
{
	a->hflip = 1, a->shift = 0;
	a->crop = 0.6f, a->rotate = 10, a->jitter = 0.2f, a->cutout = 0;
}

static int
bad(char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "%s", what);
	return -1;
}

/* The colour fields: {name, offset, max}. */
static const struct {
	const char *name;
	size_t off;
	float lo, hi;
	const char *msg;
} fields[] = {
    {"crop", offsetof(struct train_params, crop), 0.1f, 1,
     "augment.crop must be 0 (off) or a smallest scale in 0.1..1"},
    {"rotate", offsetof(struct train_params, rotate), 0, 45,
     "augment.rotate must be 0..45 degrees"},
    {"jitter", offsetof(struct train_params, jitter), 0, 0.5f,
     "augment.jitter must be 0..0.5"},
    {"cutout", offsetof(struct train_params, cutout), 0, 0.5f,
     "augment.cutout must be 0..0.5 (side, a fraction of the image)"},
};

int
train_augment_parse(const cJSON *au, struct train_params *a, char *err,
                    size_t errlen)
{
	a->hflip = a->shift = 0;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		*(float *)((char *)a + fields[i].off) = 0;
	if (!au || cJSON_IsNull(au))
		return 0;
	if (cJSON_IsBool(au)) {
		/* true: the safe default, shifts only (digits must not flip) */
		a->shift = cJSON_IsTrue(au) ? 2 : 0;
		return 0;
	}
	if (cJSON_IsString(au)) {
		if (strcmp(au->valuestring, "colour") &&
		    strcmp(au->valuestring, "color"))
			return bad(err, errlen,
			           "augment must be a bool, \"colour\" or an "
			           "object");
		colour_preset(a);
		return 0;
	}
	if (!cJSON_IsObject(au))
		return bad(err, errlen,
		           "augment must be a bool, \"colour\" or an object");
	const cJSON *hf = cJSON_GetObjectItemCaseSensitive(au, "hflip");
	if (hf && !cJSON_IsBool(hf))
		return bad(err, errlen, "augment.hflip must be a bool");
	a->hflip = cJSON_IsTrue(hf);
	a->shift = 2;
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(au, "shift");
	if (s && !cJSON_IsNull(s)) {
		if (!cJSON_IsNumber(s) || s->valuedouble < 0 ||
		    s->valuedouble > 8 ||
		    s->valuedouble != floor(s->valuedouble))
			return bad(err, errlen, "augment.shift must be 0..8");
		a->shift = (int)s->valuedouble;
	}
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const cJSON *v =
		    cJSON_GetObjectItemCaseSensitive(au, fields[i].name);
		if (!v || cJSON_IsNull(v))
			continue;
		double d = cJSON_GetNumberValue(v);
		if (!cJSON_IsNumber(v) || !isfinite(d) ||
		    (d != 0 && (d < fields[i].lo || d > fields[i].hi)))
			return bad(err, errlen, fields[i].msg);
		*(float *)((char *)a + fields[i].off) = (float)d;
	}
	/* a crop of scale 1 is no crop */
	if (a->crop >= 1)
		a->crop = 0;
	return 0;
}

void
train_augment_json(const struct train_params *a, cJSON *j)
{
	cJSON *au = cJSON_AddObjectToObject(j, "augment");
	cJSON_AddBoolToObject(au, "hflip", a->hflip);
	cJSON_AddNumberToObject(au, "shift", a->shift);
	/* only when on, so the params of runs without them stay as were */
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		float v = *(const float *)((const char *)a + fields[i].off);
		if (v != 0)
			cJSON_AddNumberToObject(au, fields[i].name, v);
	}
}

int
train_augment_colour(const struct train_params *a)
{
	return a->crop > 0 || a->rotate > 0 || a->jitter > 0 || a->cutout > 0;
}

/* ---- drawing ---- */

static float
unif(struct nn_rng *r, float lo, float hi)
{
	return lo + (hi - lo) * nn_rng_uniform(r);
}

/* The affine map of one image: crop, rotation, flip and shift (the
 * derivation is in docs/pipeline.md). */
static void
draw_map(const struct train_params *A, struct nn_rng *rng, int W, int H,
         struct train_aug *a)
{
	float w = (float)W, h = (float)H, x0 = 0, y0 = 0, c = 1, s = 0;
	if (A->crop > 0) {
		/* random resized crop: area scale, log-uniform aspect */
		float sc = unif(rng, A->crop, 1);
		float ar = expf(unif(rng, logf(3.0f / 4), logf(4.0f / 3)));
		w = fminf((float)W * sqrtf(sc * ar), (float)W);
		h = fminf((float)H * sqrtf(sc / ar), (float)H);
		x0 = unif(rng, 0, (float)W - w);
		y0 = unif(rng, 0, (float)H - h);
	}
	if (A->rotate > 0) {
		float th = unif(rng, -A->rotate, A->rotate) * (float)M_PI / 180;
		c = cosf(th), s = sinf(th);
	}
	float f = a->flip ? -1 : 1, kx = w / (float)W, ky = h / (float)H;
	float hw = (float)W / 2 - 0.5f, hh = (float)H / 2 - 0.5f;
	a->m[0] = c * f * kx;
	a->m[1] = -s * ky;
	a->m[2] = -a->m[0] * hw - a->m[1] * hh + x0 + w / 2 - 0.5f - a->dx;
	a->m[3] = s * f * kx;
	a->m[4] = c * ky;
	a->m[5] = -a->m[3] * hw - a->m[4] * hh + y0 + h / 2 - 0.5f - a->dy;
}

void
train_aug_draw(const struct train_params *p, struct nn_rng *rng,
               struct train_aug *aug, int n, int W, int H)
{
	const struct train_params *A = p;
	int s = A->shift, col = train_augment_colour(A);
	for (int b = 0; b < n; b++) {
		struct train_aug *a = &aug[b];
		memset(a, 0, sizeof(*a));
		/* the legacy draws first, in their order: the runs of
		 * earlier versions draw the same */
		if (s) {
			a->dx = (int8_t)((int)nn_rng_below(rng, 2 * s + 1) - s);
			a->dy = (int8_t)((int)nn_rng_below(rng, 2 * s + 1) - s);
		}
		if (A->hflip)
			a->flip = (int8_t)(nn_rng_next(rng) >> 63);
		if (!col)
			continue;
		a->colour = 1;
		draw_map(A, rng, W, H, a);
		a->bright = a->contrast = a->sat = 1;
		if (A->jitter > 0) {
			a->bright = unif(rng, 1 - A->jitter, 1 + A->jitter);
			a->contrast = unif(rng, 1 - A->jitter, 1 + A->jitter);
			a->sat = unif(rng, 1 - A->jitter, 1 + A->jitter);
		}
		if (A->cutout > 0) {
			int cw = (int)lroundf(A->cutout * (float)W);
			int ch = (int)lroundf(A->cutout * (float)H);
			int cx = (int)nn_rng_below(rng, (uint32_t)W);
			int cy = (int)nn_rng_below(rng, (uint32_t)H);
			a->cut[0] =
			    (int16_t)(cx - cw / 2 < 0 ? 0 : cx - cw / 2);
			a->cut[1] =
			    (int16_t)(cy - ch / 2 < 0 ? 0 : cy - ch / 2);
			a->cut[2] = (int16_t)(cx - cw / 2 + cw);
			a->cut[3] = (int16_t)(cy - ch / 2 + ch);
		}
	}
}

/* ---- applying ---- */

/* Luma weights (ITU-R 601, as torchvision's rgb_to_grayscale). */
static float
gray(const float *v, int C)
{
	if (C >= 3)
		return 0.299f * v[0] + 0.587f * v[1] + 0.114f * v[2];
	return v[0];
}

static float
mean_gray(const uint8_t *px, int npix, int C)
{
	double sum = 0;
	float v[MODEL_MAX_CHANNELS];
	for (int i = 0; i < npix; i++, px += C) {
		for (int c = 0; c < C && c < 3; c++)
			v[c] = px[c];
		sum += gray(v, C);
	}
	return npix ? (float)(sum / npix) : 0;
}

void
train_aug_row(const struct train_data *d, const struct tensor *t,
              const uint8_t *px, const struct train_aug *a, float *x, size_t e0,
              size_t e1)
{
	int H = (int)t->height, W = (int)t->width, C = (int)t->channels;
	const float *sc = d->sc, *off = d->off;
	int jit = a->bright != 1 || a->contrast != 1 || a->sat != 1;
	float mg = jit && a->contrast != 1 ? mean_gray(px, W * H, C) : 0;
	mg *= a->bright;
	size_t pix = e0 / (size_t)C;
	int y = (int)(pix / (size_t)W), ox = (int)(pix % (size_t)W);
	for (size_t j = pix * (size_t)C; j < e1; j += (size_t)C) {
		float v[MODEL_MAX_CHANNELS] = {0};
		float sx = a->m[0] * ox + a->m[1] * y + a->m[2];
		float sy = a->m[3] * ox + a->m[4] * y + a->m[5];
		/* within half a pixel of the image: its edge; beyond it,
		 * black */
		int outside = sx < -0.5f || sx > (float)W - 0.5f ||
		              sy < -0.5f || sy > (float)H - 0.5f;
		sx = fminf(fmaxf(sx, 0), (float)(W - 1));
		sy = fminf(fmaxf(sy, 0), (float)(H - 1));
		float fx0 = floorf(sx), fy0 = floorf(sy);
		int x0 = (int)fx0, y0 = (int)fy0;
		float fx = sx - fx0, fy = sy - fy0;
		const float wt[4] = {(1 - fx) * (1 - fy), fx * (1 - fy),
		                     (1 - fx) * fy, fx * fy};
		for (int k = 0; k < 4; k++) {
			int xx = x0 + (k & 1), yy = y0 + (k >> 1);
			if (outside || wt[k] == 0 || xx >= W || yy >= H)
				continue;
			const uint8_t *q = px + ((size_t)yy * W + xx) * C;
			for (int c = 0; c < C; c++)
				v[c] += wt[k] * q[c];
		}
		if (jit) {
			for (int c = 0; c < C; c++)
				v[c] *= a->bright;
			for (int c = 0; c < C && a->contrast != 1; c++)
				v[c] = (v[c] - mg) * a->contrast + mg;
			float g = gray(v, C);
			for (int c = 0; c < C && C >= 3 && c < 3; c++)
				v[c] = g + (v[c] - g) * a->sat;
			for (int c = 0; c < C; c++)
				v[c] = v[c] < 0 ? 0 : v[c] > 255 ? 255 : v[c];
		}
		/* cutout: the normalised mean, 0 */
		int cut = ox >= a->cut[0] && ox < a->cut[2] && y >= a->cut[1] &&
		          y < a->cut[3];
		for (int c = 0; c < C; c++)
			if (j + c >= e0 && j + c < e1)
				x[j + c] = cut ? 0 : v[c] * sc[c] + off[c];
		if (++ox == W)
			ox = 0, y++;
	}
}
