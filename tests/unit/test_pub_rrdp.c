/* Unit tests for publish/pub_rrdp, pub_xml and pub_uri (RRDP side). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cm_buf.h"
#include "common/cm_enc.h"
#include "publish/pub_rrdp.h"
#include "publish/pub_uri.h"
#include "publish/pub_uuid.h"
#include "publish/pub_xml.h"

#include "pub_testutil.h"

#define SID	"9df4b597-af9e-4dca-bdda-719cce2c4e28"
#define NS	"xmlns=\"http://www.ripe.net/rpki/rrdp\""
#define H64	"5fb1679e08674059b72e271d8902c11a127bb5301b055dc77fa03932ada56a56"

static void
test_uuid(void **state)
{
	char		a[37], b[37];
	struct cm_err	err;

	for (int i = 0; i < 100; i++) {
		assert_int_equal(pub_uuid_v4(a, &err), 0);
		assert_int_equal(pub_uuid_v4(b, &err), 0);
		assert_true(pub_uuid_is_v4(a));
		assert_string_not_equal(a, b);
		for (int j = 0; j < 36; j++)
			assert_true(a[j] == '-' || (a[j] >= '0' && a[j] <= '9') ||
			    (a[j] >= 'a' && a[j] <= 'f'));
	}
	assert_true(pub_uuid_is_v4(SID));
	assert_true(pub_uuid_is_v4("9DF4B597-AF9E-4DCA-BDDA-719CCE2C4E28"));
	/* version 1, wrong variant, bad shape */
	assert_false(pub_uuid_is_v4("9df4b597-af9e-1dca-bdda-719cce2c4e28"));
	assert_false(pub_uuid_is_v4("9df4b597-af9e-4dca-cdda-719cce2c4e28"));
	assert_false(pub_uuid_is_v4("9df4b597af9e-4dca-bdda-719cce2c4e28a"));
	assert_false(pub_uuid_is_v4("9df4b597-af9e-4dca-bdda-719cce2c4e2g"));
	assert_false(pub_uuid_is_v4(""));
}

/* Objects of a test repository: varied sizes and awkward URIs. */
static const char *const uris[] = {
	"rsync://repo.example/repo/ca1/a.roa",
	"rsync://repo.example/repo/ca1/b&c.roa",
	"rsync://repo.example/repo/ca1/\"><evil x=\"1.roa",
	"rsync://repo.example/repo/ca1/</publish><publish uri='x'>.cer",
	"rsync://repo.example/repo/ca2/ümlaut.mft",
};

static void
obj_bytes(size_t i, uint8_t *buf, size_t *len)
{
	*len = 100 + i * 37;
	for (size_t j = 0; j < *len; j++)
		buf[j] = (uint8_t)(i * 131 + j * 7);
}

static void
test_snapshot_roundtrip(void **state)
{
	struct pub_rrdp_writer	 w;
	struct pub_rrdp_doc	*doc;
	struct cm_buf		 b = CM_BUF_INIT;
	struct cm_err		 err;
	uint8_t			 obj[512];
	size_t			 n = sizeof(uris) / sizeof(uris[0]), len;

	assert_int_equal(pub_rrdp_begin(&w, &b, PUB_RRDP_SNAPSHOT, SID, 7,
	    &err), 0);
	for (size_t i = 0; i < n; i++) {
		obj_bytes(i, obj, &len);
		assert_int_equal(pub_rrdp_write_publish(&w, uris[i], NULL, obj,
		    len, &err), 0);
	}
	assert_int_equal(pub_rrdp_end(&w, &err), 0);
	/* exact root: namespace and version attributes */
	assert_int_equal(strncmp((char *)b.data, "<snapshot " NS
	    " version=\"1\" session_id=\"" SID "\" serial=\"7\">\n",
	    strlen("<snapshot " NS " version=\"1\" session_id=\"" SID
	    "\" serial=\"7\">\n")), 0);
	/* the injection attempts are escaped, not interpreted */
	assert_null(strstr(cm_buf_cstr(&b), "<evil"));
	assert_non_null(strstr(cm_buf_cstr(&b), "&quot;&gt;&lt;evil"));

	assert_int_equal(pub_rrdp_parse("snap", b.data, b.len,
	    PUB_RRDP_MAX_DOC, PUB_RRDP_SNAPSHOT, &doc, &err), 0);
	assert_string_equal(doc->session, SID);
	assert_int_equal(doc->serial, 7);
	assert_int_equal(doc->nelems, n);
	for (size_t i = 0; i < n; i++) {
		obj_bytes(i, obj, &len);
		assert_string_equal(doc->elems[i].uri, uris[i]);
		assert_false(doc->elems[i].has_hash);
		assert_false(doc->elems[i].withdraw);
		assert_int_equal(doc->elems[i].len, len);
		assert_memory_equal(doc->elems[i].data, obj, len);
	}
	pub_rrdp_doc_free(doc);
	cm_buf_free(&b);
}

