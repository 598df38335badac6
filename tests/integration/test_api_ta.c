/*
 * The trust anchor routes of the API and its worker threads, over real
 * sockets against an embedded PostgreSQL: creating, showing a trust anchor
 * and its TAL (admin tokens only, every error status), then requests on
 * several workers: writes to one CA run in arrival order even when they
 * queue behind a slow write, reads and writes to other CAs run beside
 * them, and nothing is lost or answered 5xx.  Then the trust anchor's key
 * roll (RFC 9691) through the API, and a CA whose parent is an offline
 * trust anchor (a second engine on its own database) exchanging request
 * and response files through the API.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "api/api.h"
#include "api/api_client.h"
#include "ca/engine.h"
#include "ca/offline.h"
#include "ca/tal.h"
#include "common/cm_buf.h"
#include "common/cm_enc.h"
#include "db_testutil.h"
#include "eng_testutil.h"

#define BASE	"rsync://127.0.0.1:8873/repo/"
#define HTTPS	"https://127.0.0.1:8443/"
#define NWORKERS 3

struct fx {
	struct dbt		 t;
	struct db		*db;
	struct hsm		*hsm;
	struct hsm_pool		*pool;
	struct ca_eng_conf	 conf;
	struct api		*api;
	char			 url[64];
	char			*admin, *member;
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

static void
expect(const char *token, const char *method, const char *path,
    const char *body, int status, const char *code, const char *field)
{
	json_t	*j = NULL, *e;
	int	 st = req(token, method, path, body, &j);

	if (st != status)
		fail_msg("%s %s: %d, expected %d: %s", method, path, st, status,
		    json_dumps(j, 0));
	e = json_object_get(j, "error");
	if (code != NULL) {
		assert_non_null(e);
		assert_string_equal(json_string_value(json_object_get(e,
		    "code")), code);
		assert_true(json_is_string(json_object_get(e, "message")));
	}
	if (field != NULL)
		assert_string_equal(json_string_value(json_object_get(e,
		    "field")), field);
	json_decref(j);
}

static int
setup(void **state)
{
	struct fx	*f = calloc(1, sizeof(*f));
	struct api_conf	 ac;
	struct cm_err	 err;

	F = f;
	if (dbt_start(&f->t, &err) == -1 ||
	    (f->db = db_open(f->t.dsn, 5, &err)) == NULL ||
	    db_migrate(f->db, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	f->hsm = hsm_open_mem();
	if ((f->pool = hsm_pool_new(16, 2, &err)) == NULL)
		return -1;
	ca_eng_conf_defaults(&f->conf);
	f->conf.rsync_base = BASE;
	f->conf.https_base = HTTPS;
	if (api_token_create(f->db, "ops", NULL, &f->admin, &err) == -1) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	memset(&ac, 0, sizeof(ac));
	ac.host = "127.0.0.1";
	ac.dsn = f->t.dsn;
	ac.hsm = f->hsm;
	ac.pool = f->pool;
	ac.eng_conf = &f->conf;
	ac.workers = NWORKERS;
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
	hsm_pool_free(f->pool);
	hsm_close(f->hsm);
	db_close(f->db);
	dbt_stop(&f->t);
	free(f->admin);
	free(f->member);
	free(f);
	return 0;
}

/* The certificate of a GET /ta answer. */
static X509 *
ta_cert(json_t *j)
{
	struct cm_buf		 der = CM_BUF_INIT;
	struct cm_err		 err;
	const char		*b64 = json_string_value(json_object_get(j,
				    "certificate"));
	const unsigned char	*p;
	X509			*x;

	assert_non_null(b64);
	assert_int_equal(cm_b64_decode(b64, strlen(b64), &der, &err), 0);
	p = der.data;
	x = d2i_X509(NULL, &p, (long)der.len);
	assert_non_null(x);
	assert_ptr_equal(p, der.data + der.len);
	cm_buf_free(&der);
	return x;
}

