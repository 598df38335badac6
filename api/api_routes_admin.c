/*
 * Administration routes (worker thread): deleting a CA, creating CAs in
 * bulk, API tokens, and listing and removing router certificates.  Tokens
 * are admin-only (the route table says so); the rest works within the
 * token's scope like any other change.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "api/api_int.h"
#include "common/cm_log.h"

#define TS(col)	"to_char(" col " AT TIME ZONE 'UTC', " \
		"'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

int
api_audit(struct db *db, const char *actor, const char *action, int64_t ca_id,
    const char *object, struct cm_err *err)
{
	struct db_params p;

	db_params_init(&p);
	db_param_text(&p, actor);
	db_param_text(&p, action);
	if (ca_id != 0)
		db_param_int(&p, ca_id);
	else
		db_param_text(&p, NULL);
	db_param_text(&p, object);
	return db_exec(db, "INSERT INTO audit_log (actor, action, ca_id, object) "
	    "VALUES ($1, $2, $3, $4)", &p, NULL, err) == -1 ? -1 : 0;
}

/* ---- DELETE /cas/{handle} ---- */

int
api_r_ca_delete(struct api_call *c)
{
	struct db_params	 p;
	struct cm_err		 err;
	int64_t			 id;
	int			 st, n;

	if ((st = api_ca_visible(c, c->params[0], &id, NULL)) != 0)
		return st;
	if (!c->who.admin && id == c->who.ca_id)
		return api_error(c, 403, "forbidden", NULL, "a token's own CA "
		    "is deleted by its parent's operator");
	if (ca_eng_ca_delete(c->eng, c->params[0], c->who.name, &err) == -1)
		return api_error_err(c, &err, NULL);
	/* Tokens of the CA see nothing any more; say so in the token list. */
	db_params_init(&p);
	db_param_int(&p, id);
	if ((n = db_exec(c->db, "UPDATE api_token SET revoked_at = now() WHERE "
	    "ca_id = $1 AND revoked_at IS NULL", &p, NULL, &err)) == -1) {
		cm_warn("api: %s deleted, its tokens not revoked: %s",
		    c->params[0], err.msg);
		n = 0;
	}
	return api_ok(c, 200, json_pack("{s:s, s:b, s:i}", "handle",
	    c->params[0], "deleted", 1, "tokens_revoked", n));
}

/* ---- tokens ---- */

static json_t *
token_json(const struct db_res *r, int i)
{
	int admin = strcmp(db_res_text(r, i, 1), "t") == 0;

	return json_pack("{s:s, s:s, s:o, s:s, s:o}", "name",
	    db_res_text(r, i, 0), "scope", admin ? "admin" : "ca",
	    "ca", admin ? json_null() : json_string(db_res_text(r, i, 2)),
	    "created_at", db_res_text(r, i, 3), "revoked_at",
	    db_res_isnull(r, i, 4) ? json_null() :
	    json_string(db_res_text(r, i, 4)));
}

#define TOKEN_COLS	"t.name, t.admin, coalesce(c.handle, ''), " \
			TS("t.created_at") ", " TS("t.revoked_at")

int
api_r_token_list(struct api_call *c)
{
	struct db_res	*r = NULL;
	json_t		*arr;
	int		 n, i;

	if ((n = api_query(c, "SELECT " TOKEN_COLS " FROM api_token t LEFT "
	    "JOIN ca c ON c.id = t.ca_id ORDER BY t.name COLLATE \"C\"", NULL,
	    &r)) < 0)
		return -n;
	arr = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(arr, token_json(r, i));
	db_res_free(r);
	return api_ok(c, 200, json_pack("{s:o}", "tokens", arr));
}

struct token_arg {
	const char	*name, *ca, *actor;
	char		*secret;
};

