/* The database-backed repository: publishers and RFC 8181 apply. */
#include "publish/pub_repo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cm_enc.h"
#include "publish/pub_oob.h"
#include "publish/pub_uri.h"

void
pub_publisher_clear(struct pub_publisher *p)
{
	if (p == NULL)
		return;
	free(p->handle);
	free(p->base_uri);
	free(p->id_cert);
	memset(p, 0, sizeof(*p));
}

int
pub_repo_publisher_get(struct db *db, const char *handle,
    struct pub_publisher *out, struct cm_err *err)
{
	struct db_params	 pa;
	struct db_res		*r = NULL;
	const uint8_t		*der;
	size_t			 len;
	int			 rc = -1;

	memset(out, 0, sizeof(*out));
	db_params_init(&pa);
	db_param_text(&pa, handle);
	if (db_exec(db, "SELECT id, handle, base_uri, id_cert FROM publisher "
	    "WHERE handle = $1 AND deleted_at IS NULL", &pa, &r, err) == -1)
		return -1;
	if (db_res_rows(r) != 1) {
		cm_err_set(err, CM_ENOTFOUND, handle, "no such publisher");
		goto out;
	}
	if (db_res_int64(r, 0, 0, &out->id, err) == -1)
		goto out;
	out->handle = strdup(db_res_text(r, 0, 1));
	out->base_uri = strdup(db_res_text(r, 0, 2));
	if (out->handle == NULL || out->base_uri == NULL) {
		cm_err_set(err, CM_ENOMEM, handle, "out of memory");
		goto out;
	}
	if (!db_res_isnull(r, 0, 3)) {
		if (db_res_bytea(r, 0, 3, &der, &len, err) == -1)
			goto out;
		if ((out->id_cert = malloc(len ? len : 1)) == NULL) {
			cm_err_set(err, CM_ENOMEM, handle, "out of memory");
			goto out;
		}
		memcpy(out->id_cert, der, len);
		out->id_cert_len = len;
	}
	rc = 0;
out:
	if (rc == -1)
		pub_publisher_clear(out);
	db_res_free(r);
	return rc;
}

struct add_arg {
	const char	*handle, *base;
	const uint8_t	*cert;
	size_t		 certlen;
	int64_t		 id;
};

static int
add_tx(struct db *db, void *v, struct cm_err *err)
{
	struct add_arg		*a = v;
	struct db_params	 pa;
	struct db_res		*r = NULL;
	int			 n;

	/* Serialise additions so that the overlap check holds. */
	if (db_exec(db, "LOCK TABLE publisher IN SHARE ROW EXCLUSIVE MODE",
	    NULL, NULL, err) == -1)
		return -1;
	db_params_init(&pa);
	db_param_text(&pa, a->base);
	n = db_exec(db, "SELECT handle FROM publisher WHERE deleted_at IS NULL "
	    "AND (starts_with($1, base_uri) OR starts_with(base_uri, $1))",
	    &pa, &r, err);
	if (n > 0)
		cm_err_set(err, CM_EEXIST, a->base, "base URI overlaps the "
		    "base URI of publisher %s", db_res_text(r, 0, 0));
	db_res_free(r);
	r = NULL;
	if (n != 0)
		return -1;
	db_params_init(&pa);
	db_param_text(&pa, a->handle);
	db_param_text(&pa, a->base);
	db_param_bytea(&pa, a->cert, a->certlen);
	if (db_exec(db, "INSERT INTO publisher (handle, base_uri, id_cert) "
	    "VALUES ($1, $2, $3) RETURNING id", &pa, &r, err) == -1)
		return -1;
	n = db_res_int64(r, 0, 0, &a->id, err);
	db_res_free(r);
	return n;
}

int
pub_repo_publisher_add(struct db *db, const char *handle,
    const char *base_uri, const uint8_t *id_cert, size_t id_cert_len,
    int64_t *id, struct cm_err *err)
{
	struct add_arg	a = { handle, base_uri, id_cert, id_cert_len, 0 };

	if (handle[0] == '\0' || !pub_oob_handle_ok(handle))
		return cm_err_set(err, CM_EINVAL, handle, "publisher handle "
		    "must match [-_A-Za-z0-9/]{1,255}");
	if (pub_uri_check_base(base_uri, err) == -1)
		return cm_err_wrap(err, handle);
	if (db_tx(db, NULL, add_tx, &a, err) == -1)
		return cm_err_wrap(err, handle);
	if (id != NULL)
		*id = a.id;
	return 0;
}

int
pub_repo_signing_time(struct db *db, int64_t id, int64_t signing_time,
    struct cm_err *err)
{
	struct db_params	pa;
	int			n;

