/*
 * The administration routes of the provisioning API over real sockets
 * (embedded PostgreSQL, engine-made CAs, the API on 127.0.0.1:0): CA
 * deletion, tokens, RFC 8181 publishers, repository and CA status, the
 * audit log across CAs, metrics; and for each of them a member token
 * against another member's CA or an admin route (404 or 403, nothing
 * changed).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "api/api.h"
#include "api/api_client.h"
#include "ca/engine.h"
#include "common/cm_buf.h"
#include "common/cm_enc.h"
#include "db_testutil.h"
#include "eng_testutil.h"
#include "publish/pub_bpki.h"
#include "publish/pub_msg.h"
#include "publish/pub_oob.h"
#include "publish/pub_repo.h"

#define BASE	"rsync://127.0.0.1:8873/repo/"
#define SVC	"https://pub.example.net/rfc8181/"

struct fx {
	struct dbt		 t;
	struct db		*db;
	struct hsm		*hsm;
	struct hsm_pool		*pool;
	struct ca_eng		*e;
	struct ca_eng_conf	 conf;
	struct api		*api, *bare;	/* bare: no [rfc8181] */
	char			 url[64], bare_url[64];
	char			 repo_cert[128], pub_cert[128];
	char			*admin, *m1, *m2;	/* tokens */
};

static struct fx *F;

static int64_t
count(const char *sql)
{
	return tu_count(F->db, sql);
}

static void
exec(const char *sql)
{
	struct cm_err err;

	if (db_exec(F->db, sql, NULL, NULL, &err) == -1)
		fail_msg("%s: %s", sql, err.msg);
}

static int
req_url(const char *url, const char *token, const char *method,
    const char *path, const char *idem, const char *body, json_t **out,
    char **text)
{
	struct api_http_resp	r;
	struct cm_err		err;
	int			st;

	if (api_http_request(url, method, path, token, idem, body, 20000, &r,
	    &err) == -1)
		fail_msg("%s %s: %s", method, path, err.msg);
	st = r.status;
	if (out != NULL) {
		*out = json_loads(r.body, 0, NULL);
		if (*out == NULL && st != 204)
			fail_msg("%s %s: %d, not JSON: %s", method, path, st,
			    r.body);
	}
	if (text != NULL)
		*text = strdup(r.body != NULL ? r.body : "");
	api_http_resp_free(&r);
	return st;
}

static int
req(const char *token, const char *method, const char *path, const char *body,
    json_t **out)
{
	return req_url(F->url, token, method, path, NULL, body, out, NULL);
}

static void
expect(const char *token, const char *method, const char *path,
    const char *body, int status, const char *code, const char *field)
{
	json_t	*j = NULL, *e;
	char	*d;
	int	 st = req(token, method, path, body, status == 204 ? NULL : &j);

	if (st != status) {
		d = j != NULL ? json_dumps(j, 0) : NULL;
		fail_msg("%s %s: %d, expected %d: %s", method, path, st, status,
		    d != NULL ? d : "");
	}
	if (code != NULL || field != NULL) {
		e = json_object_get(j, "error");
		assert_non_null(e);
		assert_true(json_is_string(json_object_get(e, "message")));
		if (code != NULL)
			assert_string_equal(json_string_value(json_object_get(e,
			    "code")), code);
		if (field != NULL)
			assert_string_equal(json_string_value(json_object_get(e,
			    "field")), field);
	}
	json_decref(j);
}

static void
mkca(const char *h, const char *parent, const char *as, const char *v4)
{
	struct ca_res	*r = tu_res(as, v4, "");
	struct cm_err	 err;

	if (ca_eng_ca_create(F->e, h, parent, r, "test", &err) == -1)
		fail_msg("%s: %s", h, err.msg);
	ca_res_free(r);
}

