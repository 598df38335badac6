/*
 * pub_uri: the URI rules of the publication server.
 *
 * Object URIs come from publishers (RFC 8181) and end up as file names in
 * the rsync tree, so they are held to a narrow, safe form.
 */
#ifndef PUB_URI_H
#define PUB_URI_H

#include <stddef.h>

#include "common/cm_err.h"

/* Longest URI accepted anywhere (RFC 8181 / RFC 8183 schemas). */
#define PUB_URI_MAX	4096

/*
 * Checks that uri is an rsync object URI: "rsync://host/module/path", at
 * most PUB_URI_MAX bytes, printable ASCII without space, backslash, quote,
 * '<', '>', '?', '#' or '%', no empty, "." or ".." segment, not ending in
 * '/'.  With sia_base (which must end in '/'), uri must also lie strictly
 * below it (else CM_EPERM).  Returns 0 or -1 with err naming the rule.
 */
int	pub_uri_check_object(const char *uri, const char *sia_base,
	    struct cm_err *err);

/*
 * Checks that base is an rsync directory URI ("rsync://host/module/...",
 * ending in '/', same character rules).  Returns 0 or -1.
 */
int	pub_uri_check_base(const char *base, struct cm_err *err);

/* Checks that uri is an https:// URI with a host and printable ASCII. */
int	pub_uri_check_https(const char *uri, struct cm_err *err);

/*
 * RFC 9674: true if a and b have the same scheme, host and port (the
 * default port of the scheme counts as given).
 */
int	pub_uri_same_origin(const char *a, const char *b);

#endif
