/*
 * The API's routes for delegated children of a hosted CA (RFC 6492 parent
 * side, RFC 8183 setup): registering a child from its child_request
 * answers with the parent_response the child imports.  Visibility is the
 * rule of every route: the token's CA or below it, or any CA for admin
 * tokens; otherwise 404.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "common/cm_buf.h"
#include "common/cm_enc.h"
#include "publish/pub_oob.h"

#define TS(col)	"to_char(" col " AT TIME ZONE 'UTC', " \
		"'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/*
 * The RFC 8183 parent_response for child of parent (malloc'd XML): our
 * BPKI identity and the service URI, [api] updown-uri or, when that is
 * not set, http://<Host>/api/v1/updown/ + the parent's handle.
 */
static int
parent_response(struct api_call *c, const char *parent, const char *child,
    char **out)
{
	struct pub_oob	 o;
	struct cm_buf	 xml = CM_BUF_INIT;
	struct cm_err	 err;
	const char	*base = ca_eng_updown_uri(c->eng), *host;
	uint8_t		*der = NULL;
	size_t		 len;
	char		 uri[1024];
	int		 rc;

	if (base != NULL)
		snprintf(uri, sizeof(uri), "%s%s", base, parent);
	else {
		host = cm_http_req_header(c->req, "Host");
		snprintf(uri, sizeof(uri), "http://%s/api/v1/updown/%s",
		    host != NULL ? host : "127.0.0.1", parent);
	}
	if (ca_eng_bpki(c->eng, parent, &der, &len, NULL, &err) == -1)
		return api_error_err(c, &err, NULL);
	memset(&o, 0, sizeof(o));
	o.type = PUB_OOB_PARENT_RESPONSE;
	o.service_uri = uri;
	o.handle = (char *)child;
	o.parent_handle = (char *)parent;
	o.bpki_ta = der;
	o.bpki_ta_len = len;
	rc = pub_oob_write(&o, &xml, &err);
	free(der);
	if (rc == -1 || cm_buf_add(&xml, "", 1) == -1) {
		cm_buf_free(&xml);
		return api_error(c, 500, "internal", NULL, "parent_response: %s",
		    err.msg);
	}
	*out = (char *)cm_buf_steal(&xml, NULL);
	return 0;
}

static json_t *
res_json(struct db_res *r, int row, int col)
{
	return json_pack("{s:s, s:s, s:s}", "asn", db_res_text(r, row, col),
	    "ipv4", db_res_text(r, row, col + 1), "ipv6", db_res_text(r, row,
	    col + 2));
}

/* GET /api/v1/cas/{handle}/children */
int
api_r_child_list(struct api_call *c)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	struct cm_err		 err;
	json_t			*arr;
	int64_t			 id;
	int			 i, n, st;

	if ((st = api_ca_visible(c, c->params[0], &id, NULL)) != 0)
		return st;
	db_params_init(&p);
	db_param_int(&p, id);
	if ((n = db_exec(c->db, "SELECT handle, asn, ipv4, ipv6, "
	    TS("created_at") ", coalesce(" TS("last_signing_time") ", '') "
	    "FROM ca_child WHERE ca_id = $1 AND deleted_at IS NULL ORDER BY "
	    "handle", &p, &r, &err)) == -1)
		return api_error_err(c, &err, NULL);
	arr = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(arr, json_pack("{s:s, s:o, s:s, s:s}",
		    "handle", db_res_text(r, i, 0), "resources", res_json(r, i,
		    1), "created", db_res_text(r, i, 4), "last_request",
		    db_res_text(r, i, 5)));
	db_res_free(r);
	return api_ok(c, 200, json_pack("{s:o}", "children", arr));
}

/* One child with its certificates and its parent_response. */
static int
child_show(struct api_call *c, int64_t id, const char *child, int status)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	struct cm_err		 err;
	json_t			*o, *certs;
	char			*xml = NULL, subj[300];
	int			 i, n;

	db_params_init(&p);
	db_param_int(&p, id);
	db_param_text(&p, child);
	if ((n = db_exec(c->db, "SELECT handle, asn, ipv4, ipv6, "
	    TS("created_at") ", coalesce(" TS("last_signing_time") ", '') "
	    "FROM ca_child WHERE ca_id = $1 AND handle = $2 AND deleted_at IS "
	    "NULL", &p, &r, &err)) == -1)
		return api_error_err(c, &err, NULL);
	if (n != 1) {
		db_res_free(r);
		return api_error(c, 404, "child_not_found", NULL, "%s: no such "
		    "child of %s", child, c->params[0]);
	}
	o = json_pack("{s:s, s:o, s:s, s:s}", "handle", db_res_text(r, 0, 0),
	    "resources", res_json(r, 0, 1), "created", db_res_text(r, 0, 4),
	    "last_request", db_res_text(r, 0, 5));
	db_res_free(r);
	r = NULL;
	snprintf(subj, sizeof(subj), "child %s %%", child);
	db_params_init(&p);
	db_param_int(&p, id);
	db_param_text(&p, subj);
	if ((n = db_exec(c->db, "SELECT uri, " TS("not_after") ", substr(subject, "
	    "length($2)) FROM issued_object WHERE ca_id = $1 AND subject LIKE $2 "
	    "AND kind = 'cer' AND withdrawn_at IS NULL ORDER BY uri", &p, &r,
	    &err)) == -1) {
		json_decref(o);
		return api_error_err(c, &err, NULL);
	}
	certs = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(certs, json_pack("{s:s, s:s, s:s}", "uri",
		    db_res_text(r, i, 0), "not_after", db_res_text(r, i, 1),
		    "key", db_res_text(r, i, 2)));
	db_res_free(r);
	json_object_set_new(o, "certificates", certs);
	if (parent_response(c, c->params[0], child, &xml) != 0) {
		json_decref(o);
		return c->status;
	}
	json_object_set_new(o, "parent_response", json_string(xml));
	free(xml);
	return api_ok(c, status, o);
}

