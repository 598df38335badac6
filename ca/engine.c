/*
 * ca_eng: hosted CAs and their configuration changes, each one transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ca/aspa.h"
#include "ca/cert.h"
#include "ca/csr.h"
#include "ca/engine_int.h"
#include "ca/roa.h"
#include "ca/sigobj.h"
#include "ca/tal.h"
#include "common/cm_enc.h"
#include "common/cm_log.h"


void
ca_eng_conf_defaults(struct ca_eng_conf *conf)
{
	memset(conf, 0, sizeof(*conf));
	conf->roa_mode = CA_PLAN_ROA_PER_ASN;
	ca_sched_defaults(&conf->sched);
	conf->ca_validity = 365LL * 86400;
	conf->ta_validity = 10LL * 365 * 86400;
	conf->keyroll_staging = 24 * 3600;
	conf->ta_acceptance = 30LL * 86400;
	conf->parent_sync = 600;
}

struct ca_eng *
ca_eng_new(const struct ca_eng_conf *conf, struct db *db, struct hsm *hsm,
    struct hsm_pool *pool, const struct cm_clock *clock, struct cm_err *err)
{
	struct ca_eng	*e;
	size_t		 n;

	if (conf->rsync_base == NULL ||
	    strncmp(conf->rsync_base, "rsync://", 8) != 0 ||
	    (n = strlen(conf->rsync_base)) < 10 || conf->rsync_base[n - 1] != '/') {
		cm_err_set(err, CM_EINVAL, "engine",
		    "rsync base must be rsync://host/module/ (ending in '/')");
		return NULL;
	}
	if (ca_sched_check(&conf->sched, err) == -1)
		return NULL;
	if ((e = calloc(1, sizeof(*e))) == NULL) {
		cm_err_set(err, CM_ENOMEM, "engine", "out of memory");
		return NULL;
	}
	e->conf = *conf;
	e->db = db;
	e->hsm = hsm;
	e->pool = pool;
	e->clock = clock != NULL ? clock : &e->real;
	return e;
}

void
ca_eng_free(struct ca_eng *e)
{
	free(e);
}

int
eng_explicit_res(const char *who, const struct ca_res *r, struct cm_err *err)
{
	if (ca_res_is_inherit(r, CA_RES_AS) || ca_res_is_inherit(r, CA_RES_V4) ||
	    ca_res_is_inherit(r, CA_RES_V6))
		return cm_err_set(err, CM_EINVAL, who,
		    "resources must be explicit, not inherit");
	if (ca_res_is_empty(r))
		return cm_err_set(err, CM_EINVAL, who, "no resources");
	return 0;
}

/* ---- creating CAs ---------------------------------------------------- */

struct create_arg {
	struct ca_eng		*e;
	const char		*handle, *parent, *actor;
	const struct ca_res	*res;
	struct hsm_key		*key;
};

int
eng_insert_ca(struct db *db, const char *handle, const char *kind,
    int64_t parent, const char *repo, const struct ca_res *res, int64_t *id,
    struct cm_err *err)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	char			*t[3];
	int			 rc = -1;

	db_params_init(&p);
	db_param_text(&p, handle);
	db_param_text(&p, kind);
	if (parent != 0)
		db_param_int(&p, parent);
	else
		db_param_text(&p, NULL);
	db_param_text(&p, repo);
	if (db_exec(db, "INSERT INTO ca (handle, kind, parent_id, repo_uri) "
	    "VALUES ($1, $2, $3, $4) RETURNING id", &p, &r, err) == -1 ||
	    db_res_int64(r, 0, 0, id, err) == -1) {
		db_res_free(r);
		if (err->code == CM_EEXIST)
			cm_err_set(err, CM_EEXIST, handle, "a CA with this "
			    "handle exists");
		return -1;
	}
	db_res_free(r);
	if (eng_res_texts(res, t, err) == -1)
		goto out;
	db_params_init(&p);
	db_param_int(&p, *id);
	db_param_text(&p, t[0]);
	db_param_text(&p, t[1]);
	db_param_text(&p, t[2]);
	if (db_exec(db, "INSERT INTO ca_resources (ca_id, asn, ipv4, ipv6) "
	    "VALUES ($1, $2, $3, $4)", &p, NULL, err) == -1)
		goto out;
	if (eng_insert_publisher(db, handle, repo, NULL, err) == -1)
		goto out;
	rc = 0;
out:
	eng_free_texts(t);
	return rc;
}

int
eng_set_key_cert(struct db *db, const char *key_id, const uint8_t *der,
    size_t len, struct cm_err *err)
{
	struct db_params p;

	db_params_init(&p);
	db_param_text(&p, key_id);
	db_param_bytea(&p, der, len);
	return db_exec(db, "UPDATE ca_key SET cert = $2 WHERE id = $1", &p, NULL,
	    err) == -1 ? -1 : 0;
}

int
eng_insert_publisher(struct db *db, const char *handle, const char *base,
    int64_t *id, struct cm_err *err)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	int			 rc;

	db_params_init(&p);
	db_param_text(&p, handle);
	db_param_text(&p, base);
	if (id == NULL)
		return db_exec(db, "INSERT INTO publisher (handle, base_uri) "
		    "VALUES ($1, $2)", &p, NULL, err) == -1 ? -1 : 0;
	rc = db_exec(db, "INSERT INTO publisher (handle, base_uri) VALUES "
	    "($1, $2) RETURNING id", &p, &r, err) == -1 ||
	    db_res_int64(r, 0, 0, id, err) == -1 ? -1 : 0;
	db_res_free(r);
	return rc;
}

int
eng_insert_key(struct db *db, const char *key_id, int64_t ca_id,
    const uint8_t *cert, size_t len, const char *cert_uri, struct cm_err *err)
{
	struct db_params p;

	db_params_init(&p);
	db_param_text(&p, key_id);
	db_param_int(&p, ca_id);
	db_param_bytea(&p, cert, len);
	db_param_text(&p, cert_uri);
	return db_exec(db, "INSERT INTO ca_key (id, ca_id, state, cert, cert_uri, "
	    "activated_at) VALUES ($1, $2, 'active', $3, $4, now())", &p, NULL,
	    err) == -1 ? -1 : 0;
}

static int
ta_create_tx(struct db *db, void *arg, struct cm_err *err)
{
	struct create_arg	*a = arg;
	struct ca_eng		*e = a->e;
	struct eng_ca		 c;
	struct eng_obj		 o;
	uint8_t			*der = NULL;
	int64_t			 id, tapub, now = eng_now(e);
	char			 repo[ENG_URI_MAX], tadir[ENG_URI_MAX],
				 mft[ENG_URI_MAX], name[ENG_HANDLE_MAX + 8],
				 handle_ta[ENG_HANDLE_MAX + 8];
	int			 rc = -1;

	memset(&c, 0, sizeof(c));
	snprintf(repo, sizeof(repo), "%s%s/", e->conf.rsync_base, a->handle);
	snprintf(tadir, sizeof(tadir), "%s%s-ta/", e->conf.rsync_base, a->handle);
	snprintf(handle_ta, sizeof(handle_ta), "%s-ta", a->handle);
	snprintf(name, sizeof(name), "%s.cer", a->handle);
	if (eng_insert_ca(db, a->handle, "ta", 0, repo, a->res, &id, err) == -1)
		return -1;
	snprintf(mft, sizeof(mft), "%s%.16s.mft", repo, hsm_key_id(a->key));
	if (eng_insert_publisher(db, handle_ta, tadir, &tapub, err) == -1 ||
	    eng_ta_cert(e, a->key, a->res, repo, mft, now + e->conf.ta_validity,
	    a->handle, &o, &der, err) == -1)
		goto out;
	{
		char uri[ENG_URI_MAX];

		snprintf(uri, sizeof(uri), "%s%s", tadir, name);
		if (eng_insert_key(db, hsm_key_id(a->key), id, der, o.len, uri,
		    err) == -1)
			goto out;
	}
	if (eng_load_ca(e, db, a->handle, &c, err) == -1)
		goto out;
	/* The TA certificate, outside the TA's own publication point. */
	o.name = name;
	o.repo = tadir;
	o.publisher = tapub;
	if (eng_put(db, &c, &o, err) == -1 ||
	    eng_publish_pp(e, db, &c, err) == -1 ||
	    eng_audit(db, a->actor, "ta.create", id, a->handle, err) == -1)
		goto out;
	rc = 0;
out:
	eng_ctx_clear(&c);
	OPENSSL_free(der);
	return rc;
}

/* Creates a CA key in the signer, runs fn, destroys the key on failure. */
static int
with_new_key(struct create_arg *a, db_tx_fn fn, struct cm_err *err)
{
	char		 label[HSM_LABEL_MAX];

	if (!eng_handle_ok(a->handle))
		return cm_err_set(err, CM_EINVAL, a->handle, "a handle is 1-64 "
		    "letters, digits, '-', '_' or '.', starting with a letter "
		    "or digit");
	if (eng_explicit_res(a->handle, a->res, err) == -1)
		return -1;
	snprintf(label, sizeof(label), "cairn ca %s", a->handle);
	if (eng_new_key_tx(a->e, a->handle, label, fn, a, &a->key, err) == -1)
		return -1;
	hsm_key_free(a->key);
	a->key = NULL;
	return 0;
}

int
ca_eng_ta_create(struct ca_eng *e, const char *handle,
    const struct ca_res *res, const char *actor, struct cm_err *err)
{
	struct create_arg a = { e, handle, NULL, actor, res, NULL };

	return with_new_key(&a, ta_create_tx, err);
}

