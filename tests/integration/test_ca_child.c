/*
 * The child side of RFC 6492 against the parent side, engine to engine:
 * two engines on two databases of one embedded cluster, each with its own
 * signer, and a transport that hands the child's CMS message to the
 * parent's ca_eng_updown_cms() (or, to test the checks, replays an old
 * reply).  A simulated clock moves one second per message, as a network
 * would.
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
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "ca/bpki.h"
#include "ca/cms_msg.h"
#include "ca/engine.h"
#include "ca/roa.h"
#include "ca/updown.h"
#include "common/cm_file.h"
#include "db_testutil.h"

#define BASE	"rsync://127.0.0.1:8873/repo/"
#define URI	"http://parent.test/api/v1/updown/rir"

enum tp_mode { TP_PASS, TP_REPLAY, TP_TWO };

struct tp {
	struct ca_eng	*parent, *child;
	struct hsm	*phsm;		/* the parent's signer (TP_TWO) */
	int		 drop_second;	/* TP_TWO: list class "second" or not */
	int		 refuse_second;	/* TP_TWO: refuse issue in "second" */
	const char	*second;	/* TP_TWO: its name; NULL: "second" */
	struct cm_clock	*clock;
	enum tp_mode	 mode;
	uint8_t		*last;
	size_t		 lastlen;
	int		 calls;
};

struct fx {
	struct dbt		 t;
	struct db		*pdb, *cdb;
	struct hsm		*phsm, *chsm;
	struct hsm_pool		*pool;
	struct cm_clock		 clock;
	struct ca_eng_conf	 conf;
	struct ca_eng		*p, *c;
	struct tp		 tp;
};

/*
 * A parent with two resource classes, made with the codec out of two CAs
 * of the parent engine: class "default" is what rir entitles the child to,
 * class "second" what rir2 does (its "default", renamed).  The child talks
 * to rir only; requests for "second" are answered by rir2 and the answers
 * signed again with rir's identity.  With drop_second the list leaves
 * "second" out, as a parent whose own resources from that source ended.
 */
static int
sign_as_rir(struct tp *t, const struct ca_ud_msg *m, uint8_t **out,
    size_t *outlen, struct cm_err *err)
{
	struct cm_buf	 xml = CM_BUF_INIT;
	struct hsm_key	*key = NULL;
	EVP_PKEY	*ee = NULL;
	X509		*ta = NULL;
	uint8_t		*der = NULL;
	const uint8_t	*q;
	size_t		 dl;
	char		 kid[HSM_KEY_ID_LEN + 1];
	int		 rc = -1;

	if (ca_ud_write(m, &xml, err) == -1 ||
	    ca_eng_bpki(t->parent, "rir", &der, &dl, kid, err) == -1 ||
	    hsm_key_find(t->phsm, kid, &key, err) == -1)
		goto out;
	q = der;
	assert_non_null(ta = d2i_X509(NULL, &q, (long)dl));
	assert_non_null(ee = EVP_RSA_gen(2048));
	cm_clock_advance(t->clock, 1);
	rc = ca_bpki_sign(ta, key, ee, xml.data, xml.len,
	    (time_t)cm_clock_now(t->clock), out, outlen, err);
out:
	cm_buf_free(&xml);
	hsm_key_free(key);
	EVP_PKEY_free(ee);
	X509_free(ta);
	free(der);
	return rc;
}

/* Renames class from into to in m (request or response). */
static void
rename_class(struct ca_ud_msg *m, const char *from, const char *to)
{
	size_t i;

	if (m->class_name != NULL && strcmp(m->class_name, from) == 0) {
		free(m->class_name);
		assert_non_null(m->class_name = strdup(to));
	}
	for (i = 0; i < m->nclasses; i++)
		if (strcmp(m->classes[i].class_name, from) == 0) {
			free(m->classes[i].class_name);
			assert_non_null(m->classes[i].class_name = strdup(to));
		}
}

static const char *
second(const struct tp *t)
{
	return t->second != NULL ? t->second : "second";
}

/* q answered by rir2 in its class "default", shown as class "second". */
static int
ask_rir2(struct tp *t, struct ca_ud_msg *q, struct ca_ud_msg **resp,
    struct cm_err *err)
{
	int rc;

	rename_class(q, second(t), "default");
	free(q->recipient);
	assert_non_null(q->recipient = strdup("rir2"));
	rc = ca_eng_updown(t->parent, "rir2", q, resp, err);
	if (rc == 0) {
		rename_class(*resp, "default", second(t));
		free((*resp)->sender);
		assert_non_null((*resp)->sender = strdup("rir"));
	}
	return rc;
}

static int
two_classes(struct tp *t, const uint8_t *msg, size_t len, uint8_t **reply,
    size_t *replylen, struct cm_err *err)
{
	struct ca_cms_msg	 m;
	struct ca_ud_error	 ue;
	struct ca_ud_msg	*q = NULL, *a = NULL, *b = NULL;
	struct ca_ud_class	*cl;
	uint8_t			*der = NULL;
	const uint8_t		*p;
	size_t			 dl;
	X509			*cta = NULL;
	int			 rc = -1;

	memset(&m, 0, sizeof(m));
	cm_clock_advance(t->clock, 1);
	if (ca_eng_bpki(t->child, "duo", &der, &dl, NULL, err) == -1)
		goto out;
	p = der;
	assert_non_null(cta = d2i_X509(NULL, &p, (long)dl));
	if (ca_cms_msg_verify("duo", msg, len, cta,
	    (time_t)cm_clock_now(t->clock), &m, err) == -1)
		goto out;
	if (ca_ud_parse("duo", m.xml, m.xml_len, &q, &ue) == -1) {
		*err = ue.err;
		goto out;
	}
	if (q->type == CA_UD_ISSUE && t->refuse_second &&
	    strcmp(q->class_name, second(t)) == 0) {
		assert_non_null(a = calloc(1, sizeof(*a)));
		a->type = CA_UD_ERROR_RESPONSE;
		a->status = CA_UD_E_INTERNAL;
		assert_non_null(a->sender = strdup("rir"));
		assert_non_null(a->recipient = strdup("duo"));
	} else if (q->type != CA_UD_LIST &&
	    strcmp(q->class_name, second(t)) == 0) {
		if (ask_rir2(t, q, &a, err) == -1)
			goto out;
	} else if (ca_eng_updown(t->parent, "rir", q, &a, err) == -1)
		goto out;
	if (q->type == CA_UD_LIST && !t->drop_second) {
		if (ask_rir2(t, q, &b, err) == -1)
			goto out;
		assert_int_equal(b->nclasses, 1);
		cl = reallocarray(a->classes, a->nclasses + 1, sizeof(*cl));
		assert_non_null(cl);
		a->classes = cl;
		a->classes[a->nclasses++] = b->classes[0];
		b->nclasses = 0;	/* moved */
	}
	rc = sign_as_rir(t, a, reply, replylen, err);
out:
	X509_free(cta);
	free(der);
	ca_cms_msg_free(&m);
	ca_ud_free(q);
	ca_ud_free(a);
	ca_ud_free(b);
	return rc;
}