static void
test_ta_create_show_tal(void **state)
{
	json_t		*j, *u;
	struct ca_tal	*tal = NULL;
	struct cm_err	 err;
	X509		*x;
	const char	*text;

	(void)state;
	assert_int_equal(req(F->admin, "POST", "/api/v1/ta", "{\"handle\":"
	    "\"ta\",\"resources\":{\"asn\":\"0-4294967295\",\"ipv4\":"
	    "\"0.0.0.0/0\",\"ipv6\":\"::/0\"}}", &j), 201);
	assert_string_equal(json_string_value(json_object_get(j, "handle")),
	    "ta");
	assert_string_equal(json_string_value(json_object_get(j, "kind")),
	    "ta");
	assert_string_equal(json_string_value(json_object_get(
	    json_object_get(j, "resources"), "ipv6")), "::/0");
	assert_string_equal(json_string_value(json_object_get(j, "cert_uri")),
	    BASE "ta-ta/ta.cer");
	assert_int_equal(strlen(json_string_value(json_object_get(j,
	    "key_id"))), 40);
	assert_true(json_is_string(json_object_get(j, "not_after")));
	u = json_object_get(j, "tal_uris");
	assert_int_equal(json_array_size(u), 2);
	assert_string_equal(json_string_value(json_array_get(u, 0)),
	    HTTPS "ta.cer");
	assert_string_equal(json_string_value(json_array_get(u, 1)),
	    BASE "ta-ta/ta.cer");
	assert_int_equal(json_array_size(json_object_get(j, "children")), 0);
	/* Self-signed. */
	x = ta_cert(j);
	assert_int_equal(X509_check_issued(x, x), X509_V_OK);
	json_decref(j);
	assert_int_equal(count("SELECT count(*) FROM ca WHERE kind = 'ta'"), 1);
	assert_int_equal(count("SELECT count(*) FROM audit_log WHERE action = "
	    "'ta.create' AND actor = 'ops'"), 1);

	/* The TAL names the certificate's key. */
	assert_int_equal(req(F->admin, "GET", "/api/v1/ta/ta/tal", NULL, &j),
	    200);
	text = json_string_value(json_object_get(j, "tal"));
	assert_non_null(text);
	if (ca_tal_parse("tal", text, strlen(text), &tal, &err) == -1)
		fail_msg("%s", err.msg);
	assert_int_equal(tal->nuris, 2);
	assert_string_equal(tal->uris[0], HTTPS "ta.cer");
	assert_int_equal(EVP_PKEY_eq(tal->key, X509_get0_pubkey(x)), 1);
	ca_tal_free(tal);
	json_decref(j);
	X509_free(x);

	/* A hosted CA below it shows among its children. */
	expect(F->admin, "POST", "/api/v1/cas", "{\"handle\":\"rir\",\"parent\":"
	    "\"ta\",\"resources\":{\"asn\":\"64496-64511\",\"ipv4\":"
	    "\"10.0.0.0/8\",\"ipv6\":\"2001:db8::/32\"}}", 201, NULL, NULL);
	assert_int_equal(req(F->admin, "GET", "/api/v1/ta/ta", NULL, &j), 200);
	assert_string_equal(json_string_value(json_array_get(json_object_get(j,
	    "children"), 0)), "rir");
	json_decref(j);
}

static void
test_ta_errors(void **state)
{
	struct cm_err	err;
	int64_t		n = count("SELECT count(*) FROM ca");

	(void)state;
	expect(F->admin, "POST", "/api/v1/ta", "{\"handle\":\"ta\",\"resources\""
	    ":{\"asn\":\"1\"}}", 409, "exists", "handle");
	expect(F->admin, "POST", "/api/v1/ta", "{\"resources\":{\"asn\":\"1\"}}",
	    422, "missing", "handle");
	expect(F->admin, "POST", "/api/v1/ta", "{\"handle\":\"-x\",\"resources\""
	    ":{\"asn\":\"1\"}}", 422, "invalid", "handle");
	expect(F->admin, "POST", "/api/v1/ta", "{\"handle\":7,\"resources\":"
	    "{\"asn\":\"1\"}}", 422, "invalid", "handle");
	expect(F->admin, "POST", "/api/v1/ta", "{\"handle\":\"t2\"}", 422,
	    "missing", "resources");
	expect(F->admin, "POST", "/api/v1/ta", "{\"handle\":\"t2\",\"resources\""
	    ":{}}", 422, "invalid", "resources");
	expect(F->admin, "POST", "/api/v1/ta", "{\"handle\":\"t2\",\"resources\""
	    ":{\"asn\":\"inherit\"}}", 422, "invalid", "resources.asn");
	expect(F->admin, "POST", "/api/v1/ta", "{\"handle\":\"t2\",\"resources\""
	    ":{\"ipv4\":\"10.0.0.0/33\"}}", 422, "invalid", "resources.ipv4");
	expect(F->admin, "POST", "/api/v1/ta", "{\"handle\":\"t2\",\"resources\""
	    ":{\"ipv6\":5}}", 422, "invalid", "resources.ipv6");
	expect(F->admin, "POST", "/api/v1/ta", "[1]", 400, "malformed_json",
	    NULL);
	expect(F->admin, "GET", "/api/v1/ta/nope", NULL, 404, "ta_not_found",
	    NULL);
	expect(F->admin, "GET", "/api/v1/ta/rir", NULL, 404, "ta_not_found",
	    NULL);
	expect(F->admin, "GET", "/api/v1/ta/rir/tal", NULL, 404, "ta_not_found",
	    NULL);
	expect(F->admin, "DELETE", "/api/v1/ta/ta", NULL, 405,
	    "method_not_allowed", NULL);
	expect(NULL, "GET", "/api/v1/ta/ta", NULL, 401, "unauthenticated",
	    NULL);
	/* Member tokens: not even their parent's trust anchor. */
	assert_int_equal(api_token_create(F->db, "member", "rir", &F->member,
	    &err), 0);
	expect(F->member, "POST", "/api/v1/ta", "{\"handle\":\"t3\","
	    "\"resources\":{\"asn\":\"1\"}}", 403, "forbidden", NULL);
	expect(F->member, "GET", "/api/v1/ta/ta", NULL, 403, "forbidden", NULL);
	expect(F->member, "GET", "/api/v1/ta/ta/tal", NULL, 403, "forbidden",
	    NULL);
	assert_int_equal(count("SELECT count(*) FROM ca"), n);
	assert_int_equal(count("SELECT count(*) FROM ca WHERE kind = 'ta'"), 1);
}

