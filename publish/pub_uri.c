#include "publish/pub_uri.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define RSYNC	"rsync://"
#define HTTPS	"https://"

static int
badchar(int c)
{
	return c <= 0x20 || c >= 0x7f || strchr("\\\"'<>?#%`{}|^", c) != NULL;
}

/*
 * Checks the part after "rsync://": host, then '/'-separated segments that
 * are neither empty, "." nor "..".  dir says whether it must end in '/'.
 */
static int
check_rsync(const char *what, const char *uri, int dir, struct cm_err *err)
{
	const char	*p, *seg;
	size_t		 len = strlen(uri), nseg = 0;

	if (len > PUB_URI_MAX)
		return cm_err_set(err, CM_EINVAL, NULL,
		    "%s: longer than %d bytes", what, PUB_URI_MAX);
	if (strncmp(uri, RSYNC, strlen(RSYNC)) != 0)
		return cm_err_set(err, CM_EINVAL, NULL,
		    "%s \"%.200s\": must start with rsync://", what, uri);
	for (p = uri; *p != '\0'; p++)
		if (badchar((unsigned char)*p))
			return cm_err_set(err, CM_EINVAL, NULL,
			    "%s: forbidden character 0x%02x at offset %zu",
			    what, (unsigned char)*p, (size_t)(p - uri));
	p = uri + strlen(RSYNC);
	for (seg = p;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		if (*p == '\0' && p == seg && dir && nseg >= 2)
			break;	/* the trailing '/' of a directory */
		if (p == seg || (p - seg == 1 && seg[0] == '.') ||
		    (p - seg == 2 && seg[0] == '.' && seg[1] == '.'))
			return cm_err_set(err, CM_EINVAL, NULL,
			    "%s \"%.200s\": empty, \".\" or \"..\" path segment",
			    what, uri);
		nseg++;
		if (*p == '\0') {
			if (dir)
				return cm_err_set(err, CM_EINVAL, NULL,
				    "%s \"%.200s\": must end with '/'", what,
				    uri);
			break;
		}
		seg = p + 1;
	}
	/* host, module and at least one name below the module */
	if (nseg < (dir ? 2u : 3u))
		return cm_err_set(err, CM_EINVAL, NULL,
		    "%s \"%.200s\": needs host, module and path", what, uri);
	return 0;
}

int
pub_uri_check_object(const char *uri, const char *sia_base,
    struct cm_err *err)
{
	if (check_rsync("object URI", uri, 0, err) == -1)
		return -1;
	if (sia_base != NULL && (strncmp(uri, sia_base, strlen(sia_base)) != 0 ||
	    sia_base[0] == '\0' || sia_base[strlen(sia_base) - 1] != '/'))
		return cm_err_set(err, CM_EPERM, NULL,
		    "object URI \"%.200s\": outside the publisher's sia_base "
		    "%.200s", uri, sia_base);
	return 0;
}

int
pub_uri_check_base(const char *base, struct cm_err *err)
{
	return check_rsync("base URI", base, 1, err);
}

int
pub_uri_check_https(const char *uri, struct cm_err *err)
{
	const char *p;

	if (strlen(uri) > PUB_URI_MAX)
		return cm_err_set(err, CM_EINVAL, NULL,
		    "URI longer than %d bytes", PUB_URI_MAX);
	if (strncmp(uri, HTTPS, strlen(HTTPS)) != 0 ||
	    uri[strlen(HTTPS)] == '/' || uri[strlen(HTTPS)] == '\0')
		return cm_err_set(err, CM_EINVAL, NULL,
		    "URI \"%.200s\": must be https://host/...", uri);
	for (p = uri; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f ||
		    strchr("\\\"'<>`{}|^", *p))
			return cm_err_set(err, CM_EINVAL, NULL,
			    "URI: forbidden character 0x%02x at offset %zu",
			    (unsigned char)*p, (size_t)(p - uri));
	return 0;
}

/* Splits "scheme://authority/..." into scheme, host and port spans. */
static int
origin(const char *u, char *buf, size_t size)
{
	const char	*s = strstr(u, "://"), *a, *e;
	const char	*port = NULL;
	size_t		 hl;

	if (s == NULL)
		return -1;
	a = s + 3;
	e = a + strcspn(a, "/?#");
	if (memchr(a, '@', (size_t)(e - a)) != NULL)
		return -1;	/* userinfo has no place in RRDP URIs */
	hl = (size_t)(e - a);
	if (hl > 0 && *a != '[') {
		const char *c = memchr(a, ':', hl);

		if (c != NULL) {
			port = c + 1;
			hl = (size_t)(c - a);
		}
	} else if (hl > 0) {
		const char *c = memchr(a, ']', hl);

		if (c == NULL)
			return -1;
		if (c + 1 < e && c[1] == ':')
			port = c + 2;
		hl = (size_t)(c + 1 - a);
	}
	if (port == NULL)
		port = strncasecmp(u, "https", 5) == 0 ? "443" :
		    strncasecmp(u, "http", 4) == 0 ? "80" : "873";
	if ((size_t)snprintf(buf, size, "%.*s|%.*s|%.*s", (int)(s - u), u,
	    (int)hl, a, (int)strcspn(port, "/?#"), port) >= size)
		return -1;
	for (char *p = buf; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return 0;
}

int
pub_uri_same_origin(const char *a, const char *b)
{
	char	oa[512], ob[512];

	if (origin(a, oa, sizeof(oa)) == -1 || origin(b, ob, sizeof(ob)) == -1)
		return 0;
	return strcmp(oa, ob) == 0;
}
