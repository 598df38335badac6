/*
 * ca_eng: the CA engine.  Hosted CAs (a trust anchor, RIR CAs, member CAs)
 * on PostgreSQL (db/) with their keys in the signer (hsm/).
 *
 * Every operation is one database transaction that holds the change (the
 * configuration), the objects it makes the CAs sign, their publication
 * intents (pub_change, the outbox that the publication server drains into
 * one RRDP serial) and an audit record.  A crash before the commit changes
 * nothing; after it, the publication server publishes the whole change in
 * one batch, so a parent's new objects and its children's appear together.
 *
 * Publication points (RFC 6481): CA "h" publishes under <rsync_base>h/ as
 * publisher "h": its CRL and manifest (named after the key), the
 * certificates of its children, its ROAs and ASPAs.  A trust anchor's own
 * certificate is published by publisher "h-ta" at <rsync_base>h-ta/h.cer,
 * the URI its TAL names.
 *
 * Threads: a struct ca_eng (with its db connection) is used by one thread
 * at a time.
 */
#ifndef CA_ENGINE_H
#define CA_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "ca/plan.h"
#include "ca/resources.h"
#include "ca/sched.h"
#include "ca/updown.h"
#include "common/cm_clock.h"
#include "common/cm_err.h"
#include "db/db.h"
#include "hsm/hsm.h"
#include "hsm/hsm_pool.h"

struct ca_eng_conf {
	const char		*rsync_base;	/* rsync://host/module/ */
	const char		*https_base;	/* https://host/ta/ for the TAL; NULL: none */
	const char		*notify_uri;	/* rpkiNotify; NULL: rsync only */
	enum ca_plan_roa_mode	 roa_mode;
	struct ca_sched_policy	 sched;
	int64_t			 ca_validity;	/* child CA certificates */
	int64_t			 ta_validity;	/* the self-signed TA certificate */
	int64_t			 keyroll_staging; /* RFC 6489 wait before activating */
	int64_t			 ta_acceptance;	/* RFC 9691: a TA key roll's
						   finish waits this long */
	int64_t			 parent_sync;	/* RFC 6492 child: ask the parent
						   again after this many s */
	const char		*updown_uri;	/* RFC 6492 parent: children reach
						   <updown_uri><parent handle>;
						   NULL: not configured */
};

/* Fills conf with the defaults (strings NULL; set rsync_base at least). */
void	ca_eng_conf_defaults(struct ca_eng_conf *conf);

struct ca_eng;

/*
 * A new engine on db, signing with CA keys of hsm and one-time EE keys from
 * pool (NULL: generated on demand, slow).  Everything is borrowed and must
 * outlive the engine; conf strings too.  clock NULL is real time.
 */
struct ca_eng	*ca_eng_new(const struct ca_eng_conf *conf, struct db *db,
		    struct hsm *hsm, struct hsm_pool *pool,
		    const struct cm_clock *clock, struct cm_err *err);
void		 ca_eng_free(struct ca_eng *e);

/*
 * Creates a trust anchor: a new key in the signer, the self-signed
 * certificate over res (explicit, no inherit), its publication point with a
 * first CRL and manifest.  actor names who asked, for the audit log.
 * Returns 0, or -1 (CM_EEXIST when the handle is taken, CM_EINVAL for a bad
 * handle or set).
 */
int	ca_eng_ta_create(struct ca_eng *e, const char *handle,
	    const struct ca_res *res, const char *actor, struct cm_err *err);

/* The RFC 8630 TAL of trust anchor handle into *out (malloc'd). */
int	ca_eng_tal(struct ca_eng *e, const char *handle, char **out,
	    struct cm_err *err);

/*
 * Creates a hosted CA under the hosted CA parent: a key, the certificate the
 * parent issues over res (which must lie within the parent's resources),
 * published in the parent's publication point, and the new CA's own (empty)
 * publication point.  Returns 0 or -1.
 */
int	ca_eng_ca_create(struct ca_eng *e, const char *handle,
	    const char *parent, const struct ca_res *res, const char *actor,
	    struct cm_err *err);

/* One CA of a bulk creation; everything borrowed. */
struct ca_eng_new_ca {
	const char		*handle;
	const char		*parent;	/* a hosted CA or trust anchor */
	const struct ca_res	*res;		/* explicit, within the parent's */
};

