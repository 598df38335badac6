/*
 * The parent of a CA whose parent runs elsewhere, over the API (admin
 * tokens only): its state (what `cairnd parent show` reports), and for an
 * offline parent (docs/offline-ta.md) the two halves of an exchange that
 * happen on this side: making the request file and importing the
 * parent's response file.  Answering a request belongs to the offline
 * trust anchor's own machine, which has no network; there is no route
 * for it.  The handlers run on a worker thread (api_server.c).
 */
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "ca/offline.h"
#include "common/cm_clock.h"
#include "common/cm_log.h"

#define ISO(col)	"to_char(" col " AT TIME ZONE 'UTC', " \
			"'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* The answer for a CA that has no remote parent. */
static int
no_parent(struct api_call *c, const char *handle)
{
	return api_error(c, 404, "parent_not_found", NULL, "%s: this CA has "
	    "no remote parent (its parent is hosted here, or no "
	    "parent_response was imported)", handle);
}

/* A text column, or JSON null when it is NULL. */
static json_t *
col(struct db_res *r, int row, int i)
{
	return db_res_isnull(r, row, i) ? json_null() :
	    json_string(db_res_text(r, row, i));
}

/* The mirrored publication points of offline parent parent, or NULL. */
static json_t *
mirror_points(struct api_call *c, const char *parent)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	json_t			*arr;
	int			 n, i;

	db_params_init(&p);
	db_param_text(&p, parent);
	if ((n = api_query(c, "SELECT b.base_uri, " ISO("m.next_update") ", "
	    "m.manifest_number::text, " ISO("m.imported_at") ", m.imported_by "
	    "FROM mirror_point m JOIN publisher b ON b.id = m.publisher_id "
	    "WHERE m.parent = $1 ORDER BY b.base_uri", &p, &r)) < 0)
		return NULL;
	arr = json_array();
	for (i = 0; arr != NULL && i < n; i++)
		json_array_append_new(arr, json_pack("{s:s, s:o, s:o, s:s, "
		    "s:s}", "base_uri", db_res_text(r, i, 0), "next_update",
		    col(r, i, 1), "manifest_number", col(r, i, 2),
		    "imported_at", db_res_text(r, i, 3), "imported_by",
		    db_res_text(r, i, 4)));
	db_res_free(r);
	if (arr == NULL)
		api_error(c, 500, "internal", NULL, "out of memory");
	return arr;
}

/*
 * GET /cas/{h}/parent: the parent's handles and service, the class and
 * entitlement it last listed, our keys, the schedule (online) or the
 * mirrored publication points and when the earliest manifest among them
 * runs out (offline: the next response must be imported before then).
 */
int
api_r_parent_get(struct api_call *c)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	json_t			*mp;
	int64_t			 id;
	int			 n, off, st;

	if ((st = api_ca_visible(c, c->params[0], &id, NULL)) != 0)
		return st;
	db_params_init(&p);
	db_param_int(&p, id);
	if ((n = api_query(c, "SELECT p.parent_handle, p.child_handle, "
	    "p.service_uri, p.class, p.asn, p.ipv4, p.ipv6, (SELECT k.id FROM "
	    "ca_key k WHERE k.ca_id = p.ca_id AND k.state = 'active'), (SELECT "
	    "k.id FROM ca_key k WHERE k.ca_id = p.ca_id AND k.state = "
	    "'pending'), " ISO("p.last_sync") ", CASE WHEN p.offline THEN NULL "
	    "ELSE " ISO("p.next_sync") " END, p.last_error, p.offline::int, "
	    "(SELECT " ISO("min(m.next_update)") " FROM mirror_point m WHERE "
	    "m.parent = p.parent_handle) FROM ca_parent p WHERE p.ca_id = $1",
	    &p, &r)) < 0)
		return c->status;
	if (n == 0) {
		db_res_free(r);
		return no_parent(c, c->params[0]);
	}
	off = strcmp(db_res_text(r, 0, 12), "1") == 0;
	if ((mp = off ? mirror_points(c, db_res_text(r, 0, 0)) : json_array())
	    == NULL) {
		db_res_free(r);
		return c->status;
	}
	st = api_ok(c, 200, json_pack("{s:s, s:s, s:s, s:s, s:o, s:{s:s, s:s, "
	    "s:s}, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
	    "handle", c->params[0], "mode", off ? "offline" : "online",
	    "parent", db_res_text(r, 0, 0), "child_handle",
	    db_res_text(r, 0, 1), "service_uri", col(r, 0, 2),
	    "entitlement", "asn", db_res_text(r, 0, 4), "ipv4",
	    db_res_text(r, 0, 5), "ipv6", db_res_text(r, 0, 6),
	    "class", col(r, 0, 3), "active_key", col(r, 0, 7),
	    "pending_key", col(r, 0, 8), "last_sync", col(r, 0, 9),
	    "next_sync", col(r, 0, 10), "last_error", col(r, 0, 11),
	    "parent_mft_next_update", col(r, 0, 13)));
	if (st == 200)
		json_object_set_new(c->out, "mirror_points", mp);
	else
		json_decref(mp);
	db_res_free(r);
	return st;
}

