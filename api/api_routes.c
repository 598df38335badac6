/*
 * The API's routes and their handlers (worker thread).  Every handler
 * checks that the CAs it names are visible to the token (the token's CA or
 * below it, or any CA for admin tokens) and answers 404 otherwise, exactly
 * as for a CA that does not exist.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api_int.h"
#include "ca/roa.h"
#include "common/cm_buf.h"
#include "common/cm_enc.h"

#define TS(col)	"to_char(" col " AT TIME ZONE 'UTC', " \
		"'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

static const char *fam_name[3] = { "asn", "ipv4", "ipv6" };

/* ---- helpers ---- */

/*
 * The id of CA handle when the token may see it.  0, or the 404 status
 * (also for database failures: then the status of that error).
 */
static int
ca_visible(struct api_call *c, const char *handle, int64_t *id,
    const char *field)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	struct cm_err		 err;
	int			 n;

	db_params_init(&p);
	db_param_text(&p, handle);
	db_param_int(&p, c->who.admin ? 0 : c->who.ca_id);
	n = db_exec(c->db, "WITH RECURSIVE up(id, parent_id, d) AS ("
	    "SELECT id, parent_id, 0 FROM ca WHERE handle = $1 AND deleted_at "
	    "IS NULL UNION ALL SELECT ca.id, ca.parent_id, up.d + 1 FROM ca "
	    "JOIN up ON ca.id = up.parent_id) SELECT (SELECT id FROM up WHERE "
	    "d = 0) FROM up WHERE $2::bigint = 0 OR id = $2 LIMIT 1", &p, &r,
	    &err);
	if (n == -1)
		return api_error_err(c, &err, NULL);
	if (n == 0 || db_res_int64(r, 0, 0, id, &err) == -1) {
		db_res_free(r);
		return api_error(c, 404, "ca_not_found", field, "%s: no such CA",
		    handle);
	}
	db_res_free(r);
	return 0;
}

/* A string member (NULL when absent); a non-string is a 422. */
static int
get_str(struct api_call *c, json_t *o, const char *key, const char *field,
    int required, const char **out)
{
	json_t	*v = json_object_get(o, key);

	*out = NULL;
	if (v == NULL) {
		if (required)
			return api_error(c, 422, "missing", field, "%s is "
			    "required", field);
		return 0;
	}
	if (!json_is_string(v))
		return api_error(c, 422, "invalid", field, "%s must be a string",
		    field);
	*out = json_string_value(v);
	return 0;
}

/* An AS number: 0..4294967295 as a JSON integer. */
static int
get_asn(struct api_call *c, json_t *v, const char *field, uint32_t *out)
{
	if (v == NULL)
		return api_error(c, 422, "missing", field, "%s is required",
		    field);
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > 4294967295LL)
		return api_error(c, 422, "invalid", field, "%s must be an AS "
		    "number (0 to 4294967295)", field);
	*out = (uint32_t)json_integer_value(v);
	return 0;
}

/* {"asn","ipv4","ipv6"} in RFC 6492 text form into a new set. */
static int
get_res(struct api_call *c, json_t *o, const char *field, struct ca_res **out)
{
	struct cm_err	 err;
	const char	*s;
	char		 f[64];
	int		 i;

	*out = NULL;
	if (!json_is_object(o))
		return api_error(c, 422, o == NULL ? "missing" : "invalid",
		    field, "%s must be an object with "
		    "asn, ipv4 and ipv6 strings", field);
	if ((*out = ca_res_new()) == NULL)
		return api_error(c, 500, "internal", NULL, "out of memory");
	for (i = 0; i < 3; i++) {
		snprintf(f, sizeof(f), "%s.%s", field, fam_name[i]);
		if (get_str(c, o, fam_name[i], f, 0, &s) != 0)
			goto bad;
		if (s != NULL && ca_res_parse(*out, (enum ca_res_family)i, s, f,
		    &err) == -1) {
			api_error(c, 422, "invalid", f, "%s", err.msg);
			goto bad;
		}
	}
	return 0;
bad:
	ca_res_free(*out);
	*out = NULL;
	return c->status;
}

/* The resources of CA id as JSON, or NULL. */
static json_t *
res_json(const struct db_res *r, int row, int col)
{
	return json_pack("{s:s, s:s, s:s}", "asn", db_res_text(r, row, col),
	    "ipv4", db_res_text(r, row, col + 1), "ipv6",
	    db_res_text(r, row, col + 2));
}

static int
query(struct api_call *c, const char *sql, const struct db_params *p,
    struct db_res **r)
{
	struct cm_err	err;
	int		n;

	if ((n = db_exec(c->db, sql, p, r, &err)) == -1)
		return -api_error_err(c, &err, NULL);
	return n;
}

static int
ok_json(struct api_call *c, int status, json_t *o)
{
	if (o == NULL)
		return api_error(c, 500, "internal", NULL, "out of memory");
	json_decref(c->out);
	c->out = o;
	c->status = status;
	return status;
}

/* ---- health ---- */

