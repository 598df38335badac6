/*
 * pub_xml: what the publication XML formats (RRDP, RFC 8181, RFC 8183)
 * share: a hardened libxml2 parse of untrusted input, strict element and
 * attribute checks, and an escaping writer into a cm_buf.
 *
 * Parsing refuses any DOCTYPE (so no DTD, no entity declaration, no
 * billion-laughs expansion), never touches the network, and caps the input
 * size.  Writing never goes through libxml2: values are escaped by hand so
 * that large documents stream at memcpy speed.
 */
#ifndef PUB_XML_H
#define PUB_XML_H

#include <stddef.h>
#include <stdint.h>

#include <libxml/tree.h>

#include "common/cm_buf.h"
#include "common/cm_err.h"

/*
 * Parses data (len bytes, at most max) as an XML document.  name names the
 * document in errors.  On success *out is a document the caller frees with
 * xmlFreeDoc().  Returns 0, or -1 with err set (CM_ELIMIT when too large,
 * CM_EINVAL for malformed XML or a DOCTYPE).
 */
int	pub_xml_parse(const char *name, const uint8_t *data, size_t len,
	    size_t max, xmlDoc **out, struct cm_err *err);

/*
 * Checks that n is an element called elem in the default namespace ns (a
 * literal xmlns="ns", no prefix), and that each of its attributes is in the
 * NULL-terminated list allowed and has no namespace.  Returns 0 or -1.
 */
int	pub_xml_check_elem(const char *name, const xmlNode *n, const char *elem,
	    const char *ns, const char *const *allowed, struct cm_err *err);

/*
 * Returns the value of attribute attr of n (malloc'd, caller frees) in *out,
 * or NULL in *out when absent and optional.  max caps the length in bytes.
 * Returns 0, or -1 if required and absent, or too long.
 */
int	pub_xml_attr(const char *name, const xmlNode *n, const char *attr,
	    int required, size_t max, char **out, struct cm_err *err);

/*
 * Walks the children of parent that are elements: *cur is NULL to start.
 * Whitespace text and comments between them are skipped; any other node
 * (text, PI, CDATA) is an error.  Returns 1 with *cur set, 0 at the end, or
 * -1 with err set.
 */
int	pub_xml_next_elem(const char *name, const xmlNode *parent,
	    const xmlNode **cur, struct cm_err *err);

/*
 * Returns the text content of n (malloc'd, caller frees) after checking
 * that n has no child element.  max caps the length.  Returns 0 or -1.
 */
int	pub_xml_text(const char *name, const xmlNode *n, size_t max,
	    char **out, struct cm_err *err);

/*
 * Appends s XML-escaped (for attribute values and text: & < > " ' and
 * tab/CR/LF as character references).  Control characters below 0x20 that
 * XML 1.0 cannot carry, and bytes that are not UTF-8, are refused.  Returns 0 or
 * -1 with err set.
 */
int	pub_xml_escape(struct cm_buf *b, const char *s, struct cm_err *err);

/* Appends ` attr="escaped value"`.  Returns 0 or -1. */
int	pub_xml_put_attr(struct cm_buf *b, const char *attr, const char *value,
	    struct cm_err *err);

/*
 * Parses a SHA-256 hash as 64 hex digits (either case, as RFC 8182 and RFC
 * 8181 allow) into out[32].  Returns 0 or -1 with err set naming what.
 */
int	pub_hash_parse(const char *name, const char *what, const char *s,
	    uint8_t out[32], struct cm_err *err);

/*
 * Parses a positive decimal integer without sign or leading zeros that fits
 * in 63 bits.  Returns 0 or -1 with err set naming what.
 */
int	pub_serial_parse(const char *name, const char *what, const char *s,
	    uint64_t *out, struct cm_err *err);

/*
 * True if s is an xsd:token of at most max bytes: no control characters,
 * no leading, trailing or double spaces.
 */
int	pub_token_ok(const char *s, size_t max);

#endif
