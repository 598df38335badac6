/*
 * ca_off: the files an offline parent (a trust anchor kept off the
 * network) and its child exchange (docs/offline-ta.md).
 *
 * A request file carries the child's RFC 6492 messages (each a complete
 * CMS signed with the child's BPKI identity); a response file carries the
 * parent's replies in the same order and every object of the parent's
 * publication points, which the child's side publishes for it.  The
 * container is JSON:
 *
 *   { "type": "cairn-offline-request" | "cairn-offline-response",
 *     "version": 1, "parent": HANDLE, "child": HANDLE | null,
 *     "created": "YYYY-MM-DDTHH:MM:SSZ",
 *     "messages": [ BASE64, ... ],
 *     "objects": [ { "uri": "rsync://...", "der": BASE64 }, ... ] }
 *
 * "objects" only in a response; "child" is null only in a response that
 * answers no request (a refresh of the publication points).  The container
 * itself is not signed: the messages are, and the objects are checked
 * against the parent's certificate like a relying party would.
 */
#ifndef CA_OFFLINE_H
#define CA_OFFLINE_H

#include <stddef.h>
#include <stdint.h>

#include "common/cm_err.h"

#define CA_OFF_FILE_MAX		(256 * 1024 * 1024)
#define CA_OFF_MSG_MAX		16		/* messages per file */
#define CA_OFF_MSG_BYTES	(1024 * 1024)	/* one CMS message */
#define CA_OFF_OBJ_MAX		200000		/* objects per response */
#define CA_OFF_OBJ_BYTES	(4 * 1024 * 1024) /* one object */
#define CA_OFF_URI_MAX		1024
#define CA_OFF_HANDLE_MAX	255

enum ca_off_kind {
	CA_OFF_REQUEST,
	CA_OFF_RESPONSE
};

struct ca_off_blob {
	uint8_t	*der;
	size_t	 len;
};

struct ca_off_obj {
	char	*uri;
	uint8_t	*der;
	size_t	 len;
};

struct ca_off {
	enum ca_off_kind	 kind;
	char			*parent;
	char			*child;		/* NULL: a refresh response */
	int64_t			 created;	/* seconds since the epoch */
	struct ca_off_blob	*msgs;		/* messages or replies */
	size_t			 nmsgs;
	struct ca_off_obj	*objs;		/* a response's objects */
	size_t			 nobjs;
};

/*
 * Returns 1 when s is a valid RFC 8183 handle ([-_A-Za-z0-9/]{1,255}),
 * else 0.
 */
int	ca_off_handle_ok(const char *s);

/*
 * Writes f as JSON into *out (NUL-terminated, malloc'd; *len without the
 * NUL).  The caller fills f; nothing is taken.  Returns 0 or -1.
 */
int	ca_off_write(const struct ca_off *f, char **out, size_t *len,
	    struct cm_err *err);

/*
 * Parses text strictly as a file of kind want: only the keys above, each
 * of its type, version 1, valid handles, at most CA_OFF_MSG_MAX messages
 * (a request has at least one), URIs rsync:// with a valid file name and
 * unique, base64 that decodes to a non-empty value within the limits.  fn
 * names the file in err.  *out is new (ca_off_free()).  Returns 0 or -1
 * (CM_EINVAL naming fn and the field).
 */
int	ca_off_parse(const char *fn, const uint8_t *text, size_t len,
	    enum ca_off_kind want, struct ca_off **out, struct cm_err *err);

/* Frees f and everything in it; NULL is ok. */
void	ca_off_free(struct ca_off *f);

#endif
