/*
 * cairnd: the CA engine daemon.
 *
 *   cairnd -c CONF run              keep every CA's objects current
 *   cairnd -c CONF apply FILE       create/update CAs, ROAs, ASPAs (ca/desc.h)
 *   cairnd -c CONF import FILE [BATCH]
 *                                   create many hosted CAs (CSV or "ca"
 *                                   lines, ca/import.h), BATCH (500) per
 *                                   transaction
 *   cairnd -c CONF tal HANDLE [--next]
 *                                   print a trust anchor's TAL (--next: the
 *                                   new key's, during its key roll)
 *   cairnd -c CONF transfer FROM TO [as=RES] [v4=RES] [v6=RES]
 *                                   move resources (and their ROA/ASPA
 *                                   configuration) make-before-break
 *   cairnd -c CONF keyroll HANDLE start|activate|activate-now|finish
 *                                   RFC 6489 key rollover, step by step
 *   cairnd -c CONF keyroll-all start|activate|activate-now|finish
 *                                   the same for every hosted CA
 *   cairnd -c CONF ta-keyroll HANDLE start|finish [--force]
 *                                   RFC 9691 trust anchor key roll
 *                                   (docs/ta-keyroll.md)
 *   cairnd -c CONF router-add HANDLE ASN[,ASN...] CSR
 *                                   certify a BGPsec router key (RFC 8209)
 *                                   from a DER or PEM PKCS#10 request
 *   cairnd -c CONF export DIR       write the current repository as an rsync
 *                                   tree (DIR/current), for setups without
 *                                   the publication server
 *   cairnd -c CONF token create --admin NAME | --ca HANDLE NAME
 *   cairnd -c CONF parent request HANDLE [FILE] | import HANDLE FILE |
 *                         sync HANDLE | show HANDLE
 *                                   a CA whose parent runs elsewhere: its
 *                                   RFC 8183 child_request, the parent's
 *                                   parent_response, an RFC 6492 round
 *   cairnd -c CONF parent import HANDLE FILE --offline |
 *                         offline-request HANDLE FILE |
 *                         offline-import HANDLE FILE
 *                                   the same with a parent kept offline:
 *                                   RFC 6492 in files (docs/offline-ta.md)
 *   cairnd -c CONF child add|resources|remove ...
 *   cairnd -c CONF offline answer PARENT REQUEST OUT | refresh PARENT OUT
 *                                   the offline parent's side
 *                                   (main_cairnd_offline.c)
 *   cairnd -c CONF token revoke NAME | token list
 *                                   bearer tokens of the provisioning API
 *                                   (docs/api.md); run serves the API when
 *                                   [api] port is set
 *
 * The configuration file is described in docs/cairnd.md.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "api/api.h"
#include "api/api_client.h"
#include "ca/desc.h"
#include "ca/engine.h"
#include "ca/import.h"
#include "ca/main_cairnd.h"
#include "ca/sched.h"
#include "common/cm_conf.h"
#include "common/cm_file.h"
#include "common/cm_log.h"
#include "db/db.h"
#include "hsm/hsm.h"
#include "hsm/hsm_pool.h"
#include "publish/pub_oob.h"

struct conf {
	char		*data_dir, *log_level;
	char		*dsn;
	char		*hsm_backend, *p11_module, *p11_token, *p11_pin_file,
			*p11_pin_env, *key_dir;
	char		*rsync_base, *https_base, *notify_uri, *roa_mode;
	char		*export_dir;
	char		*pub_service_uri, *pub_bpki_cert;
	long long	 pool_size, pool_threads, tick, workers;
	char		*api_address, *api_tls_cert, *api_tls_key;
	long long	 api_port, api_max_body, api_workers;
	long long	 parent_sync, ta_acceptance;
	char		*parent_cafile, *updown_uri;
	long long	 mft_validity, mft_reissue, mft_jitter, ee_validity,
			 ee_margin, ee_jitter, ca_validity, ta_validity,
			 keyroll_staging;
};

#define NKEYS	39
#define YEARS	(100LL * 365 * 86400)

static void
conf_keys(struct conf *c, struct cm_conf_key k[NKEYS])
{
	const struct cm_conf_key t[NKEYS] = {
	    { "", "data-dir", CM_CONF_STR, &c->data_dir, 0, 0, 1,
		"directory of the embedded PostgreSQL and other state" },
	    { "", "log-level", CM_CONF_STR, &c->log_level, 0, 0, 0,
		"debug, info, warning or error" },
	    { "db", "dsn", CM_CONF_STR, &c->dsn, 0, 0, 0,
		"libpq conninfo; empty: embedded PostgreSQL in data-dir/pg" },
	    { "hsm", "backend", CM_CONF_STR, &c->hsm_backend, 0, 0, 1,
		"pkcs11 or file (development only)" },
	    { "hsm", "module", CM_CONF_STR, &c->p11_module, 0, 0, 0,
		"PKCS#11 module path" },
	    { "hsm", "token", CM_CONF_STR, &c->p11_token, 0, 0, 0,
		"PKCS#11 token label" },
	    { "hsm", "pin-file", CM_CONF_STR, &c->p11_pin_file, 0, 0, 0,
		"file holding the user PIN" },
	    { "hsm", "pin-env", CM_CONF_STR, &c->p11_pin_env, 0, 0, 0,
		"environment variable holding the user PIN" },
	    { "hsm", "key-dir", CM_CONF_STR, &c->key_dir, 0, 0, 0,
		"directory of the file backend" },
	    { "hsm", "ee-pool", CM_CONF_INT, &c->pool_size, 1, 100000, 0,
		"one-time EE keys kept ready" },
	    { "hsm", "ee-threads", CM_CONF_INT, &c->pool_threads, 0, 64, 0,
		"threads generating EE keys" },
	    { "repository", "rsync-base", CM_CONF_STR, &c->rsync_base, 0, 0, 1,
		"rsync://host/module/ under which every CA publishes" },
	    { "repository", "https-base", CM_CONF_STR, &c->https_base, 0, 0, 0,
		"https URI prefix of trust anchor certificates in TALs" },
	    { "repository", "notify-uri", CM_CONF_STR, &c->notify_uri, 0, 0, 0,
		"RRDP notification URI (rpkiNotify)" },
	    { "repository", "export-dir", CM_CONF_STR, &c->export_dir, 0, 0, 0,
		"run: write the rsync tree here after each change" },
	    { "repository", "rfc8181-service-uri", CM_CONF_STR,
		&c->pub_service_uri, 0, 0, 0, "API publishers: cairn-pubd's "
		"[rfc8181] service-uri" },
	    { "repository", "rfc8181-bpki-cert", CM_CONF_STR, &c->pub_bpki_cert,
		0, 0, 0, "API publishers: cairn-pubd's BPKI certificate (PEM)" },
	    { "engine", "roa-mode", CM_CONF_STR, &c->roa_mode, 0, 0, 0,
		"per-asn (default) or per-prefix" },
	    { "engine", "workers", CM_CONF_INT, &c->workers, 1, 64, 0,
		"re-issue workers (CAs are split among them)" },
	    { "engine", "tick", CM_CONF_DURATION, &c->tick, 1, 86400, 0,
		"how often due re-issues are looked for" },
	    { "api", "address", CM_CONF_STR, &c->api_address, 0, 0, 0,
		"address of the API listener (default 127.0.0.1)" },
	    { "api", "port", CM_CONF_INT, &c->api_port, 0, 65535, 0,
		"TCP port of the API listener; absent: no API" },
	    { "api", "tls-cert", CM_CONF_STR, &c->api_tls_cert, 0, 0, 0,
		"PEM certificate chain: the API speaks HTTPS" },
	    { "api", "tls-key", CM_CONF_STR, &c->api_tls_key, 0, 0, 0,
		"PEM private key (default: in tls-cert)" },
	    { "api", "max-body", CM_CONF_SIZE, &c->api_max_body, 1024,
		64 * 1024 * 1024, 0, "largest request body (default 256k)" },
	    { "api", "workers", CM_CONF_INT, &c->api_workers, 1,
		API_MAX_WORKERS, 0, "threads answering API requests (default 4)" },
	    { "api", "updown-uri", CM_CONF_STR, &c->updown_uri, 0, 0, 0,
		"URI prefix of the RFC 6492 service for delegated children" },
	    { "engine", "parent-sync", CM_CONF_DURATION, &c->parent_sync, 1,
		86400, 0, "how often a CA asks its remote parent again" },
	    { "engine", "parent-cafile", CM_CONF_STR, &c->parent_cafile, 0, 0,
		0, "PEM CAs trusted for https parents (default: the system's)" },
	    { "schedule", "manifest-validity", CM_CONF_DURATION,
		&c->mft_validity, 3600, YEARS, 0,
		"nextUpdate - thisUpdate of manifests and CRLs (default 48h)" },
	    { "schedule", "manifest-reissue-after", CM_CONF_DURATION,
		&c->mft_reissue, 60, YEARS, 0,
		"earliest re-issue after thisUpdate (default 18h)" },
	    { "schedule", "manifest-jitter", CM_CONF_DURATION, &c->mft_jitter,
		0, YEARS, 0, "spread of manifest re-issues (default 6h)" },
	    { "schedule", "ee-validity", CM_CONF_DURATION, &c->ee_validity,
		86400, YEARS, 0, "validity of ROAs and ASPAs (default 365d)" },
	    { "schedule", "ee-renew-before", CM_CONF_DURATION, &c->ee_margin,
		3600, YEARS, 0, "renew ROAs and ASPAs this long before expiry "
		"at the latest (default 28d)" },
	    { "schedule", "ee-jitter", CM_CONF_DURATION, &c->ee_jitter, 0,
		YEARS, 0, "spread of the renewals (default 14d)" },
	    { "schedule", "ca-validity", CM_CONF_DURATION, &c->ca_validity,
		86400, YEARS, 0, "validity of CA certificates issued to "
		"children (default 365d)" },
	    { "schedule", "ta-validity", CM_CONF_DURATION, &c->ta_validity,
		86400, YEARS, 0, "validity of a new trust anchor certificate "
		"(default 3650d)" },
	    { "schedule", "keyroll-staging", CM_CONF_DURATION,
		&c->keyroll_staging, 0, YEARS, 0, "RFC 6489 wait before a new "
		"key may be activated (default 24h)" },
	    { "schedule", "ta-acceptance", CM_CONF_DURATION, &c->ta_acceptance,
		0, YEARS, 0, "ta-keyroll finish waits this long after start "
		"(default 30d, RFC 9691)" },
	};

	memcpy(k, t, sizeof(t));
}

static volatile sig_atomic_t quit;

static void
on_signal(int sig)
{
	(void)sig;
	quit = 1;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: cairnd -c CONF run\n"
	    "       cairnd -c CONF apply FILE\n"
	    "       cairnd -c CONF import FILE [BATCH]\n"
	    "       cairnd -c CONF tal HANDLE [--next]\n"
	    "       cairnd -c CONF router-add HANDLE ASN[,ASN...] CSR-FILE\n"
	    "       cairnd -c CONF transfer FROM TO [as=RES] [v4=RES] [v6=RES]\n"
	    "       cairnd -c CONF keyroll HANDLE start|activate|activate-now|finish\n"
	    "       cairnd -c CONF keyroll-all start|activate|activate-now|finish\n"
	    "       cairnd -c CONF ta-keyroll HANDLE start|finish [--force]\n"
	    "       cairnd -c CONF export DIR\n"
	    "       cairnd -c CONF token create --admin NAME\n"
	    "       cairnd -c CONF token create --ca HANDLE NAME\n"
	    "       cairnd -c CONF token revoke NAME\n"
	    "       cairnd -c CONF token list\n"
	    "       cairnd -c CONF parent request HANDLE [FILE]\n"
	    "       cairnd -c CONF parent import HANDLE FILE [--offline]\n"
	    "       cairnd -c CONF parent sync HANDLE\n"
	    "       cairnd -c CONF parent show HANDLE\n"
	    "       cairnd -c CONF parent offline-request HANDLE FILE\n"
	    "       cairnd -c CONF parent offline-import HANDLE FILE\n"
	    "       cairnd -c CONF child add PARENT CHILD-REQUEST OUT [as=RES] "
	    "[v4=RES] [v6=RES] [--force]\n"
	    "       cairnd -c CONF child resources PARENT CHILD [as=RES] "
	    "[v4=RES] [v6=RES]\n"
	    "       cairnd -c CONF child remove PARENT CHILD\n"
	    "       cairnd -c CONF offline answer PARENT REQUEST OUT\n"
	    "       cairnd -c CONF offline refresh PARENT OUT\n");
}

/* Everything a command needs, opened from the configuration. */
struct env {
	struct conf		 conf;
	struct db_embedded	*emb;
	struct db		*db;
	struct hsm		*hsm;
	struct hsm_pool		*pool;
	struct ca_eng		*eng;
	struct ca_eng_conf	 econf;
	const char		*dsn;	/* the database, for more connections */
};