static int
r_health(struct api_call *c)
{
	return ok_json(c, 200, json_pack("{s:s}", "status", "ok"));
}

static int
r_ready(struct api_call *c)
{
	struct db_res	*r = NULL;
	struct cm_err	 err;
	int		 ver = 0;

	if (db_exec(c->db, "SELECT 1", NULL, &r, &err) == -1 ||
	    db_schema_version(c->db, &ver, &err) == -1) {
		db_res_free(r);
		return api_error(c, 503, "not_ready", NULL, "database: %s",
		    err.msg);
	}
	db_res_free(r);
	return ok_json(c, 200, json_pack("{s:s, s:i}", "status", "ready",
	    "schema", ver));
}

/* ---- CAs ---- */

/* The JSON of CA id. */
static int
ca_show(struct api_call *c, int64_t id, int status)
{
	struct db_params	 p;
	struct db_res		*r = NULL, *k = NULL, *ch = NULL;
	json_t			*o, *keys, *kids;
	int			 n, i;

	db_params_init(&p);
	db_param_int(&p, id);
	if ((n = query(c, "SELECT c.handle, c.kind, p.handle, r.asn, r.ipv4, "
	    "r.ipv6, " TS("c.created_at") ", (SELECT count(*) FROM roa_config "
	    "WHERE ca_id = c.id), (SELECT count(*) FROM aspa_config WHERE "
	    "ca_id = c.id) FROM ca c LEFT JOIN ca p ON p.id = c.parent_id "
	    "LEFT JOIN ca_resources r ON r.ca_id = c.id WHERE c.id = $1", &p,
	    &r)) < 0)
		return -n;
	if (n == 0) {
		db_res_free(r);
		return api_error(c, 404, "ca_not_found", NULL, "no such CA");
	}
	if ((n = query(c, "SELECT id, state FROM ca_key WHERE ca_id = $1 AND "
	    "state <> 'revoked' ORDER BY created_at, id", &p, &k)) < 0 ||
	    (n = query(c, "SELECT handle FROM ca WHERE parent_id = $1 AND "
	    "deleted_at IS NULL ORDER BY handle", &p, &ch)) < 0) {
		db_res_free(r);
		db_res_free(k);
		return -n;
	}
	keys = json_array();
	for (i = 0; i < db_res_rows(k); i++)
		json_array_append_new(keys, json_pack("{s:s, s:s}", "id",
		    db_res_text(k, i, 0), "state", db_res_text(k, i, 1)));
	kids = json_array();
	for (i = 0; i < db_res_rows(ch); i++)
		json_array_append_new(kids, json_string(db_res_text(ch, i, 0)));
	o = json_pack("{s:s, s:s, s:o, s:o, s:s, s:I, s:I, s:o, s:o}",
	    "handle", db_res_text(r, 0, 0), "kind", db_res_text(r, 0, 1),
	    "parent", db_res_isnull(r, 0, 2) ? json_null() :
	    json_string(db_res_text(r, 0, 2)), "resources", res_json(r, 0, 3),
	    "created_at", db_res_text(r, 0, 6),
	    "roas", (json_int_t)atoll(db_res_text(r, 0, 7)),
	    "aspas", (json_int_t)atoll(db_res_text(r, 0, 8)),
	    "keys", keys, "children", kids);
	db_res_free(r);
	db_res_free(k);
	db_res_free(ch);
	return ok_json(c, status, o);
}

/* A query parameter's value (decoded, malloc'd) or NULL. */
static char *
qparam(struct api_call *c, const char *name)
{
	const char	*q = c->req->query, *e, *v;
	size_t		 nl = strlen(name);

	while (q != NULL && *q != '\0') {
		e = strchrnul(q, '&');
		if ((size_t)(e - q) > nl && strncmp(q, name, nl) == 0 &&
		    q[nl] == '=') {
			struct cm_buf	 b = CM_BUF_INIT;
			const char	*t;
			char		*s;

			for (v = q + nl + 1; v < e; v++) {
				char ch = *v;

				if (ch == '+')
					ch = ' ';
				else if (ch == '%' && e - v > 2) {
					char hx[3] = { v[1], v[2], 0 };

					ch = (char)strtol(hx, NULL, 16);
					v += 2;
				}
				cm_buf_add(&b, &ch, 1);
			}
			t = cm_buf_cstr(&b);
			s = strdup(t != NULL ? t : "");

			cm_buf_free(&b);
			return s;
		}
		q = *e == '&' ? e + 1 : e;
	}
	return NULL;
}

