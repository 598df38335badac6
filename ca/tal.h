/*
 * ca_tal: RFC 8630 trust anchor locators.
 *
 * Status: implemented in ca/tal.c (docs/resources.md, "Trust anchor
 * locators").
 *
 * Strictness (both directions): at least one URI, each https:// or rsync://
 * with a host and a path naming a ".cer" file, printable ASCII without
 * spaces, at most 4096 characters, all URIs naming the same file; comment
 * lines ("#") only before the first URI; exactly one empty line before the
 * key; the key is base64 (any wrapping, nothing but base64 characters on a
 * line) of a DER SubjectPublicKeyInfo without trailing bytes, RSA-2048 with
 * exponent 65537 (RFC 7935); only empty lines may follow it.  LF or CRLF.
 */
#ifndef CA_TAL_H
#define CA_TAL_H

#include <stddef.h>

#include <openssl/evp.h>

#include "common/cm_err.h"

/*
 * Writes comment lines ("# " + each of comments[0..ncomments)), the URIs
 * (https and rsync only), a blank line and the base64 SPKI wrapped at 64
 * columns into a malloc'd NUL-terminated *out (caller frees).  Returns 0/-1.
 */
int	ca_tal_write(const char *const *comments, size_t ncomments,
	    const char *const *uris, size_t nuris, EVP_PKEY *key, char **out,
	    struct cm_err *err);

/*
 * The checks above for one TA certificate URI of len bytes, and for a TA
 * key, shared with the signed TAL (ca/tak.h).  Each returns NULL or the
 * rule broken.
 */
const char	*ca_tal_uri_check(const char *uri, size_t len);
const char	*ca_tal_key_check(EVP_PKEY *key);

struct ca_tal {
	char		**uris;		/* owned */
	size_t		  nuris;
	EVP_PKEY	 *key;		/* owned */
};

/*
 * Strict parse of a TAL file's bytes (len at most 1 MiB, no NUL); fn names
 * it in err.  *out is new, free it with ca_tal_free().  Returns 0 or -1
 * (CM_EINVAL naming fn, the line and the rule).
 */
int	ca_tal_parse(const char *fn, const char *buf, size_t len,
	    struct ca_tal **out, struct cm_err *err);
void	ca_tal_free(struct ca_tal *t);		/* accepts NULL */

#endif