/*
 * The [schedule] keys over the defaults in ec (absent keys are -1), checked
 * for consistency (ca_sched_check).  Returns 0 or -1.
 */
static int
schedule_conf(const struct conf *c, struct ca_eng_conf *ec, struct cm_err *err)
{
#define SET(f, k)	if (c->k >= 0) ec->f = c->k
	SET(sched.mft_validity, mft_validity);
	SET(sched.mft_reissue_after, mft_reissue);
	SET(sched.mft_jitter, mft_jitter);
	SET(sched.ee_validity, ee_validity);
	SET(sched.ee_margin, ee_margin);
	SET(sched.ee_jitter, ee_jitter);
	SET(ca_validity, ca_validity);
	SET(ta_validity, ta_validity);
	SET(keyroll_staging, keyroll_staging);
	SET(ta_acceptance, ta_acceptance);
#undef SET
	return ca_sched_check(&ec->sched, err);
}

static int
env_open(struct env *v, struct cm_err *err)
{
	struct db_options	o;
	struct hsm_p11_conf	p;
	const char		*dsn = v->conf.dsn;

	if (dsn == NULL || *dsn == '\0') {
		memset(&o, 0, sizeof(o));
		o.data_dir = v->conf.data_dir;
		if (db_embedded_start(&o, &v->emb, err) == -1)
			return -1;
		dsn = db_embedded_dsn(v->emb);
	}
	v->dsn = dsn;
	if ((v->db = db_open(dsn, 10, err)) == NULL || db_migrate(v->db, err) < 0)
		return -1;
	if (strcmp(v->conf.hsm_backend, "pkcs11") == 0) {
		memset(&p, 0, sizeof(p));
		p.module = v->conf.p11_module;
		p.token_label = v->conf.p11_token;
		p.pin_file = v->conf.p11_pin_file;
		p.pin_env = v->conf.p11_pin_env;
		if (p.module == NULL || p.token_label == NULL)
			return cm_err_set(err, CM_EINVAL, "hsm",
			    "backend pkcs11 needs module and token");
		v->hsm = hsm_open_pkcs11(&p, err);
	} else if (strcmp(v->conf.hsm_backend, "file") == 0) {
		if (v->conf.key_dir == NULL)
			return cm_err_set(err, CM_EINVAL, "hsm",
			    "backend file needs key-dir");
		v->hsm = hsm_open_file(v->conf.key_dir, err);
	} else
		return cm_err_set(err, CM_EINVAL, "hsm",
		    "backend must be pkcs11 or file, not \"%s\"",
		    v->conf.hsm_backend);
	if (v->hsm == NULL)
		return -1;
	if ((v->pool = hsm_pool_new((size_t)v->conf.pool_size,
	    (unsigned)v->conf.pool_threads, err)) == NULL)
		return -1;
	ca_eng_conf_defaults(&v->econf);
	v->econf.rsync_base = v->conf.rsync_base;
	v->econf.https_base = v->conf.https_base;
	v->econf.notify_uri = v->conf.notify_uri;
	v->econf.updown_uri = v->conf.updown_uri;
	if (v->conf.parent_sync > 0)
		v->econf.parent_sync = v->conf.parent_sync;
	if (schedule_conf(&v->conf, &v->econf, err) == -1)
		return -1;
	if (v->conf.roa_mode != NULL) {
		if (strcmp(v->conf.roa_mode, "per-prefix") == 0)
			v->econf.roa_mode = CA_PLAN_ROA_PER_PREFIX;
		else if (strcmp(v->conf.roa_mode, "per-asn") != 0)
			return cm_err_set(err, CM_EINVAL, "engine",
			    "roa-mode must be per-asn or per-prefix");
	}
	v->eng = ca_eng_new(&v->econf, v->db, v->hsm, v->pool, NULL, err);
	if (v->eng == NULL)
		return -1;
	ca_eng_set_transport(v->eng, api_updown_post, v->conf.parent_cafile);
	return 0;
}