static int
token_create_tx(struct db *db, void *v, struct cm_err *err)
{
	struct token_arg	*a = v;
	struct db_params	 p;
	struct db_res		*r = NULL;
	int64_t			 ca_id = 0;

	free(a->secret);
	a->secret = NULL;
	if (api_token_create(db, a->name, a->ca, &a->secret, err) == -1)
		return -1;
	db_params_init(&p);
	db_param_text(&p, a->name);
	if (db_exec(db, "SELECT coalesce(ca_id, 0) FROM api_token WHERE name = "
	    "$1", &p, &r, err) == -1 || db_res_int64(r, 0, 0, &ca_id,
	    err) == -1) {
		db_res_free(r);
		return -1;
	}
	db_res_free(r);
	return api_audit(db, a->actor, "token.create", ca_id, a->name, err);
}

int
api_r_token_create(struct api_call *c)
{
	struct token_arg	 a;
	struct cm_err		 err;
	json_t			*ja, *o;
	int64_t			 id;
	int			 st, admin = 0;

	memset(&a, 0, sizeof(a));
	if (api_get_str(c, c->body, "name", "name", 1, &a.name) != 0 ||
	    api_get_str(c, c->body, "ca", "ca", 0, &a.ca) != 0)
		return c->status;
	if ((ja = json_object_get(c->body, "admin")) != NULL) {
		if (!json_is_boolean(ja))
			return api_error(c, 422, "invalid", "admin", "admin must "
			    "be true or false");
		admin = json_is_true(ja);
	}
	/* The powerful kind is never the default: one of the two, explicitly. */
	if (admin == (a.ca != NULL))
		return api_error(c, 422, a.ca != NULL ? "invalid" : "missing",
		    "ca", "a token is either a member token (\"ca\": HANDLE) or "
		    "an admin token (\"admin\": true)");
	if (a.ca != NULL && (st = api_ca_visible(c, a.ca, &id, "ca")) != 0)
		return st;
	a.actor = c->who.name;
	if (db_tx(c->db, NULL, token_create_tx, &a, &err) == -1) {
		free(a.secret);
		return api_error_err(c, &err, err.code == CM_ENOTFOUND ? "ca" :
		    "name");
	}
	o = json_pack("{s:s, s:s, s:o, s:s}", "name", a.name, "scope",
	    admin ? "admin" : "ca", "ca", a.ca != NULL ? json_string(a.ca) :
	    json_null(), "token", a.secret);
	free(a.secret);
	return api_ok(c, 201, o);
}

static int
token_revoke_tx(struct db *db, void *v, struct cm_err *err)
{
	struct token_arg	*a = v;
	struct db_params	 p;
	struct db_res		*r = NULL;
	int64_t			 ca_id = 0;
	int			 n;

	db_params_init(&p);
	db_param_text(&p, a->name);
	if ((n = db_exec(db, "UPDATE api_token SET revoked_at = now() WHERE "
	    "name = $1 AND revoked_at IS NULL RETURNING coalesce(ca_id, 0)",
	    &p, &r, err)) == -1)
		return -1;
	if (n == 0) {
		db_res_free(r);
		return cm_err_set(err, CM_ENOTFOUND, a->name, "no such token "
		    "(or already revoked)");
	}
	n = db_res_int64(r, 0, 0, &ca_id, err);
	db_res_free(r);
	if (n == -1)
		return -1;
	return api_audit(db, a->actor, "token.revoke", ca_id, a->name, err);
}

int
api_r_token_revoke(struct api_call *c)
{
	struct token_arg	 a;
	struct cm_err		 err;

	memset(&a, 0, sizeof(a));
	a.name = c->params[0];
	a.actor = c->who.name;
	if (db_tx(c->db, NULL, token_revoke_tx, &a, &err) == -1) {
		if (err.code == CM_ENOTFOUND)
			return api_error(c, 404, "token_not_found", "name",
			    "%s: no such token (or already revoked)", a.name);
		return api_error_err(c, &err, NULL);
	}
	c->status = 204;
	return 204;
}

