/* view.c — template registry and page rendering; see view.h. */
#include "view.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VIEW_MAX 64
#define VIEW_FILE_MAX (256 * 1024)
#define VIEW_OUT_MAX (8 * 1024 * 1024)

static struct {
	char name[64];
	struct tmpl *t;
} views[VIEW_MAX];
static size_t nviews;

int
view_load_all(const char *dir, char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d) {
		snprintf(err, errlen, "cannot open views directory %s: %s", dir,
		         strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		char perr[200], *path, *src;
		size_t srclen;

		if (len < 6 || len - 5 >= sizeof(views[0].name) ||
		    strcmp(e->d_name + len - 5, ".html") != 0 ||
		    e->d_name[0] == '.')
			continue;
		if (nviews == VIEW_MAX) {
			snprintf(err, errlen, "more than %d views", VIEW_MAX);
			goto fail;
		}
		path = xasprintf("%s/%s", dir, e->d_name);
		src = util_read_file(path, VIEW_FILE_MAX, &srclen);
		if (!src) {
			snprintf(err, errlen, "cannot read %s: %s", path,
			         strerror(errno));
			free(path);
			goto fail;
		}
		views[nviews].t = tmpl_parse(src, srclen, perr, sizeof(perr));
		free(src);
		if (!views[nviews].t) {
			snprintf(err, errlen, "%s: %s", path, perr);
			free(path);
			goto fail;
		}
		free(path);
		memcpy(views[nviews].name, e->d_name, len - 5);
		views[nviews].name[len - 5] = '\0';
		nviews++;
	}
	closedir(d);
	for (size_t i = 0; i < nviews; i++)
		if (strcmp(views[i].name, "layout") == 0) {
			web_set_error_page(view_error_page);
			return 0;
		}
	snprintf(err, errlen, "%s/layout.html is missing", dir);
	view_free_all();
	return -1;
fail:
	closedir(d);
	view_free_all();
	return -1;
}

void
view_free_all(void)
{
	for (size_t i = 0; i < nviews; i++)
		tmpl_free(views[i].t);
	nviews = 0;
}

static const struct tmpl *
find(const char *name)
{
	for (size_t i = 0; i < nviews; i++)
		if (strcmp(views[i].name, name) == 0)
			return views[i].t;
	return NULL;
}

int
view_render(const char *name, const struct td *d, struct wbuf *out)
{
	const struct tmpl *t = find(name);

	if (!t || !out)
		return -1;
	return tmpl_render(t, d, out);
}

void
view_page(struct req *r, int status, const char *view, const char *title,
          struct td *d)
{
	struct wbuf body, page;
	struct td *lay = td_new();
	char *html;

	wb_init(&body, VIEW_OUT_MAX);
	wb_init(&page, VIEW_OUT_MAX);
	/* Every view may use these, as forms need the token. */
	if (d) {
		td_set(d, "csrf", r->csrf);
		td_set_bool(d, "signup_open", r->w ? r->w->allow_signup : 1);
	}
	if (view_render(view, d, &body) < 0) {
		ty_log("view: cannot render %s", view);
		wb_free(&body);
		td_free(lay);
		web_send(r, 500, "text/plain; charset=utf-8", NULL,
		         "page could not be rendered\n", 27);
		return;
	}
	td_set(lay, "title", title);
	td_set(lay, "csrf", r->csrf);
	if (r->user_id)
		td_set(lay, "username", r->username);
	td_set_bool(lay, "signup_open", r->w ? r->w->allow_signup : 1);
	/* The view's output is HTML we just produced with escaping. */
	td_set_html_UNESCAPED(lay, "body", body.data ? body.data : "");
	wb_free(&body);
	if (view_render("layout", lay, &page) < 0) {
		td_free(lay);
		wb_free(&page);
		web_send(r, 500, "text/plain; charset=utf-8", NULL,
		         "page could not be rendered\n", 27);
		return;
	}
	td_free(lay);
	size_t len;
	html = wb_take(&page, &len);
	web_send(r, status, "text/html; charset=utf-8", NULL, html, len);
	free(html);
}

void
view_error_page(struct req *r, int status, const char *msg,
                const char *back_href, const char *back_label)
{
	struct td *d = td_new();
	char title[64];

	snprintf(title, sizeof(title), "%d %s", status,
	         web_status_text(status));
	td_set_int(d, "status", status);
	td_set(d, "status_text", web_status_text(status));
	td_set(d, "message", msg);
	if (back_href) {
		td_set(d, "back_href", back_href);
		td_set(d, "back_label", back_label ? back_label : "Back");
	}
	view_page(r, status, "error", title, d);
	td_free(d);
}
