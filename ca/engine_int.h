/*
 * Internal to the CA engine (ca/engine*.c): the loaded state of one CA and
 * the helpers that write its publication point.  All functions run inside
 * the caller's transaction on db.
 */
#ifndef CA_ENGINE_INT_H
#define CA_ENGINE_INT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "ca/cert.h"
#include "ca/engine.h"

#define ENG_HANDLE_MAX	64
#define ENG_URI_MAX	512
/* Certificates start a little in the past: relying parties' clocks drift. */
#define ENG_BACKDATE	300

struct ca_eng {
	struct ca_eng_conf	 conf;
	struct db		*db;
	struct hsm		*hsm;
	struct hsm_pool		*pool;
	const struct cm_clock	*clock;
	struct cm_clock		 real;
	ca_eng_post_fn		 post;		/* RFC 6492 child side; NULL: none */
	void			*post_arg;
	/*
	 * One-time EE keys made ahead for the bulk operation under way
	 * (engine_bulk.c); eng_ee_key() hands these out before asking the
	 * pool.  Owned by that operation, NULL otherwise.
	 */
	EVP_PKEY		**ee_stash;
	size_t			 ee_nstash;
};

/* A CA with its active key, locked FOR UPDATE by eng_load_ca(). */
struct eng_ca {
	int64_t		 id, parent_id, publisher_id;
	int		 is_ta;
	char		 handle[ENG_HANDLE_MAX + 1];
	char		 repo[ENG_URI_MAX];	/* caRepository */
	char		 key_id[HSM_KEY_ID_LEN + 1];
	char		 key_state[16];		/* pending, active, old */
	char		 cert_uri[ENG_URI_MAX];
	char		 crl_name[32], mft_name[32];
	int64_t		 next_crl, next_mft;
	int64_t		 not_after;		/* of the CA certificate */
	struct hsm_key	*key;			/* owned */
	X509		*cert;			/* owned */
	struct ca_res	*res;			/* owned; as certified */
	/*
	 * Resource classes (a remote parent may list several, RFC 6492): the
	 * CA's active keys, one per class, and whether this is the active key
	 * of a further class (not the one eng_load_ca() picks, which is the
	 * class published in the CA's own directory).  Children and router
	 * certificates are issued under that first class only.
	 */
	int		 nactive;
	int		 secondary;
};

/* One object to write into a publication point; all borrowed. */
struct eng_obj {
	const char	*kind;		/* issued_object.kind */
	const char	*name;		/* file name */
	const char	*repo;		/* NULL: the CA's own publication point */
	int64_t		 publisher;	/* 0: the CA's own publisher */
	const uint8_t	*der;
	size_t		 len;
	char		 serial[64];	/* decimal; "" for CRLs */
	int64_t		 not_before, not_after, reissue_at;	/* reissue 0: none */
	const char	*subject;
};

int64_t	eng_now(const struct ca_eng *e);
/*
 * The three families of r in the RFC 6492 text form into t[0..2] (AS, IPv4,
 * IPv6; malloc'd, free with eng_free_texts() also on failure), and back.
 */
int	eng_res_texts(const struct ca_res *r, char *t[3], struct cm_err *err);
void	eng_free_texts(char *t[3]);
int	eng_res_parse(const char *as, const char *v4, const char *v6,
	    const char *obj, struct ca_res **out, struct cm_err *err);
/* min(a, b): nothing a CA signs may outlive its own certificate. */
int64_t	eng_min(int64_t a, int64_t b);
int	eng_handle_ok(const char *h);
/* "<first 16 hex digits of the key id>.<ext>" */
void	eng_keyname(const char *key_id, const char *ext, char *out, size_t len);
/* A one-time EE key (the caller frees it). */
int	eng_ee_key(struct ca_eng *e, EVP_PKEY **out, struct cm_err *err);
/* A random certificate serial, binary and decimal. */
int	eng_serial(uint8_t serial[20], size_t *len, char dec[64],
	    struct cm_err *err);
/*
 * Starts ss for an object that c's key signs at uri (c's CRL at crl) at
 * time now: a one-time EE key into *ee (the caller frees it, also on
 * failure), a fresh serial (decimal into serial), and an EE certificate
 * valid from now - ENG_BACKDATE for the schedule's EE validity, never past
 * c's own.  Returns 0 or -1.
 */
