/*
 * The provisioning API over real sockets: an embedded PostgreSQL, a CA
 * hierarchy made with the engine, the API server on 127.0.0.1:0 and the
 * CLI's HTTP client.  Every route's happy path, the error statuses, token
 * scope on every route (404 and nothing changed), revoked tokens,
 * idempotent replays, and the OpenAPI document against the router.
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

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "api/api.h"
#include "api/api_client.h"
#include "ca/bpki.h"
#include "ca/cms_msg.h"
#include "ca/engine.h"
#include "publish/pub_oob.h"
#include "common/cm_buf.h"
#include "common/cm_enc.h"
#include "db_testutil.h"
#include "eng_testutil.h"

#define BASE	"rsync://127.0.0.1:8873/repo/"

struct fx {
	struct dbt		 t;
	struct db		*db;
	struct hsm		*hsm;
	struct hsm_pool		*pool;
	struct ca_eng		*e;
	struct ca_eng_conf	 conf;
	struct api		*api;
	char			 url[64];
	char			*admin, *m1, *m2;	/* tokens */
};

static struct fx *F;

static int64_t
count(const char *sql)
{
	return tu_count(F->db, sql);
}

static int
req(const char *token, const char *method, const char *path, const char *body,
    json_t **out)
{
	return tu_req(F->url, token, method, path, body, out);
}

/* The error code and field of an error body (borrowed from j). */
static void
expect_error(json_t *j, const char *code, const char *field)
{
	json_t *e = json_object_get(j, "error");

	assert_non_null(e);
	assert_true(json_is_string(json_object_get(e, "message")));
	if (code != NULL)
		assert_string_equal(json_string_value(json_object_get(e, "code")),
		    code);
	if (field != NULL) {
		assert_non_null(json_object_get(e, "field"));
		assert_string_equal(json_string_value(json_object_get(e,
		    "field")), field);
	}
}

static void
expect(const char *token, const char *method, const char *path,
    const char *body, int status, const char *code, const char *field)
{
	json_t	*j = NULL;
	int	 st = req(token, method, path, body, status == 204 ? NULL : &j);

	if (st != status)
		fail_msg("%s %s: %d, expected %d: %s", method, path, st, status,
		    j != NULL ? json_dumps(j, 0) : "");
	if (code != NULL || field != NULL)
		expect_error(j, code, field);
	json_decref(j);
}

static int
setup(void **state)
{
	struct fx	*f = calloc(1, sizeof(*f));
	struct api_conf	 ac;
	struct cm_err	 err;
	struct ca_res	*r;

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
	if ((f->e = ca_eng_new(&f->conf, f->db, f->hsm, f->pool, NULL,
	    &err)) == NULL)
		return -1;
	r = tu_res("0-4294967295", "0.0.0.0/0", "::/0");
	assert_int_equal(ca_eng_ta_create(f->e, "ta", r, "test", &err), 0);
	ca_res_free(r);
	r = tu_res("64496-64511", "10.0.0.0/8,192.0.2.0/24", "2001:db8::/32");
	assert_int_equal(ca_eng_ca_create(f->e, "rir", "ta", r, "test", &err), 0);
	ca_res_free(r);
	r = tu_res("64496-64499", "10.1.0.0/16", "2001:db8:1::/48");
	assert_int_equal(ca_eng_ca_create(f->e, "m1", "rir", r, "test", &err), 0);
	ca_res_free(r);
	r = tu_res("64497", "10.1.1.0/24", "");
	assert_int_equal(ca_eng_ca_create(f->e, "m1c", "m1", r, "test", &err), 0);
	ca_res_free(r);
	r = tu_res("64500-64501", "10.2.0.0/16,192.0.2.0/24", "");
	assert_int_equal(ca_eng_ca_create(f->e, "m2", "rir", r, "test", &err), 0);
	ca_res_free(r);
	if (api_token_create(f->db, "ops", NULL, &f->admin, &err) == -1 ||
	    api_token_create(f->db, "member-1", "m1", &f->m1, &err) == -1 ||
	    api_token_create(f->db, "member-2", "m2", &f->m2, &err) == -1) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	memset(&ac, 0, sizeof(ac));
	ac.host = "127.0.0.1";
	ac.max_body = 64 * 1024;
	ac.dsn = f->t.dsn;
	ac.hsm = f->hsm;
	ac.pool = f->pool;
	ac.eng_conf = &f->conf;
	if ((f->api = api_start(&ac, &err)) == NULL) {
		fprintf(stderr, "api_start: %s\n", err.msg);
		return -1;
	}
	snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%u",
	    api_port(f->api));
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	api_stop(f->api);
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

static void
test_tokens(void **state)
{
	struct cm_err	 err;
	char		*tok = NULL, *list = NULL;

	(void)state;
	assert_int_equal(api_token_create(F->db, "ops", NULL, &tok, &err), -1);
	assert_int_equal(err.code, CM_EEXIST);
	assert_int_equal(api_token_create(F->db, "x", "nope", &tok, &err), -1);
	assert_int_equal(err.code, CM_ENOTFOUND);
	assert_int_equal(api_token_create(F->db, "-bad", NULL, &tok, &err), -1);
	assert_int_equal(err.code, CM_EINVAL);
	/* Only the hash is stored. */
	assert_int_equal(count("SELECT count(*) FROM api_token WHERE "
	    "position(convert_to('cairn_', 'UTF8') in hash) > 0"), 0);
	assert_int_equal(api_token_create(F->db, "temp", NULL, &tok, &err), 0);
	assert_int_equal(strlen(tok), 6 + 64);
	expect(tok, "GET", "/api/v1/cas", NULL, 200, NULL, NULL);
	assert_int_equal(api_token_revoke(F->db, "temp", &err), 0);
	expect(tok, "GET", "/api/v1/cas", NULL, 401, "unauthenticated", NULL);
	expect(tok, "GET", "/api/v1/cas/m1", NULL, 401, NULL, NULL);
	assert_int_equal(api_token_revoke(F->db, "temp", &err), -1);
	assert_int_equal(err.code, CM_ENOTFOUND);
	expect(NULL, "GET", "/api/v1/cas", NULL, 401, "unauthenticated", NULL);
	expect("cairn_00", "GET", "/api/v1/cas", NULL, 401, NULL, NULL);
	assert_int_equal(api_token_list(F->db, &list, &err), 0);
	assert_non_null(strstr(list, "member-1\tca:m1\t"));
	assert_non_null(strstr(list, "ops\tadmin\t"));
	free(list);
	free(tok);
}