static int
setup(void **state)
{
	struct fx	*f = calloc(1, sizeof(*f));
	struct api_conf	 ac;
	struct cm_err	 err;
	struct ca_res	*r;
	char		 key[128];

	F = f;
	if (dbt_start(&f->t, &err) == -1 ||
	    (f->db = db_open(f->t.dsn, 5, &err)) == NULL ||
	    db_migrate(f->db, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	f->hsm = hsm_open_mem();
	if ((f->pool = hsm_pool_new(8, 1, &err)) == NULL)
		return -1;
	ca_eng_conf_defaults(&f->conf);
	f->conf.rsync_base = BASE;
	f->conf.notify_uri = "https://rrdp.example.net/notification.xml";
	if ((f->e = ca_eng_new(&f->conf, f->db, f->hsm, f->pool, NULL,
	    &err)) == NULL)
		return -1;
	r = tu_res("0-4294967295", "0.0.0.0/0", "::/0");
	assert_int_equal(ca_eng_ta_create(f->e, "ta", r, "test", &err), 0);
	ca_res_free(r);
	mkca("rir", "ta", "64496-64511", "10.0.0.0/8");
	mkca("m1", "rir", "64496-64499", "10.1.0.0/16");
	mkca("m1c", "m1", "64497", "10.1.1.0/24");
	mkca("m2", "rir", "64500-64501", "10.2.0.0/16");
	if (api_token_create(f->db, "ops", NULL, &f->admin, &err) == -1 ||
	    api_token_create(f->db, "member-1", "m1", &f->m1, &err) == -1 ||
	    api_token_create(f->db, "member-2", "m2", &f->m2, &err) == -1) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	/* The publication server's identity, and a remote publisher's. */
	snprintf(key, sizeof(key), "%s/repo.key", f->t.dir);
	snprintf(f->repo_cert, sizeof(f->repo_cert), "%s/repo.pem", f->t.dir);
	if (pub_bpki_create(key, f->repo_cert, "repository", &err) == -1)
		return -1;
	snprintf(key, sizeof(key), "%s/pub.key", f->t.dir);
	snprintf(f->pub_cert, sizeof(f->pub_cert), "%s/pub.pem", f->t.dir);
	if (pub_bpki_create(key, f->pub_cert, "krill", &err) == -1)
		return -1;
	memset(&ac, 0, sizeof(ac));
	ac.host = "127.0.0.1";
	ac.max_body = 64 * 1024;
	ac.dsn = f->t.dsn;
	ac.hsm = f->hsm;
	ac.pool = f->pool;
	ac.eng_conf = &f->conf;
	if ((f->bare = api_start(&ac, &err)) == NULL)
		return -1;
	ac.pub_service_uri = SVC;
	ac.pub_bpki_cert = f->repo_cert;
	if ((f->api = api_start(&ac, &err)) == NULL) {
		fprintf(stderr, "api_start: %s\n", err.msg);
		return -1;
	}
	snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%u",
	    api_port(f->api));
	snprintf(f->bare_url, sizeof(f->bare_url), "http://127.0.0.1:%u",
	    api_port(f->bare));
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	api_stop(f->api);
	api_stop(f->bare);
	ca_eng_free(f->e);
	hsm_pool_free(f->pool);
	hsm_close(f->hsm);
	db_close(f->db);
	dbt_stop(&f->t);
	free(f->admin);
	free(f->m1);
	free(f->m2);
	free(f);
	return 0;
}

/* ---- CA deletion ---- */

/* The parent's current CRL lists the certificate of the deleted CA. */
static void
crl_lists_gone(void)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	struct cm_err		 err;
	const uint8_t		*der, *q;
	size_t			 len;
	X509_CRL		*crl;
	X509_REVOKED		*rev = NULL;
	ASN1_INTEGER		*sn;
	BIGNUM			*bn = NULL;

	db_params_init(&p);
	if (db_exec(F->db, "SELECT (SELECT der FROM issued_object WHERE kind = "
	    "'crl' AND withdrawn_at IS NULL AND ca_id = (SELECT id FROM ca "
	    "WHERE handle = 'rir')), (SELECT serial::text FROM issued_object "
	    "WHERE subject = 'cer gone' ORDER BY id DESC LIMIT 1)", &p, &r,
	    &err) != 1)
		fail_msg("%s", err.msg);
	assert_int_equal(db_res_bytea(r, 0, 0, &der, &len, &err), 0);
	q = der;
	assert_non_null(crl = d2i_X509_CRL(NULL, &q, (long)len));
	assert_true(BN_dec2bn(&bn, db_res_text(r, 0, 1)) > 0);
	assert_non_null(sn = BN_to_ASN1_INTEGER(bn, NULL));
	assert_int_equal(X509_CRL_get0_by_serial(crl, &rev, sn), 1);
	ASN1_INTEGER_free(sn);
	BN_free(bn);
	X509_CRL_free(crl);
	db_res_free(r);
}