struct ca_sigobj_spec;
int	eng_sigobj_spec(struct ca_eng *e, const struct eng_ca *c,
	    const char *uri, const char *crl, int64_t now,
	    struct ca_sigobj_spec *ss, EVP_PKEY **ee, char serial[64],
	    struct cm_err *err);
/*
 * Deletes key k, new and referred to by nothing after a failure, from the
 * signer and frees it; a failure is only logged, naming handle.  NULL is
 * ok.
 */
void	eng_key_discard(struct hsm_key *k, const char *handle);
/*
 * Creates a key labelled label in the signer into *key (which fn may read
 * through arg) and runs fn(arg) in a transaction; when that fails, the key
 * is deleted again and *key is NULL.  On success the caller owns *key
 * (hsm_key_free()).  Returns 0 or -1.
 */
int	eng_new_key_tx(struct ca_eng *e, const char *handle, const char *label,
	    db_tx_fn fn, void *arg, struct hsm_key **key, struct cm_err *err);
/*
 * Deletes key key_id, retired for good, of CA handle from the signer; a
 * failure is only logged, what naming the key ("key", "trust anchor key").
 */
void	eng_key_delete(struct ca_eng *e, const char *handle, const char *key_id,
	    const char *what);

int	eng_load_ca(struct ca_eng *e, struct db *db, const char *handle,
	    struct eng_ca *c, struct cm_err *err);
/* The same with key key_id of the CA (any state) instead of the active one. */
int	eng_load_ca_key(struct ca_eng *e, struct db *db, const char *handle,
	    const char *key_id, struct eng_ca *c, struct cm_err *err);
void	eng_ctx_clear(struct eng_ca *c);
/*
 * The id (and, when created is not NULL, the creation time) of CA ca_id's
 * key in state ("pending", "old") into id: 0 found, 1 none, -1.
 */
int	eng_key_in_state(struct db *db, int64_t ca_id, const char *state,
	    char id[HSM_KEY_ID_LEN + 1], int64_t *created, struct cm_err *err);

/*
 * Writes o as the current object at its URI: the previous one there is
 * withdrawn (its certificate revoked) and replaced in the same publication
 * intent.
 */
int	eng_put(struct db *db, const struct eng_ca *c, const struct eng_obj *o,
	    struct cm_err *err);
/*
 * Issues a certificate with c's key and writes it as <name> into c's
 * publication point (eng_put: a certificate already there is replaced and
 * revoked).  s holds the subject's part (kind, subject key, CN, notAfter,
 * SIA, resources); the issuer's part (issuer, key, serial, notBefore, CRLDP,
 * AIA) is filled in here.  With renew, the object gets a renewal time from
 * the schedule, seeded with subject and seed.  When der is not NULL it gets
 * a copy of the certificate (malloc'd).  Returns 0 or -1.
 */
/*
 * When to renew an object of c's that expires at not_after (seed from
 * ca_sched_seed()): the schedule's ca_sched_ee_renew(), except for an
 * object cut short by c's own certificate (not_after is c's notAfter),
 * which gains nothing from a renewal before that certificate is renewed:
 * it follows that renewal (the certificate's reissue_at, plus
 * ENG_FOLLOW_DELAY and up to ENG_FOLLOW_JITTER), never later than half the
 * renewal margin before it expires, and never earlier than
 * ENG_FOLLOW_DELAY from now, so that a parent that falls behind makes it
 * retry hourly instead of at every tick.  Returns 0 or -1.
 */
#define ENG_FOLLOW_DELAY	3600
#define ENG_FOLLOW_JITTER	(6 * 3600)
int	eng_renew_at(struct ca_eng *e, struct db *db, const struct eng_ca *c,
	    uint64_t seed, int64_t not_after, int64_t *out, struct cm_err *err);
int	eng_issue_cert(struct ca_eng *e, struct db *db, const struct eng_ca *c,
	    struct ca_cert_spec *s, const char *name, const char *subject,
	    int renew, uint64_t seed, uint8_t **der, size_t *len,
	    struct cm_err *err);