static void
test_service(void **state)
{
	json_t		*j;
	struct api_http_resp r;
	struct cm_err	 err;
	char		*big;

	(void)state;
	assert_int_equal(req(NULL, "GET", "/api/v1/health", NULL, &j), 200);
	assert_string_equal(json_string_value(json_object_get(j, "status")),
	    "ok");
	json_decref(j);
	assert_int_equal(req(NULL, "GET", "/api/v1/ready", NULL, &j), 200);
	assert_int_equal(json_integer_value(json_object_get(j, "schema")),
	    db_schema_known());
	json_decref(j);
	expect(F->admin, "GET", "/api/v1/nothing", NULL, 404, "no_route", NULL);
	expect(F->admin, "DELETE", "/api/v1/cas", NULL, 405, NULL, NULL);
	/* Metrics: admin only. */
	assert_int_equal(api_http_request(F->url, "GET", "/api/v1/metrics",
	    F->admin, NULL, NULL, 10000, &r, &err), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.ctype, "text/plain"));
	assert_non_null(strstr(r.body, "cairn_issued_objects{kind=\"mft\"} 5\n"));
	assert_non_null(strstr(r.body, "cairn_publication_pending "));
	assert_non_null(strstr(r.body, "cairn_key_pool_level "));
	assert_non_null(strstr(r.body, "cairn_objects_earliest_not_after_seconds "));
	api_http_resp_free(&r);
	expect(F->m1, "GET", "/api/v1/metrics", NULL, 403, "forbidden", NULL);
	/* A body over the limit. */
	big = malloc(100 * 1024 + 1);
	memset(big, ' ', 100 * 1024);
	big[100 * 1024] = '\0';
	big[0] = '{';
	big[100 * 1024 - 1] = '}';
	assert_int_equal(req(F->admin, "POST", "/api/v1/cas", big, NULL), 413);
	free(big);
}

static void
test_cas(void **state)
{
	json_t	*j;

	(void)state;
	assert_int_equal(req(F->admin, "GET", "/api/v1/cas", NULL, &j), 200);
	assert_int_equal(json_array_size(json_object_get(j, "cas")), 5);
	json_decref(j);
	/* A member sees its CA and those below. */
	assert_int_equal(req(F->m1, "GET", "/api/v1/cas", NULL, &j), 200);
	assert_int_equal(json_array_size(json_object_get(j, "cas")), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(j, "cas"), 0), "handle")), "m1");
	json_decref(j);
	/* Paging. */
	assert_int_equal(req(F->admin, "GET", "/api/v1/cas?limit=2", NULL, &j),
	    200);
	assert_int_equal(json_array_size(json_object_get(j, "cas")), 2);
	assert_string_equal(json_string_value(json_object_get(j, "next")),
	    "m1c");
	json_decref(j);
	assert_int_equal(req(F->admin, "GET", "/api/v1/cas?limit=2&after=m1c",
	    NULL, &j), 200);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(j, "cas"), 0), "handle")), "m2");
	json_decref(j);
	expect(F->admin, "GET", "/api/v1/cas?limit=0", NULL, 422, "invalid",
	    "limit");
	assert_int_equal(req(F->m1, "GET", "/api/v1/cas/m1c", NULL, &j), 200);
	assert_string_equal(json_string_value(json_object_get(j, "parent")),
	    "m1");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    j, "resources"), "ipv4")), "10.1.1.0/24");
	json_decref(j);
	expect(F->admin, "GET", "/api/v1/cas/nope", NULL, 404, "ca_not_found",
	    NULL);
	/* Create. */
	assert_int_equal(req(F->admin, "POST", "/api/v1/cas", "{\"handle\":"
	    "\"m3\",\"parent\":\"rir\",\"resources\":{\"asn\":\"64510\","
	    "\"ipv4\":\"10.3.0.0/16\"}}", &j), 201);
	assert_string_equal(json_string_value(json_object_get(j, "handle")),
	    "m3");
	assert_int_equal(json_array_size(json_object_get(j, "keys")), 1);
	json_decref(j);
	assert_int_equal(count("SELECT count(*) FROM audit_log WHERE actor = "
	    "'ops' AND action = 'ca.create'"), 1);
	expect(F->admin, "POST", "/api/v1/cas", "{\"handle\":\"m3\",\"parent\":"
	    "\"rir\",\"resources\":{\"asn\":\"64511\"}}", 409, "exists",
	    "handle");
	expect(F->admin, "POST", "/api/v1/cas", "{\"handle\":\"m4\",\"parent\":"
	    "\"rir\",\"resources\":{\"asn\":\"65000\"}}", 422, "invalid",
	    "resources");
	expect(F->admin, "POST", "/api/v1/cas", "{\"handle\":\"m4\",\"parent\":"
	    "\"rir\",\"resources\":{\"ipv4\":\"10.0.0.1/8\"}}", 422, "invalid",
	    "resources.ipv4");
	expect(F->admin, "POST", "/api/v1/cas", "{\"handle\":\"-x\",\"parent\":"
	    "\"rir\",\"resources\":{}}", 422, "invalid", "handle");
	expect(F->admin, "POST", "/api/v1/cas", "{\"handle\":\"m4\",\"parent\":"
	    "\"nope\",\"resources\":{}}", 404, "ca_not_found", "parent");
	expect(F->admin, "POST", "/api/v1/cas", "{\"handle\":", 400,
	    "malformed_json", NULL);
	expect(F->admin, "POST", "/api/v1/cas", "[1]", 400, "malformed_json",
	    NULL);
	expect(F->admin, "POST", "/api/v1/cas", "{\"parent\":\"rir\"}", 422,
	    "missing", "handle");
	/* Resources. */
	assert_int_equal(req(F->admin, "PUT", "/api/v1/cas/m3/resources",
	    "{\"asn\":\"64510-64511\",\"ipv4\":\"10.3.0.0/16\"}", &j), 200);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    j, "resources"), "asn")), "64510-64511");
	json_decref(j);
	expect(F->admin, "PUT", "/api/v1/cas/m3/resources", "{\"asn\":"
	    "\"1\"}", 422, "invalid", "resources");
	/* A member sets its children's resources, not its own. */
	expect(F->m1, "PUT", "/api/v1/cas/m1c/resources", "{\"asn\":\"64497\","
	    "\"ipv4\":\"10.1.2.0/24\"}", 200, NULL, NULL);
	expect(F->m1, "PUT", "/api/v1/cas/m1/resources", "{\"asn\":\"64496-"
	    "64511\"}", 403, "forbidden", NULL);
}