static void
test_delta_roundtrip(void **state)
{
	struct pub_rrdp_writer	 w;
	struct pub_rrdp_doc	*doc;
	struct cm_buf		 b = CM_BUF_INIT;
	struct cm_err		 err;
	uint8_t			 obj[512], h1[32], h2[32];
	char			 hex[65];
	size_t			 len;

	obj_bytes(1, obj, &len);
	cm_sha256("old", 3, h1);
	cm_sha256("gone", 4, h2);
	assert_int_equal(pub_rrdp_begin(&w, &b, PUB_RRDP_DELTA, SID, 8, &err), 0);
	assert_int_equal(pub_rrdp_write_publish(&w, uris[0], NULL, obj, len,
	    &err), 0);
	assert_int_equal(pub_rrdp_write_publish(&w, uris[1], h1, obj, len,
	    &err), 0);
	assert_int_equal(pub_rrdp_write_withdraw(&w, uris[2], h2, &err), 0);
	assert_int_equal(pub_rrdp_end(&w, &err), 0);
	/* hashes are lowercase hex */
	cm_hex_encode(h1, 32, hex);
	assert_non_null(strstr(cm_buf_cstr(&b), hex));

	assert_int_equal(pub_rrdp_parse("delta", b.data, b.len,
	    PUB_RRDP_MAX_DOC, PUB_RRDP_DELTA, &doc, &err), 0);
	assert_int_equal(doc->nelems, 3);
	assert_false(doc->elems[0].has_hash);
	assert_true(doc->elems[1].has_hash);
	assert_memory_equal(doc->elems[1].hash, h1, 32);
	assert_true(doc->elems[2].withdraw);
	assert_memory_equal(doc->elems[2].hash, h2, 32);
	assert_null(doc->elems[2].data);
	pub_rrdp_doc_free(doc);

	/* the same bytes are not a snapshot */
	assert_int_equal(pub_rrdp_parse("delta", b.data, b.len,
	    PUB_RRDP_MAX_DOC, PUB_RRDP_SNAPSHOT, &doc, &err), -1);
	assert_true(pubtest_err_has(&err, "unexpected element <delta>"));
	cm_buf_free(&b);
}

static void
test_writer_rules(void **state)
{
	struct pub_rrdp_writer	w;
	struct cm_buf		b = CM_BUF_INIT;
	struct cm_err		err;
	uint8_t			h[32] = { 0 }, obj[4] = { 1, 2, 3, 4 };

	assert_int_equal(pub_rrdp_begin(&w, &b, PUB_RRDP_SNAPSHOT,
	    "9df4b597-af9e-1dca-bdda-719cce2c4e28", 1, &err), -1);
	assert_true(pubtest_err_has(&err, "v4 UUID"));
	assert_int_equal(pub_rrdp_begin(&w, &b, PUB_RRDP_SNAPSHOT, SID, 0,
	    &err), -1);
	assert_int_equal(pub_rrdp_begin(&w, &b, PUB_RRDP_NOTIFICATION, SID, 1,
	    &err), -1);

	cm_buf_reset(&b);
	assert_int_equal(pub_rrdp_begin(&w, &b, PUB_RRDP_SNAPSHOT, SID, 1,
	    &err), 0);
	assert_int_equal(pub_rrdp_write_withdraw(&w, uris[0], h, &err), -1);
	assert_int_equal(pub_rrdp_write_publish(&w, uris[0], h, obj, 4, &err),
	    -1);
	assert_int_equal(pub_rrdp_write_publish(&w, "https://x/y", NULL, obj,
	    4, &err), -1);
	assert_int_equal(pub_rrdp_write_publish(&w, uris[0], NULL, obj, 0,
	    &err), -1);
	assert_int_equal(pub_rrdp_write_publish(&w, "rsync://x/\x01", NULL,
	    obj, 4, &err), -1);
	assert_true(pubtest_err_has(&err, "control character"));
	assert_int_equal(pub_rrdp_write_publish(&w, "rsync://x/\x7f", NULL,
	    obj, 4, &err), -1);
	assert_int_equal(pub_rrdp_end(&w, &err), 0);	/* empty snapshot ok */

	cm_buf_reset(&b);
	assert_int_equal(pub_rrdp_begin(&w, &b, PUB_RRDP_DELTA, SID, 2, &err), 0);
	assert_int_equal(pub_rrdp_write_withdraw(&w, uris[0], NULL, &err), -1);
	assert_int_equal(pub_rrdp_end(&w, &err), -1);
	assert_true(pubtest_err_has(&err, "at least one"));
	assert_int_equal(pub_rrdp_end(&w, &err), -1);	/* closed */
	cm_buf_free(&b);
}