/* ---- several workers ---- */

/* Sends a request on a new connection; returns the socket. */
static int
send_req(const char *method, const char *path, const char *body)
{
	struct sockaddr_in	 sa;
	char			 head[1024];
	int			 s, n;

	s = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(api_port(F->api));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	n = snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: x\r\n"
	    "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n", method, path,
	    F->admin, body != NULL ? strlen(body) : 0);
	assert_int_equal(write(s, head, (size_t)n), n);
	if (body != NULL)
		assert_int_equal(write(s, body, strlen(body)),
		    (ssize_t)strlen(body));
	return s;
}

/* Reads the answer on s to the end; returns its status. */
static int
read_status(int s)
{
	char	buf[65536];
	size_t	n = 0;
	ssize_t	r;
	int	st = 0;

	while (n < sizeof(buf) - 1 && (r = read(s, buf + n, sizeof(buf) - 1 -
	    n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
	close(s);
	if (sscanf(buf, "HTTP/1.1 %d", &st) != 1)
		fail_msg("no HTTP answer: %s", buf);
	return st;
}

#define NORDER	8

/*
 * A slow global write (creating a CA: a key and two publication points),
 * then writes to one CA sent one after the other on their own connections:
 * they wait behind it and must then run in the order they came, although
 * NWORKERS workers are free.  Reads sent meanwhile are answered.
 */
static void
test_workers_order(void **state)
{
	struct db_res	*r = NULL;
	struct cm_err	 err;
	char		 body[256], want[64];
	int		 s[NORDER + 2], i;

	(void)state;
	assert_int_equal(api_workers(F->api), NWORKERS);
	s[0] = send_req("POST", "/api/v1/cas", "{\"handle\":\"m1\",\"parent\":"
	    "\"rir\",\"resources\":{\"asn\":\"64496-64499\",\"ipv4\":"
	    "\"10.1.0.0/16\"}}");
	usleep(20000);
	for (i = 0; i < NORDER; i++) {
		snprintf(body, sizeof(body), "{\"add\":[{\"asn\":64496,\"prefix\":"
		    "\"10.1.%d.0/24\"}]}", i);
		s[i + 1] = send_req("POST", "/api/v1/cas/m1/roas", body);
		usleep(5000);
	}
	s[NORDER + 1] = send_req("GET", "/api/v1/cas", NULL);
	for (i = 0; i < NORDER + 2; i++) {
		int st = read_status(s[i]);

		if (st != (i == 0 ? 201 : 200))
			fail_msg("request %d: status %d", i, st);
	}
	if (db_exec(F->db, "SELECT object FROM audit_log a JOIN ca c ON c.id = "
	    "a.ca_id WHERE c.handle = 'm1' AND action = 'roa.add' ORDER BY "
	    "a.id", NULL, &r, &err) == -1)
		fail_msg("%s", err.msg);
	assert_int_equal(db_res_rows(r), NORDER);
	for (i = 0; i < NORDER; i++) {
		snprintf(want, sizeof(want), "AS64496 10.1.%d.0/24-24", i);
		assert_string_equal(db_res_text(r, i, 0), want);
	}
	db_res_free(r);
}

struct loader {
	const char	*method, *path;
	char		 body[128];
	int		 n, bad;
	pthread_t	 t;
};

static void *
loader_main(void *arg)
{
	struct loader		*l = arg;
	struct api_http_resp	 r;
	struct cm_err		 err;

	for (int i = 0; i < l->n; i++) {
		if (api_http_request(F->url, l->method, l->path, F->admin, NULL,
		    l->method[0] == 'P' ? l->body : NULL, 20000, &r, &err) == -1) {
			l->bad++;
			continue;
		}
		if (r.status != 200)
			l->bad++;
		api_http_resp_free(&r);
		if (l->method[0] == 'P')
			snprintf(l->body, sizeof(l->body), "{\"add\":[{\"asn\":"
			    "64500,\"prefix\":\"10.2.%d.0/24\"}]}", i + 1);
	}
	return NULL;
}

/*
 * Readers on every worker while two CAs take writes at once: every request
 * answered 200, every write recorded.
 */
static void
test_workers_parallel(void **state)
{
	struct loader	l[4];
	int		i, total = 0;

	(void)state;
	expect(F->admin, "POST", "/api/v1/cas", "{\"handle\":\"m2\",\"parent\":"
	    "\"rir\",\"resources\":{\"asn\":\"64500\",\"ipv4\":\"10.2.0.0/16\"}}",
	    201, NULL, NULL);
	memset(l, 0, sizeof(l));
	l[0].method = "POST";
	l[0].path = "/api/v1/cas/m2/roas";
	snprintf(l[0].body, sizeof(l[0].body), "{\"add\":[{\"asn\":64500,"
	    "\"prefix\":\"10.2.0.0/24\"}]}");
	l[0].n = 4;
	l[1].method = "POST";
	l[1].path = "/api/v1/cas/m1/roas";
	snprintf(l[1].body, sizeof(l[1].body), "{\"remove\":[{\"asn\":64496,"
	    "\"prefix\":\"10.1.0.0/24\"}]}");
	l[1].n = 1;
	l[2].method = l[3].method = "GET";
	l[2].path = "/api/v1/cas/m1/roas";
	l[3].path = "/api/v1/ta/ta";
	l[2].n = l[3].n = 30;
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&l[i].t, NULL, loader_main,
		    &l[i]), 0);
	for (i = 0; i < 4; i++) {
		pthread_join(l[i].t, NULL);
		if (l[i].bad != 0)
			fail_msg("%s %s: %d of %d failed", l[i].method, l[i].path,
			    l[i].bad, l[i].n);
		total += l[i].n;
	}
	assert_int_equal(total, 65);
	assert_int_equal(count("SELECT count(*) FROM roa_config r JOIN ca c ON "
	    "c.id = r.ca_id WHERE c.handle = 'm2'"), 4);
	assert_int_equal(count("SELECT count(*) FROM roa_config r JOIN ca c ON "
	    "c.id = r.ca_id WHERE c.handle = 'm1'"), NORDER - 1);
}

/* ---- trust anchor key roll (RFC 9691) ---- */

#define PENDING	"SELECT count(*) FROM ca_key k JOIN ca c ON c.id = k.ca_id " \
		"WHERE c.handle = 'ta' AND k.state = 'pending'"
#define AUDIT(a) "SELECT count(*) FROM audit_log WHERE action = '" a "'"

/* A request with an Idempotency-Key; *replayed tells if it was replayed. */
static int
req_idem(const char *method, const char *path, const char *body,
    const char *key, json_t **out, int *replayed)
{
	struct api_http_resp	r;
	struct cm_err		err;
	int			st;

	if (api_http_request(F->url, method, path, F->admin, key, body, 30000,
	    &r, &err) == -1)
		fail_msg("%s %s: %s", method, path, err.msg);
	st = r.status;
	*replayed = r.replayed;
	*out = json_loads(r.body, 0, NULL);
	if (*out == NULL)
		fail_msg("%s %s: %d, not JSON: %s", method, path, st, r.body);
	api_http_resp_free(&r);
	return st;
}

/* The key of the TAL in the "tal" member of j (caller frees). */
static EVP_PKEY *
tal_key(json_t *j)
{
	struct ca_tal	*t = NULL;
	struct cm_err	 err;
	const char	*text = json_string_value(json_object_get(j, "tal"));
	EVP_PKEY	*k;

	assert_non_null(text);
	if (ca_tal_parse("tal", text, strlen(text), &t, &err) == -1)
		fail_msg("%s", err.msg);
	k = t->key;
	EVP_PKEY_up_ref(k);
	ca_tal_free(t);
	return k;
}

static void
test_ta_keyroll(void **state)
{
	json_t		*j, *r2;
	EVP_PKEY	*old, *next;
	char		 k1[41], k2[41];
	int		 rep;
	int64_t		 nkeys = count("SELECT count(*) FROM ca_key");

	(void)state;
	/* Before a roll. */
	assert_int_equal(req(F->admin, "GET", "/api/v1/ta/ta/keyroll", NULL,
	    &j), 200);
	assert_false(json_is_true(json_object_get(j, "rolling")));
	assert_true(json_is_null(json_object_get(j, "next_key")));
	assert_true(json_is_null(json_object_get(j, "acceptance_ends_at")));
	assert_false(json_is_true(json_object_get(j, "finish_allowed")));
	assert_int_equal(json_integer_value(json_object_get(j,
	    "acceptance_seconds")), 30 * 86400);
	snprintf(k1, sizeof(k1), "%s", json_string_value(json_object_get(j,
	    "active_key")));
	assert_int_equal(strlen(k1), 40);
	json_decref(j);
	expect(F->admin, "GET", "/api/v1/ta/ta/tal/next", NULL, 409, "conflict",
	    NULL);

	/* Bad input and wrong state change nothing. */
	expect(F->admin, "POST", "/api/v1/ta/ta/keyroll", "{\"step\":"
	    "\"finish\"}", 409, "conflict", "step");
	expect(F->admin, "POST", "/api/v1/ta/ta/keyroll", "{\"step\":"
	    "\"finish\",\"force\":true}", 409, "conflict", "step");
	expect(F->admin, "POST", "/api/v1/ta/ta/keyroll", "{\"step\":"
	    "\"activate\"}", 422, "invalid", "step");
	expect(F->admin, "POST", "/api/v1/ta/ta/keyroll", "{}", 422, "missing",
	    "step");
	expect(F->admin, "POST", "/api/v1/ta/ta/keyroll", "{\"step\":7}", 422,
	    "invalid", "step");
	expect(F->admin, "POST", "/api/v1/ta/ta/keyroll", "{\"step\":"
	    "\"finish\",\"force\":\"yes\"}", 422, "invalid", "force");
	expect(F->admin, "POST", "/api/v1/ta/ta/keyroll", "{\"step\":"
	    "\"start\",\"force\":true}", 422, "invalid", "force");
	expect(F->admin, "POST", "/api/v1/ta/ta/keyroll", "step=start", 400,
	    "malformed_json", NULL);
	expect(F->admin, "POST", "/api/v1/ta/nope/keyroll", "{\"step\":"
	    "\"start\"}", 404, "ta_not_found", NULL);
	expect(F->admin, "POST", "/api/v1/ta/rir/keyroll", "{\"step\":"
	    "\"start\"}", 404, "ta_not_found", NULL);
	expect(F->admin, "GET", "/api/v1/ta/rir/keyroll", NULL, 404,
	    "ta_not_found", NULL);
	expect(F->admin, "GET", "/api/v1/ta/nope/tal/next", NULL, 404,
	    "ta_not_found", NULL);
	expect(F->admin, "DELETE", "/api/v1/ta/ta/keyroll", NULL, 405,
	    "method_not_allowed", NULL);
	/* Member tokens: admin routes, whatever the trust anchor. */
	expect(F->member, "POST", "/api/v1/ta/ta/keyroll", "{\"step\":"
	    "\"start\"}", 403, "forbidden", NULL);
	expect(F->member, "GET", "/api/v1/ta/ta/keyroll", NULL, 403,
	    "forbidden", NULL);
	expect(F->member, "GET", "/api/v1/ta/ta/tal/next", NULL, 403,
	    "forbidden", NULL);
	expect(F->member, "POST", "/api/v1/ta/nope/keyroll", "{\"step\":"
	    "\"start\"}", 403, "forbidden", NULL);
	assert_int_equal(count(PENDING), 0);
	assert_int_equal(count("SELECT count(*) FROM ca_key"), nkeys);
	assert_int_equal(count("SELECT count(*) FROM audit_log WHERE action "
	    "LIKE 'ta.keyroll.%'"), 0);

	/* start, idempotent: a replay starts nothing more. */
	assert_int_equal(req_idem("POST", "/api/v1/ta/ta/keyroll",
	    "{\"step\":\"start\"}", "roll-1", &j, &rep), 200);
	assert_false(rep);
	assert_true(json_is_true(json_object_get(j, "rolling")));
	assert_string_equal(json_string_value(json_object_get(j,
	    "active_key")), k1);
	snprintf(k2, sizeof(k2), "%s", json_string_value(json_object_get(j,
	    "next_key")));
	assert_int_equal(strlen(k2), 40);
	assert_string_not_equal(k1, k2);
	assert_false(json_is_true(json_object_get(j, "finish_allowed")));
	assert_true(json_is_string(json_object_get(j, "acceptance_ends_at")));
	assert_non_null(strstr(json_string_value(json_object_get(j,
	    "next_cert_uri")), BASE "ta-ta/ta-"));
	assert_int_equal(req_idem("POST", "/api/v1/ta/ta/keyroll",
	    "{\"step\":\"start\"}", "roll-1", &r2, &rep), 200);
	assert_true(rep);
	assert_true(json_equal(j, r2));
	json_decref(j);
	json_decref(r2);
	assert_int_equal(count(PENDING), 1);
	assert_int_equal(count(AUDIT("ta.keyroll.start") " AND actor = 'ops'"),
	    1);
	expect(F->admin, "POST", "/api/v1/ta/ta/keyroll", "{\"step\":"
	    "\"start\"}", 409, "exists", "step");
	assert_int_equal(count(PENDING), 1);

	/* The next TAL is the new key's. */
	assert_int_equal(req(F->admin, "GET", "/api/v1/ta/ta/tal", NULL, &j),
	    200);
	old = tal_key(j);
	json_decref(j);
	assert_int_equal(req(F->admin, "GET", "/api/v1/ta/ta/tal/next", NULL,
	    &j), 200);
	next = tal_key(j);
	assert_non_null(strstr(json_string_value(json_object_get(j, "tal")),
	    "ta-ta/ta-"));
	json_decref(j);
	assert_int_not_equal(EVP_PKEY_eq(old, next), 1);

	/* finish waits for the acceptance period, unless forced. */
	expect(F->admin, "POST", "/api/v1/ta/ta/keyroll", "{\"step\":"
	    "\"finish\"}", 409, "conflict", "step");
	assert_int_equal(count(PENDING), 1);
	assert_int_equal(req(F->admin, "POST", "/api/v1/ta/ta/keyroll",
	    "{\"step\":\"finish\",\"force\":true}", &j), 200);
	assert_false(json_is_true(json_object_get(j, "rolling")));
	assert_string_equal(json_string_value(json_object_get(j,
	    "active_key")), k2);
	json_decref(j);
	assert_int_equal(count(PENDING), 0);
	assert_int_equal(count(AUDIT("ta.keyroll.finish") " AND actor = "
	    "'ops'"), 1);
	assert_int_equal(req(F->admin, "GET", "/api/v1/ta/ta", NULL, &j), 200);
	assert_string_equal(json_string_value(json_object_get(j, "key_id")), k2);
	json_decref(j);
	/* The TAL (same URI) now holds the new key. */
	assert_int_equal(req(F->admin, "GET", "/api/v1/ta/ta/tal", NULL, &j),
	    200);
	old = (EVP_PKEY_free(old), tal_key(j));
	json_decref(j);
	assert_int_equal(EVP_PKEY_eq(old, next), 1);
	EVP_PKEY_free(old);
	EVP_PKEY_free(next);
	expect(F->admin, "GET", "/api/v1/ta/ta/tal/next", NULL, 409, "conflict",
	    NULL);
	expect(F->admin, "POST", "/api/v1/ta/ta/keyroll", "{\"step\":"
	    "\"finish\",\"force\":true}", 409, "conflict", "step");
	tu_check_manifests(F->db, "SELECT count(*) FROM ca_key WHERE state IN "
	    "('active', 'pending') AND cert IS NOT NULL");
}

/* ---- an offline parent (docs/offline-ta.md) ---- */

#define OFF_KEYS "SELECT count(*) FROM ca_key k JOIN ca c ON c.id = " \
		"k.ca_id WHERE c.handle = 'off' AND k.state = 'active'"
#define MIRRORED "SELECT count(*) FROM mirror_object"

static void
ok(int rc, const struct cm_err *err)
{
	if (rc < 0)
		fail_msg("%s", err->msg);
}

/* POSTs body (a response file) and expects status, code, field. */
static void
upload(const char *token, const char *body, int status, const char *code)
{
	expect(token, "POST", "/api/v1/cas/off/parent/offline-response", body,
	    status, code, strcmp(code, "malformed_file") == 0 ||
	    strcmp(code, "invalid") == 0 ? "response" : NULL);
}

/* The response file resp with member key set to v (a string). */
static char *
tamper(const char *resp, const char *key, json_t *v)
{
	json_t	*j = json_loads(resp, 0, NULL);
	char	*s;

	assert_non_null(j);
	json_object_set_new(j, key, v);
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return s;
}

/*
 * A CA "off" here whose parent is trust anchor "ota" on a second engine
 * and database (the offline machine): the request file comes from the
 * API, the trust anchor answers it, and the response goes back through
 * the API.  Malformed or refused responses change nothing.
 */
static void
test_offline_parent(void **state)
{
	struct ca_eng	*ta = NULL, *on = NULL;
	struct db	*odb;
	struct hsm	*ohsm = hsm_open_mem();
	struct ca_off	*f = NULL;
	struct ca_res	*res;
	struct cm_err	 err;
	json_t		*j, *r2, *mp;
	uint8_t		*cta = NULL, *pta = NULL;
	size_t		 clen, plen, sl;
	char		 dsn[2 * 4096 + 32], *reqf, *resp = NULL, *bad;
	char		*mtok = NULL;
	int		 rep;
	int64_t		 audits;

	(void)state;
	ok(db_exec(F->db, "CREATE DATABASE offta", NULL, NULL, &err), &err);
	snprintf(dsn, sizeof(dsn), "%s dbname=offta", F->t.dsn);
	if ((odb = db_open(dsn, 5, &err)) == NULL || db_migrate(odb, &err) < 0 ||
	    (ta = ca_eng_new(&F->conf, odb, ohsm, F->pool, NULL, &err)) ==
	    NULL || (on = ca_eng_new(&F->conf, F->db, F->hsm, F->pool, NULL,
	    &err)) == NULL)
		fail_msg("%s", err.msg);
	res = tu_res("64496-64511", "10.0.0.0/8", "2001:db8::/32");
	ok(ca_eng_ta_create(ta, "ota", res, "test", &err), &err);
	ca_res_free(res);
	/* What parent request, child add and parent import --offline do. */
	ok(ca_eng_remote_create(on, "off", "test", &err), &err);
	ok(ca_eng_bpki(on, "off", &cta, &clen, NULL, &err), &err);
	ok(ca_eng_bpki(ta, "ota", &pta, &plen, NULL, &err), &err);
	res = tu_res("64510", "10.7.0.0/16", "");
	ok(ca_eng_child_add(ta, "ota", "off", res, cta, clen, "test", &err),
	    &err);
	ca_res_free(res);
	ok(ca_eng_parent_set(on, "off", "ota", "off",
	    "https://offline.invalid/updown/ota", pta, plen, "test", &err), &err);
	ok(ca_eng_parent_offline(on, "off", 1, &err), &err);
	/* And one whose parent is online. */
	ok(ca_eng_remote_create(on, "on2", "test", &err), &err);
	ok(ca_eng_parent_set(on, "on2", "xp", "on2",
	    "https://parent.example/updown/xp", pta, plen, "test", &err), &err);
	free(cta);
	free(pta);
	ok(api_token_create(F->db, "off-member", "off", &mtok, &err), &err);

	/* The state before any exchange. */
	assert_int_equal(req(F->admin, "GET", "/api/v1/cas/off/parent", NULL,
	    &j), 200);
	assert_string_equal(json_string_value(json_object_get(j, "mode")),
	    "offline");
	assert_string_equal(json_string_value(json_object_get(j, "parent")),
	    "ota");
	assert_true(json_is_null(json_object_get(j, "active_key")));
	assert_true(json_is_null(json_object_get(j, "next_sync")));
	assert_true(json_is_null(json_object_get(j,
	    "parent_mft_next_update")));
	assert_int_equal(json_array_size(json_object_get(j, "mirror_points")),
	    0);
	json_decref(j);
	assert_int_equal(req(F->admin, "GET", "/api/v1/cas/on2/parent", NULL,
	    &j), 200);
	assert_string_equal(json_string_value(json_object_get(j, "mode")),
	    "online");
	assert_true(json_is_string(json_object_get(j, "next_sync")));
	json_decref(j);
	expect(F->admin, "GET", "/api/v1/cas/rir/parent", NULL, 404,
	    "parent_not_found", NULL);
	expect(F->admin, "GET", "/api/v1/cas/nope/parent", NULL, 404,
	    "ca_not_found", NULL);
	expect(F->admin, "POST", "/api/v1/cas/rir/parent/offline-request",
	    NULL, 404, "parent_not_found", NULL);
	expect(F->admin, "POST", "/api/v1/cas/nope/parent/offline-request",
	    NULL, 404, "ca_not_found", NULL);
	expect(F->admin, "POST", "/api/v1/cas/on2/parent/offline-request",
	    NULL, 409, "conflict", NULL);
	expect(F->admin, "GET", "/api/v1/cas/off/parent/offline-request", NULL,
	    405, "method_not_allowed", NULL);
	/* Member tokens, even of this very CA: admin routes. */
	audits = count("SELECT count(*) FROM audit_log");
	expect(mtok, "GET", "/api/v1/cas/off/parent", NULL, 403, "forbidden",
	    NULL);
	expect(mtok, "POST", "/api/v1/cas/off/parent/offline-request", NULL,
	    403, "forbidden", NULL);
	expect(F->member, "POST", "/api/v1/cas/off/parent/offline-request",
	    NULL, 403, "forbidden", NULL);
	upload(mtok, "{}", 403, "forbidden");
	assert_int_equal(count("SELECT count(*) FROM audit_log"), audits);

	/* The request file; a replay answers the same file. */
	assert_int_equal(req_idem("POST",
	    "/api/v1/cas/off/parent/offline-request", NULL, "req-1", &j, &rep),
	    200);
	assert_false(rep);
	assert_int_equal(req_idem("POST",
	    "/api/v1/cas/off/parent/offline-request", NULL, "req-1", &r2, &rep),
	    200);
	assert_true(rep);
	assert_true(json_equal(j, r2));
	json_decref(r2);
	reqf = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (ca_off_parse("req", (uint8_t *)reqf, strlen(reqf), CA_OFF_REQUEST,
	    &f, &err) == -1)
		fail_msg("%s", err.msg);
	assert_string_equal(f->parent, "ota");
	assert_string_equal(f->child, "off");
	assert_true(f->nmsgs >= 2);
	ca_off_free(f);
	assert_int_equal(count(AUDIT("parent.offline-request") " AND actor = "
	    "'ops'"), 1);

	/* Malformed uploads: 400, before anything is looked at. */
	upload(F->admin, "{}", 400, "malformed_file");
	upload(F->admin, "{\"type\":\"cairn-offline-response\"}", 400,
	    "malformed_file");
	upload(F->admin, reqf, 400, "malformed_file");	/* a request */
	upload(F->admin, "[1]", 400, "malformed_json");
	upload(F->admin, "not a file", 400, "malformed_json");

	/* The offline machine answers. */
	ok(ca_eng_offline_answer(ta, "ota", (uint8_t *)reqf, strlen(reqf),
	    "req.json", "test", &resp, &sl, &err), &err);
	free(reqf);
	/* Responses that parse but are refused: 422, nothing changed. */
	bad = tamper(resp, "parent", json_string("xta"));
	upload(F->admin, bad, 422, "invalid");
	free(bad);
	bad = tamper(resp, "messages", json_pack("[s]", "Z2FyYmFnZQ=="));
	upload(F->admin, bad, 422, "invalid");
	free(bad);
	assert_int_equal(count(OFF_KEYS), 0);
	assert_int_equal(count(MIRRORED), 0);
	assert_int_equal(count(AUDIT("parent.offline-import")), 0);

	/* The response, idempotent. */
	assert_int_equal(req_idem("POST",
	    "/api/v1/cas/off/parent/offline-response", resp, "imp-1", &j, &rep),
	    200);
	assert_false(rep);
	assert_int_equal(json_integer_value(json_object_get(j, "installed")), 1);
	assert_int_equal(json_integer_value(json_object_get(j, "refused")), 0);
	assert_true(json_integer_value(json_object_get(j, "published")) > 0);
	assert_true(json_is_string(json_object_get(j,
	    "parent_mft_next_update")));
	assert_int_equal(req_idem("POST",
	    "/api/v1/cas/off/parent/offline-response", resp, "imp-1", &r2, &rep),
	    200);
	assert_true(rep);
	assert_true(json_equal(j, r2));
	json_decref(r2);
	assert_int_equal(count(OFF_KEYS), 1);
	assert_int_equal(count(AUDIT("parent.offline-import") " AND actor = "
	    "'ops'"), 1);
	/* Without the key it is a replay of the parent's replies. */
	upload(F->admin, resp, 422, "invalid");
	assert_int_equal(count(AUDIT("parent.offline-import")), 1);

	/* The state now: a key, the mirrored points, their due date. */
	assert_int_equal(req(F->admin, "GET", "/api/v1/cas/off/parent", NULL,
	    &r2), 200);
	assert_int_equal(strlen(json_string_value(json_object_get(r2,
	    "active_key"))), 40);
	assert_true(json_is_string(json_object_get(r2, "last_sync")));
	assert_true(json_equal(json_object_get(r2, "parent_mft_next_update"),
	    json_object_get(j, "parent_mft_next_update")));
	/* ota-ta/ (the certificate alone) and ota/ with its manifest. */
	mp = json_object_get(r2, "mirror_points");
	if (json_array_size(mp) != 2)
		fail_msg("mirror_points: %s", json_dumps(mp, 0));
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    mp, 0), "base_uri")), BASE "ota-ta/");
	assert_true(json_is_null(json_object_get(json_array_get(mp, 0),
	    "next_update")));
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    mp, 1), "base_uri")), BASE "ota/");
	assert_true(json_equal(json_object_get(json_array_get(mp, 1),
	    "next_update"), json_object_get(j, "parent_mft_next_update")));
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    mp, 1), "imported_by")), "ops");
	json_decref(r2);
	json_decref(j);
	assert_true(ca_eng_check(on, &err) > 0);

	free(resp);
	free(mtok);
	ca_eng_free(ta);
	ca_eng_free(on);
	hsm_close(ohsm);
	db_close(odb);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ta_create_show_tal),
		cmocka_unit_test(test_ta_errors),
		cmocka_unit_test(test_workers_order),
		cmocka_unit_test(test_workers_parallel),
		cmocka_unit_test(test_ta_keyroll),
		cmocka_unit_test(test_offline_parent),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