/* Withdraws the current object at uri, if any, and revokes its certificate. */
int	eng_withdraw(struct db *db, const struct eng_ca *c, const char *uri,
	    struct cm_err *err);
/* Re-issues the CRL and the manifest of c's key over its current files. */
int	eng_publish_pp(struct ca_eng *e, struct db *db, struct eng_ca *c,
	    struct cm_err *err);
/*
 * Trust anchor key roll (engine_ta.c), called by eng_publish_pp() for a
 * trust anchor's key before its CRL and manifest: for the active key
 * during a roll, the pending key's publication point gets the children's
 * certificates re-issued since (and loses those withdrawn), both keys
 * their TAK (RFC 9691) when missing, stale or due, and the pending key a
 * new CRL and manifest; out of a roll, a TAK the key publishes is renewed
 * when due.  Does nothing for other keys.  Returns 0 or -1.
 */
int	eng_ta_sync(struct ca_eng *e, struct db *db, struct eng_ca *c,
	    struct cm_err *err);
/*
 * The internal validator (engine_check.c): checks what this transaction
 * wrote with c's key like a relying party would.  Returns 0, or -1
 * (CM_ESTATE, logged as an alert) so that the transaction rolls back.
 */
int	eng_check_pp(struct ca_eng *e, struct db *db, const struct eng_ca *c,
	    struct cm_err *err);
/*
 * After c's certificate changed (its resources may have shrunk): shrinks its
 * children to what it holds, brings its ROAs and ASPAs in line, re-issues
 * its CRL and manifest.  Returns 0 or -1.
 */
int	eng_after_recert(struct ca_eng *e, struct db *db, struct eng_ca *c,
	    struct cm_err *err);
/*
 * Child side of RFC 6492 (engine_parent*.c): what a round needs to know
 * about a CA and its remote parent.  eng_parent_begin() takes the CA's
 * round lock (a session advisory lock that serialises rounds, key roll
 * requests and revocations of one CA across processes) and loads the state
 * under it; eng_parent_end() frees it and releases the lock.
 * eng_parent_exchange() signs q (sender and recipient are filled in) with
 * the CA's BPKI identity, posts it, verifies the reply against the
 * parent's BPKI certificate and its signing time against the last one
 * accepted, and returns it (*out, free with ca_ud_free()) when it is of
 * type want; an error_response is a failure naming the RFC 6492 status.
 */
#define ENG_PARENT_HANDLE_MAX	255
#define ENG_CLASS_MAX		64

/* The keys of one resource class, as stored (ca_key.class). */
struct eng_pclass {
	char		 name[ENG_CLASS_MAX];
	char		 repo[ENG_URI_MAX];	/* its publication point */
	char		 active[HSM_KEY_ID_LEN + 1];	/* "" if none */
	char		 pending[HSM_KEY_ID_LEN + 1];
	char		 old[HSM_KEY_ID_LEN + 1];
	uint8_t		*cert;				/* the active key's */
	size_t		 certlen;
	int		 seen;		/* listed in this round */
};

struct eng_parent {
	int64_t		 ca_id;
	const char	*handle;
	char		 parent[ENG_PARENT_HANDLE_MAX + 1];
	char		 child[ENG_PARENT_HANDLE_MAX + 1];
	char		 uri[ENG_URI_MAX];
	char		 repo[ENG_URI_MAX];
	X509		*ta;
	int64_t		 last_sent, last_reply;
	char		 active[HSM_KEY_ID_LEN + 1];	/* "" if none */
	char		 pending[HSM_KEY_ID_LEN + 1];
	char		 old[HSM_KEY_ID_LEN + 1];	/* a roll's old key */
	char		 klass[ENG_CLASS_MAX];		/* the active key's */
	uint8_t		*cert;				/* the active key's */
	size_t		 certlen;
	int		 offline;	/* messages travel as files */
	/*
	 * Every class with a key (the fields above are those of the first,
	 * the one eng_load_ca() picks; an offline parent has only that one).
	 */
	struct eng_pclass *classes;
	size_t		 nclasses;
};

int	eng_parent_begin(struct ca_eng *e, const char *handle,
	    struct eng_parent *pi, struct cm_err *err);