int
ca_eng_tal(struct ca_eng *e, const char *handle, char **out,
    struct cm_err *err)
{
	return ca_eng_tal_key(e, handle, 0, out, err);
}

int
eng_issue_child_cert(struct ca_eng *e, struct db *db, struct eng_ca *p,
    const char *child, const char *child_repo, EVP_PKEY *child_key,
    const char *child_key_id, const struct ca_res *res, uint8_t **der,
    size_t *len, char uri[ENG_URI_MAX], struct cm_err *err)
{
	struct ca_cert_spec	 s;
	char			 mft[ENG_URI_MAX], name[32],
				 subject[ENG_HANDLE_MAX + 8];

	eng_keyname(child_key_id, "cer", name, sizeof(name));
	snprintf(mft, sizeof(mft), "%s%.16s.mft", child_repo, child_key_id);
	snprintf(subject, sizeof(subject), "cer %s", child);
	memset(&s, 0, sizeof(s));
	s.kind = CA_CERT_CA;
	s.subject_key = child_key;
	/* A child never outlives its parent's certificate. */
	s.not_after = (time_t)eng_min(eng_now(e) + e->conf.ca_validity,
	    p->not_after);
	s.sia_repo = child_repo;
	s.sia_mft = mft;
	s.sia_notify = e->conf.notify_uri;
	s.res = res;
	if (eng_issue_cert(e, db, p, &s, name, subject, 1, 0, der, len,
	    err) == -1)
		return -1;
	snprintf(uri, ENG_URI_MAX, "%s%s", p->repo, name);
	return 0;
}

int
eng_within_parent(const struct eng_ca *p, const char *child,
    const struct ca_res *res, struct cm_err *err)
{
	int in;

	if ((in = ca_res_contains(p->res, res, err)) == -1)
		return -1;
	if (!in)
		return cm_err_set(err, CM_EINVAL, child,
		    "resources are not within those of the parent %s", p->handle);
	return 0;
}

static int
ca_create_tx(struct db *db, void *arg, struct cm_err *err)
{
	struct create_arg	*a = arg;
	struct ca_eng		*e = a->e;
	struct eng_ca		 p, c;
	uint8_t			*der = NULL;
	size_t			 len;
	int64_t			 id;
	char			 repo[ENG_URI_MAX], uri[ENG_URI_MAX];
	int			 rc = -1;

	memset(&c, 0, sizeof(c));
	if (eng_load_ca(e, db, a->parent, &p, err) == -1)
		return -1;
	snprintf(repo, sizeof(repo), "%s%s/", e->conf.rsync_base, a->handle);
	if (eng_within_parent(&p, a->handle, a->res, err) == -1 ||
	    eng_insert_ca(db, a->handle, "hosted", p.id, repo, a->res, &id,
	    err) == -1 ||
	    eng_issue_child_cert(e, db, &p, a->handle, repo, hsm_key_pubkey(a->key),
	    hsm_key_id(a->key), a->res, &der, &len, uri, err) == -1 ||
	    eng_insert_key(db, hsm_key_id(a->key), id, der, len, uri, err) == -1 ||
	    eng_load_ca(e, db, a->handle, &c, err) == -1 ||
	    eng_publish_pp(e, db, &c, err) == -1 ||
	    eng_publish_pp(e, db, &p, err) == -1 ||
	    eng_audit(db, a->actor, "ca.create", id, a->handle, err) == -1)
		goto out;
	rc = 0;
out:
	free(der);
	eng_ctx_clear(&c);
	eng_ctx_clear(&p);
	return rc;
}

int
ca_eng_ca_create(struct ca_eng *e, const char *handle, const char *parent,
    const struct ca_res *res, const char *actor, struct cm_err *err)
{
	struct create_arg a = { e, handle, parent, actor, res, NULL };

	return with_new_key(&a, ca_create_tx, err);
}

/* ---- ROAs and ASPAs --------------------------------------------------- */

static int
load_roa_cfgs(struct db *db, int64_t ca_id, struct ca_plan_roa_cfg **out,
    size_t *n, struct cm_err *err)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	char			 text[80];
	int64_t			 asn, ml;
	int			 i, rows, rc = -1;

	*out = NULL;
	*n = 0;
	db_params_init(&p);
	db_param_int(&p, ca_id);
	if ((rows = db_exec(db, "SELECT asn, host(prefix) || '/' || "
	    "masklen(prefix), max_length FROM roa_config WHERE ca_id = $1",
	    &p, &r, err)) == -1)
		return -1;
	if (rows > 0 && (*out = calloc((size_t)rows, sizeof(**out))) == NULL) {
		cm_err_set(err, CM_ENOMEM, "roa_config", "out of memory");
		goto out;
	}
	for (i = 0; i < rows; i++) {
		if (db_res_int64(r, i, 0, &asn, err) == -1 ||
		    db_res_int64(r, i, 2, &ml, err) == -1)
			goto out;
		snprintf(text, sizeof(text), "%s-%lld", db_res_text(r, i, 1),
		    (long long)ml);
		(*out)[i].asn = (uint32_t)asn;
		if (ca_roa_prefix_parse(text, &(*out)[i].prefix, err) == -1)
			goto out;
	}
	*n = (size_t)rows;
	rc = 0;
out:
	db_res_free(r);
	if (rc == -1) {
		free(*out);
		*out = NULL;
	}
	return rc;
}

/* ASPA configurations; providers of all rows in one array (*prov). */
static int
load_aspa_cfgs(struct db *db, int64_t ca_id, struct ca_plan_aspa_cfg **out,
    size_t *n, uint32_t **prov, struct cm_err *err)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	int64_t			 v;
	int			 i, rows, total = 0, k = 0, rc = -1;
	uint32_t		*pv = NULL;
	const char		*s;
	char			*end;

	*out = NULL;
	*n = 0;
	*prov = NULL;
	db_params_init(&p);
	db_param_int(&p, ca_id);
	/* One row per (customer, provider), providers ascending. */
	if ((rows = db_exec(db, "SELECT a.customer, u.p FROM aspa_config a, "
	    "unnest(a.providers) AS u(p) WHERE a.ca_id = $1 "
	    "ORDER BY a.customer, u.p", &p, &r, err)) == -1)
		return -1;
	if (rows > 0 && ((pv = calloc((size_t)rows, sizeof(*pv))) == NULL ||
	    (*out = calloc((size_t)rows, sizeof(**out))) == NULL)) {
		cm_err_set(err, CM_ENOMEM, "aspa_config", "out of memory");
		goto out;
	}
	for (i = 0; i < rows; i++) {
		if (db_res_int64(r, i, 0, &v, err) == -1)
			goto out;
		s = db_res_text(r, i, 1);
		pv[i] = (uint32_t)strtoul(s, &end, 10);
		if (k == 0 || (*out)[k - 1].customer != (uint32_t)v) {
			(*out)[k].customer = (uint32_t)v;
			(*out)[k].providers = pv + i;
			k++;
		}
		(*out)[k - 1].nproviders++;
		total++;
	}
	*n = (size_t)k;
	*prov = pv;
	pv = NULL;
	rc = 0;
out:
	(void)total;
	free(pv);
	db_res_free(r);
	if (rc == -1) {
		free(*out);
		*out = NULL;
	}
	return rc;
}

/* The eContent hash of a stored ROA or ASPA (to compare with the plan). */
static int
content_hash(const char *kind, const uint8_t *der, size_t len, uint8_t h[32],
    struct cm_err *err)
{
	struct ca_roa	*roa = NULL;
	struct ca_aspa	*aspa = NULL;
	uint8_t		*c = NULL;
	size_t		 cl;
	int		 rc;

	if (strcmp(kind, "roa") == 0)
		rc = ca_roa_parse("stored ROA", der, len, &roa, NULL, err) == -1 ||
		    ca_roa_encode(roa, &c, &cl, err) == -1 ? -1 : 0;
	else
		rc = ca_aspa_parse("stored ASPA", der, len, &aspa, NULL, err) ==
		    -1 || ca_aspa_encode(aspa, &c, &cl, err) == -1 ? -1 : 0;
	if (rc == 0)
		cm_sha256(c, cl, h);
	free(c);
	ca_roa_free(roa);
	ca_aspa_free(aspa);
	return rc;
}

/*
 * Brings c's ROAs and ASPAs in line with its configuration and resources.
 * Returns the number of objects issued or withdrawn, or -1.
 */
static int
sync_objects(struct ca_eng *e, struct db *db, struct eng_ca *c,
    struct cm_err *err)
{
	struct ca_plan_roa_cfg	*rc_ = NULL;
	struct ca_plan_aspa_cfg	*ac = NULL;
	uint32_t		*prov = NULL;
	struct ca_plan		*plan = NULL;
	struct ca_plan_have	*have = NULL;
	enum ca_plan_action	*wa = NULL, *ha = NULL;
	struct db_params	 p;
	struct db_res		*r = NULL;
	struct ca_sigobj_spec	 ss;
	struct eng_obj		 o;
	EVP_PKEY		*ee = NULL;
	uint8_t			*der = NULL;
	const uint8_t		*d;
	size_t			 nr, na, i, dl, len;
	int64_t			 now = eng_now(e), reissue;
	int			 rows = 0, changes = 0, rc = -1;
	char			 uri[ENG_URI_MAX], crluri[ENG_URI_MAX];