static void
test_roas(void **state)
{
	json_t	*j;

	(void)state;
	assert_int_equal(req(F->m1, "POST", "/api/v1/cas/m1/roas", "{\"add\":["
	    "{\"asn\":64496,\"prefix\":\"10.1.0.0/16\",\"max_length\":24},"
	    "{\"asn\":64496,\"prefix\":\"2001:db8:1::/48\"}]}", &j), 200);
	assert_int_equal(json_array_size(json_object_get(j, "roas")), 2);
	json_decref(j);
	assert_int_equal(count("SELECT count(*) FROM roa_config r JOIN ca c ON "
	    "c.id = r.ca_id WHERE c.handle = 'm1'"), 2);
	assert_int_equal(count("SELECT count(*) FROM audit_log WHERE actor = "
	    "'member-1' AND action = 'roa.add'"), 2);
	assert_int_equal(req(F->m1, "GET", "/api/v1/cas/m1/roas", NULL, &j),
	    200);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(j, "roas"), 0), "prefix")), "10.1.0.0/16");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(
	    json_object_get(j, "roas"), 0), "max_length")), 24);
	json_decref(j);
	expect(F->m1, "POST", "/api/v1/cas/m1/roas", "{\"add\":[{\"asn\":64496,"
	    "\"prefix\":\"10.1.0.0/16\",\"max_length\":24}]}", 409, "exists",
	    NULL);
	/* Outside the CA's resources: the field names the entry. */
	expect(F->m1, "POST", "/api/v1/cas/m1/roas", "{\"add\":[{\"asn\":64496,"
	    "\"prefix\":\"10.1.5.0/24\"},{\"asn\":64496,\"prefix\":"
	    "\"10.9.0.0/16\"}]}", 422, "outside_resources", "add[1]");
	expect(F->m1, "POST", "/api/v1/cas/m1/roas", "{\"add\":[{\"asn\":64496,"
	    "\"prefix\":\"10.1.0.0/16\",\"max_length\":8}]}", 422, "invalid",
	    "add[0].max_length");
	expect(F->m1, "POST", "/api/v1/cas/m1/roas", "{\"add\":[{\"asn\":-1,"
	    "\"prefix\":\"10.1.0.0/16\"}]}", 422, "invalid", "add[0].asn");
	/* Atomic: a bad removal leaves the good addition out. */
	expect(F->m1, "POST", "/api/v1/cas/m1/roas", "{\"add\":[{\"asn\":64497,"
	    "\"prefix\":\"10.1.0.0/16\"}],\"remove\":[{\"asn\":64499,"
	    "\"prefix\":\"10.1.0.0/16\"}]}", 404, "roa_not_found", "remove");
	assert_int_equal(count("SELECT count(*) FROM roa_config"), 2);
	assert_int_equal(req(F->m1, "POST", "/api/v1/cas/m1/roas", "{\"remove\""
	    ":[{\"asn\":64496,\"prefix\":\"2001:db8:1::/48\"}]}", &j), 200);
	assert_int_equal(json_array_size(json_object_get(j, "roas")), 1);
	json_decref(j);
	expect(F->m1, "POST", "/api/v1/cas/m1/roas", "{}", 422, "missing",
	    NULL);
	expect(F->m1, "POST", "/api/v1/cas/m1/roas", "{\"add\":", 400,
	    "malformed_json", NULL);
}