/*
 * Stops the embedded PostgreSQL when this process started it or is the
 * daemon (which owns it); a one-shot command that found the daemon's server
 * running leaves it running.
 */
static void
env_close(struct env *v, int owner)
{
	struct cm_err err;

	ca_eng_free(v->eng);
	hsm_pool_free(v->pool);
	hsm_close(v->hsm);
	db_close(v->db);
	if (v->emb == NULL)
		return;
	if (owner || db_embedded_started(v->emb)) {
		if (db_embedded_stop(v->emb, &err) == -1)
			cm_error("%s", err.msg);
	} else
		db_embedded_free(v->emb);
	v->emb = NULL;
}

/*
 * A re-issue worker besides the main loop: its own connection and engine,
 * its own shard of the CAs (ca_eng_tick_shard), so that workers never
 * touch the same CA.
 */
struct tick_worker {
	struct env	*v;
	int		 shard, nshards;
	pthread_t	 t;
	int		 started;
};

static void *
tick_worker_main(void *arg)
{
	struct tick_worker	*w = arg;
	struct cm_err		 err;
	struct db		*db;
	struct ca_eng		*e = NULL;
	int			 n;

	while (!quit) {
		if (e == NULL) {
			if ((db = db_open(w->v->dsn, 10, &err)) == NULL ||
			    (e = ca_eng_new(&w->v->econf, db, w->v->hsm,
			    w->v->pool, NULL, &err)) == NULL) {
				cm_error("re-issue worker %d: %s", w->shard, err.msg);
				db_close(db);
				sleep(5);
				continue;
			}
		}
		if ((n = ca_eng_tick_shard(e, 1000, w->shard, w->nshards,
		    &err)) == -1)
			cm_error("re-issue worker %d: %s", w->shard, err.msg);
		else if (n > 0)
			cm_info("re-issue worker %d: %d CAs", w->shard, n);
		for (n = 0; n < w->v->conf.tick && !quit; n++)
			sleep(1);
	}
	if (e != NULL) {
		ca_eng_free(e);
		db_close(db);
	}
	return NULL;
}