static int
r_ca_list(struct api_call *c)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	char			*lim = qparam(c, "limit"), *after = qparam(c, "after");
	long			 limit = 100;
	json_t			*arr, *o;
	int			 n, i;

	if ((n = api_limit(c, lim, &limit)) != 0) {
		free(lim);
		free(after);
		return n;
	}
	db_params_init(&p);
	db_param_int(&p, c->who.admin ? 0 : c->who.ca_id);
	db_param_text(&p, after != NULL ? after : "");
	db_param_int(&p, limit + 1);
	n = query(c, "WITH RECURSIVE sub(id) AS (SELECT $1::bigint UNION ALL "
	    "SELECT ca.id FROM ca JOIN sub ON ca.parent_id = sub.id) "
	    "SELECT c.handle, c.kind, p.handle, r.asn, r.ipv4, r.ipv6 FROM ca c "
	    "LEFT JOIN ca p ON p.id = c.parent_id LEFT JOIN ca_resources r ON "
	    "r.ca_id = c.id WHERE c.deleted_at IS NULL AND c.handle > $2 AND "
	    "($1 = 0 OR c.id IN (SELECT id FROM sub)) ORDER BY c.handle "
	    "COLLATE \"C\" LIMIT $3", &p, &r);
	free(lim);
	free(after);
	if (n < 0)
		return -n;
	arr = json_array();
	for (i = 0; i < n && i < limit; i++)
		json_array_append_new(arr, json_pack("{s:s, s:s, s:o, s:o}",
		    "handle", db_res_text(r, i, 0), "kind", db_res_text(r, i, 1),
		    "parent", db_res_isnull(r, i, 2) ? json_null() :
		    json_string(db_res_text(r, i, 2)), "resources",
		    res_json(r, i, 3)));
	o = json_pack("{s:o, s:o}", "cas", arr, "next", n > limit ?
	    json_string(db_res_text(r, (int)limit - 1, 0)) : json_null());
	db_res_free(r);
	return ok_json(c, 200, o);
}

static int
handle_ok(const char *h)
{
	size_t	i, n = strlen(h);

	if (n == 0 || n > 255)
		return 0;
	for (i = 0; i < n; i++) {
		char ch = h[i];

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9'))
			continue;
		if (i > 0 && (ch == '.' || ch == '_' || ch == '-'))
			continue;
		return 0;
	}
	return 1;
}

static int
r_ca_create(struct api_call *c)
{
	const char	*handle, *parent;
	struct ca_res	*res = NULL;
	struct cm_err	 err;
	int64_t		 pid, id;
	int		 st;

	if (get_str(c, c->body, "handle", "handle", 1, &handle) != 0 ||
	    get_str(c, c->body, "parent", "parent", 1, &parent) != 0)
		return c->status;
	if (!handle_ok(handle))
		return api_error(c, 422, "invalid", "handle", "a handle is 1 to "
		    "255 letters, digits, '.', '_' or '-', starting with a "
		    "letter or digit");
	if ((st = ca_visible(c, parent, &pid, "parent")) != 0)
		return st;
	if (get_res(c, json_object_get(c->body, "resources"), "resources",
	    &res) != 0)
		return c->status;
	if (ca_eng_ca_create(c->eng, handle, parent, res, c->who.name,
	    &err) == -1) {
		ca_res_free(res);
		return api_error_err(c, &err, err.code == CM_EEXIST ? "handle" :
		    "resources");
	}
	ca_res_free(res);
	if ((st = ca_visible(c, handle, &id, NULL)) != 0)
		return st;
	return ca_show(c, id, 201);
}

static int
r_ca_get(struct api_call *c)
{
	int64_t	id;
	int	st;

	if ((st = ca_visible(c, c->params[0], &id, NULL)) != 0)
		return st;
	return ca_show(c, id, 200);
}

static int
r_ca_resources(struct api_call *c)
{
	struct ca_res	*res = NULL;
	struct cm_err	 err;
	int64_t		 id;
	int		 st, rc;

	if ((st = ca_visible(c, c->params[0], &id, NULL)) != 0)
		return st;
	if (!c->who.admin && id == c->who.ca_id)
		return api_error(c, 403, "forbidden", NULL, "the resources of "
		    "a token's own CA are set by its parent's operator");
	if (get_res(c, c->body, "resources", &res) != 0)
		return c->status;
	rc = ca_eng_ca_set_resources(c->eng, c->params[0], res, c->who.name,
	    &err);
	ca_res_free(res);
	if (rc == -1)
		return api_error_err(c, &err, "resources");
	return ca_show(c, id, 200);
}

/* ---- ROAs ---- */

/*
 * The answer is written as text: a CA may have tens of thousands of ROAs,
 * and building a JSON object per ROA cost most of the request's time.  The
 * output is what json_dumps(JSON_COMPACT | JSON_SORT_KEYS) would give.
 */