/*
 * Progress of a bulk creation: phase "keys", "certificates" or
 * "publication points", done of total.
 */
typedef void	(*ca_eng_progress_fn)(void *arg, const char *phase, size_t done,
		    size_t total);

/*
 * Creates the n hosted CAs of cas in ONE transaction: all of them or none.
 * Each parent is an existing CA or an entry earlier in cas.  First, on
 * threads worker threads (0: 2), the CA keys are made in the signer and the
 * one-time EE keys of the new CAs' first manifests in memory, so that key
 * generation runs in parallel and the transaction never waits for it.
 * Then, in the transaction, each parent certifies its new children, every
 * new CA gets its (empty) CRL and manifest, and each parent re-issues its
 * CRL and manifest once for the whole batch instead of once per child.
 * Everything written is checked by the internal validator, as for every
 * change.  The parents' rows stay locked for the transaction only (signing
 * and database work, a few ms per CA); ca_import_apply() (ca/import.h)
 * splits a file into batches of a few hundred.
 *
 * progress may be NULL.  On error nothing is committed, the new keys are
 * deleted from the signer, *bad (may be NULL) is the index of the entry at
 * fault (n when the error is not one entry's: database, signer) and err
 * names its handle: CM_EINVAL (bad handle, inherit or empty resources,
 * resources beyond the parent's, parent later in the batch), CM_EEXIST
 * (handle taken, or twice in cas), CM_ENOTFOUND (no such parent).
 * Returns n (the number of CAs created) or -1.
 */
int	ca_eng_ca_create_many(struct ca_eng *e, const struct ca_eng_new_ca *cas,
	    size_t n, unsigned threads, const char *actor,
	    ca_eng_progress_fn progress, void *arg, size_t *bad,
	    struct cm_err *err);

/*
 * Changes the resources of hosted CA handle (within its parent's): the
 * parent re-issues its certificate; on a shrink the CA's ROAs and ASPAs
 * that fall outside are withdrawn and its children's certificates shrunk,
 * all in the same transaction and so in the same publication batch.
 * Returns 1 when the resources changed, 0 when they were already res, -1.
 */
int	ca_eng_ca_set_resources(struct ca_eng *e, const char *handle,
	    const struct ca_res *res, const char *actor, struct cm_err *err);

/*
 * Adds and removes ROA configurations of CA handle atomically (all or
 * none), then re-issues what changed.  Each added configuration must pass
 * ca_plan_check_roa() against the CA's resources (CM_EINVAL naming it);
 * adding one that exists or removing one that does not is CM_EEXIST /
 * CM_ENOTFOUND.  Returns 0 or -1.
 */
int	ca_eng_roa_update(struct ca_eng *e, const char *handle,
	    const struct ca_plan_roa_cfg *add, size_t nadd,
	    const struct ca_plan_roa_cfg *del, size_t ndel, const char *actor,
	    struct cm_err *err);

/*
 * Sets (replaces) the ASPA of customer AS c->customer of CA handle, or with
 * c->nproviders == 0 removes it.  Returns 1 when something changed, 0 when
 * the ASPA already had exactly these providers, or -1.
 */
int	ca_eng_aspa_set(struct ca_eng *e, const char *handle,
	    const struct ca_plan_aspa_cfg *c, const char *actor,
	    struct cm_err *err);

/*
 * Transfers res from hosted CA from to hosted CA to, make-before-break, in
 * one transaction (so in one publication batch): the branch of to below
 * their lowest common ancestor grows by res (top-down), from's ROA and ASPA
 * configurations within res move to to and are issued there, then the
 * branch of from below the ancestor shrinks (its children too).  Between
 * two RIR CAs under one trust anchor this is an inter-RIR transfer.  from
 * must hold all of res; the two must not be in one line of descent.
 * Returns 0 or -1.
 */
int	ca_eng_transfer(struct ca_eng *e, const char *from, const char *to,
	    const struct ca_res *res, const char *actor, struct cm_err *err);