/* ---- POST /bulk/cas ---- */

#define BULK_MAX	500	/* CAs in one request (one transaction) */

struct bulk {
	struct ca_eng_new_ca	*cas;
	struct ca_res		**res;
	size_t			 n;
};

static void
bulk_free(struct bulk *b)
{
	for (size_t i = 0; i < b->n; i++)
		ca_res_free(b->res[i]);
	free(b->res);
	free(b->cas);
}

/* The error of entry i: the field inside it, and "index". */
static int
bulk_error(struct api_call *c, size_t i, const char *sub, int status,
    const char *code, const char *msg)
{
	char	f[64];

	snprintf(f, sizeof(f), "cas[%zu]%s%s", i, sub != NULL ? "." : "",
	    sub != NULL ? sub : "");
	api_error(c, status, code, f, "%s", msg);
	json_object_set_new(json_object_get(c->out, "error"), "index",
	    json_integer((json_int_t)i));
	return status;
}

/* Entry i of the body: syntax, and its parent in scope or earlier. */
static int
bulk_entry(struct api_call *c, struct bulk *b, json_t *o, size_t i)
{
	const char	*h, *p;
	char		 f[64], msg[512];
	int64_t		 id;
	size_t		 k;

	snprintf(f, sizeof(f), "cas[%zu]", i);
	if (!json_is_object(o))
		return bulk_error(c, i, NULL, 422, "invalid", "each entry is an "
		    "object {handle, parent, resources}");
	snprintf(f, sizeof(f), "cas[%zu].handle", i);
	if (api_get_str(c, o, "handle", f, 1, &h) != 0)
		return c->status;
	snprintf(f, sizeof(f), "cas[%zu].parent", i);
	if (api_get_str(c, o, "parent", f, 1, &p) != 0)
		return c->status;
	if (!api_handle_ok(h))
		return bulk_error(c, i, "handle", 422, "invalid", "a handle is 1 "
		    "to 255 letters, digits, '.', '_' or '-', starting with a "
		    "letter or digit");
	for (k = 0; k < i; k++)
		if (strcmp(b->cas[k].handle, p) == 0)
			break;
	if (k == i && api_ca_visible(c, p, &id, f) != 0) {
		snprintf(msg, sizeof(msg), "%s: no such CA", p);
		return bulk_error(c, i, "parent", 404, "ca_not_found", msg);
	}
	snprintf(f, sizeof(f), "cas[%zu].resources", i);
	if (api_get_res(c, json_object_get(o, "resources"), f, &b->res[i]) != 0)
		return c->status;
	b->cas[i].handle = h;
	b->cas[i].parent = p;
	b->cas[i].res = b->res[i];
	b->n = i + 1;
	return 0;
}

int
api_r_ca_bulk(struct api_call *c)
{
	struct bulk	 b;
	struct cm_err	 err;
	json_t		*ja, *hs;
	size_t		 n, i, bad = 0;
	int		 st;

	memset(&b, 0, sizeof(b));
	ja = json_object_get(c->body, "cas");
	if (!json_is_array(ja) || (n = json_array_size(ja)) == 0)
		return api_error(c, 422, ja == NULL ? "missing" : "invalid",
		    "cas", "cas must be a non-empty array of {handle, parent, "
		    "resources}");
	if (n > BULK_MAX)
		return api_error(c, 413, "limit", "cas", "at most %d CAs in one "
		    "request", BULK_MAX);
	if ((b.cas = calloc(n, sizeof(*b.cas))) == NULL ||
	    (b.res = calloc(n, sizeof(*b.res))) == NULL) {
		bulk_free(&b);
		return api_error(c, 500, "internal", NULL, "out of memory");
	}
	for (i = 0; i < n; i++)
		if ((st = bulk_entry(c, &b, json_array_get(ja, i), i)) != 0) {
			b.n = i + 1;
			bulk_free(&b);
			return st;
		}
	if (ca_eng_ca_create_many(c->eng, b.cas, n, 2, c->who.name, NULL, NULL,
	    &bad, &err) == -1) {
		bulk_free(&b);
		if (bad >= n)
			return api_error_err(c, &err, "cas");
		api_error_err(c, &err, NULL);
		if (c->status >= 500)
			return c->status;
		/* The entry at fault; the message names its handle. */
		json_object_set_new(json_object_get(c->out, "error"), "field",
		    json_sprintf("cas[%zu]", bad));
		json_object_set_new(json_object_get(c->out, "error"), "index",
		    json_integer((json_int_t)bad));
		return c->status;
	}
	hs = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(hs, json_string(b.cas[i].handle));
	bulk_free(&b);
	return api_ok(c, 201, json_pack("{s:I, s:o}", "created",
	    (json_int_t)n, "handles", hs));
}