static void
test_aspas(void **state)
{
	json_t	*j;

	(void)state;
	assert_int_equal(req(F->m1, "PUT", "/api/v1/cas/m1/aspas/AS64496",
	    "{\"providers\":[65002,65001,65001]}", &j), 200);
	assert_int_equal(json_integer_value(json_object_get(j, "customer")),
	    64496);
	assert_int_equal(json_array_size(json_object_get(j, "providers")), 2);
	assert_int_equal(json_integer_value(json_array_get(json_object_get(j,
	    "providers"), 0)), 65001);
	json_decref(j);
	assert_int_equal(req(F->m1, "GET", "/api/v1/cas/m1/aspas/64496", NULL,
	    &j), 200);
	json_decref(j);
	assert_int_equal(req(F->m1, "GET", "/api/v1/cas/m1/aspas", NULL, &j),
	    200);
	assert_int_equal(json_array_size(json_object_get(j, "aspas")), 1);
	json_decref(j);
	expect(F->m1, "PUT", "/api/v1/cas/m1/aspas/65000", "{\"providers\":"
	    "[1]}", 422, "invalid", NULL);
	expect(F->m1, "PUT", "/api/v1/cas/m1/aspas/x1", "{\"providers\":[1]}",
	    422, "invalid", "customer");
	expect(F->m1, "PUT", "/api/v1/cas/m1/aspas/64496", "{\"providers\":[]}",
	    422, "invalid", "providers");
	expect(F->m1, "GET", "/api/v1/cas/m1/aspas/64497", NULL, 404,
	    "aspa_not_found", NULL);
	expect(F->m1, "PUT", "/api/v1/cas/m1/aspas/64497", "{\"providers\":"
	    "[65001]}", 200, NULL, NULL);
	expect(F->m1, "DELETE", "/api/v1/cas/m1/aspas/64497", NULL, 204, NULL,
	    NULL);
	expect(F->m1, "DELETE", "/api/v1/cas/m1/aspas/64497", NULL, 404,
	    "aspa_not_found", NULL);
	assert_int_equal(count("SELECT count(*) FROM aspa_config"), 1);
}

static void
test_routers_keyroll(void **state)
{
	char	*csr = tu_router_csr(), body[2048];
	json_t	*j;

	(void)state;
	snprintf(body, sizeof(body), "{\"csr\":\"%s\",\"asns\":[64496]}", csr);
	expect(F->m1, "POST", "/api/v1/cas/m1/routers", body, 201, NULL, NULL);
	expect(F->m1, "POST", "/api/v1/cas/m1/routers", body, 409, "exists",
	    NULL);
	snprintf(body, sizeof(body), "{\"csr\":\"%s\",\"asns\":[65000]}", csr);
	expect(F->m1, "POST", "/api/v1/cas/m1/routers", body, 422, NULL, NULL);
	expect(F->m1, "POST", "/api/v1/cas/m1/routers", "{\"csr\":\"!!\","
	    "\"asns\":[64496]}", 422, "invalid", "csr");
	free(csr);
	assert_int_equal(count("SELECT count(*) FROM issued_object WHERE "
	    "subject LIKE 'router %' AND withdrawn_at IS NULL"), 1);

	expect(F->m1, "POST", "/api/v1/cas/m1c/keyroll", "{\"step\":\"start\"}",
	    200, NULL, NULL);
	expect(F->m1, "POST", "/api/v1/cas/m1c/keyroll", "{\"step\":\"start\"}",
	    409, "exists", NULL);
	/* Within the staging period. */
	expect(F->m1, "POST", "/api/v1/cas/m1c/keyroll", "{\"step\":"
	    "\"activate\"}", 409, "conflict", NULL);
	expect(F->m1, "POST", "/api/v1/cas/m1c/keyroll", "{\"step\":"
	    "\"activate\",\"force\":true}", 200, NULL, NULL);
	assert_int_equal(req(F->m1, "POST", "/api/v1/cas/m1c/keyroll",
	    "{\"step\":\"finish\"}", &j), 200);
	assert_int_equal(json_array_size(json_object_get(j, "keys")), 1);
	json_decref(j);
	expect(F->m1, "POST", "/api/v1/cas/m1c/keyroll", "{\"step\":\"x\"}",
	    422, "invalid", "step");
}

static void
test_transfer_history(void **state)
{
	json_t	*j, *h;
	size_t	 i;

	(void)state;
	assert_int_equal(req(F->admin, "POST", "/api/v1/transfers", "{\"from\":"
	    "\"m2\",\"to\":\"m3\",\"resources\":{\"ipv4\":\"10.2.0.0/24\"}}",
	    &j), 200);
	json_decref(j);
	assert_int_equal(req(F->admin, "GET", "/api/v1/cas/m3", NULL, &j), 200);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    j, "resources"), "ipv4")), "10.2.0.0/24,10.3.0.0/16");
	json_decref(j);
	expect(F->admin, "POST", "/api/v1/transfers", "{\"from\":\"m2\",\"to\":"
	    "\"m3\",\"resources\":{\"ipv4\":\"10.2.0.0/24\"}}", 422, "invalid",
	    "resources");
	expect(F->admin, "POST", "/api/v1/transfers", "{\"from\":\"m2\",\"to\":"
	    "\"zz\",\"resources\":{}}", 404, "ca_not_found", "to");

	assert_int_equal(req(F->m1, "GET", "/api/v1/cas/m1/history", NULL, &j),
	    200);
	h = json_object_get(j, "history");
	assert_true(json_array_size(h) >= 3);
	for (i = 1; i < json_array_size(h); i++)
		assert_true(json_integer_value(json_object_get(json_array_get(h,
		    i - 1), "id")) > json_integer_value(json_object_get(
		    json_array_get(h, i), "id")));
	json_decref(j);
	assert_int_equal(req(F->m1, "GET", "/api/v1/cas/m1/history?actor=test",
	    NULL, &j), 200);
	h = json_object_get(j, "history");
	assert_int_equal(json_array_size(h), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(h,
	    0), "action")), "ca.create");
	json_decref(j);
	assert_int_equal(req(F->m1, "GET", "/api/v1/cas/m1/history?since="
	    "2100-01-01T00:00:00Z", NULL, &j), 200);
	assert_int_equal(json_array_size(json_object_get(j, "history")), 0);
	json_decref(j);
	assert_int_equal(req(F->m1, "GET", "/api/v1/cas/m1/history?until="
	    "2100-01-01T00%3A00%3A00Z&limit=2", NULL, &j), 200);
	assert_int_equal(json_array_size(json_object_get(j, "history")), 2);
	json_decref(j);
	/* Resource changes and transfers appear on both sides. */
	assert_int_equal(req(F->admin, "GET", "/api/v1/cas/m2/history?actor=ops",
	    NULL, &j), 200);
	h = json_object_get(j, "history");
	assert_int_equal(json_array_size(h), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(h,
	    0), "action")), "transfer");
	json_decref(j);
	assert_int_equal(req(F->admin, "GET", "/api/v1/cas/m3/history?actor=ops",
	    NULL, &j), 200);
	h = json_object_get(j, "history");
	assert_int_equal(json_array_size(h), 3);	/* create, resources, transfer */
	json_decref(j);
	expect(F->m1, "GET", "/api/v1/cas/m1/history?since=yesterday-ish", NULL,
	    422, "invalid", "since");
}

