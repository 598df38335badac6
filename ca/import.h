/*
 * ca_import: bulk creation of hosted CAs from a file (cairnd import).
 *
 * One CA per line; '#' starts a comment, blank lines are skipped.  Either
 * CSV with the fields
 *
 *   handle,parent,asns,ipv4,ipv6
 *
 * (an optional first line "handle,parent,..." is a header; a field holding
 * several ranges is quoted, "10.0.0.0/8,192.0.2.0/24", or separates them
 * with ';' or spaces), or the "ca" statement of the description format
 * (ca/desc.h):
 *
 *   ca NAME PARENT [as=RES] [v4=RES] [v6=RES]
 *
 * Ranges are RFC 6492 text ("64496-64511", "10.0.0.0/8").  The parent is an
 * existing CA or one earlier in the file.
 */
#ifndef CA_IMPORT_H
#define CA_IMPORT_H

#include <stddef.h>

#include "ca/engine.h"
#include "common/cm_err.h"

struct ca_import {
	struct ca_eng_new_ca	*cas;	/* n entries, everything owned here */
	size_t			*line;	/* line number of each in the input */
	size_t			 n;
	char			*name;	/* of the input, for errors */
};

/*
 * Parses text (name is used in errors, "name:line: ...") into *out (free
 * with ca_import_free()).  Every line is checked (syntax, handle, resource
 * sets) before anything is created.  Returns 0 or -1 (CM_EINVAL naming the
 * line).
 */
int	ca_import_parse(const char *name, const char *text,
	    struct ca_import **out, struct cm_err *err);
void	ca_import_free(struct ca_import *im);	/* NULL is ok */

/* Progress of ca_import_apply(): the current batch and its phase. */
typedef void	(*ca_import_progress_fn)(void *arg, size_t batch,
		    size_t nbatches, const char *phase, size_t done,
		    size_t total);

struct ca_import_result {
	size_t	created;	/* CAs created (committed) */
	size_t	existing;	/* skipped: already there under that parent */
	size_t	batches;	/* transactions committed */
};

/*
 * Creates the CAs of im that do not exist yet, in batches of up to batch
 * CAs (0: 500), each batch one call of ca_eng_ca_create_many() and so one
 * transaction: a batch is created whole or not at all.  A CA that exists
 * under the same parent is skipped (so a failed import can be run again);
 * under another parent it is an error.  The first failing batch stops the
 * import; the batches before it stay committed (res says how many).  Errors
 * name the input line.  threads is the number of key generation threads
 * (0: 2).  progress may be NULL.  Returns 0 or -1.
 */
int	ca_import_apply(struct ca_eng *e, struct db *db,
	    const struct ca_import *im, size_t batch, unsigned threads,
	    const char *actor, ca_import_progress_fn progress, void *arg,
	    struct ca_import_result *res, struct cm_err *err);

#endif