static int
post(void *arg, const char *uri, const uint8_t *msg, size_t len,
    uint8_t **reply, size_t *replylen, struct cm_err *err)
{
	struct tp *t = arg;

	t->calls++;
	if (strcmp(uri, URI) != 0)
		return cm_err_set(err, CM_EIO, uri, "unexpected URI");
	if (t->mode == TP_TWO)
		return two_classes(t, msg, len, reply, replylen, err);
	if (t->mode == TP_REPLAY && t->last != NULL) {
		if ((*reply = malloc(t->lastlen)) == NULL)
			return cm_err_set(err, CM_ENOMEM, uri, "out of memory");
		memcpy(*reply, t->last, t->lastlen);
		*replylen = t->lastlen;
		return 0;
	}
	cm_clock_advance(t->clock, 1);
	if (ca_eng_updown_cms(t->parent, "rir", msg, len, reply, replylen,
	    err) == -1)
		return -1;
	cm_clock_advance(t->clock, 1);
	free(t->last);
	if ((t->last = malloc(*replylen)) != NULL) {
		memcpy(t->last, *reply, *replylen);
		t->lastlen = *replylen;
	}
	return 0;
}

static struct ca_res *
res_of(const char *as, const char *v4, const char *v6)
{
	struct ca_res	*r = ca_res_new();
	struct cm_err	 err;

	assert_non_null(r);
	assert_int_equal(ca_res_parse(r, CA_RES_AS, as, "test", &err), 0);
	assert_int_equal(ca_res_parse(r, CA_RES_V4, v4, "test", &err), 0);
	assert_int_equal(ca_res_parse(r, CA_RES_V6, v6, "test", &err), 0);
	return r;
}

static void
ok(int rc, const struct cm_err *err)
{
	if (rc < 0)
		fail_msg("%s", err->msg);
}

/* The single text value of sql on db. */
static char *
value(struct db *db, const char *sql)
{
	struct db_res	*r = NULL;
	struct cm_err	 err;
	char		*v;

	if (db_exec(db, sql, NULL, &r, &err) == -1)
		fail_msg("%s: %s", sql, err.msg);
	assert_int_equal(db_res_rows(r), 1);
	v = strdup(db_res_isnull(r, 0, 0) ? "" : db_res_text(r, 0, 0));
	db_res_free(r);
	return v;
}

static void
expect(struct db *db, const char *sql, const char *want)
{
	char *v = value(db, sql);

	if (strcmp(v, want) != 0)
		fail_msg("%s: \"%s\", not \"%s\"", sql, v, want);
	free(v);
}

#define KID_RES	"SELECT asn || ' ' || ipv4 || ' ' || ipv6 FROM ca_resources " \
		"r JOIN ca c ON c.id = r.ca_id WHERE c.handle = 'kid'"
#define KID_KEY	"SELECT coalesce(max(k.id), '') FROM ca_key k JOIN ca c ON " \
		"c.id = k.ca_id WHERE c.handle = 'kid' AND k.state = 'active'"
#define KID_OBJ(kind) "SELECT count(*) FROM issued_object o JOIN ca c ON " \
		"c.id = o.ca_id WHERE c.handle = 'kid' AND o.withdrawn_at IS " \
		"NULL AND o.kind = '" kind "'"
#define PARENT_CERTS "SELECT count(*) FROM issued_object WHERE subject " \
		"LIKE 'child kid %' AND withdrawn_at IS NULL"

static int
setup(void **state)
{
	struct fx	*f = calloc(1, sizeof(*f));
	struct cm_err	 err;
	struct ca_res	*r;
	char		 dsn[2 * 4096 + 32];

	if (f == NULL || dbt_start(&f->t, &err) == -1 ||
	    (f->pdb = db_open(f->t.dsn, 5, &err)) == NULL ||
	    db_migrate(f->pdb, &err) < 0 ||
	    db_exec(f->pdb, "CREATE DATABASE child", NULL, NULL, &err) == -1) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	/* The child's own database: later conninfo keywords win. */
	snprintf(dsn, sizeof(dsn), "%s dbname=child", f->t.dsn);
	if ((f->cdb = db_open(dsn, 5, &err)) == NULL ||
	    db_migrate(f->cdb, &err) < 0 ||
	    (f->pool = hsm_pool_new(16, 2, &err)) == NULL) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	f->phsm = hsm_open_mem();
	f->chsm = hsm_open_mem();
	/*
	 * Exported for relying parties (export_repo()): an hour behind the
	 * wall clock, so that nothing is signed in their future.
	 */
	cm_clock_set(&f->clock, getenv("CAIRN_CHILD_EXPORT") != NULL ?
	    (int64_t)time(NULL) - 3600 : 1800000000);
	ca_eng_conf_defaults(&f->conf);
	f->conf.rsync_base = BASE;
	if ((f->p = ca_eng_new(&f->conf, f->pdb, f->phsm, f->pool, &f->clock,
	    &err)) == NULL ||
	    (f->c = ca_eng_new(&f->conf, f->cdb, f->chsm, f->pool, &f->clock,
	    &err)) == NULL) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	f->tp.parent = f->p;
	f->tp.child = f->c;
	f->tp.phsm = f->phsm;
	f->tp.clock = &f->clock;
	ca_eng_set_transport(f->c, post, &f->tp);
	r = res_of("0-4294967295", "0.0.0.0/0", "::/0");
	ok(ca_eng_ta_create(f->p, "ta", r, "test", &err), &err);
	ca_res_free(r);
	r = res_of("64496-64511", "10.0.0.0/8", "2001:db8::/32");
	ok(ca_eng_ca_create(f->p, "rir", "ta", r, "test", &err), &err);
	ca_res_free(r);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	ca_eng_free(f->p);
	ca_eng_free(f->c);
	hsm_pool_free(f->pool);
	hsm_close(f->phsm);
	hsm_close(f->chsm);
	db_close(f->pdb);
	db_close(f->cdb);
	dbt_stop(&f->t);
	free(f->tp.last);
	free(f);
	return 0;
}

