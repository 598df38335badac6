/*
 * Trust anchors over the API (admin tokens only): create one, show it (its
 * resources, key, certificate and the URIs of its TAL), its RFC 8630 TAL,
 * and its key roll (RFC 9691, docs/ta-keyroll.md): the state of the roll,
 * a step (start, finish), the successor's TAL during the roll.  The
 * handlers run on a worker thread (api_server.c).
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
#include "common/cm_clock.h"
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

/* The TAL of the TA's current key, or of the new one (next) in a roll. */
static int
tal_answer(struct api_call *c, int next)
{
	struct cm_err	 err;
	char		*tal = NULL;
	int		 st;

	if (ca_eng_tal_key(c->eng, c->params[0], next, &tal, &err) == -1) {
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

int
api_r_ta_tal(struct api_call *c)
{
	return tal_answer(c, 0);
}

/* ---- key roll (RFC 9691) ---- */

/* t (seconds since the epoch) as an ISO 8601 string, or null for 0. */
static json_t *
iso_time(int64_t t)
{
	char	s[21];

	if (t == 0)
		return json_null();
	cm_time_iso8601(t, s);
	return json_string(s);
}

/*
 * The state of the key roll of trust anchor handle, answered with status:
 * the active key, the new key and when it was made during a roll, when
 * its acceptance period ends and whether finish is allowed without force.
 */
static int
roll_show(struct api_call *c, const char *handle, int status)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	struct cm_err		 err;
	const char		*active = NULL, *next = NULL, *next_uri = NULL;
	int64_t			 started = 0, ends = 0, now;
	int			 n, i, st;

	db_params_init(&p);
	db_param_text(&p, handle);
	if ((n = db_exec(c->db, "SELECT k.id, k.state, extract(epoch FROM "
	    "k.created_at)::bigint, k.cert_uri FROM ca c JOIN ca_key k ON "
	    "k.ca_id = c.id WHERE c.handle = $1 AND c.kind = 'ta' AND "
	    "c.deleted_at IS NULL AND k.state IN ('active', 'pending')", &p, &r,
	    &err)) == -1)
		return api_error_err(c, &err, NULL);
	for (i = 0; i < n; i++) {
		if (strcmp(db_res_text(r, i, 1), "active") == 0) {
			active = db_res_text(r, i, 0);
			continue;
		}
		next = db_res_text(r, i, 0);
		next_uri = db_res_text(r, i, 3);
		if (db_res_int64(r, i, 2, &started, &err) == -1) {
			st = api_error_err(c, &err, NULL);
			goto out;
		}
	}
	if (active == NULL) {
		st = api_error(c, 404, "ta_not_found", NULL, "%s: no such trust "
		    "anchor", handle);
		goto out;
	}
	now = cm_clock_now(c->conf->clock);
	if (next != NULL)
		ends = started + c->conf->eng_conf->ta_acceptance;
	st = api_ok(c, status, json_pack("{s:s, s:b, s:s, s:s?, s:s?, s:o, "
	    "s:o, s:I, s:b}", "handle", handle, "rolling", next != NULL,
	    "active_key", active, "next_key", next, "next_cert_uri", next_uri,
	    "started_at", iso_time(started), "acceptance_ends_at",
	    iso_time(ends), "acceptance_seconds",
	    (json_int_t)c->conf->eng_conf->ta_acceptance, "finish_allowed",
	    next != NULL && now >= ends));
out:
	db_res_free(r);
	return st;
}

int
api_r_ta_keyroll_get(struct api_call *c)
{
	return roll_show(c, c->params[0], 200);
}

/* 1 when handle is a trust anchor, 0 (the 404 answer set), -1 (answer). */
static int
ta_exists(struct api_call *c, const char *handle)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	struct cm_err		 err;
	int			 n;

	db_params_init(&p);
	db_param_text(&p, handle);
	if ((n = db_exec(c->db, "SELECT 1 FROM ca WHERE handle = $1 AND kind = "
	    "'ta' AND deleted_at IS NULL", &p, &r, &err)) == -1) {
		api_error_err(c, &err, NULL);
		return -1;
	}
	db_res_free(r);
	if (n == 0)
		api_error(c, 404, "ta_not_found", NULL, "%s: no such trust "
		    "anchor", handle);
	return n > 0;
}

/*
 * POST /ta/{h}/keyroll {"step":"start"|"finish","force":false}: one step,
 * then the state of the roll.  A second start is 409 exists, finish
 * without a roll or before the acceptance period (without force) 409
 * conflict.
 */
int
api_r_ta_keyroll(struct api_call *c)
{
	struct cm_err	 err;
	const char	*step;
	json_t		*jf;
	int		 rc, force = 0;

	if (api_get_str(c, c->body, "step", "step", 1, &step) != 0)
		return c->status;
	if ((jf = json_object_get(c->body, "force")) != NULL) {
		if (!json_is_boolean(jf))
			return api_error(c, 422, "invalid", "force", "force must "
			    "be true or false");
		force = json_is_true(jf);
	}
	if (strcmp(step, "start") != 0 && strcmp(step, "finish") != 0)
		return api_error(c, 422, "invalid", "step", "step must be start "
		    "or finish");
	if (force && strcmp(step, "start") == 0)
		return api_error(c, 422, "invalid", "force", "force applies to "
		    "finish only (it skips the acceptance period)");
	if ((rc = ta_exists(c, c->params[0])) != 1)
		return c->status;
	if (strcmp(step, "start") == 0)
		rc = ca_eng_ta_keyroll_start(c->eng, c->params[0], c->who.name,
		    &err);
	else
		rc = ca_eng_ta_keyroll_finish(c->eng, c->params[0], force,
		    c->who.name, &err);
	if (rc == -1)
		return api_error_err(c, &err, "step");
	return roll_show(c, c->params[0], 200);
}

/* GET /ta/{h}/tal/next: the TAL of the new key during a roll. */
int
api_r_ta_tal_next(struct api_call *c)
{
	return tal_answer(c, 1);
}