	if (load_roa_cfgs(db, c->id, &rc_, &nr, err) == -1 ||
	    load_aspa_cfgs(db, c->id, &ac, &na, &prov, err) == -1 ||
	    ca_plan_build(c->res, e->conf.roa_mode, rc_, nr, ac, na, &plan,
	    err) == -1)
		goto out;
	db_params_init(&p);
	db_param_int(&p, c->id);
	db_param_text(&p, c->key_id);
	if ((rows = db_exec(db, "SELECT subject, kind, der, uri, "
	    "coalesce(extract(epoch FROM reissue_at)::bigint, 0) "
	    "FROM issued_object WHERE ca_id = $1 AND key_id = $2 AND "
	    "withdrawn_at IS NULL AND kind IN ('roa', 'asa')", &p, &r,
	    err)) == -1)
		goto out;
	if ((rows > 0 && (have = calloc((size_t)rows, sizeof(*have))) == NULL) ||
	    (rows > 0 && (ha = calloc((size_t)rows, sizeof(*ha))) == NULL) ||
	    (plan->nobjs > 0 && (wa = calloc(plan->nobjs, sizeof(*wa))) == NULL)) {
		cm_err_set(err, CM_ENOMEM, c->handle, "out of memory");
		goto out;
	}
	for (i = 0; i < (size_t)rows; i++) {
		have[i].subject = db_res_text(r, (int)i, 0);
		if (db_res_bytea(r, (int)i, 2, &d, &dl, err) == -1 ||
		    content_hash(db_res_text(r, (int)i, 1), d, dl,
		    have[i].content_hash, err) == -1 ||
		    db_res_int64(r, (int)i, 4, &reissue, err) == -1)
			goto out;
		have[i].renew = reissue != 0 && reissue <= now;
	}
	if (ca_plan_diff(plan, have, (size_t)rows, wa, ha, err) == -1)
		goto out;
	for (i = 0; i < (size_t)rows; i++) {
		if (ha[i] != CA_PLAN_WITHDRAW)
			continue;
		if (eng_withdraw(db, c, db_res_text(r, (int)i, 3), err) == -1)
			goto out;
		changes++;
	}
	snprintf(crluri, sizeof(crluri), "%s%s", c->repo, c->crl_name);
	for (i = 0; i < plan->nobjs; i++) {
		const struct ca_plan_obj *po = &plan->objs[i];

		if (wa[i] != CA_PLAN_ISSUE)
			continue;
		memset(&o, 0, sizeof(o));
		snprintf(uri, sizeof(uri), "%s%s", c->repo, po->name);
		if (eng_sigobj_spec(e, c, uri, crluri, now, &ss, &ee, o.serial,
		    err) == -1)
			goto out;
		if ((po->kind == CA_PLAN_ROA ? ca_sigobj_roa(&ss, po->roa, &der,
		    &len, NULL, err) : ca_sigobj_aspa(&ss, po->aspa, &der, &len,
		    NULL, err)) == -1)
			goto out;
		o.kind = po->kind == CA_PLAN_ROA ? "roa" : "asa";
		o.name = po->name;
		o.der = der;
		o.len = len;
		o.not_before = now - ENG_BACKDATE;
		o.not_after = (int64_t)ss.not_after;
		if (eng_renew_at(e, db, c, ca_sched_seed(po->subject,
		    strlen(po->subject), (uint64_t)now), o.not_after,
		    &o.reissue_at, err) == -1)
			goto out;
		o.subject = po->subject;
		if (eng_put(db, c, &o, err) == -1)
			goto out;
		free(der);
		der = NULL;
		EVP_PKEY_free(ee);
		ee = NULL;
		changes++;
	}
	/* With several classes, each leaves out what the others hold. */
	for (i = 0; c->nactive <= 1 && i < plan->nskipped; i++)
		cm_warn("%s: configuration not published: %s", c->handle,
		    plan->skipped[i]);
	rc = changes;
out:
	free(der);
	EVP_PKEY_free(ee);
	db_res_free(r);
	free(have);
	free(ha);
	free(wa);
	ca_plan_free(plan);
	free(rc_);
	free(ac);
	free(prov);
	return rc;
}

/*
 * sync_objects() for the active key of each further resource class of c's
 * CA (a remote parent listing several, engine_parent.c): each class signs
 * what its own certificate holds, in its own publication point.  A key
 * whose objects changed, or every one with always, gets a new CRL and
 * manifest.  Returns the number of objects changed, or -1.
 */
static int
sync_classes(struct ca_eng *e, struct db *db, const struct eng_ca *c,
    int always, struct cm_err *err)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	struct eng_ca		 k;
	int			 i, n, m, total = 0, rc = -1;

	if (c->nactive <= 1)
		return 0;
	db_params_init(&p);
	db_param_int(&p, c->id);
	db_param_text(&p, c->key_id);
	if ((n = db_exec(db, "SELECT id FROM ca_key WHERE ca_id = $1 AND state "
	    "= 'active' AND id <> $2 ORDER BY id", &p, &r, err)) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if (eng_load_ca_key(e, db, c->handle, db_res_text(r, i, 0), &k,
		    err) == -1)
			goto out;
		m = sync_objects(e, db, &k, err);
		if (m != -1 && (m > 0 || always) &&
		    eng_publish_pp(e, db, &k, err) == -1)
			m = -1;
		eng_ctx_clear(&k);
		if (m == -1)
			goto out;
		total += m;
	}
	rc = total;
out:
	db_res_free(r);
	return rc;
}

struct cfg_arg {
	struct ca_eng			*e;
	const char			*handle, *actor;
	const struct ca_plan_roa_cfg	*add, *del;
	size_t				 nadd, ndel;
	const struct ca_plan_aspa_cfg	*aspa;
	int				 changed;
};

static int
roa_update_tx(struct db *db, void *arg, struct cm_err *err)
{
	struct cfg_arg		*a = arg;
	struct eng_ca		 c;
	struct db_params	 p;
	struct ca_roa_prefix	 plain;
	char			 pfx[64], what[96];
	size_t			 i;
	int			 n, rc = -1;

	if (eng_load_ca(a->e, db, a->handle, &c, err) == -1)
		return -1;
	for (i = 0; i < a->nadd + a->ndel; i++) {
		const struct ca_plan_roa_cfg *r = i < a->nadd ? &a->add[i] :
		    &a->del[i - a->nadd];

		if (i < a->nadd && eng_class_check_roa(a->e, db, &c, r,
		    err) == -1)
			goto out;
		plain = r->prefix;
		plain.maxlen = plain.plen;
		ca_roa_prefix_str(&plain, pfx, sizeof(pfx));
		snprintf(what, sizeof(what), "AS%u %s-%u", r->asn, pfx,
		    r->prefix.maxlen);
		db_params_init(&p);
		db_param_int(&p, c.id);
		db_param_int(&p, r->asn);
		db_param_text(&p, pfx);
		db_param_int(&p, r->prefix.maxlen);
		if (i < a->nadd) {
			if (db_exec(db, "INSERT INTO roa_config (ca_id, asn, "
			    "prefix, max_length) VALUES ($1, $2, $3::cidr, $4)",
			    &p, NULL, err) == -1) {
				if (err->code == CM_EEXIST)
					cm_err_set(err, CM_EEXIST, what,
					    "this ROA configuration exists");
				goto out;
			}
		} else {
			if ((n = db_exec(db, "DELETE FROM roa_config WHERE "
			    "ca_id = $1 AND asn = $2 AND prefix = $3::cidr AND "
			    "max_length = $4", &p, NULL, err)) == -1)
				goto out;
			if (n == 0) {
				cm_err_set(err, CM_ENOTFOUND, what,
				    "no such ROA configuration");
				goto out;
			}
		}
		if (eng_audit(db, a->actor, i < a->nadd ? "roa.add" :
		    "roa.remove", c.id, what, err) == -1)
			goto out;
	}
	if ((n = sync_objects(a->e, db, &c, err)) == -1 ||
	    (n > 0 && eng_publish_pp(a->e, db, &c, err) == -1) ||
	    sync_classes(a->e, db, &c, 0, err) == -1)
		goto out;
	rc = 0;
out:
	eng_ctx_clear(&c);
	return rc;
}

int
ca_eng_roa_update(struct ca_eng *e, const char *handle,
    const struct ca_plan_roa_cfg *add, size_t nadd,
    const struct ca_plan_roa_cfg *del, size_t ndel, const char *actor,
    struct cm_err *err)
{
	struct cfg_arg a = { e, handle, actor, add, del, nadd, ndel, NULL, 0 };

	return db_tx(e->db, NULL, roa_update_tx, &a, err);
}