/* RFC 8183 by hand: the identities each side would put in its XML. */
static void
test_register(void **state)
{
	struct fx	*f = *state;
	struct cm_err	 err;
	struct ca_res	*ent;
	uint8_t		*cta = NULL, *pta = NULL;
	size_t		 clen, plen;

	ok(ca_eng_remote_create(f->c, "kid", "test", &err), &err);
	ok(ca_eng_remote_create(f->c, "kid", "test", &err), &err);
	assert_int_equal(ca_eng_remote_create(f->p, "rir", "test", &err), -1);
	assert_int_equal(err.code, CM_EEXIST);
	assert_int_equal(ca_eng_parent_sync(f->c, "kid", "test", &err), -1);
	assert_int_equal(err.code, CM_ENOTFOUND);
	ok(ca_eng_bpki(f->c, "kid", &cta, &clen, NULL, &err), &err);
	ok(ca_eng_bpki(f->p, "rir", &pta, &plen, NULL, &err), &err);
	/* An entitlement beyond the parent's is refused. */
	ent = res_of("65000", "", "");
	assert_int_equal(ca_eng_child_add(f->p, "rir", "kid", ent, cta, clen,
	    "test", &err), -1);
	ca_res_free(ent);
	ent = res_of("64500-64501", "10.5.0.0/16", "2001:db8:5::/48");
	ok(ca_eng_child_add(f->p, "rir", "kid", ent, cta, clen, "test", &err),
	    &err);
	ca_res_free(ent);
	assert_int_equal(ca_eng_parent_set(f->c, "kid", "rir", "kid",
	    "ftp://x/", pta, plen, "test", &err), -1);
	assert_int_equal(ca_eng_parent_set(f->c, "kid", "rir", "kid", URI, pta,
	    plen - 1, "test", &err), -1);
	ok(ca_eng_parent_set(f->c, "kid", "rir", "kid", URI, pta, plen, "test",
	    &err), &err);
	free(cta);
	free(pta);
}

static void
test_first_certificate(void **state)
{
	struct fx		*f = *state;
	struct cm_err		 err;
	struct ca_plan_roa_cfg	 roa;
	int			 rc;

	rc = ca_eng_parent_sync(f->c, "kid", "test", &err);
	ok(rc, &err);
	assert_int_equal(rc, 1);
	expect(f->cdb, KID_RES, "64500-64501 10.5.0.0/16 2001:db8:5::/48");
	expect(f->cdb, KID_OBJ("crl"), "1");
	expect(f->cdb, KID_OBJ("mft"), "1");
	expect(f->pdb, PARENT_CERTS, "1");
	expect(f->cdb, "SELECT count(*) FROM ca_parent WHERE last_error IS NULL "
	    "AND last_sync IS NOT NULL AND class = 'default'", "1");
	/* Nothing changed: nothing is asked but list. */
	f->tp.calls = 0;
	rc = ca_eng_parent_sync(f->c, "kid", "test", &err);
	ok(rc, &err);
	assert_int_equal(rc, 0);
	assert_int_equal(f->tp.calls, 1);
	/* The CA issues like a hosted one (the internal validator checks). */
	memset(&roa, 0, sizeof(roa));
	roa.asn = 64501;
	assert_int_equal(ca_roa_prefix_parse("10.5.128.0/17", &roa.prefix, &err),
	    0);
	ok(ca_eng_roa_update(f->c, "kid", &roa, 1, NULL, 0, "test", &err), &err);
	expect(f->cdb, KID_OBJ("roa"), "1");
}

static void
test_shrink_and_grow(void **state)
{
	struct fx	*f = *state;
	struct cm_err	 err;
	struct ca_res	*ent;
	char		*key;
	int		 rc;

	key = value(f->cdb, KID_KEY);
	/* The parent re-issues at once; the child installs what it lists. */
	ent = res_of("64500-64501", "10.5.0.0/17", "2001:db8:5::/48");
	rc = ca_eng_child_set_resources(f->p, "rir", "kid", ent, "test", &err);
	ok(rc, &err);
	assert_int_equal(rc, 1);
	ca_res_free(ent);
	rc = ca_eng_parent_sync(f->c, "kid", "test", &err);
	ok(rc, &err);
	assert_int_equal(rc, 1);
	expect(f->cdb, KID_RES, "64500-64501 10.5.0.0/17 2001:db8:5::/48");
	expect(f->cdb, KID_OBJ("roa"), "0");	/* 10.5.128.0/17 fell out */
	/* Growth: the child asks again, for the same key. */
	ent = res_of("64500-64501", "10.5.0.0/16,10.6.0.0/16",
	    "2001:db8:5::/48");
	ok(ca_eng_child_set_resources(f->p, "rir", "kid", ent, "test", &err),
	    &err);
	ca_res_free(ent);
	rc = ca_eng_parent_sync(f->c, "kid", "test", &err);
	ok(rc, &err);
	assert_int_equal(rc, 1);
	expect(f->cdb, KID_RES,
	    "64500-64501 10.5.0.0-10.6.255.255 2001:db8:5::/48");
	expect(f->cdb, KID_OBJ("roa"), "1");	/* back in */
	expect(f->cdb, KID_KEY, key);
	expect(f->pdb, PARENT_CERTS, "1");
	free(key);
}

static void
test_revoked_by_parent(void **state)
{
	struct fx	*f = *state;
	struct cm_err	 err;
	struct ca_res	*ent;
	uint8_t		*cta = NULL;
	size_t		 clen;
	char		*key;
	int		 rc;

	key = value(f->cdb, KID_KEY);
	/* Removed and registered again: the parent lists no certificate. */
	ok(ca_eng_child_remove(f->p, "rir", "kid", "test", &err), &err);
	expect(f->pdb, PARENT_CERTS, "0");
	assert_int_equal(ca_eng_child_remove(f->p, "rir", "kid", "test", &err),
	    -1);
	assert_int_equal(err.code, CM_ENOTFOUND);
	ok(ca_eng_bpki(f->c, "kid", &cta, &clen, NULL, &err), &err);
	ent = res_of("64500-64501", "10.5.0.0/16", "2001:db8:5::/48");
	ok(ca_eng_child_add(f->p, "rir", "kid", ent, cta, clen, "test", &err),
	    &err);
	ca_res_free(ent);
	free(cta);
	/* Revived with the same identity: its replay mark was kept. */
	expect(f->pdb, "SELECT count(*) FROM ca_child WHERE handle = 'kid' AND "
	    "deleted_at IS NULL AND last_signing_time IS NOT NULL", "1");
	rc = ca_eng_parent_sync(f->c, "kid", "test", &err);
	ok(rc, &err);
	assert_int_equal(rc, 1);
	expect(f->pdb, PARENT_CERTS, "1");
	expect(f->cdb, KID_KEY, key);		/* the same key, certified again */
	free(key);
}

