/*
 * dups.c — copies inside one dataset. Every decoded image gets two
 * fingerprints: an exact one (FNV-1a over its size, channels and pixels:
 * the same picture saved twice, whatever the file) and a perceptual one,
 * the 64-bit difference hash (dHash: the image as 9x8 gray, one bit per
 * pair of neighbours, "is the left one brighter") that stays the same
 * through re-encoding, resizing and small edits. Images with the same
 * dHash form a group (the exact copies are within it).
 *
 * A group split between training and validation lets the model be graded
 * on pictures it learnt (leakage): the report says so, and the split keeps
 * each group on one side (split_keep_groups). A group whose images sit in
 * different class folders is the same picture under two labels.
 */
#include <stdlib.h>
#include <string.h>

#include "dups.h"

#define GROUPS_LISTED 20 /* groups named in the report */
#define FILES_LISTED 5   /* files named per group */

void
dups_hash(const uint8_t *px, int w, int h, int c, uint64_t *exact,
          uint64_t *dhash)
{
	uint64_t x = 1469598103934665603ULL;
	size_t n = (size_t)w * h * c;
	uint8_t small[9 * 8];
	int dims[3] = {w, h, c};
	char err[80];

	for (int i = 0; i < 3; i++) {
		x ^= (uint64_t)dims[i];
		x *= 1099511628211ULL;
	}
	for (size_t i = 0; i < n; i++) {
		x ^= px[i];
		x *= 1099511628211ULL;
	}
	*exact = x;
	*dhash = 0;
	if (img_fit(px, w, h, c, 9, 8, 1, small, err, sizeof err) != IMG_OK)
		return;
	for (int y = 0; y < 8; y++)
		for (int k = 0; k < 8; k++)
			*dhash = *dhash << 1 |
			         (small[y * 9 + k] > small[y * 9 + k + 1]);
}

static const struct prep_scan *sort_s;

static int
by_dhash(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	uint64_t p = sort_s->dhash[x], q = sort_s->dhash[y];

	if (p != q)
		return p < q ? -1 : 1;
	return x < y ? -1 : x > y;
}

void
dups_find(struct prep_scan *s)
{
	uint32_t *order, n = s->count;

	s->group = xmalloc(((size_t)n + 1) * sizeof *s->group);
	for (uint32_t i = 0; i < n; i++)
		s->group[i] = DUPS_NONE;
	if (!s->dhash || n < 2)
		return;
	order = xmalloc((size_t)n * sizeof *order);
	for (uint32_t i = 0; i < n; i++)
		order[i] = i;
	sort_s = s; /* qsort has no context argument; finish() is serial */
	qsort(order, n, sizeof *order, by_dhash);
	for (uint32_t a = 0, b; a < n; a = b) {
		int exact = 1, cross = 0;

		for (b = a + 1;
		     b < n && s->dhash[order[b]] == s->dhash[order[a]]; b++) {
			exact &= s->hash[order[b]] == s->hash[order[a]];
			cross |= s->labels[order[b]] != s->labels[order[a]];
		}
		/* an all-black dHash (0) is any flat image: not a copy */
		if (b - a < 2 || s->dhash[order[a]] == 0)
			continue;
		for (uint32_t k = a; k < b; k++)
			s->group[order[k]] = s->ngroups;
		s->ngroups++;
		s->dup_images += b - a;
		s->exact_groups += exact;
		s->cross_groups += cross;
	}
	free(order);
}

cJSON *
dups_report(const struct prep_scan *s)
{
	cJSON *d = cJSON_CreateObject(), *groups;
	uint32_t listed = 0;

	cJSON_AddNumberToObject(d, "groups", s->ngroups);
	cJSON_AddNumberToObject(d, "exact_groups", s->exact_groups);
	cJSON_AddNumberToObject(d, "images", s->dup_images);
	cJSON_AddNumberToObject(d, "cross_class_groups", s->cross_groups);
	groups = cJSON_AddArrayToObject(d, "list");
	for (uint32_t g = 0; g < s->ngroups && listed < GROUPS_LISTED; g++) {
		cJSON *o = cJSON_CreateObject(), *files, *classes;
		int n = 0, exact = 1;
		uint32_t first = DUPS_NONE;

		files = cJSON_AddArrayToObject(o, "files");
		classes = cJSON_AddArrayToObject(o, "classes");
		for (uint32_t i = 0; i < s->count; i++) {
			if (s->group[i] != g)
				continue;
			if (first == DUPS_NONE)
				first = i;
			exact &= s->hash[i] == s->hash[first];
			if (n++ >= FILES_LISTED)
				continue;
			cJSON_AddItemToArray(
			    files,
			    cJSON_CreateString(s->names ? s->names[i] : ""));
			cJSON_AddItemToArray(
			    classes,
			    cJSON_CreateString(s->classes[s->labels[i]].name));
		}
		cJSON_AddStringToObject(o, "kind",
		                        exact ? "identical" : "near-identical");
		cJSON_AddNumberToObject(o, "count", n);
		cJSON_AddItemToArray(groups, o);
		listed++;
	}
	return d;
}

void
split_keep_groups(const uint32_t *group, size_t n, uint32_t *train,
                  size_t *ntrain, uint32_t *val, size_t *nval)
{
	/* side of each image, then of each group: its first image's */
	uint8_t *side = xcalloc(n + 1, 1);
	uint32_t ngroups = 0;
	uint8_t *gside;
	uint32_t *t2, *v2;
	size_t nt = 0, nv = 0;

	for (size_t i = 0; i < *nval; i++)
		side[val[i]] = 1;
	for (size_t i = 0; i < n; i++)
		if (group[i] != DUPS_NONE && group[i] + 1 > ngroups)
			ngroups = group[i] + 1;
	gside = xmalloc((size_t)ngroups + 1);
	memset(gside, 2, (size_t)ngroups + 1);
	for (size_t i = 0; i < n; i++)
		if (group[i] != DUPS_NONE && gside[group[i]] == 2)
			gside[group[i]] = side[i];
	t2 = xmalloc((n + 1) * sizeof *t2);
	v2 = xmalloc((n + 1) * sizeof *v2);
	/* each list in its order: train's images first, then val's */
	for (int pass = 0; pass < 2; pass++) {
		const uint32_t *from = pass ? val : train;
		size_t nf = pass ? *nval : *ntrain;

		for (size_t i = 0; i < nf; i++) {
			uint32_t x = from[i];
			int to =
			    group[x] == DUPS_NONE ? side[x] : gside[group[x]];

			if (to)
				v2[nv++] = x;
			else
				t2[nt++] = x;
		}
	}
	memcpy(train, t2, nt * sizeof *train);
	memcpy(val, v2, nv * sizeof *val);
	*ntrain = nt;
	*nval = nv;
	free(t2);
	free(v2);
	free(gside);
	free(side);
}