static int
aspa_set_tx(struct db *db, void *arg, struct cm_err *err)
{
	struct cfg_arg		*a = arg;
	struct eng_ca		 c;
	struct db_params	 p;
	struct cm_buf		 arr = CM_BUF_INIT;
	char			 what[32];
	size_t			 i;
	int			 n, rc = -1;

	if (eng_load_ca(a->e, db, a->handle, &c, err) == -1)
		return -1;
	snprintf(what, sizeof(what), "AS%u", a->aspa->customer);
	db_params_init(&p);
	db_param_int(&p, c.id);
	db_param_int(&p, a->aspa->customer);
	if (a->aspa->nproviders == 0) {
		if ((n = db_exec(db, "DELETE FROM aspa_config WHERE ca_id = $1 "
		    "AND customer = $2", &p, NULL, err)) == -1)
			goto out;
		if (n == 0) {
			cm_err_set(err, CM_ENOTFOUND, what, "no ASPA configuration");
			goto out;
		}
	} else {
		if (eng_class_check_aspa(a->e, db, &c, a->aspa, err) == -1)
			goto out;
		cm_buf_puts(&arr, "{");
		for (i = 0; i < a->aspa->nproviders; i++)
			cm_buf_printf(&arr, "%s%u", i ? "," : "",
			    a->aspa->providers[i]);
		cm_buf_puts(&arr, "}");
		db_param_text(&p, cm_buf_cstr(&arr));
		/* Setting the providers it already has changes nothing. */
		if ((n = db_exec(db, "INSERT INTO aspa_config (ca_id, customer, "
		    "providers) SELECT $1, $2, array_agg(DISTINCT x ORDER BY x) "
		    "FROM unnest($3::bigint[]) AS x ON CONFLICT (ca_id, customer) "
		    "DO UPDATE SET providers = EXCLUDED.providers, "
		    "updated_at = now() WHERE aspa_config.providers IS DISTINCT "
		    "FROM EXCLUDED.providers", &p, NULL, err)) == -1)
			goto out;
		if (n == 0) {
			a->changed = 0;
			rc = 0;
			goto out;
		}
	}
	a->changed = 1;
	if (eng_audit(db, a->actor, a->aspa->nproviders ? "aspa.set" :
	    "aspa.remove", c.id, what, err) == -1 ||
	    (n = sync_objects(a->e, db, &c, err)) == -1 ||
	    (n > 0 && eng_publish_pp(a->e, db, &c, err) == -1) ||
	    sync_classes(a->e, db, &c, 0, err) == -1)
		goto out;
	rc = 0;
out:
	cm_buf_free(&arr);
	eng_ctx_clear(&c);
	return rc;
}

int
ca_eng_aspa_set(struct ca_eng *e, const char *handle,
    const struct ca_plan_aspa_cfg *c, const char *actor, struct cm_err *err)
{
	struct cfg_arg a = { e, handle, actor, NULL, NULL, 0, 0, c, 0 };

	if (db_tx(e->db, NULL, aspa_set_tx, &a, err) == -1)
		return -1;
	return a.changed;
}

/* ---- resources -------------------------------------------------------- */

static int set_resources(struct ca_eng *, struct db *, const char *,
    const struct ca_res *, int, struct cm_err *);

/*
 * Shrinks the children of c whose resources are no longer within c's to
 * the intersection.  Children first, then c's publication point is
 * re-issued by the caller.
 */
static int
shrink_children(struct ca_eng *e, struct db *db, struct eng_ca *c,
    struct cm_err *err)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	struct ca_res		*cur = NULL, *cut = NULL;
	int			 i, n, in, rc = -1;

	db_params_init(&p);
	db_param_int(&p, c->id);
	if ((n = db_exec(db, "SELECT c.handle, r.asn, r.ipv4, r.ipv6 FROM ca c "
	    "JOIN ca_resources r ON r.ca_id = c.id WHERE c.parent_id = $1 AND "
	    "c.deleted_at IS NULL ORDER BY c.handle", &p, &r, err)) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		const char *h = db_res_text(r, i, 0);

		ca_res_free(cur);
		ca_res_free(cut);
		cur = cut = NULL;
		if (eng_res_parse(db_res_text(r, i, 1), db_res_text(r, i, 2),
		    db_res_text(r, i, 3), h, &cur, err) == -1)
			goto out;
		if ((in = ca_res_contains(c->res, cur, err)) == -1)
			goto out;
		if (in)
			continue;
		if (ca_res_intersect(c->res, cur, &cut, err) == -1 ||
		    set_resources(e, db, h, cut, 0, err) == -1)
			goto out;
	}
	/* Delegated children too: their entitlements and certificates. */
	if (eng_fit_delegated(e, db, c, err) == -1)
		goto out;
	rc = 0;
out:
	ca_res_free(cur);
	ca_res_free(cut);
	db_res_free(r);
	return rc;
}

/*
 * Re-certifies hosted CA handle over res inside the caller's transaction;
 * a no-op when res is what its certificate holds, unless force (renewal).
 * Returns 1 when it re-certified, 0 for the no-op, -1 on error.
 */
static int
set_resources(struct ca_eng *e, struct db *db, const char *handle,
    const struct ca_res *res, int force, struct cm_err *err)
{
	struct eng_ca		 p, c;
	struct db_params	 q;
	uint8_t			*der = NULL;
	size_t			 len;
	char			 uri[ENG_URI_MAX], parent[ENG_HANDLE_MAX + 1];
	char			*t[3] = { NULL, NULL, NULL };
	struct db_res		*r = NULL;
	int			 rc = -1;

	memset(&p, 0, sizeof(p));
	memset(&c, 0, sizeof(c));
	db_params_init(&q);
	db_param_text(&q, handle);
	/* Lock order parent, then child, as everywhere else. */
	if (db_exec(db, "SELECT p.handle FROM ca c JOIN ca p ON p.id = "
	    "c.parent_id WHERE c.handle = $1 AND c.deleted_at IS NULL", &q, &r,
	    err) == -1)
		return -1;
	if (db_res_rows(r) != 1) {
		db_res_free(r);
		return cm_err_set(err, CM_ENOTFOUND, handle,
		    "no such hosted CA (a trust anchor has no parent here)");
	}
	snprintf(parent, sizeof(parent), "%s", db_res_text(r, 0, 0));
	db_res_free(r);
	if (eng_load_ca(e, db, parent, &p, err) == -1 ||
	    eng_load_ca(e, db, handle, &c, err) == -1)
		goto out;
	if (!force && ca_res_equal(c.res, res)) {
		rc = 0;		/* nothing to do */
		goto out;
	}
	if (eng_within_parent(&p, handle, res, err) == -1 ||
	    eng_res_texts(res, t, err) == -1)
		goto out;
	db_params_init(&q);
	db_param_int(&q, c.id);
	db_param_text(&q, t[0]);
	db_param_text(&q, t[1]);
	db_param_text(&q, t[2]);
	if (db_exec(db, "UPDATE ca_resources SET asn = $2, ipv4 = $3, ipv6 = $4, "
	    "updated_at = now() WHERE ca_id = $1", &q, NULL, err) == -1 ||
	    eng_issue_child_cert(e, db, &p, handle, c.repo, hsm_key_pubkey(c.key),
	    c.key_id, res, &der, &len, uri, err) == -1 ||
	    eng_set_key_cert(db, c.key_id, der, len, err) == -1)
		goto out;
	/* Reload: the certificate, and so the resources, changed. */
	eng_ctx_clear(&c);
	if (eng_load_ca(e, db, handle, &c, err) == -1 ||
	    shrink_children(e, db, &c, err) == -1 ||
	    sync_objects(e, db, &c, err) == -1 ||
	    eng_publish_pp(e, db, &c, err) == -1 ||
	    eng_publish_pp(e, db, &p, err) == -1)
		goto out;
	rc = 1;
out:
	eng_free_texts(t);
	free(der);
	eng_ctx_clear(&c);
	eng_ctx_clear(&p);
	return rc;
}

int
eng_after_recert(struct ca_eng *e, struct db *db, struct eng_ca *c,
    struct cm_err *err)
{
	/* Children hold resources of the first class only. */
	if (c->secondary)
		return sync_objects(e, db, c, err) == -1 ||
		    eng_publish_pp(e, db, c, err) == -1 ? -1 : 0;
	if (shrink_children(e, db, c, err) == -1 ||
	    sync_objects(e, db, c, err) == -1 ||
	    eng_publish_pp(e, db, c, err) == -1)
		return -1;
	return 0;
}

struct res_arg {
	struct ca_eng		*e;
	const char		*handle, *actor;
	const struct ca_res	*res;
	int			 changed;
};

static int
set_resources_tx(struct db *db, void *arg, struct cm_err *err)
{
	struct res_arg	*a = arg;
	char		*t[3];
	char		 what[512];
	int		 rc;

	if ((a->changed = set_resources(a->e, db, a->handle, a->res, 0,
	    err)) == -1)
		return -1;
	if (a->changed == 0)
		return 0;
	if (eng_res_texts(a->res, t, err) == -1) {
		eng_free_texts(t);
		return -1;
	}
	snprintf(what, sizeof(what), "%s as=%s v4=%s v6=%s", a->handle, t[0],
	    t[1], t[2]);
	eng_free_texts(t);
	{
		struct eng_ca c;

		/* Recorded under the CA itself, for its history. */
		if (eng_load_ca(a->e, db, a->handle, &c, err) == -1)
			return -1;
		rc = eng_audit(db, a->actor, "ca.resources", c.id, what, err);
		eng_ctx_clear(&c);
	}
	return rc;
}

int
ca_eng_ca_set_resources(struct ca_eng *e, const char *handle,
    const struct ca_res *res, const char *actor, struct cm_err *err)
{
	struct res_arg a = { e, handle, actor, res, 0 };

	if (eng_explicit_res(handle, res, err) == -1)
		return -1;
	if (db_tx(e->db, NULL, set_resources_tx, &a, err) == -1)
		return -1;
	return a.changed;
}



/* ---- transfers --------------------------------------------------------- */

#define ENG_DEPTH_MAX	16

/* The handles from handle up to its trust anchor: out[0] = handle. */
static int
ancestry(struct db *db, const char *handle,
    char out[ENG_DEPTH_MAX][ENG_HANDLE_MAX + 1], size_t *n, struct cm_err *err)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	int			 i, rows;

	db_params_init(&p);
	db_param_text(&p, handle);
	if ((rows = db_exec(db, "WITH RECURSIVE up(id, handle, parent_id, d) AS ("
	    "SELECT id, handle, parent_id, 0 FROM ca WHERE handle = $1 AND "
	    "deleted_at IS NULL UNION ALL SELECT c.id, c.handle, c.parent_id, "
	    "u.d + 1 FROM ca c JOIN up u ON c.id = u.parent_id WHERE u.d < 32) "
	    "SELECT handle FROM up ORDER BY d", &p, &r, err)) == -1)
		return -1;
	if (rows == 0 || rows > ENG_DEPTH_MAX) {
		db_res_free(r);
		return cm_err_set(err, rows == 0 ? CM_ENOTFOUND : CM_ELIMIT,
		    handle, rows == 0 ? "no such CA" : "hierarchy too deep");
	}
	for (i = 0; i < rows; i++)
		snprintf(out[i], ENG_HANDLE_MAX + 1, "%s", db_res_text(r, i, 0));
	*n = (size_t)rows;
	db_res_free(r);
	return 0;
}