/* Everything a request could change. */
static void
snapshot(int64_t v[6])
{
	v[0] = count("SELECT count(*) FROM roa_config");
	v[1] = count("SELECT count(*) FROM aspa_config");
	v[2] = count("SELECT count(*) FROM audit_log");
	v[3] = count("SELECT count(*) FROM ca");
	v[4] = count("SELECT count(*) FROM ca_key");
	v[5] = count("SELECT count(*) FROM issued_object");
}

static void
test_scope(void **state)
{
	/* member-2 against m1 (another member's CA) and m1c below it. */
	static const struct {
		const char *method, *path, *body;
	} t[] = {
	    { "GET", "/api/v1/cas/m1", NULL },
	    { "GET", "/api/v1/cas/m1c", NULL },
	    { "POST", "/api/v1/cas", "{\"handle\":\"evil\",\"parent\":\"m1\","
		"\"resources\":{\"asn\":\"64498\"}}" },
	    { "PUT", "/api/v1/cas/m1c/resources", "{\"asn\":\"64497\"}" },
	    { "GET", "/api/v1/cas/m1/roas", NULL },
	    { "POST", "/api/v1/cas/m1/roas", "{\"add\":[{\"asn\":64496,"
		"\"prefix\":\"10.1.2.0/24\"}],\"remove\":[{\"asn\":64496,"
		"\"prefix\":\"10.1.0.0/16\",\"max_length\":24}]}" },
	    { "GET", "/api/v1/cas/m1/aspas", NULL },
	    { "GET", "/api/v1/cas/m1/aspas/64496", NULL },
	    { "PUT", "/api/v1/cas/m1/aspas/64496", "{\"providers\":[1]}" },
	    { "DELETE", "/api/v1/cas/m1/aspas/64496", NULL },
	    { "POST", "/api/v1/cas/m1/routers", "{\"csr\":\"AAAA\",\"asns\":"
		"[64496]}" },
	    { "POST", "/api/v1/cas/m1/keyroll", "{\"step\":\"start\"}" },
	    { "GET", "/api/v1/cas/m1/history", NULL },
	    { "POST", "/api/v1/transfers", "{\"from\":\"m1\",\"to\":\"m2\","
		"\"resources\":{\"asn\":\"64496\"}}" },
	    { "POST", "/api/v1/transfers", "{\"from\":\"m2\",\"to\":\"m1c\","
		"\"resources\":{\"asn\":\"64500\"}}" },
	    { "GET", "/api/v1/cas/nope", NULL },
	};
	int64_t	before[6], after[6];
	json_t	*j;
	size_t	 i;
	char	 nf[512], got[512], *dump;

	(void)state;
	snapshot(before);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		/* Same answer as for a CA that does not exist. */
		assert_int_equal(req(F->m2, t[i].method, t[i].path, t[i].body,
		    &j), 404);
		expect_error(j, "ca_not_found", NULL);
		snprintf(got, sizeof(got), "%s", json_string_value(
		    json_object_get(json_object_get(j, "error"), "message")));
		json_decref(j);
		assert_null(strstr(got, "scope"));
		assert_null(strstr(got, "permission"));
		snapshot(after);
		assert_memory_equal(before, after, sizeof(before));
	}
	/* The list leaves m1 out. */
	assert_int_equal(req(F->m2, "GET", "/api/v1/cas", NULL, &j), 200);
	for (i = 0; i < json_array_size(json_object_get(j, "cas")); i++)
		assert_string_not_equal(json_string_value(json_object_get(
		    json_array_get(json_object_get(j, "cas"), i), "handle")),
		    "m1");
	json_decref(j);
	/* Unknown and foreign CAs are indistinguishable. */
	assert_int_equal(req(F->m2, "GET", "/api/v1/cas/zz", NULL, &j), 404);
	dump = json_dumps(j, 0);
	snprintf(nf, sizeof(nf), "%s", dump);
	free(dump);
	json_decref(j);
	assert_non_null(strstr(nf, "zz: no such CA"));
	/* member-1 reaches its child. */
	expect(F->m1, "GET", "/api/v1/cas/m1c/roas", NULL, 200, NULL, NULL);
	expect(F->m1, "GET", "/api/v1/cas/rir", NULL, 404, "ca_not_found",
	    NULL);
}