/* An engine error of the routes below: a CA without a remote parent is
 * a 404 parent_not_found; the rest as usual (field may be NULL). */
static int
parent_error(struct api_call *c, const struct cm_err *err, const char *field)
{
	if (err->code == CM_ENOTFOUND)
		return no_parent(c, c->params[0]);
	return api_error_err(c, err, field);
}

/*
 * POST /cas/{h}/parent/offline-request: the request file of a whole round
 * (ca_eng_offline_request()), as the answer's body, to carry to the
 * offline parent.  409 conflict when the parent is not offline.
 */
int
api_r_parent_offline_request(struct api_call *c)
{
	struct cm_err	 err;
	char		*out = NULL;
	size_t		 len;
	int64_t		 id;
	int		 st;

	if ((st = api_ca_visible(c, c->params[0], &id, NULL)) != 0)
		return st;
	if (ca_eng_offline_request(c->eng, c->params[0], c->who.name, &out,
	    &len, &err) == -1)
		return parent_error(c, &err, NULL);
	/* The file as ca_off_write() made it: JSON, NUL-terminated. */
	json_decref(c->out);
	c->out = NULL;
	c->json = out;
	c->status = 200;
	return 200;
}

/*
 * POST /cas/{h}/parent/offline-response: the body is the parent's
 * response file, imported in one transaction (ca_eng_offline_import()).
 * A body that is not a response file (ca_off_parse()) is a 400
 * malformed_file naming the field, before anything is read or changed;
 * one that parses but is refused (not of this parent to this CA, does not
 * verify, a replay, objects that fail the checks) is a 422 and changes
 * nothing.  Messages the parent refused are counted in "refused" (the
 * rest is applied, as with cairnd).
 */
int
api_r_parent_offline_response(struct api_call *c)
{
	struct ca_eng_offline_result	 res;
	struct ca_off			*f = NULL;
	struct cm_err			 err;
	int64_t				 id;
	char				 next[21];
	int				 st;

	if ((st = api_ca_visible(c, c->params[0], &id, NULL)) != 0)
		return st;
	if (ca_off_parse("response", c->req->body, c->req->body_len,
	    CA_OFF_RESPONSE, &f, &err) == -1)
		return api_error(c, 400, "malformed_file", "response", "%s",
		    err.msg);
	ca_off_free(f);
	if (ca_eng_offline_import(c->eng, c->params[0], c->req->body,
	    c->req->body_len, "response", c->who.name, &res, &err) == -1) {
		/*
		 * The file's fault: refused, checks failed, or a message
		 * that is not CMS.  A signer failure (CM_ECRYPTO) is ours.
		 */
		if (err.code == CM_EPERM || err.code == CM_EINVAL)
			return api_error(c, 422, "invalid", "response", "%s",
			    err.msg);
		return parent_error(c, &err, "response");
	}
	cm_time_iso8601(res.next_update, next);
	return api_ok(c, 200, json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, "
	    "s:b, s:b, s:o}", "handle", c->params[0],
	    "replies", (json_int_t)res.replies,
	    "installed", (json_int_t)res.installed,
	    "revoked", (json_int_t)res.revoked,
	    "refused", (json_int_t)res.refused,
	    "published", (json_int_t)res.published,
	    "withdrawn", (json_int_t)res.withdrawn,
	    "retired", res.retired, "rolling", res.rolling,
	    "parent_mft_next_update", res.next_update != 0 ?
	    json_string(next) : json_null()));
}
