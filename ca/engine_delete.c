/*
 * ca_eng: deleting a hosted CA.  Everything it published is withdrawn and
 * its parent revokes its certificates, in one transaction (so in one
 * publication batch); its keys leave the signer after the commit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca/engine_int.h"
#include "common/cm_log.h"

#define DEL_MAXKEYS	8	/* active, pending, old, BPKI identity */

struct delete_arg {
	struct ca_eng	*e;
	const char	*handle, *actor;
	/* Filled by the transaction: the signer keys to destroy after it. */
	char		 keys[DEL_MAXKEYS][HSM_KEY_ID_LEN + 1];
	int		 nkeys;
};

/* CM_ESTATE when CA id still has hosted or delegated children. */
static int
no_children(struct db *db, const struct eng_ca *c, struct cm_err *err)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	int64_t			 hosted, delegated;
	int			 rc = -1;

	db_params_init(&p);
	db_param_int(&p, c->id);
	if (db_exec(db, "SELECT (SELECT count(*) FROM ca WHERE parent_id = $1 "
	    "AND deleted_at IS NULL), (SELECT count(*) FROM ca_child WHERE "
	    "ca_id = $1 AND deleted_at IS NULL)", &p, &r, err) == -1 ||
	    db_res_int64(r, 0, 0, &hosted, err) == -1 ||
	    db_res_int64(r, 0, 1, &delegated, err) == -1)
		goto out;
	if (hosted + delegated > 0) {
		cm_err_set(err, CM_ESTATE, c->handle, "the CA has %lld child "
		    "CA(s) (%lld hosted, %lld delegated); delete them first",
		    (long long)(hosted + delegated), (long long)hosted,
		    (long long)delegated);
		goto out;
	}
	rc = 0;
out:
	db_res_free(r);
	return rc;
}

/* Withdraws every uri that sql (with $1 = CA id) returns, as pp writes. */
static int
withdraw_all(struct db *db, const struct eng_ca *pp, int64_t id,
    const char *sql, struct cm_err *err)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	int			 i, n, rc = -1;

	db_params_init(&p);
	db_param_int(&p, id);
	if ((n = db_exec(db, sql, &p, &r, err)) == -1)
		return -1;
	for (i = 0; i < n; i++)
		if (eng_withdraw(db, pp, db_res_text(r, i, 0), err) == -1)
			goto out;
	rc = 0;
out:
	db_res_free(r);
	return rc;
}

/* Collects the CA's signer keys (CA keys not revoked, BPKI identity). */
static int
collect_keys(struct db *db, struct delete_arg *a, int64_t id,
    struct cm_err *err)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	int			 i, n;

	db_params_init(&p);
	db_param_int(&p, id);
	if ((n = db_exec(db, "SELECT id FROM ca_key WHERE ca_id = $1 AND state "
	    "<> 'revoked' UNION ALL SELECT id_key FROM ca WHERE id = $1 AND "
	    "id_key IS NOT NULL", &p, &r, err)) == -1)
		return -1;
	for (i = 0; i < n && a->nkeys < DEL_MAXKEYS; i++)
		snprintf(a->keys[a->nkeys++], sizeof(a->keys[0]), "%s",
		    db_res_text(r, i, 0));
	db_res_free(r);
	return 0;
}