/*
 * Deletes hosted CA handle, which must have no child CAs, hosted or
 * delegated (CM_ESTATE), in one transaction: every object it published is
 * withdrawn, its parent revokes and withdraws the certificates of its keys
 * and re-issues its CRL and manifest, its ROA and ASPA configurations are
 * dropped, and the CA and its publisher are marked deleted (the handle
 * stays taken).  After the commit its keys are deleted from the signer.  A
 * trust anchor is CM_ESTATE, an unknown CA CM_ENOTFOUND.  Returns 0 or -1.
 */
int	ca_eng_ca_delete(struct ca_eng *e, const char *handle,
	    const char *actor, struct cm_err *err);

/*
 * Certifies a BGPsec router key (RFC 8209): csr is a DER PKCS#10 request
 * with an ECDSA P-256 key (ca/csr.h, CA_CSR_ROUTER), asns the AS numbers the
 * router speaks for, each held by CA handle.  The certificate is published
 * in the CA's publication point and renewed like EE objects.  CM_EEXIST when
 * that key is already certified by the CA.  Returns 0 or -1.
 */
int	ca_eng_router_add(struct ca_eng *e, const char *handle,
	    const uint8_t *csr, size_t len, const uint32_t *asns, size_t nasns,
	    const char *actor, struct cm_err *err);
/* Withdraws and revokes the router certificate of key key_id (hex SKI). */
int	ca_eng_router_remove(struct ca_eng *e, const char *handle,
	    const char *key_id, const char *actor, struct cm_err *err);

/*
 * Key rollover of a hosted CA (RFC 6489), in three steps, each one
 * transaction:
 *   start     a new key in the signer; the parent certifies it; it gets its
 *             own (empty) CRL and manifest in the CA's publication point.
 *             CM_EEXIST when a roll is under way.
 *   activate  after the staging period (conf keyroll_staging, default 24 h;
 *             force skips the wait, for a compromised key): the new key
 *             becomes active and re-signs every ROA, ASPA, router and child
 *             certificate at the same URIs; the old key's objects are
 *             revoked on its CRL.  CM_ESTATE before the staging period ends.
 *   finish    the parent revokes the old key's certificate, its CRL and
 *             manifest are withdrawn, and the key is deleted from the signer.
 * A trust anchor's key roll is ca_eng_ta_keyroll_start/finish (these
 * refuse a trust anchor with CM_ESTATE).
 */
int	ca_eng_keyroll_start(struct ca_eng *e, const char *handle,
	    const char *actor, struct cm_err *err);
int	ca_eng_keyroll_activate(struct ca_eng *e, const char *handle, int force,
	    const char *actor, struct cm_err *err);
int	ca_eng_keyroll_finish(struct ca_eng *e, const char *handle,
	    const char *actor, struct cm_err *err);

/*
 * Key roll of trust anchor handle (RFC 9691, ca/engine_ta.c; the
 * procedure is in docs/ta-keyroll.md), in two steps, each one
 * transaction:
 *   start   a new key in the signer, its self-signed certificate (same
 *           resources) at <rsync_base><handle>-ta/<handle>-<key>.cer, its
 *           own publication point <rsync_base><handle>-<key>/ (publisher
 *           "<handle>-<key>", <key> = first 16 hex digits of its SKI) with
 *           CRL, manifest and every child certificate of the old key
 *           re-issued under it, and a TAK in each publication point: the
 *           old key's names its successor, the new key's its predecessor.
 *           Relying parties with either TAL see the same children, so the
 *           same VRPs.  Until finish, every change to the trust anchor's
 *           children is copied into the new publication point in the same
 *           transaction (eng_ta_sync), and ca_eng_tick keeps both
 *           publication points and their TAKs fresh.  CM_EEXIST when a roll
 *           is under way; CM_ESTATE when the trust anchor signs ROAs,
 *           ASPAs or router certificates itself (not rolled).
 *   finish  after the new TAL is distributed and conf ta_acceptance
 *           (default 30 days, RFC 9691 §6) has passed since start (force
 *           skips the wait; CM_ESTATE otherwise): the new key becomes the
 *           only one and moves into the trust anchor's own publication
 *           point <rsync_base><handle>/ (its certificate is issued again
 *           with that SIA; the TAL does not change), where its children's
 *           certificates replace the old key's at the same URIs, so the
 *           AIA of everything below stays right; the interim publication
 *           point is emptied, everything of the old key is withdrawn (its
 *           certificate, CRL, manifest, TAK), the new key's TAK names only
 *           itself, and after the commit the old key is deleted from the
 *           signer.
 * A hosted CA is CM_EINVAL.  Returns 0 or -1.
 */