static void
test_ca_delete(void **state)
{
	json_t	*j;
	char	*text;
	int64_t	 pending, revoked;

	(void)state;
	mkca("gone", "rir", "64502", "10.4.0.0/16");
	mkca("gone2", "m1", "64498", "10.1.2.0/24");
	expect(F->admin, "POST", "/api/v1/cas/gone/roas", "{\"add\":[{\"asn\":"
	    "64502,\"prefix\":\"10.4.0.0/16\"}]}", 200, NULL, NULL);
	expect(F->admin, "PUT", "/api/v1/cas/gone/aspas/64502",
	    "{\"providers\":[65001]}", 200, NULL, NULL);
	expect(F->admin, "POST", "/api/v1/tokens", "{\"name\":\"gone-portal\","
	    "\"ca\":\"gone\"}", 201, NULL, NULL);
	assert_true(count("SELECT count(*) FROM issued_object o JOIN ca c ON "
	    "c.id = o.ca_id WHERE c.handle = 'gone' AND withdrawn_at IS NULL")
	    >= 4);
	/* Refusals: children, a trust anchor, a token's own CA, scope. */
	expect(F->admin, "DELETE", "/api/v1/cas/m1", NULL, 409, "conflict",
	    NULL);
	expect(F->admin, "DELETE", "/api/v1/cas/ta", NULL, 409, "conflict",
	    NULL);
	expect(F->m1, "DELETE", "/api/v1/cas/m1", NULL, 403, "forbidden", NULL);
	expect(F->m2, "DELETE", "/api/v1/cas/gone2", NULL, 404, "ca_not_found",
	    NULL);
	expect(F->admin, "DELETE", "/api/v1/cas/nope", NULL, 404,
	    "ca_not_found", NULL);
	pending = count("SELECT count(*) FROM pub_change WHERE op = "
	    "'withdraw'");
	revoked = count("SELECT count(*) FROM revoked_cert");
	assert_int_equal(req(F->admin, "DELETE", "/api/v1/cas/gone", NULL, &j),
	    200);
	assert_true(json_is_true(json_object_get(j, "deleted")));
	assert_int_equal(json_integer_value(json_object_get(j,
	    "tokens_revoked")), 1);
	json_decref(j);
	/* Nothing of it is current; everything is withdrawn in the outbox. */
	assert_int_equal(count("SELECT count(*) FROM issued_object o JOIN ca c "
	    "ON c.id = o.ca_id WHERE c.handle = 'gone' AND withdrawn_at IS "
	    "NULL"), 0);
	assert_int_equal(count("SELECT count(*) FROM issued_object WHERE "
	    "subject = 'cer gone' AND withdrawn_at IS NULL"), 0);
	assert_true(count("SELECT count(*) FROM pub_change WHERE op = "
	    "'withdraw'") >= pending + 5);
	assert_int_equal(count("SELECT count(*) FROM pub_change WHERE serial IS "
	    "NULL AND uri = '" BASE "gone/' || substr((SELECT id FROM ca_key "
	    "WHERE ca_id = (SELECT id FROM ca WHERE handle = 'gone')), 1, 16) "
	    "|| '.mft' AND op = 'withdraw'"), 1);
	/* The parent revoked its certificate and signed a new CRL. */
	assert_true(count("SELECT count(*) FROM revoked_cert") > revoked);
	assert_int_equal(count("SELECT count(*) FROM revoked_cert r JOIN "
	    "issued_object o ON o.serial = r.serial AND o.key_id = r.key_id "
	    "WHERE o.subject = 'cer gone'"), 1);
	assert_int_equal(count("SELECT count(*) FROM ca_key WHERE ca_id = "
	    "(SELECT id FROM ca WHERE handle = 'gone') AND state <> 'revoked'"),
	    0);
	crl_lists_gone();
	assert_int_equal(count("SELECT count(*) FROM roa_config r JOIN ca c ON "
	    "c.id = r.ca_id WHERE c.handle = 'gone'"), 0);
	assert_int_equal(count("SELECT count(*) FROM audit_log a JOIN ca c ON "
	    "c.id = a.ca_id WHERE a.action = 'ca.delete' AND a.object = 'gone' "
	    "AND a.actor = 'ops' AND c.handle IN ('gone', 'rir')"), 2);
	assert_int_equal(count("SELECT count(*) FROM api_token WHERE name = "
	    "'gone-portal' AND revoked_at IS NOT NULL"), 1);
	/* Gone for the API; the handle stays taken. */
	expect(F->admin, "GET", "/api/v1/cas/gone", NULL, 404, "ca_not_found",
	    NULL);
	expect(F->admin, "DELETE", "/api/v1/cas/gone", NULL, 404,
	    "ca_not_found", NULL);
	expect(F->admin, "POST", "/api/v1/cas", "{\"handle\":\"gone\","
	    "\"parent\":\"rir\",\"resources\":{\"asn\":\"64502\"}}", 409,
	    "exists", "handle");
	assert_int_equal(req(F->admin, "GET", "/api/v1/cas/rir", NULL, &j),
	    200);
	text = json_dumps(json_object_get(j, "children"), 0);
	assert_non_null(text);
	assert_null(strstr(text, "\"gone\""));
	free(text);
	json_decref(j);
	/* A member deletes a CA below its own. */
	expect(F->m1, "DELETE", "/api/v1/cas/gone2", NULL, 200, NULL, NULL);
	expect(F->m1, "GET", "/api/v1/cas/gone2", NULL, 404, "ca_not_found",
	    NULL);
}

/* ---- tokens ---- */

static void
test_tokens(void **state)
{
	json_t		*j;
	char		*secret, *text = NULL, sql[512];
	uint8_t		 h[32];
	char		 hex[65];

	(void)state;
	assert_int_equal(req_url(F->url, F->admin, "POST", "/api/v1/tokens",
	    "tk-1", "{\"name\":\"portal-1\",\"ca\":\"m1\"}", &j, NULL), 201);
	assert_string_equal(json_string_value(json_object_get(j, "scope")),
	    "ca");
	assert_string_equal(json_string_value(json_object_get(j, "ca")), "m1");
	secret = strdup(json_string_value(json_object_get(j, "token")));
	json_decref(j);
	assert_int_equal(strncmp(secret, "cairn_", 6), 0);
	/* Stored hashed; the replay and the idempotency table omit it. */
	cm_sha256(secret, strlen(secret), h);
	cm_hex_encode(h, 32, hex);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM api_token WHERE name "
	    "= 'portal-1' AND hash = '\\x%s'::bytea", hex);
	assert_int_equal(count(sql), 1);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM api_idempotency WHERE "
	    "position('%s'::bytea IN response) > 0", secret);
	assert_int_equal(count(sql), 0);
	assert_int_equal(req_url(F->url, F->admin, "POST", "/api/v1/tokens",
	    "tk-1", "{\"name\":\"portal-1\",\"ca\":\"m1\"}", NULL, &text), 201);
	assert_null(strstr(text, secret));
	assert_non_null(strstr(text, "\"token_shown_once\":true"));
	free(text);
	/* It works, within its scope. */
	expect(secret, "GET", "/api/v1/cas/m1c", NULL, 200, NULL, NULL);
	expect(secret, "GET", "/api/v1/cas/m2", NULL, 404, "ca_not_found", NULL);
	/* Admin tokens must be asked for. */
	expect(F->admin, "POST", "/api/v1/tokens", "{\"name\":\"x\"}", 422,
	    "missing", "ca");
	expect(F->admin, "POST", "/api/v1/tokens", "{\"name\":\"x\",\"ca\":"
	    "\"m1\",\"admin\":true}", 422, "invalid", "ca");
	expect(F->admin, "POST", "/api/v1/tokens", "{\"name\":\"x\",\"admin\":"
	    "1}", 422, "invalid", "admin");
	expect(F->admin, "POST", "/api/v1/tokens", "{\"name\":\"ops-2\","
	    "\"admin\":true}", 201, NULL, NULL);
	expect(F->admin, "POST", "/api/v1/tokens", "{\"name\":\"ops-2\","
	    "\"admin\":true}", 409, "exists", "name");
	expect(F->admin, "POST", "/api/v1/tokens", "{\"name\":\"-bad\","
	    "\"admin\":true}", 422, "invalid", "name");
	expect(F->admin, "POST", "/api/v1/tokens", "{\"name\":\"y\",\"ca\":"
	    "\"nope\"}", 404, "ca_not_found", "ca");
	/* The list: scopes, never a secret. */
	assert_int_equal(req_url(F->url, F->admin, "GET", "/api/v1/tokens",
	    NULL, NULL, NULL, &text), 200);
	assert_non_null(strstr(text, "\"name\":\"portal-1\""));
	assert_non_null(strstr(text, "\"scope\":\"admin\""));
	assert_null(strstr(text, "cairn_"));
	free(text);
	assert_int_equal(count("SELECT count(*) FROM audit_log WHERE action = "
	    "'token.create' AND object = 'portal-1' AND actor = 'ops' AND ca_id "
	    "= (SELECT id FROM ca WHERE handle = 'm1')"), 1);
	/* Revocation works at once. */
	expect(F->admin, "DELETE", "/api/v1/tokens/portal-1", NULL, 204, NULL,
	    NULL);
	expect(secret, "GET", "/api/v1/cas/m1", NULL, 401, "unauthenticated",
	    NULL);
	expect(F->admin, "DELETE", "/api/v1/tokens/portal-1", NULL, 404,
	    "token_not_found", "name");
	assert_int_equal(count("SELECT count(*) FROM audit_log WHERE action = "
	    "'token.revoke' AND object = 'portal-1'"), 1);
	free(secret);
}