/* Sets handle's resources to its current ones (op '+': with res, '-': without). */
static int
adjust(struct ca_eng *e, struct db *db, const char *handle,
    const struct ca_res *res, int op, struct cm_err *err)
{
	struct eng_ca	 c;
	struct ca_res	*n = NULL;
	int		 rc;

	if (eng_load_ca(e, db, handle, &c, err) == -1)
		return -1;
	rc = op == '+' ? ca_res_union(c.res, res, &n, err) :
	    ca_res_subtract(c.res, res, &n, err);
	eng_ctx_clear(&c);
	if (rc == 0)
		rc = set_resources(e, db, handle, n, 0, err) == -1 ? -1 : 0;
	ca_res_free(n);
	return rc;
}

/* Moves from's ROA and ASPA configurations that lie within res to to. */
static int
move_configs(struct db *db, const struct eng_ca *from, const struct eng_ca *to,
    const struct ca_res *res, int *moved, struct cm_err *err)
{
	struct ca_plan_roa_cfg	*cfg = NULL;
	struct db_params	 p;
	struct db_res		*r = NULL;
	struct ca_roa_prefix	 plain;
	char			 pfx[64];
	size_t			 n, i;
	int			 rows, k, rc = -1;
	int64_t			 cust;

	if (load_roa_cfgs(db, from->id, &cfg, &n, err) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if (!ca_res_has_prefix(res, cfg[i].prefix.afi == CA_AFI_IPV4 ?
		    CA_RES_V4 : CA_RES_V6, cfg[i].prefix.addr, cfg[i].prefix.plen))
			continue;
		plain = cfg[i].prefix;
		plain.maxlen = plain.plen;
		ca_roa_prefix_str(&plain, pfx, sizeof(pfx));
		db_params_init(&p);
		db_param_int(&p, from->id);
		db_param_int(&p, to->id);
		db_param_int(&p, cfg[i].asn);
		db_param_text(&p, pfx);
		db_param_int(&p, cfg[i].prefix.maxlen);
		if (db_exec(db, "WITH gone AS (DELETE FROM roa_config WHERE "
		    "ca_id = $1 AND asn = $3 AND prefix = $4::cidr AND "
		    "max_length = $5 RETURNING comment) INSERT INTO roa_config "
		    "(ca_id, asn, prefix, max_length, comment) SELECT $2, $3, "
		    "$4::cidr, $5, comment FROM gone ON CONFLICT DO NOTHING",
		    &p, NULL, err) == -1)
			goto out;
		(*moved)++;
	}
	db_params_init(&p);
	db_param_int(&p, from->id);
	if ((rows = db_exec(db, "SELECT customer FROM aspa_config WHERE "
	    "ca_id = $1", &p, &r, err)) == -1)
		goto out;
	for (k = 0; k < rows; k++) {
		if (db_res_int64(r, k, 0, &cust, err) == -1)
			goto out;
		if (!ca_res_has_as(res, (uint32_t)cust))
			continue;
		db_params_init(&p);
		db_param_int(&p, from->id);
		db_param_int(&p, to->id);
		db_param_int(&p, cust);
		if (db_exec(db, "WITH gone AS (DELETE FROM aspa_config WHERE "
		    "ca_id = $1 AND customer = $3 RETURNING providers) INSERT "
		    "INTO aspa_config (ca_id, customer, providers) SELECT $2, $3, "
		    "providers FROM gone ON CONFLICT (ca_id, customer) DO UPDATE "
		    "SET providers = EXCLUDED.providers", &p, NULL, err) == -1)
			goto out;
		(*moved)++;
	}
	rc = 0;
out:
	db_res_free(r);
	free(cfg);
	return rc;
}

struct transfer_arg {
	struct ca_eng		*e;
	const char		*from, *to, *actor;
	const struct ca_res	*res;
};

static int
transfer_tx(struct db *db, void *arg, struct cm_err *err)
{
	struct transfer_arg	*a = arg;
	char			 fc[ENG_DEPTH_MAX][ENG_HANDLE_MAX + 1],
				 tc[ENG_DEPTH_MAX][ENG_HANDLE_MAX + 1], what[96];
	struct eng_ca		 from, to;
	size_t			 nf, nt, i, j, lf = 0, lt = 0;
	int			 in, found = 0, moved = 0, rc = -1, k;

	memset(&from, 0, sizeof(from));
	memset(&to, 0, sizeof(to));
	if (ancestry(db, a->from, fc, &nf, err) == -1 ||
	    ancestry(db, a->to, tc, &nt, err) == -1)
		return -1;
	/* The lowest common ancestor: the resources move below it. */
	for (j = 0; j < nt && !found; j++)
		for (i = 0; i < nf; i++)
			if (strcmp(tc[j], fc[i]) == 0) {
				lt = j;
				lf = i;
				found = 1;
				break;
			}
	if (!found)
		return cm_err_set(err, CM_EINVAL, a->to, "%s and %s are under "
		    "different trust anchors", a->from, a->to);
	if (lt == 0 || lf == 0)
		return cm_err_set(err, CM_EINVAL, a->to, "%s and %s are in one "
		    "line of descent: change the resources of the child instead",
		    a->from, a->to);
	if (eng_load_ca(a->e, db, a->from, &from, err) == -1)
		return -1;
	if ((in = ca_res_contains(from.res, a->res, err)) == -1)
		goto out;
	if (!in) {
		cm_err_set(err, CM_EINVAL, a->from, "does not hold all the "
		    "resources to transfer");
		goto out;
	}
	eng_ctx_clear(&from);
	/* Make: the receiving branch grows, from below the ancestor down. */
	for (k = (int)lt - 1; k >= 0; k--)
		if (adjust(a->e, db, tc[k], a->res, '+', err) == -1)
			goto out;
	if (eng_load_ca(a->e, db, a->from, &from, err) == -1 ||
	    eng_load_ca(a->e, db, a->to, &to, err) == -1 ||
	    move_configs(db, &from, &to, a->res, &moved, err) == -1 ||
	    sync_objects(a->e, db, &to, err) == -1 ||
	    eng_publish_pp(a->e, db, &to, err) == -1)
		goto out;
	/*
	 * Break: the losing branch shrinks from its top (recursively down to
	 * from).  Same transaction, so the same publication batch.
	 */
	if (adjust(a->e, db, fc[lf - 1], a->res, '-', err) == -1)
		goto out;
	snprintf(what, sizeof(what), "%s -> %s (%d configurations moved)",
	    a->from, a->to, moved);
	/* In the history of both CAs. */
	if (eng_audit(db, a->actor, "transfer", to.id, what, err) == -1 ||
	    eng_audit(db, a->actor, "transfer", from.id, what, err) == -1)
		goto out;
	rc = 0;
out:
	eng_ctx_clear(&from);
	eng_ctx_clear(&to);
	return rc;
}

int
ca_eng_transfer(struct ca_eng *e, const char *from, const char *to,
    const struct ca_res *res, const char *actor, struct cm_err *err)
{
	struct transfer_arg a = { e, from, to, actor, res };

	if (eng_explicit_res(from, res, err) == -1)
		return -1;
	return db_tx(e->db, NULL, transfer_tx, &a, err);
}

/* ---- BGPsec router certificates (RFC 8209) ---------------------------- */

/*
 * Issues (or re-issues) the router certificate of key over the AS numbers
 * of res in c's publication point.  Its file is named after the router
 * key, its subject is "router <key SKI hex>".
 */
static int
issue_router(struct ca_eng *e, struct db *db, struct eng_ca *c, EVP_PKEY *key,
    const struct ca_res *res, struct cm_err *err)
{
	struct ca_cert_spec	 s;
	char			 id[HSM_KEY_ID_LEN + 1], name[32], subject[64],
				 cn[32];
	int64_t			 now = eng_now(e);

	if (hsm_pubkey_id(key, id, err) == -1)
		return -1;
	eng_keyname(id, "cer", name, sizeof(name));
	snprintf(subject, sizeof(subject), "router %s", id);
	snprintf(cn, sizeof(cn), "ROUTER-%08X", ca_res_get(res, CA_RES_AS,
	    0)->as_min);
	memset(&s, 0, sizeof(s));
	s.kind = CA_CERT_ROUTER;
	s.subject_key = key;
	s.cn = cn;
	s.not_after = (time_t)eng_min(now + e->conf.sched.ee_validity,
	    c->not_after);
	s.res = res;
	return eng_issue_cert(e, db, c, &s, name, subject, 1, (uint64_t)now,
	    NULL, NULL, err);
}

struct router_arg {
	struct ca_eng	*e;
	const char	*handle, *actor;
	const uint8_t	*csr;
	size_t		 csrlen;
	const uint32_t	*asns;
	size_t		 nasns;
	const char	*key_id;	/* remove */
};