static int
roa_list(struct api_call *c, int64_t id)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	struct cm_buf		 b = CM_BUF_INIT;
	int			 n, i, rc = 0;

	db_params_init(&p);
	db_param_int(&p, id);
	if ((n = query(c, "SELECT asn, max_length, host(prefix) || '/' || "
	    "masklen(prefix) FROM roa_config WHERE ca_id = $1 ORDER BY asn, "
	    "family(prefix), prefix, max_length", &p, &r)) < 0)
		return -n;
	rc |= cm_buf_puts(&b, "{\"roas\":[");
	for (i = 0; i < n; i++)
		/* Numbers and an address: nothing to escape. */
		rc |= cm_buf_printf(&b, "%s{\"asn\":%s,\"max_length\":%s,"
		    "\"prefix\":\"%s\"}", i == 0 ? "" : ",", db_res_text(r, i, 0),
		    db_res_text(r, i, 1), db_res_text(r, i, 2));
	rc |= cm_buf_puts(&b, "]}\n");
	db_res_free(r);
	if (rc != 0 || cm_buf_add(&b, "", 1) == -1) {
		cm_buf_free(&b);
		return api_error(c, 500, "internal", NULL, "out of memory");
	}
	json_decref(c->out);
	c->out = NULL;
	c->json = (char *)cm_buf_steal(&b, NULL);
	c->status = 200;
	return 200;
}

static int
r_roa_list(struct api_call *c)
{
	int64_t	id;
	int	st;

	if ((st = ca_visible(c, c->params[0], &id, NULL)) != 0)
		return st;
	return roa_list(c, id);
}

/* One {"asn","prefix","max_length"} into cfg. */
static int
get_roa(struct api_call *c, json_t *o, const char *field,
    struct ca_plan_roa_cfg *cfg)
{
	struct cm_err	 err;
	const char	*s;
	json_t		*ml;
	char		 f[96];

	memset(cfg, 0, sizeof(*cfg));
	if (!json_is_object(o))
		return api_error(c, 422, "invalid", field, "%s must be an object "
		    "{asn, prefix, max_length}", field);
	snprintf(f, sizeof(f), "%s.asn", field);
	if (get_asn(c, json_object_get(o, "asn"), f, &cfg->asn) != 0)
		return c->status;
	snprintf(f, sizeof(f), "%s.prefix", field);
	if (get_str(c, o, "prefix", f, 1, &s) != 0)
		return c->status;
	if (strchr(s, '-') != NULL || ca_roa_prefix_parse(s, &cfg->prefix,
	    &err) == -1)
		return api_error(c, 422, "invalid", f, "%s: not a prefix "
		    "(192.0.2.0/24, 2001:db8::/32, no host bits)", s);
	snprintf(f, sizeof(f), "%s.max_length", field);
	if ((ml = json_object_get(o, "max_length")) != NULL &&
	    !json_is_null(ml)) {
		json_int_t	v = json_is_integer(ml) ? json_integer_value(ml) :
				    -1;
		int		top = cfg->prefix.afi == CA_AFI_IPV4 ? 32 : 128;

		if (v < cfg->prefix.plen || v > top)
			return api_error(c, 422, "invalid", f, "max_length must "
			    "be an integer from the prefix length (%d) to %d",
			    cfg->prefix.plen, top);
		cfg->prefix.maxlen = (uint8_t)v;
	}
	return 0;
}

/* The resources of CA id (NULL with status set on failure). */
static struct ca_res *
ca_res_of(struct api_call *c, int64_t id)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	struct ca_res		*res;
	struct cm_err		 err;
	int			 n, i;

	db_params_init(&p);
	db_param_int(&p, id);
	if ((n = query(c, "SELECT asn, ipv4, ipv6 FROM ca_resources WHERE "
	    "ca_id = $1", &p, &r)) < 0)
		return NULL;
	if ((res = ca_res_new()) == NULL) {
		db_res_free(r);
		api_error(c, 500, "internal", NULL, "out of memory");
		return NULL;
	}
	for (i = 0; i < 3 && n > 0; i++)
		if (ca_res_parse(res, (enum ca_res_family)i, db_res_text(r, 0, i),
		    "ca_resources", &err) == -1) {
			api_error_err(c, &err, NULL);
			ca_res_free(res);
			db_res_free(r);
			return NULL;
		}
	db_res_free(r);
	return res;
}