/* ---- publishers ---- */

/* The JSON body of a publisher_request for handle (malloc'd). */
static char *
publisher_request(const char *handle)
{
	struct pub_oob	 o;
	struct cm_buf	 out = CM_BUF_INIT;
	struct cm_err	 err;
	uint8_t		*der = NULL;
	X509		*x;
	FILE		*fp;
	json_t		*b;
	char		*s;
	int		 n;

	assert_non_null(fp = fopen(F->pub_cert, "r"));
	assert_non_null(x = PEM_read_X509(fp, NULL, NULL, NULL));
	fclose(fp);
	assert_true((n = i2d_X509(x, &der)) > 0);
	X509_free(x);
	memset(&o, 0, sizeof(o));
	o.type = PUB_OOB_PUBLISHER_REQUEST;
	o.tag = "t1";
	o.handle = (char *)handle;
	o.bpki_ta = der;
	o.bpki_ta_len = (size_t)n;
	assert_int_equal(pub_oob_write(&o, &out, &err), 0);
	cm_buf_add(&out, "", 1);
	b = json_pack("{s:s}", "publisher_request", (char *)out.data);
	s = json_dumps(b, 0);
	json_decref(b);
	cm_buf_free(&out);
	OPENSSL_free(der);
	return s;
}

static void
test_publishers(void **state)
{
	struct pub_publisher	 p;
	struct pub_msg		*q, *reply = NULL;
	struct pub_oob		*resp = NULL;
	struct cm_err		 err;
	const char		*xml;
	json_t			*j;
	char			*body = publisher_request("krill-1"), *text;

	(void)state;
	/* Without the publication server's identity: 501, nothing added. */
	assert_int_equal(req_url(F->bare_url, F->admin, "POST",
	    "/api/v1/publishers", NULL, body, &j, NULL), 501);
	json_decref(j);
	assert_int_equal(count("SELECT count(*) FROM publisher WHERE handle = "
	    "'krill-1'"), 0);
	assert_int_equal(req(F->admin, "POST", "/api/v1/publishers", body, &j),
	    201);
	assert_string_equal(json_string_value(json_object_get(j, "kind")),
	    "remote");
	assert_string_equal(json_string_value(json_object_get(j, "sia_base")),
	    BASE "krill-1/");
	assert_string_equal(json_string_value(json_object_get(j,
	    "service_uri")), SVC "krill-1");
	xml = json_string_value(json_object_get(j, "repository_response"));
	assert_non_null(xml);
	assert_int_equal(pub_oob_parse("repository_response",
	    (const uint8_t *)xml, strlen(xml), PUB_OOB_REPOSITORY_RESPONSE,
	    &resp, &err), 0);
	assert_string_equal(resp->handle, "krill-1");
	assert_string_equal(resp->tag, "t1");
	assert_string_equal(resp->sia_base, BASE "krill-1/");
	assert_string_equal(resp->service_uri, SVC "krill-1");
	assert_string_equal(resp->rrdp_notification_uri,
	    "https://rrdp.example.net/notification.xml");
	pub_oob_free(resp);
	json_decref(j);
	expect(F->admin, "POST", "/api/v1/publishers", body, 409, "exists",
	    "handle");
	free(body);
	/* A handle that is a CA's publication point is taken. */
	body = publisher_request("m2");
	expect(F->admin, "POST", "/api/v1/publishers", body, 409, "exists",
	    "handle");
	free(body);
	expect(F->admin, "POST", "/api/v1/publishers", "{\"publisher_request\":"
	    "\"<x/>\"}", 422, "invalid", "publisher_request");
	expect(F->admin, "POST", "/api/v1/publishers", "{}", 422, "missing",
	    "publisher_request");
	/* Listing, filtering, showing. */
	assert_int_equal(req_url(F->url, F->admin, "GET",
	    "/api/v1/publishers?kind=remote", NULL, NULL, NULL, &text), 200);
	assert_non_null(strstr(text, "\"handle\":\"krill-1\""));
	assert_null(strstr(text, "\"handle\":\"m1\""));
	free(text);
	assert_int_equal(req(F->admin, "GET", "/api/v1/publishers?kind=ca&"
	    "limit=2", NULL, &j), 200);
	assert_int_equal(json_array_size(json_object_get(j, "publishers")), 2);
	assert_true(json_is_string(json_object_get(j, "next")));
	json_decref(j);
	expect(F->admin, "GET", "/api/v1/publishers?kind=x", NULL, 422,
	    "invalid", "kind");
	expect(F->admin, "GET", "/api/v1/publishers/krill-1", NULL, 200, NULL,
	    NULL);
	expect(F->admin, "GET", "/api/v1/publishers/nope", NULL, 404,
	    "publisher_not_found", "handle");
	expect(F->admin, "DELETE", "/api/v1/publishers/m1", NULL, 409,
	    "conflict", "handle");
	/* It publishes an object; removing it withdraws the object. */
	assert_int_equal(pub_repo_publisher_get(F->db, "krill-1", &p, &err), 0);
	assert_non_null(q = pub_msg_new(0));
	assert_int_equal(pub_msg_add(q, PUB_PDU_PUBLISH, NULL, BASE
	    "krill-1/a.roa", NULL, (const uint8_t *)"abc", 3, &err), 0);
	assert_int_equal(pub_repo_apply(F->db, &p, q, &reply, &err), 0);
	assert_int_equal(reply->pdus[0].type, PUB_PDU_PUBLISH);
	pub_msg_free(q);
	pub_msg_free(reply);
	pub_publisher_clear(&p);
	assert_int_equal(req(F->admin, "DELETE", "/api/v1/publishers/krill-1",
	    NULL, &j), 200);
	assert_int_equal(json_integer_value(json_object_get(j, "withdrawn")), 1);
	json_decref(j);
	assert_int_equal(count("SELECT count(*) FROM pub_change WHERE uri = '"
	    BASE "krill-1/a.roa' AND op = 'withdraw'"), 1);
	assert_int_equal(count("SELECT count(*) FROM publisher WHERE handle = "
	    "'krill-1' AND deleted_at IS NOT NULL"), 1);
	assert_int_equal(count("SELECT count(*) FROM audit_log WHERE action IN "
	    "('publisher.add', 'publisher.remove') AND object = 'krill-1'"), 2);
	expect(F->admin, "GET", "/api/v1/publishers/krill-1", NULL, 404,
	    "publisher_not_found", NULL);
	assert_int_equal(pub_repo_publisher_get(F->db, "krill-1", &p, &err), -1);
}

