/* svg.c — inline SVG line charts; see svg.h. */
#include "svg.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Geometry of every chart (viewBox units; the SVG scales to its box). */
enum { W = 560, H = 300, ML = 56, MR = 16, MT = 34, MB = 44 };

static const char *const palette[] = {"#2563eb", "#dc2626", "#16a34a",
                                      "#9333ea", "#ea580c", "#0891b2",
                                      "#ca8a04", "#db2777"};

static const char *
svg_colour(size_t i)
{
	return palette[i % TY_ARRAY_LEN(palette)];
}

size_t
svg_ticks(double lo, double hi, int target, double *ticks, size_t cap)
{
	double range, raw, mag, step, t;
	size_t n = 0;

	if (!isfinite(lo) || !isfinite(hi) || cap < 2)
		return 0;
	if (hi < lo) {
		t = lo, lo = hi, hi = t;
	}
	if (hi - lo < 1e-12) {
		/* One value: a unit-wide window around it. */
		lo -= 0.5, hi += 0.5;
	}
	if (target < 2)
		target = 2;
	range = hi - lo;
	raw = range / target;
	mag = pow(10, floor(log10(raw)));
	step = raw / mag < 1.5   ? mag
	       : raw / mag < 3.5 ? 2 * mag
	       : raw / mag < 7.5 ? 5 * mag
	                         : 10 * mag;
	/* Grow the step until the ticks fit the caller's array. */
	while (floor(hi / step) - ceil(lo / step) + 3 > (double)cap)
		step *= 2;
	for (t = floor(lo / step) * step; n < cap; t += step) {
		ticks[n++] = fabs(t) < step * 1e-9 ? 0 : t;
		if (t >= hi - step * 1e-9)
			break;
	}
	return n;
}

static void
fmt_num(char *out, size_t len, double v)
{
	if (v != 0 && (fabs(v) >= 1e5 || fabs(v) < 1e-3))
		snprintf(out, len, "%.1e", v);
	else
		snprintf(out, len, "%.4g", v);
}

/* wb_* failures are sticky (toobig), so one check at the end suffices. */
#define ADD(...)                                                               \
	do {                                                                   \
		if (wb_printf(out, __VA_ARGS__) < 0) {                         \
		}                                                              \
	} while (0)

static void
text(struct wbuf *out, const char *s)
{
	if (wb_add_html(out, s ? s : "", s ? strlen(s) : 0) < 0)
		return; /* sticky: svg_line_chart reports it */
}