void	eng_parent_end(struct ca_eng *e, const char *handle,
	    struct eng_parent *pi);
int	eng_parent_exchange(struct ca_eng *e, struct eng_parent *pi,
	    struct ca_ud_msg *q, enum ca_ud_type want, struct ca_ud_msg **out,
	    struct cm_err *err);
/*
 * The two halves of an exchange, for an offline parent whose messages
 * travel as files (engine_offline.c): eng_parent_sign() signs q into *msg
 * (malloc'd) and records its signing time; eng_parent_accept() verifies a
 * reply and its signing time (recorded with e's connection, so inside the
 * caller's transaction) and returns it whatever its type, error_response
 * included (*out, free with ca_ud_free()).  Each returns 0 or -1.
 */
int	eng_parent_sign(struct ca_eng *e, struct eng_parent *pi,
	    struct ca_ud_msg *q, uint8_t **msg, size_t *len, struct cm_err *err);
int	eng_parent_accept(struct ca_eng *e, struct eng_parent *pi,
	    const uint8_t *reply, size_t rlen, struct ca_ud_msg **out,
	    struct cm_err *err);
/*
 * Installs certificate uc of class cl (from a reply of the parent) for key
 * key_id in state ("active" or "pending") inside the caller's transaction,
 * after checking it like a round does (a CA certificate for that key with
 * our SIA, signed by the class's issuer, with resources).  Returns 0 or -1.
 */
int	eng_parent_install(struct ca_eng *e, struct db *db,
	    const struct eng_parent *pi, const struct ca_ud_class *cl,
	    const struct ca_ud_cert *uc, const char *key_id, const char *state,
	    const char *actor, struct cm_err *err);
/*
 * The parent entitles us to nothing any more: withdraws everything of the
 * CA and retires its keys, inside the caller's transaction.  Returns 0 or
 * -1.
 */
int	eng_parent_retire(struct ca_eng *e, struct db *db,
	    const struct eng_parent *pi, const char *actor, struct cm_err *err);
/*
 * Resource classes of a CA with a remote parent (engine_class.c), used by
 * the rounds of engine_parent.c.  eng_class_union() sets the CA's
 * resources (ca_resources) to the union of its active keys' certificates,
 * inside the caller's transaction.  eng_class_repo() gives the publication
 * point of class name: where its keys publish; for a new class the CA's
 * own directory when no other class uses it, otherwise a subdirectory
 * named after the class (after a hash of the name when it is not a plain
 * word: class names are the parent's choice).  eng_class_note() records
 * what the parent lists for class cl (ca_parent_class), eng_class_forget()
 * forgets the recorded classes that list a does not name.  Each returns 0
 * or -1.
 */
int	eng_class_union(struct db *db, const struct eng_parent *pi,
	    struct cm_err *err);
int	eng_class_repo(struct ca_eng *e, const struct eng_parent *pi,
	    const char *name, char repo[ENG_URI_MAX], struct cm_err *err);
int	eng_class_note(struct ca_eng *e, const struct eng_parent *pi,
	    const struct ca_ud_class *cl, const char *repo, struct cm_err *err);
int	eng_class_forget(struct ca_eng *e, const struct eng_parent *pi,
	    const struct ca_ud_msg *a, struct cm_err *err);
/*
 * Checks a ROA or ASPA configuration against the resources of c's CA: with
 * one resource class as ca_plan_check_roa()/ca_plan_check_aspa() against
 * c->res; with several, one class must hold it all (the prefix, or the
 * customer AS), since each object is signed under one class's key: a
 * prefix that spans two classes is refused (CM_EINVAL) and must be
 * configured as one prefix per class.  Returns 0 or -1.
 */
int	eng_class_check_roa(struct ca_eng *e, struct db *db,
	    const struct eng_ca *c, const struct ca_plan_roa_cfg *cfg,
	    struct cm_err *err);
int	eng_class_check_aspa(struct ca_eng *e, struct db *db,
	    const struct eng_ca *c, const struct ca_plan_aspa_cfg *cfg,
	    struct cm_err *err);
/* The key id (hex SKI) of the subject key of certificate der. */
int	eng_parent_cert_key(const uint8_t *der, size_t len,
	    char id[HSM_KEY_ID_LEN + 1], struct cm_err *err);

