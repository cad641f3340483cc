/*
 * recipe.c — default recipes (recipe.h). Gray data (Fashion-MNIST-like)
 * keep the fast CNN of runform.c: 0.91 in ~12 s. Colour pictures get a
 * square input, letterboxed so the aspect is kept and nothing is cut off
 * (docs/preprocess.md, "Square input"), the residual net with
 * batch norm, colour augmentation (the train worker's "colour" preset:
 * random resized crop, flip, rotation, colour jitter), AdamW with a
 * cosine schedule, and early stopping on the validation loss. A health
 * report that warns of class imbalance turns class weights on. Figures:
 * bench/bench_colour.sh.
 */
#include "recipe.h"

#include <stdio.h>
#include <string.h>

/* Bigger pictures than this many pixels a side train at RECIPE_BIG. */
#define RECIPE_SIDE 64
#define RECIPE_BIG 96
#define RECIPE_BIG_MIN_SIDE 192
#define RECIPE_BIG_MIN_IMAGES 5000

/* The residual net with batch norm (the train worker's resnet, its
 * default stage widths 16,32,64), AdamW with a cosine schedule. */
static const struct {
	const char *name;
	double lr;
} colour_net = {"resnet 16-32-64", 0.003};

/* The preprocess worker's warning (prep.c) that class weights answer. */
static int
imbalanced(const cJSON *rep)
{
	const cJSON *w;
	cJSON_ArrayForEach(w, cJSON_GetObjectItemCaseSensitive(rep, "warnings"))
	{
		if (cJSON_IsString(w) &&
		    !strncmp(w->valuestring, "class imbalance", 15))
			return 1;
	}
	return 0;
}

/* n with thousands separators: 1264 -> "1,264". */
static void
thousands(long long n, char *out, size_t len)
{
	char d[32];
	int k = snprintf(d, sizeof(d), "%lld", n < 0 ? 0 : n), o = 0;
	for (int i = 0; i < k && (size_t)o + 2 < len; i++) {
		if (i && (k - i) % 3 == 0)
			out[o++] = ',';
		out[o++] = d[i];
	}
	out[o] = '\0';
}

/* The smaller side of the report's most common size, or 0. */
static int
common_min_side(const cJSON *rep)
{
	const cJSON *it;
	double best = 0;
	int side = 0;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(rep, "sizes"))
	{
		int w, h;
		char tail;
		if (!cJSON_IsNumber(it) || !it->string ||
		    sscanf(it->string, "%dx%d%c", &w, &h, &tail) != 2)
			continue;
		if (it->valuedouble > best)
			best = it->valuedouble, side = w < h ? w : h;
	}
	return side;
}

/* How the run page and the recipe line name a policy. */
static const char *const fit_texts[IMG_FIT__MAX] = {
    [IMG_FIT_STRETCH] = "stretched to the size",
    [IMG_FIT_LETTERBOX] = "letterbox (aspect kept, gray bars)",
    [IMG_FIT_CROP] = "centre crop (aspect kept, edges cut)",
};

const char *
recipe_fit_text(enum img_fit f)
{
	return (unsigned)f < IMG_FIT__MAX ? fit_texts[f] : "?";
}

void
recipe_choose(struct runform *rf, const cJSON *rep)
{
	char imgs[32];
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(rep, "images");
	long long images = cJSON_IsNumber(n) ? (long long)n->valuedouble : 0;
	int classes = cJSON_GetArraySize(
	    cJSON_GetObjectItemCaseSensitive(rep, "classes"));
	thousands(images, imgs, sizeof(imgs));
	if (!rep)
		return;
	/* imbalance: weigh the loss by class, whatever the data */
	rf->class_weights = imbalanced(rep);
	const char *cw = rf->class_weights ? ", class weights (imbalance)" : "";
	if (rf->channels == 1) {
		snprintf(
		    rf->recipe, sizeof(rf->recipe),
		    "gray, %s images, %d classes → the fast cnn at %d×%d%s",
		    imgs, classes, rf->width, rf->height, cw);
		return;
	}
	/* square inputs; 96 px only when the pictures are large and many
	 * enough to pay for 2.25x the work of 64 */
	int side = RECIPE_SIDE;
	if (common_min_side(rep) >= RECIPE_BIG_MIN_SIDE &&
	    images >= RECIPE_BIG_MIN_IMAGES)
		side = RECIPE_BIG;
	rf->width = rf->height = side;
	rf->fit = IMG_FIT_LETTERBOX;
	rf->arch = ARCH_RESNET;
	rf->nconv = rf->nhidden = 0;
	rf->optimizer = NN_OPT_ADAMW;
	rf->lr = colour_net.lr;
	rf->lr_schedule = SCHED_COSINE;
	rf->augment = 1;
	rf->early_stopping = 1;
	snprintf(rf->recipe, sizeof(rf->recipe),
	         "colour, %s images, %d classes → %s at %d×%d, augmentation "
	         "on (crop, flip, rotation, colour jitter), AdamW + cosine, "
	         "%s%s",
	         imgs, classes, colour_net.name, side, side,
	         recipe_fit_text(rf->fit), cw);
}

void
recipe_note_changes(struct runform *rf, const struct runform *want)
{
	if (!rf->recipe[0])
		return;
	if (rf->arch != want->arch || rf->optimizer != want->optimizer ||
	    rf->lr_schedule != want->lr_schedule ||
	    rf->class_weights != want->class_weights ||
	    rf->width != want->width || rf->height != want->height ||
	    rf->fit != want->fit || rf->augment != want->augment ||
	    rf->nconv != want->nconv ||
	    memcmp(rf->conv, want->conv, sizeof(int) * (size_t)rf->nconv)) {
		size_t l = strlen(rf->recipe);
		snprintf(rf->recipe + l, sizeof(rf->recipe) - l,
		         "; then changed in the form");
	}
}
