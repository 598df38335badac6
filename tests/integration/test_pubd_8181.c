/*
 * Integration test of the RFC 8181 endpoint of cairn-pubd over a real
 * socket and a real PostgreSQL: CMS-signed queries from a publisher whose
 * BPKI TA is registered, replies verified against the server's identity;
 * replays, a foreign signer, broken XML, HTTP-level refusals, and 503 with
 * Retry-After above the in-flight limit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/rsa.h>

#include "ca/cms_msg.h"
#include "common/cm_buf.h"
#include "common/cm_http.h"
#include "common/cm_log.h"
#include "db/db.h"
#include "db_testutil.h"
#include "publish/pub_bpki.h"
#include "publish/pub_msg.h"
#include "publish/pub_repo.h"
#include "publish/pub_server8181.h"

#define BASE	"rsync://127.0.0.1/repo/alice/"

struct peer {
	struct pub_bpki	*id;
	EVP_PKEY	*eekey;
};

static struct {
	struct dbt		 t;
	struct db		*db;
	char			 dir[64];
	struct pub_bpki		*server;
	struct peer		 alice, mallory;
	uv_loop_t		 loop;
	uv_async_t		 stop;
	struct cm_http_server	*http;
	struct pub_server8181	*s8181;
	pthread_t		 thr;
	uint16_t		 port;
} G;

static struct pub_bpki *
identity(const char *name)
{
	struct cm_err	 err;
	struct pub_bpki	*b;
	char		 key[128], cert[128];

	snprintf(key, sizeof(key), "%s/%s.key", G.dir, name);
	snprintf(cert, sizeof(cert), "%s/%s.pem", G.dir, name);
	if (pub_bpki_create(key, cert, name, &err) == -1 ||
	    (b = pub_bpki_load(key, cert, &err)) == NULL) {
		fprintf(stderr, "%s: %s\n", name, err.msg);
		return NULL;
	}
	return b;
}

static void
stop_cb(uv_async_t *a)
{
	cm_http_server_shutdown(G.http, NULL, NULL);
	uv_close((uv_handle_t *)a, NULL);
}

static void *
loop_main(void *arg)
{
	uv_run(&G.loop, UV_RUN_DEFAULT);
	return NULL;
}

static int
setup(void **state)
{
	struct cm_err			 err;
	struct cm_http_config		 hc;
	struct pub_server8181_conf	 rc;
	uint8_t				*der;
	size_t				 len;

	cm_log_init("test_pubd_8181", CM_LOG_ERR);
	if (dbt_start(&G.t, &err) == -1 ||
	    (G.db = db_open(G.t.dsn, 5, &err)) == NULL ||
	    db_migrate(G.db, &err) == -1) {
		fprintf(stderr, "db: %s\n", err.msg);
		return -1;
	}
	snprintf(G.dir, sizeof(G.dir), "/tmp/cairn-8181-XXXXXX");
	if (mkdtemp(G.dir) == NULL)
		return -1;
	if ((G.server = identity("server")) == NULL ||
	    (G.alice.id = identity("alice")) == NULL ||
	    (G.mallory.id = identity("mallory")) == NULL)
		return -1;
	G.alice.eekey = EVP_RSA_gen(2048);
	G.mallory.eekey = EVP_RSA_gen(2048);
	if (pub_bpki_cert_der(G.alice.id, &der, &len, &err) == -1 ||
	    pub_repo_publisher_add(G.db, "alice", BASE, der, len, NULL,
	    &err) == -1 ||
	    pub_repo_publisher_add(G.db, "local",
	    "rsync://127.0.0.1/repo/local/", NULL, 0, NULL, &err) == -1) {
		fprintf(stderr, "publisher: %s\n", err.msg);
		return -1;
	}
	OPENSSL_free(der);
	uv_loop_init(&G.loop);
	memset(&rc, 0, sizeof(rc));
	rc.dsn = G.t.dsn;
	rc.prefix = "/rfc8181/";
	rc.bpki = G.server;
	rc.max_inflight = 1;	/* the tests are sequential; see test_overload */
	if ((G.s8181 = pub_server8181_new(&G.loop, &rc, &err)) == NULL)
		return -1;
	memset(&hc, 0, sizeof(hc));
	hc.host = "127.0.0.1";
	hc.handler = pub_server8181_handle;
	hc.handler_arg = G.s8181;
	hc.max_body = 1 << 20;
	hc.access_log = CM_HTTP_ALOG_OFF;
	if ((G.http = cm_http_server_new(&G.loop, &hc, &err)) == NULL) {
		fprintf(stderr, "http: %s\n", err.msg);
		return -1;
	}
	G.port = cm_http_server_port(G.http);
	uv_async_init(&G.loop, &G.stop, stop_cb);
	return pthread_create(&G.thr, NULL, loop_main, NULL) == 0 ? 0 : -1;
}