/*
 * Shrinks the entitlements of c's delegated children (engine_updown.c) to
 * what c holds, and their current certificates with them (re-issued, or
 * withdrawn when nothing is left), after c's resources shrank.  Returns
 * the number of children changed, or -1.
 */
int	eng_fit_delegated(struct ca_eng *e, struct db *db, struct eng_ca *c,
	    struct cm_err *err);

/*
 * Key roll of a CA whose parent is remote (engine_parent.c), outside any
 * transaction: the parent certifies key (new, borrowed) and it is
 * installed as the CA's pending key; and the parent is asked to revoke the
 * certificate of key key_id.  Each returns 0 or -1.
 */
int	eng_parent_roll_start(struct ca_eng *e, const char *handle,
	    struct hsm_key *key, const char *actor, struct cm_err *err);
int	eng_parent_revoke(struct ca_eng *e, const char *handle,
	    const char *key_id, struct cm_err *err);
/* ---- creating CAs (engine.c), shared with the bulk path (engine_bulk.c) */

/* res has no inherit and is not empty (CM_EINVAL naming who). */
int	eng_explicit_res(const char *who, const struct ca_res *r,
	    struct cm_err *err);
/* res lies within p's certified resources (CM_EINVAL naming child). */
int	eng_within_parent(const struct eng_ca *p, const char *child,
	    const struct ca_res *res, struct cm_err *err);
/*
 * Inserts the rows of a new CA (ca, ca_resources, its publisher) and its
 * id into *id; CM_EEXIST when the handle is taken.
 */
int	eng_insert_ca(struct db *db, const char *handle, const char *kind,
	    int64_t parent, const char *repo, const struct ca_res *res,
	    int64_t *id, struct cm_err *err);
/* Replaces the certificate of key key_id with der (its URI stays). */
int	eng_set_key_cert(struct db *db, const char *key_id, const uint8_t *der,
	    size_t len, struct cm_err *err);
/* Inserts publisher handle at base; its id into *id unless id is NULL. */
int	eng_insert_publisher(struct db *db, const char *handle, const char *base,
	    int64_t *id, struct cm_err *err);
/*
 * Issues the self-signed certificate of trust anchor key key over res,
 * valid until not_after, with SIA repo and mft, into *der (free with
 * OPENSSL_free(), also on failure), and fills o for it (kind, serial,
 * validity, subject, der); its name, directory and publisher are the
 * caller's.  Errors name who.  Returns 0 or -1.
 */
int	eng_ta_cert(struct ca_eng *e, struct hsm_key *key,
	    const struct ca_res *res, const char *repo, const char *mft,
	    int64_t not_after, const char *who, struct eng_obj *o, uint8_t **der,
	    struct cm_err *err);
/* Inserts key key_id of CA ca_id as its active key, with its certificate. */
int	eng_insert_key(struct db *db, const char *key_id, int64_t ca_id,
	    const uint8_t *cert, size_t len, const char *cert_uri,
	    struct cm_err *err);
/*
 * Issues (or re-issues) the certificate of child key child_key for the
 * child CA child in the publication point of parent p, over res.  The DER
 * goes to *der (malloc'd, the caller frees it) and its URI to uri.  p's
 * CRL and manifest are not re-issued: that is the caller's.
 */
int	eng_issue_child_cert(struct ca_eng *e, struct db *db, struct eng_ca *p,
	    const char *child, const char *child_repo, EVP_PKEY *child_key,
	    const char *child_key_id, const struct ca_res *res, uint8_t **der,
	    size_t *len, char uri[ENG_URI_MAX], struct cm_err *err);

/*
 * Queues one publication intent of publisher: op "publish" (der, replacing
 * the object of hash old_hash when not NULL) or "withdraw" (old_hash).
 */
int	eng_outbox(struct db *db, int64_t publisher, const char *op,
	    const char *uri, const uint8_t *old_hash, const uint8_t *der,
	    size_t len, struct cm_err *err);
int	eng_audit(struct db *db, const char *actor, const char *action,
	    int64_t ca_id, const char *object, struct cm_err *err);

#endif
