/*
 * RFC 8181 publishers through the API (worker thread, admin tokens only):
 * the publication server's tables are in the database cairnd writes its
 * publication intents to, so publishers are added and removed here with
 * the publication server's own functions (publish/pub_repo.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "api/api_int.h"
#include "common/cm_buf.h"
#include "common/cm_log.h"
#include "publish/pub_msg.h"
#include "publish/pub_oob.h"
#include "publish/pub_repo.h"

#define TS(col)	"to_char(" col " AT TIME ZONE 'UTC', " \
		"'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* ?limit= (1..1000, default 100) into *out; 0 or the 422 status. */
static int
get_limit(struct api_call *c, long *out)
{
	char	*lim = api_qparam(c, "limit");
	int	 st;

	st = api_limit(c, lim, out);
	free(lim);
	return st;
}

/* ---- RFC 8181 publishers ---- */

static int
pub_configured(struct api_call *c)
{
	if (c->conf == NULL || c->conf->pub_service_uri == NULL ||
	    c->conf->pub_bpki_cert == NULL)
		return api_error(c, 501, "not_configured", NULL, "publishers "
		    "need [repository] rfc8181-service-uri and rfc8181-bpki-cert "
		    "in cairnd's configuration");
	return 0;
}

/* The DER of the publication server's BPKI certificate (PEM file). */
static int
repo_bpki_der(const char *path, uint8_t **der, size_t *len,
    struct cm_err *err)
{
	BIO	*b;
	X509	*x = NULL;
	int	 n;

	*der = NULL;
	if ((b = BIO_new_file(path, "r")) == NULL ||
	    (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) == NULL) {
		BIO_free(b);
		return cm_err_ssl(err, path, "cannot read the repository's BPKI "
		    "certificate");
	}
	BIO_free(b);
	n = i2d_X509(x, der);
	X509_free(x);
	if (n <= 0)
		return cm_err_ssl(err, path, "cannot encode the certificate");
	*len = (size_t)n;
	return 0;
}

/* The RFC 8183 repository_response for publisher handle (malloc'd XML). */
static int
repo_response(struct api_call *c, const char *handle, const char *sia,
    const char *tag, char **xml, struct cm_err *err)
{
	struct pub_oob	 r;
	struct cm_buf	 out = CM_BUF_INIT;
	uint8_t		*der = NULL;
	size_t		 len = 0;
	char		*svc = NULL;
	int		 rc = -1;

	*xml = NULL;
	memset(&r, 0, sizeof(r));
	if (repo_bpki_der(c->conf->pub_bpki_cert, &der, &len, err) == -1)
		return -1;
	if (asprintf(&svc, "%s%s", c->conf->pub_service_uri, handle) == -1) {
		svc = NULL;
		cm_err_set(err, CM_ENOMEM, handle, "out of memory");
		goto out;
	}
	r.type = PUB_OOB_REPOSITORY_RESPONSE;
	r.tag = (char *)tag;
	r.handle = (char *)handle;
	r.service_uri = svc;
	r.sia_base = (char *)sia;
	r.rrdp_notification_uri = c->conf->eng_conf != NULL ?
	    (char *)c->conf->eng_conf->notify_uri : NULL;
	r.bpki_ta = der;
	r.bpki_ta_len = len;
	if (pub_oob_write(&r, &out, err) == -1 ||
	    cm_buf_add(&out, "", 1) == -1)
		goto out;
	*xml = (char *)cm_buf_steal(&out, NULL);
	rc = 0;
out:
	cm_buf_free(&out);
	OPENSSL_free(der);
	free(svc);
	return rc;
}

#define PUB_COLS	"p.handle, p.id_cert IS NULL, p.base_uri, (SELECT " \
			"count(*) FROM pub_object o WHERE o.publisher_id = " \
			"p.id), " TS("p.created_at")

static json_t *
pub_json(const struct db_res *r, int i)
{
	return json_pack("{s:s, s:s, s:s, s:I, s:s}", "handle",
	    db_res_text(r, i, 0), "kind", strcmp(db_res_text(r, i, 1), "t") ==
	    0 ? "ca" : "remote", "sia_base", db_res_text(r, i, 2), "objects",
	    (json_int_t)atoll(db_res_text(r, i, 3)), "created_at",
	    db_res_text(r, i, 4));
}

