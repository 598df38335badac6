/*
 * pub_msg: RFC 8181 publication protocol messages (the XML inside the CMS
 * wrapper of ca/cms_msg.h), for both sides: the publication server parses
 * queries and writes replies; the CA engine writes queries and parses
 * replies.
 *
 *   <msg type="query" version="4"
 *        xmlns="http://www.hactrn.net/uris/rpki/publication-spec/">
 *     <list/> | <publish uri= [hash=] [tag=]>base64</publish> |
 *     <withdraw uri= hash= [tag=]/> ...
 *   </msg>
 *
 * A publish without hash creates an object, with hash it replaces the
 * object whose SHA-256 is hash.
 */
#ifndef PUB_MSG_H
#define PUB_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "common/cm_buf.h"
#include "common/cm_err.h"

#define PUB_MSG_NS	"http://www.hactrn.net/uris/rpki/publication-spec/"
#define PUB_MSG_MAX	(64u * 1024 * 1024)	/* largest message parsed */
#define PUB_TAG_MAX	1024			/* RFC 8181 schema */
#define PUB_ERROR_TEXT_MAX 512000		/* RFC 8181 schema */

enum pub_pdu_type {
	PUB_PDU_LIST,
	PUB_PDU_PUBLISH,
	PUB_PDU_WITHDRAW,
	PUB_PDU_ERROR,		/* report_error, replies only */
};

/* RFC 8181 §2.5 error codes. */
enum pub_errcode {
	PUB_ERR_XML_ERROR,
	PUB_ERR_PERMISSION_FAILURE,
	PUB_ERR_BAD_CMS_SIGNATURE,
	PUB_ERR_OBJECT_ALREADY_PRESENT,
	PUB_ERR_NO_OBJECT_PRESENT,
	PUB_ERR_NO_OBJECT_MATCHING_HASH,
	PUB_ERR_CONSISTENCY_PROBLEM,
	PUB_ERR_OTHER_ERROR,
};

/*
 * One PDU.  Which fields are set depends on type and direction:
 *   query list:      tag
 *   query publish:   tag, uri, hash (replace) or none (create), data
 *   query withdraw:  tag, uri, hash
 *   reply list:      tag, uri, hash
 *   reply publish / withdraw: tag, uri
 *   reply report_error: tag, error, error_text (optional), failed (optional)
 */
struct pub_pdu {
	enum pub_pdu_type type;
	char		*tag;		/* NULL when absent */
	char		*uri;
	int		 has_hash;
	uint8_t		 hash[32];
	uint8_t		*data;
	size_t		 len;
	enum pub_errcode error;
	char		*error_text;
	struct pub_pdu	*failed;	/* the failed query PDU echoed back */
};

/* A message; all members are owned, free with pub_msg_free(). */
struct pub_msg {
	int		 reply;		/* 0: query, 1: reply */
	struct pub_pdu	*pdus;
	size_t		 npdus;
	size_t		 cap;
};

/* "xml_error", ... */
const char *pub_errcode_name(enum pub_errcode code);
/* Parses an error code name.  Returns 0 or -1. */
int	pub_errcode_parse(const char *s, enum pub_errcode *out);

/* Allocates an empty query (reply = 0) or reply.  NULL on ENOMEM. */
struct pub_msg *pub_msg_new(int reply);
void	pub_msg_free(struct pub_msg *m);

/*
 * Appends a copy of a PDU to m.  tag, uri, hash (32 bytes) and data may be
 * NULL where the table above leaves them out.  The combination is checked
 * against the direction of m.  Returns 0 or -1.
 */
int	pub_msg_add(struct pub_msg *m, enum pub_pdu_type type, const char *tag,
	    const char *uri, const uint8_t *hash, const uint8_t *data,
	    size_t len, struct cm_err *err);

/*
 * Appends a report_error to the reply m, echoing a copy of failed (a query
 * PDU, may be NULL) and its tag.  text may be NULL.  Returns 0 or -1.
 */
int	pub_msg_add_error(struct pub_msg *m, enum pub_errcode code,
	    const char *text, const struct pub_pdu *failed, struct cm_err *err);

/* Serialises m into out.  Returns 0 or -1. */
int	pub_msg_write(const struct pub_msg *m, struct cm_buf *out,
	    struct cm_err *err);

/*
 * Parses a query (want_reply = 0) or reply.  Strict: namespace, version 4,
 * type, only the elements and attributes of the RFC 8181 schema, tag and
 * URI lengths, 64-hex-digit hashes, valid non-empty base64.  *out is owned
 * by the caller.  Returns 0, or -1 with err set (then the server answers
 * xml_error).
 */
int	pub_msg_parse(const char *name, const uint8_t *xml, size_t len,
	    int want_reply, struct pub_msg **out, struct cm_err *err);

/*
 * Server-side checks of a parsed query for the publisher whose sia_base is
 * given: each URI obeys pub_uri_check_object() below sia_base, and no URI
 * appears twice in the query.  On failure *bad is the index of the PDU and
 * *code the error to report (permission_failure, consistency_problem).
 * Returns 0 or -1.
 */
int	pub_msg_check_query(const struct pub_msg *q, const char *sia_base,
	    size_t *bad, enum pub_errcode *code, struct cm_err *err);

/*
 * Client-side check of reply against the query it answers: no
 * report_error (its code and text go into err), and every publish and
 * withdraw of query acknowledged by a PDU of the same type and URI.
 * Returns 0 or -1.
 */
int	pub_msg_reply_check(const struct pub_msg *query,
	    const struct pub_msg *reply, struct cm_err *err);

#endif