/* The id of the newest publication intent (0: none). */
static int
last_change(struct env *v, int64_t *id, struct cm_err *err)
{
	struct db_res	*r = NULL;
	int		 rc;

	if (db_exec(v->db, "SELECT coalesce(max(id), 0) FROM pub_change", NULL,
	    &r, err) == -1)
		return -1;
	rc = db_res_int64(r, 0, 0, id, err);
	db_res_free(r);
	return rc;
}

/* One line per CA of a bulk key roll, on stderr: "[n/total] handle ok". */
static void
roll_progress(void *arg, const char *handle, int i, int n,
    const struct cm_err *e)
{
	(void)arg;
	fprintf(stderr, "[%d/%d] %s %s%s\n", i, n, handle, e == NULL ? "ok" :
	    "FAILED: ", e == NULL ? "" : e->msg);
}

/*
 * Progress of an import on stderr: a line per 100 CAs of a phase and at
 * its end ("[batch 2/20] keys 300/500").
 */
static void
import_progress(void *arg, size_t batch, size_t nbatches, const char *phase,
    size_t done, size_t total)
{
	(void)arg;
	if (done % 100 == 0 || done == total)
		fprintf(stderr, "[batch %zu/%zu] %s %zu/%zu\n", batch, nbatches,
		    phase, done, total);
}

/* import FILE [BATCH] */
static int
import(struct env *v, const char *file, const char *batch,
    struct cm_err *err)
{
	struct ca_import	*im = NULL;
	struct ca_import_result	 res;
	char			*text = NULL, *end;
	size_t			 len;
	unsigned long		 b = 0;
	struct timespec		 t0, t1;
	int			 rc = 1;

