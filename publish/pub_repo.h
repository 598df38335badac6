/*
 * pub_repo: the database-backed repository of the publication server.
 *
 * Publishers (table publisher) own the URIs below their base URI.  An
 * RFC 8181 query of one publisher is applied in ONE transaction: every
 * publish and withdraw is checked against the current state (pub_object
 * plus the pending changes of pub_change, the outbox), and all of them are
 * queued in pub_change, or none.  The publication leader (pub_build.h)
 * turns pending changes into RRDP serials.
 *
 * The same function serves remote publishers (RFC 8181 over HTTP, after
 * the CMS check) and Cairn's own CA engine, which calls it in-process with
 * its db handle.
 */
#ifndef PUB_REPO_H
#define PUB_REPO_H

#include <stddef.h>
#include <stdint.h>

#include "common/cm_err.h"
#include "db/db.h"
#include "publish/pub_msg.h"

/* A publisher row; members owned, free with pub_publisher_clear(). */
struct pub_publisher {
	int64_t		 id;
	char		*handle;
	char		*base_uri;	/* rsync://.../ */
	uint8_t		*id_cert;	/* DER BPKI TA; NULL for local CAs */
	size_t		 id_cert_len;
};

void	pub_publisher_clear(struct pub_publisher *p);

/*
 * Looks up the publisher handle (not deleted).  Returns 0 with *out
 * filled, or -1 (CM_ENOTFOUND when there is none).
 */
int	pub_repo_publisher_get(struct db *db, const char *handle,
	    struct pub_publisher *out, struct cm_err *err);

/*
 * Adds a publisher with base_uri (an rsync directory URI) and the DER BPKI
 * TA id_cert (NULL for a local publisher).  The base URI must neither
 * contain nor lie inside another publisher's (CM_EEXIST), so that every
 * object URI has exactly one owner.  *id (may be NULL) gets the new id.
 * Returns 0 or -1.
 */
int	pub_repo_publisher_add(struct db *db, const char *handle,
	    const char *base_uri, const uint8_t *id_cert, size_t id_cert_len,
	    int64_t *id, struct cm_err *err);

/*
 * RFC 8181 replay protection: accepts signing_time (seconds since the
 * epoch) if it is later than the last one accepted from publisher id and
 * records it (in its own transaction, so that a query that later fails
 * still counts).  Returns 0, or -1 (CM_EPERM for a replay).
 */
int	pub_repo_signing_time(struct db *db, int64_t id, int64_t signing_time,
	    struct cm_err *err);

/*
 * Applies the query q of publisher p inside the caller's open transaction
 * on db.  *reply gets the reply message (the caller frees it).  When the
 * query fails an RFC 8181 check, *reply holds one report_error naming the
 * failed PDU, *failed is set to 1 and the function returns -1 with err
 * describing it: the caller must roll back.  Database failures return -1
 * with *failed 0 and *reply NULL.  Returns 0 on success.
 */
int	pub_repo_apply_tx(struct db *db, const struct pub_publisher *p,
	    const struct pub_msg *q, struct pub_msg **reply, int *failed,
	    struct cm_err *err);

/*
 * pub_repo_apply_tx() in its own transaction (db_tx, retried after
 * serialization failures).  Returns 0 with *reply set (a normal reply, or
 * an error reply after which nothing was changed), or -1 with err set and
 * *reply NULL when the database failed.
 */
int	pub_repo_apply(struct db *db, const struct pub_publisher *p,
	    const struct pub_msg *q, struct pub_msg **reply,
	    struct cm_err *err);

/*
 * The current object of uri as the RFC 8181 checks see it: pub_object with
 * the pending changes applied.  Returns 1 with hash set when it exists, 0
 * when it does not, -1 on error.
 */
int	pub_repo_lookup(struct db *db, const char *uri, uint8_t hash[32],
	    struct cm_err *err);

#endif