static void
test_notification(void **state)
{
	struct pub_rrdp_ref	 snap, d[3];
	struct pub_rrdp_doc	*doc, *doc2;
	struct cm_buf		 b = CM_BUF_INIT;
	struct cm_err		 err;
	char			 u[4][256];
	const char		*p, *q;

	assert_int_equal(pub_rrdp_file_uri("https://rrdp.example/rrdp/", SID,
	    12, PUB_RRDP_SNAPSHOT, u[0], sizeof(u[0]), &err), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(pub_rrdp_file_uri("https://rrdp.example/rrdp",
		    SID, 12 - (uint64_t)i, PUB_RRDP_DELTA, u[i + 1],
		    sizeof(u[0]), &err), 0);
	memset(&snap, 0, sizeof(snap));
	snap.uri = u[0];
	cm_sha256("s", 1, snap.hash);
	for (int i = 0; i < 3; i++) {
		memset(&d[i], 0, sizeof(d[i]));
		d[i].serial = 12 - (uint64_t)i;
		d[i].uri = u[i + 1];
		cm_sha256(&i, sizeof(i), d[i].hash);
	}
	assert_int_equal(pub_rrdp_notification(&b, SID, 12, &snap, d, 3,
	    "https://rrdp.example/rrdp/notification.xml", &err), 0);
	p = strstr(cm_buf_cstr(&b), "<snapshot ");
	q = strstr(cm_buf_cstr(&b), "<delta ");
	assert_non_null(p);
	assert_non_null(q);
	assert_true(p < q);	/* snapshot first */
	assert_int_equal(pub_rrdp_parse("notif", b.data, b.len,
	    PUB_RRDP_MAX_DOC, PUB_RRDP_NOTIFICATION, &doc, &err), 0);
	assert_int_equal(doc->serial, 12);
	assert_string_equal(doc->snapshot.uri, u[0]);
	assert_memory_equal(doc->snapshot.hash, snap.hash, 32);
	assert_int_equal(doc->ndeltas, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(doc->deltas[i].serial, 12 - (uint64_t)i);
		assert_string_equal(doc->deltas[i].uri, u[i + 1]);
		assert_memory_equal(doc->deltas[i].hash, d[i].hash, 32);
	}

	/* RFC 9697 replica check: a changed delta hash is caught */
	assert_int_equal(pub_rrdp_parse("notif", b.data, b.len,
	    PUB_RRDP_MAX_DOC, PUB_RRDP_NOTIFICATION, &doc2, &err), 0);
	assert_int_equal(pub_rrdp_notification_compare(doc, doc2, &err), 0);
	doc2->deltas[1].hash[0] ^= 1;
	assert_int_equal(pub_rrdp_notification_compare(doc, doc2, &err), -1);
	assert_true(pubtest_err_has(&err, "RFC 9697"));
	doc2->deltas[1].hash[0] ^= 1;
	doc2->serial = 11;
	assert_int_equal(pub_rrdp_notification_compare(doc, doc2, &err), -1);
	assert_true(pubtest_err_has(&err, "went back"));
	memcpy(doc2->session, "0df4b597-af9e-4dca-bdda-719cce2c4e28", 37);
	assert_int_equal(pub_rrdp_notification_compare(doc, doc2, &err), 0);
	pub_rrdp_doc_free(doc2);
	pub_rrdp_doc_free(doc);

	/* deltas out of order, with a gap, or too many */
	cm_buf_reset(&b);
	d[1].serial = 9;
	assert_int_equal(pub_rrdp_notification(&b, SID, 12, &snap, d, 3, NULL,
	    &err), -1);
	assert_true(pubtest_err_has(&err, "contiguous"));
	d[1].serial = 11;
	assert_int_equal(pub_rrdp_notification(&b, SID, 2, &snap, d, 3, NULL,
	    &err), -1);
	/* RFC 9674: another origin */
	assert_int_equal(pub_rrdp_notification(&b, SID, 12, &snap, d, 3,
	    "https://other.example/notification.xml", &err), -1);
	assert_true(pubtest_err_has(&err, "RFC 9674"));
	assert_int_equal(pub_rrdp_notification(&b, SID, 12, &snap, d, 3,
	    "https://rrdp.example:8443/notification.xml", &err), -1);
	assert_int_equal(pub_rrdp_notification(&b, SID, 12, &snap, d, 3,
	    "https://RRDP.example:443/n.xml", &err), 0);
	cm_buf_free(&b);
}

static void
test_file_uri(void **state)
{
	char		a[256], b[256], rnd[33];
	struct cm_err	err;
	const char	*pre = "https://rrdp.example/x/" SID "/42/";

	assert_int_equal(pub_rrdp_file_uri("https://rrdp.example/x", SID, 42,
	    PUB_RRDP_SNAPSHOT, a, sizeof(a), &err), 0);
	assert_int_equal(pub_rrdp_file_uri("https://rrdp.example/x/", SID, 42,
	    PUB_RRDP_SNAPSHOT, b, sizeof(b), &err), 0);
	assert_int_equal(strncmp(a, pre, strlen(pre)), 0);
	assert_int_equal(strncmp(b, pre, strlen(pre)), 0);
	assert_int_equal(strlen(a), strlen(pre) + 32 + strlen("/snapshot.xml"));
	assert_string_equal(a + strlen(pre) + 32, "/snapshot.xml");
	memcpy(rnd, a + strlen(pre), 32);
	rnd[32] = '\0';
	assert_int_equal(strspn(rnd, "0123456789abcdef"), 32);
	assert_string_not_equal(a, b);	/* unpredictable */
	assert_int_equal(pub_rrdp_file_uri("https://rrdp.example/x", SID, 42,
	    PUB_RRDP_DELTA, a, sizeof(a), &err), 0);
	assert_string_equal(a + strlen(a) - 10, "/delta.xml");
	assert_int_equal(pub_rrdp_file_uri("http://rrdp.example/x", SID, 42,
	    PUB_RRDP_DELTA, a, sizeof(a), &err), -1);
	assert_int_equal(pub_rrdp_file_uri("https://rrdp.example/x", SID, 42,
	    PUB_RRDP_DELTA, a, 40, &err), -1);
}

static void
test_deltas_fit(void **state)
{
	struct pub_rrdp_ref d[4];

	memset(d, 0, sizeof(d));
	d[0].size = 10, d[1].size = 20, d[2].size = 30, d[3].size = 1;
	assert_int_equal(pub_rrdp_deltas_fit(100, d, 4, 500), 4);
	assert_int_equal(pub_rrdp_deltas_fit(59, d, 4, 500), 2);
	assert_int_equal(pub_rrdp_deltas_fit(60, d, 4, 500), 3);
	assert_int_equal(pub_rrdp_deltas_fit(100, d, 4, 2), 2);
	assert_int_equal(pub_rrdp_deltas_fit(5, d, 4, 500), 0);
}

/*
 * The retention policy: the size rule always (RFC 8182), max_count only for
 * deltas older than min_history.
 */
static void
test_deltas_keep(void **state)
{
	struct pub_rrdp_ref	d[5];
	/* Newest first: ages 60 s, 1 h, 3 h 59 min, 4 h, 5 h. */
	int64_t			now = 100000, c[5] = { now - 60, now - 3600,
				    now - 4 * 3600 + 60, now - 4 * 3600,
				    now - 5 * 3600 };
	const int64_t		h4 = 4 * 3600;

	(void)state;
	memset(d, 0, sizeof(d));
	d[0].size = 50, d[1].size = 50, d[2].size = 50, d[3].size = 10;
	d[4].size = 10;
	/* Snapshot 100: the third young one (150 in all) does not fit. */
	assert_int_equal(pub_rrdp_deltas_keep(100, d, c, 5, 500, now, h4), 2);
	/* Exactly the snapshot's size fits. */
	assert_int_equal(pub_rrdp_deltas_keep(150, d, c, 5, 500, now, h4), 3);
	assert_int_equal(pub_rrdp_deltas_keep(165, d, c, 5, 500, now, h4), 4);
	assert_int_equal(pub_rrdp_deltas_keep(170, d, c, 5, 500, now, h4), 5);
	assert_int_equal(pub_rrdp_deltas_keep(49, d, c, 5, 500, now, 0), 0);
	/* max_count leaves out old deltas only: the 3 h 59 one stays. */
	assert_int_equal(pub_rrdp_deltas_keep(1000, d, c, 5, 2, now, h4), 3);
	assert_int_equal(pub_rrdp_deltas_keep(1000, d, c, 5, 2, now, 0), 2);
	assert_int_equal(pub_rrdp_deltas_keep(1000, d, c, 5, 0, now,
	    6 * 3600), 5);
	/* A long history does not beat the size rule. */
	assert_int_equal(pub_rrdp_deltas_keep(1, d, c, 5, 500, now,
	    6 * 3600), 0);
	assert_int_equal(pub_rrdp_deltas_keep(1, d, c, 0, 500, now, h4), 0);
}

static void
test_golden(void **state)
{
	struct pub_rrdp_doc	*doc;
	struct cm_err		 err;
	uint8_t			*x, h[32];
	size_t			 len;

	assert_non_null(x = pubtest_read("rrdp_snapshot.xml", &len));
	assert_int_equal(pub_rrdp_parse("rrdp_snapshot.xml", x, len,
	    PUB_RRDP_MAX_DOC, PUB_RRDP_SNAPSHOT, &doc, &err), 0);
	assert_int_equal(doc->serial, 2);
	assert_int_equal(doc->nelems, 2);
	assert_string_equal(doc->elems[1].uri,
	    "rsync://rpki.ripe.net/repo/apnic.cer");
	assert_int_equal(doc->elems[0].len, 8);
	assert_memory_equal(doc->elems[0].data, "example1", 8);
	pub_rrdp_doc_free(doc);
	free(x);

	assert_non_null(x = pubtest_read("rrdp_delta.xml", &len));
	assert_int_equal(pub_rrdp_parse("rrdp_delta.xml", x, len,
	    PUB_RRDP_MAX_DOC, PUB_RRDP_DELTA, &doc, &err), 0);
	assert_int_equal(doc->nelems, 2);
	cm_sha256("example1", 8, h);	/* uppercase hex accepted */
	assert_memory_equal(doc->elems[0].hash, h, 32);
	assert_memory_equal(doc->elems[0].data, "example3", 8);
	assert_true(doc->elems[1].withdraw);
	cm_sha256("example2", 8, h);
	assert_memory_equal(doc->elems[1].hash, h, 32);
	pub_rrdp_doc_free(doc);
	free(x);

	assert_non_null(x = pubtest_read("rrdp_notification.xml", &len));
	assert_int_equal(pub_rrdp_parse("rrdp_notification.xml", x, len,
	    PUB_RRDP_MAX_DOC, PUB_RRDP_NOTIFICATION, &doc, &err), 0);
	assert_int_equal(doc->serial, 3);
	assert_int_equal(doc->ndeltas, 2);
	assert_int_equal(doc->deltas[1].serial, 2);
	pub_rrdp_doc_free(doc);
	free(x);
}

/* Documents that must be refused, with a word of the expected error. */
static const struct bad {
	enum pub_rrdp_kind	 kind;
	const char		*xml;
	const char		*why;
} bad[] = {
#define SNAP(attrs, body) "<snapshot " attrs ">" body "</snapshot>"
#define OKA NS " version=\"1\" session_id=\"" SID "\" serial=\"1\""
#define PUB(u) "<publish uri=\"" u "\">ZXhhbXBsZTE=</publish>"
	{ PUB_RRDP_SNAPSHOT, SNAP("xmlns=\"http://www.ripe.net/rpki/rrdp2\""
	    " version=\"1\" session_id=\"" SID "\" serial=\"1\"", ""),
	    "namespace must be" },
	{ PUB_RRDP_SNAPSHOT, "<r:snapshot xmlns:r=\"http://www.ripe.net/rpki/"
	    "rrdp\" version=\"1\" session_id=\"" SID "\" serial=\"1\">"
	    "</r:snapshot>", "prefix" },
	{ PUB_RRDP_SNAPSHOT, SNAP("version=\"1\" session_id=\"" SID
	    "\" serial=\"1\"", ""), "namespace must be" },
	{ PUB_RRDP_SNAPSHOT, SNAP(NS " version=\"2\" session_id=\"" SID
	    "\" serial=\"1\"", ""), "version" },
	{ PUB_RRDP_SNAPSHOT, SNAP(NS " session_id=\"" SID "\" serial=\"1\"",
	    ""), "missing attribute version" },
	{ PUB_RRDP_SNAPSHOT, SNAP(NS " version=\"1\" session_id=\"not-a-uuid\""
	    " serial=\"1\"", ""), "v4 UUID" },
	{ PUB_RRDP_SNAPSHOT, SNAP(NS " version=\"1\" session_id=\"9df4b597-"
	    "af9e-1dca-bdda-719cce2c4e28\" serial=\"1\"", ""), "v4 UUID" },
	{ PUB_RRDP_SNAPSHOT, SNAP(NS " version=\"1\" session_id=\"" SID
	    "\" serial=\"0\"", ""), "positive integer" },
	{ PUB_RRDP_SNAPSHOT, SNAP(NS " version=\"1\" session_id=\"" SID
	    "\" serial=\"-1\"", ""), "positive integer" },
	{ PUB_RRDP_SNAPSHOT, SNAP(NS " version=\"1\" session_id=\"" SID
	    "\" serial=\"01\"", ""), "positive integer" },
	{ PUB_RRDP_SNAPSHOT, SNAP(NS " version=\"1\" session_id=\"" SID
	    "\" serial=\"1.5\"", ""), "positive integer" },
	{ PUB_RRDP_SNAPSHOT, SNAP(NS " version=\"1\" session_id=\"" SID
	    "\" serial=\"99999999999999999999\"", ""), "2^63" },
	{ PUB_RRDP_SNAPSHOT, SNAP(OKA " extra=\"x\"", ""),
	    "unknown attribute \"extra\"" },
	{ PUB_RRDP_SNAPSHOT, SNAP(OKA, "<foo/>"), "unexpected element <foo>" },
	{ PUB_RRDP_SNAPSHOT, SNAP(OKA, "<publish uri=\"rsync://a/b/c\" "
	    "size=\"3\">ZXhhbXBsZTE=</publish>"), "unknown attribute \"size\"" },
	{ PUB_RRDP_SNAPSHOT, SNAP(OKA, "<publish uri=\"rsync://a/b/c\">"
	    "ZXhhbXBsZTE</publish>"), "base64" },
	{ PUB_RRDP_SNAPSHOT, SNAP(OKA, "<publish uri=\"rsync://a/b/c\">"
	    "ZXhh!XBsZTE=</publish>"), "base64" },
	{ PUB_RRDP_SNAPSHOT, SNAP(OKA, "<publish uri=\"rsync://a/b/c\">"
	    "</publish>"), "without content" },
	{ PUB_RRDP_SNAPSHOT, SNAP(OKA, "<publish uri=\"rsync://a/b/c\" hash=\""
	    H64 "\">ZXhhbXBsZTE=</publish>"), "has no hash" },
	{ PUB_RRDP_SNAPSHOT, SNAP(OKA, "<withdraw uri=\"rsync://a/b/c\" hash=\""
	    H64 "\"/>"), "withdraw is not allowed" },
	{ PUB_RRDP_SNAPSHOT, SNAP(OKA, PUB("rsync://a/b/c") PUB("rsync://a/b/c")),
	    "appears twice" },
	{ PUB_RRDP_SNAPSHOT, SNAP(OKA, PUB("https://a/b/c")), "rsync://" },
	{ PUB_RRDP_SNAPSHOT, SNAP(OKA, PUB("rsync://a/b/&#10;c")),
	    "control character 0x0a" },
	{ PUB_RRDP_SNAPSHOT, SNAP(OKA, PUB("rsync://a/b/c") "text"),
	    "unexpected text" },
	{ PUB_RRDP_SNAPSHOT, SNAP(OKA, "<publish uri=\"rsync://a/b/c\">"
	    "<x/>ZXhhbXBsZTE=</publish>"), "only text" },
	{ PUB_RRDP_SNAPSHOT, SNAP(OKA, "<?pi x?>"), "unexpected node" },
	{ PUB_RRDP_SNAPSHOT, SNAP(OKA, "") "<x/>", "malformed XML" },
	{ PUB_RRDP_SNAPSHOT, "<snapshot " OKA ">", "malformed XML" },
	{ PUB_RRDP_SNAPSHOT, "", "malformed XML" },
	{ PUB_RRDP_DELTA, "<delta " OKA "></delta>", "without publish" },
	{ PUB_RRDP_DELTA, "<delta " OKA "><withdraw uri=\"rsync://a/b/c\"/>"
	    "</delta>", "withdraw without hash" },
	{ PUB_RRDP_DELTA, "<delta " OKA "><withdraw uri=\"rsync://a/b/c\" "
	    "hash=\"abcd\"/></delta>", "64 hex" },
	{ PUB_RRDP_DELTA, "<delta " OKA "><withdraw uri=\"rsync://a/b/c\" "
	    "hash=\"" H64 "\">ZXhh</withdraw></delta>", "withdraw has content" },
	{ PUB_RRDP_DELTA, "<delta " OKA "><publish uri=\"rsync://a/b/c\" hash=\""
	    "5fb1679e08674059b72e271d8902c11a127bb5301b055dc77fa03932ada56a5g\">"
	    "ZXhhbXBsZTE=</publish></delta>", "64 hex" },
#define NOTIF(body) "<notification " OKA ">" body "</notification>"
#define SNAPREF "<snapshot uri=\"https://r.example/s.xml\" hash=\"" H64 "\"/>"
#define DREF(s) "<delta serial=\"" s "\" uri=\"https://r.example/" s \
	".xml\" hash=\"" H64 "\"/>"
	{ PUB_RRDP_NOTIFICATION, NOTIF(""), "without a snapshot" },
	{ PUB_RRDP_NOTIFICATION, NOTIF(DREF("1") SNAPREF),
	    "unexpected element <delta>" },
	{ PUB_RRDP_NOTIFICATION, NOTIF(SNAPREF SNAPREF),
	    "unexpected element <snapshot>" },
	{ PUB_RRDP_NOTIFICATION, NOTIF("<snapshot uri=\"https://r.example/s\"/>"),
	    "missing attribute hash" },
	{ PUB_RRDP_NOTIFICATION, NOTIF("<snapshot uri=\"http://r.example/s\" "
	    "hash=\"" H64 "\"/>"), "https" },
	{ PUB_RRDP_NOTIFICATION, NOTIF(SNAPREF DREF("2")), "contiguous" },
	{ PUB_RRDP_NOTIFICATION, NOTIF(SNAPREF DREF("1") DREF("1")),
	    "contiguous" },
	{ PUB_RRDP_NOTIFICATION, NOTIF(SNAPREF "<delta serial=\"1\" "
	    "uri=\"https://other.example/1.xml\" hash=\"" H64 "\"/>"),
	    "RFC 9674" },
	{ PUB_RRDP_NOTIFICATION, NOTIF(SNAPREF "<delta uri=\"https://r.example/"
	    "1.xml\" hash=\"" H64 "\"/>"), "missing attribute serial" },
	/* hostile XML */
	{ PUB_RRDP_SNAPSHOT, "<!DOCTYPE snapshot SYSTEM \"http://evil.example/"
	    "x.dtd\">" SNAP(OKA, ""), "DOCTYPE" },
	{ PUB_RRDP_SNAPSHOT, "<!DOCTYPE snapshot [<!ENTITY x SYSTEM "
	    "\"file:///etc/passwd\">]>" SNAP(OKA, "<publish uri=\"rsync://a/b/"
	    "c\">&x;</publish>"), "DOCTYPE" },
	{ PUB_RRDP_SNAPSHOT, "<!DOCTYPE snapshot [<!ENTITY x \"ZXhhbXBsZTE=\">]>"
	    SNAP(OKA, "<publish uri=\"rsync://a/b/c\">&x;</publish>"),
	    "DOCTYPE" },
	{ PUB_RRDP_SNAPSHOT, SNAP(OKA, "<publish uri=\"rsync://a/b/c\">&x;"
	    "</publish>"), "malformed XML" },
	{ PUB_RRDP_SNAPSHOT, SNAP(OKA, "<xi:include xmlns:xi=\"http://www.w3"
	    ".org/2001/XInclude\" href=\"file:///etc/passwd\"/>"),
	    "unexpected element <include>" },
};

static void
test_strict(void **state)
{
	struct pub_rrdp_doc	*doc = NULL;
	struct cm_err		 err;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cm_err_clear(&err);
		if (pub_rrdp_parse("bad", (const uint8_t *)bad[i].xml,
		    strlen(bad[i].xml), PUB_RRDP_MAX_DOC, bad[i].kind, &doc,
		    &err) != -1) {
			fprintf(stderr, "accepted bad[%zu]: %s\n", i, bad[i].xml);
			fail();
		}
		assert_null(doc);
		if (!pubtest_err_has(&err, bad[i].why)) {
			fprintf(stderr, "bad[%zu]\n", i);
			fail();
		}
	}
}