static void
test_entitlement_gone(void **state)
{
	struct fx	*f = *state;
	struct cm_err	 err;
	struct ca_res	*ent;
	char		*key, *key2;
	int		 rc;

	key = value(f->cdb, KID_KEY);
	ent = ca_res_new();
	ok(ca_eng_child_set_resources(f->p, "rir", "kid", ent, "test", &err),
	    &err);
	ca_res_free(ent);
	expect(f->pdb, PARENT_CERTS, "0");
	rc = ca_eng_parent_sync(f->c, "kid", "test", &err);
	ok(rc, &err);
	assert_int_equal(rc, 1);
	expect(f->cdb, KID_KEY, "");
	expect(f->cdb, "SELECT count(*) FROM issued_object o JOIN ca c ON c.id "
	    "= o.ca_id WHERE c.handle = 'kid' AND o.withdrawn_at IS NULL", "0");
	expect(f->cdb, KID_RES, "  ");
	/* Entitled again: a new key. */
	ent = res_of("64500", "10.5.0.0/16", "");
	ok(ca_eng_child_set_resources(f->p, "rir", "kid", ent, "test", &err),
	    &err);
	ca_res_free(ent);
	rc = ca_eng_parent_sync(f->c, "kid", "test", &err);
	ok(rc, &err);
	assert_int_equal(rc, 1);
	key2 = value(f->cdb, KID_KEY);
	assert_int_equal(strlen(key2), 40);
	assert_string_not_equal(key, key2);
	expect(f->cdb, KID_RES, "64500 10.5.0.0/16 ");
	free(key);
	free(key2);
}

static void
test_key_roll(void **state)
{
	struct fx	*f = *state;
	struct cm_err	 err;
	char		*key, *key2;

	key = value(f->cdb, KID_KEY);
	ok(ca_eng_keyroll_start(f->c, "kid", "test", &err), &err);
	expect(f->pdb, PARENT_CERTS, "2");
	ok(ca_eng_keyroll_activate(f->c, "kid", 1, "test", &err), &err);
	key2 = value(f->cdb, KID_KEY);
	assert_string_not_equal(key, key2);
	/* A round between activate and finish keeps the old certificate. */
	ok(ca_eng_parent_sync(f->c, "kid", "test", &err), &err);
	expect(f->pdb, PARENT_CERTS, "2");
	ok(ca_eng_keyroll_finish(f->c, "kid", "test", &err), &err);
	expect(f->pdb, PARENT_CERTS, "1");
	assert_int_equal(ca_eng_parent_sync(f->c, "kid", "test", &err), 0);
	free(key);
	free(key2);
}

/* The parent's own resources shrink: the child's entitlement follows. */
static void
test_parent_shrinks(void **state)
{
	struct fx	*f = *state;
	struct cm_err	 err;
	struct ca_res	*r;
	int		 rc;

	expect(f->pdb, "SELECT ipv4 FROM ca_child WHERE handle = 'kid'",
	    "10.5.0.0/16");
	r = res_of("64496-64511", "10.0.0.0-10.5.127.255,10.6.0.0-10.255.255.255",
	    "2001:db8::/32");
	rc = ca_eng_ca_set_resources(f->p, "rir", r, "test", &err);
	ok(rc, &err);
	assert_int_equal(rc, 1);
	ca_res_free(r);
	expect(f->pdb, "SELECT asn || ' ' || ipv4 FROM ca_child WHERE handle = "
	    "'kid'", "64500 10.5.0.0/17");
	expect(f->pdb, PARENT_CERTS, "1");
	rc = ca_eng_parent_sync(f->c, "kid", "test", &err);
	ok(rc, &err);
	assert_int_equal(rc, 1);
	expect(f->cdb, KID_RES, "64500 10.5.0.0/17 ");
}

static void
test_replay_refused(void **state)
{
	struct fx	*f = *state;
	struct cm_err	 err;
	uint8_t		*cta = NULL, *pta = NULL;
	size_t		 clen, plen;

	ok(ca_eng_parent_sync(f->c, "kid", "test", &err), &err);
	f->tp.mode = TP_REPLAY;
	assert_int_equal(ca_eng_parent_sync(f->c, "kid", "test", &err), -1);
	assert_int_equal(err.code, CM_EPERM);
	assert_non_null(strstr(err.msg, "replayed"));
	expect(f->cdb, "SELECT count(*) FROM ca_parent WHERE last_error LIKE "
	    "'%replayed%'", "1");
	f->tp.mode = TP_PASS;
	cm_clock_advance(&f->clock, 1);		/* no network moved it */
	/* A reply that the parent's identity did not sign is refused. */
	ok(ca_eng_bpki(f->c, "kid", &cta, &clen, NULL, &err), &err);
	ok(ca_eng_bpki(f->p, "rir", &pta, &plen, NULL, &err), &err);
	ok(ca_eng_parent_set(f->c, "kid", "rir", "kid", URI, cta, clen, "test",
	    &err), &err);
	assert_int_equal(ca_eng_parent_sync(f->c, "kid", "test", &err), -1);
	assert_int_equal(err.code, CM_EPERM);
	cm_clock_advance(&f->clock, 1);
	ok(ca_eng_parent_set(f->c, "kid", "rir", "kid", URI, pta, plen, "test",
	    &err), &err);
	ok(ca_eng_parent_sync(f->c, "kid", "test", &err), &err);
	expect(f->cdb, "SELECT count(*) FROM ca_parent WHERE last_error IS NULL",
	    "1");
	free(cta);
	free(pta);
}

#define DUO_KEYS(cls, state) "SELECT count(*) FROM ca_key k JOIN ca c ON " \
		"c.id = k.ca_id WHERE c.handle = 'duo' AND k.class = '" cls \
		"' AND k.state = '" state "'"
#define DUO_RES	"SELECT asn || ' ' || ipv4 || ' ' || ipv6 FROM ca_resources " \
		"r JOIN ca c ON c.id = r.ca_id WHERE c.handle = 'duo'"
/* Current objects of kind under the key of class cls. */
#define DUO_OBJ(cls, kind) "SELECT count(*) FROM issued_object o JOIN " \
		"ca_key k ON k.id = o.key_id JOIN ca c ON c.id = o.ca_id WHERE " \
		"c.handle = 'duo' AND k.class = '" cls "' AND o.withdrawn_at " \
		"IS NULL AND o.kind = '" kind "'"
#define DUO_CERTS(p) "SELECT count(*) FROM issued_object o JOIN ca c ON " \
		"c.id = o.ca_id WHERE c.handle = '" p "' AND o.subject LIKE " \
		"'child duo %' AND o.withdrawn_at IS NULL"