	if (batch != NULL) {
		b = strtoul(batch, &end, 10);
		if (*batch == '\0' || *end != '\0' || b < 1 || b > 100000) {
			cm_err_set(err, CM_EINVAL, batch, "BATCH is a number of "
			    "CAs per transaction, 1-100000");
			return 2;
		}
	}
	if (cm_file_read(file, 256 * 1024 * 1024, (uint8_t **)&text, &len,
	    err) == -1 ||
	    ca_import_parse(file, text, &im, err) == -1)
		goto out;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = ca_import_apply(v->eng, v->db, im, b, 0, "cli:import",
	    import_progress, NULL, &res, err) == 0 ? 0 : 1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%zu CAs created in %zu batches, %zu already existed, %.1f s\n",
	    res.created, res.batches, res.existing,
	    (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	if (rc != 0 && res.created > 0)
		fprintf(stderr, "cairnd: the %zu CAs of the committed batches stay; "
		    "run the import again to create the rest\n", res.created);
out:
	ca_import_free(im);
	free(text);
	return rc;
}

/* transfer FROM TO as=... v4=... v6=... */
static int
transfer(struct env *v, const char *from, const char *to, char **words,
    int n, struct cm_err *err)
{
	struct ca_res	*r = NULL;
	int		 rc = 1;

	if (ca_desc_parse_res(words, (size_t)n, "transfer", &r, err) == -1)
		return err->code == CM_ENOMEM ? 1 : 2;
	if (ca_eng_transfer(v->eng, from, to, r, "cli:transfer", err) == 0) {
		printf("transferred from %s to %s\n", from, to);
		rc = 0;
	}
	ca_res_free(r);
	return rc;
}

/* router-add: AS list "64496,64497" and a DER or PEM request file. */
static int
router_add(struct env *v, const char *handle, const char *aslist,
    const char *file, struct cm_err *err)
{
	uint32_t	 asns[64];
	size_t		 n = 0, len;
	uint8_t		*buf = NULL, *der = NULL;
	const char	*p = aslist;
	char		*end;
	unsigned long	 a;
	X509_REQ	*req = NULL;
	BIO		*bio = NULL;
	int		 dlen, rc = 1;

	while (*p != '\0') {
		if (strncmp(p, "AS", 2) == 0)
			p += 2;
		a = strtoul(p, &end, 10);
		if (end == p || (*end != ',' && *end != '\0') || a > 4294967295UL ||
		    n == sizeof(asns) / sizeof(asns[0])) {
			cm_err_set(err, CM_EINVAL, aslist, "not a list of AS "
			    "numbers (64496,64497)");
			return 2;
		}
		asns[n++] = (uint32_t)a;
		p = *end == ',' ? end + 1 : end;
	}
	if (cm_file_read(file, 1024 * 1024, &buf, &len, err) == -1)
		return 1;
	/* PEM is what openssl req writes by default; take it too. */
	if (len > 10 && memcmp(buf, "-----BEGIN", 10) == 0) {
		if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL ||
		    (req = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL)) == NULL ||
		    (dlen = i2d_X509_REQ(req, &der)) <= 0) {
			cm_err_set(err, CM_EINVAL, file, "not a PEM certificate "
			    "request");
			goto out;
		}
		free(buf);
		buf = NULL;
		if (ca_eng_router_add(v->eng, handle, der, (size_t)dlen, asns, n,
		    "cli:router-add", err) == 0)
			rc = 0;
	} else if (ca_eng_router_add(v->eng, handle, buf, len, asns, n,
	    "cli:router-add", err) == 0)
		rc = 0;
out:
	OPENSSL_free(der);
	X509_REQ_free(req);
	BIO_free(bio);
	free(buf);
	return rc;
}

/* token create|revoke|list: 0, 1 (refused) or 2 (usage). */
/*
 * cairnd parent request HANDLE [FILE]  the RFC 8183 child_request of CA
 *                                      HANDLE (made, without a key, when
 *                                      it does not exist yet)
 * cairnd parent import HANDLE FILE     its parent's parent_response
 * cairnd parent sync HANDLE            one RFC 6492 round with the parent
 * cairnd parent show HANDLE            the state of that relation
 */
static int
parent_cmd(struct env *v, int argc, char **argv, struct cm_err *err)
{
	struct pub_oob	 o, *in = NULL;
	struct cm_buf	 xml = CM_BUF_INIT;
	uint8_t		*der = NULL, *text = NULL;
	size_t		 len;
	int		 rc = 1;

	if (strcmp(argv[1], "request") == 0 && (argc == 3 || argc == 4)) {
		if (ca_eng_remote_create(v->eng, argv[2], "cli:parent", err) == -1 ||
		    ca_eng_bpki(v->eng, argv[2], &der, &len, NULL, err) == -1)
			goto out;
		memset(&o, 0, sizeof(o));
		o.type = PUB_OOB_CHILD_REQUEST;
		o.handle = argv[2];
		o.bpki_ta = der;
		o.bpki_ta_len = len;
		if (pub_oob_write(&o, &xml, err) == -1)
			goto out;
		if (argc == 4) {
			if (cm_file_write_atomic(argv[3], xml.data, xml.len, 0644,
			    err) == -1)
				goto out;
		} else
			fwrite(xml.data, 1, xml.len, stdout);
		rc = 0;
	} else if (strcmp(argv[1], "import") == 0 && (argc == 4 ||
	    (argc == 5 && strcmp(argv[4], "--offline") == 0))) {
		if (cm_file_read(argv[3], PUB_OOB_MAX, &text, &len, err) == -1 ||
		    pub_oob_parse(argv[3], text, len, PUB_OOB_PARENT_RESPONSE, &in,
		    err) == -1 ||
		    ca_eng_parent_set(v->eng, argv[2], in->parent_handle,
		    in->handle, in->service_uri, in->bpki_ta, in->bpki_ta_len,
		    "cli:parent", err) == -1 ||
		    ca_eng_parent_offline(v->eng, argv[2], argc == 5, err) == -1)
			goto out;
		if (argc == 5)
			printf("%s: offline parent %s (we are %s there): exchange "
			    "files with parent offline-request and "
			    "offline-import\n", argv[2], in->parent_handle,
			    in->handle);
		else
			printf("%s: parent %s at %s (we are %s there)\n", argv[2],
			    in->parent_handle, in->service_uri, in->handle);
		rc = 0;
	} else if (strncmp(argv[1], "offline-", 8) == 0) {
		rc = cairnd_parent_offline(v->eng, argc, argv, err);
	} else if (strcmp(argv[1], "show") == 0 && argc == 3) {
		char *show = NULL;

		if (ca_eng_parent_show(v->eng, argv[2], &show, err) == -1)
			goto out;
		fputs(show, stdout);
		free(show);
		rc = 0;
	} else if (strcmp(argv[1], "sync") == 0 && argc == 3) {
		switch (ca_eng_parent_sync(v->eng, argv[2], "cli:parent", err)) {
		case -1:
			goto out;
		case 1:
			printf("%s: certificate installed\n", argv[2]);
			break;
		default:
			printf("%s: up to date\n", argv[2]);
		}
		rc = 0;
	} else {
		usage();
		rc = 2;
	}
out:
	free(der);
	free(text);
	cm_buf_free(&xml);
	pub_oob_free(in);
	return rc;
}