static void
test_limits_and_laughs(void **state)
{
	struct pub_rrdp_doc	*doc;
	struct cm_err		 err;
	char			*x;
	const char		*ok = SNAP(OKA, PUB("rsync://a/b/c"));

	assert_non_null(x = pubtest_laughs("snapshot"));
	assert_int_equal(pub_rrdp_parse("laughs", (uint8_t *)x, strlen(x),
	    PUB_RRDP_MAX_DOC, PUB_RRDP_SNAPSHOT, &doc, &err), -1);
	assert_true(pubtest_err_has(&err, "DOCTYPE"));
	free(x);

	assert_int_equal(pub_rrdp_parse("big", (const uint8_t *)ok, strlen(ok),
	    strlen(ok) - 1, PUB_RRDP_SNAPSHOT, &doc, &err), -1);
	assert_int_equal(err.code, CM_ELIMIT);
	assert_int_equal(pub_rrdp_parse("fits", (const uint8_t *)ok, strlen(ok),
	    strlen(ok), PUB_RRDP_SNAPSHOT, &doc, &err), 0);
	pub_rrdp_doc_free(doc);
	/* comments and an XML declaration are fine */
	x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><!-- c -->"
	    SNAP(OKA, "<!-- c -->" PUB("rsync://a/b/c"));
	assert_int_equal(pub_rrdp_parse("decl", (const uint8_t *)x, strlen(x),
	    PUB_RRDP_MAX_DOC, PUB_RRDP_SNAPSHOT, &doc, &err), 0);
	assert_int_equal(doc->nelems, 1);
	pub_rrdp_doc_free(doc);
}