static int
r_roa_update(struct api_call *c)
{
	struct ca_plan_roa_cfg	*add = NULL, *del = NULL;
	struct ca_res		*res = NULL;
	struct cm_err		 err;
	json_t			*ja, *jd;
	size_t			 na, nd, i;
	int64_t			 id;
	int			 st, rc = 0;
	char			 f[64];

	if ((st = ca_visible(c, c->params[0], &id, NULL)) != 0)
		return st;
	ja = json_object_get(c->body, "add");
	jd = json_object_get(c->body, "remove");
	if ((ja != NULL && !json_is_array(ja)) ||
	    (jd != NULL && !json_is_array(jd)))
		return api_error(c, 422, "invalid", ja != NULL &&
		    !json_is_array(ja) ? "add" : "remove", "add and remove must "
		    "be arrays");
	na = json_array_size(ja);
	nd = json_array_size(jd);
	if (na + nd == 0)
		return api_error(c, 422, "missing", "add", "nothing to add or "
		    "remove");
	if (na + nd > 10000)
		return api_error(c, 413, "limit", "add", "at most 10000 changes "
		    "per request");
	add = calloc(na + 1, sizeof(*add));
	del = calloc(nd + 1, sizeof(*del));
	if (add == NULL || del == NULL ||
	    (res = ca_res_of(c, id)) == NULL) {
		if (c->status == 0)
			api_error(c, 500, "internal", NULL, "out of memory");
		goto out;
	}
	for (i = 0; i < na; i++) {
		snprintf(f, sizeof(f), "add[%zu]", i);
		if (get_roa(c, json_array_get(ja, i), f, &add[i]) != 0)
			goto out;
		/* Name the offending entry; the engine checks again. */
		if (!ca_res_is_inherit(res, CA_RES_AS) &&
		    !ca_res_is_inherit(res, add[i].prefix.afi == CA_AFI_IPV4 ?
		    CA_RES_V4 : CA_RES_V6) &&
		    ca_plan_check_roa(res, &add[i], &err) == -1) {
			api_error(c, 422, "outside_resources", f, "%s", err.msg);
			goto out;
		}
	}
	for (i = 0; i < nd; i++) {
		snprintf(f, sizeof(f), "remove[%zu]", i);
		if (get_roa(c, json_array_get(jd, i), f, &del[i]) != 0)
			goto out;
	}
	if (ca_eng_roa_update(c->eng, c->params[0], add, na, del, nd,
	    c->who.name, &err) == -1) {
		api_error_err(c, &err, err.code == CM_ENOTFOUND ? "remove" :
		    "add");
		if (err.code == CM_ENOTFOUND && c->out != NULL)
			json_object_set_new(json_object_get(c->out, "error"),
			    "code", json_string("roa_not_found"));
		goto out;
	}
	rc = 1;
out:
	free(add);
	free(del);
	ca_res_free(res);
	return rc ? roa_list(c, id) : c->status;
}

/* ---- ASPAs ---- */

static int
get_customer(struct api_call *c, const char *s, uint32_t *out)
{
	char		*end;
	unsigned long	 v;

	if (strncasecmp(s, "AS", 2) == 0)
		s += 2;
	v = strtoul(s, &end, 10);
	if (*s < '0' || *s > '9' || *end != '\0' || v > 4294967295UL ||
	    (s[0] == '0' && s[1] != '\0'))
		return api_error(c, 422, "invalid", "customer", "the customer "
		    "must be an AS number (64496 or AS64496)");
	*out = (uint32_t)v;
	return 0;
}

static int
aspa_rows(struct api_call *c, int64_t id, const char *customer,
    json_t **out)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	json_t			*arr;
	int			 n, i;

	db_params_init(&p);
	db_param_int(&p, id);
	db_param_text(&p, customer);
	if ((n = query(c, "SELECT customer, array_to_json(providers)::text "
	    "FROM aspa_config WHERE ca_id = $1 AND ($2::text IS NULL OR "
	    "customer = $2::bigint) ORDER BY customer", &p, &r)) < 0)
		return -n;
	arr = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(arr, json_pack("{s:I, s:o}", "customer",
		    (json_int_t)atoll(db_res_text(r, i, 0)), "providers",
		    json_loads(db_res_text(r, i, 1), 0, NULL)));
	db_res_free(r);
	*out = arr;
	return 0;
}

static int
r_aspa_list(struct api_call *c)
{
	json_t	*arr;
	int64_t	 id;
	int	 st;

	if ((st = ca_visible(c, c->params[0], &id, NULL)) != 0 ||
	    (st = aspa_rows(c, id, NULL, &arr)) != 0)
		return st;
	return ok_json(c, 200, json_pack("{s:o}", "aspas", arr));
}