static int
token_cmd(struct env *v, int argc, char **argv, struct cm_err *err)
{
	char	*out = NULL;
	int	 rc;

	if (strcmp(argv[1], "create") == 0 && argc == 4 &&
	    strcmp(argv[2], "--admin") == 0)
		rc = api_token_create(v->db, argv[3], NULL, &out, err);
	else if (strcmp(argv[1], "create") == 0 && argc == 5 &&
	    strcmp(argv[2], "--ca") == 0)
		rc = api_token_create(v->db, argv[4], argv[3], &out, err);
	else if (strcmp(argv[1], "revoke") == 0 && argc == 3) {
		if ((rc = api_token_revoke(v->db, argv[2], err)) == 0)
			printf("token %s revoked\n", argv[2]);
		return rc == 0 ? 0 : 1;
	} else if (strcmp(argv[1], "list") == 0 && argc == 2)
		rc = api_token_list(v->db, &out, err);
	else {
		usage();
		return 2;
	}
	if (rc == 0)
		fputs(out, stdout);
	if (rc == 0 && strcmp(argv[1], "create") == 0)
		putchar('\n');
	free(out);
	return rc == 0 ? 0 : 1;
}

static int
run(struct env *v, struct cm_err *err)
{
	struct api_conf	 ac;
	struct api	*api = NULL;
	int64_t			 change = 0, exported = -1;
	time_t			 offline_check = 0;
	struct tick_worker	*workers = NULL;
	struct cairnd_export	*xs = NULL;
	int			 n, nw;

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	/* The first export writes the whole tree: drift on disk is repaired. */
	if (v->conf.export_dir != NULL && (xs = cairnd_export_new()) == NULL)
		return cm_err_set(err, CM_ENOMEM, "export", "out of memory");
	/* The API has its own threads, connection and engine. */
	if (v->conf.api_port >= 0) {
		memset(&ac, 0, sizeof(ac));
		ac.host = v->conf.api_address;
		ac.port = (uint16_t)v->conf.api_port;
		ac.tls_cert = v->conf.api_tls_cert;
		ac.tls_key = v->conf.api_tls_key;
		ac.max_body = (size_t)v->conf.api_max_body;
		ac.dsn = v->dsn;
		ac.hsm = v->hsm;
		ac.pool = v->pool;
		ac.eng_conf = &v->econf;
		ac.parent_cafile = v->conf.parent_cafile;
		ac.pub_service_uri = v->conf.pub_service_uri;
		ac.pub_bpki_cert = v->conf.pub_bpki_cert;
		ac.workers = (unsigned)v->conf.api_workers;
		if ((api = api_start(&ac, err)) == NULL) {
			cairnd_export_free(xs);
			return cm_err_wrap(err, "api");
		}
		cm_info("api: listening on %s port %u (%s, %u workers)",
		    ac.host != NULL ? ac.host : "127.0.0.1", api_port(api),
		    ac.tls_cert != NULL ? "https" : "http", api_workers(api));
	}
	/* Workers 1..N-1 on threads; the main loop is worker 0. */
	nw = (int)v->conf.workers;
	if (nw > 1 && (workers = calloc((size_t)nw, sizeof(*workers))) == NULL) {
		cairnd_export_free(xs);
		api_stop(api);
		return cm_err_set(err, CM_ENOMEM, "workers", "out of memory");
	}
	for (n = 1; n < nw; n++) {
		workers[n].v = v;
		workers[n].shard = n;
		workers[n].nshards = nw;
		if (pthread_create(&workers[n].t, NULL, tick_worker_main,
		    &workers[n]) == 0)
			workers[n].started = 1;
		else
			cm_error("cannot start re-issue worker %d", n);
	}
	cm_info("running; re-issue checks every %llds with %d worker%s",
	    v->conf.tick, nw, nw == 1 ? "" : "s");
	while (!quit) {
		if ((n = ca_eng_tick_shard(v->eng, 1000, 0, nw, err)) == -1) {
			/* Transient database trouble: log, keep going. */
			cm_error("%s", err->msg);
		} else if (n > 0)
			cm_info("re-issued the objects of %d CAs", n);
		/* An offline parent's manifest running out: hourly. */
		if (time(NULL) >= offline_check) {
			offline_check = time(NULL) + 3600;
			if (ca_eng_offline_due(v->eng, 7 * 86400, err) == -1)
				cm_error("%s", err->msg);
		}
		/* CAs whose parent is remote: the rounds that are due. */
		if ((n = ca_eng_parent_sync_due(v->eng, 100, err)) == -1)
			cm_error("%s", err->msg);
		else if (n > 0)
			cm_info("new certificates from remote parents for %d CAs",
			    n);
		/*
		 * Export when anything was written since the last export, by
		 * this loop or by another process (cairnd apply).
		 */
		if (v->conf.export_dir != NULL) {
			if (last_change(v, &change, err) == -1)
				cm_error("%s", err->msg);
			else if (change != exported) {
				if (cairnd_export(v->db, v->conf.rsync_base,
				    v->conf.export_dir, xs, err) == -1)
					cm_error("%s", err->msg);
				else
					exported = change;
			}
		}
		for (n = 0; n < v->conf.tick && !quit; n++)
			sleep(1);
	}
	cm_info("stopping");
	for (n = 1; n < nw; n++)
		if (workers[n].started)
			pthread_join(workers[n].t, NULL);
	free(workers);
	cairnd_export_free(xs);
	api_stop(api);
	return 0;
}

/*
 * tal HANDLE [--next] and ta-keyroll HANDLE start|finish [--force]; *tal
 * gets the TAL printed (the caller frees it).  Returns 0, 1 (err) or 2
 * (usage).
 */