/* The current objects of db as files under dir (their URIs under BASE). */
static void
export_db(struct db *db, const char *dir)
{
	struct db_res	*r = NULL;
	struct cm_err	 err;
	const uint8_t	*d;
	size_t		 dl;
	char		 path[4096], *slash;
	int		 i, n;

	n = db_exec(db, "SELECT uri, der FROM issued_object WHERE withdrawn_at "
	    "IS NULL", NULL, &r, &err);
	ok(n, &err);
	for (i = 0; i < n; i++) {
		const char *uri = db_res_text(r, i, 0);

		assert_int_equal(strncmp(uri, BASE, strlen(BASE)), 0);
		snprintf(path, sizeof(path), "%s/%s", dir, uri + strlen(BASE));
		slash = strrchr(path, '/');
		*slash = '\0';
		ok(cm_mkdirs(path, 0755, &err), &err);
		*slash = '/';
		ok(db_res_bytea(r, i, 1, &d, &dl, &err), &err);
		ok(cm_file_write_atomic(path, d, dl, 0644, &err), &err);
	}
	db_res_free(r);
}

/*
 * With CAIRN_CHILD_EXPORT set (rp_child_classes.sh), the repository of both
 * engines goes there and the trust anchor's TAL to CAIRN_CHILD_TAL, for
 * relying parties to validate.
 */
static void
export_repo(struct fx *f)
{
	const char	*dir = getenv("CAIRN_CHILD_EXPORT");
	const char	*tal = getenv("CAIRN_CHILD_TAL");
	struct cm_err	 err;
	char		*text = NULL;

	if (dir == NULL)
		return;
	assert_non_null(tal);
	export_db(f->pdb, dir);
	export_db(f->cdb, dir);
	ok(ca_eng_tal(f->p, "ta", &text, &err), &err);
	ok(cm_file_write_atomic(tal, text, strlen(text), 0644, &err), &err);
	free(text);
}

static void
roa_cfg(struct ca_plan_roa_cfg *r, uint32_t asn, const char *pfx)
{
	struct cm_err err;

	memset(r, 0, sizeof(*r));
	r->asn = asn;
	ok(ca_roa_prefix_parse(pfx, &r->prefix, &err), &err);
}

/*
 * A parent that lists two resource classes: one key and one publication
 * point per class, ROAs and ASPAs under the class that holds them, a
 * class that goes away and comes back.
 */
