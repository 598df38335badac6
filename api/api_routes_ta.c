/*
 * Trust anchors over the API (admin tokens only): create one, show it (its
 * resources, key, certificate and the URIs of its TAL), and its RFC 8630
 * TAL.  The handlers run on a worker thread (api_server.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/x509.h>

#include "api/api_int.h"
#include "ca/tal.h"
#include "common/cm_buf.h"
#include "common/cm_enc.h"

#define TA_HANDLE_MAX	64	/* the engine's limit (ca/engine.c) */

static const char *const fam_key[3] = { "asn", "ipv4", "ipv6" };

/* A CA handle (api_handle_ok) within the engine's shorter limit for TAs. */
static int
ta_handle_ok(const char *h)
{
	return api_handle_ok(h) && strlen(h) <= TA_HANDLE_MAX;
}

/*
 * The "resources" member {"asn","ipv4","ipv6"} (RFC 6492 text forms) into
 * a new set (*out, caller frees).  0, or the 422 status.
 */
static int
body_res(struct api_call *c, struct ca_res **out)
{
	char		 f[32];
	int		 i, st;

	if ((st = api_get_res(c, json_object_get(c->body, "resources"),
	    "resources", out)) != 0)
		return st;
	for (i = 0; i < 3; i++) {
		if (ca_res_is_inherit(*out, (enum ca_res_family)i)) {
			snprintf(f, sizeof(f), "resources.%s", fam_key[i]);
			api_error(c, 422, "invalid", f, "%s: a trust anchor's "
			    "resources are explicit, not inherit", f);
			goto bad;
		}
	}
	if (ca_res_is_empty(*out)) {
		api_error(c, 422, "invalid", "resources", "a trust anchor needs "
		    "resources (asn, ipv4 or ipv6)");
		goto bad;
	}
	return 0;
bad:
	ca_res_free(*out);
	*out = NULL;
	return c->status;
}

/* notAfter of a DER certificate as "YYYY-MM-DDTHH:MM:SSZ", or NULL. */
static json_t *
cert_not_after(const uint8_t *der, size_t len)
{
	const unsigned char	*p = der;
	X509			*x;
	struct tm		 tm;
	char			 s[32];
	json_t			*o = NULL;

	if ((x = d2i_X509(NULL, &p, (long)len)) == NULL)
		return json_null();
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1 &&
	    strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%SZ", &tm) > 0)
		o = json_string(s);
	X509_free(x);
	return o != NULL ? o : json_null();
}

/* The URIs of the TAL of handle as a JSON array, or NULL (status set). */
static json_t *
tal_uris(struct api_call *c, const char *handle)
{
	struct ca_tal	*t = NULL;
	struct cm_err	 err;
	char		*tal = NULL;
	json_t		*arr;

	if (ca_eng_tal(c->eng, handle, &tal, &err) == -1 ||
	    ca_tal_parse(handle, tal, strlen(tal), &t, &err) == -1) {
		free(tal);
		api_error_err(c, &err, NULL);
		return NULL;
	}
	arr = json_array();
	for (size_t i = 0; arr != NULL && i < t->nuris; i++)
		json_array_append_new(arr, json_string(t->uris[i]));
	ca_tal_free(t);
	free(tal);
	if (arr == NULL)
		api_error(c, 500, "internal", NULL, "out of memory");
	return arr;
}

