/*
 * svg.h — server-rendered line charts as inline SVG: axes with "nice"
 * ticks, axis labels, a legend, one polyline per series. Every piece of
 * text goes through the HTML escaper; numbers are printed by us. Colours
 * are presentation attributes (the CSP forbids inline style).
 */
#ifndef TY_SVG_H
#define TY_SVG_H

#include <stddef.h>

#include "util.h"
#include "wb.h"

#define SVG_TICKS_MAX 12

struct svg_series {
	const char *name;    /* legend text */
	const double *x, *y; /* n points; non-finite ones are skipped */
	size_t n;
	int dashed; /* e.g. the training curve beside validation */
};

struct svg_chart {
	const char *title; /* aria-label and heading inside the chart */
	const char *xlabel, *ylabel;
	const struct svg_series *series;
	size_t nseries;
	int y_unit;     /* 1: y is a fraction, axis from 0 to 1 */
	const char *id; /* element id (may be NULL) */
	int x_int;      /* x counts things (epochs): whole ticks */
	/* a vertical marker at x = mark_x (e.g. the epoch whose weights
	 * the model kept) labelled mark_label; none when mark_label is
	 * NULL */
	double mark_x;
	const char *mark_label;
};

/*
 * Up to cap tick values covering [lo, hi] with a step of 1, 2 or 5 times
 * a power of ten; returns how many were written (at least 2 when lo < hi).
 */
size_t svg_ticks(double lo, double hi, int target, double *ticks, size_t cap);

/* Appends the chart to out; -1 when out reached its maximum. */
int svg_line_chart(struct wbuf *out, const struct svg_chart *c) TY_WUR;

#endif