	db_params_init(&pa);
	db_param_int(&pa, id);
	db_param_int(&pa, signing_time);
	n = db_exec(db, "UPDATE publisher SET last_signing_time = "
	    "to_timestamp($2) WHERE id = $1 AND (last_signing_time IS NULL OR "
	    "last_signing_time < to_timestamp($2))", &pa, NULL, err);
	if (n == -1)
		return -1;
	if (n == 0)
		return cm_err_set(err, CM_EPERM, NULL, "CMS signing-time is not "
		    "later than that of the last accepted query (replay)");
	return 0;
}

/*
 * The newest pending change of the URI wins over pub_object; a pending
 * withdraw means the object is gone.
 */
#define LOOKUP_SQL \
	"(SELECT 0, op, sha256(data) FROM pub_change " \
	"WHERE uri = $1 AND serial IS NULL ORDER BY id DESC LIMIT 1) " \
	"UNION ALL (SELECT 1, 'publish', hash FROM pub_object WHERE uri = $1) " \
	"ORDER BY 1 LIMIT 1"

int
pub_repo_lookup(struct db *db, const char *uri, uint8_t hash[32],
    struct cm_err *err)
{
	struct db_stmt		*st;
	struct db_params	 pa;
	struct db_res		*r = NULL;
	const uint8_t		*h;
	size_t			 len;
	int			 rc = -1;

	if (db_prepare(db, LOOKUP_SQL, &st, err) == -1)
		return -1;
	db_params_init(&pa);
	db_param_text(&pa, uri);
	if (db_exec_stmt(db, st, &pa, &r, err) == -1)
		return -1;
	if (db_res_rows(r) == 0 || strcmp(db_res_text(r, 0, 1), "publish")) {
		rc = 0;
		goto out;
	}
	if (db_res_bytea(r, 0, 2, &h, &len, err) == -1)
		goto out;
	if (len != 32) {
		cm_err_set(err, CM_EDB, uri, "stored hash is not SHA-256");
		goto out;
	}
	memcpy(hash, h, 32);
	rc = 1;
out:
	db_res_free(r);
	return rc;
}

static int
list_all(struct db *db, const struct pub_publisher *p, const char *tag,
    struct pub_msg *reply, struct cm_err *err)
{
	struct db_params	 pa;
	struct db_res		*r = NULL;
	const uint8_t		*h;
	size_t			 len;
	int			 i, n, rc = -1;

	db_params_init(&pa);
	db_param_int(&pa, p->id);
	n = db_exec(db, "WITH c AS (SELECT DISTINCT ON (uri) uri, op, "
	    "sha256(data) AS hash FROM pub_change WHERE publisher_id = $1 AND "
	    "serial IS NULL ORDER BY uri, id DESC) "
	    "SELECT uri, hash FROM pub_object o WHERE publisher_id = $1 AND "
	    "NOT EXISTS (SELECT 1 FROM c WHERE c.uri = o.uri) "
	    "UNION ALL SELECT uri, hash FROM c WHERE op = 'publish' "
	    "ORDER BY 1", &pa, &r, err);
	if (n == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if (db_res_bytea(r, i, 1, &h, &len, err) == -1)
			goto out;
		if (len != 32) {
			cm_err_set(err, CM_EDB, db_res_text(r, i, 0),
			    "stored hash is not SHA-256");
			goto out;
		}
		if (pub_msg_add(reply, PUB_PDU_LIST, tag, db_res_text(r, i, 0),
		    h, NULL, 0, err) == -1)
			goto out;
	}
	rc = 0;
out:
	db_res_free(r);
	return rc;
}

/* Checks one publish or withdraw against the current state. */
static int
check_pdu(struct db *db, const struct pub_pdu *q, enum pub_errcode *code,
    struct cm_err *err)
{
	uint8_t	cur[32];
	char	hex[65];
	int	n;

	if ((n = pub_repo_lookup(db, q->uri, cur, err)) == -1) {
		*code = PUB_ERR_OTHER_ERROR;
		return -1;
	}
	if (q->type == PUB_PDU_PUBLISH && !q->has_hash) {
		if (n == 1) {
			*code = PUB_ERR_OBJECT_ALREADY_PRESENT;
			return cm_err_set(err, CM_EINVAL, q->uri, "publish "
			    "without hash, but the object exists (give the "
			    "hash of the current object to replace it)");
		}
		return 0;
	}
	if (n == 0) {
		*code = PUB_ERR_NO_OBJECT_PRESENT;
		return cm_err_set(err, CM_EINVAL, q->uri, "%s with hash, but "
		    "there is no object at this URI", q->type ==
		    PUB_PDU_PUBLISH ? "publish" : "withdraw");
	}
	if (memcmp(cur, q->hash, 32) != 0) {
		cm_hex_encode(cur, 32, hex);
		*code = PUB_ERR_NO_OBJECT_MATCHING_HASH;
		return cm_err_set(err, CM_EINVAL, q->uri, "hash does not match "
		    "the current object (sha256 %s)", hex);
	}
	return 0;
}

