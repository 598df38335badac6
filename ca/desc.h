/*
 * ca_desc: a hierarchy described in a text file, applied to the CA engine.
 *
 * One statement per line; '#' starts a comment:
 *
 *   ta   NAME [as=RES] [v4=RES] [v6=RES]
 *   ca   NAME PARENT [as=RES] [v4=RES] [v6=RES]
 *   roa  CA ASN PREFIX[-MAXLEN] ...
 *   aspa CA CUSTOMER PROVIDER[,PROVIDER...]
 *
 * RES is an RFC 6492 text form ("64496-64511", "10.0.0.0/8,192.0.2.0/24").
 * It is the syntax of the relying-party tests' repository builder, so one
 * file can describe a test repository and an engine's configuration.
 *
 * Applying is additive and idempotent: missing CAs are created, CAs whose
 * resources differ get the new ones, missing ROA configurations are added
 * and ASPAs are set; nothing is removed.
 */
#ifndef CA_DESC_H
#define CA_DESC_H

#include <stddef.h>

#include "ca/engine.h"
#include "common/cm_err.h"

/*
 * Applies the description in text (name is used in errors, with the line)
 * with actor as the audit actor.  Each statement is its own transaction; on
 * an error the statements before it stay applied.  *applied (may be NULL)
 * counts the statements that changed something.  Returns 0 or -1.
 */
int	ca_desc_apply(struct ca_eng *e, const char *name, const char *text,
	    const char *actor, size_t *applied, struct cm_err *err);

/*
 * The resource words of a statement ("as=RES", "v4=RES", "v6=RES", each
 * RFC 6492 text) into a new set *out (the caller frees it); where names the
 * input in errors.  Also used for command-line arguments.  Returns 0 or -1.
 */
int	ca_desc_parse_res(char **tok, size_t n, const char *where,
	    struct ca_res **out, struct cm_err *err);

#endif