static void
test_two_classes(void **state)
{
	struct fx		*f = *state;
	struct cm_err		 err;
	struct ca_res		*r;
	struct ca_plan_roa_cfg	 roa[3];
	struct ca_plan_aspa_cfg	 aspa;
	uint32_t		 prov = 64505;
	uint8_t			*cta = NULL, *pta = NULL;
	size_t			 clen, plen;
	char			*key2, *key2b;
	int			 rc;

	r = res_of("65000-65001", "10.9.0.0/16", "");
	ok(ca_eng_ca_create(f->p, "rir2", "ta", r, "test", &err), &err);
	ca_res_free(r);
	ok(ca_eng_remote_create(f->c, "duo", "test", &err), &err);
	ok(ca_eng_bpki(f->c, "duo", &cta, &clen, NULL, &err), &err);
	ok(ca_eng_bpki(f->p, "rir", &pta, &plen, NULL, &err), &err);
	r = res_of("64505", "10.8.0.0/16", "");
	ok(ca_eng_child_add(f->p, "rir", "duo", r, cta, clen, "test", &err),
	    &err);
	ca_res_free(r);
	r = res_of("65000", "10.9.0.0/16", "");
	ok(ca_eng_child_add(f->p, "rir2", "duo", r, cta, clen, "test", &err),
	    &err);
	ca_res_free(r);
	ok(ca_eng_parent_set(f->c, "duo", "rir", "duo", URI, pta, plen, "test",
	    &err), &err);
	free(cta);
	free(pta);

	/* Both classes certified, each with its own key and directory. */
	f->tp.mode = TP_TWO;
	rc = ca_eng_parent_sync(f->c, "duo", "test", &err);
	ok(rc, &err);
	assert_int_equal(rc, 1);
	expect(f->cdb, DUO_KEYS("default", "active"), "1");
	expect(f->cdb, DUO_KEYS("second", "active"), "1");
	expect(f->cdb, DUO_RES, "64505,65000 10.8.0.0/15 ");
	expect(f->cdb, "SELECT k.repo_uri FROM ca_key k JOIN ca c ON c.id = "
	    "k.ca_id WHERE c.handle = 'duo' AND k.class = 'second'",
	    BASE "duo/second/");
	expect(f->cdb, "SELECT count(*) FROM ca_key k JOIN ca c ON c.id = "
	    "k.ca_id WHERE c.handle = 'duo' AND k.class = 'default' AND "
	    "k.repo_uri IS NULL", "1");
	expect(f->cdb, "SELECT string_agg(class || ' ' || ipv4 || ' ' || pc."
	    "repo_uri, '; ' ORDER BY class) FROM ca_parent_class pc JOIN ca c "
	    "ON c.id = pc.ca_id WHERE c.handle = 'duo'",
	    "default 10.8.0.0/16 " BASE "duo/; second 10.9.0.0/16 " BASE
	    "duo/second/");
	expect(f->cdb, "SELECT ipv4 FROM ca_parent p JOIN ca c ON c.id = "
	    "p.ca_id WHERE c.handle = 'duo'", "10.8.0.0/15");
	expect(f->cdb, DUO_OBJ("default", "mft"), "1");
	expect(f->cdb, DUO_OBJ("second", "mft"), "1");
	expect(f->cdb, "SELECT count(*) FROM issued_object WHERE uri LIKE '"
	    BASE "duo/second/%.crl' AND withdrawn_at IS NULL", "1");
	expect(f->pdb, DUO_CERTS("rir"), "1");
	expect(f->pdb, DUO_CERTS("rir2"), "1");
	assert_true(ca_eng_check(f->c, &err) > 0);
	/* Nothing changed: the list only. */
	f->tp.calls = 0;
	rc = ca_eng_parent_sync(f->c, "duo", "test", &err);
	ok(rc, &err);
	assert_int_equal(rc, 0);
	assert_int_equal(f->tp.calls, 1);

	/*
	 * One AS with a prefix in each class: one ROA per class, each signed
	 * under the certificate that holds its prefix.  A prefix that spans
	 * both classes is held by neither certificate: refused.
	 */
	roa_cfg(&roa[0], 64505, "10.8.0.0/16");
	roa_cfg(&roa[1], 64505, "10.9.0.0/16-24");
	ok(ca_eng_roa_update(f->c, "duo", roa, 2, NULL, 0, "test", &err),
	    &err);
	expect(f->cdb, DUO_OBJ("default", "roa"), "1");
	expect(f->cdb, DUO_OBJ("second", "roa"), "1");
	roa_cfg(&roa[2], 64505, "10.8.0.0/15");
	assert_int_equal(ca_eng_roa_update(f->c, "duo", &roa[2], 1, NULL, 0,
	    "test", &err), -1);
	assert_int_equal(err.code, CM_EINVAL);
	assert_non_null(strstr(err.msg, "resource classes"));
	expect(f->cdb, "SELECT count(*) FROM roa_config r JOIN ca c ON c.id = "
	    "r.ca_id WHERE c.handle = 'duo'", "2");
	export_repo(f);
	/* The ASPA of AS65000, which only class "second" holds. */
	memset(&aspa, 0, sizeof(aspa));
	aspa.customer = 65000;
	aspa.providers = &prov;
	aspa.nproviders = 1;
	ok(ca_eng_aspa_set(f->c, "duo", &aspa, "test", &err), &err);
	expect(f->cdb, DUO_OBJ("second", "asa"), "1");
	expect(f->cdb, DUO_OBJ("default", "asa"), "0");
	assert_true(ca_eng_check(f->c, &err) > 0);
	/* The schedule keeps both classes' points current. */
	cm_clock_advance(&f->clock, 3 * 86400);
	ok(ca_eng_tick(f->c, 100, &err), &err);
	assert_true(ca_eng_check(f->c, &err) > 0);

	/* The class goes away: its point is withdrawn, its key retired. */
	key2 = value(f->cdb, "SELECT k.id FROM ca_key k JOIN ca c ON c.id = "
	    "k.ca_id WHERE c.handle = 'duo' AND k.class = 'second'");
	f->tp.drop_second = 1;
	rc = ca_eng_parent_sync(f->c, "duo", "test", &err);
	ok(rc, &err);
	assert_int_equal(rc, 1);
	expect(f->cdb, DUO_KEYS("second", "active"), "0");
	expect(f->cdb, DUO_KEYS("second", "revoked"), "1");
	expect(f->cdb, "SELECT count(*) FROM issued_object WHERE uri LIKE '"
	    BASE "duo/second/%' AND withdrawn_at IS NULL", "0");
	expect(f->cdb, DUO_OBJ("default", "roa"), "1");
	expect(f->cdb, DUO_RES, "64505 10.8.0.0/16 ");
	expect(f->cdb, "SELECT string_agg(class, ',') FROM ca_parent_class pc "
	    "JOIN ca c ON c.id = pc.ca_id WHERE c.handle = 'duo'", "default");
	assert_true(ca_eng_check(f->c, &err) > 0);

	/*
	 * Back again, but the parent refuses to certify in it for now: the
	 * other class is served all the same (its entitlement grew), and the
	 * round fails naming the class.
	 */
	f->tp.drop_second = 0;
	f->tp.refuse_second = 1;
	r = res_of("64505", "10.8.0.0/16,10.10.0.0/16", "");
	ok(ca_eng_child_set_resources(f->p, "rir", "duo", r, "test", &err),
	    &err);
	ca_res_free(r);
	assert_int_equal(ca_eng_parent_sync(f->c, "duo", "test", &err), -1);
	assert_non_null(strstr(err.msg, "class second"));
	expect(f->cdb, DUO_RES, "64505 10.8.0.0/16,10.10.0.0/16 ");
	expect(f->cdb, DUO_KEYS("second", "active"), "0");
	expect(f->cdb, "SELECT count(*) FROM ca_parent p JOIN ca c ON c.id = "
	    "p.ca_id WHERE c.handle = 'duo' AND p.last_error LIKE "
	    "'%class second%'", "1");
	/*
	 * Then a new key; the parent is asked to revoke the old one's
	 * certificate, which it still lists.
	 */
	f->tp.refuse_second = 0;
	rc = ca_eng_parent_sync(f->c, "duo", "test", &err);
	ok(rc, &err);
	assert_int_equal(rc, 1);
	key2b = value(f->cdb, "SELECT k.id FROM ca_key k JOIN ca c ON c.id = "
	    "k.ca_id WHERE c.handle = 'duo' AND k.class = 'second' AND "
	    "k.state = 'active'");
	assert_string_not_equal(key2, key2b);
	expect(f->pdb, DUO_CERTS("rir2"), "1");
	expect(f->cdb, DUO_OBJ("second", "roa"), "1");
	expect(f->cdb, DUO_OBJ("second", "asa"), "1");
	expect(f->cdb, DUO_RES, "64505,65000 10.8.0.0-10.10.255.255 ");
	assert_true(ca_eng_check(f->c, &err) > 0);
	f->tp.calls = 0;
	ok(ca_eng_parent_sync(f->c, "duo", "test", &err), &err);
	assert_int_equal(f->tp.calls, 1);

	/*
	 * The parent renames the class (one goes, another comes) to a name
	 * that is no file name: its directory is named after a hash.
	 */
	f->tp.second = "../up x";
	rc = ca_eng_parent_sync(f->c, "duo", "test", &err);
	ok(rc, &err);
	assert_int_equal(rc, 1);
	expect(f->cdb, DUO_KEYS("second", "active"), "0");
	expect(f->cdb, DUO_KEYS("../up x", "active"), "1");
	expect(f->cdb, "SELECT count(*) FROM ca_key k JOIN ca c ON c.id = "
	    "k.ca_id WHERE c.handle = 'duo' AND k.class = '../up x' AND "
	    "k.repo_uri ~ '^" BASE "duo/class-[0-9a-f]{16}/$'", "1");
	expect(f->cdb, "SELECT count(*) FROM issued_object WHERE uri LIKE "
	    "'%..%' OR uri LIKE '% %'", "0");
	expect(f->cdb, DUO_OBJ("../up x", "roa"), "1");
	assert_true(ca_eng_check(f->c, &err) > 0);

	/* A key roll rolls the first class's key; the other keeps its own. */
	free(key2);
	key2 = value(f->cdb, "SELECT string_agg(k.id, ' ' ORDER BY k.class <> 'default') "
	    "FROM ca_key k JOIN ca c ON c.id = k.ca_id WHERE c.handle = 'duo' "
	    "AND k.state = 'active'");
	ok(ca_eng_keyroll_start(f->c, "duo", "test", &err), &err);
	expect(f->cdb, DUO_KEYS("default", "pending"), "1");
	ok(ca_eng_keyroll_activate(f->c, "duo", 1, "test", &err), &err);
	ok(ca_eng_keyroll_finish(f->c, "duo", "test", &err), &err);
	free(key2b);
	key2b = value(f->cdb, "SELECT string_agg(k.id, ' ' ORDER BY k.class <> 'default') "
	    "FROM ca_key k JOIN ca c ON c.id = k.ca_id WHERE c.handle = 'duo' "
	    "AND k.state = 'active'");
	assert_int_equal(strlen(key2b), 81);
	assert_memory_not_equal(key2, key2b, 40);	/* "default" first */
	assert_memory_equal(key2 + 41, key2b + 41, 40);
	expect(f->cdb, DUO_OBJ("default", "roa"), "1");
	expect(f->cdb, DUO_OBJ("../up x", "roa"), "1");
	expect(f->pdb, DUO_CERTS("rir"), "1");
	assert_true(ca_eng_check(f->c, &err) > 0);
	f->tp.second = NULL;
	f->tp.mode = TP_PASS;
	free(key2);
	free(key2b);
}