static int
router_add_tx(struct db *db, void *arg, struct cm_err *err)
{
	struct router_arg	*a = arg;
	struct eng_ca		 c;
	struct ca_csr		*csr = NULL;
	struct ca_res		*res = NULL;
	struct ca_res_range	 rg;
	struct db_params	 p;
	char			 id[HSM_KEY_ID_LEN + 1], what[96];
	size_t			 i;
	int			 n, rc = -1;

	if (eng_load_ca(a->e, db, a->handle, &c, err) == -1)
		return -1;
	if (a->nasns == 0) {
		cm_err_set(err, CM_EINVAL, a->handle, "a router certificate "
		    "needs at least one AS number");
		goto out;
	}
	if ((res = ca_res_new()) == NULL) {
		cm_err_set(err, CM_ENOMEM, a->handle, "out of memory");
		goto out;
	}
	for (i = 0; i < a->nasns; i++) {
		if (!ca_res_has_as(c.res, a->asns[i])) {
			cm_err_set(err, CM_EINVAL, a->handle, "AS%u is not "
			    "within the CA's resources", a->asns[i]);
			goto out;
		}
		memset(&rg, 0, sizeof(rg));
		rg.as_min = rg.as_max = a->asns[i];
		if (ca_res_add(res, CA_RES_AS, &rg, err) == -1)
			goto out;
	}
	if (ca_csr_parse("router certificate request", CA_CSR_ROUTER, a->csr,
	    a->csrlen, &csr, err) == -1 ||
	    hsm_pubkey_id(csr->key, id, err) == -1)
		goto out;
	snprintf(what, sizeof(what), "router %s", id);
	db_params_init(&p);
	db_param_int(&p, c.id);
	db_param_text(&p, what);
	if ((n = db_exec(db, "SELECT 1 FROM issued_object WHERE ca_id = $1 AND "
	    "subject = $2 AND withdrawn_at IS NULL", &p, NULL, err)) == -1)
		goto out;
	if (n > 0) {
		cm_err_set(err, CM_EEXIST, what, "this router key is already "
		    "certified by %s", a->handle);
		goto out;
	}
	if (issue_router(a->e, db, &c, csr->key, res, err) == -1 ||
	    eng_publish_pp(a->e, db, &c, err) == -1 ||
	    eng_audit(db, a->actor, "router.add", c.id, what, err) == -1)
		goto out;
	rc = 0;
out:
	ca_csr_free(csr);
	ca_res_free(res);
	eng_ctx_clear(&c);
	return rc;
}

int
ca_eng_router_add(struct ca_eng *e, const char *handle, const uint8_t *csr,
    size_t len, const uint32_t *asns, size_t nasns, const char *actor,
    struct cm_err *err)
{
	struct router_arg a = { e, handle, actor, csr, len, asns, nasns, NULL };

	return db_tx(e->db, NULL, router_add_tx, &a, err);
}

static int
router_remove_tx(struct db *db, void *arg, struct cm_err *err)
{
	struct router_arg	*a = arg;
	struct eng_ca		 c;
	struct db_params	 p;
	struct db_res		*r = NULL;
	char			 what[96];
	int			 rc = -1;

	if (eng_load_ca(a->e, db, a->handle, &c, err) == -1)
		return -1;
	snprintf(what, sizeof(what), "router %s", a->key_id);
	db_params_init(&p);
	db_param_int(&p, c.id);
	db_param_text(&p, what);
	if (db_exec(db, "SELECT uri FROM issued_object WHERE ca_id = $1 AND "
	    "subject = lower($2) AND withdrawn_at IS NULL", &p, &r, err) == -1)
		goto out;
	if (db_res_rows(r) != 1) {
		cm_err_set(err, CM_ENOTFOUND, what, "no such router certificate "
		    "in %s", a->handle);
		goto out;
	}
	if (eng_withdraw(db, &c, db_res_text(r, 0, 0), err) == -1 ||
	    eng_publish_pp(a->e, db, &c, err) == -1 ||
	    eng_audit(db, a->actor, "router.remove", c.id, what, err) == -1)
		goto out;
	rc = 0;
out:
	db_res_free(r);
	eng_ctx_clear(&c);
	return rc;
}

int
ca_eng_router_remove(struct ca_eng *e, const char *handle, const char *key_id,
    const char *actor, struct cm_err *err)
{
	struct router_arg a = { e, handle, actor, NULL, 0, NULL, 0, key_id };

	return db_tx(e->db, NULL, router_remove_tx, &a, err);
}

/* Renews c's router certificates that are due, from their own key. */
static int
renew_routers(struct ca_eng *e, struct db *db, struct eng_ca *c,
    struct cm_err *err)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	struct ca_cert		*old = NULL;
	const uint8_t		*d;
	size_t			 dl;
	int			 i, n, rc = -1;

	db_params_init(&p);
	db_param_int(&p, c->id);
	db_param_int(&p, eng_now(e));
	if ((n = db_exec(db, "SELECT der FROM issued_object WHERE ca_id = $1 "
	    "AND subject LIKE 'router %' AND withdrawn_at IS NULL AND "
	    "reissue_at <= to_timestamp($2::bigint)", &p, &r, err)) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if (db_res_bytea(r, i, 0, &d, &dl, err) == -1 ||
		    ca_cert_parse("router certificate", d, dl, &old, err) == -1)
			goto out;
		if (issue_router(e, db, c, X509_get0_pubkey(old->x509), old->res,
		    err) == -1)
			goto out;
		ca_cert_free(old);
		old = NULL;
	}
	rc = n;
out:
	ca_cert_free(old);
	db_res_free(r);
	return rc;
}


/* ---- key rollover (RFC 6489) ------------------------------------------ */

struct roll_arg {
	struct ca_eng	*e;
	const char	*handle, *actor;
	struct hsm_key	*key;			/* start: the new key */
	char		 old_id[HSM_KEY_ID_LEN + 1];	/* finish: to destroy */
	int		 force;
	int		 remote;		/* start/finish: remote parent */
};

/*
 * The handle of c's parent into out; "" when the parent is remote (RFC
 * 6492 child side: it is asked over the network, outside transactions).
 */
static int
parent_handle(struct db *db, const struct eng_ca *c, char out[ENG_HANDLE_MAX + 1],
    struct cm_err *err)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	int			 n;

	if (!c->is_ta && c->parent_id == 0) {
		db_params_init(&p);
		db_param_int(&p, c->id);
		if ((n = db_exec(db, "SELECT 1 FROM ca_parent WHERE ca_id = $1",
		    &p, NULL, err)) == -1)
			return -1;
		if (n == 1) {
			out[0] = '\0';
			return 0;
		}
	}
	if (c->is_ta || c->parent_id == 0)
		return cm_err_set(err, CM_ESTATE, c->handle, "a trust anchor's "
		    "key roll is ta-keyroll (RFC 9691), not keyroll");
	db_params_init(&p);
	db_param_int(&p, c->parent_id);
	if (db_exec(db, "SELECT handle FROM ca WHERE id = $1", &p, &r, err) == -1)
		return -1;
	snprintf(out, ENG_HANDLE_MAX + 1, "%s", db_res_text(r, 0, 0));
	db_res_free(r);
	return 0;
}

int
eng_key_in_state(struct db *db, int64_t ca_id, const char *state,
    char id[HSM_KEY_ID_LEN + 1], int64_t *created, struct cm_err *err)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	int			 n, rc = 1;

	db_params_init(&p);
	db_param_int(&p, ca_id);
	db_param_text(&p, state);
	if ((n = db_exec(db, "SELECT id, extract(epoch FROM created_at)::bigint "
	    "FROM ca_key WHERE ca_id = $1 AND state = $2", &p, &r, err)) == -1)
		return -1;
	if (n > 0) {
		snprintf(id, HSM_KEY_ID_LEN + 1, "%s", db_res_text(r, 0, 0));
		rc = created != NULL && db_res_int64(r, 0, 1, created, err) == -1 ?
		    -1 : 0;
	}
	db_res_free(r);
	return rc;
}

static int
roll_start_tx(struct db *db, void *arg, struct cm_err *err)
{
	struct roll_arg		*a = arg;
	struct eng_ca		 c, p, c2;
	struct db_params	 q;
	uint8_t			*der = NULL;
	size_t			 len;
	char			 parent[ENG_HANDLE_MAX + 1], uri[ENG_URI_MAX],
				 id[HSM_KEY_ID_LEN + 1];
	int			 rc = -1, st;

	memset(&p, 0, sizeof(p));
	memset(&c2, 0, sizeof(c2));
	if (eng_load_ca(a->e, db, a->handle, &c, err) == -1)
		return -1;
	if (parent_handle(db, &c, parent, err) == -1 ||
	    (st = eng_key_in_state(db, c.id, "pending", id, NULL, err)) == -1)
		goto out;
	if (st == 0) {
		cm_err_set(err, CM_EEXIST, a->handle, "a key roll is already "
		    "under way (pending key %s)", id);
		goto out;
	}
	if ((st = eng_key_in_state(db, c.id, "old", id, NULL, err)) == -1)
		goto out;
	if (st == 0) {
		cm_err_set(err, CM_ESTATE, a->handle, "the previous key roll is "
		    "not finished (old key %s)", id);
		goto out;
	}
	if (parent[0] == '\0') {
		/* A remote parent: certified over RFC 6492, after this. */
		a->remote = 1;
		rc = 0;
		goto out;
	}
	/* Parent first, then the CA: the usual lock order. */
	eng_ctx_clear(&c);
	if (eng_load_ca(a->e, db, parent, &p, err) == -1 ||
	    eng_load_ca(a->e, db, a->handle, &c, err) == -1 ||
	    eng_issue_child_cert(a->e, db, &p, a->handle, c.repo,
	    hsm_key_pubkey(a->key), hsm_key_id(a->key), c.res, &der, &len, uri,
	    err) == -1)
		goto out;
	db_params_init(&q);
	db_param_text(&q, hsm_key_id(a->key));
	db_param_int(&q, c.id);
	db_param_bytea(&q, der, len);
	db_param_text(&q, uri);
	db_param_int(&q, eng_now(a->e));
	if (db_exec(db, "INSERT INTO ca_key (id, ca_id, state, cert, cert_uri, "
	    "created_at) VALUES ($1, $2, 'pending', $3, $4, "
	    "to_timestamp($5::bigint))", &q, NULL, err) == -1 ||
	    eng_load_ca_key(a->e, db, a->handle, hsm_key_id(a->key), &c2,
	    err) == -1 ||
	    eng_publish_pp(a->e, db, &c2, err) == -1 ||
	    eng_publish_pp(a->e, db, &p, err) == -1 ||
	    eng_audit(db, a->actor, "keyroll.start", c.id, hsm_key_id(a->key),
	    err) == -1)
		goto out;
	rc = 0;
out:
	free(der);
	eng_ctx_clear(&c2);
	eng_ctx_clear(&c);
	eng_ctx_clear(&p);
	return rc;
}

