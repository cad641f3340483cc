/*
 * dups.h — identical and near-identical images inside a dataset (dups.c):
 * fingerprints per decoded image, groups, the report, and the split rule
 * that keeps a group on one side of train/validation.
 */
#ifndef TY_DUPS_H
#define TY_DUPS_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "img.h"
#include "prep.h"

#define DUPS_NONE UINT32_MAX /* s->group of an image without copies */

/* Exact fingerprint and 64-bit difference hash of w x h x c pixels. */
void dups_hash(const uint8_t *px, int w, int h, int c, uint64_t *exact,
               uint64_t *dhash);
/* s->group[] and the counts, from s->hash/s->dhash (after the scan). */
void dups_find(struct prep_scan *s);
/* {"groups", "exact_groups", "images", "cross_class_groups", "list":
 * [{"kind", "count", "files", "classes"}]} for the health report. */
cJSON *dups_report(const struct prep_scan *s);
/* Moves every image of a group to the side of its first image. */
void split_keep_groups(const uint32_t *group, size_t n, uint32_t *train,
                       size_t *ntrain, uint32_t *val, size_t *nval);

#endif
