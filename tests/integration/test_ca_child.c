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
#include <unistd.h>

#include "ca/engine.h"
#include "ca/roa.h"
#include "db_testutil.h"

#define BASE	"rsync://127.0.0.1:8873/repo/"
#define URI	"http://parent.test/api/v1/updown/rir"

enum tp_mode { TP_PASS, TP_REPLAY };

struct tp {
	struct ca_eng	*parent;
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

static int
post(void *arg, const char *uri, const uint8_t *msg, size_t len,
    uint8_t **reply, size_t *replylen, struct cm_err *err)
{
	struct tp *t = arg;

	t->calls++;
	if (strcmp(uri, URI) != 0)
		return cm_err_set(err, CM_EIO, uri, "unexpected URI");
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
	cm_clock_set(&f->clock, 1800000000);
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
		cmocka_unit_test(test_offline),
		cmocka_unit_test(test_offline_removed),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