static int
r_aspa_get(struct api_call *c)
{
	json_t		*arr;
	uint32_t	 cust;
	int64_t		 id;
	char		 cs[16];
	int		 st;

	if ((st = ca_visible(c, c->params[0], &id, NULL)) != 0 ||
	    get_customer(c, c->params[1], &cust) != 0)
		return c->status;
	snprintf(cs, sizeof(cs), "%u", cust);
	if ((st = aspa_rows(c, id, cs, &arr)) != 0)
		return st;
	if (json_array_size(arr) == 0) {
		json_decref(arr);
		return api_error(c, 404, "aspa_not_found", "customer", "CA %s "
		    "has no ASPA for AS%u", c->params[0], cust);
	}
	json_incref(json_array_get(arr, 0));
	st = ok_json(c, 200, json_array_get(arr, 0));
	json_decref(arr);
	return st;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int
r_aspa_put(struct api_call *c)
{
	struct ca_plan_aspa_cfg	 cfg;
	struct cm_err		 err;
	uint32_t		*prov = NULL;
	json_t			*jp;
	size_t			 n, i, k;
	int64_t			 id;
	char			 f[48];
	int			 st, rc;

	if ((st = ca_visible(c, c->params[0], &id, NULL)) != 0 ||
	    get_customer(c, c->params[1], &cfg.customer) != 0)
		return c->status;
	jp = json_object_get(c->body, "providers");
	if (!json_is_array(jp) || (n = json_array_size(jp)) == 0)
		return api_error(c, 422, "invalid", "providers", "providers must "
		    "be a non-empty array of AS numbers (DELETE removes an "
		    "ASPA)");
	if (n > 10000)
		return api_error(c, 413, "limit", "providers", "too many "
		    "providers");
	if ((prov = calloc(n, sizeof(*prov))) == NULL)
		return api_error(c, 500, "internal", NULL, "out of memory");
	for (i = 0; i < n; i++) {
		snprintf(f, sizeof(f), "providers[%zu]", i);
		if (get_asn(c, json_array_get(jp, i), f, &prov[i]) != 0) {
			free(prov);
			return c->status;
		}
	}
	qsort(prov, n, sizeof(*prov), cmp_u32);
	for (i = k = 0; i < n; i++)
		if (k == 0 || prov[k - 1] != prov[i])
			prov[k++] = prov[i];
	cfg.providers = prov;
	cfg.nproviders = k;
	rc = ca_eng_aspa_set(c->eng, c->params[0], &cfg, c->who.name, &err);
	free(prov);
	if (rc == -1)
		return api_error_err(c, &err, "providers");
	return r_aspa_get(c);
}

static int
r_aspa_delete(struct api_call *c)
{
	struct ca_plan_aspa_cfg	 cfg;
	struct cm_err		 err;
	int			 st;

	if ((st = r_aspa_get(c)) != 200)
		return st;
	memset(&cfg, 0, sizeof(cfg));
	get_customer(c, c->params[1], &cfg.customer);
	if (ca_eng_aspa_set(c->eng, c->params[0], &cfg, c->who.name, &err)
	    == -1)
		return api_error_err(c, &err, "customer");
	json_decref(c->out);
	c->out = NULL;
	c->status = 204;
	return 204;
}

/* ---- router certificates, key rolls, transfers ---- */

static int
r_router_add(struct api_call *c)
{
	struct cm_buf	 der = CM_BUF_INIT;
	struct cm_err	 err;
	const char	*csr;
	uint32_t	 asns[256];
	json_t		*ja;
	size_t		 n, i;
	int64_t		 id;
	char		 f[32];
	int		 st;

	if ((st = ca_visible(c, c->params[0], &id, NULL)) != 0 ||
	    get_str(c, c->body, "csr", "csr", 1, &csr) != 0)
		return c->status;
	ja = json_object_get(c->body, "asns");
	if (!json_is_array(ja) || (n = json_array_size(ja)) == 0 ||
	    n > sizeof(asns) / sizeof(asns[0]))
		return api_error(c, 422, "invalid", "asns", "asns must be an "
		    "array of 1 to 256 AS numbers");
	for (i = 0; i < n; i++) {
		snprintf(f, sizeof(f), "asns[%zu]", i);
		if (get_asn(c, json_array_get(ja, i), f, &asns[i]) != 0)
			return c->status;
	}
	if (cm_b64_decode(csr, strlen(csr), &der, &err) == -1 || der.len == 0) {
		cm_buf_free(&der);
		return api_error(c, 422, "invalid", "csr", "csr must be the "
		    "base64 of a DER PKCS#10 request");
	}
	st = ca_eng_router_add(c->eng, c->params[0], der.data, der.len, asns,
	    n, c->who.name, &err);
	cm_buf_free(&der);
	if (st == -1)
		return api_error_err(c, &err, err.code == CM_EINVAL ? "csr" :
		    NULL);
	return ok_json(c, 201, json_pack("{s:s, s:s}", "handle",
	    c->params[0], "status", "certified"));
}

static int
r_keyroll(struct api_call *c)
{
	struct cm_err	 err;
	const char	*step;
	json_t		*jf;
	int64_t		 id;
	int		 st, rc, force = 0;

	if ((st = ca_visible(c, c->params[0], &id, NULL)) != 0 ||
	    get_str(c, c->body, "step", "step", 1, &step) != 0)
		return c->status;
	if ((jf = json_object_get(c->body, "force")) != NULL) {
		if (!json_is_boolean(jf))
			return api_error(c, 422, "invalid", "force", "force must "
			    "be true or false");
		force = json_is_true(jf);
	}
	if (strcmp(step, "start") == 0)
		rc = ca_eng_keyroll_start(c->eng, c->params[0], c->who.name,
		    &err);
	else if (strcmp(step, "activate") == 0)
		rc = ca_eng_keyroll_activate(c->eng, c->params[0], force,
		    c->who.name, &err);
	else if (strcmp(step, "finish") == 0)
		rc = ca_eng_keyroll_finish(c->eng, c->params[0], c->who.name,
		    &err);
	else
		return api_error(c, 422, "invalid", "step", "step must be "
		    "start, activate or finish");
	if (rc == -1)
		return api_error_err(c, &err, "step");
	return ca_show(c, id, 200);
}

static int
r_transfer(struct api_call *c)
{
	struct ca_res	*res = NULL;
	struct cm_err	 err;
	const char	*from, *to;
	int64_t		 fid, tid;
	int		 st, rc;

	if (get_str(c, c->body, "from", "from", 1, &from) != 0 ||
	    get_str(c, c->body, "to", "to", 1, &to) != 0)
		return c->status;
	if ((st = ca_visible(c, from, &fid, "from")) != 0 ||
	    (st = ca_visible(c, to, &tid, "to")) != 0)
		return st;
	if (!c->who.admin && (fid == c->who.ca_id || tid == c->who.ca_id))
		return api_error(c, 403, "forbidden", NULL, "the resources of "
		    "a token's own CA are set by its parent's operator");
	if (get_res(c, json_object_get(c->body, "resources"), "resources",
	    &res) != 0)
		return c->status;
	rc = ca_eng_transfer(c->eng, from, to, res, c->who.name, &err);
	ca_res_free(res);
	if (rc == -1)
		return api_error_err(c, &err, "resources");
	return ok_json(c, 200, json_pack("{s:s, s:s, s:s}", "from", from,
	    "to", to, "status", "transferred"));
}

/* ---- history ---- */

static int
r_history(struct api_call *c)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	struct cm_err		 err;
	char			*actor = qparam(c, "actor"),
				*since = qparam(c, "since"),
				*until = qparam(c, "until"),
				*lim = qparam(c, "limit");
	long			 limit = 100;
	json_t			*arr;
	int64_t			 id;
	int			 n, i, st;

	if ((st = ca_visible(c, c->params[0], &id, NULL)) != 0)
		goto out;
	if ((st = api_limit(c, lim, &limit)) != 0)
		goto out;
	db_params_init(&p);
	db_param_int(&p, id);
	db_param_text(&p, actor);
	db_param_text(&p, since);
	db_param_text(&p, until);
	db_param_int(&p, limit);
	/* The engine records every change under each CA it concerns. */
	n = db_exec(c->db, "SELECT id, " TS("at") ", actor, action, object "
	    "FROM audit_log WHERE ca_id = $1 AND "
	    "($2::text IS NULL OR actor = "
	    "$2) AND ($3::timestamptz IS NULL OR at >= $3::timestamptz) AND "
	    "($4::timestamptz IS NULL OR at < $4::timestamptz) ORDER BY id "
	    "DESC LIMIT $5", &p, &r, &err);
	if (n == -1) {
		st = api_history_error(c, since, &err);
		goto out;
	}
	arr = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(arr, json_pack("{s:I, s:s, s:s, s:s, s:s}",
		    "id", (json_int_t)atoll(db_res_text(r, i, 0)), "at",
		    db_res_text(r, i, 1), "actor", db_res_text(r, i, 2),
		    "action", db_res_text(r, i, 3), "object",
		    db_res_text(r, i, 4)));
	db_res_free(r);
	st = ok_json(c, 200, json_pack("{s:o}", "history", arr));
out:
	free(actor);
	free(since);
	free(until);
	free(lim);
	return st;
}