/* ---- status, history, metrics ---- */

static void
test_status(void **state)
{
	json_t	*j, *probs;
	char	*text;
	size_t	 i;
	int	 lag = 0;

	(void)state;
	assert_int_equal(req(F->admin, "GET", "/api/v1/status", NULL, &j), 200);
	assert_true(json_is_object(json_object_get(j, "publication")));
	assert_true(json_integer_value(json_object_get(json_object_get(j,
	    "publication"), "pending")) > 0);
	assert_true(json_is_string(json_object_get(json_object_get(j,
	    "reissue"), "next_at")));
	assert_true(json_is_null(json_object_get(j, "rrdp")));
	assert_true(json_is_array(json_object_get(j, "problems")));
	json_decref(j);
	/* A change waiting an hour is a problem; a serial ends it. */
	exec("UPDATE pub_change SET created_at = now() - interval '1 hour' "
	    "WHERE id = (SELECT min(id) FROM pub_change WHERE serial IS NULL)");
	assert_int_equal(req(F->admin, "GET", "/api/v1/status", NULL, &j), 200);
	probs = json_object_get(j, "problems");
	for (i = 0; i < json_array_size(probs); i++)
		if (strcmp(json_string_value(json_object_get(json_array_get(
		    probs, i), "code")), "publication_lag") == 0)
			lag = 1;
	assert_true(lag);
	assert_true(json_integer_value(json_object_get(json_object_get(j,
	    "publication"), "lag_seconds")) >= 3600);
	json_decref(j);
	exec("INSERT INTO rrdp_session (id) VALUES "
	    "('6b1f3c1e-2f4a-4b7e-9a8d-0c1d2e3f4a5b')");
	exec("INSERT INTO rrdp_serial (session_id, serial) VALUES "
	    "('6b1f3c1e-2f4a-4b7e-9a8d-0c1d2e3f4a5b', 7)");
	exec("UPDATE pub_change SET serial = 7 WHERE serial IS NULL");
	assert_int_equal(req(F->admin, "GET", "/api/v1/status", NULL, &j), 200);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j,
	    "rrdp"), "serial")), 7);
	assert_int_equal(json_array_size(json_object_get(j, "problems")), 0);
	json_decref(j);
	/* One CA. */
	assert_int_equal(req(F->m1, "GET", "/api/v1/cas/m1c/status", NULL, &j),
	    200);
	assert_int_equal(json_integer_value(json_object_get(j, "last_serial")),
	    7);
	assert_int_equal(json_integer_value(json_object_get(j, "pending")), 0);
	assert_true(json_is_string(json_object_get(j, "next_reissue_at")));
	assert_true(json_is_string(json_object_get(j,
	    "certificate_not_after")));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j,
	    "objects"), "mft")), 1);
	json_decref(j);
	/* An object about to expire is a problem of its CA and of all. */
	exec("UPDATE issued_object SET not_after = now() + interval '10 "
	    "minutes' WHERE kind = 'mft' AND withdrawn_at IS NULL AND ca_id = "
	    "(SELECT id FROM ca WHERE handle = 'm2')");
	assert_int_equal(req(F->m2, "GET", "/api/v1/cas/m2/status", NULL, &j),
	    200);
	probs = json_object_get(j, "problems");
	assert_int_equal(json_array_size(probs), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    probs, 0), "code")), "expiring");
	json_decref(j);
	assert_int_equal(req(F->admin, "GET", "/api/v1/status", NULL, &j), 200);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j,
	    "objects"), "expiring")), 1);
	json_decref(j);
	exec("UPDATE issued_object SET not_after = not_before + interval '48 "
	    "hours' WHERE kind = 'mft' AND withdrawn_at IS NULL AND ca_id = "
	    "(SELECT id FROM ca WHERE handle = 'm2')");
	/* Metrics: the figures the issue asks for. */
	assert_int_equal(req_url(F->url, F->admin, "GET", "/api/v1/metrics",
	    NULL, NULL, NULL, &text), 200);
	assert_non_null(strstr(text, "cairn_issued_objects{kind=\"mft\"} "));
	assert_non_null(strstr(text, "\ncairn_key_pool_level "));
	assert_non_null(strstr(text, "\ncairn_publication_pending 0\n"));
	assert_non_null(strstr(text, "\ncairn_publication_lag_seconds 0\n"));
	assert_non_null(strstr(text, "\ncairn_rrdp_serial 7\n"));
	assert_non_null(strstr(text, "\ncairn_reissue_due 0\n"));
	assert_non_null(strstr(text, "\ncairn_api_queue_depth 0\n"));
	assert_non_null(strstr(text, "cairn_expiry_horizon_seconds{kind=\"cer\"}"));
	assert_null(strstr(text, "cairn_expiry_horizon_seconds{kind=\"gbr\"}"));
	assert_non_null(strstr(text, "# TYPE cairn_publication_lag_seconds "
	    "gauge\n"));
	free(text);
}