int
api_r_publisher_list(struct api_call *c)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	char			*after = api_qparam(c, "after"),
				*kind = api_qparam(c, "kind");
	json_t			*arr, *o;
	long			 limit;
	int			 n, i, st;

	if ((st = get_limit(c, &limit)) != 0)
		goto out;
	if (kind != NULL && strcmp(kind, "ca") != 0 &&
	    strcmp(kind, "remote") != 0) {
		st = api_error(c, 422, "invalid", "kind", "kind must be ca or "
		    "remote");
		goto out;
	}
	db_params_init(&p);
	db_param_text(&p, after != NULL ? after : "");
	db_param_int(&p, limit + 1);
	db_param_text(&p, kind);
	if ((n = api_query(c, "SELECT " PUB_COLS " FROM publisher p WHERE "
	    "p.deleted_at IS NULL AND p.handle COLLATE \"C\" > $1 AND ($3::text "
	    "IS NULL OR (p.id_cert IS NULL) = ($3 = 'ca')) ORDER BY p.handle "
	    "COLLATE \"C\" LIMIT $2", &p, &r)) < 0) {
		st = -n;
		goto out;
	}
	arr = json_array();
	for (i = 0; i < n && i < limit; i++)
		json_array_append_new(arr, pub_json(r, i));
	o = json_pack("{s:o, s:o}", "publishers", arr, "next", n > limit ?
	    json_string(db_res_text(r, (int)limit - 1, 0)) : json_null());
	db_res_free(r);
	st = api_ok(c, 200, o);
out:
	free(after);
	free(kind);
	return st;
}

/* The row of publisher handle (404 publisher_not_found when none). */
static int
pub_row(struct api_call *c, const char *handle, struct db_res **r)
{
	struct db_params	p;
	int			n;

	db_params_init(&p);
	db_param_text(&p, handle);
	if ((n = api_query(c, "SELECT " PUB_COLS " FROM publisher p WHERE "
	    "p.handle = $1 AND p.deleted_at IS NULL", &p, r)) < 0)
		return -n;
	if (n == 0) {
		db_res_free(*r);
		*r = NULL;
		return api_error(c, 404, "publisher_not_found", "handle",
		    "%s: no such publisher", handle);
	}
	return 0;
}

/* Answers the publisher with its repository_response (remote ones). */
static int
pub_answer(struct api_call *c, const char *handle, const char *tag,
    int status)
{
	struct db_res	*r = NULL;
	struct cm_err	 err;
	json_t		*o;
	char		*xml = NULL;
	int		 st;

	if ((st = pub_row(c, handle, &r)) != 0)
		return st;
	o = pub_json(r, 0);
	if (strcmp(db_res_text(r, 0, 1), "f") == 0 && pub_configured(c) == 0) {
		if (repo_response(c, handle, db_res_text(r, 0, 2), tag, &xml,
		    &err) == -1) {
			db_res_free(r);
			json_decref(o);
			return api_error_err(c, &err, NULL);
		}
		json_object_set_new(o, "service_uri", json_pack("s++",
		    c->conf->pub_service_uri, "", handle));
		json_object_set_new(o, "repository_response", json_string(xml));
		free(xml);
	}
	db_res_free(r);
	json_decref(c->out);	/* pub_configured() may have set an error */
	c->out = NULL;
	return api_ok(c, status, o);
}

int
api_r_publisher_add(struct api_call *c)
{
	struct pub_oob	*req = NULL;
	struct cm_err	 err;
	const char	*xml, *handle;
	char		*sia = NULL;
	int		 st;

	if ((st = pub_configured(c)) != 0 ||
	    api_get_str(c, c->body, "publisher_request", "publisher_request",
	    1, &xml) != 0 ||
	    api_get_str(c, c->body, "handle", "handle", 0, &handle) != 0)
		return c->status;
	if (pub_oob_parse("publisher_request", (const uint8_t *)xml,
	    strlen(xml), PUB_OOB_PUBLISHER_REQUEST, &req, &err) == -1)
		return api_error(c, 422, "invalid", "publisher_request", "%s",
		    err.msg);
	if (handle == NULL)
		handle = req->handle;
	if (*handle == '\0' || !pub_oob_handle_ok(handle)) {
		st = api_error(c, 422, "invalid", "handle", "a publisher handle "
		    "is 1 to 255 letters, digits, '-', '_' or '/'");
		goto out;
	}
	if (asprintf(&sia, "%s%s/", c->conf->eng_conf->rsync_base, handle) ==
	    -1) {
		sia = NULL;
		st = api_error(c, 500, "internal", NULL, "out of memory");
		goto out;
	}
	if (pub_repo_publisher_add(c->db, handle, sia, req->bpki_ta,
	    req->bpki_ta_len, NULL, &err) == -1) {
		if (err.code == CM_EEXIST || strncmp(db_sqlstate(c->db), "23505",
		    5) == 0)
			st = api_error(c, 409, "exists", "handle", "%s: a "
			    "publisher with this handle or an overlapping base "
			    "URI exists (%s)", handle, err.msg);
		else
			st = api_error_err(c, &err, "handle");
		goto out;
	}
	if (api_audit(c->db, c->who.name, "publisher.add", 0, handle, &err) == -1)
		cm_warn("api: publisher %s added, not audited: %s", handle,
		    err.msg);
	cm_info("api: publisher %s added with base %s by %s", handle, sia,
	    c->who.name);
	st = pub_answer(c, handle, req->tag, 201);
out:
	free(sia);
	pub_oob_free(req);
	return st;
}

