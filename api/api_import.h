/*
 * api_import: bulk import of a registry's members and their resources
 * (`cairn import resources FILE`, docs/cli.md) through the provisioning
 * API.
 *
 * The file is CSV (a header naming the columns handle, parent, asn, ipv4,
 * ipv6 in any order; RFC 4180 quoting; '#' lines and empty lines skipped)
 * or JSON (an array of members, or {"members": [...]}; each member an
 * object with handle, parent and asn/ipv4/ipv6 as a string or an array of
 * strings and numbers).  Inside a resource field, commas, semicolons and
 * blanks separate items and "AS" prefixes are allowed.  Every error names
 * the file and the line.
 *
 * Running it makes each member a CA under its parent with exactly its
 * resources: created when missing, its resources replaced when they
 * differ, left alone when equal.  A second run changes nothing.
 */
#ifndef API_IMPORT_H
#define API_IMPORT_H

#include <stddef.h>

#include "api/api_client.h"
#include "common/cm_err.h"

struct api_import_rec {
	int	 line;		/* in the file */
	char	*handle, *parent;
	char	*res[3];	/* canonical asn, ipv4, ipv6 ("" when empty) */
};

/* The members in the order of the file; free with api_import_free(). */
struct api_import {
	struct api_import_rec	*recs;
	size_t			 n;
};

void	api_import_free(struct api_import *im);	/* NULL is ok */

/*
 * Parses buf (len bytes of the file name): JSON when its first non-blank
 * byte is '[' or '{', else CSV.  Checks every member (handle syntax,
 * resource syntax, duplicates, a parent chain without cycles) and orders
 * them parents first.  Returns 0 with *out, or -1 with err naming
 * "name:line".
 */
int	api_import_parse(const char *name, const char *buf, size_t len,
	    struct api_import **out, struct cm_err *err);

enum api_import_what {
	API_IMPORT_CREATED,
	API_IMPORT_UPDATED,
	API_IMPORT_UNCHANGED,
	API_IMPORT_FAILED,	/* refused by the server or inconsistent */
	API_IMPORT_SKIPPED,	/* its parent failed */
};

struct api_import_stats {
	size_t	n[5];		/* by enum api_import_what */
};

/*
 * Called after each member: what happened and, for failures and skips, why
 * (msg).  done counts the members handled so far out of total.
 */
typedef void	(*api_import_cb)(void *arg, const struct api_import_rec *r,
		    enum api_import_what what, const char *msg, size_t done,
		    size_t total);

/*
 * Applies im through the API at url: lists the CAs the token sees (pages
 * of 1000), then, in the order of im, creates the missing CAs in requests
 * of up to 200 (POST /bulk/cas: one transaction each, all or none; when
 * the server names the member at fault, that member fails, its children in
 * the request are skipped and the rest is sent again) and changes the
 * resources of the others one request each.  dry_run: only decides.  Returns 0 when every member is done or unchanged, 1 when some
 * failed or were skipped, -1 with err when the server cannot be reached
 * or fails (5xx): then the rest is not attempted.
 */
int	api_import_run(const struct api_import *im, const char *url,
	    const struct api_http_opts *ho, int dry_run, api_import_cb cb,
	    void *arg, struct api_import_stats *st, struct cm_err *err);

#endif