static int
ta_cmd(struct env *v, int argc, char **argv, char **tal, struct cm_err *err)
{
	int	opt = argc > 3 || (argc == 3 && strcmp(argv[0], "tal") == 0);
	int	force;

	if (strcmp(argv[0], "tal") == 0) {
		if (opt && strcmp(argv[2], "--next") != 0)
			return 2;
		if (ca_eng_tal_key(v->eng, argv[1], opt, tal, err) == -1)
			return 1;
		fputs(*tal, stdout);
		return 0;
	}
	force = opt && strcmp(argv[3], "--force") == 0;
	if (opt && !force)
		return 2;
	if (strcmp(argv[2], "start") == 0 && !force) {
		if (ca_eng_ta_keyroll_start(v->eng, argv[1], "cli:ta-keyroll",
		    err) == -1)
			return 1;
		printf("%s: trust anchor key roll started; publish the TAL of "
		    "'cairnd tal %s --next'\n", argv[1], argv[1]);
	} else if (strcmp(argv[2], "finish") == 0) {
		if (ca_eng_ta_keyroll_finish(v->eng, argv[1], force,
		    "cli:ta-keyroll", err) == -1)
			return 1;
		printf("%s: trust anchor key roll finished\n", argv[1]);
	} else
		return 2;
	return 0;
}

