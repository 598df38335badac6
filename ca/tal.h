/*
 * ca_tal: RFC 8630 trust anchor locators.
 *
 * Status: interface contract; ca/tal.c is not in the tree yet.
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

struct ca_tal {
	char		**uris;		/* owned */
	size_t		  nuris;
	EVP_PKEY	 *key;		/* owned */
};

/* Strict parse of a TAL file's bytes; fn names it in err. */
int	ca_tal_parse(const char *fn, const char *buf, size_t len,
	    struct ca_tal **out, struct cm_err *err);
void	ca_tal_free(struct ca_tal *t);		/* accepts NULL */

#endif