int	ca_eng_ta_keyroll_start(struct ca_eng *e, const char *handle,
	    const char *actor, struct cm_err *err);
int	ca_eng_ta_keyroll_finish(struct ca_eng *e, const char *handle, int force,
	    const char *actor, struct cm_err *err);

/*
 * The RFC 8630 TAL of trust anchor handle's active key (next 0) or, during
 * a key roll, of its new key (next 1; CM_ESTATE when no roll is under
 * way), into *out (malloc'd).  Returns 0 or -1.
 */
int	ca_eng_tal_key(struct ca_eng *e, const char *handle, int next,
	    char **out, struct cm_err *err);

/*
 * One step of a key roll for every hosted CA, parents before children, each
 * CA its own transaction; progress (may be NULL) is called after each CA
 * with its handle, its position, the total, and its error (NULL on
 * success).  A CA that fails does not stop the others.  Returns the number
 * of CAs, or -1 (CM_ESTATE naming how many failed).
 */
int	ca_eng_keyroll_all(struct ca_eng *e, const char *step, int force,
	    const char *actor, void (*progress)(void *, const char *, int, int,
	    const struct cm_err *), void *arg, struct cm_err *err);

/*
 * Delegated children (RFC 6492 parent side).  ca_eng_child_add registers
 * child under hosted CA parent with its entitlement (within the parent's
 * resources) and its BPKI trust anchor (DER, from the RFC 8183
 * child_request).  ca_eng_updown answers one up-down request from a child
 * (req->sender) to parent: list, issue (PKCS#10, within the entitlement,
 * optionally narrowed by req_resource_set_*) and revoke, in one
 * transaction each; refusals are error_response messages with the RFC 6492
 * status (1201 class, 1202 no resources, 1203 bad request, 1204 key used,
 * 1301/1302 revoke), and a failure of ours is 2001.  *resp is new (free
 * with ca_ud_free()).  Returns 0 (with a response), or -1 when req is not
 * addressed to parent (CM_EPERM) or memory ran out.
 */
int	ca_eng_child_add(struct ca_eng *e, const char *parent, const char *child,
	    const struct ca_res *entitlement, const uint8_t *bpki_ta, size_t len,
	    const char *actor, struct cm_err *err);
/*
 * Registering the handle of a removed child again: with the same BPKI
 * identity ca_eng_child_add revives it; with another it fails (CM_EEXIST)
 * and ca_eng_child_replace forgets the removed child's identity instead.
 */
int	ca_eng_child_replace(struct ca_eng *e, const char *parent,
	    const char *child, const struct ca_res *entitlement,
	    const uint8_t *bpki_ta, size_t len, const char *actor,
	    struct cm_err *err);
int	ca_eng_updown(struct ca_eng *e, const char *parent,
	    const struct ca_ud_msg *req, struct ca_ud_msg **resp,
	    struct cm_err *err);

/*
 * The BPKI identity of CA handle (RFC 8183 *_bpki_ta): its self-signed
 * certificate (DER, *der malloc'd) and the signer id of its key, made on
 * first use.  Returns 0 or -1.
 */
int	ca_eng_bpki(struct ca_eng *e, const char *handle, uint8_t **der,
	    size_t *len, char key_id[HSM_KEY_ID_LEN + 1], struct cm_err *err);

/*
 * RFC 6492 over CMS (§3.1): der is a signed message from a child of parent;
 * it is verified against the BPKI trust anchor registered for that child
 * (CM_EPERM when it does not verify or the sender is not a child), answered
 * with ca_eng_updown(), and the reply is signed with the parent's BPKI
 * identity into *out (malloc'd).  A message whose signing time is not later
 * than that of the last one accepted from the child is a replay (CM_EPERM).
 * Returns 0 or -1.
 */
int	ca_eng_updown_cms(struct ca_eng *e, const char *parent,
	    const uint8_t *der, size_t len, uint8_t **out, size_t *outlen,
	    struct cm_err *err);

