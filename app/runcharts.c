/* runcharts.c — charts of runs; see runcharts.h. */
#include "runcharts.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "svg.h"

#define RUNCHARTS_MAX_EPOCHS 1000

/* x = epoch and y = field of every entry; returns the count. */
static size_t
column(const cJSON *eps, const char *field, double *x, double *y)
{
	const cJSON *e;
	size_t n = 0;

	cJSON_ArrayForEach(e, eps)
	{
		const cJSON *ep = cJSON_GetObjectItemCaseSensitive(e, "epoch");
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, field);
		if (n >= RUNCHARTS_MAX_EPOCHS)
			break;
		x[n] = cJSON_IsNumber(ep) ? ep->valuedouble : (double)(n + 1);
		y[n] = cJSON_IsNumber(v) ? v->valuedouble : NAN;
		n++;
	}
	return n;
}

int
runcharts_run(struct wbuf *out, const char *epochs_json, int kept_epoch)
{
	static const char *const fields[4] = {"train_loss", "val_loss",
	                                      "train_acc", "val_acc"};
	cJSON *eps = cJSON_Parse(epochs_json ? epochs_json : "[]");
	double *x = xcalloc(4 * RUNCHARTS_MAX_EPOCHS, sizeof(double));
	double *y = xcalloc(4 * RUNCHARTS_MAX_EPOCHS, sizeof(double));
	struct svg_series s[4];
	int rc = 0;

	for (int i = 0; i < 4; i++) {
		double *xi = x + i * RUNCHARTS_MAX_EPOCHS;
		double *yi = y + i * RUNCHARTS_MAX_EPOCHS;
		s[i].name = i % 2 ? "validation" : "train";
		s[i].n =
		    cJSON_IsArray(eps) ? column(eps, fields[i], xi, yi) : 0;
		s[i].x = xi, s[i].y = yi;
		s[i].dashed = i % 2 == 0;
	}
	struct svg_chart loss = {"Loss", "epoch", "cross-entropy loss", s,
	                         2,      0,       "chart-loss",         1,
	                         0,      NULL};
	struct svg_chart acc = {"Accuracy",  "epoch", "accuracy", s + 2, 2, 1,
	                        "chart-acc", 1,       0,          NULL};
	char mark[48];
	if (kept_epoch > 0) {
		snprintf(mark, sizeof(mark), "model: epoch %d", kept_epoch);
		loss.mark_x = acc.mark_x = kept_epoch;
		loss.mark_label = acc.mark_label = mark;
	}
	if (svg_line_chart(out, &loss) < 0 || svg_line_chart(out, &acc) < 0)
		rc = -1;
	cJSON_Delete(eps);
	free(x);
	free(y);
	return rc;
}

int
runcharts_compare_field(struct wbuf *out, const char *const *names,
                        const char *const *epochs_json, size_t n,
                        const char *field, const char *title,
                        const char *ylabel, const char *id, int y_unit)
{
	struct svg_series *s = xcalloc(n ? n : 1, sizeof(*s));
	double *buf =
	    xcalloc(2 * (n ? n : 1) * RUNCHARTS_MAX_EPOCHS, sizeof(double));
	int rc;

	for (size_t i = 0; i < n; i++) {
		cJSON *eps = cJSON_Parse(epochs_json[i] ? epochs_json[i] : "");
		double *x = buf + 2 * i * RUNCHARTS_MAX_EPOCHS;
		double *y = x + RUNCHARTS_MAX_EPOCHS;
		s[i].name = names[i];
		s[i].x = x, s[i].y = y;
		s[i].n = cJSON_IsArray(eps) ? column(eps, field, x, y) : 0;
		cJSON_Delete(eps);
	}
	struct svg_chart c = {title,  "epoch", ylabel, s, n,
	                      y_unit, id,      1,      0, NULL};
	rc = svg_line_chart(out, &c);
	free(s);
	free(buf);
	return rc;
}

int
runcharts_compare(struct wbuf *out, const char *const *names,
                  const char *const *epochs_json, size_t n)
{
	return runcharts_compare_field(
	    out, names, epochs_json, n, "val_acc", "Validation accuracy by run",
	    "validation accuracy", "chart-compare", 1);
}