static void
test_history(void **state)
{
	json_t	*j, *h;
	char	 path[256];
	size_t	 i;
	int64_t	 first;

	(void)state;
	expect(F->m1, "POST", "/api/v1/cas/m1c/roas", "{\"add\":[{\"asn\":"
	    "64497,\"prefix\":\"10.1.1.0/24\"}]}", 200, NULL, NULL);
	expect(F->m2, "POST", "/api/v1/cas/m2/roas", "{\"add\":[{\"asn\":"
	    "64500,\"prefix\":\"10.2.0.0/16\"}]}", 200, NULL, NULL);
	/* A member sees its CAs only, with their handles. */
	assert_int_equal(req(F->m1, "GET", "/api/v1/history", NULL, &j), 200);
	h = json_object_get(j, "history");
	assert_true(json_array_size(h) >= 3);
	for (i = 0; i < json_array_size(h); i++) {
		const char *ca = json_string_value(json_object_get(
		    json_array_get(h, i), "ca"));

		assert_non_null(ca);
		assert_true(strcmp(ca, "m1") == 0 || strcmp(ca, "m1c") == 0 ||
		    strcmp(ca, "gone2") == 0);
	}
	json_decref(j);
	/* Filters: CA, actor, time; paging with before. */
	assert_int_equal(req(F->admin, "GET", "/api/v1/history?ca=m1c&actor="
	    "member-1", NULL, &j), 200);
	h = json_object_get(j, "history");
	assert_int_equal(json_array_size(h), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(h,
	    0), "action")), "roa.add");
	json_decref(j);
	assert_int_equal(req(F->admin, "GET", "/api/v1/history?ca=gone", NULL,
	    &j), 200);
	assert_true(json_array_size(json_object_get(j, "history")) >= 2);
	json_decref(j);
	assert_int_equal(req(F->admin, "GET", "/api/v1/history?until="
	    "2000-01-01T00:00:00Z", NULL, &j), 200);
	assert_int_equal(json_array_size(json_object_get(j, "history")), 0);
	json_decref(j);
	assert_int_equal(req(F->admin, "GET", "/api/v1/history?since="
	    "2000-01-01T00:00:00Z&limit=2", NULL, &j), 200);
	assert_int_equal(json_array_size(json_object_get(j, "history")), 2);
	first = json_integer_value(json_object_get(json_array_get(
	    json_object_get(j, "history"), 0), "id"));
	snprintf(path, sizeof(path), "/api/v1/history?limit=2&before=%lld",
	    (long long)json_integer_value(json_object_get(j, "next")));
	json_decref(j);
	assert_int_equal(req(F->admin, "GET", path, NULL, &j), 200);
	assert_true(json_integer_value(json_object_get(json_array_get(
	    json_object_get(j, "history"), 0), "id")) < first - 1);
	json_decref(j);
	expect(F->admin, "GET", "/api/v1/history?since=yesterday-ish", NULL,
	    422, "invalid", "since");
	expect(F->admin, "GET", "/api/v1/history?limit=0", NULL, 422, "invalid",
	    "limit");
	expect(F->admin, "GET", "/api/v1/history?before=x", NULL, 422,
	    "invalid", "before");
	expect(F->m2, "GET", "/api/v1/history?ca=m1", NULL, 404, "ca_not_found",
	    "ca");
}

/* ---- router certificates: list and remove ---- */

