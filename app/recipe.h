/*
 * recipe.h — the default recipe of a run, chosen from the dataset's
 * health report (docs/pipeline.md "Default recipes"), and the sentence
 * that says which and why ("colour, 1,264 images, 4 classes → resnet
 * 16-32-64 at 64×64, augmentation on ..."), shown on the run page.
 */
#ifndef TY_RECIPE_H
#define TY_RECIPE_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "runform.h"

/* Over runform_defaults' choices for rep (may be NULL): the colour
 * recipe for colour data, the fast CNN for gray; rf->recipe says so. */
void recipe_choose(struct runform *rf, const cJSON *rep);

/* After the form's fields: notes in rf->recipe what the form changed of
 * the recipe chosen for it (want: the defaults before parsing). */
void recipe_note_changes(struct runform *rf, const struct runform *want);

/* A policy for a person ("letterbox: aspect kept, gray bars"). */
const char *recipe_fit_text(enum img_fit f);

#endif
