/*
 * ca_ud: RFC 6492 up-down provisioning messages (the XML inside the CMS
 * wrapper of ca/cms_msg.h).
 *
 * Namespace http://www.apnic.net/specs/rescerts/up-down/, version 1.  The
 * parser is strict: no DTD, the right namespace on every element, the
 * version, a known type, only the elements and attributes the type allows,
 * canonical resource sets (ca/resources.h), base64 that decodes, and the
 * cardinalities of RFC 6492 §3 (an issue_response has exactly one class with
 * exactly one certificate).  Errors name the peer ("who") and the rule, and
 * carry the RFC 6492 status code that the parent should answer with
 * (struct ca_ud_error) where one applies.
 */
#ifndef CA_UPDOWN_H
#define CA_UPDOWN_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/cm_buf.h"
#include "common/cm_err.h"

#define CA_UD_NS	"http://www.apnic.net/specs/rescerts/up-down/"
#define CA_UD_MAX_XML	(16u * 1024 * 1024)

enum ca_ud_type {
	CA_UD_LIST,
	CA_UD_LIST_RESPONSE,
	CA_UD_ISSUE,
	CA_UD_ISSUE_RESPONSE,
	CA_UD_REVOKE,
	CA_UD_REVOKE_RESPONSE,
	CA_UD_ERROR_RESPONSE,
};

/* RFC 6492 §3.6 status codes. */
enum ca_ud_status {
	CA_UD_E_BUSY = 1101,		/* already processing request */
	CA_UD_E_VERSION = 1102,		/* version number error */
	CA_UD_E_TYPE = 1103,		/* unrecognised request type */
	CA_UD_E_SCHEDULED = 1104,	/* request scheduled for processing */
	CA_UD_E_NO_CLASS = 1201,	/* request - no such resource class */
	CA_UD_E_NO_RESOURCES = 1202,	/* request - no resources allocated */
	CA_UD_E_BAD_CSR = 1203,		/* request - badly formed cert request */
	CA_UD_E_KEY_USED = 1204,	/* request - already used key */
	CA_UD_E_REVOKE_NO_CLASS = 1301,	/* revoke - no such resource class */
	CA_UD_E_REVOKE_NO_KEY = 1302,	/* revoke - no such key */
	CA_UD_E_INTERNAL = 2001,	/* internal server error */
};

/* One issued certificate inside a class. */
struct ca_ud_cert {
	char	*cert_url;		/* rsync URI of the issued cert */
	/* req_resource_set_*: NULL when absent ("all entitled") */
	char	*req_as, *req_v4, *req_v6;
	uint8_t	*der;			/* the certificate */
	size_t	 der_len;
};

/* One resource class of a list_response or issue_response. */
struct ca_ud_class {
	char			*class_name;
	char			*cert_url;	/* parent's cert (one or more, comma-separated) */
	char			*res_as, *res_v4, *res_v6;	/* canonical text, "" = none */
	time_t			 notafter;
	char			*suggested_sia_head;	/* NULL when absent */
	struct ca_ud_cert	*certs;
	size_t			 ncerts;
	uint8_t			*issuer;	/* the parent's CA cert */
	size_t			 issuer_len;
};

/* A message; every pointer is owned by it.  Free with ca_ud_free(). */
struct ca_ud_msg {
	enum ca_ud_type		 type;
	char			*sender, *recipient;

	/* list_response, issue_response */
	struct ca_ud_class	*classes;
	size_t			 nclasses;

	/* issue (request), revoke and revoke_response (key) */
	char			*class_name;
	char			*req_as, *req_v4, *req_v6;	/* issue; NULL: absent */
	uint8_t			*pkcs10;			/* issue */
	size_t			 pkcs10_len;
	uint8_t			 ski[20];			/* revoke(_response) */

	/* error_response */
	int			 status;
	char			*description;			/* NULL when absent */
};

/* A parse failure and the status a parent should answer with (0: none). */
struct ca_ud_error {
	struct cm_err	err;
	int		status;
};

/*
 * Parses one message.  who names the peer in errors.  *out is new (free
 * with ca_ud_free()).  Returns 0, or -1 with e->err (CM_EINVAL) and
 * e->status (1102 for a bad version, 1103 for an unknown type, 0 when the
 * message is just malformed: the parent then answers 2001 or refuses at the
 * HTTP layer).
 */
int	ca_ud_parse(const char *who, const uint8_t *xml, size_t len,
	    struct ca_ud_msg **out, struct ca_ud_error *e);

/*
 * Serialises m (which must satisfy the rules the parser checks; they are
 * checked again) as a UTF-8 XML document appended to out.  Returns 0 or -1.
 */
int	ca_ud_write(const struct ca_ud_msg *m, struct cm_buf *out,
	    struct cm_err *err);

void	ca_ud_free(struct ca_ud_msg *m);	/* accepts NULL */

/* "list", "issue_response", ... */
const char *ca_ud_type_name(enum ca_ud_type t);
/* The RFC 6492 description of a status code; NULL when unknown. */
const char *ca_ud_status_text(int status);

#endif