int
svg_line_chart(struct wbuf *out, const struct svg_chart *c)
{
	double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY,
	       ymax = -INFINITY, xt[SVG_TICKS_MAX], yt[SVG_TICKS_MAX];
	size_t nx, ny, npts = 0;
	char a[32];

	for (size_t s = 0; s < c->nseries; s++)
		for (size_t i = 0; i < c->series[s].n; i++) {
			double x = c->series[s].x[i], y = c->series[s].y[i];
			if (!isfinite(x) || !isfinite(y))
				continue;
			xmin = fmin(xmin, x), xmax = fmax(xmax, x);
			ymin = fmin(ymin, y), ymax = fmax(ymax, y);
			npts++;
		}
	ADD("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" "
	    "viewBox=\"0 0 %d %d\" role=\"img\"",
	    W, H);
	if (c->id) {
		ADD(" id=\"");
		text(out, c->id);
		ADD("\"");
	}
	ADD(" aria-label=\"");
	text(out, c->title);
	ADD("\"><title>");
	text(out, c->title);
	ADD("</title><text x=\"%d\" y=\"20\" class=\"chart-title\" "
	    "font-size=\"14\" font-weight=\"600\" fill=\"#111827\">",
	    ML);
	text(out, c->title);
	ADD("</text>");
	if (npts == 0) {
		xmin = 1, xmax = 2, ymin = 0, ymax = 1;
	}
	if (c->y_unit) {
		ymin = 0, ymax = 1;
	} else if (ymin > 0 && ymin < (ymax - ymin)) {
		ymin = 0; /* a loss axis reads better from zero */
	}
	if (xmax - xmin < 1)
		xmax = xmin + 1;
	nx = svg_ticks(xmin, xmax, 6, xt, SVG_TICKS_MAX);
	if (c->x_int && nx >= 2 && xt[1] - xt[0] < 1) {
		/* no epoch 1.5: whole numbers from the first to the last */
		nx = 0;
		for (double x = floor(xmin); nx < SVG_TICKS_MAX; x += 1) {
			xt[nx++] = x;
			if (x >= xmax)
				break;
		}
	}
	ny = svg_ticks(ymin, ymax, 5, yt, SVG_TICKS_MAX);
	if (nx >= 2)
		xmin = xt[0], xmax = xt[nx - 1];
	if (ny >= 2)
		ymin = yt[0], ymax = yt[ny - 1];
	double sx = (W - ML - MR) / (xmax - xmin);
	double sy = (H - MT - MB) / (ymax - ymin);
#define PX(x) (ML + ((x)-xmin) * sx)
#define PY(y) (H - MB - ((y)-ymin) * sy)
	/* grid and tick labels */
	for (size_t i = 0; i < ny; i++) {
		fmt_num(a, sizeof(a), yt[i]);
		ADD("<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" "
		    "stroke=\"#e5e7eb\"/><text x=\"%d\" y=\"%.1f\" "
		    "font-size=\"11\" text-anchor=\"end\" fill=\"#4b5563\">%s"
		    "</text>",
		    ML, W - MR, PY(yt[i]), PY(yt[i]), ML - 6, PY(yt[i]) + 4, a);
	}
	for (size_t i = 0; i < nx; i++) {
		fmt_num(a, sizeof(a), xt[i]);
		ADD("<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" "
		    "stroke=\"#9ca3af\"/><text x=\"%.1f\" y=\"%d\" "
		    "font-size=\"11\" text-anchor=\"middle\" fill=\"#4b5563\">"
		    "%s</text>",
		    PX(xt[i]), PX(xt[i]), H - MB, H - MB + 5, PX(xt[i]),
		    H - MB + 18, a);
	}
	/* axes and their labels */
	ADD("<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"#374151\"/>"
	    "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" "
	    "stroke=\"#374151\"/>",
	    ML, W - MR, H - MB, H - MB, ML, ML, MT, H - MB);
	ADD("<text x=\"%d\" y=\"%d\" font-size=\"12\" text-anchor=\"middle\" "
	    "fill=\"#111827\" class=\"axis-label\">",
	    (ML + W - MR) / 2, H - 8);
	text(out, c->xlabel);
	ADD("</text><text transform=\"translate(14 %d) rotate(-90)\" "
	    "font-size=\"12\" text-anchor=\"middle\" fill=\"#111827\" "
	    "class=\"axis-label\">",
	    (MT + H - MB) / 2);
	text(out, c->ylabel);
	ADD("</text>");
	if (npts == 0)
		ADD("<text x=\"%d\" y=\"%d\" font-size=\"13\" "
		    "text-anchor=\"middle\" fill=\"#6b7280\">no epochs yet"
		    "</text>",
		    (ML + W - MR) / 2, (MT + H - MB) / 2);
	if (c->mark_label && isfinite(c->mark_x) && c->mark_x >= xmin &&
	    c->mark_x <= xmax) {
		ADD("<g class=\"mark\"><line x1=\"%.1f\" x2=\"%.1f\" "
		    "y1=\"%d\" y2=\"%d\" stroke=\"#059669\" "
		    "stroke-width=\"1.5\" stroke-dasharray=\"2 3\"/>"
		    "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" "
		    "text-anchor=\"%s\" fill=\"#047857\">",
		    PX(c->mark_x), PX(c->mark_x), MT, H - MB,
		    PX(c->mark_x) + (PX(c->mark_x) > W / 2 ? -4 : 4),
		    H - MB - 6, PX(c->mark_x) > W / 2 ? "end" : "start");
		text(out, c->mark_label);
		ADD("</text></g>");
	}
	/* series: a polyline and a dot per point, then the legend */
	for (size_t s = 0; s < c->nseries; s++) {
		const struct svg_series *se = &c->series[s];
		ADD("<g class=\"series\" data-series=\"%zu\"><polyline "
		    "fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s "
		    "points=\"",
		    s, svg_colour(s),
		    se->dashed ? " stroke-dasharray=\"5 4\"" : "");
		for (size_t i = 0; i < se->n; i++)
			if (isfinite(se->x[i]) && isfinite(se->y[i]))
				ADD("%.1f,%.1f ", PX(se->x[i]), PY(se->y[i]));
		ADD("\"/>");
		for (size_t i = 0; i < se->n; i++)
			if (isfinite(se->x[i]) && isfinite(se->y[i]))
				ADD("<circle class=\"pt\" cx=\"%.1f\" "
				    "cy=\"%.1f\" r=\"2.5\" fill=\"%s\"/>",
				    PX(se->x[i]), PY(se->y[i]), svg_colour(s));
		ADD("</g>");
		int lx = ML + 8 + (int)(s % 3) * 160;
		int ly = MT + 6 + (int)(s / 3) * 16;
		ADD("<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" "
		    "stroke=\"%s\" "
		    "stroke-width=\"2\"%s/><text x=\"%d\" y=\"%d\" "
		    "font-size=\"11\" fill=\"#111827\">",
		    lx, lx + 18, ly, ly, svg_colour(s),
		    se->dashed ? " stroke-dasharray=\"5 4\"" : "", lx + 22,
		    ly + 4);
		text(out, se->name);
		ADD("</text>");
	}
	ADD("</svg>");
#undef PX
#undef PY
	return out->toobig ? -1 : 0;
}