/*
 * The rest of a parent's side: ca_eng_child_set_resources changes the
 * entitlement of child (a shrink re-issues its current certificates over
 * what is left, or withdraws them when nothing is; the child re-requests to
 * grow); ca_eng_child_remove withdraws and revokes every certificate issued
 * to child and keeps a tombstone (its BPKI identity and the removal time):
 * its later requests are answered with a list of no classes, so that it
 * withdraws its objects, and the handle can be registered again (see
 * ca_eng_child_replace).  Returns 1
 * when something changed (set_resources), 0, or -1 (CM_ENOTFOUND for an
 * unknown child).
 */
int	ca_eng_child_set_resources(struct ca_eng *e, const char *parent,
	    const char *child, const struct ca_res *entitlement,
	    const char *actor, struct cm_err *err);
int	ca_eng_child_remove(struct ca_eng *e, const char *parent,
	    const char *child, const char *actor, struct cm_err *err);

/*
 * Child side of RFC 6492 (ca/engine_parent.c): a CA of ours whose parent
 * runs elsewhere.
 *
 * The transport posts one CMS message (application/rpki-updown) to uri and
 * returns the reply body (*reply malloc'd); it is the daemon's HTTP client,
 * or in tests a direct call into another engine.  Without one, the child
 * side refuses with CM_ESTATE.
 */
/* conf.updown_uri of e (NULL when not configured). */
const char *ca_eng_updown_uri(const struct ca_eng *e);

typedef int	(*ca_eng_post_fn)(void *arg, const char *uri,
		    const uint8_t *msg, size_t len, uint8_t **reply,
		    size_t *replylen, struct cm_err *err);
void	ca_eng_set_transport(struct ca_eng *e, ca_eng_post_fn fn, void *arg);

/*
 * Creates CA handle whose parent is remote: no key and no certificate yet,
 * an empty publication point, and its BPKI identity (ca_eng_bpki), whose
 * certificate is the child_bpki_ta of its RFC 8183 child_request.  A CA
 * that exists and is such a CA is not an error (returns 0); any other
 * existing CA is CM_EEXIST.
 */
int	ca_eng_remote_create(struct ca_eng *e, const char *handle,
	    const char *actor, struct cm_err *err);

/*
 * Records the parent of remote CA handle from its RFC 8183
 * parent_response: the parent's handle, our handle at the parent, the
 * up-down service URI and the parent's BPKI trust anchor (DER, self-signed).
 * Importing again replaces them (a parent that moved).  The first exchange
 * is due at once.  Returns 0 or -1.
 */
int	ca_eng_parent_set(struct ca_eng *e, const char *handle,
	    const char *parent_handle, const char *child_handle,
	    const char *service_uri, const uint8_t *parent_ta, size_t len,
	    const char *actor, struct cm_err *err);

/*
 * One round with the parent of remote CA handle: list; then issue (a new
 * key when the CA has none, else its key again) when the parent lists no
 * current certificate for its key, an entitlement different from the
 * certificate's resources, or a certificate due for renewal; a certificate
 * the parent re-issued on its own is installed; certificates the parent
 * lists for keys that are no longer ours are revoked; an entitlement that
 * is gone withdraws the CA's publication point and retires its key.  An
 * installed certificate becomes the CA's certificate, with the same
 * consequences as for a hosted CA (ROAs outside withdrawn, children
 * shrunk, CRL and manifest re-issued), in one transaction.  The next round
 * is scheduled conf.parent_sync later (sooner after a failure, which is
 * also recorded).  Returns 1 when the CA's certificate changed, 0 when
 * nothing did, -1.
 */
int	ca_eng_parent_sync(struct ca_eng *e, const char *handle,
	    const char *actor, struct cm_err *err);
/*
 * The state of remote CA handle's relation to its parent, as text lines
 * "key value" (parent, child-handle, service-uri, class, entitlement,
 * key, last-sync, next-sync, last-error) into *out (malloc'd).  Returns 0
 * or -1 (CM_ENOTFOUND).
 */
int	ca_eng_parent_show(struct ca_eng *e, const char *handle, char **out,
	    struct cm_err *err);