static void
test_idempotency(void **state)
{
	struct api_http_resp	r1, r2, r3;
	struct cm_err		err;
	const char		*b = "{\"add\":[{\"asn\":64500,\"prefix\":"
				    "\"10.2.1.0/24\"}]}";
	int64_t			audit;

	(void)state;
	assert_int_equal(api_http_request(F->url, "POST",
	    "/api/v1/cas/m2/roas", F->m2, "k-1", b, 10000, &r1, &err), 0);
	assert_int_equal(r1.status, 200);
	assert_false(r1.replayed);
	audit = count("SELECT count(*) FROM audit_log");
	assert_int_equal(api_http_request(F->url, "POST",
	    "/api/v1/cas/m2/roas", F->m2, "k-1", b, 10000, &r2, &err), 0);
	assert_int_equal(r2.status, 200);
	assert_true(r2.replayed);
	assert_string_equal(r1.body, r2.body);
	assert_int_equal(count("SELECT count(*) FROM audit_log"), audit);
	/* Without the key the same request is a conflict. */
	expect(F->m2, "POST", "/api/v1/cas/m2/roas", b, 409, "exists", NULL);
	/* The same key for another request. */
	assert_int_equal(api_http_request(F->url, "POST",
	    "/api/v1/cas/m2/roas", F->m2, "k-1", "{\"add\":[]}", 10000, &r3,
	    &err), 0);
	assert_int_equal(r3.status, 422);
	assert_non_null(strstr(r3.body, "idempotency_key_reused"));
	api_http_resp_free(&r1);
	api_http_resp_free(&r2);
	api_http_resp_free(&r3);
	/* Keys belong to a token: another token's k-1 is new. */
	assert_int_equal(api_http_request(F->url, "POST",
	    "/api/v1/cas/m2/roas", F->admin, "k-1", b, 10000, &r1, &err), 0);
	assert_int_equal(r1.status, 409);
	assert_false(r1.replayed);
	api_http_resp_free(&r1);
	/* An error answer is replayed too. */
	assert_int_equal(api_http_request(F->url, "POST",
	    "/api/v1/cas/m2/roas", F->admin, "k-1", b, 10000, &r1, &err), 0);
	assert_int_equal(r1.status, 409);
	assert_true(r1.replayed);
	api_http_resp_free(&r1);
}

/* A self-signed P-256 certificate for 127.0.0.1 and its key, as PEM files. */
static void
make_cert(const char *dir, char *cert, char *key, size_t n)
{
	EVP_PKEY	*pk = EVP_EC_gen("P-256");
	X509		*x = X509_new();
	X509_NAME	*nm;
	X509_EXTENSION	*ext;
	X509V3_CTX	 v3;
	FILE		*f;

	snprintf(cert, n, "%s/api-cert.pem", dir);
	snprintf(key, n, "%s/api-key.pem", dir);
	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	nm = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC,
	    (const unsigned char *)"localhost", -1, -1, 0);
	X509_set_issuer_name(x, nm);
	X509_set_pubkey(x, pk);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name,
	    "IP:127.0.0.1,DNS:localhost");
	assert_non_null(ext);
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	assert_true(X509_sign(x, pk, EVP_sha256()) > 0);
	assert_non_null(f = fopen(cert, "w"));
	assert_int_equal(PEM_write_X509(f, x), 1);
	fclose(f);
	assert_non_null(f = fopen(key, "w"));
	assert_int_equal(PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL,
	    NULL), 1);
	fclose(f);
	X509_free(x);
	EVP_PKEY_free(pk);
}

/* The API over HTTPS, and the client's certificate check. */

/*
 * POSTs a binary body over a plain socket (the JSON client is for text);
 * returns the status, the body in *out (malloc'd) and the content type.
 */