static void
test_routers(void **state)
{
	json_t	*j, *r;
	char	*csr = tu_router_csr(), body[2048], path[256], key[41];

	(void)state;
	snprintf(body, sizeof(body), "{\"csr\":\"%s\",\"asns\":[64496,64497]}",
	    csr);
	free(csr);
	expect(F->m1, "POST", "/api/v1/cas/m1/routers", body, 201, NULL, NULL);
	assert_int_equal(req(F->m1, "GET", "/api/v1/cas/m1/routers", NULL, &j),
	    200);
	assert_int_equal(json_array_size(json_object_get(j, "routers")), 1);
	r = json_array_get(json_object_get(j, "routers"), 0);
	assert_string_equal(json_string_value(json_object_get(r, "asns")),
	    "64496-64497");
	assert_int_equal(strlen(json_string_value(json_object_get(r, "key"))),
	    40);
	snprintf(key, sizeof(key), "%s", json_string_value(json_object_get(r,
	    "key")));
	assert_non_null(strstr(json_string_value(json_object_get(r, "uri")),
	    BASE "m1/"));
	json_decref(j);
	expect(F->m2, "GET", "/api/v1/cas/m1/routers", NULL, 404, "ca_not_found",
	    NULL);
	snprintf(path, sizeof(path), "/api/v1/cas/m1/routers/%s", key);
	expect(F->m2, "DELETE", path, NULL, 404, "ca_not_found", NULL);
	expect(F->m1, "DELETE", "/api/v1/cas/m1/routers/xyz", NULL, 422,
	    "invalid", "key");
	expect(F->m1, "DELETE", "/api/v1/cas/m1/routers/"
	    "0000000000000000000000000000000000000000", NULL, 404,
	    "router_not_found", "key");
	expect(F->m1, "DELETE", path, NULL, 204, NULL, NULL);
	assert_int_equal(count("SELECT count(*) FROM issued_object WHERE "
	    "subject LIKE 'router %' AND withdrawn_at IS NULL"), 0);
	assert_int_equal(count("SELECT count(*) FROM audit_log WHERE action = "
	    "'router.remove' AND actor = 'member-1'"), 1);
	expect(F->m1, "DELETE", path, NULL, 404, "router_not_found", "key");
	assert_int_equal(req(F->m1, "GET", "/api/v1/cas/m1/routers", NULL, &j),
	    200);
	assert_int_equal(json_array_size(json_object_get(j, "routers")), 0);
	json_decref(j);
}

/* ---- bulk creation ---- */

static void
test_bulk(void **state)
{
	json_t	*j, *e;
	char	 body[4096];
	int64_t	 cas;
	size_t	 n;
	int	 k;

	(void)state;
	/* A parent and its child in one request, all or none. */
	cas = count("SELECT count(*) FROM ca");
	assert_int_equal(req(F->admin, "POST", "/api/v1/bulk/cas", "{\"cas\":["
	    "{\"handle\":\"b1\",\"parent\":\"rir\",\"resources\":{\"asn\":"
	    "\"64505\",\"ipv4\":\"10.8.0.0/16\"}},"
	    "{\"handle\":\"b2\",\"parent\":\"b1\",\"resources\":{\"ipv4\":"
	    "\"10.8.1.0/24\"}},"
	    "{\"handle\":\"b3\",\"parent\":\"b1\",\"resources\":{\"asn\":"
	    "\"64505\"}}]}", &j), 201);
	assert_int_equal(json_integer_value(json_object_get(j, "created")), 3);
	json_decref(j);
	assert_int_equal(count("SELECT count(*) FROM ca"), cas + 3);
	expect(F->admin, "GET", "/api/v1/cas/b2", NULL, 200, NULL, NULL);
	/* The entry at fault is named; nothing of the request is made. */
	assert_int_equal(req(F->admin, "POST", "/api/v1/bulk/cas", "{\"cas\":["
	    "{\"handle\":\"b4\",\"parent\":\"b1\",\"resources\":{\"asn\":"
	    "\"64505\"}},"
	    "{\"handle\":\"b5\",\"parent\":\"b1\",\"resources\":{\"asn\":"
	    "\"65000\"}}]}", &j), 422);
	e = json_object_get(j, "error");
	assert_int_equal(json_integer_value(json_object_get(e, "index")), 1);
	assert_string_equal(json_string_value(json_object_get(e, "field")),
	    "cas[1]");
	json_decref(j);
	assert_int_equal(count("SELECT count(*) FROM ca WHERE handle IN ('b4', "
	    "'b5')"), 0);
	assert_int_equal(req(F->admin, "POST", "/api/v1/bulk/cas", "{\"cas\":["
	    "{\"handle\":\"b6\",\"parent\":\"b1\",\"resources\":{\"asn\":"
	    "\"64505\"}},{\"handle\":\"b2\",\"parent\":\"b1\","
	    "\"resources\":{\"asn\":\"64505\"}}]}", &j), 409);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j,
	    "error"), "index")), 1);
	json_decref(j);
	assert_int_equal(req(F->admin, "POST", "/api/v1/bulk/cas", "{\"cas\":["
	    "{\"handle\":\"b7\",\"parent\":\"b1\",\"resources\":{}},"
	    "{\"handle\":\"b8\",\"parent\":\"nope\",\"resources\":{}}]}",
	    &j), 404);
	e = json_object_get(j, "error");
	assert_string_equal(json_string_value(json_object_get(e, "field")),
	    "cas[1].parent");
	json_decref(j);
	expect(F->admin, "POST", "/api/v1/bulk/cas", "{\"cas\":[]}", 422,
	    "invalid", "cas");
	expect(F->admin, "POST", "/api/v1/bulk/cas", "{\"cas\":[{\"handle\":"
	    "\"-x\",\"parent\":\"rir\",\"resources\":{}}]}", 422, "invalid",
	    "cas[0].handle");
	n = (size_t)snprintf(body, sizeof(body), "{\"cas\":[");
	for (k = 0; k < 501; k++)
		n += (size_t)snprintf(body + n, sizeof(body) - n, "%s1",
		    k ? "," : "");
	snprintf(body + n, sizeof(body) - n, "]}");
	expect(F->admin, "POST", "/api/v1/bulk/cas", body, 413, "limit", "cas");
	/* A member creates below its own CA. */
	expect(F->m1, "POST", "/api/v1/bulk/cas", "{\"cas\":[{\"handle\":"
	    "\"b9\",\"parent\":\"m1c\",\"resources\":{\"asn\":\"64497\"}}"
	    "]}", 201, NULL, NULL);
	assert_int_equal(count("SELECT count(*) FROM audit_log WHERE action = "
	    "'ca.create' AND actor = 'member-1' AND object = 'b9'") +
	    count("SELECT count(*) FROM audit_log a JOIN ca c ON c.id = a.ca_id "
	    "WHERE c.handle = 'b9' AND a.actor = 'member-1'"), 2);
}