/*
 * An offline parent (engine_offline.c, docs/offline-ta.md): RFC 6492 in
 * files, see ca/offline.h.
 *
 * ca_eng_parent_offline marks the parent of CA handle as offline (on) or
 * not: the daemon never posts to an offline parent.
 *
 * ca_eng_offline_request writes the request file of a whole round of CA
 * handle into *out (malloc'd JSON, *outlen bytes): list; issue for the
 * active key (or a key made for the first certificate); issue for a roll's
 * pending key; revoke for keys the parent last listed that are no longer
 * ours.  Returns the number of messages, or -1.
 *
 * ca_eng_offline_answer is the parent side: answers every message of the
 * request file req (fn names it; NULL: a refresh that answers nothing) as
 * from a child of parent, re-issues parent's manifest and CRL, and writes
 * the response with every current object of parent's publication points
 * into *out.  Returns 0 or -1 (CM_EPERM: a message that does not verify,
 * is replayed, or is not addressed to parent).
 *
 * ca_eng_offline_import is the child side of a response file, in one
 * transaction: the replies (verified, signing times later than the last),
 * the certificates they carry (installed as a round installs them), and
 * the parent's publication points, checked like a relying party would and
 * published here (mirrored).  Refusals (error_response) are counted in
 * res->refused and logged.  Returns 0 or -1 (nothing changed).
 */
struct ca_eng_offline_result {
	size_t	replies, installed, revoked, refused;
	size_t	published, withdrawn;	/* mirrored objects */
	int	retired;		/* entitled to nothing: withdrawn */
	int	rolling;		/* the parent's key roll (RFC 9691):
					   its successor's point mirrored too */
	int64_t	next_update;		/* of the parent's manifest; 0: none */
};

int	ca_eng_parent_offline(struct ca_eng *e, const char *handle, int on,
	    struct cm_err *err);
int	ca_eng_offline_request(struct ca_eng *e, const char *handle,
	    const char *actor, char **out, size_t *outlen, struct cm_err *err);
int	ca_eng_offline_answer(struct ca_eng *e, const char *parent,
	    const uint8_t *req, size_t reqlen, const char *fn, const char *actor,
	    char **out, size_t *outlen, struct cm_err *err);
int	ca_eng_offline_import(struct ca_eng *e, const char *handle,
	    const uint8_t *text, size_t len, const char *fn, const char *actor,
	    struct ca_eng_offline_result *res, struct cm_err *err);
/*
 * Logs a warning for each mirrored publication point of an offline parent
 * whose manifest expires within the next within seconds.  Returns their
 * number, or -1.
 */
int	ca_eng_offline_due(struct ca_eng *e, int64_t within, struct cm_err *err);

/*
 * ca_eng_parent_sync() for up to max remote CAs whose round is due.  A CA
 * that fails is logged and does not stop the others.  Returns the number
 * of CAs whose certificate changed, or -1 when the due CAs cannot be read.
 */
int	ca_eng_parent_sync_due(struct ca_eng *e, int max, struct cm_err *err);

/*
 * Re-issues what the schedule says is due (manifests and CRLs before their
 * nextUpdate, EE-based objects before they expire), at most max CAs per
 * call, each in its own transaction.  Returns the number of CAs re-issued,
 * or -1.
 */
int	ca_eng_tick(struct ca_eng *e, int max, struct cm_err *err);
/*
 * The same for the CAs of shard shard of nshards (CA id modulo nshards), so
 * that nshards workers, each with its own engine and database connection,
 * re-issue in parallel and never touch the same CA.
 */
int	ca_eng_tick_shard(struct ca_eng *e, int max, int shard, int nshards,
	    struct cm_err *err);

/*
 * The internal validator over the whole repository (ca/engine_check.c):
 * for every key of every hosted CA, each current object is checked as
 * before a commit (strict parse, signed by the key, resources within the
 * CA's; the CRL lists exactly the unexpired revoked serials; the manifest
 * exactly the key's files with their hashes) and must be valid at the
 * engine's now (certificates within notBefore..notAfter, CRLs and
 * manifests between thisUpdate and nextUpdate).  Changes nothing.
 * Returns the number of objects checked, or -1 with err naming the first
 * failure.
 */
int	ca_eng_check(struct ca_eng *e, struct cm_err *err);

#endif