/* The JSON of trust anchor handle, answered with status. */
static int
ta_show(struct api_call *c, const char *handle, int status)
{
	struct db_params	 p;
	struct db_res		*r = NULL, *ch = NULL;
	struct cm_buf		 b64 = CM_BUF_INIT;
	struct cm_err		 err;
	const uint8_t		*der;
	size_t			 len;
	json_t			*o, *kids, *uris = NULL;
	int			 n, i, st;

	db_params_init(&p);
	db_param_text(&p, handle);
	p.binary_results = 1;
	n = db_exec(c->db, "SELECT c.handle, coalesce(r.asn, ''), "
	    "coalesce(r.ipv4, ''), coalesce(r.ipv6, ''), to_char(c.created_at "
	    "AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), k.id, "
	    "k.cert_uri, k.cert FROM ca c JOIN ca_key k ON k.ca_id = "
	    "c.id AND k.state = 'active' LEFT JOIN ca_resources r ON r.ca_id "
	    "= c.id WHERE c.handle = $1 AND c.kind = 'ta' AND c.deleted_at IS "
	    "NULL", &p, &r, &err);
	if (n == -1)
		return api_error_err(c, &err, NULL);
	if (n == 0) {
		db_res_free(r);
		return api_error(c, 404, "ta_not_found", NULL, "%s: no such "
		    "trust anchor", handle);
	}
	if (db_res_bytea(r, 0, 7, &der, &len, &err) == -1) {
		st = api_error_err(c, &err, NULL);
		goto out;
	}
	if (cm_b64_encode(der, len, &b64) == -1) {
		st = api_error(c, 500, "internal", NULL, "out of memory");
		goto out;
	}
	db_params_init(&p);
	db_param_text(&p, handle);
	if (db_exec(c->db, "SELECT ch.handle FROM ca ch JOIN ca t ON t.id = "
	    "ch.parent_id WHERE t.handle = $1 AND ch.deleted_at IS NULL ORDER "
	    "BY ch.handle COLLATE \"C\"", &p, &ch, &err) == -1) {
		st = api_error_err(c, &err, NULL);
		goto out;
	}
	if ((uris = tal_uris(c, handle)) == NULL) {
		st = c->status;
		goto out;
	}
	kids = json_array();
	for (i = 0; i < db_res_rows(ch); i++)
		json_array_append_new(kids, json_string(db_res_text(ch, i, 0)));
	o = json_pack("{s:s, s:s, s:{s:s, s:s, s:s}, s:s, s:s, s:s, s:s, "
	    "s:o, s:O, s:o}",
	    "handle", db_res_text(r, 0, 0), "kind", "ta",
	    "resources", "asn", db_res_text(r, 0, 1), "ipv4",
	    db_res_text(r, 0, 2), "ipv6", db_res_text(r, 0, 3),
	    "created_at", db_res_text(r, 0, 4), "key_id", db_res_text(r, 0, 5),
	    "cert_uri", db_res_text(r, 0, 6),
	    "certificate", cm_buf_cstr(&b64),
	    "not_after", cert_not_after(der, len),
	    "tal_uris", uris, "children", kids);
	st = api_ok(c, status, o);
out:
	json_decref(uris);
	cm_buf_free(&b64);
	db_res_free(r);
	db_res_free(ch);
	return st;
}

int
api_r_ta_create(struct api_call *c)
{
	struct ca_res	*res = NULL;
	struct cm_err	 err;
	json_t		*h = json_object_get(c->body, "handle");
	const char	*handle;
	int		 rc, st;

	if (h == NULL)
		return api_error(c, 422, "missing", "handle", "handle is "
		    "required");
	if (!json_is_string(h) || !ta_handle_ok(handle = json_string_value(h)))
		return api_error(c, 422, "invalid", "handle", "a trust anchor's "
		    "handle is 1 to %d letters, digits, '.', '_' or '-', "
		    "starting with a letter or digit", TA_HANDLE_MAX);
	if ((st = body_res(c, &res)) != 0)
		return st;
	rc = ca_eng_ta_create(c->eng, handle, res, c->who.name, &err);
	ca_res_free(res);
	if (rc == -1)
		return api_error_err(c, &err, err.code == CM_EEXIST ? "handle" :
		    "resources");
	return ta_show(c, handle, 201);
}

int
api_r_ta_get(struct api_call *c)
{
	return ta_show(c, c->params[0], 200);
}

int
api_r_ta_tal(struct api_call *c)
{
	struct cm_err	 err;
	char		*tal = NULL;
	int		 st;

	if (ca_eng_tal(c->eng, c->params[0], &tal, &err) == -1) {
		if (err.code == CM_ENOTFOUND)
			return api_error(c, 404, "ta_not_found", NULL, "%s: no "
			    "such trust anchor", c->params[0]);
		return api_error_err(c, &err, NULL);
	}
	st = api_ok(c, 200, json_pack("{s:s, s:s}", "handle", c->params[0],
	    "tal", tal));
	free(tal);
	return st;
}