/*
 * An offline parent (RFC 6492 in files, engine_offline.c): rir answers the
 * request files of "off" with ca_eng_offline_answer(), and off imports the
 * responses; nothing is ever posted.  The simulated clock ticks a second
 * every 20 ms meanwhile, as the wall clock would while each side waits
 * for the next signing second.
 */
struct ticker {
	struct cm_clock	*clock;
	_Atomic int	 stop;
};

static void *
tick_main(void *arg)
{
	struct ticker *t = arg;

	while (!t->stop) {
		cm_clock_advance(t->clock, 1);
		usleep(20000);
	}
	return NULL;
}

static void
offline_exchange(struct fx *f, struct ca_eng_offline_result *res)
{
	struct ca_eng_offline_result again;
	struct ticker	 t = { &f->clock, 0 };
	struct cm_err	 err;
	pthread_t	 th;
	char		*req = NULL, *resp = NULL;
	size_t		 rl, sl;
	int		 n;

	assert_int_equal(pthread_create(&th, NULL, tick_main, &t), 0);
	n = ca_eng_offline_request(f->c, "off", "test", &req, &rl, &err);
	if (n < 2)
		fail_msg("request: %d: %s", n, err.msg);
	ok(ca_eng_offline_answer(f->p, "rir", (uint8_t *)req, rl, "req.json",
	    "test", &resp, &sl, &err), &err);
	ok(ca_eng_offline_import(f->c, "off", (uint8_t *)resp, sl, "resp.json",
	    "test", res, &err), &err);
	/* The same response again is a replay. */
	assert_int_equal(ca_eng_offline_import(f->c, "off", (uint8_t *)resp,
	    sl, "resp.json", "test", &again, &err), -1);
	assert_int_equal(err.code, CM_EPERM);
	t.stop = 1;
	pthread_join(th, NULL);
	free(req);
	free(resp);
}

#define OFF_KEYS(state) "SELECT count(*) FROM ca_key k JOIN ca c ON c.id = " \
		"k.ca_id WHERE c.handle = 'off' AND k.state = '" state "'"

static void
test_offline(void **state)
{
	struct fx			*f = *state;
	struct ca_eng_offline_result	 res;
	struct cm_err			 err;
	struct ca_res			*ent;
	uint8_t				*cta = NULL, *pta = NULL;
	size_t				 clen, plen;
	int				 calls, i;

	ok(ca_eng_remote_create(f->c, "off", "test", &err), &err);
	ok(ca_eng_bpki(f->c, "off", &cta, &clen, NULL, &err), &err);
	ok(ca_eng_bpki(f->p, "rir", &pta, &plen, NULL, &err), &err);
	ent = res_of("64510", "10.7.0.0/16", "");
	ok(ca_eng_child_add(f->p, "rir", "off", ent, cta, clen, "test", &err),
	    &err);
	ca_res_free(ent);
	ok(ca_eng_parent_set(f->c, "off", "rir", "off",
	    "https://offline.invalid/updown/rir", pta, plen, "test", &err), &err);
	free(cta);
	free(pta);
	assert_int_equal(ca_eng_offline_request(f->c, "off", "test",
	    (char **)&cta, &clen, &err), -1);
	assert_int_equal(err.code, CM_ESTATE);
	ok(ca_eng_parent_offline(f->c, "off", 1, &err), &err);
	calls = f->tp.calls;
	assert_int_equal(ca_eng_parent_sync(f->c, "off", "test", &err), -1);
	assert_int_equal(err.code, CM_ESTATE);
	assert_non_null(strstr(err.msg, "offline"));
	assert_int_equal(f->tp.calls, calls);

	/* The first certificate, and the parent's point mirrored. */
	offline_exchange(f, &res);
	assert_int_equal(res.installed, 1);
	assert_int_equal(res.refused, 0);
	assert_true(res.published > 0);
	assert_true(res.next_update > cm_clock_now(&f->clock));
	expect(f->cdb, OFF_KEYS("active"), "1");
	expect(f->cdb, "SELECT count(*) > 0 FROM mirror_object WHERE uri LIKE '"
	    BASE "rir/%.mft'", "t");
	assert_true(ca_eng_check(f->c, &err) > 0);

	/*
	 * A key roll: the new key waits, uncertified, for the next exchange;
	 * meanwhile the schedule keeps the CA's objects current for days.
	 */
	ok(ca_eng_keyroll_start(f->c, "off", "test", &err), &err);
	assert_int_equal(f->tp.calls, calls);
	expect(f->cdb, OFF_KEYS("pending"), "1");
	assert_int_equal(ca_eng_keyroll_activate(f->c, "off", 1, "test", &err),
	    -1);
	assert_non_null(strstr(err.msg, "no certificate yet"));
	for (i = 0; i < 72; i++) {
		cm_clock_advance(&f->clock, 3600);
		ok(ca_eng_tick(f->c, 100, &err), &err);
	}
	assert_true(ca_eng_check(f->c, &err) > 0);
	/* The mirrored manifest of rir (48 hours) ran out meanwhile. */
	assert_true(ca_eng_offline_due(f->c, 7 * 86400, &err) >= 1);
	offline_exchange(f, &res);
	assert_int_equal(res.installed, 2);
	ok(ca_eng_keyroll_activate(f->c, "off", 1, "test", &err), &err);
	ok(ca_eng_keyroll_finish(f->c, "off", "test", &err), &err);
	offline_exchange(f, &res);
	assert_int_equal(res.revoked, 1);
	expect(f->pdb, "SELECT count(*) FROM issued_object WHERE subject LIKE "
	    "'child off %' AND withdrawn_at IS NULL", "1");
	assert_true(ca_eng_check(f->c, &err) > 0);
	assert_int_equal(ca_eng_offline_due(f->c, 3600, &err), 0);
}

