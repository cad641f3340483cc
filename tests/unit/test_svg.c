/* Unit tests of the SVG charts (app/svg.c, app/runcharts.c): nice ticks,
 * escaping of every text, non-finite points, empty charts, the buffer
 * maximum, and the run charts from epochs JSON. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../th.h"
#include "runcharts.h"
#include "svg.h"

static size_t
count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static const struct {
	double lo, hi;
	double first, last, step;
} tick_rows[] = {
    {0, 1, 0, 1, 0.2}, {1, 10, 0, 10, 2},     {0.31, 0.94, 0.3, 1.0, 0.1},
    {1, 4, 1, 4, 0.5}, {0, 2.3, 0, 2.5, 0.5}, {5, 5, 4.4, 5.6, 0.2},
    {-3, 7, -4, 8, 2},
};

int
main(void)
{
	double t[SVG_TICKS_MAX];
	struct wbuf b;
	char name[96];

	for (size_t i = 0; i < TY_ARRAY_LEN(tick_rows); i++) {
		snprintf(name, sizeof(name), "ticks %g..%g", tick_rows[i].lo,
		         tick_rows[i].hi);
		TH_TEST(name)
		{
			size_t n = svg_ticks(tick_rows[i].lo, tick_rows[i].hi,
			                     5, t, SVG_TICKS_MAX);
			CHECK(n >= 2);
			CHECK(fabs(t[0] - tick_rows[i].first) < 1e-9);
			CHECK(fabs(t[n - 1] - tick_rows[i].last) < 1e-9);
			CHECK(fabs(t[1] - t[0] - tick_rows[i].step) < 1e-9);
			CHECK(t[0] <= tick_rows[i].lo &&
			      t[n - 1] >= tick_rows[i].hi);
		}
	}

	TH_TEST("ticks: bounded by the array, refuse non-finite")
	{
		CHECK(svg_ticks(0, 1e9, 50, t, 4) <= 4);
		CHECK(svg_ticks(NAN, 1, 5, t, SVG_TICKS_MAX) == 0);
		CHECK(svg_ticks(0, INFINITY, 5, t, SVG_TICKS_MAX) == 0);
		CHECK(svg_ticks(0, 1, 5, t, 1) == 0);
	}

	TH_TEST("chart: text is escaped, points drawn, NaN skipped")
	{
		double x[] = {1, 2, 3, 4}, y[] = {0.5, NAN, 0.7, 0.9};
		struct svg_series s = {"<script>alert(1)</script>", x, y, 4, 0};
		struct svg_chart c = {"a \"title\" & more",
		                      "epoch'",
		                      "<y>",
		                      &s,
		                      1,
		                      1,
		                      "id\"x",
		                      0,
		                      0,
		                      NULL};
		wb_init(&b, 1 << 20);
		CHECK(svg_line_chart(&b, &c) == 0);
		CHECK(strstr(b.data, "<script>") == NULL);
		CHECK(strstr(b.data, "&lt;script&gt;") != NULL);
		CHECK(strstr(b.data, "a &quot;title&quot; &amp; more"));
		CHECK(strstr(b.data, "id=\"id&quot;x\""));
		CHECK(strstr(b.data, "epoch&#39;") ||
		      strstr(b.data, "epoch&#x27;") ||
		      strstr(b.data, "epoch&apos;"));
		CHECK(count(b.data, "<circle") == 3);
		CHECK(strstr(b.data, "nan") == NULL &&
		      strstr(b.data, "inf") == NULL);
		CHECK(strncmp(b.data, "<svg", 4) == 0);
		CHECK(strcmp(b.data + b.len - 6, "</svg>") == 0);
		wb_free(&b);
	}

	TH_TEST("chart: whole-number x ticks for epochs")
	{
		double x[] = {1, 2}, y[] = {0.5, 0.6};
		struct svg_series s = {"v", x, y, 2, 0};
		struct svg_chart c = {"t", "epoch", "y", &s, 1,
		                      1,   NULL,    1,   0,  NULL};
		wb_init(&b, 1 << 20);
		CHECK(svg_line_chart(&b, &c) == 0);
		CHECK(strstr(b.data, ">1.5<") == NULL);
		CHECK(strstr(b.data, ">1.2<") == NULL);
		CHECK(strstr(b.data,
		             "text-anchor=\"middle\" fill=\"#4b5563\">1<"));
		CHECK(strstr(b.data,
		             "text-anchor=\"middle\" fill=\"#4b5563\">2<"));
		wb_free(&b);
	}

	TH_TEST("chart: empty says so")
	{
		struct svg_chart c = {"Loss", "epoch", "loss", NULL, 0,
		                      0,      NULL,    0,      0,    NULL};
		wb_init(&b, 1 << 20);
		CHECK(svg_line_chart(&b, &c) == 0);
		CHECK(strstr(b.data, "no epochs yet") != NULL);
		wb_free(&b);
	}

	TH_TEST("chart: the buffer maximum is honoured")
	{
		double x[200], y[200];
		for (int i = 0; i < 200; i++)
			x[i] = i, y[i] = 1.0 / (i + 1);
		struct svg_series s = {"s", x, y, 200, 1};
		struct svg_chart c = {"t", "x",  "y", &s, 1,
		                      0,   NULL, 0,   0,  NULL};
		wb_init(&b, 1000);
		CHECK(svg_line_chart(&b, &c) == -1);
		CHECK(b.len <= 1000);
		wb_free(&b);
	}

	TH_TEST("run charts: loss and accuracy, train and validation")
	{
		wb_init(&b, 1 << 20);
		CHECK(runcharts_run(
		          &b,
		          "[{\"epoch\":1,\"train_loss\":0.9,"
		          "\"val_loss\":0.8,\"train_acc\":0.6,\"val_acc\":0.7},"
		          "{\"epoch\":2,\"train_loss\":0.5,\"val_loss\":0.6,"
		          "\"train_acc\":0.8,\"val_acc\":0.82}]",
		          0) == 0);
		CHECK(count(b.data, "<svg") == 2);
		CHECK(strstr(b.data, "id=\"chart-loss\""));
		CHECK(strstr(b.data, "id=\"chart-acc\""));
		CHECK(count(b.data, "<circle") == 8);
		CHECK(count(b.data, "stroke-dasharray") >= 2);
		wb_free(&b);
	}

	TH_TEST("run charts: the model's epoch is marked on both charts")
	{
		const char *eps = "[{\"epoch\":1,\"val_loss\":0.8,"
		                  "\"val_acc\":0.7},{\"epoch\":2,\"val_loss\":"
		                  "0.6,\"val_acc\":0.8},{\"epoch\":3,"
		                  "\"val_loss\":0.7,\"val_acc\":0.85}]";
		wb_init(&b, 1 << 20);
		CHECK(runcharts_run(&b, eps, 2) == 0);
		CHECK(count(b.data, "class=\"mark\"") == 2);
		CHECK(count(b.data, "model: epoch 2") == 2);
		wb_free(&b);
		wb_init(&b, 1 << 20);
		CHECK(runcharts_run(&b, eps, 0) == 0);
		CHECK(strstr(b.data, "class=\"mark\"") == NULL);
		wb_free(&b);
	}

	TH_TEST("run charts: hostile epochs JSON is harmless")
	{
		static const char *const bad[] = {
		    NULL,
		    "",
		    "[",
		    "{}",
		    "[1,2]",
		    "[{\"epoch\":\"x\",\"val_acc\":\"<b>\"}]",
		    "[{\"val_acc\":1e308,\"val_loss\":-1e308}]"};
		for (size_t i = 0; i < TY_ARRAY_LEN(bad); i++) {
			wb_init(&b, 1 << 20);
			CHECK(runcharts_run(&b, bad[i], 3) == 0);
			CHECK(strstr(b.data, "<b>") == NULL);
			wb_free(&b);
		}
	}

	TH_TEST("compare chart: one curve per run, legend escaped")
	{
		const char *names[] = {"run #1", "<i>run</i>"};
		const char *eps[] = {
		    "[{\"epoch\":1,\"val_acc\":0.5}]",
		    "[{\"epoch\":1,\"val_acc\":0.6},{\"epoch\":2,"
		    "\"val_acc\":0.7}]"};
		wb_init(&b, 1 << 20);
		CHECK(runcharts_compare(&b, names, eps, 2) == 0);
		CHECK(count(b.data, "<polyline") == 2);
		CHECK(count(b.data, "<circle") == 3);
		CHECK(strstr(b.data, "<i>") == NULL);
		wb_free(&b);
	}
	return th_done();
}
