/*
 * pub_oob: RFC 8183 out-of-band setup messages, namespace
 * http://www.hactrn.net/uris/rpki/rpki-setup/, version 1:
 *
 *   child_request       child_handle, child_bpki_ta
 *   parent_response     service_uri, child_handle, parent_handle,
 *                       parent_bpki_ta, <offer/> or <referral>*
 *   publisher_request   publisher_handle, publisher_bpki_ta, <referral>*
 *   repository_response service_uri, publisher_handle, sia_base,
 *                       [rrdp_notification_uri], repository_bpki_ta
 *   error               reason (syntax-error, authentication-failure,
 *                       refused)
 *
 * Every top element may carry a tag.  The *_bpki_ta is the DER of a
 * self-signed BPKI certificate (base64 in the XML).
 */
#ifndef PUB_OOB_H
#define PUB_OOB_H

#include <stddef.h>
#include <stdint.h>

#include "common/cm_buf.h"
#include "common/cm_err.h"

#define PUB_OOB_NS	"http://www.hactrn.net/uris/rpki/rpki-setup/"
#define PUB_OOB_MAX	(1024u * 1024)	/* largest document parsed */
#define PUB_HANDLE_MAX	255
#define PUB_OOB_B64_MAX	512000

enum pub_oob_type {
	PUB_OOB_CHILD_REQUEST = 1,
	PUB_OOB_PARENT_RESPONSE,
	PUB_OOB_PUBLISHER_REQUEST,
	PUB_OOB_REPOSITORY_RESPONSE,
	PUB_OOB_ERROR,
};

struct pub_oob_referral {
	char		*referrer;	/* a handle */
	char		*contact_uri;	/* parent_response only, optional */
	uint8_t		*token;		/* the CMS-signed authorization */
	size_t		 token_len;
};

/*
 * One setup message; the fields used depend on type (see above).  handle is
 * child_handle or publisher_handle.  All strings and buffers are owned;
 * free with pub_oob_free().
 */
struct pub_oob {
	enum pub_oob_type	 type;
	char			*tag;
	char			*handle;
	char			*parent_handle;
	char			*service_uri;
	char			*sia_base;
	char			*rrdp_notification_uri;
	char			*reason;	/* error */
	uint8_t			*bpki_ta;	/* DER certificate */
	size_t			 bpki_ta_len;
	int			 offer;		/* parent_response */
	struct pub_oob_referral	*referrals;
	size_t			 nreferrals;
};

void	pub_oob_free(struct pub_oob *o);

/* True if s is an RFC 8183 handle: [-_A-Za-z0-9/]*, at most 255 bytes. */
int	pub_oob_handle_ok(const char *s);

/*
 * Parses a setup document of any type; expect is the type wanted, or 0 for
 * any.  Strict: namespace, version 1, only the schema's elements and
 * attributes, handle syntax, URI schemes (service_uri and
 * rrdp_notification_uri https, sia_base an rsync directory), the BPKI TA a
 * DER X.509 certificate signed by its own key.  *out is owned by the
 * caller.  Returns 0 or -1 with err naming the field.
 */
int	pub_oob_parse(const char *name, const uint8_t *xml, size_t len,
	    enum pub_oob_type expect, struct pub_oob **out, struct cm_err *err);

/* Serialises o (after the same checks as parsing) into out.  0 or -1. */
int	pub_oob_write(const struct pub_oob *o, struct cm_buf *out,
	    struct cm_err *err);

#endif