static void
test_escape(void **state)
{
	struct cm_buf	b = CM_BUF_INIT;
	struct cm_err	err;

	assert_int_equal(pub_xml_escape(&b, "a&b<c>d\"e'f\tg\nh\ri", &err), 0);
	assert_string_equal(cm_buf_cstr(&b),
	    "a&amp;b&lt;c&gt;d&quot;e&apos;f&#9;g&#10;h&#13;i");
	cm_buf_reset(&b);
	assert_int_equal(pub_xml_escape(&b, "caf\xc3\xa9 \xe2\x82\xac", &err), 0);
	assert_string_equal(cm_buf_cstr(&b), "caf\xc3\xa9 \xe2\x82\xac");
	assert_int_equal(pub_xml_escape(&b, "bad \xc3", &err), -1);
	assert_int_equal(pub_xml_escape(&b, "bad \xc0\xaf", &err), -1);
	assert_int_equal(pub_xml_escape(&b, "bad \xed\xa0\x80", &err), -1);
	assert_int_equal(pub_xml_escape(&b, "del \x7f", &err), 0);
	assert_int_equal(pub_xml_escape(&b, "bad \x1b", &err), -1);
	cm_buf_free(&b);
}

static void
test_uri_rules(void **state)
{
	struct cm_err	err;
	char		 longuri[PUB_URI_MAX + 16];
	const char	*base = "rsync://repo.example/repo/Bob/";

	assert_int_equal(pub_uri_check_object("rsync://repo.example/repo/Bob/"
	    "x.roa", base, &err), 0);
	assert_int_equal(pub_uri_check_object("rsync://repo.example/repo/Bob/"
	    "sub/x.roa", base, &err), 0);
	assert_int_equal(pub_uri_check_object("rsync://repo.example/repo/Alice/"
	    "x.roa", base, &err), -1);
	assert_int_equal(err.code, CM_EPERM);
	assert_int_equal(pub_uri_check_object("rsync://repo.example/repo/Bob/"
	    "../Alice/x.roa", base, &err), -1);
	assert_true(pubtest_err_has(&err, "\"..\""));
	assert_int_equal(pub_uri_check_object("rsync://repo.example/repo/Bob/"
	    "./x.roa", base, &err), -1);
	assert_int_equal(pub_uri_check_object("rsync://repo.example/repo/Bob//"
	    "x.roa", base, &err), -1);
	assert_int_equal(pub_uri_check_object("rsync://repo.example/repo/Bob/",
	    base, &err), -1);
	assert_int_equal(pub_uri_check_object("rsync://repo.example/repo/Bob/"
	    "x\n.roa", base, &err), -1);
	assert_true(pubtest_err_has(&err, "forbidden character 0x0a"));
	assert_int_equal(pub_uri_check_object("rsync://repo.example/repo/Bob/"
	    "x%2e.roa", NULL, &err), -1);
	assert_int_equal(pub_uri_check_object("rsync://repo.example/repo/Bob/"
	    "x y.roa", NULL, &err), -1);
	assert_int_equal(pub_uri_check_object("https://repo.example/repo/x.roa",
	    NULL, &err), -1);
	assert_int_equal(pub_uri_check_object("rsync://host/x.roa", NULL, &err),
	    -1);
	memset(longuri, 'a', sizeof(longuri));
	memcpy(longuri, "rsync://h/m/", 12);
	longuri[sizeof(longuri) - 1] = '\0';
	assert_int_equal(pub_uri_check_object(longuri, NULL, &err), -1);
	assert_true(pubtest_err_has(&err, "longer than"));

	assert_int_equal(pub_uri_check_base(base, &err), 0);
	assert_int_equal(pub_uri_check_base("rsync://repo.example/repo", &err),
	    -1);
	assert_int_equal(pub_uri_check_base("rsync://repo.example/", &err), -1);
	assert_int_equal(pub_uri_check_https("https://a.example/x", &err), 0);
	assert_int_equal(pub_uri_check_https("https:///x", &err), -1);
	assert_true(pub_uri_same_origin("https://a.example/x",
	    "https://A.EXAMPLE:443/y"));
	assert_false(pub_uri_same_origin("https://a.example/x",
	    "http://a.example/x"));
	assert_false(pub_uri_same_origin("https://a.example/x",
	    "https://a.example.evil/x"));
	assert_false(pub_uri_same_origin("https://a.example@b.example/x",
	    "https://a.example/x"));
	assert_true(pub_uri_same_origin("https://[2001:db8::1]:443/x",
	    "https://[2001:db8::1]/y"));
}