/*
 * POST /api/v1/cas/{handle}/children
 * {"child_request": XML, "resources": {...}, "handle": optional,
 * "replace": optional}: the child's handle is that of its request unless
 * given.  A removed child of that handle is revived when the identity is
 * the same; another identity is refused (409) unless replace is true.
 */
int
api_r_child_add(struct api_call *c)
{
	struct pub_oob	*req = NULL;
	struct ca_res	*res = NULL;
	struct cm_err	 err;
	json_t		*x, *h, *rp;
	const char	*child;
	int64_t		 id;
	int		 st;

	if ((st = api_ca_visible(c, c->params[0], &id, NULL)) != 0)
		return st;
	x = json_object_get(c->body, "child_request");
	if (!json_is_string(x))
		return api_error(c, 422, x == NULL ? "missing" : "invalid",
		    "child_request", "child_request must be the RFC 8183 XML "
		    "document as a string");
	if (pub_oob_parse("child_request", (const uint8_t *)json_string_value(x),
	    json_string_length(x), PUB_OOB_CHILD_REQUEST, &req, &err) == -1)
		return api_error(c, 422, "invalid", "child_request", "%s",
		    err.msg);
	child = req->handle;
	if ((h = json_object_get(c->body, "handle")) != NULL) {
		if (!json_is_string(h)) {
			api_error(c, 422, "invalid", "handle", "handle must be a "
			    "string");
			goto out;
		}
		child = json_string_value(h);
	}
	if ((rp = json_object_get(c->body, "replace")) != NULL &&
	    !json_is_boolean(rp)) {
		api_error(c, 422, "invalid", "replace", "replace must be true or "
		    "false");
		goto out;
	}
	if (api_get_res(c, json_object_get(c->body, "resources"), "resources",
	    &res) != 0)
		goto out;
	if ((json_is_true(rp) ? ca_eng_child_replace : ca_eng_child_add)(c->eng,
	    c->params[0], child, res, req->bpki_ta, req->bpki_ta_len,
	    c->who.name, &err) == -1) {
		/* A bad handle, or an entitlement beyond the parent's. */
		api_error_err(c, &err, err.code != CM_EINVAL ? NULL :
		    strstr(err.msg, "bad child handle") != NULL ? "handle" :
		    "resources");
		goto out;
	}
	child_show(c, id, child, 201);
out:
	ca_res_free(res);
	pub_oob_free(req);
	return c->status;
}

/* GET /api/v1/cas/{handle}/children/{child} */
int
api_r_child_get(struct api_call *c)
{
	int64_t	id;
	int	st;

	if ((st = api_ca_visible(c, c->params[0], &id, NULL)) != 0)
		return st;
	return child_show(c, id, c->params[1], 200);
}

/* PUT /api/v1/cas/{handle}/children/{child}/resources {"asn", ...} */
int
api_r_child_resources(struct api_call *c)
{
	struct ca_res	*res = NULL;
	struct cm_err	 err;
	int64_t		 id;
	int		 st, rc;

	if ((st = api_ca_visible(c, c->params[0], &id, NULL)) != 0)
		return st;
	if (api_get_res(c, c->body, "resources", &res) != 0)
		return c->status;
	rc = ca_eng_child_set_resources(c->eng, c->params[0], c->params[1], res,
	    c->who.name, &err);
	ca_res_free(res);
	if (rc == -1)
		return api_error_err(c, &err, "resources");
	return child_show(c, id, c->params[1], 200);
}

/* DELETE /api/v1/cas/{handle}/children/{child} */
int
api_r_child_delete(struct api_call *c)
{
	struct cm_err	err;
	int64_t		id;
	int		st;

	if ((st = api_ca_visible(c, c->params[0], &id, NULL)) != 0)
		return st;
	if (ca_eng_child_remove(c->eng, c->params[0], c->params[1], c->who.name,
	    &err) == -1)
		return api_error_err(c, &err, NULL);
	c->status = 204;
	return 204;
}