int
api_r_publisher_get(struct api_call *c)
{
	return pub_answer(c, c->params[0], NULL, 200);
}

struct pub_rm_arg {
	struct pub_publisher	 p;
	const char		*actor;
	size_t			 withdrawn;
};

/* Withdraws every current object of the publisher, then retires it. */
static int
pub_remove_tx(struct db *db, void *v, struct cm_err *err)
{
	struct pub_rm_arg	*a = v;
	struct pub_msg		*q = NULL, *cur = NULL, *w = NULL, *rep = NULL;
	struct db_params	 p;
	size_t			 i;
	int			 failed = 0, rc = -1;

	a->withdrawn = 0;
	if ((q = pub_msg_new(0)) == NULL || (w = pub_msg_new(0)) == NULL) {
		cm_err_set(err, CM_ENOMEM, a->p.handle, "out of memory");
		goto out;
	}
	if (pub_msg_add(q, PUB_PDU_LIST, NULL, NULL, NULL, NULL, 0, err) == -1 ||
	    pub_repo_apply_tx(db, &a->p, q, &cur, &failed, err) == -1)
		goto out;
	for (i = 0; i < cur->npdus; i++)
		if (cur->pdus[i].type == PUB_PDU_LIST &&
		    pub_msg_add(w, PUB_PDU_WITHDRAW, NULL, cur->pdus[i].uri,
		    cur->pdus[i].hash, NULL, 0, err) == -1)
			goto out;
	if (w->npdus > 0 &&
	    pub_repo_apply_tx(db, &a->p, w, &rep, &failed, err) == -1)
		goto out;
	a->withdrawn = w->npdus;
	db_params_init(&p);
	db_param_int(&p, a->p.id);
	if (db_exec(db, "UPDATE publisher SET deleted_at = now() WHERE id = $1",
	    &p, NULL, err) == -1 ||
	    api_audit(db, a->actor, "publisher.remove", 0, a->p.handle, err) == -1)
		goto out;
	rc = 0;
out:
	pub_msg_free(q);
	pub_msg_free(cur);
	pub_msg_free(w);
	pub_msg_free(rep);
	return rc;
}

int
api_r_publisher_remove(struct api_call *c)
{
	struct pub_rm_arg	 a;
	struct cm_err		 err;
	struct db_res		*r = NULL;
	int			 st;

	if ((st = pub_row(c, c->params[0], &r)) != 0)
		return st;
	st = strcmp(db_res_text(r, 0, 1), "t") == 0;
	db_res_free(r);
	if (st)
		return api_error(c, 409, "conflict", "handle", "%s is the "
		    "publication point of a CA here: delete the CA instead",
		    c->params[0]);
	memset(&a, 0, sizeof(a));
	if (pub_repo_publisher_get(c->db, c->params[0], &a.p, &err) == -1)
		return api_error_err(c, &err, "handle");
	a.actor = c->who.name;
	if (db_tx(c->db, NULL, pub_remove_tx, &a, &err) == -1) {
		pub_publisher_clear(&a.p);
		return api_error_err(c, &err, "handle");
	}
	st = api_ok(c, 200, json_pack("{s:s, s:b, s:I}", "handle", a.p.handle,
	    "removed", 1, "withdrawn", (json_int_t)a.withdrawn));
	pub_publisher_clear(&a.p);
	return st;
}