int
main(int argc, char *argv[])
{
	struct env		 v;
	struct cm_conf_key	 keys[NKEYS];
	struct cm_err		 err;
	enum cm_loglevel	 lvl = CM_LOG_INFO;
	const char		*confpath = NULL;
	char			*text = NULL, *tal = NULL;
	size_t			 len, applied;
	int			 ch, rc = 1;

	memset(&v, 0, sizeof(v));
	v.conf.pool_size = 64;
	v.conf.pool_threads = 1;
	v.conf.tick = 60;
	v.conf.workers = 1;
	v.conf.api_port = -1;
	v.conf.mft_validity = v.conf.mft_reissue = v.conf.mft_jitter = -1;
	v.conf.ee_validity = v.conf.ee_margin = v.conf.ee_jitter = -1;
	v.conf.ca_validity = v.conf.ta_validity = v.conf.keyroll_staging = -1;
	v.conf.ta_acceptance = -1;
	while ((ch = getopt(argc, argv, "+c:h")) != -1) {
		switch (ch) {
		case 'c':
			confpath = optarg;
			break;
		default:
			usage();
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (confpath == NULL || argc < 1) {
		usage();
		return 2;
	}
	conf_keys(&v.conf, keys);
	cm_log_init("cairnd", lvl);
	if (cm_conf_load(confpath, keys, NKEYS, &err) == -1) {
		fprintf(stderr, "cairnd: %s\n", err.msg);
		cm_conf_free_strings(keys, NKEYS);
		return 2;
	}
	if (v.conf.log_level != NULL) {
		if (cm_log_parse_level(v.conf.log_level, &lvl) == -1) {
			fprintf(stderr, "cairnd: %s: bad log-level \"%s\"\n",
			    confpath, v.conf.log_level);
			goto out;
		}
		cm_log_init("cairnd", lvl);
	}
	/* Configuration mistakes are caught before anything is started. */
	if (v.conf.roa_mode != NULL && strcmp(v.conf.roa_mode, "per-asn") != 0 &&
	    strcmp(v.conf.roa_mode, "per-prefix") != 0) {
		fprintf(stderr, "cairnd: %s: engine.roa-mode must be per-asn or "
		    "per-prefix, not \"%s\"\n", confpath, v.conf.roa_mode);
		rc = 2;
		goto out;
	}
	ca_eng_conf_defaults(&v.econf);
	if (schedule_conf(&v.conf, &v.econf, &err) == -1) {
		fprintf(stderr, "cairnd: %s: %s\n", confpath, err.msg);
		rc = 2;
		goto out;
	}
	if (strcmp(v.conf.hsm_backend, "pkcs11") != 0 &&
	    strcmp(v.conf.hsm_backend, "file") != 0) {
		fprintf(stderr, "cairnd: %s: hsm.backend must be pkcs11 or file, "
		    "not \"%s\"\n", confpath, v.conf.hsm_backend);
		rc = 2;
		goto out;
	}
	if (strcmp(argv[0], "run") != 0 && strcmp(argv[0], "apply") != 0 &&
	    strcmp(argv[0], "import") != 0 &&
	    strcmp(argv[0], "tal") != 0 && strcmp(argv[0], "export") != 0 &&
	    strcmp(argv[0], "router-add") != 0 &&
	    strcmp(argv[0], "transfer") != 0 &&
	    strcmp(argv[0], "keyroll") != 0 &&
	    strcmp(argv[0], "ta-keyroll") != 0 &&
	    strcmp(argv[0], "keyroll-all") != 0 && strcmp(argv[0], "token") != 0 &&
	    strcmp(argv[0], "parent") != 0 && strcmp(argv[0], "offline") != 0 &&
	    strcmp(argv[0], "child") != 0) {
		usage();
		rc = 2;
		goto out;
	}
	if (strcmp(argv[0], "router-add") == 0 ? argc != 4 :
	    strcmp(argv[0], "transfer") == 0 ? argc < 4 || argc > 6 :
	    strcmp(argv[0], "import") == 0 ? argc < 2 || argc > 3 :
	    strcmp(argv[0], "keyroll") == 0 ? argc != 3 :
	    strcmp(argv[0], "ta-keyroll") == 0 ? argc < 3 || argc > 4 :
	    strcmp(argv[0], "tal") == 0 ? argc < 2 || argc > 3 :
	    strcmp(argv[0], "keyroll-all") == 0 ? argc != 2 :
	    strcmp(argv[0], "token") == 0 ? argc < 2 || argc > 5 :
	    strcmp(argv[0], "parent") == 0 ? argc < 3 || argc > 5 :
	    strcmp(argv[0], "offline") == 0 ? argc < 4 || argc > 5 :
	    strcmp(argv[0], "child") == 0 ? argc < 4 :
	    strcmp(argv[0], "run") != 0 && argc != 2) {
		usage();
		rc = 2;
		goto out;
	}
	/*
	 * As root the embedded PostgreSQL still runs as "cairn" (db/), but the
	 * daemon itself should not: say so, once, where the operator looks.
	 */
	if (getuid() == 0 && strcmp(argv[0], "run") == 0)
		cm_warn("running as root: run cairnd as the user cairn (see "
		    "deploy/systemd/cairnd.service); the embedded PostgreSQL "
		    "runs as cairn either way");
	if (env_open(&v, &err) == -1) {
		fprintf(stderr, "cairnd: %s\n", err.msg);
		goto out;
	}
	if (strcmp(argv[0], "run") == 0) {
		if ((rc = run(&v, &err) == 0 ? 0 : 1) != 0)
			fprintf(stderr, "cairnd: %s\n", err.msg);
	} else if (strcmp(argv[0], "parent") == 0) {
		if ((rc = parent_cmd(&v, argc, argv, &err)) == 1)
			fprintf(stderr, "cairnd: %s\n", err.msg);
	} else if (strcmp(argv[0], "offline") == 0) {
		if ((rc = cairnd_offline(v.eng, argc, argv, &err)) == 1)
			fprintf(stderr, "cairnd: %s\n", err.msg);
	} else if (strcmp(argv[0], "child") == 0) {
		/* 2 with err set: bad resource words (else usage printed). */
		memset(&err, 0, sizeof(err));
		if ((rc = cairnd_child(v.eng, argc, argv, &err)) == 1 ||
		    (rc == 2 && err.msg[0] != '\0'))
			fprintf(stderr, "cairnd: %s\n", err.msg);
	} else if (strcmp(argv[0], "token") == 0) {
		if ((rc = token_cmd(&v, argc, argv, &err)) == 1)
			fprintf(stderr, "cairnd: %s\n", err.msg);
	} else if (strcmp(argv[0], "apply") == 0) {
		if (cm_file_read(argv[1], 16 * 1024 * 1024, (uint8_t **)&text,
		    &len, &err) == -1 ||
		    ca_desc_apply(v.eng, argv[1], text, "cli:apply", &applied,
		    &err) == -1)
			fprintf(stderr, "cairnd: %s\n", err.msg);
		else {
			printf("%zu changes applied\n", applied);
			rc = 0;
		}
	} else if (strcmp(argv[0], "import") == 0) {
		rc = import(&v, argv[1], argc > 2 ? argv[2] : NULL, &err);
		if (rc != 0)
			fprintf(stderr, "cairnd: %s\n", err.msg);
	} else if (strcmp(argv[0], "tal") == 0 ||
	    strcmp(argv[0], "ta-keyroll") == 0) {
		rc = ta_cmd(&v, argc, argv, &tal, &err);
		if (rc == 1)
			fprintf(stderr, "cairnd: %s\n", err.msg);
		else if (rc == 2)
			usage();
	} else if (strcmp(argv[0], "keyroll-all") == 0) {
		int force = strcmp(argv[1], "activate-now") == 0;

		rc = ca_eng_keyroll_all(v.eng, force ? "activate" : argv[1], force,
		    "cli:keyroll", roll_progress, NULL, &err);
		if (rc == -1) {
			fprintf(stderr, "cairnd: %s\n", err.msg);
			rc = 1;
		} else {
			printf("key roll %s done for %d CAs\n", argv[1], rc);
			rc = 0;
		}
	} else if (strcmp(argv[0], "keyroll") == 0) {
		if (strcmp(argv[2], "start") == 0)
			rc = ca_eng_keyroll_start(v.eng, argv[1], "cli:keyroll",
			    &err);
		else if (strcmp(argv[2], "activate") == 0 ||
		    strcmp(argv[2], "activate-now") == 0)
			rc = ca_eng_keyroll_activate(v.eng, argv[1],
			    strcmp(argv[2], "activate-now") == 0, "cli:keyroll",
			    &err);
		else if (strcmp(argv[2], "finish") == 0)
			rc = ca_eng_keyroll_finish(v.eng, argv[1], "cli:keyroll",
			    &err);
		else {
			usage();
			rc = 2;
			goto out;
		}
		if (rc == -1) {
			fprintf(stderr, "cairnd: %s\n", err.msg);
			rc = 1;
		} else
			printf("%s: key roll %s done\n", argv[1], argv[2]);
	} else if (strcmp(argv[0], "transfer") == 0) {
		rc = transfer(&v, argv[1], argv[2], argv + 3, argc - 3, &err);
		if (rc != 0)
			fprintf(stderr, "cairnd: %s\n", err.msg);
	} else if (strcmp(argv[0], "router-add") == 0) {
		rc = router_add(&v, argv[1], argv[2], argv[3], &err);
		if (rc != 0)
			fprintf(stderr, "cairnd: %s\n", err.msg);
	} else {
		if (cairnd_export(v.db, v.conf.rsync_base, argv[1], NULL,
		    &err) == -1)
			fprintf(stderr, "cairnd: %s\n", err.msg);
		else
			rc = 0;
	}
out:
	free(text);
	free(tal);
	env_close(&v, argc > 0 && strcmp(argv[0], "run") == 0);
	cm_conf_free_strings(keys, NKEYS);
	return rc;
}