/* Streaming parse: callbacks, abort, chunk boundaries, attribute escapes. */
struct counter {
	size_t	n, bytes;
	int	abort_at;
	char	first_uri[128];
};

static int
count_elem(void *arg, struct pub_rrdp_elem *e, struct cm_err *err)
{
	struct counter *c = arg;

	if (c->n == 0)
		snprintf(c->first_uri, sizeof(c->first_uri), "%s", e->uri);
	c->n++;
	c->bytes += e->len;
	if (c->abort_at > 0 && c->n == (size_t)c->abort_at)
		return cm_err_set(err, CM_ELIMIT, e->uri, "enough");
	return 0;
}

static void
test_stream(void **state)
{
	struct pub_rrdp_handler	 h = { NULL, NULL, count_elem };
	struct pub_rrdp_writer	 w;
	struct counter		 c;
	struct cm_buf		 b = CM_BUF_INIT;
	struct cm_err		 err;
	uint8_t			 obj[2048];
	char			 u[64];
	const size_t		 n = 4000;	/* ~11 MB: several parse chunks */
	const char		*x;

	memset(obj, 0x5a, sizeof(obj));
	assert_int_equal(pub_rrdp_begin(&w, &b, PUB_RRDP_SNAPSHOT, SID, 1,
	    &err), 0);
	for (size_t i = 0; i < n; i++) {
		snprintf(u, sizeof(u), "rsync://r.example/repo/%zu.roa", i);
		assert_int_equal(pub_rrdp_write_publish(&w, u, NULL, obj,
		    sizeof(obj), &err), 0);
	}
	assert_int_equal(pub_rrdp_end(&w, &err), 0);
	assert_true(b.len > 8 * 1024 * 1024);
	memset(&c, 0, sizeof(c));
	assert_int_equal(pub_rrdp_parse_stream("big", b.data, b.len,
	    PUB_RRDP_SNAPSHOT, &h, &c, &err), 0);
	assert_int_equal(c.n, n);
	assert_int_equal(c.bytes, n * sizeof(obj));
	assert_string_equal(c.first_uri, "rsync://r.example/repo/0.roa");
	/* a callback error ends the parse with its message */
	memset(&c, 0, sizeof(c));
	c.abort_at = 10;
	assert_int_equal(pub_rrdp_parse_stream("big", b.data, b.len,
	    PUB_RRDP_SNAPSHOT, &h, &c, &err), -1);
	assert_int_equal(c.n, 10);
	assert_int_equal(err.code, CM_ELIMIT);
	assert_true(pubtest_err_has(&err, "enough"));
	/* a duplicate is only known at the end: the call fails */
	cm_buf_reset(&b);
	assert_int_equal(pub_rrdp_begin(&w, &b, PUB_RRDP_SNAPSHOT, SID, 1,
	    &err), 0);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(pub_rrdp_write_publish(&w, i == 2 ? uris[0] :
		    uris[i], NULL, obj, 200, &err), 0);
	assert_int_equal(pub_rrdp_end(&w, &err), 0);
	memset(&c, 0, sizeof(c));
	assert_int_equal(pub_rrdp_parse_stream("dup", b.data, b.len,
	    PUB_RRDP_SNAPSHOT, &h, &c, &err), -1);
	assert_int_equal(c.n, 3);
	assert_true(pubtest_err_has(&err, "element #1 appears twice (again at "
	    "#3)"));
	/* every way of writing '&', '<' and '"' in an attribute */
	x = SNAP(OKA, "<publish uri=\"rsync://a/b/x&amp;y&#38;z&#x26;&lt;&#60;"
	    "&quot;\">ZXhhbXBsZTE=</publish>");
	memset(&c, 0, sizeof(c));
	assert_int_equal(pub_rrdp_parse_stream("esc", (const uint8_t *)x,
	    strlen(x), PUB_RRDP_SNAPSHOT, &h, &c, &err), 0);
	assert_string_equal(c.first_uri, "rsync://a/b/x&y&z&<<\"");
	/* a NULL handler only validates */
	assert_int_equal(pub_rrdp_parse_stream("esc", (const uint8_t *)x,
	    strlen(x), PUB_RRDP_SNAPSHOT, NULL, NULL, &err), 0);
	cm_buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uuid),
		cmocka_unit_test(test_snapshot_roundtrip),
		cmocka_unit_test(test_delta_roundtrip),
		cmocka_unit_test(test_writer_rules),
		cmocka_unit_test(test_notification),
		cmocka_unit_test(test_file_uri),
		cmocka_unit_test(test_deltas_fit),
		cmocka_unit_test(test_deltas_keep),
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_strict),
		cmocka_unit_test(test_limits_and_laughs),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_uri_rules),
		cmocka_unit_test(test_stream),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