/* ---- BGPsec router certificates: list and remove ---- */

/* The AS numbers of a router certificate (DER), RFC 6492 text. */
static json_t *
router_asns(const uint8_t *der, size_t len)
{
	struct ca_res	*res = NULL;
	struct cm_err	 err;
	const uint8_t	*q = der;
	X509		*x;
	char		*t = NULL;
	json_t		*o = json_null();

	if ((x = d2i_X509(NULL, &q, (long)len)) == NULL)
		return o;
	if (ca_res_from_x509(x, "router", &res, &err) == 0 &&
	    ca_res_print(res, CA_RES_AS, &t, &err) == 0)
		o = json_string(t);
	free(t);
	ca_res_free(res);
	X509_free(x);
	return o;
}

int
api_r_router_list(struct api_call *c)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	const uint8_t		*der;
	size_t			 len;
	json_t			*arr;
	int64_t			 id;
	int			 n, i, st;

	if ((st = api_ca_visible(c, c->params[0], &id, NULL)) != 0)
		return st;
	db_params_init(&p);
	db_param_int(&p, id);
	if ((n = api_query(c, "SELECT substr(subject, 8), uri, "
	    TS("not_after") ", der FROM issued_object WHERE ca_id = $1 AND "
	    "withdrawn_at IS NULL AND subject LIKE 'router %' ORDER BY subject",
	    &p, &r)) < 0)
		return -n;
	arr = json_array();
	for (i = 0; i < n; i++) {
		json_t *asns = json_null();

		if (db_res_bytea(r, i, 3, &der, &len, NULL) == 0)
			asns = router_asns(der, len);
		json_array_append_new(arr, json_pack("{s:s, s:o, s:s, s:s}",
		    "key", db_res_text(r, i, 0), "asns", asns, "uri",
		    db_res_text(r, i, 1), "not_after", db_res_text(r, i, 2)));
	}
	db_res_free(r);
	return api_ok(c, 200, json_pack("{s:o}", "routers", arr));
}

int
api_r_router_remove(struct api_call *c)
{
	struct cm_err	 err;
	const char	*k = c->params[1];
	int64_t		 id;
	size_t		 i;
	int		 st;

	if ((st = api_ca_visible(c, c->params[0], &id, NULL)) != 0)
		return st;
	for (i = 0; k[i] != '\0' && strchr("0123456789abcdefABCDEF", k[i]) !=
	    NULL; i++)
		;
	if (i != 40 || k[i] != '\0')
		return api_error(c, 422, "invalid", "key", "key must be the "
		    "router key's SKI, 40 hex digits (GET .../routers)");
	if (ca_eng_router_remove(c->eng, c->params[0], k, c->who.name,
	    &err) == -1) {
		if (err.code == CM_ENOTFOUND)
			return api_error(c, 404, "router_not_found", "key", "%s",
			    err.msg);
		return api_error_err(c, &err, "key");
	}
	c->status = 204;
	return 204;
}
