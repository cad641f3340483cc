/*
 * view.h — the page templates of views/: loaded and parsed once at start,
 * rendered into the shared layout (views/layout.html) per request.
 */
#ifndef TY_VIEW_H
#define TY_VIEW_H

#include "tmpl.h"
#include "util.h"
#include "web.h"

/* Parses every .html file of dir; -1 with a message on the first bad file. */
int view_load_all(const char *dir, char *err, size_t errlen) TY_WUR;
void view_free_all(void);
/* Renders one view (name without .html) into out; -1 if unknown/too big. */
int view_render(const char *name, const struct td *d, struct wbuf *out) TY_WUR;
/*
 * Renders view inside the layout and sends it with status. The layout
 * gets title, the signed-in user and the CSRF token (for the sign-out
 * form). d (may be NULL) also gets "csrf" and "signup_open", for the
 * view's own forms; the caller still owns and frees d.
 */
void view_page(struct req *r, int status, const char *view, const char *title,
               struct td *d);

/* HTML error page with a link back (href/label may be NULL). */
void view_error_page(struct req *r, int status, const char *msg,
                     const char *back_href, const char *back_label);

#endif