/*
 * RFC 6492 up-down for the delegated children of a CA: the body is a CMS
 * message, authenticated by the child's BPKI trust anchor (not by a bearer
 * token); the reply is the parent's signed answer, HTTP 200 (RFC 6492 §3:
 * errors of the protocol travel inside the signed reply).
 */
static int
r_updown(struct api_call *c)
{
	struct cm_err	 err;
	const char	*ct = cm_http_req_header(c->req, "Content-Type");
	uint8_t		*out = NULL;
	size_t		 outlen;

	if (ct == NULL || strncasecmp(ct, "application/rpki-updown", 23) != 0)
		return api_error(c, 415, "unsupported_media_type", NULL,
		    "the body must be application/rpki-updown");
	if (c->req->body_len == 0)
		return api_error(c, 400, "invalid", NULL, "empty message");
	if (ca_eng_updown_cms(c->eng, c->params[0], c->req->body,
	    c->req->body_len, &out, &outlen, &err) == -1) {
		/* Not authenticated or not a message: no signed answer. */
		if (err.code == CM_EPERM)
			return api_error(c, 403, "forbidden", NULL, "%s", err.msg);
		if (err.code == CM_EINVAL || err.code == CM_ELIMIT)
			return api_error(c, 400, "invalid", NULL, "%s", err.msg);
		return api_error_err(c, &err, NULL);
	}
	c->bin = out;
	c->binlen = outlen;
	c->bin_ctype = "application/rpki-updown";
	return 200;
}

/* ---- for the other route files (api_int.h) ---- */

int
api_ca_visible(struct api_call *c, const char *handle, int64_t *id,
    const char *field)
{
	return ca_visible(c, handle, id, field);
}

int
api_get_str(struct api_call *c, json_t *o, const char *key, const char *field,
    int required, const char **out)
{
	return get_str(c, o, key, field, required, out);
}

int
api_get_res(struct api_call *c, json_t *o, const char *field,
    struct ca_res **out)
{
	return get_res(c, o, field, out);
}

int
api_query(struct api_call *c, const char *sql, const struct db_params *p,
    struct db_res **r)
{
	return query(c, sql, p, r);
}

int
api_ok(struct api_call *c, int status, json_t *o)
{
	return ok_json(c, status, o);
}

char *
api_qparam(struct api_call *c, const char *name)
{
	return qparam(c, name);
}