static int
delete_tx(struct db *db, void *arg, struct cm_err *err)
{
	struct delete_arg	*a = arg;
	struct eng_ca		 p, c;
	struct db_params	 q;
	struct db_res		*r = NULL;
	char			 parent[ENG_HANDLE_MAX + 1];
	int			 n, rc = -1;

	memset(&p, 0, sizeof(p));
	memset(&c, 0, sizeof(c));
	a->nkeys = 0;
	/* The parent is locked first, as when CAs are created below it. */
	db_params_init(&q);
	db_param_text(&q, a->handle);
	if ((n = db_exec(db, "SELECT c.kind, coalesce(p.handle, '') FROM ca c "
	    "LEFT JOIN ca p ON p.id = c.parent_id WHERE c.handle = $1 AND "
	    "c.deleted_at IS NULL", &q, &r, err)) == -1)
		return -1;
	if (n == 0) {
		db_res_free(r);
		return cm_err_set(err, CM_ENOTFOUND, a->handle, "no such CA");
	}
	if (strcmp(db_res_text(r, 0, 0), "ta") == 0 ||
	    *db_res_text(r, 0, 1) == '\0') {
		db_res_free(r);
		return cm_err_set(err, CM_ESTATE, a->handle, "only hosted CAs "
		    "with a parent here can be deleted (a trust anchor is "
		    "retired by its operator)");
	}
	snprintf(parent, sizeof(parent), "%s", db_res_text(r, 0, 1));
	db_res_free(r);
	if (eng_load_ca(a->e, db, parent, &p, err) == -1 ||
	    eng_load_ca(a->e, db, a->handle, &c, err) == -1 ||
	    no_children(db, &c, err) == -1 ||
	    collect_keys(db, a, c.id, err) == -1)
		goto out;
	/* The CA's own products: ROAs, ASPAs, router certificates, CRLs,
	 * manifests (the certificates among them are revoked, for the
	 * record: the CRLs that would list them go too). */
	if (withdraw_all(db, &c, c.id, "SELECT uri FROM issued_object WHERE "
	    "ca_id = $1 AND withdrawn_at IS NULL ORDER BY id", err) == -1)
		goto out;
	/* Its certificates in the parent's publication point, revoked there. */
	if (withdraw_all(db, &p, c.id, "SELECT cert_uri FROM ca_key WHERE "
	    "ca_id = $1 AND state <> 'revoked' AND cert_uri IS NOT NULL",
	    err) == -1)
		goto out;
	db_params_init(&q);
	db_param_int(&q, c.id);
	db_param_int(&q, eng_now(a->e));
	if (db_exec(db, "UPDATE ca_key SET state = 'revoked', revoked_at = "
	    "to_timestamp($2::bigint) WHERE ca_id = $1 AND state <> 'revoked'",
	    &q, NULL, err) == -1 ||
	    db_exec(db, "UPDATE ca SET deleted_at = to_timestamp($2::bigint) "
	    "WHERE id = $1", &q, NULL, err) == -1)
		goto out;
	db_params_init(&q);
	db_param_int(&q, c.id);
	if (db_exec(db, "DELETE FROM roa_config WHERE ca_id = $1", &q, NULL,
	    err) == -1 ||
	    db_exec(db, "DELETE FROM aspa_config WHERE ca_id = $1", &q, NULL,
	    err) == -1)
		goto out;
	db_params_init(&q);
	db_param_int(&q, c.publisher_id);
	if (db_exec(db, "UPDATE publisher SET deleted_at = now() WHERE id = $1",
	    &q, NULL, err) == -1 ||
	    eng_publish_pp(a->e, db, &p, err) == -1 ||
	    eng_audit(db, a->actor, "ca.delete", c.id, a->handle, err) == -1 ||
	    eng_audit(db, a->actor, "ca.delete", p.id, a->handle, err) == -1)
		goto out;
	rc = 0;
out:
	eng_ctx_clear(&c);
	eng_ctx_clear(&p);
	return rc;
}

int
ca_eng_ca_delete(struct ca_eng *e, const char *handle, const char *actor,
    struct cm_err *err)
{
	struct delete_arg	 a;
	struct hsm_key		*k = NULL;
	struct cm_err		 e2;
	int			 i;

	memset(&a, 0, sizeof(a));
	a.e = e;
	a.handle = handle;
	a.actor = actor;
	if (db_tx(e->db, NULL, delete_tx, &a, err) == -1)
		return -1;
	/* Committed: nothing refers to the keys any more. */
	for (i = 0; i < a.nkeys; i++)
		if (hsm_key_find(e->hsm, a.keys[i], &k, &e2) == -1 ||
		    hsm_key_destroy(k, &e2) == -1)
			cm_warn("%s: key %s of the deleted CA stays in the "
			    "signer: %s", handle, a.keys[i], e2.msg);
	return 0;
}