int
ca_eng_keyroll_start(struct ca_eng *e, const char *handle, const char *actor,
    struct cm_err *err)
{
	struct roll_arg	 a;
	char		 label[HSM_LABEL_MAX];

	memset(&a, 0, sizeof(a));
	a.e = e;
	a.handle = handle;
	a.actor = actor;
	snprintf(label, sizeof(label), "cairn ca %.64s (rolled)", handle);
	if (eng_new_key_tx(e, handle, label, roll_start_tx, &a, &a.key,
	    err) == -1)
		return -1;
	if (a.remote && eng_parent_roll_start(e, handle, a.key, actor,
	    err) == -1) {
		eng_key_discard(a.key, handle);
		return -1;
	}
	hsm_key_free(a.key);
	return 0;
}


/*
 * Issues old (a CA certificate of c's previous key) again with c's active
 * key: same subject key, SIA and resources, same file name and subject;
 * a hosted child's key row gets the new certificate.
 */
static int
reissue_ca_cert(struct ca_eng *e, struct db *db, struct eng_ca *c,
    const struct ca_cert *old, const char *subject, const char *name,
    struct cm_err *err)
{
	struct ca_cert_spec	 s;
	uint8_t			*der = NULL;
	size_t			 len;
	char			 id[HSM_KEY_ID_LEN + 1];
	int64_t			 now = eng_now(e);
	int			 rc = -1;

	memset(&s, 0, sizeof(s));
	s.kind = CA_CERT_CA;
	s.subject_key = X509_get0_pubkey(old->x509);
	s.not_after = (time_t)eng_min(eng_min((int64_t)old->not_after,
	    now + e->conf.ca_validity), c->not_after);
	s.sia_repo = old->sia_repo;
	s.sia_mft = old->sia_mft;
	s.sia_notify = old->sia_notify;
	s.res = old->res;
	/* Hosted children renew on the schedule; delegated ones ask again. */
	if (eng_issue_cert(e, db, c, &s, name, subject,
	    strncmp(subject, "cer ", 4) == 0, (uint64_t)now, &der, &len,
	    err) == -1 ||
	    hsm_pubkey_id(X509_get0_pubkey(old->x509), id, err) == -1 ||
	    eng_set_key_cert(db, id, der, len, err) == -1)
		goto out;
	rc = 0;
out:
	free(der);
	return rc;
}

static int
roll_activate_tx(struct db *db, void *arg, struct cm_err *err)
{
	struct roll_arg		*a = arg;
	struct eng_ca		 c, c2, old;
	struct db_params	 q;
	struct db_res		*r = NULL;
	struct ca_cert		*rc_ = NULL;
	char			 k2[HSM_KEY_ID_LEN + 1];
	const uint8_t		*d;
	size_t			 dl;
	int64_t			 created;
	int			 i, n, st, rc = -1;

	memset(&c2, 0, sizeof(c2));
	memset(&old, 0, sizeof(old));
	if (eng_load_ca(a->e, db, a->handle, &c, err) == -1)
		return -1;
	if ((st = eng_key_in_state(db, c.id, "pending", k2, &created, err)) == -1)
		goto out;
	if (st == 1) {
		cm_err_set(err, CM_ESTATE, a->handle, "no key roll under way "
		    "(start one first)");
		goto out;
	}
	db_params_init(&q);
	db_param_text(&q, k2);
	if ((st = db_exec(db, "SELECT 1 FROM ca_key WHERE id = $1 AND cert IS "
	    "NULL", &q, NULL, err)) == -1)
		goto out;
	if (st > 0) {
		cm_err_set(err, CM_ESTATE, a->handle, "the new key %s has no "
		    "certificate yet (its offline parent has not answered a "
		    "request for it)", k2);
		goto out;
	}
	/* RFC 6489 §2: relying parties must have seen the new key first. */
	if (!a->force && eng_now(a->e) - created < a->e->conf.keyroll_staging) {
		cm_err_set(err, CM_ESTATE, a->handle, "the new key is in its "
		    "staging period for another %lld s (RFC 6489)", (long long)
		    (a->e->conf.keyroll_staging - (eng_now(a->e) - created)));
		goto out;
	}
	db_params_init(&q);
	db_param_text(&q, c.key_id);
	db_param_int(&q, eng_now(a->e));
	if (db_exec(db, "UPDATE ca_key SET state = 'old', retired_at = "
	    "to_timestamp($2::bigint) WHERE id = $1", &q, NULL, err) == -1)
		goto out;
	db_params_init(&q);
	db_param_text(&q, k2);
	db_param_int(&q, eng_now(a->e));
	if (db_exec(db, "UPDATE ca_key SET state = 'active', activated_at = "
	    "to_timestamp($2::bigint) WHERE id = $1", &q, NULL, err) == -1 ||
	    eng_load_ca(a->e, db, a->handle, &c2, err) == -1)
		goto out;
	/* Everything the old key signed is signed again by the new one. */
	if (sync_objects(a->e, db, &c2, err) == -1)
		goto out;
	/*
	 * Every certificate the old key issued to a CA (hosted children with
	 * any of their keys, delegated children) is issued again by the new
	 * key, same subject key, SIA and resources, at the same URI.
	 */
	db_params_init(&q);
	db_param_text(&q, c.key_id);
	if ((n = db_exec(db, "SELECT der, subject, name FROM issued_object WHERE "
	    "key_id = $1 AND kind = 'cer' AND withdrawn_at IS NULL AND "
	    "(subject LIKE 'cer %' OR subject LIKE 'child %')", &q, &r,
	    err)) == -1)
		goto out;
	for (i = 0; i < n; i++) {
		if (db_res_bytea(r, i, 0, &d, &dl, err) == -1 ||
		    ca_cert_parse("child certificate", d, dl, &rc_, err) == -1 ||
		    reissue_ca_cert(a->e, db, &c2, rc_, db_res_text(r, i, 1),
		    db_res_text(r, i, 2), err) == -1)
			goto out;
		ca_cert_free(rc_);
		rc_ = NULL;
	}
	db_res_free(r);
	r = NULL;
	db_params_init(&q);
	db_param_int(&q, c.id);
	db_param_text(&q, c.key_id);
	if ((n = db_exec(db, "SELECT der FROM issued_object WHERE ca_id = $1 AND "
	    "key_id = $2 AND subject LIKE 'router %' AND withdrawn_at IS NULL",
	    &q, &r, err)) == -1)
		goto out;
	for (i = 0; i < n; i++) {
		if (db_res_bytea(r, i, 0, &d, &dl, err) == -1 ||
		    ca_cert_parse("router certificate", d, dl, &rc_, err) == -1 ||
		    issue_router(a->e, db, &c2, X509_get0_pubkey(rc_->x509),
		    rc_->res, err) == -1)
			goto out;
		ca_cert_free(rc_);
		rc_ = NULL;
	}
	if (eng_publish_pp(a->e, db, &c2, err) == -1 ||
	    eng_load_ca_key(a->e, db, a->handle, c.key_id, &old, err) == -1 ||
	    eng_publish_pp(a->e, db, &old, err) == -1 ||
	    eng_audit(db, a->actor, "keyroll.activate", c.id, k2, err) == -1)
		goto out;
	rc = 0;
out:
	ca_cert_free(rc_);
	db_res_free(r);
	eng_ctx_clear(&old);
	eng_ctx_clear(&c2);
	eng_ctx_clear(&c);
	return rc;
}

int
ca_eng_keyroll_activate(struct ca_eng *e, const char *handle, int force,
    const char *actor, struct cm_err *err)
{
	struct roll_arg a;

	memset(&a, 0, sizeof(a));
	a.e = e;
	a.handle = handle;
	a.actor = actor;
	a.force = force;
	return db_tx(e->db, NULL, roll_activate_tx, &a, err);
}

