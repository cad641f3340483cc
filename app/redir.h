/*
 * redir.h — which redirect targets are paths of this app.
 *
 * A Location header (and ?next= of the sign-in page) takes only a path
 * that starts with one "/" and then has nothing but unreserved path
 * characters: letters, digits, "-", ".", "_", "~", "/" (never two in a
 * row), and "?", "=", "&" for a query. Tabs, CR/LF, backslashes, "%"
 * escapes, "//" and "/\" — everything a browser might read as another
 * host — are refused, and the caller falls back to a page of its own.
 */
#ifndef TY_REDIR_H
#define TY_REDIR_H

#define REDIR_MAX 512 /* longest target accepted, in bytes */

/* 1 when s is such a path, else 0 (NULL too). */
int redir_local(const char *s);

#endif