static int
queue_pdu(struct db *db, const struct pub_publisher *p,
    const struct pub_pdu *q, struct cm_err *err)
{
	struct db_stmt		*st;
	struct db_params	 pa;

	if (db_prepare(db, "INSERT INTO pub_change (publisher_id, op, uri, "
	    "old_hash, data) VALUES ($1, $2, $3, $4, $5)", &st, err) == -1)
		return -1;
	db_params_init(&pa);
	db_param_int(&pa, p->id);
	db_param_text(&pa, q->type == PUB_PDU_PUBLISH ? "publish" : "withdraw");
	db_param_text(&pa, q->uri);
	db_param_bytea(&pa, q->has_hash ? q->hash : NULL, 32);
	db_param_bytea(&pa, q->type == PUB_PDU_PUBLISH ? q->data : NULL,
	    q->len);
	return db_exec_stmt(db, st, &pa, NULL, err) == -1 ? -1 : 0;
}

/* Replaces *reply by an error reply for PDU bad of q. */
static int
fail(const struct pub_msg *q, size_t bad, enum pub_errcode code,
    struct pub_msg **reply, int *failed, struct cm_err *err)
{
	struct cm_err	e2;

	pub_msg_free(*reply);
	if ((*reply = pub_msg_new(1)) == NULL ||
	    pub_msg_add_error(*reply, code, err->msg,
	    q->npdus > bad ? &q->pdus[bad] : NULL, &e2) == -1) {
		pub_msg_free(*reply);
		*reply = NULL;
		return cm_err_set(err, CM_ENOMEM, NULL, "out of memory");
	}
	*failed = 1;
	return -1;
}

int
pub_repo_apply_tx(struct db *db, const struct pub_publisher *p,
    const struct pub_msg *q, struct pub_msg **reply, int *failed,
    struct cm_err *err)
{
	struct db_params	 pa;
	enum pub_errcode	 code;
	size_t			 i, bad;
	int			 n;

	*failed = 0;
	if ((*reply = pub_msg_new(1)) == NULL)
		return cm_err_set(err, CM_ENOMEM, NULL, "out of memory");
	if (pub_msg_check_query(q, p->base_uri, &bad, &code, err) == -1)
		return fail(q, bad, code, reply, failed, err);
	/* One query of a publisher at a time: they see each other's changes. */
	db_params_init(&pa);
	db_param_int(&pa, p->id);
	n = db_exec(db, "SELECT 1 FROM publisher WHERE id = $1 AND "
	    "deleted_at IS NULL FOR UPDATE", &pa, NULL, err);
	if (n == -1)
		goto dberr;
	if (n == 0) {
		cm_err_set(err, CM_EPERM, p->handle, "publisher was deleted");
		return fail(q, 0, PUB_ERR_PERMISSION_FAILURE, reply, failed,
		    err);
	}
	for (i = 0; i < q->npdus; i++) {
		const struct pub_pdu *d = &q->pdus[i];

		switch (d->type) {
		case PUB_PDU_LIST:
			if (list_all(db, p, d->tag, *reply, err) == -1)
				goto dberr;
			break;
		case PUB_PDU_PUBLISH:
		case PUB_PDU_WITHDRAW:
			code = PUB_ERR_OTHER_ERROR;
			if (check_pdu(db, d, &code, err) == -1) {
				if (code == PUB_ERR_OTHER_ERROR)
					goto dberr;
				return fail(q, i, code, reply, failed, err);
			}
			if (queue_pdu(db, p, d, err) == -1 ||
			    pub_msg_add(*reply, d->type, d->tag, d->uri, NULL,
			    NULL, 0, err) == -1)
				goto dberr;
			break;
		default:
			cm_err_set(err, CM_EINVAL, NULL, "PDU %zu is not a "
			    "query PDU", i);
			return fail(q, i, PUB_ERR_XML_ERROR, reply, failed, err);
		}
	}
	return 0;
dberr:
	pub_msg_free(*reply);
	*reply = NULL;
	return -1;
}

struct apply_arg {
	const struct pub_publisher	*p;
	const struct pub_msg		*q;
	struct pub_msg			*reply;
	int				 failed;
};

static int
apply_fn(struct db *db, void *v, struct cm_err *err)
{
	struct apply_arg	*a = v;

	pub_msg_free(a->reply);		/* from an earlier attempt */
	a->reply = NULL;
	return pub_repo_apply_tx(db, a->p, a->q, &a->reply, &a->failed, err);
}

int
pub_repo_apply(struct db *db, const struct pub_publisher *p,
    const struct pub_msg *q, struct pub_msg **reply, struct cm_err *err)
{
	struct apply_arg	a = { p, q, NULL, 0 };

	*reply = NULL;
	if (db_tx(db, NULL, apply_fn, &a, err) == -1 && !a.failed) {
		pub_msg_free(a.reply);
		return cm_err_wrap(err, p->handle);
	}
	*reply = a.reply;
	return 0;
}