static int
raw_post(const char *path, const char *ctype, const uint8_t *body, size_t len,
    uint8_t **out, size_t *outlen, char *rctype, size_t rclen)
{
	struct sockaddr_in	 sa;
	struct cm_buf		 b = CM_BUF_INIT;
	char			 hdr[512], buf[4096], *p, *end, *cl, *ct;
	ssize_t			 n;
	int			 fd, status = -1;
	size_t			 hl, blen;
	const char		*colon = strrchr(F->url, ':');

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)atoi(colon + 1));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true((fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	snprintf(hdr, sizeof(hdr), "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Content-Type: %s\r\nContent-Length: %zu\r\nConnection: close"
	    "\r\n\r\n", path, ctype, len);
	assert_int_equal(write(fd, hdr, strlen(hdr)), (ssize_t)strlen(hdr));
	if (len > 0)
		assert_int_equal(write(fd, body, len), (ssize_t)len);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		cm_buf_add(&b, buf, (size_t)n);
	close(fd);
	p = (char *)cm_buf_cstr(&b);
	assert_non_null(p);
	assert_true(sscanf(p, "HTTP/1.1 %d", &status) == 1);
	assert_non_null(end = strstr(p, "\r\n\r\n"));
	hl = (size_t)(end - p) + 4;
	*end = '\0';
	blen = b.len - hl;
	if ((cl = strcasestr(p, "content-length:")) != NULL)
		blen = strtoul(cl + 15, NULL, 10);
	rctype[0] = '\0';
	if ((ct = strcasestr(p, "content-type:")) != NULL) {
		ct += 13;
		while (*ct == ' ')
			ct++;
		snprintf(rctype, rclen, "%.*s", (int)strcspn(ct, "\r\n"), ct);
	}
	*out = malloc(blen + 1);
	memcpy(*out, b.data + hl, blen);
	*outlen = blen;
	cm_buf_free(&b);
	return status;
}

/*
 * POST /cas/m1/children for child "kid" with bpki as its identity and, if
 * not NULL, replace (taken) as "replace": the status.
 */
static int
child_post(const uint8_t *bpki, size_t len, json_t *replace)
{
	struct pub_oob	 o;
	struct cm_buf	 xml = CM_BUF_INIT;
	struct cm_err	 err;
	json_t		*b;
	char		*body;
	int		 st;

	memset(&o, 0, sizeof(o));
	o.type = PUB_OOB_CHILD_REQUEST;
	o.handle = "kid";
	o.bpki_ta = (uint8_t *)bpki;
	o.bpki_ta_len = len;
	if (pub_oob_write(&o, &xml, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(cm_buf_add(&xml, "", 1), 0);
	b = json_pack("{s:s, s:{s:s}}", "child_request", (char *)xml.data,
	    "resources", "ipv4", "10.1.2.0/24");
	if (replace != NULL)
		json_object_set_new(b, "replace", replace);
	body = json_dumps(b, JSON_COMPACT);
	assert_non_null(body);
	st = req(F->admin, "POST", "/api/v1/cas/m1/children", body, NULL);
	free(body);
	json_decref(b);
	cm_buf_free(&xml);
	return st;
}

/* RFC 6492 over HTTP: a delegated child of m1 talks to its parent. */
static void
test_updown_http(void **state)
{
	struct cm_err		 err;
	struct hsm_key		*ck, *ck2;
	X509			*cta, *pta, *cta2;
	EVP_PKEY		*ee = EVP_RSA_gen(2048);
	uint8_t			*cder2 = NULL;
	int			 n2;
	struct ca_res		*ent = tu_res("", "10.1.2.0/24", "");
	struct ca_ud_msg	 q, *r = NULL;
	struct ca_ud_error	 ue;
	struct ca_cms_msg	 m;
	struct cm_buf		 xml = CM_BUF_INIT;
	uint8_t			*cder = NULL, *der, *out, *tader;
	const uint8_t		*tp;
	size_t			 len, outlen, talen;
	char			 ct[128];
	int			 n;
	time_t			 now = time(NULL);

	assert_int_equal(hsm_key_create(F->hsm, "kid bpki", &ck, &err), 0);
	assert_int_equal(ca_bpki_ta(ck, "kid", now, 10, &cta, &err), 0);
	assert_true((n = i2d_X509(cta, &cder)) > 0);
	if (ca_eng_child_add(F->e, "m1", "kid", ent, cder, (size_t)n, "t",
	    &err) != 0)
		fail_msg("%s", err.msg);
	memset(&q, 0, sizeof(q));
	q.type = CA_UD_LIST;
	q.sender = "kid";
	q.recipient = "m1";
	assert_int_equal(ca_ud_write(&q, &xml, &err), 0);
	assert_int_equal(ca_bpki_sign(cta, ck, ee, xml.data, xml.len, now, &der,
	    &len, &err), 0);

	assert_int_equal(raw_post("/api/v1/updown/m1", "application/json", der,
	    len, &out, &outlen, ct, sizeof(ct)), 415);
	free(out);
	assert_int_equal(raw_post("/api/v1/updown/m1", "application/rpki-updown",
	    (const uint8_t *)"junk", 4, &out, &outlen, ct, sizeof(ct)), 400);
	free(out);
	assert_int_equal(raw_post("/api/v1/updown/m1", "application/rpki-updown",
	    der, len, &out, &outlen, ct, sizeof(ct)), 200);
	assert_string_equal(ct, "application/rpki-updown");
	/* The child checks the parent's signature and reads its class. */
	assert_int_equal(ca_eng_bpki(F->e, "m1", &tader, &talen, NULL, &err), 0);
	tp = tader;
	assert_non_null(pta = d2i_X509(NULL, &tp, (long)talen));
	if (ca_cms_msg_verify("m1", out, outlen, pta, time(NULL), &m, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(ca_ud_parse("m1", m.xml, m.xml_len, &r, &ue), 0);
	assert_int_equal(r->type, CA_UD_LIST_RESPONSE);
	assert_string_equal(r->classes[0].res_v4, "10.1.2.0/24");
	ca_ud_free(r);
	ca_cms_msg_free(&m);
	free(out);
	/* The same message again: a replay, refused without a signed answer. */
	assert_int_equal(raw_post("/api/v1/updown/m1", "application/rpki-updown",
	    der, len, &out, &outlen, ct, sizeof(ct)), 403);
	free(out);
	/* Sent to a CA that is not its parent. */
	assert_int_equal(raw_post("/api/v1/updown/m2", "application/rpki-updown",
	    der, len, &out, &outlen, ct, sizeof(ct)), 403);
	free(out);

	/*
	 * Removed, the child leaves a tombstone: its handle with the same
	 * identity is registered again as it is; another identity is 409
	 * unless replaced, and nothing changes on a refusal.
	 */
	assert_int_equal(child_post(cder, (size_t)n, NULL), 409);	/* exists */
	expect(F->admin, "DELETE", "/api/v1/cas/m1/children/kid", NULL, 204,
	    NULL, NULL);
	assert_int_equal(child_post(cder, (size_t)n, NULL), 201);	/* revived */
	expect(F->admin, "DELETE", "/api/v1/cas/m1/children/kid", NULL, 204,
	    NULL, NULL);
	assert_int_equal(hsm_key_create(F->hsm, "kid bpki 2", &ck2, &err), 0);
	assert_int_equal(ca_bpki_ta(ck2, "kid", now, 10, &cta2, &err), 0);
	assert_true((n2 = i2d_X509(cta2, &cder2)) > 0);
	assert_int_equal(child_post(cder2, (size_t)n2, NULL), 409);
	assert_int_equal(count("SELECT count(*) FROM ca_child WHERE handle = "
	    "'kid' AND deleted_at IS NOT NULL"), 1);
	assert_int_equal(child_post(cder2, (size_t)n2, json_integer(1)), 422);
	assert_int_equal(child_post(cder2, (size_t)n2, json_true()),
	    201);
	assert_int_equal(count("SELECT count(*) FROM ca_child WHERE handle = "
	    "'kid'"), 1);
	assert_int_equal(count("SELECT count(*) FROM audit_log WHERE action = "
	    "'child.replace'"), 1);
	expect(F->admin, "DELETE", "/api/v1/cas/m1/children/kid", NULL, 204,
	    NULL, NULL);
	OPENSSL_free(cder2);
	X509_free(cta2);
	hsm_key_free(ck2);

	free(der);
	free(tader);
	OPENSSL_free(cder);
	cm_buf_free(&xml);
	ca_res_free(ent);
	X509_free(cta);
	X509_free(pta);
	EVP_PKEY_free(ee);
	hsm_key_free(ck);
}

static void
test_tls(void **state)
{
	struct api_conf		 ac;
	struct api_http_opts	 o;
	struct api_http_resp	 r;
	struct cm_err		 err;
	struct api		*a;
	char			 cert[128], key[128], url[64];
	int			 rc;

	(void)state;
	make_cert(F->t.dir, cert, key, sizeof(cert));
	memset(&ac, 0, sizeof(ac));
	ac.dsn = F->t.dsn;
	ac.hsm = F->hsm;
	ac.pool = F->pool;
	ac.eng_conf = &F->conf;
	ac.tls_cert = cert;
	ac.tls_key = key;
	if ((a = api_start(&ac, &err)) == NULL)
		fail_msg("api_start: %s", err.msg);
	snprintf(url, sizeof(url), "https://127.0.0.1:%u/", api_port(a));
	memset(&o, 0, sizeof(o));
	o.token = F->admin;
	o.cafile = cert;
	if (api_http_do(url, "GET", "/api/v1/cas/m1", NULL, &o, &r, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "\"handle\":\"m1\""));
	api_http_resp_free(&r);
	/* Not signed by a trusted CA: refused before anything is sent. */
	o.cafile = NULL;
	assert_int_equal(api_http_do(url, "GET", "/api/v1/cas", NULL, &o, &r,
	    &err), -1);
	assert_non_null(strstr(err.msg, "not trusted"));
	/* Plain HTTP to the TLS port is no answer. */
	url[4] = ':';
	memmove(url + 5, url + 6, strlen(url + 6) + 1);
	memcpy(url, "http", 4);
	rc = api_http_request(url, "GET", "/api/v1/health", NULL, NULL, NULL,
	    5000, &r, &err);
	assert_true(rc == -1 || r.status != 200);
	if (rc == 0)
		api_http_resp_free(&r);
	api_stop(a);
	unlink(cert);
	unlink(key);
}

/* The (method, path) pairs of the OpenAPI document equal the router's. */
static void
test_openapi(void **state)
{
	json_error_t	 je;
	json_t		*doc, *paths, *item, *op;
	const char	*path, *m, *rm, *rp;
	char		 key[256], upper[16];
	size_t		 i, k, ndoc = 0, found;

	(void)state;
	doc = json_load_file(CAIRN_SOURCE_DIR "/api/openapi.json", 0, &je);
	if (doc == NULL)
		fail_msg("openapi.json:%d: %s", je.line, je.text);
	assert_string_equal(json_string_value(json_object_get(doc, "openapi")),
	    "3.0.3");
	paths = json_object_get(doc, "paths");
	assert_true(json_is_object(paths));
	json_object_foreach(paths, path, item) {
		json_object_foreach(item, m, op) {
			if (strcmp(m, "parameters") == 0 ||
			    strcmp(m, "summary") == 0)
				continue;
			for (k = 0; m[k] != '\0' && k < sizeof(upper) - 1; k++)
				upper[k] = (char)(m[k] - ('a' - 'A'));
			upper[k] = '\0';
			found = 0;
			for (i = 0; i < api_route_count(); i++) {
				api_route_get(i, &rm, &rp);
				if (strcmp(rm, upper) == 0 &&
				    strcmp(rp, path) == 0)
					found++;
			}
			snprintf(key, sizeof(key), "%s %s", upper, path);
			if (found != 1)
				fail_msg("%s: in openapi.json, not served", key);
			assert_non_null(json_object_get(op, "responses"));
			ndoc++;
		}
	}
	for (i = 0; i < api_route_count(); i++) {
		api_route_get(i, &rm, &rp);
		for (k = 0; rm[k] != '\0'; k++)
			upper[k] = (char)(rm[k] + ('a' - 'A'));
		upper[k] = '\0';
		if (json_object_get(json_object_get(paths, rp), upper) == NULL)
			fail_msg("%s %s: served, not in openapi.json", rm, rp);
	}
	assert_int_equal(ndoc, api_route_count());
	json_decref(doc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_openapi),
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_service),
		cmocka_unit_test(test_cas),
		cmocka_unit_test(test_roas),
		cmocka_unit_test(test_aspas),
		cmocka_unit_test(test_routers_keyroll),
		cmocka_unit_test(test_transfer_history),
		cmocka_unit_test(test_scope),
		cmocka_unit_test(test_idempotency),
		cmocka_unit_test(test_tls),
		cmocka_unit_test(test_updown_http),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