#define OFF_OBJS "SELECT count(*) FROM issued_object o JOIN ca c ON c.id = " \
		"o.ca_id WHERE c.handle = 'off' AND o.withdrawn_at IS NULL"
#define OFF_ACTIVE "SELECT coalesce(max(k.id), '') FROM ca_key k JOIN ca c " \
		"ON c.id = k.ca_id WHERE c.handle = 'off' AND k.state = 'active'"

/* How many certificates for key (file <first 16 hex>.cer) off mirrors. */
static int
mirrored(struct fx *f, const char *key)
{
	char	 sql[256], *v;
	int	 n;

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM mirror_object WHERE "
	    "uri ILIKE '%%/%.16s.cer'", key);
	v = value(f->cdb, sql);
	n = atoi(v);
	free(v);
	return n;
}

/* A request of off that rir does not answer (CM_EPERM). */
static void
answer_refused(struct fx *f)
{
	struct ticker	 t = { &f->clock, 0 };
	struct cm_err	 err;
	pthread_t	 th;
	char		*req = NULL, *resp = NULL;
	size_t		 rl, sl;
	int		 n, rc;

	assert_int_equal(pthread_create(&th, NULL, tick_main, &t), 0);
	n = ca_eng_offline_request(f->c, "off", "test", &req, &rl, &err);
	rc = n < 2 ? 0 : ca_eng_offline_answer(f->p, "rir", (uint8_t *)req, rl,
	    "req.json", "test", &resp, &sl, &err);
	t.stop = 1;
	pthread_join(th, NULL);
	if (n < 2)
		fail_msg("request: %s", err.msg);
	assert_int_equal(rc, -1);
	assert_int_equal(err.code, CM_EPERM);
	assert_null(resp);
	free(req);
}

/*
 * The offline parent removes the child: the child's next request is still
 * answered (the tombstone keeps its identity), with an empty list, so the
 * child withdraws everything and retires its keys, and the parent's point
 * it mirrors no longer has its certificate.  The handle cannot be taken by
 * another identity unless forced.
 */
static void
test_offline_removed(void **state)
{
	struct fx			*f = *state;
	struct ca_eng_offline_result	 res;
	struct cm_err			 err;
	struct ca_res			*ent;
	uint8_t				*cta = NULL, *other = NULL;
	size_t				 clen, olen;
	char				*key, *n;

	key = value(f->cdb, OFF_ACTIVE);
	assert_int_equal(strlen(key), 40);
	assert_int_equal(mirrored(f, key), 1);
	n = value(f->cdb, OFF_OBJS);
	assert_int_not_equal(atoi(n), 0);
	free(n);
	ok(ca_eng_child_remove(f->p, "rir", "off", "test", &err), &err);
	expect(f->pdb, "SELECT count(*) FROM ca_child WHERE handle = 'off' AND "
	    "deleted_at IS NOT NULL", "1");
	offline_exchange(f, &res);
	assert_int_equal(res.installed, 0);
	assert_int_equal(res.refused, 1);	/* the issue: 1201 */
	assert_int_equal(res.retired, 1);
	expect(f->cdb, OFF_ACTIVE, "");
	expect(f->cdb, OFF_OBJS, "0");
	expect(f->cdb, "SELECT asn || ipv4 || ipv6 FROM ca_resources r JOIN ca "
	    "c ON c.id = r.ca_id WHERE c.handle = 'off'", "");
	expect(f->cdb, "SELECT coalesce(cardinality(listed_keys), 0) FROM "
	    "ca_parent p JOIN ca c ON c.id = p.ca_id WHERE c.handle = 'off'",
	    "0");
	/* The parent's point, mirrored without the certificate. */
	assert_int_equal(mirrored(f, key), 0);
	n = value(f->cdb, "SELECT count(*) FROM mirror_object WHERE uri LIKE "
	    "'%.mft'");
	assert_int_not_equal(atoi(n), 0);
	free(n);
	/* Asked again: still answered, nothing left to withdraw. */
	offline_exchange(f, &res);
	assert_int_equal(res.retired, 0);
	assert_int_equal(res.refused, 1);

	/* Another identity under the handle: refused unless forced. */
	ok(ca_eng_bpki(f->c, "off", &cta, &clen, NULL, &err), &err);
	ok(ca_eng_bpki(f->c, "kid", &other, &olen, NULL, &err), &err);
	ent = res_of("64510", "10.7.0.0/16", "");
	assert_int_equal(ca_eng_child_add(f->p, "rir", "off", ent, other, olen,
	    "test", &err), -1);
	assert_int_equal(err.code, CM_EEXIST);
	assert_non_null(strstr(err.msg, "removed"));
	assert_non_null(strstr(err.msg, "force"));
	ok(ca_eng_child_replace(f->p, "rir", "off", ent, other, olen, "test",
	    &err), &err);
	expect(f->pdb, "SELECT count(*) FROM audit_log WHERE action = "
	    "'child.replace' AND object = 'off'", "1");
	/* The replaced identity is not answered any more. */
	answer_refused(f);
	ok(ca_eng_child_remove(f->p, "rir", "off", "test", &err), &err);
	answer_refused(f);
	/* The first identity again, forced: certified anew. */
	ok(ca_eng_child_replace(f->p, "rir", "off", ent, cta, clen, "test",
	    &err), &err);
	ca_res_free(ent);
	offline_exchange(f, &res);
	assert_int_equal(res.installed, 1);
	assert_int_equal(res.refused, 0);
	n = value(f->cdb, OFF_ACTIVE);
	assert_int_equal(strlen(n), 40);
	assert_int_equal(mirrored(f, n), 1);
	free(n);
	free(key);
	free(cta);
	free(other);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_register),
		cmocka_unit_test(test_first_certificate),
		cmocka_unit_test(test_shrink_and_grow),
		cmocka_unit_test(test_revoked_by_parent),
		cmocka_unit_test(test_entitlement_gone),
		cmocka_unit_test(test_key_roll),
		cmocka_unit_test(test_parent_shrinks),
		cmocka_unit_test(test_replay_refused),
		cmocka_unit_test(test_two_classes),
		cmocka_unit_test(test_offline),
		cmocka_unit_test(test_offline_removed),
	};

	/* For relying parties: the two classes only (export_repo()). */
	if (getenv("CAIRN_CHILD_EXPORT") != NULL)
		cmocka_set_test_filter("test_two_classes");
	return cmocka_run_group_tests(tests, setup, teardown);
}