/* ---- a member token on every new route ---- */

static void
snapshot(int64_t v[10])
{
	v[0] = count("SELECT count(*) FROM roa_config");
	v[1] = count("SELECT count(*) FROM aspa_config");
	v[2] = count("SELECT count(*) FROM audit_log");
	v[3] = count("SELECT count(*) FROM ca WHERE deleted_at IS NULL");
	v[4] = count("SELECT count(*) FROM ca_key WHERE state <> 'revoked'");
	v[5] = count("SELECT count(*) FROM issued_object WHERE withdrawn_at IS "
	    "NULL");
	v[6] = count("SELECT count(*) FROM api_token WHERE revoked_at IS NULL");
	v[7] = count("SELECT count(*) FROM publisher WHERE deleted_at IS NULL");
	v[8] = count("SELECT count(*) FROM pub_change");
	v[9] = count("SELECT count(*) FROM api_token");
}

static void
test_scope(void **state)
{
	static const struct {
		const char *method, *path, *body;
		int status;
	} t[] = {
	    /* Another member's CA: as if it did not exist. */
	    { "DELETE", "/api/v1/cas/m1c", NULL, 404 },
	    { "DELETE", "/api/v1/cas/m1", NULL, 404 },
	    { "GET", "/api/v1/cas/m1/status", NULL, 404 },
	    { "GET", "/api/v1/cas/m1c/status", NULL, 404 },
	    { "GET", "/api/v1/history?ca=m1c", NULL, 404 },
	    { "GET", "/api/v1/cas/m1c/routers", NULL, 404 },
	    { "DELETE", "/api/v1/cas/m1c/routers/"
		"0000000000000000000000000000000000000000", NULL, 404 },
	    { "POST", "/api/v1/bulk/cas", "{\"cas\":[{\"handle\":\"evil\","
		"\"parent\":\"m1c\",\"resources\":{\"asn\":\"64497\"}}]}",
		404 },
	    { "POST", "/api/v1/bulk/cas", "{\"cas\":[{\"handle\":\"ok\","
		"\"parent\":\"m2\",\"resources\":{\"asn\":\"64500\"}},"
		"{\"handle\":\"evil\",\"parent\":\"m1\",\"resources\":"
		"{\"asn\":\"64496\"}}]}", 404 },
	    /* Admin routes. */
	    { "GET", "/api/v1/status", NULL, 403 },
	    { "GET", "/api/v1/metrics", NULL, 403 },
	    { "GET", "/api/v1/tokens", NULL, 403 },
	    { "POST", "/api/v1/tokens", "{\"name\":\"evil\",\"ca\":\"m2\"}",
		403 },
	    { "POST", "/api/v1/tokens", "{\"name\":\"evil\",\"admin\":true}",
		403 },
	    { "DELETE", "/api/v1/tokens/member-1", NULL, 403 },
	    { "GET", "/api/v1/publishers", NULL, 403 },
	    { "POST", "/api/v1/publishers", "{\"publisher_request\":\"x\"}",
		403 },
	    { "GET", "/api/v1/publishers/m1", NULL, 403 },
	    { "DELETE", "/api/v1/publishers/m1", NULL, 403 },
	};
	int64_t	 before[10], after[10];
	json_t	*j, *h;
	char	*text;
	size_t	 i;

	(void)state;
	snapshot(before);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_int_equal(req_url(F->url, F->m2, t[i].method, t[i].path,
		    NULL, t[i].body, NULL, &text), t[i].status);
		assert_non_null(strstr(text, t[i].status == 404 ?
		    "\"code\":\"ca_not_found\"" : "\"code\":\"forbidden\""));
		assert_null(strstr(text, "scope"));
		assert_null(strstr(text, "permission"));
		free(text);
		snapshot(after);
		assert_memory_equal(before, after, sizeof(before));
	}
	/* The history across CAs shows nothing of m1's. */
	assert_int_equal(req(F->m2, "GET", "/api/v1/history?limit=1000", NULL,
	    &j), 200);
	h = json_object_get(j, "history");
	assert_true(json_array_size(h) > 0);
	for (i = 0; i < json_array_size(h); i++)
		assert_string_equal(json_string_value(json_object_get(
		    json_array_get(h, i), "ca")), "m2");
	json_decref(j);
	/* Still working after all that. */
	expect(F->m1, "GET", "/api/v1/cas/m1c/status", NULL, 200, NULL, NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scope),
		cmocka_unit_test(test_ca_delete),
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_publishers),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_history),
		cmocka_unit_test(test_bulk),
		cmocka_unit_test(test_routers),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