int
api_handle_ok(const char *h)
{
	return handle_ok(h);
}

/* ---- the table ---- */

const struct api_route api_routes[] = {
	{ "GET", "/api/v1/health", r_health, API_PUBLIC },
	{ "GET", "/api/v1/ready", r_ready, API_PUBLIC },
	{ "GET", "/api/v1/metrics", api_r_metrics, API_ADMIN },
	{ "GET", "/api/v1/status", api_r_status, API_ADMIN },
	{ "GET", "/api/v1/history", api_r_history_all, 0 },
	{ "GET", "/api/v1/tokens", api_r_token_list, API_ADMIN },
	{ "POST", "/api/v1/tokens", api_r_token_create,
	    API_ADMIN | API_BODY | API_SECRET },
	{ "DELETE", "/api/v1/tokens/{name}", api_r_token_revoke, API_ADMIN },
	{ "GET", "/api/v1/publishers", api_r_publisher_list, API_ADMIN },
	{ "POST", "/api/v1/publishers", api_r_publisher_add,
	    API_ADMIN | API_BODY },
	{ "GET", "/api/v1/publishers/{handle}", api_r_publisher_get,
	    API_ADMIN },
	{ "DELETE", "/api/v1/publishers/{handle}", api_r_publisher_remove,
	    API_ADMIN },
	{ "POST", "/api/v1/ta", api_r_ta_create, API_ADMIN | API_BODY },
	{ "GET", "/api/v1/ta/{handle}", api_r_ta_get, API_ADMIN },
	{ "GET", "/api/v1/ta/{handle}/tal", api_r_ta_tal, API_ADMIN },
	{ "GET", "/api/v1/ta/{handle}/tal/next", api_r_ta_tal_next, API_ADMIN },
	{ "GET", "/api/v1/ta/{handle}/keyroll", api_r_ta_keyroll_get,
	    API_ADMIN },
	{ "POST", "/api/v1/ta/{handle}/keyroll", api_r_ta_keyroll,
	    API_ADMIN | API_BODY },
	{ "GET", "/api/v1/cas", r_ca_list, 0 },
	{ "POST", "/api/v1/cas", r_ca_create, API_BODY },
	{ "POST", "/api/v1/bulk/cas", api_r_ca_bulk, API_BODY },
	{ "GET", "/api/v1/cas/{handle}", r_ca_get, 0 },
	{ "DELETE", "/api/v1/cas/{handle}", api_r_ca_delete, 0 },
	{ "GET", "/api/v1/cas/{handle}/status", api_r_ca_status, 0 },
	{ "PUT", "/api/v1/cas/{handle}/resources", r_ca_resources, API_BODY },
	{ "GET", "/api/v1/cas/{handle}/roas", r_roa_list, 0 },
	{ "POST", "/api/v1/cas/{handle}/roas", r_roa_update, API_BODY },
	{ "GET", "/api/v1/cas/{handle}/aspas", r_aspa_list, 0 },
	{ "GET", "/api/v1/cas/{handle}/aspas/{customer}", r_aspa_get, 0 },
	{ "PUT", "/api/v1/cas/{handle}/aspas/{customer}", r_aspa_put, API_BODY },
	{ "DELETE", "/api/v1/cas/{handle}/aspas/{customer}", r_aspa_delete, 0 },
	{ "POST", "/api/v1/cas/{handle}/routers", r_router_add, API_BODY },
	{ "GET", "/api/v1/cas/{handle}/routers", api_r_router_list, 0 },
	{ "DELETE", "/api/v1/cas/{handle}/routers/{key}", api_r_router_remove,
	    0 },
	{ "POST", "/api/v1/cas/{handle}/keyroll", r_keyroll, API_BODY },
	{ "GET", "/api/v1/cas/{handle}/history", r_history, 0 },
	{ "POST", "/api/v1/transfers", r_transfer, API_BODY },
	{ "POST", "/api/v1/updown/{handle}", r_updown, API_PUBLIC | API_RAW },
	{ "GET", "/api/v1/cas/{handle}/children", api_r_child_list, 0 },
	{ "POST", "/api/v1/cas/{handle}/children", api_r_child_add, API_BODY },
	{ "GET", "/api/v1/cas/{handle}/children/{child}", api_r_child_get, 0 },
	{ "PUT", "/api/v1/cas/{handle}/children/{child}/resources",
	    api_r_child_resources, API_BODY },
	{ "DELETE", "/api/v1/cas/{handle}/children/{child}", api_r_child_delete,
	    0 },
	{ "GET", "/api/v1/cas/{handle}/parent", api_r_parent_get, API_ADMIN },
	{ "POST", "/api/v1/cas/{handle}/parent/offline-request",
	    api_r_parent_offline_request, API_ADMIN },
	{ "POST", "/api/v1/cas/{handle}/parent/offline-response",
	    api_r_parent_offline_response, API_ADMIN | API_BODY },
};
const size_t api_nroutes = sizeof(api_routes) / sizeof(api_routes[0]);