static int
roll_finish_tx(struct db *db, void *arg, struct cm_err *err)
{
	struct roll_arg		*a = arg;
	struct eng_ca		 c, p, old;
	struct db_params	 q;
	char			 parent[ENG_HANDLE_MAX + 1], uri[ENG_URI_MAX];
	int			 st, rc = -1;

	memset(&p, 0, sizeof(p));
	memset(&old, 0, sizeof(old));
	if (eng_load_ca(a->e, db, a->handle, &c, err) == -1)
		return -1;
	if (parent_handle(db, &c, parent, err) == -1 ||
	    (st = eng_key_in_state(db, c.id, "old", a->old_id, NULL, err)) == -1)
		goto out;
	if (st == 1) {
		cm_err_set(err, CM_ESTATE, a->handle, "no old key to revoke "
		    "(activate the new key first)");
		goto out;
	}
	eng_ctx_clear(&c);
	a->remote = parent[0] == '\0';
	if ((!a->remote && eng_load_ca(a->e, db, parent, &p, err) == -1) ||
	    eng_load_ca(a->e, db, a->handle, &c, err) == -1 ||
	    eng_load_ca_key(a->e, db, a->handle, a->old_id, &old, err) == -1)
		goto out;
	/* Nothing but the old key's CRL and manifest may depend on it now. */
	db_params_init(&q);
	db_param_text(&q, a->old_id);
	if ((st = db_exec(db, "SELECT 1 FROM issued_object WHERE key_id = $1 AND "
	    "withdrawn_at IS NULL AND kind NOT IN ('crl', 'mft')", &q, NULL,
	    err)) == -1)
		goto out;
	if (st > 0) {
		cm_err_set(err, CM_ESTATE, a->handle, "%d objects still depend on "
		    "the old key; activate the new key again first", st);
		goto out;
	}
	/* A remote parent revokes it when asked, after the commit. */
	if (!a->remote && eng_withdraw(db, &p, old.cert_uri, err) == -1)
		goto out;
	snprintf(uri, sizeof(uri), "%s%s", old.repo, old.crl_name);
	if (eng_withdraw(db, &old, uri, err) == -1)
		goto out;
	snprintf(uri, sizeof(uri), "%s%s", old.repo, old.mft_name);
	if (eng_withdraw(db, &old, uri, err) == -1)
		goto out;
	db_params_init(&q);
	db_param_text(&q, a->old_id);
	db_param_int(&q, eng_now(a->e));
	if (db_exec(db, "UPDATE ca_key SET state = 'revoked', revoked_at = "
	    "to_timestamp($2::bigint) WHERE id = $1", &q, NULL, err) == -1 ||

	    (!a->remote && eng_publish_pp(a->e, db, &p, err) == -1) ||
	    eng_audit(db, a->actor, "keyroll.finish", c.id, a->old_id, err) == -1)
		goto out;
	rc = 0;
out:
	eng_ctx_clear(&old);
	eng_ctx_clear(&c);
	eng_ctx_clear(&p);
	return rc;
}

int
ca_eng_keyroll_finish(struct ca_eng *e, const char *handle, const char *actor,
    struct cm_err *err)
{
	struct roll_arg	 a;
	struct cm_err	 e2;

	memset(&a, 0, sizeof(a));
	a.e = e;
	a.handle = handle;
	a.actor = actor;
	if (db_tx(e->db, NULL, roll_finish_tx, &a, err) == -1)
		return -1;
	/* Failing here is not fatal: the next round revokes it again. */
	if (a.remote && eng_parent_revoke(e, handle, a.old_id, &e2) == -1)
		cm_warn("%s: the parent did not revoke key %s yet: %s", handle,
		    a.old_id, e2.msg);
	/* Committed: the key is revoked for good; delete it from the signer. */
	eng_key_delete(e, handle, a.old_id, "key");
	return 0;
}

int
ca_eng_keyroll_all(struct ca_eng *e, const char *step, int force,
    const char *actor, void (*progress)(void *, const char *, int, int,
    const struct cm_err *), void *arg, struct cm_err *err)
{
	struct db_res	*r = NULL;
	struct cm_err	 one;
	int		 i, n, rc, failed = 0;

	if (strcmp(step, "start") != 0 && strcmp(step, "activate") != 0 &&
	    strcmp(step, "finish") != 0)
		return cm_err_set(err, CM_EINVAL, step, "step must be start, "
		    "activate or finish");
	/* Parents before children: a child's new certificate needs its
	 * parent's active key, which is the new one after its activation. */
	if ((n = db_exec(e->db, "WITH RECURSIVE t(id, handle, d) AS (SELECT id, "
	    "handle, 0 FROM ca WHERE parent_id IS NULL AND deleted_at IS NULL "
	    "UNION ALL SELECT c.id, c.handle, t.d + 1 FROM ca c JOIN t ON "
	    "c.parent_id = t.id WHERE c.deleted_at IS NULL) SELECT handle FROM t "
	    "WHERE d > 0 OR id IN (SELECT ca_id FROM ca_parent) ORDER BY d, "
	    "handle", NULL, &r, err)) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		const char *h = db_res_text(r, i, 0);

		cm_err_clear(&one);
		if (strcmp(step, "start") == 0)
			rc = ca_eng_keyroll_start(e, h, actor, &one);
		else if (strcmp(step, "activate") == 0)
			rc = ca_eng_keyroll_activate(e, h, force, actor, &one);
		else
			rc = ca_eng_keyroll_finish(e, h, actor, &one);
		if (rc == -1)
			failed++;
		if (progress != NULL)
			progress(arg, h, i + 1, n, rc == -1 ? &one : NULL);
	}
	db_res_free(r);
	if (failed > 0)
		return cm_err_set(err, CM_ESTATE, step, "%d of %d CAs failed",
		    failed, n);
	return n;
}

/* ---- the schedule ----------------------------------------------------- */

struct tick_arg {
	struct ca_eng	*e;
	const char	*handle;
};

static int
tick_tx(struct db *db, void *arg, struct cm_err *err)
{
	struct tick_arg		*a = arg;
	struct eng_ca		 c;
	struct db_params	 p;
	struct db_res		*r = NULL;
	int			 i, n, rc = -1;

	if (eng_load_ca(a->e, db, a->handle, &c, err) == -1)
		return -1;
	/* Child certificates due for renewal: re-certify, same resources. */
	db_params_init(&p);
	db_param_int(&p, c.id);
	db_param_int(&p, eng_now(a->e));
	if ((n = db_exec(db, "SELECT ch.handle FROM issued_object o JOIN ca ch "
	    "ON o.subject = 'cer ' || ch.handle AND ch.parent_id = o.ca_id "
	    "WHERE o.ca_id = $1 AND o.kind = 'cer' AND o.withdrawn_at IS NULL "
	    "AND o.reissue_at <= to_timestamp($2::bigint)", &p, &r, err)) == -1)
		goto out;
	for (i = 0; i < n; i++) {
		struct eng_ca ch;

		if (eng_load_ca(a->e, db, db_res_text(r, i, 0), &ch, err) == -1)
			goto out;
		rc = set_resources(a->e, db, ch.handle, ch.res, 1, err);
		eng_ctx_clear(&ch);
		if (rc == -1)
			goto out;
		rc = -1;
	}
	if (renew_routers(a->e, db, &c, err) == -1 ||
	    sync_objects(a->e, db, &c, err) == -1 ||
	    eng_publish_pp(a->e, db, &c, err) == -1 ||
	    sync_classes(a->e, db, &c, 1, err) == -1)
		goto out;
	/*
	 * A key roll's pending or old key keeps a current CRL and manifest;
	 * a pending key that its offline parent has not certified yet has no
	 * publication point.
	 */
	db_res_free(r);
	r = NULL;
	db_params_init(&p);
	db_param_int(&p, c.id);
	if ((n = db_exec(db, "SELECT id FROM ca_key WHERE ca_id = $1 AND state "
	    "IN ('pending', 'old') AND cert IS NOT NULL", &p, &r, err)) == -1)
		goto out;
	for (i = 0; i < n; i++) {
		struct eng_ca k;

		if (eng_load_ca_key(a->e, db, a->handle, db_res_text(r, i, 0), &k,
		    err) == -1)
			goto out;
		rc = eng_publish_pp(a->e, db, &k, err);
		eng_ctx_clear(&k);
		if (rc == -1)
			goto out;
		rc = -1;
	}
	rc = 0;
out:
	db_res_free(r);
	eng_ctx_clear(&c);
	return rc;
}

int
ca_eng_tick(struct ca_eng *e, int max, struct cm_err *err)
{
	return ca_eng_tick_shard(e, max, 0, 1, err);
}

int
ca_eng_tick_shard(struct ca_eng *e, int max, int shard, int nshards,
    struct cm_err *err)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	struct tick_arg		 a = { e, NULL };
	int			 i, n, done = 0;

	if (nshards < 1 || shard < 0 || shard >= nshards)
		return cm_err_set(err, CM_EINVAL, "re-issue", "shard %d of %d",
		    shard, nshards);
	db_params_init(&p);
	db_param_int(&p, eng_now(e));
	db_param_int(&p, max);
	db_param_int(&p, nshards);
	db_param_int(&p, shard);
	/*
	 * Each CA belongs to one shard, so parallel workers never work on the
	 * same CA (per-CA ordering); the row locks would serialise them anyway.
	 */
	if ((n = db_exec(e->db, "SELECT c.handle, min(o.reissue_at) AS due "
	    "FROM issued_object o JOIN ca c ON c.id = o.ca_id "
	    "WHERE o.withdrawn_at IS NULL AND o.reissue_at <= "
	    "to_timestamp($1::bigint) AND c.deleted_at IS NULL AND "
	    "c.id % $3::bigint = $4::bigint "
	    "GROUP BY c.handle ORDER BY due LIMIT $2", &p, &r, err)) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		a.handle = db_res_text(r, i, 0);
		if (db_tx(e->db, NULL, tick_tx, &a, err) == -1) {
			cm_err_wrap(err, "re-issue");
			db_res_free(r);
			return -1;
		}
		done++;
	}
	db_res_free(r);
	return done;
}