static int
teardown(void **state)
{
	uv_async_send(&G.stop);
	pthread_join(G.thr, NULL);
	cm_http_server_free(G.http);
	pub_server8181_free(G.s8181);
	uv_loop_close(&G.loop);
	pub_bpki_free(G.server);
	pub_bpki_free(G.alice.id);
	pub_bpki_free(G.mallory.id);
	EVP_PKEY_free(G.alice.eekey);
	EVP_PKEY_free(G.mallory.eekey);
	db_close(G.db);
	dbt_stop(&G.t);
	nftw(G.dir, dbt_rm, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

/* The response head of the last post(). */
static char	last_head[2048];

/* One HTTP exchange; returns the status, body in *out (malloc'd). */
static int
post(const char *method, const char *path, const char *ctype,
    const uint8_t *body, size_t len, uint8_t **out, size_t *outlen)
{
	struct sockaddr_in	 sa;
	struct cm_buf		 b = CM_BUF_INIT;
	char			 head[512], buf[4096], *p;
	ssize_t			 n;
	int			 fd, status = -1;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(G.port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: x\r\n"
	    "Content-Type: %s\r\nContent-Length: %zu\r\nConnection: close"
	    "\r\n\r\n", method, path, ctype, len);
	assert_int_equal(write(fd, head, strlen(head)), (ssize_t)strlen(head));
	if (len > 0)
		assert_int_equal(write(fd, body, len), (ssize_t)len);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		assert_int_equal(cm_buf_add(&b, buf, (size_t)n), 0);
	close(fd);
	assert_non_null(cm_buf_cstr(&b));
	sscanf((const char *)b.data, "HTTP/1.1 %d", &status);
	p = strstr((char *)b.data, "\r\n\r\n");
	assert_non_null(p);
	snprintf(last_head, sizeof(last_head), "%.*s",
	    (int)(p - (char *)b.data), (const char *)b.data);
	p += 4;
	*outlen = b.len - (size_t)(p - (char *)b.data);
	*out = malloc(*outlen + 1);
	memcpy(*out, p, *outlen);
	cm_buf_free(&b);
	return status;
}

/* Signs q as peer at signing time t and posts it; returns the reply. */
static struct pub_msg *
exchange(struct peer *peer, const char *handle, const uint8_t *xml,
    size_t xlen, time_t t)
{
	struct cm_err		 err;
	struct ca_cms_msg	 m;
	struct pub_msg		*reply = NULL;
	X509			*ee;
	X509_CRL		*crl;
	uint8_t			*der, *body;
	size_t			 len, blen;
	char			 path[128];

	assert_int_equal(pub_bpki_issue(peer->id, peer->eekey, time(NULL),
	    &ee, &crl, &err), 0);
	assert_int_equal(ca_cms_msg_sign(handle, xml, xlen, ee, peer->eekey,
	    crl, t, &der, &len, &err), 0);
	snprintf(path, sizeof(path), "/rfc8181/%s", handle);
	assert_int_equal(post("POST", path, "application/rpki-publication",
	    der, len, &body, &blen), 200);
	if (ca_cms_msg_verify("server", body, blen, pub_bpki_cert(G.server),
	    time(NULL), &m, &err) != 0)
		fail_msg("reply: %s", err.msg);
	assert_int_equal(pub_msg_parse("reply", m.xml, m.xml_len, 1, &reply,
	    &err), 0);
	ca_cms_msg_free(&m);
	X509_free(ee);
	X509_CRL_free(crl);
	free(der);
	free(body);
	return reply;
}

static struct pub_msg *
query(struct peer *peer, struct pub_msg *q, time_t t)
{
	struct cm_err	 err;
	struct cm_buf	 xml = CM_BUF_INIT;
	struct pub_msg	*r;

	assert_int_equal(pub_msg_write(q, &xml, &err), 0);
	r = exchange(peer, "alice", xml.data, xml.len, t);
	cm_buf_free(&xml);
	pub_msg_free(q);
	return r;
}

static struct pub_msg *
one_publish(const char *name)
{
	struct pub_msg	*q = pub_msg_new(0);
	uint8_t		 obj[200];
	char		 uri[128];

	memset(obj, name[0], sizeof(obj));
	snprintf(uri, sizeof(uri), BASE "%s", name);
	assert_int_equal(pub_msg_add(q, PUB_PDU_PUBLISH, "t1", uri, NULL, obj,
	    sizeof(obj), NULL), 0);
	return q;
}

static void
expect_error(struct pub_msg *r, enum pub_errcode code)
{
	assert_int_equal(r->npdus, 1);
	assert_int_equal(r->pdus[0].type, PUB_PDU_ERROR);
	assert_int_equal(r->pdus[0].error, code);
	pub_msg_free(r);
}

static void
test_publish_list_replay(void **state)
{
	struct pub_msg	*r, *q;
	time_t		 t = time(NULL) - 100;
	uint8_t		 h[32];

	r = query(&G.alice, one_publish("a.roa"), t);
	assert_int_equal(r->npdus, 1);
	assert_int_equal(r->pdus[0].type, PUB_PDU_PUBLISH);
	assert_string_equal(r->pdus[0].tag, "t1");
	pub_msg_free(r);
	assert_int_equal(pub_repo_lookup(G.db, BASE "a.roa", h, NULL), 1);

	/* The same signing time again: a replay. */
	expect_error(query(&G.alice, one_publish("b.roa"), t),
	    PUB_ERR_BAD_CMS_SIGNATURE);
	assert_int_equal(pub_repo_lookup(G.db, BASE "b.roa", h, NULL), 0);
	/* An older one too. */
	expect_error(query(&G.alice, one_publish("b.roa"), t - 10),
	    PUB_ERR_BAD_CMS_SIGNATURE);

	/* Later: accepted; list shows the object. */
	q = pub_msg_new(0);
	assert_int_equal(pub_msg_add(q, PUB_PDU_LIST, NULL, NULL, NULL, NULL,
	    0, NULL), 0);
	r = query(&G.alice, q, t + 1);
	assert_int_equal(r->npdus, 1);
	assert_int_equal(r->pdus[0].type, PUB_PDU_LIST);
	assert_string_equal(r->pdus[0].uri, BASE "a.roa");
	pub_msg_free(r);

	/* An RFC 8181 error is signed and carries the code. */
	expect_error(query(&G.alice, one_publish("a.roa"), t + 2),
	    PUB_ERR_OBJECT_ALREADY_PRESENT);
}

static void
test_foreign_signer_and_bad_xml(void **state)
{
	static const char bad[] = "<msg xmlns=\"" PUB_MSG_NS "\" "
	    "type=\"query\" version=\"3\"><list/></msg>";
	struct cm_err	 err;
	struct cm_buf	 xml = CM_BUF_INIT;
	struct pub_msg	*q = one_publish("m.roa");
	uint8_t		 h[32];

	assert_int_equal(pub_msg_write(q, &xml, &err), 0);
	pub_msg_free(q);
	expect_error(exchange(&G.mallory, "alice", xml.data, xml.len,
	    time(NULL) + 5), PUB_ERR_BAD_CMS_SIGNATURE);
	cm_buf_free(&xml);
	assert_int_equal(pub_repo_lookup(G.db, BASE "m.roa", h, NULL), 0);
	expect_error(exchange(&G.alice, "alice", (const uint8_t *)bad,
	    strlen(bad), time(NULL) + 6), PUB_ERR_XML_ERROR);
}

static void
test_http_refusals(void **state)
{
	uint8_t	*body;
	size_t	 len;

	assert_int_equal(post("POST", "/rfc8181/nobody",
	    "application/rpki-publication", (const uint8_t *)"x", 1, &body,
	    &len), 404);
	free(body);
	assert_int_equal(post("POST", "/rfc8181/local",
	    "application/rpki-publication", (const uint8_t *)"x", 1, &body,
	    &len), 403);
	free(body);
	assert_int_equal(post("GET", "/rfc8181/alice",
	    "application/rpki-publication", NULL, 0, &body, &len), 405);
	free(body);
	assert_int_equal(post("POST", "/rfc8181/alice", "text/xml",
	    (const uint8_t *)"x", 1, &body, &len), 415);
	free(body);
	assert_int_equal(post("POST", "/other", "application/rpki-publication",
	    (const uint8_t *)"x", 1, &body, &len), 404);
	free(body);
}

struct bg {
	pthread_t	 thr;
	struct pub_msg	*reply;
	time_t		 t;
};

static void *
bg_main(void *arg)
{
	struct bg	*b = arg;

	b->reply = query(&G.alice, one_publish("slow.roa"), b->t);
	return NULL;
}

/*
 * A query waits for a row lock held by the test; a second one finds the
 * server at max_inflight (1) and gets 503 with Retry-After; the first then
 * completes.
 */
static void
test_overload(void **state)
{
	struct cm_err	 err;
	struct bg	 b;
	unsigned long	 done, refused;
	uint8_t		*body;
	size_t		 len;

	assert_int_not_equal(db_exec(G.db, "BEGIN", NULL, NULL, &err), -1);
	assert_int_equal(db_exec(G.db, "SELECT 1 FROM publisher WHERE handle "
	    "= 'alice' FOR UPDATE", NULL, NULL, &err), 1);
	memset(&b, 0, sizeof(b));
	b.t = time(NULL) + 20;
	assert_int_equal(pthread_create(&b.thr, NULL, bg_main, &b), 0);
	usleep(1500 * 1000);	/* the first query is in the thread pool */
	assert_int_equal(post("POST", "/rfc8181/alice",
	    "application/rpki-publication", (const uint8_t *)"x", 1, &body,
	    &len), 503);
	free(body);
	assert_non_null(strstr(last_head, "\r\nRetry-After: 5\r\n"));
	assert_int_not_equal(db_exec(G.db, "COMMIT", NULL, NULL, &err), -1);
	pthread_join(b.thr, NULL);
	assert_non_null(b.reply);
	assert_int_equal(b.reply->pdus[0].type, PUB_PDU_PUBLISH);
	pub_msg_free(b.reply);
	pub_server8181_stats(G.s8181, &done, &refused);
	assert_int_equal(refused, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_publish_list_replay),
		cmocka_unit_test(test_foreign_signer_and_bad_xml),
		cmocka_unit_test(test_http_refusals),
		cmocka_unit_test(test_overload),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
