/*
 * sweep.h — sweeps (issue 17): the run form with a list for some
 * parameters ("lr=0.001,0.003", "arch=cnn,resnet") stands for one run per
 * combination. sweep_expand turns such a form into one form per
 * combination; page_runs_start validates every one and creates the runs
 * together, grouped as a sweep (table sweeps, runs.sweep_id). The
 * pipeline then spreads them over the train replicas like any runs.
 */
#ifndef TY_SWEEP_H
#define TY_SWEEP_H

#include <stddef.h>

#include "form.h"
#include "util.h"

#define SWEEP_MAX 8 /* runs one sweep may make (the compare page's limit) */

/* The fields that may hold a list. */
extern const char *const sweep_fields[];
extern const size_t sweep_nfields;
/* Non-zero when field name may hold a list. */
int sweep_is_field(const char *name);

/*
 * The combinations of f's lists: fills out[0..k-1] (free each with
 * form_free) and returns k, 1 when f has no list (out[0] is a copy). 0
 * with err when there are more than max combinations or a list has an
 * empty item. spec (may be NULL) gets the lists as "lr=0.001,0.003
 * arch=cnn,mlp".
 */
size_t sweep_expand(const struct form *f, struct form *out, size_t max,
                    char *spec, size_t speclen, char *err,
                    size_t errlen) TY_WUR;

/* "lr=0.003, arch=mlp": what combination out[i] of f is. */
void sweep_label(const struct form *f, const struct form *combo, char *out,
                 size_t outlen);

struct db;
struct runrow;

/* The runs of sweep sid in project pid (at most max, in id order) into
 * v (free each with runrow_free); their number, or -1 when there is no
 * such sweep. spec gets its lists. */
int sweep_runs(struct db *db, long long sid, long long pid, struct runrow *v,
               size_t max, char *spec, size_t speclen) TY_WUR;

/* The index of the best of v (the finished run whose model has the
 * highest validation accuracy, then the lowest loss), -1 when none has a
 * model yet. */
int sweep_best(const struct runrow *v, size_t n);

#endif
