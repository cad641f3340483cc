/*
 * runcharts.h — the run charts built from runs.epochs_json
 * ([{epoch, train_loss, train_acc, val_loss, val_acc, seconds}, ...]):
 * loss and accuracy (train dashed, validation solid) for one run, and
 * validation accuracy of several runs on one chart for comparison.
 */
#ifndef TY_RUNCHARTS_H
#define TY_RUNCHARTS_H

#include <stddef.h>

#include "util.h"
#include "wb.h"

/* Appends both charts of one run, the epoch whose weights the model kept
 * marked (kept_epoch 0: no model yet); -1 when out is full. */
int runcharts_run(struct wbuf *out, const char *epochs_json,
                  int kept_epoch) TY_WUR;
/* One chart of epochs field (e.g. "val_loss") per run, one curve each;
 * y_unit: the axis is 0..1. */
int runcharts_compare_field(struct wbuf *out, const char *const *names,
                            const char *const *epochs_json, size_t n,
                            const char *field, const char *title,
                            const char *ylabel, const char *id,
                            int y_unit) TY_WUR;
/* Appends one chart with the val accuracy curve of each run. */
int runcharts_compare(struct wbuf *out, const char *const *names,
                      const char *const *epochs_json, size_t n) TY_WUR;

#endif
